"""The write pipeline as one table: every write the API relays, described once.

Each row (:class:`Operation`) says, for one write:

- its **name** (``receivables.finance``), as submissions report it;
- the **contract and function** it calls;
- its **codec**: from the domain request (one of the frozen dataclasses below) to the call's
  calldata, built by the contract's typed facade (``ledger.receivables.finance_call``);
- **what it made** (:class:`Made`): the event argument the worker reads from the receipt
  and reports under a name (a dispute's ``dispute_id``, a new part's ``receivable_id``);
- **who may submit** it (:class:`Submitters`): the signer's own key always; besides, the key
  of a member the write names as its counterparty, or only a key whose member holds a role;
- for a write that carries another party's signed **consent** (a pledgor's ``Pledge``, an
  enterprise's ``AcceptAgreement``), how the intake checks that signature before journaling.

The intake (:mod:`pipeline.intake`) checks and journals a write against its row; the worker
(:mod:`pipeline.worker`) relays it from the same row. A new relayed write is one row here,
its facade's ``*_call`` method, and its route.

How a write is relayed (``relayed_as``): ``forward``, the signer's EIP-712 ForwardRequest
of the call, executed by the Forwarder (the journal keeps the signed request); or, for the
writes with a signature scheme of their own, ``authorise`` (``authoriseBySig``) and
``attestation`` (``attestBySig``, or a signed batch), whose journal payload
:class:`Journaled` reads back into the domain request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ledger_client import Ledger, Role
from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.contracts.attestations import BatchRecordRef
from ledger_client.contracts.authorisations import AuthorisationRequest, SignedAuthorisation
from ledger_client.contracts.base import Call
from ledger_client.errors.contract import (
    CollateralWrongSigner,
    JointAgreementUnknown,
    JointAgreementWrongSigner,
)
from ledger_client.identity.eip712 import SignatureError
from ledger_client.lending.collateral import SignedPledge
from ledger_client.lending.facilities import FacilityKind, SignedAcceptance
from ledger_client.types import AttestationFields, BatchEntry, QueryPurpose, SubjectId

from .errors import NotFound

R = TypeVar("R")


# -- the columns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    """What a write made, read from its receipt: ``event``'s argument ``arg``, reported under
    ``key`` in the submission's result."""

    event: str
    arg: str
    key: str


@dataclass(frozen=True)
class Submitters(Generic[R]):
    """Who may hand a signed write to the API.

    The key of the signing account, always. ``counterparty`` names the member whose key may
    also hand in an enterprise's write (the member it authorises, the attester of a disputed
    record, the bank asked to finance); ``role`` restricts the write to keys whose own member
    holds that role in good standing (the regulator's onboarding), refused by the
    Consortium's own error (``ConsortiumUnauthorized``) otherwise.
    """

    counterparty: Callable[[Ledger, R], str | None] | None = None
    role: Role | None = None


@dataclass(frozen=True)
class Journaled(Generic[R]):
    """How a write not relayed as a ForwardRequest is kept in the journal and read back."""

    dump: Callable[[R], dict[str, Any]]
    load: Callable[[dict[str, Any]], R]


def _nothing(_: Any) -> str:
    return ""


@dataclass(frozen=True)
class Operation(Generic[R]):
    """One relayed write: a row of :data:`OPERATIONS`."""

    name: str  # e.g. receivables.finance
    contract: str  # the contract's name in the deployment, e.g. Receivables
    function: str  # the Solidity function the calldata calls, e.g. finance
    request: type[R]  # the domain request the route builds
    encode: Callable[[Ledger, R], Call]  # the codec: domain request -> calldata
    made: Made | None = None
    submitters: Submitters[R] = field(default_factory=Submitters)
    acts_on: Callable[[R], str] = _nothing  # what it acts on, for idempotency and visibility
    relayed_as: str = "forward"  # forward, authorise or attestation
    journaled: Journaled[R] | None = None  # None: the journal keeps the signed ForwardRequest
    # The signed consent of another party the call carries, checked at intake; refuses a
    # forgery with the contract's own named error (None: the write carries none).
    consent: Callable[[Ledger, R], None] | None = None

    def call(self, ledger: Ledger, request: R) -> Call:
        """The call ``request`` stands for; refuses a request of another row, and a codec
        that calls another function than the row names."""
        if not isinstance(request, self.request):
            raise TypeError(f"{self.name} takes a {self.request.__name__}, not {request!r}")
        call = self.encode(ledger, request)
        if call.function != self.function:
            raise TypeError(f"{self.name} encodes {call.function}, not {self.function}")
        return call


