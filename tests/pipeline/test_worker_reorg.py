"""The anchoring worker across a reorganisation, on the embedded chain: a snapshot revert
drops the block that carried a submission's transaction before it was anchored N deep;
the worker sends the same signed bytes again, and the submission is anchored exactly once
on the chain that won. The real reorg (a partition healed) is in tests/scripts/test_faults.py.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import sdk
from ledger_client import Keyring, Role
from ledger_client.attestations.records import record_hash, sample_record
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.chain.backends import Receipt
from ledger_client.chain.finality import CONFIRMATIONS_ENV
from ledger_client.contracts.attestations import schema_id
from ledger_client.index import EventIndex
from ledger_client.types import AttestRequest
from pipeline.config import Settings
from pipeline.intake import record_submission
from pipeline.service import Service, development_regulator
from pipeline.worker import AnchorWorker


def _journal_one(service: Service, nonce: int) -> str:
    bank = Keyring("reorg-test").account("bank")
    loan = service.ledger.schemas["loan-repayment"]
    record = sample_record(
        loan, random.Random(nonce), overrides={"subject": "0x" + f"{nonce + 1:064x}"}
    )
    request = AttestRequest(
        schema_id(loan),
        bytes.fromhex(str(record["subject"])[2:]),
        record_hash(loan, record),
        0,
        bytes(32),
    )
    signed = SignedRecord.sign(bank, service.separator, request, nonce, service.chain.now() + 3_600)
    body: dict[str, Any] = {
        **sdk.bodies.attestation("loan-repayment", signed),
        "signer": bank.address,
    }
    ((sub, new),) = service.journal.accept_many(
        bank.address, [record_submission(f"reorg-{nonce}", body, signed)]
    )
    assert new
    return sub.id


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    # Two blocks deep: a write mined but not yet buried under a second block is not anchored.
    monkeypatch.setenv(CONFIRMATIONS_ENV, "2")
    svc = bank_service(tmp_path)
    yield svc
    svc.close()


def bank_service(tmp_path: Path) -> Service:
    """A service, worker not started, with a bank admitted as an attester."""
    # A record alone is relayed at once rather than waiting for others to batch with.
    settings = Settings(data_dir=tmp_path / "data", batch_wait_s=0.0)
    svc = Service.open(settings, start_worker=False)
    regulator = development_regulator(settings)
    bank = Keyring("reorg-test").account("bank")
    svc.chain.fund(bank.address)
    svc.ledger.consortium.admit_member(regulator, bank.address, "Bank", "Hefei", Role.ATTESTER)
    return svc


def test_a_dropped_anchor_is_sent_again_and_anchored_once(service: Service) -> None:
    chain = service.chain
    relayer = service.relayer.address
    sub_id = _journal_one(service, nonce=1)
    before = chain.snapshot()
    nonce_before = chain.backend.nonce(relayer)
    mined: list[Receipt] = []

    def reorganise(receipt: Receipt) -> None:
        """First mining of the anchor: a reorg takes its block away (the snapshot revert
        of the embedded chain); second: another block buries it (the depth of two)."""
        if receipt.tx_hash.lower() != tx_hash():
            return
        mined.append(receipt)
        if len(mined) == 1:
            chain.revert(before)
        else:
            chain.backend.mine(1)

    def tx_hash() -> str:
        (anchor,) = service.journal.unfinished()
        return anchor.tx.tx_hash.lower()

    chain.add_receipt_listener(reorganise)
    worker = AnchorWorker(service)
    assert worker.anchor_pending() == 1
    sub = service.journal.get(sub_id)
    assert sub is not None
    assert sub.status == "anchored", sub
    assert sub.result is not None
    # Mined twice from the same signed bytes: the first block is gone, the second holds.
    assert len(mined) == 2
    assert mined[0].tx_hash == mined[1].tx_hash == sub.result["tx_hash"]
    on_chain = chain.backend.receipt_if_mined(sub.result["tx_hash"])
    assert on_chain is not None
    assert on_chain.block_number == sub.result["block"]
    assert chain.backend.block(on_chain.block_number).hash == on_chain.block_hash
    # One relay transaction on the final chain, not two; one attestation of the record.
    assert chain.backend.nonce(relayer) == nonce_before + 1
    index = EventIndex(":memory:", service.ledger)
    index.sync()
    attested = list(index.events(name="Attested"))
    assert [e.tx_hash.lower() for e in attested] == [sub.result["tx_hash"].lower()]
    assert "0x" + attested[0].args["uid"].hex() == sub.result["uid"]
    index.close()
