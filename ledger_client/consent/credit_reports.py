"""Encrypted cross-region sharing of credit reports, tied to the on-chain query trail.

A bank in one city queries an enterprise under its authorisation
(``logQuery``); the bureau in another city that holds the record answers it
off chain. The bureau seals the report to the bank's X25519 key as published
in the consortium contract (:mod:`ledger_client.consent.sharing`), sends the envelope
off chain, and records only the envelope's hash and the recipient on chain,
against the query (``recordReportShare``). The bank then checks, in order:

1. the envelope's hash is recorded on chain for this query (else
   :class:`ReportNotRecorded`: altered in transit, or never recorded);
2. the query was made by the bank itself (:class:`ReportNotForRecipient`);
3. the attestation the report claims to be commits to the fields given, and is
   about the enterprise the query was authorised for
   (:class:`ReportAttestationMismatch`, :class:`ReportSubjectMismatch`);
4. the envelope opens with the bank's key under this query's context
   (:class:`~ledger_client.consent.sharing.ReportWrongKey`,
   :class:`~ledger_client.consent.sharing.ReportTampered`);
5. keccak256 of the report is the attestation's dataHash
   (:class:`~ledger_client.consent.sharing.ReportContentMismatch`).

Each failure is a named :class:`~ledger_client.consent.sharing.SharingError`; no
unauthenticated byte is ever returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from ledger_client.addresses import to_checksum_address
from ledger_client.consent.sharing import (
    EncryptionKeyPair,
    SealedReport,
    SharingError,
    open_report,
    seal_report,
)
from ledger_client.contracts.base import TxResult
from ledger_client.deployment import Ledger
from ledger_client.types import AttestationFields, Authorisation, Hash32, Validity

__all__ = [
    "ReceivedReport",
    "RecipientKeyMissing",
    "ReportAttestationMismatch",
    "ReportNotForRecipient",
    "ReportNotRecorded",
    "ReportSubjectMismatch",
    "SharedReport",
    "receive_report",
    "report_context",
    "share_report",
]


class RecipientKeyMissing(SharingError):
    """The recipient is not a member, or has published no encryption key to seal to."""

    def __init__(self, recipient: str) -> None:
        self.recipient = recipient
        super().__init__(f"{recipient} has published no encryption key in the consortium")


class ReportNotRecorded(SharingError):
    """No share of this envelope is recorded on chain for this query."""

    def __init__(self, query_id: bytes, ciphertext_hash: bytes) -> None:
        self.query_id = query_id
        self.ciphertext_hash = ciphertext_hash
        super().__init__(
            f"no report with ciphertext hash 0x{ciphertext_hash.hex()} is recorded for query "
            f"0x{query_id.hex()}: the envelope was altered in transit, or never recorded"
        )


class ReportNotForRecipient(SharingError):
    """The query the report answers was made by another member."""

    def __init__(self, query_id: bytes, recipient: str, member: str) -> None:
        self.query_id = query_id
        self.recipient = recipient
        self.member = member
        super().__init__(f"query 0x{query_id.hex()} was made by {member}, not by {recipient}")


class ReportAttestationMismatch(SharingError):
    """The attestation named is not one that commits to the fields given."""

    def __init__(self, uid: bytes) -> None:
        self.uid = uid
        super().__init__(f"attestation 0x{uid.hex()} does not commit to the fields given")


class ReportSubjectMismatch(SharingError):
    """The report is about another enterprise than the one the query was authorised for."""

    def __init__(self, uid: bytes, subject: bytes, authorised: bytes) -> None:
        self.uid = uid
        self.subject = subject
        self.authorised = authorised
        super().__init__(
            f"attestation 0x{uid.hex()} is about subject 0x{subject.hex()}, but the query was "
            f"authorised for 0x{authorised.hex()}"
        )


@dataclass(frozen=True)
class SharedReport:
    """What the sender has after sharing: the envelope to send, and the chain's record."""

    query_id: Hash32
    sender: ChecksumAddress
    recipient: ChecksumAddress
    sealed: SealedReport  # to send off chain (``sealed.to_bytes()``)
    tx: TxResult  # the recordReportShare transaction