# -- the domain requests ------------------------------------------------------------------------


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


@dataclass(frozen=True)
class RevokeAttestation:
    uid: bytes
    reason: bytes


@dataclass(frozen=True)
class ReplaceAttestation:
    uid: bytes
    old: AttestationFields
    data_hash: bytes
    expiry: int


@dataclass(frozen=True)
class BatchRecordTarget:
    """A record of a batch, named by its ingredients and proof, as the chain resolved it."""

    batch_id: bytes
    entry: BatchEntry
    proof: Sequence[bytes]
    ref: BatchRecordRef


@dataclass(frozen=True)
class RevokeBatchRecord:
    target: BatchRecordTarget
    reason: bytes


@dataclass(frozen=True)
class ReplaceBatchRecord:
    target: BatchRecordTarget
    data_hash: bytes
    expiry: int


@dataclass(frozen=True)
class WithdrawAuthorisation:
    auth_id: bytes


@dataclass(frozen=True)
class LogQuery:
    auth_id: bytes
    purpose: QueryPurpose
    query_hash: bytes
    schema: bytes  # zero: a full report


@dataclass(frozen=True)
class ShareReport:
    query_id: bytes
    recipient: str
    ciphertext_hash: bytes


@dataclass(frozen=True)
class RaiseDispute:
    uid: bytes
    fields: AttestationFields
    reason_hash: bytes


@dataclass(frozen=True)
class RaiseBatchRecordDispute:
    target: BatchRecordTarget
    reason_hash: bytes


@dataclass(frozen=True)
class AnswerDispute:
    """A dispute's rejection (the reason) or upholding (the reply)."""

    dispute_id: int
    answer_hash: bytes


@dataclass(frozen=True)
class FileComplaint:
    dispute_id: int
    reason_hash: bytes


@dataclass(frozen=True)
class ResolveComplaint:
    complaint_id: int
    upheld: bool
    reply_hash: bytes


@dataclass(frozen=True)
class IssueReceivable:
    supplier: str
    amount_fen: int
    due_date: int
    contract_hash: bytes
    invoice_commitments: Sequence[bytes]


@dataclass(frozen=True)
class SettleReceivables:
    ids: Sequence[bytes]


@dataclass(frozen=True)
class OnReceivable:
    """A write that names only the part it acts on (accept, release, mark overdue)."""

    receivable_id: bytes


@dataclass(frozen=True)
class RejectReceivable:
    receivable_id: bytes
    released_invoices: Sequence[bytes]


@dataclass(frozen=True)
class SplitReceivable:
    receivable_id: bytes
    to: str
    amount_fen: int


@dataclass(frozen=True)
class TransferReceivable:
    receivable_id: bytes
    to: str


@dataclass(frozen=True)
class RequestFinancing:
    receivable_id: bytes
    financier: str
    min_advance_fen: int
    max_discount_bps: int
    expires_at: int


@dataclass(frozen=True)
class WithdrawFinancingRequest:
    receivable_id: bytes
    financier: str


@dataclass(frozen=True)
class FinanceReceivable:
    receivable_id: bytes
    advance_fen: int
    discount_bps: int


@dataclass(frozen=True)
class AdmitMember:
    account: str
    name: str
    city: int
    roles: Role


@dataclass(frozen=True)
class SuspendMember:
    account: str
    reason: bytes


@dataclass(frozen=True)
class ReinstateMember:
    account: str


@dataclass(frozen=True)
class SetRoles:
    account: str
    roles: Role


@dataclass(frozen=True)
class BindEnterprise:
    account: str
    subject: SubjectId


@dataclass(frozen=True)
class RebindEnterprise:
    subject: SubjectId
    account: str  # the enterprise's new account


