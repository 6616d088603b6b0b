"""The running API's state: the chain, the deployment, the relay account, keys, journal,
worker, and the event index the listings read."""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from ledger_client import Chain, Keyring, Ledger, Manifest, Role, attach, connect, deploy
from ledger_client.consent_index import AuthorisationsProjection, DisputesProjection
from ledger_client.contracts.base import ContractFacade
from ledger_client.index import EventIndex
from ledger_client.index_receivables import ReceivablesProjection
from ledger_client.signed_records import domain_separator
from ledger_client.types import RegisteredSchema

from .config import Settings
from .db import ApiDatabase
from .journal import Journal
from .keys import KeyStore
from .worker import AnchorWorker

log = logging.getLogger("credit_chain.api")
RELAYER_NAME = "Credit chain API relay"
#: Seconds a caller's roles are trusted before they are read from the chain again.
STANDING_TTL_S = 1.0


@dataclass
class Service:
    """Everything a request handler needs, opened once per process."""

    settings: Settings
    chain: Chain
    ledger: Ledger
    keyring: Keyring
    relayer: LocalAccount
    db: ApiDatabase
    keys: KeyStore
    journal: Journal
    index: EventIndex
    worker: AnchorWorker | None = None
    separator: bytes = b""
    _schemas: dict[str, RegisteredSchema] = field(default_factory=dict)
    _roles: dict[str, tuple[float, bool]] = field(default_factory=dict)
    _clock: tuple[float, int] = (0.0, 0)  # (monotonic time read, chain time read)
    _standing: dict[str, tuple[float, Role]] = field(default_factory=dict)
    _enterprises: set[str] = field(default_factory=set)
    _facades: dict[str, ContractFacade] = field(default_factory=dict)

    def chain_time(self) -> int:
        """The chain's clock as last read, run forward with the wall clock since.

        The accept path must not wait for the chain (while the worker mines, the
        embedded chain is busy): the worker reads the clock every round.
        """
        read_at, chain_now = self._clock
        if read_at == 0.0:
            self.refresh()
            read_at, chain_now = self._clock
        return chain_now + int(time.monotonic() - read_at)

    def refresh(self) -> None:
        """Re-read the chain's clock and the standing of every signer seen, and read blocks
        other clients of a shared node mined into the index (the worker's job)."""
        self._clock = (time.monotonic(), self.chain.now())
        self.index.sync()
        for account in list(self._roles):
            self._roles[account] = (
                time.monotonic(),
                self.ledger.consortium.has_role(account, Role.ATTESTER),
            )

    def note_chain_time(self, timestamp: int) -> None:
        """Record a chain time just seen (the worker calls this after each block)."""
        self._clock = (time.monotonic(), timestamp)

    def schema(self, ref: str) -> RegisteredSchema | None:
        """A registered schema by name or 0x id (cached; re-read from the chain on a miss)."""
        key = ref.lower() if ref.startswith("0x") else ref
        found = self._schemas.get(key)
        if found is None:
            for s in self.ledger.attestations.schemas():
                self._schemas[s.name] = s
                self._schemas["0x" + s.schema_id.hex()] = s
            found = self._schemas.get(key)
        return found

    def may_attest(self, account: str) -> bool:
        """Whether ``account`` is an attester in good standing.

        Read from the chain the first time an account signs; after that the worker
        re-reads it every round (about once a second at most), so a suspension
        reaches the accept path within a round. The chain checks every record relayed
        one by one regardless, and a verifier checks standing at the anchoring block.
        A refusal is never served from the cache: a member reinstated a moment ago is
        not turned away (its records would be lost) until the next round.
        """
        cached = self._roles.get(account)
        if cached is not None and cached[1]:
            return True
        ok = self.ledger.consortium.has_role(account, Role.ATTESTER)
        self._roles[account] = (time.monotonic(), ok)
        return ok

    def roles_of(self, account: str) -> Role:
        """The roles ``account`` holds in good standing (none for a non-member or a suspended
        one), read from the chain at most once a second per account."""
        cached = self._standing.get(account)
        now = time.monotonic()
        if cached is not None and now - cached[0] < STANDING_TTL_S:
            return cached[1]
        member = self.ledger.consortium.member(account)
        roles = Role(0) if member is None or member.suspended else member.roles
        self._standing[account] = (now, roles)
        return roles

    def is_enterprise(self, account: str) -> bool:
        """Whether ``account`` is bound to an enterprise (a binding only moves by a rebind)."""
        if account in self._enterprises:
            return True
        if self.ledger.consortium.enterprise(account) is None:
            return False
        self._enterprises.add(account)
        return True

    def facade_at(self, address: str) -> ContractFacade | None:
        """The deployment's contract at ``address``, or None."""
        if not self._facades:
            ledger = self.ledger
            for facade in (
                ledger.consortium,
                ledger.attestations,
                ledger.disputes,
                ledger.authorisations,
                ledger.receivables,
                ledger.forwarder,
            ):
                self._facades[facade.address.lower()] = facade
        return self._facades.get(address.lower())

    @classmethod
    def open(cls, settings: Settings, *, start_worker: bool = True) -> Service:
        """Open (or, on first start, create) the deployment in ``settings.data_dir``."""
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        chain = (
            connect(settings.rpc)
            if settings.rpc
            else connect("embedded", data_dir=data_dir / "chain")
        )
        manifest_path, keys_path = data_dir / "manifest.json", data_dir / "keys.json"
        if manifest_path.exists():
            ledger = attach(chain, Manifest.load(manifest_path))
            keyring = Keyring.load(keys_path)
        else:
            ledger, keyring = _bootstrap(chain, manifest_path, keys_path)
        db = ApiDatabase(data_dir / "api.sqlite")
        index = EventIndex(
            data_dir / "index.sqlite",
            ledger,
            projections=[AuthorisationsProjection(), DisputesProjection(), ReceivablesProjection()],
        )
        index.sync()  # blocks mined since it last read (another client's, or before a crash)
        index.follow()
        service = cls(
            settings=settings,
            chain=chain,
            ledger=ledger,
            keyring=keyring,
            relayer=keyring.account("relayer"),
            db=db,
            keys=KeyStore(db),
            journal=Journal(db),
            index=index,
        )
        service.separator = domain_separator(ledger.attestations.domain)
        if start_worker:
            service.worker = AnchorWorker(service)
            service.worker.start()
        return service

    def close(self) -> None:
        """Stop the worker and close files and connections."""
        if self.worker is not None:
            self.worker.stop()
        self.journal.close()
        self.index.close()
        self.db.close()
        self.chain.close()


def _bootstrap(chain: Chain, manifest_path: Path, keys_path: Path) -> tuple[Ledger, Keyring]:
    """First start: deploy, and admit the API's relay account as a relayer member."""
    keyring = Keyring(f"credit-chain-api-{secrets.token_hex(16)}")
    regulator, relayer = keyring.account("regulator"), keyring.account("relayer")
    chain.fund(regulator.address)
    chain.fund(relayer.address)
    ledger = deploy(chain, regulator)
    ledger.consortium.admit_member(
        regulator, relayer.address, RELAYER_NAME, "Shanghai", Role.RELAYER
    )
    keyring.save(keys_path)
    ledger.manifest.save(manifest_path)
    log.info(
        "deployed a new ledger: %s", json.dumps(ledger.manifest.contracts["Consortium"].address)
    )
    return ledger, keyring
