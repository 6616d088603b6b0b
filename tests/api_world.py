"""A running API (TestClient) with banks, a bureau, enterprises and their keys, for the
tests of every resource and every refusal."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from httpx import Response

import sdk
from api.main import create_app
from ledger_client import Keyring, Role
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.base import ContractFacade
from pipeline.config import Settings
from pipeline.service import Service, development_regulator

DAY = 86_400
_keys = itertools.count(1)


@dataclass
class ApiWorld:
    """The API and the cast acting through it."""

    client: TestClient
    service: Service
    accounts: dict[str, LocalAccount]  # by label
    keys: dict[str, str]  # API key by label
    subjects: dict[str, bytes] = field(default_factory=dict)  # enterprise label -> subject id

    def __getitem__(self, label: str) -> LocalAccount:
        return self.accounts[label]

    @property
    def ledger(self) -> Any:
        return self.service.ledger

    def subject(self, label: str) -> str:
        return "0x" + self.subjects[label].hex()

    def headers(self, key_of: str, idem: str | None = None) -> dict[str, str]:
        h = {"X-API-Key": self.keys[key_of]}
        if idem is not None:
            h["Idempotency-Key"] = idem
        return h

    def signed(
        self,
        signer: str,
        target: ContractFacade,
        fn: str,
        *args: Any,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> dict[str, Any]:
        """The signature fields of a write: ``signer``'s ForwardRequest for ``target.fn(*args)``."""
        s = self.service.ledger.forwarder.sign(
            self.accounts[signer], target, fn, *args, nonce=nonce, deadline=deadline
        )
        return sdk.bodies.forward_fields(s)

    def sdk_client(self, key_of: str, party: str | None = None) -> sdk.Client:
        """The SDK as ``key_of``'s key, signing as ``party`` (by default the key's own)."""
        return sdk.Client(
            http=self.client,
            api_key=self.keys[key_of],
            account=self.accounts[party or key_of],
            clock=self.service.chain_time,
            poll_interval_s=0.02,
            poll_timeout_s=30,
        )

    def post(
        self, path: str, key_of: str, body: dict[str, Any], idem: str | None = None
    ) -> Response:
        idem = idem or f"k{next(_keys)}"
        # TestClient's methods type as Any (starlette names its httpx under TYPE_CHECKING
        # as `httpx2`, which is not installed): what they return is an httpx Response.
        response: Response = self.client.post(path, json=body, headers=self.headers(key_of, idem))
        return response

    def get(self, path: str, key_of: str, **params: Any) -> Response:
        response: Response = self.client.get(path, params=params, headers=self.headers(key_of))
        return response

    def wait(self, submission_id: str, key_of: str) -> dict[str, Any]:
        """The submission once relayed, anchored or rejected (the SDK polls)."""
        try:
            return self.sdk_client(key_of).wait(submission_id).doc
        except sdk.errors.SubmissionTimeout as exc:
            raise AssertionError(f"{submission_id} still pending") from exc
        except sdk.errors.ApiError as exc:
            if exc.submission is None:
                raise
            return exc.submission

    def write(self, path: str, key_of: str, body: dict[str, Any]) -> dict[str, Any]:
        """Post a write, wait for it, and return its result; it must be anchored."""
        r = self.post(path, key_of, body)
        assert r.status_code == 202, r.text
        done = self.wait(r.json()["id"], key_of)
        assert done["status"] == "anchored", done
        result: dict[str, Any] = done["result"]
        return result

    def advance(self, seconds: int) -> None:
        """Move the chain's clock, and let the API see it at once."""
        self.service.chain.advance_time(seconds)
        self.service.refresh()


def error(r: Response, status: int, name: str) -> dict[str, Any]:
    """The error body of ``r``, checked: status, name, a sentence of detail."""
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["error"] == name, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


@contextmanager
def open_world(tmp_path: Path, rpc: str | None = None) -> Iterator[ApiWorld]:
    """The API on a fresh data directory, with the cast admitted, bound and given keys; on
    the embedded chain, or on a fresh deployment on the node at ``rpc``."""
    settings = Settings(data_dir=tmp_path, rpc=rpc, batch_min=8, anchor_interval_s=0.02)
    service = Service.open(settings)
    ledger = service.ledger
    regulator = development_regulator(settings)
    ring = Keyring("api-world")
    accounts: dict[str, LocalAccount] = {"regulator": regulator}
    for label, roles, city in (
        ("bank-a", Role.ATTESTER | Role.FINANCIER, "Shanghai"),
        ("bank-b", Role.ATTESTER | Role.FINANCIER, "Nanjing"),
        ("bureau", Role.ATTESTER | Role.REGISTRAR, "Hangzhou"),
        ("auditor", Role.AUDITOR, "Hefei"),
    ):
        acct = ring.account(label)
        service.chain.fund(acct.address)
        ledger.consortium.admit_member(regulator, acct.address, label, city, roles)
        accounts[label] = acct
    subjects: dict[str, bytes] = {}
    for n, label in enumerate(("core", "tier1", "tier2"), start=1):
        acct = ring.account(label)  # enterprises hold no gas: the API relays for them
        subjects[label] = keccak256(f"api-subject-{n}".encode())
        ledger.consortium.bind_enterprise(accounts["bureau"], acct.address, subjects[label])
        accounts[label] = acct
    keys = {
        label: service.keys.issue(
            acct.address,
            read_only=label == "auditor",
            label=label,
            roles_of=service.roles_of,
        )
        for label, acct in accounts.items()
    }
    with TestClient(create_app(service=service)) as client:
        yield ApiWorld(client, service, accounts, keys, subjects)
    service.close()
