"""The writes this API accepts, as ``GET /v1/typed-data`` describes them to a signer.

One row per write route: its operation name (as submissions report it), its
route, what its signer signs, who signs it and whose API key may hand it in
(``api/relay.py``, the relay rule), and for a relayed call the contract
function and where each argument comes from, in the function's order. The
typed data itself is built from these rows by
:func:`ledger_client.identity.typed_data.typed_data_catalogue`.

This list is the only place the typed-data route learns which writes exist:
when the operations table of the write pipeline lands, :data:`RELAYED_WRITES`
becomes a view of it, and the route is unchanged. Until then
``tests/api/test_typed_data.py`` checks it against the app: every write route is
here, and nothing else.
"""

from __future__ import annotations

from ledger_client.identity.typed_data import WriteDescription
from pipeline.operations import OPERATIONS

_SELF = "the signer's own API key"
_MEMBER = "the signer's own API key (a member's)"
_OR_ATTESTER = "the subject's own key, or the key of the record's attester (the counterparty)"
_LENDER = "the lending bank (a financier): the facility's lender"
_FACILITY = ("body.subject", "body.contract_hash")
_LEAD = "the agreement's lead bank"
_REC = (
    "body.record: (subject, data_hash, attester, nonce, deadline, signature) of the record, "
    "as GET /v1/submissions/{id}/proof gives them"
)


def _forward(
    operation: str,
    path: str,
    arguments: tuple[str, ...],
    *,
    signer: str,
    submitted_by: str = _SELF,
    consent: str = "",
    consent_signer: str = "",
) -> WriteDescription:
    return WriteDescription(
        operation=operation,
        method="POST",
        path=path,
        primary_type="ForwardRequest",
        signer=signer,
        submitted_by=submitted_by,
        # The contract and function are the write pipeline's row: described once.
        contract=OPERATIONS[operation].contract,
        function=OPERATIONS[operation].function,
        arguments=arguments,
        consent=consent,
        consent_signer=consent_signer,
    )


