"""The demo's cross-region credit query: consent, the query trail, a sealed report, a dispute.

A Hangzhou enterprise authorises a Shanghai bank to query its credit for a
loan approval; the bank logs its query on chain; the Hangzhou credit bureau
answers with the enterprise's tax credit grade, encrypted to the bank's key;
the bank checks it against the chain. The enterprise then withdraws its
consent, lists who queried it, and disputes a record.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from eth_hash.auto import keccak
from rich.console import Console
from rich.table import Table

from ledger_client import ContractRevert, Keyring, Ledger
from ledger_client.attestations.records import canonical_json, record_hash, validate_record
from ledger_client.consent.credit_reports import receive_report, share_report
from ledger_client.consent.sharing import EncryptionKeyPair, SharingError
from ledger_client.contracts.attestations import schema_id
from ledger_client.contracts.authorisations import AuthorisationRequest, query_hash
from ledger_client.index.consent import ConsentLog
from ledger_client.types import AttestationFields, QueryPurpose

_DAY = 86_400


def demo_encryption_keys(ring: Keyring, label: str) -> EncryptionKeyPair:
    """A member's X25519 key pair for the demo, derived from the keyring's seed."""
    return EncryptionKeyPair.from_private_bytes(bytes(ring.account(f"x25519:{label}").key))


def show_consent(
    ledger: Ledger, ring: Keyring, enterprise: dict[str, Any], out: Console, step: int
) -> dict[str, Any]:
    """Run the cross-region flow for ``enterprise`` (a Hangzhou one, as the demo bound it)."""
    chain, auths = ledger.chain, ledger.authorisations
    bank, bureau = ring.account("bank:shanghai"), ring.account("bureau:hangzhou")
    nanjing_bank = ring.account("bank:nanjing")
    ent = ring.account(enterprise["label"])
    subject = bytes.fromhex(enterprise["subject"][2:])
    refusals: list[dict[str, str]] = []
    gas: dict[str, int] = {}

    def refused(what: str, exc: Exception) -> None:
        name = type(exc).__name__
        refusals.append({"attempt": what, "error": name, "detail": str(exc)})
        out.print(f"   [green]refused[/green] {what}: [bold]{exc}[/bold]")

    out.print(
        f"\n[bold]{step}. Cross-region credit query: a Hangzhou enterprise, a Shanghai bank "
        "(授权查询 · 查询留痕)[/bold]"
    )
    out.print(
        f"   {enterprise['name']} ({enterprise['city']}), subject {enterprise['subject'][:18]}…"
    )

    # The Hangzhou bureau holds a credit record about it; only the hash is on chain.
    grades = ledger.schemas["tax-credit-grade"]
    record = validate_record(
        grades,
        {
            "subject": enterprise["subject"],
            "taxYear": 2024,
            "grade": "A",
            "taxAuthority": "国家税务总局杭州市西湖区税务局",
            "assessedDate": "2025-04-15",
        },
    )
    fields = AttestationFields(subject, record_hash(grades, record))
    attested = ledger.attestations.attest(bureau, grades, subject, fields.data_hash)
    out.print(
        f"   Hangzhou Credit Reference Center attests its tax credit grade: "
        f"uid {attested.uid.hex()[:16]}…"
    )
    bank_keys = demo_encryption_keys(ring, "bank:shanghai")
    ledger.consortium.publish_encryption_key(bank, bank_keys.public_bytes)
    out.print("   Pudong Sci-Tech Bank publishes its X25519 key in the consortium contract")

    # Consent: signed by the enterprise (no gas), relayed by the bank.
    request = AuthorisationRequest(
        bank.address, QueryPurpose.LOAN_APPROVAL, chain.now() + 90 * _DAY, (schema_id(grades),)
    )
    signed = auths.sign_authorisation(ent, request, nonce=1)
    granted = auths.authorise(bank, signed)
    gas["authorise"] = granted.tx.gas_used
    out.print(
        f"   The enterprise signs an authorisation (EIP-712) for a loan approval (贷款审批), "
        f"90 days, tax credit grades only; it holds {chain.backend.balance(ent.address)} wei, "
        f"so the bank relays it: {granted.tx.gas_used:,} gas"
    )

    # The query, logged against the authorisation.
    application = {"application": "PDSTB-2025-HZ-0042", "subject": enterprise["subject"]}
    logged = auths.log_query(
        bank,
        granted.auth_id,
        QueryPurpose.LOAN_APPROVAL,
        query_hash(application),
        schema_id(grades),
    )
    gas["log_query"] = logged.tx.gas_used
    out.print(
        f"   The bank logs its query on chain (member, subject, purpose, time, query hash): "
        f"{logged.tx.gas_used:,} gas"
    )

    # The bureau answers off chain with the report sealed to the bank's key.
    report = canonical_json(record)
    shared = share_report(ledger, bureau, logged.query_id, bank.address, report)
    gas["record_share"] = shared.tx.gas_used
    wire = shared.sealed.to_bytes()
    out.print(
        f"   The Hangzhou bureau seals the report (AES-256-GCM, key wrapped to X25519): "
        f"{len(wire)} bytes off chain; on chain only its hash "
        f"{shared.sealed.ciphertext_hash.hex()[:16]}…: {shared.tx.gas_used:,} gas"
    )
    received = receive_report(
        ledger,
        bank.address,
        bank_keys,
        query_id=logged.query_id,
        sealed=type(shared.sealed).from_bytes(wire),
        uid=attested.uid,
        fields=fields,
    )
    verified = keccak(received.report) == fields.data_hash
    out.print(
        "   The Shanghai bank checks the hash on chain, decrypts, and finds "
        f"keccak256(report) = the attestation's dataHash: [bold]{'✓' if verified else '✗'}"
        f"[/bold] (record {received.validity.name})"
    )

    # What the rules refuse.
    try:
        auths.log_query(nanjing_bank, granted.auth_id, QueryPurpose.LOAN_APPROVAL, b"\x01" * 32)
    except ContractRevert as exc:
        refused("the Nanjing bank querying under the Shanghai bank's authorisation", exc)
    try:
        auths.log_query(
            bank, granted.auth_id, QueryPurpose.GUARANTEE_REVIEW, b"\x02" * 32, schema_id(grades)
        )
    except ContractRevert as exc:
        refused("a query for a purpose the enterprise did not authorise", exc)
    try:
        auths.authorise(bank, signed)
    except ContractRevert as exc:
        refused("relaying the enterprise's signature a second time", exc)
    tampered = bytearray(wire)
    tampered[-1] ^= 1
    try:
        receive_report(
            ledger,
            bank.address,
            bank_keys,
            query_id=logged.query_id,
            sealed=type(shared.sealed).from_bytes(bytes(tampered)),
            uid=attested.uid,
            fields=fields,
        )
    except SharingError as exc:
        refused("a report altered in transit", exc)

    # The enterprise withdraws its consent; the bank can query no more.
    withdrawal = auths.sign_withdrawal(ent, granted.auth_id)
    auths.withdraw_by_sig(bureau, withdrawal)
    out.print("   The enterprise withdraws its authorisation (signed; the bureau relays it)")
    try:
        auths.log_query(
            bank, granted.auth_id, QueryPurpose.LOAN_APPROVAL, b"\x03" * 32, schema_id(grades)
        )
    except ContractRevert as exc:
        refused("the bank querying after the withdrawal", exc)

    # A Hangzhou bank the enterprise borrows from monitors the loan it granted.
    hangzhou_bank = ring.account("bank:hangzhou")
    monitoring = auths.authorise(
        hangzhou_bank,
        auths.sign_authorisation(
            ent,
            AuthorisationRequest(
                hangzhou_bank.address, QueryPurpose.POST_LOAN_MANAGEMENT, chain.now() + 365 * _DAY
            ),
            nonce=2,
        ),
    )
    auths.log_query(
        hangzhou_bank,
        monitoring.auth_id,
        QueryPurpose.POST_LOAN_MANAGEMENT,
        query_hash({"loan": "QTIB-2024-0815", "review": "2025-Q2"}),
    )

    # Who queried me? (the enterprise's view of the trail, from the chain's events)
    log = ConsentLog(ledger)
    log.follow()
    names = {str(m.account): m for m in ledger.consortium.members()}
    queries = log.queries_of_subject(subject)
    table = Table(title=f"Who queried {enterprise['name']} (read from the chain's events)")
    for col in ("When (UTC)", "Member", "City", "Purpose", "Query hash"):
        table.add_column(col)
    listed = []
    for q in queries:
        member = names[q.member]
        when = datetime.datetime.fromtimestamp(q.queried_at, datetime.UTC)
        table.add_row(
            when.strftime("%Y-%m-%d %H:%M:%S"),
            member.name,
            f"{member.city.label} {member.city.chinese}",
            f"{q.purpose.label} ({q.purpose.chinese})",
            "0x" + q.query_hash.hex()[:16] + "…",
        )
        listed.append(
            {
                "member": member.name,
                "city": member.city.label,
                "purpose": q.purpose.name.lower(),
                "queried_at": q.queried_at,
            }
        )
    out.print(table)

    # A dispute (异议): the enterprise contests the grade; the bureau corrects it.
    disputes = ledger.disputes
    reason = keccak("申请复评：2024年度纳税信用等级有误".encode())
    raised = disputes.relay_dispute(
        bureau, disputes.sign_dispute(ent, attested.uid, fields, reason, nonce=1)
    )
    gas["raise_dispute"] = raised.tx.gas_used
    dispute = disputes.dispute(raised.dispute_id)
    assert dispute is not None
    due = datetime.datetime.fromtimestamp(dispute.deadline, datetime.UTC).date()
    out.print(
        f"   The enterprise disputes the record: it now reads "
        f"[bold]{ledger.attestations.validity(attested.uid).name}[/bold], "
        f"to be answered by {due} (20 days, art. 25): {raised.tx.gas_used:,} gas"
    )
    corrected = dataclasses.replace(fields, data_hash=record_hash(grades, {**record, "grade": "B"}))
    replacement = ledger.attestations.replace(bureau, attested.uid, fields, corrected.data_hash)
    upheld = disputes.uphold(bureau, raised.dispute_id, keccak("复评结果：B级".encode()))
    gas["uphold_dispute"] = upheld.gas_used
    out.print(
        f"   The bureau replaces the record and upholds the dispute: the old record reads "
        f"[bold]{ledger.attestations.validity(attested.uid).name}[/bold], the correction "
        f"[bold]{ledger.attestations.validity(replacement.uid).name}[/bold]"
    )
    log.close()
    return {
        "enterprise": enterprise["name"],
        "authorisation": "0x" + granted.auth_id.hex(),
        "query": "0x" + logged.query_id.hex(),
        "report_verified": verified,
        "queries_of_enterprise": listed,
        "refusals": refusals,
        "dispute": {
            "id": raised.dispute_id,
            "deadline": dispute.deadline,
            "outcome": "upheld",
            "replacement": "0x" + replacement.uid.hex(),
        },
        "gas": gas,
    }
