"""Three attacks, each performed end to end against a real server.

1. A key revoked by ``credit-chain keys revoke`` in another process is refused on the
   next request (401 ``ApiKeyRevoked``); a member suspended on chain by the regulator, in
   another process, is refused on its key's next request, write or read (403
   ``MemberSuspended``), and served again once reinstated.
2. The API's data directory holds no regulator key, after a fresh ``serve`` and after the
   documented ``relay-account`` + ``deploy --regulator-key --relayer`` + ``serve --manifest``;
   the relay account holds the relayer role and no other, and the chain refuses it the
   regulator's functions by name.
3. A read-only key is issued only to an auditor or a regulator (``ReadOnlyKeyNotAuditor``),
   and reads nothing once the account lost those roles; a submission is shown to its
   submitter, the parties it names, auditors and regulators, and to nobody else (404).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

import sdk
from harness.api_process import ApiClient, ApiResponse, start_server
from harness.rpc_bridge import EmbeddedRpcBridge
from ledger_client import Chain, Keyring, Ledger, Manifest, Role, attach, connect
from ledger_client.attestations.records import record_hash, sample_record
from ledger_client.attestations.signed_records import SignedRecord, domain_separator
from ledger_client.contracts.attestations import schema_id
from ledger_client.contracts.receivables import invoice_commitment, new_invoice_salt
from ledger_client.errors import ContractRevert
from ledger_client.types import AttestRequest
from pipeline.config import Settings
from pipeline.service import (
    RegulatorKeyInDataDir,
    RelayAccountRefused,
    Service,
    development_regulator,
)
from scripts.cli import app
from tests.api_world import ApiWorld, error, open_world
from tests.conftest import deploy_for_tests

RING = Keyring("api-keys-tests")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``credit-chain ARGS`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.cli", *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
        env={**os.environ},
    )


def _issue(data_dir: Path, member: str, *extra: str) -> str:
    done = _cli("keys", "issue", member, "--data-dir", str(data_dir), "--json", *extra)
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["key"])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _attestation(
    ledger: Ledger, signer: LocalAccount, nonce: int, subject: bytes
) -> dict[str, Any]:
    """The body of ``POST /v1/attestations``: ``signer``'s signed loan record about ``subject``."""
    loan = ledger.schemas["loan-repayment"]
    record = sample_record(loan, random.Random(nonce), overrides={"subject": "0x" + subject.hex()})
    request = AttestRequest(schema_id(loan), subject, record_hash(loan, record), 0, b"\0" * 32)
    deadline = ledger.chain.now() + 30 * 86_400
    separator = domain_separator(ledger.attestations.domain)
    signed = SignedRecord.sign(signer, separator, request, nonce, deadline)
    return sdk.bodies.attestation("loan-repayment", signed)


def _post(client: ApiClient, key: str, body: dict[str, Any], idem: str) -> ApiResponse:
    return client.request(
        "POST", "/v1/attestations", body, {"X-API-Key": key, "Idempotency-Key": idem}
    )


def _get(client: ApiClient, key: str, path: str = "/v1/members") -> ApiResponse:
    return client.request("GET", path, headers={"X-API-Key": key})


def _named(r: ApiResponse, status: int, name: str) -> None:
    assert (r.status, r.error) == (status, name), r.body


def _scan_for_key(directory: Path, account: LocalAccount, seed: str | None) -> list[str]:
    """Every file under ``directory`` holding ``account``'s private key (raw or hex), or the
    seed it was derived from."""
    raw = bytes(account.key)
    needles = [raw, raw.hex().encode(), raw.hex().upper().encode()]
    if seed:
        needles.append(seed.encode())
    hits = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if any(n in data for n in needles):
            hits.append(str(path))
    return hits


def _relay_only(ledger: Ledger, relayer: LocalAccount) -> None:
    """The relay account holds exactly the relayer role, and the chain refuses it the
    regulator's functions by name."""
    member = ledger.consortium.member(relayer.address)
    assert member is not None
    assert member.roles == Role.RELAYER
    assert not member.suspended
    stranger = RING.account("would-be-member")
    ledger.chain.fund(stranger.address)
    with pytest.raises(ContractRevert) as admit:
        ledger.consortium.admit_member(relayer, stranger.address, "X", "Hefei", Role.ATTESTER)
    assert admit.value.error_name == "ConsortiumUnauthorized"
    with pytest.raises(ContractRevert) as grant:
        ledger.consortium.set_roles(relayer, relayer.address, Role.RELAYER | Role.REGULATOR)
    assert grant.value.error_name == "ConsortiumUnauthorized"