RELAYED_WRITES: tuple[WriteDescription, ...] = (
    # -- attestations ---------------------------------------------------------------------
    WriteDescription(
        operation="attestations.attest",
        method="POST",
        path="/v1/attestations",
        primary_type="Attest",
        signer="the attesting member (an attester in good standing)",
        submitted_by=_MEMBER,
        other_paths=("/v1/attestations/batch",),
    ),
    _forward(
        "attestations.revoke",
        "/v1/attestations/{uid}/revoke",
        ("path uid", "body.reason"),
        signer="the attestation's attester, or a regulator",
    ),
    _forward(
        "attestations.replace",
        "/v1/attestations/{uid}/replace",
        (
            "path uid",
            "body.old: (subject, data_hash, ref_uid) the old uid commits to",
            "body.data_hash",
            "body.expiry",
        ),
        signer="the attestation's attester",
    ),
    _forward(
        "attestations.revoke_batch_record",
        "/v1/batch-records/revoke",
        ("body.batch_id", _REC, "body.proof", "body.reason"),
        signer="the record's attester (a signed batch's: the record's signer), or a regulator",
    ),
    _forward(
        "attestations.replace_batch_record",
        "/v1/batch-records/replace",
        ("body.batch_id", _REC, "body.proof", "body.data_hash", "body.expiry"),
        signer="the record's attester (a signed batch's: the record's signer)",
    ),
    # -- consent and the query trail ------------------------------------------------------
    WriteDescription(
        operation="authorisations.create",
        method="POST",
        path="/v1/authorisations",
        primary_type="Authorise",
        signer="the enterprise's bound account",
        submitted_by="the enterprise's own key, or the key of the member it authorises",
    ),
    _forward(
        "authorisations.withdraw",
        "/v1/authorisations/{auth_id}/withdraw",
        ("path auth_id",),
        signer="the enterprise's bound account",
        submitted_by="the enterprise's own key, or the key of the member the authorisation names",
    ),
    _forward(
        "queries.log",
        "/v1/queries",
        (
            "body.auth_id",
            "body.purpose as its code (1..5)",
            "body.query_hash",
            "body.schema as its id (GET /v1/schemas); zero for a full report",
        ),
        signer="the authorised member",
        submitted_by=_MEMBER,
    ),
    _forward(
        "queries.share_report",
        "/v1/queries/{query_id}/report-shares",
        ("path query_id", "body.recipient", "body.ciphertext_hash"),
        signer="the attester sending the report",
        submitted_by=_MEMBER,
    ),
    # -- disputes and complaints ----------------------------------------------------------
    _forward(
        "disputes.raise",
        "/v1/disputes",
        (
            "body.uid",
            "body.fields: (subject, data_hash, ref_uid) the uid commits to",
            "body.reason_hash",
        ),
        signer="the subject enterprise's bound account",
        submitted_by=_OR_ATTESTER,
    ),
    _forward(
        "disputes.raise_batch_record",
        "/v1/disputes/batch-record",
        ("body.batch_id", _REC, "body.proof", "body.reason_hash"),
        signer="the subject enterprise's bound account",
        submitted_by=_OR_ATTESTER,
    ),
    _forward(
        "disputes.reject",
        "/v1/disputes/{dispute_id}/reject",
        ("path dispute_id", "body.reason_hash"),
        signer="the record's attester, or a regulator",
    ),
    _forward(
        "disputes.uphold",
        "/v1/disputes/{dispute_id}/uphold",
        ("path dispute_id", "body.reply_hash"),
        signer="the record's attester, or a regulator",
    ),
    _forward(
        "complaints.file",
        "/v1/complaints",
        ("body.dispute_id", "body.reason_hash"),
        signer="the record's subject enterprise's bound account",
        submitted_by=_OR_ATTESTER,
    ),
    _forward(
        "complaints.resolve",
        "/v1/complaints/{complaint_id}/resolve",
        ("path complaint_id", "body.upheld", "body.reply_hash"),
        signer="a regulator",
    ),
    # -- receivables ----------------------------------------------------------------------
    _forward(
        "receivables.issue",
        "/v1/receivables",
        (
            "body.supplier",
            "body.amount_fen",
            "body.due_date",
            "body.contract_hash",
            "body.invoice_commitments",
        ),
        signer="the debtor (a core enterprise's bound account)",
    ),
    _forward(
        "receivables.settle",
        "/v1/receivables/settlements",
        ("body.ids",),
        signer="the debtor",
    ),
    _forward(
        "receivables.accept",
        "/v1/receivables/{receivable_id}/accept",
        ("path receivable_id",),
        signer="the supplier",
    ),
    _forward(
        "receivables.reject",
        "/v1/receivables/{receivable_id}/reject",
        ("path receivable_id", "body.released_invoices"),
        signer="the supplier",
    ),
    _forward(
        "receivables.split",
        "/v1/receivables/{receivable_id}/split",
        ("path receivable_id", "body.to", "body.amount_fen"),
        signer="the holder",
    ),
    _forward(
        "receivables.transfer",
        "/v1/receivables/{receivable_id}/transfer",
        ("path receivable_id", "body.to"),
        signer="the holder",
    ),
    _forward(
        "receivables.request_financing",
        "/v1/receivables/{receivable_id}/financing-requests",
        (
            "path receivable_id",
            "body.financier",
            "body.min_advance_fen",
            "body.max_discount_bps",
            "body.expires_at",
        ),
        signer="the holder",
        submitted_by="the holder's own key, or the key of the bank it asks (body.financier)",
    ),
    _forward(
        "receivables.withdraw_financing_request",
        "/v1/receivables/{receivable_id}/financing-requests/withdraw",
        ("path receivable_id", "body.financier"),
        signer="the holder",
        submitted_by="the holder's own key, or the key of the bank it asked (body.financier)",
    ),
    _forward(
        "receivables.finance",
        "/v1/receivables/{receivable_id}/finance",
        ("path receivable_id", "body.advance_fen", "body.discount_bps"),
        signer="the bank the holder asked (a financier)",
        submitted_by=_MEMBER,
    ),
    _forward(
        "receivables.release",
        "/v1/receivables/{receivable_id}/release",
        ("path receivable_id",),
        signer="the financing bank",
        submitted_by=_MEMBER,
    ),
    _forward(
        "receivables.mark_overdue",
        "/v1/receivables/{receivable_id}/mark-overdue",
        ("path receivable_id",),
        signer="the part's payee (its holder, or its financier while financed)",
    ),
    # -- lending: the collateral registry ------------------------------------------------
    _forward(
        "collateral.pledge",
        "/v1/collateral/pledges",
        (
            "(body.kind as its code, body.key, body.secured_amount_fen, body.expiry)",
            "body.pledgor",
            "body.consent_deadline",
            "body.consent_signature",
        ),
        signer="the pledgee bank (a financier)",
        submitted_by=_MEMBER,
        consent="Pledge",
        consent_signer="the pledgor: the enterprise's bound account (body.pledgor)",
    ),
    _forward(
        "collateral.amend",
        "/v1/collateral/pledges/{pledge_id}/amend",
        ("path pledge_id", "body.secured_amount_fen", "body.expiry"),
        signer="the pledge's pledgee",
        submitted_by=_MEMBER,
    ),
    _forward(
        "collateral.release",
        "/v1/collateral/pledges/{pledge_id}/release",
        ("path pledge_id",),
        signer="the pledge's pledgee",
        submitted_by=_MEMBER,
    ),
    # -- lending: credit facilities ---------------------------------------------------------
    _forward(
        "facilities.register",
        "/v1/facilities",
        (
            *_FACILITY,
            "body.kind as its code: 1 loan, 2 guarantee, 3 bill_acceptance, "
            "4 letter_of_credit, 5 factoring",
            "body.limit_fen",
            "body.expiry",
            "body.pledge_ids",
        ),
        signer=_LENDER,
        submitted_by=_MEMBER,
    ),
    _forward(
        "facilities.draw",
        "/v1/facilities/draw",
        (*_FACILITY, "body.amount_fen"),
        signer=_LENDER,
        submitted_by=_MEMBER,
    ),
    _forward(
        "facilities.repay",
        "/v1/facilities/repay",
        (*_FACILITY, "body.amount_fen"),
        signer=_LENDER,
        submitted_by=_MEMBER,
    ),
    _forward(
        "facilities.amend",
        "/v1/facilities/amend",
        (*_FACILITY, "body.limit_fen", "body.expiry"),
        signer=_LENDER,
        submitted_by=_MEMBER,
    ),
    _forward(
        "facilities.close",
        "/v1/facilities/close",
        _FACILITY,
        signer=_LENDER,
        submitted_by=_MEMBER,
    ),
    _forward(
        "facilities.report_overdue",
        "/v1/facilities/overdue",
        (*_FACILITY, "body.amount_fen", "body.days_overdue"),
        signer=_LENDER,
        submitted_by=_MEMBER,
    ),
    # -- lending: joint credit agreements ---------------------------------------------------
    _forward(
        "agreements.propose",
        "/v1/agreements",
        ("body.subject", "body.joint_limit_fen", "body.participants", "body.shares_bps"),
        signer="the lead bank (one of the participants)",
        submitted_by=_MEMBER,
    ),
    _forward(
        "agreements.join",
        "/v1/agreements/{agreement}/join",
        ("path agreement",),
        signer="a participant bank",
        submitted_by=_MEMBER,
    ),
    _forward(
        "agreements.accept",
        "/v1/agreements/{agreement}/accept",
        ("path agreement", "body.consent_deadline", "body.consent_signature"),
        signer="any member relaying the enterprise's acceptance (the lead bank, usually)",
        submitted_by=_MEMBER,
        consent="AcceptAgreement",
        consent_signer="the enterprise's bound account",
    ),
    _forward(
        "agreements.clear_flag",
        "/v1/agreements/{agreement}/clear-flag",
        ("path agreement",),
        signer=_LEAD,
        submitted_by=_MEMBER,
    ),
    _forward(
        "agreements.end",
        "/v1/agreements/{agreement}/end",
        ("path agreement",),
        signer=_LEAD,
        submitted_by=_MEMBER,
    ),
    # -- onboarding: the regulator's (and the registrar's) signed writes --------------------
    _forward(
        "members.admit",
        "/v1/members",
        (
            "body.account",
            "body.name",
            "body.city: the city's number in Common.sol (CITY_SHANGHAI ... CITY_JIAXING)",
            "body.roles: the role bits OR-ed together (attester 1, financier 2, registrar 4, "
            "auditor 8, regulator 16, relayer 32)",
        ),
        signer="a regulator",
    ),
    _forward(
        "members.suspend",
        "/v1/members/{account}/suspension",
        ("path account", "body.reason (zero if left out)"),
        signer="a regulator",
    ),
    _forward(
        "members.reinstate",
        "/v1/members/{account}/reinstatement",
        ("path account",),
        signer="a regulator",
    ),
    _forward(
        "members.set_roles",
        "/v1/members/{account}/roles",
        ("path account", "body.roles: the role bits OR-ed together, as for members.admit"),
        signer="a regulator",
    ),
    _forward(
        "enterprises.bind",
        "/v1/enterprises",
        ("body.account", "body.subject"),
        signer="a registrar",
    ),
    _forward(
        "enterprises.rebind",
        "/v1/enterprises/{subject}/rebinding",
        ("path subject", "body.account"),
        signer="a registrar",
    ),
)