@dataclass(frozen=True)
class ReceivedReport:
    """A report opened and checked against the chain."""

    report: bytes  # the plaintext: the canonical JSON of the attested record
    query_id: Hash32
    uid: Hash32  # the attestation it is
    sender: ChecksumAddress  # the member that recorded the share
    shared_at: int  # UNIX seconds
    authorisation: Authorisation  # the authorisation the query was made under
    validity: Validity  # the attestation's validity now (DISPUTED is worth a look)


def report_context(ledger: Ledger, query_id: bytes, sender: str, recipient: str) -> bytes:
    """The associated data an envelope is sealed under: chain, contract, query, both members.

    An envelope therefore opens only for the query, sender and recipient it was
    sealed for, on this deployment.
    """
    return abi_encode(
        ["uint256", "address", "bytes32", "address", "address"],
        [
            ledger.chain.chain_id,
            ledger.authorisations.address,
            bytes(query_id),
            to_checksum_address(sender),
            to_checksum_address(recipient),
        ],
    )


def share_report(
    ledger: Ledger,
    sender: LocalAccount,
    query_id: bytes,
    recipient: str,
    report: bytes,
) -> SharedReport:
    """Seal ``report`` to ``recipient``'s published key and record the share on chain.

    Raises :class:`RecipientKeyMissing` before anything is sent when the
    recipient has no key; the contract's refusals (the query unknown, the
    recipient not the querier, the authorisation withdrawn or lapsed, ...)
    arrive as their named errors.
    """
    member = ledger.consortium.member(recipient)
    if member is None or not member.encryption_key:
        raise RecipientKeyMissing(to_checksum_address(recipient))
    context = report_context(ledger, query_id, sender.address, member.account)
    sealed = seal_report(report, member.encryption_key, context=context)
    tx = ledger.authorisations.record_report_share(
        sender, query_id, member.account, sealed.ciphertext_hash
    )
    return SharedReport(Hash32(bytes(query_id)), sender.address, member.account, sealed, tx)


def receive_report(
    ledger: Ledger,
    recipient: str,
    keys: EncryptionKeyPair,
    *,
    query_id: bytes,
    sealed: SealedReport,
    uid: bytes,
    fields: AttestationFields,
) -> ReceivedReport:
    """Check a received envelope against the chain, open it, and check the report.

    ``uid`` and ``fields`` name the attestation the sender says the report is
    (sent along with the envelope). See the module docstring for the checks and
    the error each failure raises.
    """
    ciphertext_hash = sealed.ciphertext_hash
    share = ledger.authorisations.report_share(query_id, ciphertext_hash)
    if share is None:
        raise ReportNotRecorded(bytes(query_id), ciphertext_hash)
    auth_id = ledger.authorisations.query_authorisation(query_id)
    authorisation = ledger.authorisations.authorisation(auth_id) if auth_id else None
    if authorisation is None:  # a recorded share always has its query: defensive
        raise ReportNotRecorded(bytes(query_id), ciphertext_hash)
    me = to_checksum_address(recipient)
    if authorisation.member != me:
        raise ReportNotForRecipient(bytes(query_id), me, authorisation.member)
    if not ledger.attestations.matches(uid, fields):
        raise ReportAttestationMismatch(bytes(uid))
    if bytes(fields.subject) != bytes(authorisation.subject):
        raise ReportSubjectMismatch(bytes(uid), bytes(fields.subject), authorisation.subject)
    report = open_report(
        sealed,
        keys,
        context=report_context(ledger, query_id, share.sender, me),
        expected_hash=ciphertext_hash,
        expected_plaintext_hash=bytes(fields.data_hash),
    )
    return ReceivedReport(
        report=report,
        query_id=Hash32(bytes(query_id)),
        uid=Hash32(bytes(uid)),
        sender=share.sender,
        shared_at=share.shared_at,
        authorisation=authorisation,
        validity=ledger.attestations.validity(uid),
    )