@dataclass(frozen=True)
class AmendPledge:
    pledge_id: bytes
    secured_amount_fen: int
    expiry: int


@dataclass(frozen=True)
class OnPledge:
    """A write that names only the pledge it acts on (release)."""

    pledge_id: bytes


@dataclass(frozen=True)
class RegisterFacility:
    subject: SubjectId
    contract_hash: bytes
    kind: FacilityKind
    limit_fen: int
    expiry: int
    pledge_ids: Sequence[bytes]


@dataclass(frozen=True)
class OnFacility:
    """A write on the signing lender's facility to ``subject`` under ``contract_hash``
    (close; with an amount, draw and repay)."""

    subject: SubjectId
    contract_hash: bytes
    amount_fen: int = 0


@dataclass(frozen=True)
class AmendFacility:
    subject: SubjectId
    contract_hash: bytes
    limit_fen: int
    expiry: int


@dataclass(frozen=True)
class ReportOverdue:
    subject: SubjectId
    contract_hash: bytes
    amount_fen: int
    days_overdue: int


@dataclass(frozen=True)
class ProposeAgreement:
    subject: SubjectId
    joint_limit_fen: int
    participants: Sequence[str]
    shares_bps: Sequence[int]


@dataclass(frozen=True)
class OnAgreement:
    """A write that names only the joint agreement it acts on (join, clear flag, end)."""

    agreement: int


# -- counterparties: the member an enterprise's write names ------------------------------------


def _attester_of_attestation(ledger: Ledger, r: RaiseDispute) -> str:
    info = ledger.attestations.attestation(r.uid)
    if info is None:
        raise NotFound(f"no attestation {_hex(r.uid)}", uid=_hex(r.uid))
    return info.attester


def _attester_of_dispute(ledger: Ledger, r: FileComplaint) -> str:
    found = ledger.disputes.dispute(r.dispute_id)
    if found is None:
        raise NotFound(f"no dispute {r.dispute_id}", dispute_id=r.dispute_id)
    return found.attester


def _member_authorised(ledger: Ledger, r: WithdrawAuthorisation) -> str:
    found = ledger.authorisations.authorisation(r.auth_id)
    if found is None:
        raise NotFound(f"no authorisation {_hex(r.auth_id)}", auth_id=_hex(r.auth_id))
    return found.member


# -- the journal payload of a signed authorisation and a signed record -------------------------


def authorisation_payload(signed: SignedAuthorisation) -> dict[str, Any]:
    """The journal's JSON of an enterprise's signed authorisation."""
    r = signed.request
    return {
        "member": r.member,
        "purpose": int(r.purpose),
        "expiry": r.expiry,
        "schemas": [_hex(s) for s in r.schemas],
        "enterprise": signed.enterprise,
        "nonce": str(signed.nonce),
        "deadline": signed.deadline,
        "signature": _hex(signed.signature),
    }


def signed_authorisation(payload: dict[str, Any]) -> SignedAuthorisation:
    """The signed authorisation :func:`authorisation_payload` journaled."""
    return SignedAuthorisation(
        AuthorisationRequest(
            member=to_checksum_address(payload["member"]),
            purpose=QueryPurpose(int(payload["purpose"])),
            expiry=int(payload["expiry"]),
            schemas=tuple(bytes.fromhex(s[2:]) for s in payload["schemas"]),
        ),
        enterprise=to_checksum_address(payload["enterprise"]),
        nonce=int(payload["nonce"]),
        deadline=int(payload["deadline"]),
        signature=bytes.fromhex(payload["signature"][2:]),
    )


# -- consents: another party's signature a call carries -----------------------------------------

_NO_SIGNER = "0x" + "00" * 20


def _pledgor_consented(ledger: Ledger, r: SignedPledge) -> None:
    """Refuse a pledge whose consent the named pledgor did not sign, as the registry would."""
    try:
        recovered = ledger.collateral.recover_pledge_signer(r)
    except SignatureError:
        recovered = _NO_SIGNER
    if to_checksum_address(recovered) != to_checksum_address(r.pledgor):
        raise CollateralWrongSigner(
            pledgor=to_checksum_address(r.pledgor), signer=to_checksum_address(recovered)
        )