# -- a revocation by another process counts on the next request --------------------------------


def test_a_key_revoked_by_the_cli_is_refused_on_the_next_request(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    service = Service.open(settings, start_worker=False)
    bank = RING.account("bank")
    service.chain.fund(bank.address)
    service.ledger.consortium.admit_member(
        development_regulator(settings), bank.address, "Bank", "Hefei", Role.ATTESTER
    )
    bodies = [_attestation(service.ledger, bank, n, bytes([n + 1]) * 32) for n in range(3)]
    service.close()
    proc, port = start_server(data, log=tmp_path / "server.log")
    client = ApiClient(port)
    try:
        key = _issue(data, bank.address)  # issued by another process while the server runs
        assert _get(client, key).status == 200
        assert _post(client, key, bodies[0], "one").status == 202
        revoked = _cli("keys", "revoke", key, "--data-dir", str(data))
        assert revoked.returncode == 0, revoked.stderr
        _named(_post(client, key, bodies[1], "two"), 401, "ApiKeyRevoked")
        _named(_get(client, key), 401, "ApiKeyRevoked")
        # The same key by its hash, or again: nothing to revoke, the CLI says so.
        assert _cli("keys", "revoke", key, "--data-dir", str(data)).returncode != 0
        # A new key for the same bank works at once.
        assert _post(client, _issue(data, bank.address), bodies[2], "three").status == 202
    finally:
        client.close()
        _stop(proc)
    # The access log, written from a thread of its own, was flushed as the server stopped:
    # a line per request, with its status, and never the key.
    log = (tmp_path / "server.log").read_text()
    assert log.count('"POST /v1/attestations HTTP/1.1" 202') == 2, log[-2000:]
    assert log.count('"POST /v1/attestations HTTP/1.1" 401') == 1, log[-2000:]
    assert key not in log


def served_deployment(
    chain: Chain, tmp_path: Path, bank_name: str
) -> tuple[Ledger, LocalAccount, LocalAccount, Path, Path]:
    """A deployment set up the documented way for a server of its own on ``chain``:
    ``relay-account`` makes the server's relay key in its data directory, the regulator
    admits that account as a relayer and a bank as an attester, and the manifest is
    saved for ``serve --manifest``. Returns the ledger, the regulator, the bank, the
    data directory and the manifest."""
    ledger = deploy_for_tests(chain, Keyring("tests"))
    regulator = Keyring("tests").account("regulator")
    data = tmp_path / "api"
    made = _cli("relay-account", "--data-dir", str(data), "--json")
    assert made.returncode == 0, made.stderr
    relay = json.loads(made.stdout)["relay_account"]
    chain.fund(relay)
    ledger.consortium.admit_member(regulator, relay, "API relay", "Shanghai", Role.RELAYER)
    bank = RING.account(bank_name)
    chain.fund(bank.address)
    ledger.consortium.admit_member(regulator, bank.address, "Bank", "Hefei", Role.ATTESTER)
    manifest = tmp_path / "manifest.json"
    ledger.manifest.save(manifest)
    return ledger, regulator, bank, data, manifest


class SuspensionConformance:
    """The regulator suspends a member on the chain from its own process while the server runs
    on that chain: the member's key is refused on the next request, and served once
    reinstated. The server was set up the documented way: ``relay-account``, the regulator
    admits that account as a relayer, ``serve --manifest``."""

    @pytest.fixture
    def rpc_url(self, chain: Chain) -> Iterator[str]:
        raise NotImplementedError

    def test_suspension_on_chain_counts_on_the_next_request(
        self, chain: Chain, rpc_url: str, tmp_path: Path
    ) -> None:
        ledger, regulator, bank, data, manifest = served_deployment(
            chain, tmp_path, "suspended-bank"
        )
        keyring = Keyring("tests")
        bodies = [_attestation(ledger, bank, n, bytes([n + 7]) * 32) for n in range(3)]
        proc, port = start_server(data, rpc=rpc_url, manifest=manifest, log=tmp_path / "server.log")
        client = ApiClient(port)
        try:
            key = _issue(data, bank.address)
            assert _post(client, key, bodies[0], "before").status == 202
            ledger.consortium.suspend_member(regulator, bank.address)
            _named(_post(client, key, bodies[1], "during"), 403, "MemberSuspended")
            _named(_get(client, key), 403, "MemberSuspended")
            ledger.consortium.reinstate_member(regulator, bank.address)
            assert _post(client, key, bodies[1], "during").status == 202
            assert _get(client, key).status == 200
        finally:
            client.close()
            _stop(proc)
        assert _scan_for_key(data, regulator, keyring.seed) == []
        _relay_only(ledger, Keyring.load(data / "keys.json").account("relayer"))


class TestSuspensionEmbedded(SuspensionConformance):
    """The embedded chain, served to the server's process over the JSON-RPC bridge."""

    @pytest.fixture
    def chain(self) -> Iterator[Chain]:
        chain = connect("embedded")
        yield chain
        chain.close()

    @pytest.fixture
    def rpc_url(self, chain: Chain) -> Iterator[str]:
        bridge = EmbeddedRpcBridge(chain.backend).start()
        yield bridge.url
        bridge.close()


class TestSuspensionAnvil(SuspensionConformance):
    """A real anvil node."""

    pytestmark = pytest.mark.anvil

    @pytest.fixture
    def chain(self, anvil_url: str) -> Iterator[Chain]:
        chain = connect(anvil_url)
        snap = chain.snapshot()
        yield chain
        chain.revert(snap)
        chain.close()

    @pytest.fixture
    def rpc_url(self, anvil_url: str) -> str:
        return anvil_url


# -- the API's operator holds no regulator powers ---------------------------------------------


def test_a_fresh_serve_keeps_no_regulator_key_in_its_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "server.log"
    proc, _ = start_server(data, log=log)
    _stop(proc)
    regulator_file = tmp_path / "data-regulator-keys.json"
    assert str(regulator_file) in log.read_text()  # named at start-up
    ring = Keyring.load(regulator_file)
    regulator = ring.account("regulator")
    assert _scan_for_key(data, regulator, ring.seed) == []
    relay_ring = Keyring.load(data / "keys.json")
    assert relay_ring.labels() == ["relayer"]
    assert relay_ring.account("regulator").address != regulator.address
    chain = connect("embedded", data_dir=data / "chain")
    try:
        ledger = attach(chain, Manifest.load(data / "manifest.json"))
        assert ledger.consortium.has_role(regulator.address, Role.REGULATOR)
        _relay_only(ledger, relay_ring.account("relayer"))
    finally:
        chain.close()


def test_the_documented_deploy_then_serve(tmp_path: Path) -> None:
    """The operator makes its relay account; the regulator deploys with its own key (from a
    file it holds) and admits that account; the operator serves the manifest."""
    data = tmp_path / "api"
    made = _cli("relay-account", "--data-dir", str(data), "--json")
    assert made.returncode == 0, made.stderr
    relay = json.loads(made.stdout)["relay_account"]
    regulator = Account.create()
    key_file = tmp_path / "regulator" / "key.hex"
    key_file.parent.mkdir()
    key_file.write_text("0x" + bytes(regulator.key).hex())
    manifest = tmp_path / "manifest.json"
    deployed = _cli(
        "deploy",
        "--data-dir",
        str(data / "chain"),
        "--regulator-key",
        str(key_file),
        "--relayer",
        relay,
        "--out",
        str(manifest),
        "--json",
    )
    assert deployed.returncode == 0, deployed.stderr
    proc, port = start_server(data, manifest=manifest, log=tmp_path / "server.log")
    client = ApiClient(port)
    try:
        key = _issue(data, relay)  # the relay's own key: it may read the member list
        members = {m["account"]: m for m in _get(client, key).body["data"]}
        assert members[relay]["roles"] == ["relayer"]
        assert "regulator" in members[regulator.address]["roles"]
    finally:
        client.close()
        _stop(proc)
    assert _scan_for_key(data, regulator, None) == []
    assert not (tmp_path / "api-regulator-keys.json").exists()
    chain = connect("embedded", data_dir=data / "chain")
    try:
        _relay_only(
            attach(chain, Manifest.load(manifest)),
            Keyring.load(data / "keys.json").account("relayer"),
        )
    finally:
        chain.close()


def test_serve_refuses_a_relay_account_with_more_than_the_relayer_role(tmp_path: Path) -> None:
    chain = connect("embedded", data_dir=tmp_path / "api" / "chain")
    ledger = deploy_for_tests(chain, Keyring("tests"))
    regulator = Keyring("tests").account("regulator")
    relay = CliRunner().invoke(app, ["relay-account", "--data-dir", str(tmp_path / "api")])
    assert relay.exit_code == 0, relay.output
    address = relay.output.strip()
    chain.fund(address)
    ledger.consortium.admit_member(
        regulator, address, "Overpowered relay", "Shanghai", Role.RELAYER | Role.REGULATOR
    )
    ledger.manifest.save(tmp_path / "manifest.json")
    chain.close()
    settings = Settings(data_dir=tmp_path / "api", manifest=tmp_path / "manifest.json")
    with pytest.raises(RelayAccountRefused) as refused:
        Service.open(settings, start_worker=False)
    assert set(refused.value.roles) == {"regulator", "relayer"}
    assert refused.value.account == address


def test_the_regulator_key_may_not_go_into_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", regulator_keys=tmp_path / "d" / "reg.json")
    with pytest.raises(RegulatorKeyInDataDir):
        Service.open(settings, start_worker=False)
    assert not (tmp_path / "d" / "reg.json").exists()


# -- read-only keys and who sees a submission -------------------------------------------------


@pytest.fixture
def w(tmp_path: Path) -> Iterator[ApiWorld]:
    with open_world(tmp_path / "data") as world:
        yield world


def test_read_only_keys_only_for_auditors_and_regulators(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    service = Service.open(settings, start_worker=False)
    regulator = development_regulator(settings)
    bank, auditor = RING.account("ro-bank"), RING.account("ro-auditor")
    for acct, roles in ((bank, Role.ATTESTER), (auditor, Role.AUDITOR)):
        service.chain.fund(acct.address)
        service.ledger.consortium.admit_member(regulator, acct.address, "M", "Hefei", roles)
    service.close()
    runner = CliRunner()
    refused = runner.invoke(
        app, ["keys", "issue", bank.address, "--read-only", "--data-dir", str(data)]
    )
    assert refused.exit_code != 0
    assert "ReadOnlyKeyNotAuditor" in refused.output
    stranger = runner.invoke(
        app,
        ["keys", "issue", RING.account("nobody").address, "--read-only", "--data-dir", str(data)],
    )
    assert stranger.exit_code != 0
    assert "ReadOnlyKeyNotAuditor" in stranger.output
    for who in (auditor.address, regulator.address):
        ok = runner.invoke(app, ["keys", "issue", who, "--read-only", "--data-dir", str(data)])
        assert ok.exit_code == 0, ok.output
    service = Service.open(settings, start_worker=False)
    try:
        assert [k.member for k in service.keys.list() if k.read_only] == [
            auditor.address,
            regulator.address,
        ]
    finally:
        service.close()


def test_a_read_only_key_reads_nothing_once_its_account_is_no_auditor(w: ApiWorld) -> None:
    body = _attestation(w.ledger, w["bank-a"], 1, w.subjects["core"])
    sub = w.post("/v1/attestations", "bank-a", body).json()["id"]
    assert w.get(f"/v1/submissions/{sub}", "auditor").status_code == 200
    regulator = development_regulator(w.service.settings)
    w.ledger.consortium.set_roles(regulator, w["auditor"].address, Role.ATTESTER)
    error(w.get(f"/v1/submissions/{sub}", "auditor"), 403, "ReadOnlyKeyNotAuditor")
    error(w.get("/v1/members", "auditor"), 403, "ReadOnlyKeyNotAuditor")
    # A read-only key slipped into the store for a bank (an older store, a hand edit) is no
    # auditor's key either.
    with w.service.db.transaction() as conn:
        conn.execute(
            "INSERT INTO api_keys VALUES (?, ?, 1, 'forged', 0, NULL)",
            (hashlib.sha256(b"ccak_forged").hexdigest(), w["bank-b"].address),
        )
    error(
        w.client.get(f"/v1/submissions/{sub}", headers={"X-API-Key": "ccak_forged"}),
        403,
        "ReadOnlyKeyNotAuditor",
    )


def test_a_submission_is_shown_to_its_parties_and_overseers_only(w: ApiWorld) -> None:
    # A bank's record about the core enterprise.
    body = _attestation(w.ledger, w["bank-a"], 1, w.subjects["core"])
    record = w.post("/v1/attestations", "bank-a", body).json()["id"]
    # The core enterprise issues a receivable to tier 1.
    r = w.ledger.receivables
    due = w.service.chain.now() + 60 * 86_400
    commitment = invoice_commitment(bytes(32 * [9]), new_invoice_salt())
    contract = "0x" + bytes(32 * [8]).hex()
    args = (w["tier1"].address, 1_000_000, due, bytes.fromhex(contract[2:]), [commitment])
    issued = w.post(
        "/v1/receivables",
        "core",
        {
            "supplier": w["tier1"].address,
            "amount_fen": 1_000_000,
            "due_date": due,
            "contract_hash": contract,
            "invoice_commitments": ["0x" + commitment.hex()],
            **w.signed("core", r, "issue", *args),
        },
    ).json()["id"]
    seen = {
        record: {"bank-a", "core", "auditor", "regulator"},
        issued: {"core", "tier1", "auditor", "regulator"},
    }
    everyone = {"bank-a", "bank-b", "bureau", "auditor", "core", "tier1", "tier2", "regulator"}
    for sub, allowed in seen.items():
        for who in sorted(everyone):
            got = w.get(f"/v1/submissions/{sub}", who)
            if who in allowed:
                assert got.status_code == 200, (sub, who, got.text)
            else:
                error(got, 404, "NotFound")
                error(w.get(f"/v1/submissions/{sub}/proof", who), 404, "NotFound")
    # Anchored, the receivable names its holder: the supplier accepts, and still sees it.
    done = w.wait(issued, "core")
    assert done["status"] == "anchored", done
    rid = done["result"]["receivable_id"]
    accepted = w.post(
        f"/v1/receivables/{rid}/accept",
        "tier1",
        w.signed("tier1", r, "accept", bytes.fromhex(rid[2:])),
    ).json()["id"]
    assert w.get(f"/v1/submissions/{accepted}", "core").status_code == 200  # the debtor
    error(w.get(f"/v1/submissions/{accepted}", "tier2"), 404, "NotFound")
    error(w.get(f"/v1/submissions/{accepted}", "bank-b"), 404, "NotFound")


def test_deploy_takes_the_regulator_key_from_the_environment_and_writes_none(
    tmp_path: Path,
) -> None:
    regulator = Account.create()
    relay = RING.account("env-relay").address
    chain_dir = tmp_path / "chain"
    runner = CliRunner()
    refused = runner.invoke(
        app,
        ["deploy", "--data-dir", str(chain_dir), "--keys", str(tmp_path / "k.json")],
        env={"CREDIT_CHAIN_REGULATOR_KEY": "0x" + bytes(regulator.key).hex()},
    )
    assert refused.exit_code != 0  # --keys writes development keys: none with the regulator's
    done = runner.invoke(
        app,
        ["deploy", "--data-dir", str(chain_dir), "--relayer", relay],
        env={"CREDIT_CHAIN_REGULATOR_KEY": "0x" + bytes(regulator.key).hex()},
    )
    assert done.exit_code == 0, done.output
    assert not (chain_dir / "keys.json").exists()
    assert _scan_for_key(tmp_path, regulator, None) == []
    chain = connect("embedded", data_dir=chain_dir)
    try:
        ledger = attach(chain, Manifest.load(chain_dir / "manifest.json"))
        assert ledger.consortium.has_role(regulator.address, Role.REGULATOR)
        member = ledger.consortium.member(relay)
        assert member is not None
        assert member.roles == Role.RELAYER
    finally:
        chain.close()
