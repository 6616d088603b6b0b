"""Verifying a record against the chain, and the tampering that must fail it, by name."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from ledger_client import Keyring, Ledger, LedgerValueError, Role, connect
from ledger_client.attestations.batches import anchor_records, anchor_signed_records
from ledger_client.attestations.merkle import MerkleTree
from ledger_client.attestations.records import Schema, record_hash, record_subject, sample_record
from ledger_client.attestations.signed_records import SignedRecord, domain_separator
from ledger_client.audit import BatchProof, Verification, verify_record
from ledger_client.contracts.attestations import schema_id
from ledger_client.errors import ConsortiumUnauthorized
from ledger_client.types import DISPUTE_RESOLUTION_PERIOD, AttestationFields, AttestRequest
from scripts.cli import app
from tests.conftest import deploy_for_tests

SUBJECT = "0x" + "5a" * 32


@pytest.fixture
def ledger(keyring: Keyring) -> Ledger:
    return deploy_for_tests(connect("embedded"), keyring)


@pytest.fixture
def bank(ledger: Ledger, keyring: Keyring) -> LocalAccount:
    acct = keyring.account("bank")
    ledger.chain.fund(acct.address)
    ledger.consortium.admit_member(
        keyring.account("regulator"), acct.address, "Qiantang Bank", "Hangzhou", Role.ATTESTER
    )
    return acct


def _record(schema: Schema, seed: int = 1, subject: str = SUBJECT) -> dict[str, object]:
    return sample_record(schema, random.Random(seed), overrides={"subject": subject})


def _names(result: Verification) -> dict[str, bool]:
    return {c.name: c.ok for c in result.checks}


def test_a_true_record_passes_every_check(ledger: Ledger, bank: LocalAccount) -> None:
    loan = ledger.schemas["loan-repayment"]
    record = _record(loan)
    made = ledger.attestations.attest_record(bank, loan, record)
    ledger.chain.advance_time(3_600)  # other blocks follow; the search must find the right one
    result = verify_record(ledger, made.uid, record)
    assert result.ok, result.to_dict()
    assert _names(result) == {
        "attestation-found": True,
        "schema-valid": True,
        "hash-match": True,
        "attester-in-good-standing": True,
        "validity": True,
    }
    standing = next(c for c in result.checks if c.name == "attester-in-good-standing")
    assert "Qiantang Bank (Hangzhou)" in standing.detail


def test_one_altered_character_fails_the_hash(ledger: Ledger, bank: LocalAccount) -> None:
    loan = ledger.schemas["loan-repayment"]
    record = _record(loan)
    made = ledger.attestations.attest_record(bank, loan, record)
    altered = dict(record)
    text = str(altered["loanId"])
    altered["loanId"] = text[:-1] + ("0" if text[-1] != "0" else "1")
    result = verify_record(ledger, made.uid, altered)
    assert not result.ok
    assert [c.name for c in result.failures] == ["hash-match"]
    assert "the document was altered" in result.failures[0].detail


def test_another_subject_fails(ledger: Ledger, bank: LocalAccount) -> None:
    loan = ledger.schemas["loan-repayment"]
    record = _record(loan)
    made = ledger.attestations.attest_record(bank, loan, record)
    other = {**record, "subject": "0x" + "6b" * 32}
    result = verify_record(ledger, made.uid, other)
    assert [c.name for c in result.failures] == ["hash-match"]
    assert "another subject" in result.failures[0].detail


def test_a_record_that_does_not_fit_its_schema_fails_naming_the_field(
    ledger: Ledger, bank: LocalAccount
) -> None:
    loan = ledger.schemas["loan-repayment"]
    record = _record(loan)
    made = ledger.attestations.attest_record(bank, loan, record)
    broken = {k: v for k, v in record.items() if k != "dueFen"}
    result = verify_record(ledger, made.uid, broken)
    assert result.failures[0].name == "schema-valid"
    assert "dueFen" in result.failures[0].detail


def test_revoked_and_replaced_records_fail_validity(ledger: Ledger, bank: LocalAccount) -> None:
    loan = ledger.schemas["loan-repayment"]
    first, second = _record(loan, 1), _record(loan, 2)
    a = ledger.attestations
    made1 = a.attest_record(bank, loan, first)
    made2 = a.attest_record(bank, loan, second)
    a.revoke(bank, made1.uid)
    fields = AttestationFields(bytes.fromhex(SUBJECT[2:]), record_hash(loan, second))
    new = a.replace(bank, made2.uid, fields, b"\x44" * 32)
    revoked = verify_record(ledger, made1.uid, first)
    assert [c.name for c in revoked.failures] == ["validity"]
    assert "revoked" in revoked.failures[0].detail
    replaced = verify_record(ledger, made2.uid, second)
    assert replaced.failures[0].detail == f"the record is replaced by 0x{new.uid.hex()}"


def test_an_unknown_uid(ledger: Ledger) -> None:
    result = verify_record(ledger, b"\x01" * 32, {"subject": SUBJECT})
    assert not result.ok
    assert result.failures[0].name == "attestation-found"


def test_batched_record_with_its_proof(ledger: Ledger, bank: LocalAccount) -> None:
    grades = ledger.schemas["tax-credit-grade"]
    records = [_record(grades, i, "0x" + f"{i:064x}") for i in range(1, 12)]
    batch = anchor_records(ledger.attestations, bank, grades, records)
    proof = batch.proof_for(6)
    assert BatchProof.from_dict(json.loads(json.dumps(proof.to_dict()))) == proof
    ok = verify_record(ledger, b"", records[6], proof)
    assert ok.ok, ok.to_dict()
    assert "merkle-proof" in _names(ok)
    # A forged proof: one sibling changed.
    forged = BatchProof(proof.batch_id, 6, [b"\x00" * 32, *proof.proof[1:]])
    bad = verify_record(ledger, b"", records[6], forged)
    assert [c.name for c in bad.failures] == ["merkle-proof"]
    assert "forged" in bad.failures[0].detail
    # The record of another position, with this proof.
    assert not verify_record(ledger, b"", records[5], proof).ok
    ledger.attestations.revoke_batch_record(bank, proof.batch_id, batch.entry(6), proof.proof)
    revoked = verify_record(ledger, b"", records[6], proof)
    assert [c.name for c in revoked.failures] == ["validity"]


def test_malformed_proof_documents_are_named() -> None:
    with pytest.raises(LedgerValueError, match="batch_id"):
        BatchProof.from_dict({"batch_id": "0x12", "index": 0, "proof": []})
    with pytest.raises(LedgerValueError, match="malformed"):
        BatchProof.from_dict({"index": 0})


def test_verify_command(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ledger"
    assert runner.invoke(app, ["deploy", "--data-dir", str(out)]).exit_code == 0
    from ledger_client import Manifest, attach

    chain = connect("embedded", data_dir=out)
    ledger = attach(chain, Manifest.load(out / "manifest.json"))
    ring = Keyring.load(out / "keys.json")
    bank = ring.account("bank")
    chain.fund(bank.address)
    ledger.consortium.admit_member(ring.account("regulator"), bank.address, "B", "Hefei", 1)
    loan = ledger.schemas["loan-repayment"]
    record = _record(loan)
    made = ledger.attestations.attest_record(bank, loan, record)
    chain.close()
    (tmp_path / "record.json").write_text(json.dumps(record))
    args = ["verify", "--manifest", str(out / "manifest.json"), "--uid", "0x" + made.uid.hex()]
    good = runner.invoke(app, [*args, "--record", str(tmp_path / "record.json"), "--json"])
    assert good.exit_code == 0, good.output
    assert json.loads(good.stdout)["ok"] is True
    (tmp_path / "altered.json").write_text(json.dumps({**record, "dueFen": 1}))
    bad = runner.invoke(app, [*args, "--record", str(tmp_path / "altered.json")])
    assert bad.exit_code == 1
    assert "hash-match" in bad.output


# -- the states the issue names: disputed, expired; signed batches ----------------------------


def _bound_enterprise(ledger: Ledger, keyring: Keyring) -> LocalAccount:
    registrar = keyring.account("registrar")
    ledger.chain.fund(registrar.address)
    ledger.consortium.admit_member(
        keyring.account("regulator"), registrar.address, "Registrar", "Hefei", Role.REGISTRAR
    )
    enterprise = keyring.account("enterprise")
    ledger.consortium.bind_enterprise(registrar, enterprise.address, bytes.fromhex(SUBJECT[2:]))
    return enterprise


def test_a_disputed_record_fails_validity_until_answered(
    ledger: Ledger, bank: LocalAccount, keyring: Keyring
) -> None:
    enterprise = _bound_enterprise(ledger, keyring)
    loan = ledger.schemas["loan-repayment"]
    record = _record(loan)
    made = ledger.attestations.attest_record(bank, loan, record)
    fields = AttestationFields(bytes.fromhex(SUBJECT[2:]), record_hash(loan, record))
    d = ledger.disputes
    raised = d.relay_dispute(bank, d.sign_dispute(enterprise, made.uid, fields, b"\x09" * 32))
    disputed = verify_record(ledger, made.uid, record)
    assert [c.name for c in disputed.failures] == ["validity"]
    assert disputed.failures[0].detail == "the record is disputed"
    ledger.chain.advance_time(DISPUTE_RESOLUTION_PERIOD)
    overdue = verify_record(ledger, made.uid, record)
    assert "open past the 20-day deadline" in overdue.failures[0].detail
    d.reject(bank, raised.dispute_id, b"\x0a" * 32)
    assert verify_record(ledger, made.uid, record).ok


def test_an_expired_record_fails_validity(ledger: Ledger, bank: LocalAccount) -> None:
    loan = ledger.schemas["loan-repayment"]
    record = _record(loan)
    made = ledger.attestations.attest_record(bank, loan, record, expiry=ledger.chain.now() + 60)
    assert verify_record(ledger, made.uid, record).ok
    ledger.chain.advance_time(120)
    expired = verify_record(ledger, made.uid, record)
    assert [c.name for c in expired.failures] == ["validity"]
    assert "expired" in expired.failures[0].detail


def _signed_batch(
    ledger: Ledger,
    relayer: LocalAccount,
    signers: list[LocalAccount],
    records: list[dict[str, object]],
) -> tuple[bytes, MerkleTree, list[SignedRecord]]:
    grades = ledger.schemas["tax-credit-grade"]
    separator = domain_separator(ledger.attestations.domain)
    signed = [
        SignedRecord.sign(
            signer,
            separator,
            AttestRequest(schema_id(grades), record_subject(r), record_hash(grades, r)),
            nonce=i,
            deadline=ledger.chain.now() + 3_600,
        )
        for i, (signer, r) in enumerate(zip(signers, records, strict=True))
    ]
    anchored = anchor_signed_records(ledger.attestations, relayer, signed)
    return anchored.batch_id, anchored.tree, signed


def test_a_signed_batch_record_checks_its_signer(
    ledger: Ledger, bank: LocalAccount, keyring: Keyring
) -> None:
    regulator = keyring.account("regulator")
    relayer, outsider = keyring.account("relayer"), keyring.account("outsider")
    ledger.chain.fund(relayer.address)
    ledger.consortium.admit_member(regulator, relayer.address, "Relay", "Shanghai", Role.RELAYER)
    grades = ledger.schemas["tax-credit-grade"]
    records = [_record(grades, i, "0x" + f"{i:064x}") for i in range(1, 6)]
    # A record signed by an account that is no attester: the chain refuses the batch.
    with pytest.raises(ConsortiumUnauthorized):
        _signed_batch(ledger, relayer, [bank, bank, outsider, bank, bank], records)
    batch_id, tree, signed = _signed_batch(ledger, relayer, [bank] * 5, records)

    def proof(i: int, signed_record: SignedRecord | None = None) -> BatchProof:
        record = signed_record or signed[i]
        return BatchProof(batch_id, i, list(tree.proof(i)), record.to_dict())

    ok = verify_record(ledger, b"", records[1], proof(1))
    assert ok.ok, ok.to_dict()
    assert {"signature", "merkle-proof", "attester-in-good-standing"} <= set(_names(ok))
    # The outsider's signature over the bank's record at the bank's place: not the bank's.
    outsider_signed = SignedRecord.sign(
        outsider,
        domain_separator(ledger.attestations.domain),
        signed[2].request,
        nonce=2,
        deadline=signed[2].deadline,
    )
    stranger = verify_record(ledger, b"", records[2], proof(2, outsider_signed))
    assert not stranger.ok
    # A signature that is not the bank's over this record (another record's), in its name.
    forged = SignedRecord(
        signed[1].request, bank.address, 1, signed[1].deadline, signed[2].signature
    )
    bad = verify_record(ledger, b"", records[1], proof(1, forged))
    assert [c.name for c in bad.failures] == ["signature"]
    assert "is not" in bad.failures[0].detail
    # A signed batch's record without its signed record cannot be verified.
    bare = verify_record(ledger, b"", records[1], BatchProof(batch_id, 1, list(tree.proof(1))))
    assert [c.name for c in bare.failures] == ["signature"]


def test_records_in_later_blocks_of_one_second_are_found(keyring: Keyring) -> None:
    """Anvil mines several blocks in one second: a record attested, or a batch anchored, in
    the second or third block of its second is found there, not looked for in the first
    block alone (which would fail a true record)."""
    ledger = deploy_for_tests(connect("embedded", block_time=0), keyring)
    bank = keyring.account("bank")
    ledger.chain.fund(bank.address)
    ledger.consortium.admit_member(
        keyring.account("regulator"), bank.address, "Qiantang Bank", "Hangzhou", Role.ATTESTER
    )
    loan = ledger.schemas["loan-repayment"]
    first, second = _record(loan, 1), _record(loan, 2)
    ledger.attestations.attest_record(bank, loan, first)
    made = ledger.attestations.attest_record(bank, loan, second)
    batch = anchor_records(ledger.attestations, bank, loan, [_record(loan, 3), _record(loan, 4)])
    backend = ledger.chain.backend
    head = backend.block_number()
    assert backend.block(head).timestamp == backend.block(head - 2).timestamp
    result = verify_record(ledger, made.uid, second)
    assert result.ok, result.to_dict()
    assert f"in block {head - 1}" in result.checks[0].detail
    batched = verify_record(ledger, b"", _record(loan, 4), batch.proof_for(1))
    assert batched.ok, batched.to_dict()
    assert f"in block {head}" in batched.checks[0].detail
