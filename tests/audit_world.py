"""A small deployment with a little of everything the audit compares, on any chain.

Members, a single attestation and a batch of records, an authorisation and a
query, a dispute rejected and a complaint about it resolved, a suspension and
a reinstatement: no enterprise pays gas, so it runs on every backend.
"""

from __future__ import annotations

import random

from ledger_client import Chain, Keyring, Ledger, Role
from ledger_client.attestations.batches import anchor_records
from ledger_client.attestations.records import sample_record
from ledger_client.contracts.authorisations import AuthorisationRequest
from ledger_client.types import AttestationFields, QueryPurpose
from tests.conftest import deploy_for_tests


def small_ledger(chain: Chain, ring: Keyring, records: int = 20) -> Ledger:
    """Deploy on ``chain`` and write a little of everything; ``records`` in one batch."""
    ledger = deploy_for_tests(chain, ring)
    regulator = ring.account("regulator")
    bank, bureau = ring.account("bank"), ring.account("bureau")
    for who, roles, city in (
        (bank, Role.ATTESTER | Role.FINANCIER, "Shanghai"),
        (bureau, Role.ATTESTER | Role.REGISTRAR, "Hangzhou"),
    ):
        chain.fund(who.address)
        ledger.consortium.admit_member(regulator, who.address, who.address[:10], city, roles)
    enterprise = ring.account("enterprise")
    subject = b"\x33" * 32
    ledger.consortium.bind_enterprise(bureau, enterprise.address, subject)
    grades = ledger.schemas["tax-credit-grade"]
    made = ledger.attestations.attest(bureau, grades, subject, b"\x44" * 32)
    batch = [
        sample_record(grades, random.Random(i), {"subject": "0x" + f"{i + 1:064x}"})
        for i in range(records)
    ]
    anchor_records(ledger.attestations, bureau, grades, batch)
    request = AuthorisationRequest(
        bank.address, QueryPurpose.LOAN_APPROVAL, chain.now() + 30 * 86_400
    )
    granted = ledger.authorisations.authorise(
        bank, ledger.authorisations.sign_authorisation(enterprise, request)
    )
    ledger.authorisations.log_query(bank, granted.auth_id, QueryPurpose.LOAN_APPROVAL, b"\x55" * 32)
    fields = AttestationFields(subject, b"\x44" * 32)
    raised = ledger.disputes.relay_dispute(
        bank, ledger.disputes.sign_dispute(enterprise, made.uid, fields, b"\x66" * 32, nonce=1)
    )
    ledger.disputes.reject(bureau, raised.dispute_id, b"\x77" * 32)
    complained = ledger.disputes.relay_complaint(
        bank, ledger.disputes.sign_complaint(enterprise, raised.dispute_id, b"\x78" * 32, nonce=2)
    )
    ledger.disputes.resolve_complaint(regulator, complained.complaint_id, False, b"\x79" * 32)
    ledger.consortium.suspend_member(regulator, bank.address, b"\x01" * 32)
    ledger.consortium.reinstate_member(regulator, bank.address)
    return ledger