def _enterprise_accepted(ledger: Ledger, r: SignedAcceptance) -> None:
    """Refuse an acceptance the agreement's enterprise did not sign, as the contract would."""
    terms = ledger.facilities.agreement(r.agreement)
    if terms is None:
        raise JointAgreementUnknown(agreement=r.agreement)
    enterprise = ledger.consortium.account_of(terms.subject) or _NO_SIGNER
    try:
        recovered = ledger.facilities.recover_acceptance_signer(r, terms)
    except SignatureError:
        recovered = _NO_SIGNER
    if to_checksum_address(recovered) != to_checksum_address(enterprise):
        raise JointAgreementWrongSigner(
            enterprise=to_checksum_address(enterprise), signer=to_checksum_address(recovered)
        )


def _by_receivable(r: Any) -> str:
    return _hex(r.receivable_id)


def _by_batch_record(r: Any) -> str:
    return _hex(r.target.ref.record_id)


def _by_facility(r: Any) -> str:
    # The lender is the signer: with it, subject and contract hash make the facility's id.
    return f"{_hex(r.subject)}:{_hex(r.contract_hash)}"


# -- the table ------------------------------------------------------------------------------------

_ROWS: tuple[Operation[Any], ...] = (
    # attestations
    Operation(
        "attestations.attest",
        "Attestations",
        "attestBySig",
        SignedRecord,
        lambda ledger, r: ledger.attestations.signed_record_call(r),
        made=Made("Attested", "uid", "uid"),
        relayed_as="attestation",
        journaled=Journaled(SignedRecord.to_dict, SignedRecord.from_dict),
    ),
    Operation(
        "attestations.revoke",
        "Attestations",
        "revoke",
        RevokeAttestation,
        lambda ledger, r: ledger.attestations.revoke_call(r.uid, r.reason),
        acts_on=lambda r: _hex(r.uid),
    ),
    Operation(
        "attestations.replace",
        "Attestations",
        "replace",
        ReplaceAttestation,
        lambda ledger, r: ledger.attestations.replace_call(r.uid, r.old, r.data_hash, r.expiry),
        made=Made("Attested", "uid", "uid"),
        acts_on=lambda r: _hex(r.uid),
    ),
    Operation(
        "attestations.revoke_batch_record",
        "Attestations",
        "revokeBatchRecord",
        RevokeBatchRecord,
        lambda ledger, r: ledger.attestations.revoke_batch_record_call(
            r.target.batch_id, r.target.entry, r.target.proof, r.reason
        ),
        acts_on=_by_batch_record,
    ),
    Operation(
        "attestations.replace_batch_record",
        "Attestations",
        "replaceBatchRecord",
        ReplaceBatchRecord,
        lambda ledger, r: ledger.attestations.replace_batch_record_call(
            r.target.batch_id, r.target.entry, r.target.proof, r.data_hash, r.expiry
        ),
        made=Made("Attested", "uid", "uid"),
        acts_on=_by_batch_record,
    ),
    # authorisations and the query trail
    Operation(
        "authorisations.create",
        "Authorisations",
        "authoriseBySig",
        SignedAuthorisation,
        lambda ledger, r: ledger.authorisations.authorise_by_sig_call(r),
        made=Made("Authorised", "authId", "auth_id"),
        submitters=Submitters(counterparty=lambda _, r: r.request.member),
        relayed_as="authorise",
        journaled=Journaled(authorisation_payload, signed_authorisation),
    ),
    Operation(
        "authorisations.withdraw",
        "Authorisations",
        "withdraw",
        WithdrawAuthorisation,
        lambda ledger, r: ledger.authorisations.withdraw_call(r.auth_id),
        submitters=Submitters(counterparty=_member_authorised),
        acts_on=lambda r: _hex(r.auth_id),
    ),
    Operation(
        "queries.log",
        "Authorisations",
        "logQuery",
        LogQuery,
        lambda ledger, r: ledger.authorisations.log_query_call(
            r.auth_id, r.purpose, r.query_hash, r.schema
        ),
        made=Made("QueryLogged", "queryId", "query_id"),
    ),
    Operation(
        "queries.share_report",
        "Authorisations",
        "recordReportShare",
        ShareReport,
        lambda ledger, r: ledger.authorisations.record_report_share_call(
            r.query_id, r.recipient, r.ciphertext_hash
        ),
        acts_on=lambda r: _hex(r.query_id),
    ),
    # disputes and complaints
    Operation(
        "disputes.raise",
        "Disputes",
        "raiseDispute",
        RaiseDispute,
        lambda ledger, r: ledger.disputes.raise_dispute_call(r.uid, r.fields, r.reason_hash),
        made=Made("DisputeRaised", "disputeId", "dispute_id"),
        submitters=Submitters(counterparty=_attester_of_attestation),
    ),
    Operation(
        "disputes.raise_batch_record",
        "Disputes",
        "raiseBatchRecordDispute",
        RaiseBatchRecordDispute,
        lambda ledger, r: ledger.disputes.raise_batch_record_dispute_call(
            r.target.batch_id, r.target.entry, r.target.proof, r.reason_hash
        ),
        made=Made("DisputeRaised", "disputeId", "dispute_id"),
        submitters=Submitters(counterparty=lambda _, r: r.target.ref.attester),
        acts_on=_by_batch_record,
    ),
    Operation(
        "disputes.reject",
        "Disputes",
        "rejectDispute",
        AnswerDispute,
        lambda ledger, r: ledger.disputes.reject_call(r.dispute_id, r.answer_hash),
        acts_on=lambda r: str(r.dispute_id),
    ),
    Operation(
        "disputes.uphold",
        "Disputes",
        "upholdDispute",
        AnswerDispute,
        lambda ledger, r: ledger.disputes.uphold_call(r.dispute_id, r.answer_hash),
        acts_on=lambda r: str(r.dispute_id),
    ),
    Operation(
        "complaints.file",
        "Disputes",
        "fileComplaint",
        FileComplaint,
        lambda ledger, r: ledger.disputes.file_complaint_call(r.dispute_id, r.reason_hash),
        made=Made("ComplaintFiled", "complaintId", "complaint_id"),
        submitters=Submitters(counterparty=_attester_of_dispute),
    ),
    Operation(
        "complaints.resolve",
        "Disputes",
        "resolveComplaint",
        ResolveComplaint,
        lambda ledger, r: ledger.disputes.resolve_complaint_call(
            r.complaint_id, r.upheld, r.reply_hash
        ),
        acts_on=lambda r: str(r.complaint_id),
    ),
    # receivables
    Operation(
        "receivables.issue",
        "Receivables",
        "issue",
        IssueReceivable,
        lambda ledger, r: ledger.receivables.issue_call(
            r.supplier,
            r.amount_fen,
            r.due_date,
            contract_hash=r.contract_hash,
            invoice_commitments=r.invoice_commitments,
        ),
        made=Made("ReceivableIssued", "id", "receivable_id"),
    ),
    Operation(
        "receivables.settle",
        "Receivables",
        "settle",
        SettleReceivables,
        lambda ledger, r: ledger.receivables.settle_call(r.ids),
    ),
    Operation(
        "receivables.accept",
        "Receivables",
        "accept",
        OnReceivable,
        lambda ledger, r: ledger.receivables.accept_call(r.receivable_id),
        acts_on=_by_receivable,
    ),
    Operation(
        "receivables.reject",
        "Receivables",
        "reject",
        RejectReceivable,
        lambda ledger, r: ledger.receivables.reject_call(r.receivable_id, r.released_invoices),
        acts_on=_by_receivable,
    ),
    Operation(
        "receivables.split",
        "Receivables",
        "split",
        SplitReceivable,
        lambda ledger, r: ledger.receivables.split_call(r.receivable_id, r.to, r.amount_fen),
        made=Made("ReceivableSplit", "child", "receivable_id"),
        acts_on=_by_receivable,
    ),
    Operation(
        "receivables.transfer",
        "Receivables",
        "transfer",
        TransferReceivable,
        lambda ledger, r: ledger.receivables.transfer_call(r.receivable_id, r.to),
        acts_on=_by_receivable,
    ),
    Operation(
        "receivables.request_financing",
        "Receivables",
        "requestFinancing",
        RequestFinancing,
        lambda ledger, r: ledger.receivables.request_financing_call(
            r.receivable_id,
            r.financier,
            min_advance_fen=r.min_advance_fen,
            max_discount_bps=r.max_discount_bps,
            expires_at=r.expires_at,
        ),
        submitters=Submitters(counterparty=lambda _, r: r.financier),
        acts_on=_by_receivable,
    ),
    Operation(
        "receivables.withdraw_financing_request",
        "Receivables",
        "withdrawFinancingRequest",
        WithdrawFinancingRequest,
        lambda ledger, r: ledger.receivables.withdraw_financing_request_call(
            r.receivable_id, r.financier
        ),
        submitters=Submitters(counterparty=lambda _, r: r.financier),
        acts_on=_by_receivable,
    ),
    Operation(
        "receivables.finance",
        "Receivables",
        "finance",
        FinanceReceivable,
        lambda ledger, r: ledger.receivables.finance_call(
            r.receivable_id, r.advance_fen, r.discount_bps
        ),
        acts_on=_by_receivable,
    ),
    Operation(
        "receivables.release",
        "Receivables",
        "releaseFinancing",
        OnReceivable,
        lambda ledger, r: ledger.receivables.release_financing_call(r.receivable_id),
        acts_on=_by_receivable,
    ),
    Operation(
        "receivables.mark_overdue",
        "Receivables",
        "markOverdue",
        OnReceivable,
        lambda ledger, r: ledger.receivables.mark_overdue_call(r.receivable_id),
        made=Made("ReceivableMarkedOverdue", "attestation", "attestation"),
        acts_on=_by_receivable,
    ),
    # lending: the collateral registry (every write the pledgee bank's own)
    Operation(
        "collateral.pledge",
        "CollateralRegistry",
        "pledge",
        SignedPledge,
        lambda ledger, r: ledger.collateral.pledge_call(r),
        made=Made("CollateralPledged", "pledgeId", "pledge_id"),
        acts_on=lambda r: _hex(r.pledge_id),
        consent=_pledgor_consented,
    ),
    Operation(
        "collateral.amend",
        "CollateralRegistry",
        "amend",
        AmendPledge,
        lambda ledger, r: ledger.collateral.amend_call(r.pledge_id, r.secured_amount_fen, r.expiry),
        acts_on=lambda r: _hex(r.pledge_id),
    ),
    Operation(
        "collateral.release",
        "CollateralRegistry",
        "release",
        OnPledge,
        lambda ledger, r: ledger.collateral.release_call(r.pledge_id),
        acts_on=lambda r: _hex(r.pledge_id),
    ),
    # lending: credit facilities (the lender's own) and joint agreements (the banks')
    Operation(
        "facilities.register",
        "CreditFacilities",
        "registerFacility",
        RegisterFacility,
        lambda ledger, r: ledger.facilities.register_facility_call(
            r.subject,
            r.contract_hash,
            kind=r.kind,
            limit=r.limit_fen,
            expiry=r.expiry,
            pledge_ids=r.pledge_ids,
        ),
        made=Made("FacilityRegistered", "facilityId", "facility_id"),
        acts_on=_by_facility,
    ),
    Operation(
        "facilities.draw",
        "CreditFacilities",
        "draw",
        OnFacility,
        lambda ledger, r: ledger.facilities.draw_call(r.subject, r.contract_hash, r.amount_fen),
        acts_on=_by_facility,
    ),
    Operation(
        "facilities.repay",
        "CreditFacilities",
        "repay",
        OnFacility,
        lambda ledger, r: ledger.facilities.repay_call(r.subject, r.contract_hash, r.amount_fen),
        acts_on=_by_facility,
    ),
    Operation(
        "facilities.amend",
        "CreditFacilities",
        "amend",
        AmendFacility,
        lambda ledger, r: ledger.facilities.amend_call(
            r.subject, r.contract_hash, r.limit_fen, r.expiry
        ),
        acts_on=_by_facility,
    ),
    Operation(
        "facilities.close",
        "CreditFacilities",
        "close",
        OnFacility,
        lambda ledger, r: ledger.facilities.close_call(r.subject, r.contract_hash),
        acts_on=_by_facility,
    ),
    Operation(
        "facilities.report_overdue",
        "CreditFacilities",
        "reportOverdue",
        ReportOverdue,
        lambda ledger, r: ledger.facilities.report_overdue_call(
            r.subject, r.contract_hash, r.amount_fen, r.days_overdue
        ),
        acts_on=_by_facility,
    ),
    Operation(
        "agreements.propose",
        "CreditFacilities",
        "proposeAgreement",
        ProposeAgreement,
        lambda ledger, r: ledger.facilities.propose_agreement_call(
            r.subject, r.joint_limit_fen, r.participants, r.shares_bps
        ),
        made=Made("JointAgreementProposed", "agreement", "agreement"),
        acts_on=lambda r: _hex(r.subject),
    ),
    Operation(
        "agreements.join",
        "CreditFacilities",
        "joinAgreement",
        OnAgreement,
        lambda ledger, r: ledger.facilities.join_agreement_call(r.agreement),
        acts_on=lambda r: str(r.agreement),
    ),
    Operation(
        "agreements.accept",
        "CreditFacilities",
        "acceptAgreementBySig",
        SignedAcceptance,
        lambda ledger, r: ledger.facilities.accept_agreement_call(r),
        made=Made("JointAgreementAccepted", "agreement", "agreement"),
        acts_on=lambda r: str(r.agreement),
        consent=_enterprise_accepted,
    ),
    Operation(
        "agreements.clear_flag",
        "CreditFacilities",
        "clearFlag",
        OnAgreement,
        lambda ledger, r: ledger.facilities.clear_flag_call(r.agreement),
        acts_on=lambda r: str(r.agreement),
    ),
    Operation(
        "agreements.end",
        "CreditFacilities",
        "endAgreement",
        OnAgreement,
        lambda ledger, r: ledger.facilities.end_agreement_call(r.agreement),
        acts_on=lambda r: str(r.agreement),
    ),
    # the consortium: the regulator's onboarding, the registrar's bindings
    Operation(
        "members.admit",
        "Consortium",
        "admitMember",
        AdmitMember,
        lambda ledger, r: ledger.consortium.admit_member_call(r.account, r.name, r.city, r.roles),
        submitters=Submitters(role=Role.REGULATOR),
        acts_on=lambda r: r.account,
    ),
    Operation(
        "members.suspend",
        "Consortium",
        "suspendMember",
        SuspendMember,
        lambda ledger, r: ledger.consortium.suspend_member_call(r.account, r.reason),
        submitters=Submitters(role=Role.REGULATOR),
        acts_on=lambda r: r.account,
    ),
    Operation(
        "members.reinstate",
        "Consortium",
        "reinstateMember",
        ReinstateMember,
        lambda ledger, r: ledger.consortium.reinstate_member_call(r.account),
        submitters=Submitters(role=Role.REGULATOR),
        acts_on=lambda r: r.account,
    ),
    Operation(
        "members.set_roles",
        "Consortium",
        "setRoles",
        SetRoles,
        lambda ledger, r: ledger.consortium.set_roles_call(r.account, r.roles),
        submitters=Submitters(role=Role.REGULATOR),
        acts_on=lambda r: r.account,
    ),
    Operation(
        "enterprises.bind",
        "Consortium",
        "bindEnterprise",
        BindEnterprise,
        lambda ledger, r: ledger.consortium.bind_enterprise_call(r.account, r.subject),
        submitters=Submitters(role=Role.REGISTRAR),
        acts_on=lambda r: r.account,
    ),
    Operation(
        "enterprises.rebind",
        "Consortium",
        "rebindEnterprise",
        RebindEnterprise,
        lambda ledger, r: ledger.consortium.rebind_enterprise_call(r.subject, r.account),
        submitters=Submitters(role=Role.REGISTRAR),
        acts_on=lambda r: _hex(r.subject),
    ),
)

#: Every relayed write by name.
OPERATIONS: dict[str, Operation[Any]] = {op.name: op for op in _ROWS}
