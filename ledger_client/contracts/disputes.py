"""The disputes contract: an enterprise disputes a record about it (异议), and the
attester answers within 20 days (art. 25 of 《征信业管理条例》); after a rejection,
or an overdue silence, the enterprise complains to the regulator (投诉, art. 26).

An enterprise holds no gas: it signs the dispute (EIP-712 ``RaiseDispute``) and
anyone relays it, or it sends it directly. The attester resolves it: rejected
with a reason hash, or upheld after it revoked or replaced the record in the
attestations contract. While open, the record's validity reads ``DISPUTED``,
and ``DISPUTE_OVERDUE`` from the deadline (raised_at + 20 days) on.

A record is disputed once: a re-raise after a rejection is refused
(``DisputesAlreadyAnswered``). The enterprise then files a complaint (EIP-712
``FileComplaint``, relayed, or directly), once per dispute, and a regulator
resolves it: upheld once the record is revoked or replaced, or rejected.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from ledger_client.addresses import to_checksum_address
from ledger_client.contracts.authorisations import DEFAULT_SIGNATURE_LIFETIME
from ledger_client.contracts.base import Call, ContractFacade, TxResult
from ledger_client.identity.eip712 import Domain, recover_typed, sign_typed
from ledger_client.types import (
    DISPUTE_RESOLUTION_PERIOD,
    AttestationFields,
    BatchEntry,
    Complaint,
    ComplaintStatus,
    Dispute,
    DisputeStatus,
    Hash32,
    SubjectId,
)

__all__ = [
    "DISPUTE_RESOLUTION_PERIOD",
    "EIP712_NAME",
    "EIP712_VERSION",
    "FILE_COMPLAINT_TYPES",
    "RAISE_DISPUTE_TYPES",
    "DisputesContract",
    "Filed",
    "Raised",
    "SignedComplaint",
    "SignedDispute",
    "complaint_message",
    "dispute_message",
    "fields_tuple",
]

_ZERO32 = bytes(32)
#: How many dispute ids one ``overdueDisputes`` call scans.
_OVERDUE_PAGE = 500
#: How many complaint ids one ``openComplaints`` call scans.
_COMPLAINT_PAGE = 500
EIP712_NAME = "YRD Credit Disputes"
EIP712_VERSION = "1"
#: EIP-712 ``RaiseDispute``: what an enterprise signs to dispute a record.
RAISE_DISPUTE_TYPES: dict[str, list[dict[str, str]]] = {
    "RaiseDispute": [
        {"name": "uid", "type": "bytes32"},
        {"name": "reasonHash", "type": "bytes32"},
        {"name": "enterprise", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
#: EIP-712 ``FileComplaint``: what an enterprise signs to complain of a dispute's answer.
FILE_COMPLAINT_TYPES: dict[str, list[dict[str, str]]] = {
    "FileComplaint": [
        {"name": "disputeId", "type": "uint256"},
        {"name": "reasonHash", "type": "bytes32"},
        {"name": "enterprise", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class Raised:
    """A raised dispute, mined."""

    dispute_id: int
    tx: TxResult


@dataclass(frozen=True, slots=True)
class SignedDispute:
    """An enterprise's signed dispute, ready to relay."""

    uid: Hash32  # the disputed attestation
    fields: AttestationFields  # what its UID commits to
    reason_hash: Hash32  # keccak256 of the off-chain statement of the dispute
    enterprise: ChecksumAddress  # the subject's bound account that signed
    nonce: int
    deadline: int  # UNIX seconds after which the signature is void
    signature: bytes


@dataclass(frozen=True)
class Filed:
    """A filed complaint, mined."""

    complaint_id: int
    tx: TxResult


@dataclass(frozen=True, slots=True)
class SignedComplaint:
    """An enterprise's signed complaint of a dispute's answer, ready to relay."""

    dispute_id: int  # the dispute complained of
    reason_hash: Hash32  # keccak256 of the off-chain statement of the complaint
    enterprise: ChecksumAddress  # the subject's bound account that signed
    nonce: int  # shares the enterprise's nonces with signed disputes
    deadline: int  # UNIX seconds after which the signature is void
    signature: bytes


class DisputesContract(ContractFacade):
    """Typed calls to ``Disputes.sol``."""

    contract_name: ClassVar[str] = "Disputes"

    # -- EIP-712 --------------------------------------------------------------------
    @property
    def domain(self) -> Domain:
        """The EIP-712 domain of signed disputes on this deployment."""
        return Domain(EIP712_NAME, EIP712_VERSION, self.chain.chain_id, self.address)

    def sign_dispute(
        self,
        enterprise: LocalAccount,
        uid: bytes,
        fields: AttestationFields,
        reason_hash: bytes,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedDispute:
        """The enterprise's signed dispute of ``uid`` (off chain; no gas).

        ``nonce`` defaults to a random 64-bit number, ``deadline`` to an hour
        from the chain's clock.
        """
        nonce = secrets.randbits(64) if nonce is None else nonce
        deadline = self.chain.now() + DEFAULT_SIGNATURE_LIFETIME if deadline is None else deadline
        message = dispute_message(uid, reason_hash, enterprise.address, nonce, deadline)
        signature = sign_typed(
            enterprise, self.domain, RAISE_DISPUTE_TYPES, "RaiseDispute", message
        )
        return SignedDispute(
            Hash32(bytes(uid)),
            fields,
            Hash32(bytes(reason_hash)),
            enterprise.address,
            nonce,
            deadline,
            signature,
        )

    def recover_dispute_signer(self, signed: SignedDispute) -> str:
        """Who signed (``signed.enterprise`` when sound): a check before relaying."""
        message = dispute_message(
            signed.uid, signed.reason_hash, signed.enterprise, signed.nonce, signed.deadline
        )
        return recover_typed(
            signed.signature, self.domain, RAISE_DISPUTE_TYPES, "RaiseDispute", message
        )

    def sign_complaint(
        self,
        enterprise: LocalAccount,
        dispute_id: int,
        reason_hash: bytes,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedComplaint:
        """The enterprise's signed complaint of dispute ``dispute_id`` (off chain; no gas).

        ``nonce`` defaults to a random 64-bit number, ``deadline`` to an hour
        from the chain's clock.
        """
        nonce = secrets.randbits(64) if nonce is None else nonce
        deadline = self.chain.now() + DEFAULT_SIGNATURE_LIFETIME if deadline is None else deadline
        message = complaint_message(dispute_id, reason_hash, enterprise.address, nonce, deadline)
        signature = sign_typed(
            enterprise, self.domain, FILE_COMPLAINT_TYPES, "FileComplaint", message
        )
        return SignedComplaint(
            dispute_id, Hash32(bytes(reason_hash)), enterprise.address, nonce, deadline, signature
        )

    def recover_complaint_signer(self, signed: SignedComplaint) -> str:
        """Who signed (``signed.enterprise`` when sound): a check before relaying."""
        message = complaint_message(
            signed.dispute_id, signed.reason_hash, signed.enterprise, signed.nonce, signed.deadline
        )
        return recover_typed(
            signed.signature, self.domain, FILE_COMPLAINT_TYPES, "FileComplaint", message
        )

    # -- calls, encoded and not sent (what a party signs as a ForwardRequest) --------------
    def raise_dispute_call(self, uid: bytes, fields: AttestationFields, reason_hash: bytes) -> Call:
        """``raiseDispute``: the subject's bound account disputes a record."""
        return self._call("raiseDispute", bytes(uid), fields_tuple(fields), bytes(reason_hash))

    def raise_batch_record_dispute_call(
        self, batch_id: bytes, entry: BatchEntry, proof: Sequence[bytes], reason_hash: bytes
    ) -> Call:
        """``raiseBatchRecordDispute``: the subject's bound account disputes a batch record."""
        return self._call(
            "raiseBatchRecordDispute",
            bytes(batch_id),
            entry.as_tuple(),
            list(proof),
            bytes(reason_hash),
        )

    def reject_call(self, dispute_id: int, reason_hash: bytes) -> Call:
        """``rejectDispute``: the attester or a regulator lets the record stand."""
        return self._call("rejectDispute", dispute_id, bytes(reason_hash))

    def uphold_call(self, dispute_id: int, reply_hash: bytes = _ZERO32) -> Call:
        """``upholdDispute``: the attester or a regulator upholds it."""
        return self._call("upholdDispute", dispute_id, bytes(reply_hash))

    def file_complaint_call(self, dispute_id: int, reason_hash: bytes) -> Call:
        """``fileComplaint``: the subject's bound account complains to the regulator."""
        return self._call("fileComplaint", dispute_id, bytes(reason_hash))

    def resolve_complaint_call(self, complaint_id: int, upheld: bool, reply_hash: bytes) -> Call:
        """``resolveComplaint``: a regulator resolves a complaint."""
        return self._call("resolveComplaint", complaint_id, upheld, bytes(reply_hash))

    # -- writes ---------------------------------------------------------------------
    def raise_dispute(
        self,
        enterprise: LocalAccount,
        uid: bytes,
        fields: AttestationFields,
        reason_hash: bytes,
    ) -> Raised:
        """Dispute a record directly (the subject's bound account pays the gas)."""
        result = self.send_call(enterprise, self.raise_dispute_call(uid, fields, reason_hash))
        return Raised(int(result.event("DisputeRaised").args["disputeId"]), result)

    def relay_dispute(self, relayer: LocalAccount, signed: SignedDispute) -> Raised:
        """Relay a signed dispute (anyone may)."""
        result = self._send(
            relayer,
            "raiseDisputeBySig",
            bytes(signed.uid),
            fields_tuple(signed.fields),
            bytes(signed.reason_hash),
            signed.enterprise,
            signed.nonce,
            signed.deadline,
            signed.signature,
        )
        return Raised(int(result.event("DisputeRaised").args["disputeId"]), result)

    def raise_batch_record_dispute(
        self,
        enterprise: LocalAccount,
        batch_id: bytes,
        entry: BatchEntry,
        proof: Sequence[bytes],
        reason_hash: bytes,
    ) -> Raised:
        """Dispute a record of a batch (the subject's bound account); its uid is the record id."""
        call = self.raise_batch_record_dispute_call(batch_id, entry, proof, reason_hash)
        result = self.send_call(enterprise, call)
        return Raised(int(result.event("DisputeRaised").args["disputeId"]), result)

    def relay_batch_record_dispute(
        self,
        relayer: LocalAccount,
        batch_id: bytes,
        entry: BatchEntry,
        proof: Sequence[bytes],
        signed: SignedDispute,
    ) -> Raised:
        """Relay a signed dispute of a batch record (``signed.uid`` is the record's id)."""
        result = self._send(
            relayer,
            "raiseBatchRecordDisputeBySig",
            bytes(batch_id),
            entry.as_tuple(),
            list(proof),
            bytes(signed.reason_hash),
            signed.enterprise,
            signed.nonce,
            signed.deadline,
            signed.signature,
        )
        return Raised(int(result.event("DisputeRaised").args["disputeId"]), result)

    def reject(self, resolver: LocalAccount, dispute_id: int, reason_hash: bytes) -> TxResult:
        """Reject a dispute: the record stands (its attester, or a regulator)."""
        return self.send_call(resolver, self.reject_call(dispute_id, reason_hash))

    def uphold(
        self, resolver: LocalAccount, dispute_id: int, reply_hash: bytes = _ZERO32
    ) -> TxResult:
        """Uphold a dispute once the record is revoked or replaced (attester or regulator)."""
        return self.send_call(resolver, self.uphold_call(dispute_id, reply_hash))

    def file_complaint(
        self, enterprise: LocalAccount, dispute_id: int, reason_hash: bytes
    ) -> Filed:
        """Complain of a dispute's rejection or overdue silence directly (the subject's bound
        account pays the gas)."""
        result = self.send_call(enterprise, self.file_complaint_call(dispute_id, reason_hash))
        return Filed(int(result.event("ComplaintFiled").args["complaintId"]), result)

    def relay_complaint(self, relayer: LocalAccount, signed: SignedComplaint) -> Filed:
        """Relay a signed complaint (anyone may)."""
        result = self._send(
            relayer,
            "fileComplaintBySig",
            signed.dispute_id,
            bytes(signed.reason_hash),
            signed.enterprise,
            signed.nonce,
            signed.deadline,
            signed.signature,
        )
        return Filed(int(result.event("ComplaintFiled").args["complaintId"]), result)

    def resolve_complaint(
        self, regulator: LocalAccount, complaint_id: int, upheld: bool, reply_hash: bytes
    ) -> TxResult:
        """Resolve a complaint (a regulator only): upheld once the record is revoked or
        replaced, else rejected; an open dispute of it is answered the same way."""
        call = self.resolve_complaint_call(complaint_id, upheld, reply_hash)
        return self.send_call(regulator, call)

    # -- reads ----------------------------------------------------------------------
    def dispute(self, dispute_id: int, block: int | str = "latest") -> Dispute | None:
        """A dispute, or None when there is none with this id."""
        ((uid, attester, deadline, resolved_at, status, complained, subject),) = self._read(
            "dispute", dispute_id, block=block
        )
        if status == DisputeStatus.NONE:
            return None
        return Dispute(
            dispute_id=dispute_id,
            uid=Hash32(uid),
            attester=to_checksum_address(attester),
            deadline=deadline,
            resolved_at=resolved_at,
            status=DisputeStatus(status),
            subject=SubjectId(bytes(subject)),
            complained=bool(complained),
        )

    def open_dispute(self, uid: bytes) -> int | None:
        """The id of the record's open dispute, or None."""
        (dispute_id,) = self._read("openDispute", bytes(uid))
        return int(dispute_id) or None

    def dispute_count(self) -> int:
        """How many disputes were ever raised (ids run 1..count)."""
        (count,) = self._read("disputeCount")
        return int(count)

    def overdue_disputes(
        self, attester: str | None = None, block: int | str = "latest"
    ) -> list[Dispute]:
        """Disputes open past their deadline at ``block``, of one attester or of all.

        The regulator's list (art. 25): read from the chain page by page, so it
        needs no event index.
        """
        who = to_checksum_address(attester) if attester else "0x" + "00" * 20
        (count,) = self._read("disputeCount", block=block)
        out: list[Dispute] = []
        for start in range(1, int(count) + 1, _OVERDUE_PAGE):
            (ids,) = self._read("overdueDisputes", who, start, start + _OVERDUE_PAGE, block=block)
            for dispute_id in ids:
                d = self.dispute(int(dispute_id), block=block)
                if d is not None:
                    out.append(d)
        return out

    def complaint(self, complaint_id: int, block: int | str = "latest") -> Complaint | None:
        """A complaint, or None when there is none with this id."""
        ((dispute_id, filed_at, resolved_at, status),) = self._read(
            "complaint", complaint_id, block=block
        )
        if status == ComplaintStatus.NONE:
            return None
        return Complaint(
            complaint_id=complaint_id,
            dispute_id=int(dispute_id),
            filed_at=int(filed_at),
            resolved_at=int(resolved_at),
            status=ComplaintStatus(status),
        )

    def complaint_count(self) -> int:
        """How many complaints were ever filed (ids run 1..count)."""
        (count,) = self._read("complaintCount")
        return int(count)

    def open_complaints(self, block: int | str = "latest") -> list[Complaint]:
        """Complaints not yet resolved at ``block``: the regulator's list, read from the chain
        page by page."""
        (count,) = self._read("complaintCount", block=block)
        out: list[Complaint] = []
        for start in range(1, int(count) + 1, _COMPLAINT_PAGE):
            (ids,) = self._read("openComplaints", start, start + _COMPLAINT_PAGE, block=block)
            for complaint_id in ids:
                c = self.complaint(int(complaint_id), block=block)
                if c is not None:
                    out.append(c)
        return out

    def nonce_used(self, enterprise: str, nonce: int) -> bool:
        """True when ``enterprise`` has used ``nonce`` for a signed dispute or complaint."""
        (used,) = self._read("nonceUsed", enterprise, nonce)
        return bool(used)


def dispute_message(
    uid: bytes, reason_hash: bytes, enterprise: str, nonce: int, deadline: int
) -> dict[str, Any]:
    """The values of EIP-712 ``RaiseDispute``."""
    return {
        "uid": bytes(uid),
        "reasonHash": bytes(reason_hash),
        "enterprise": to_checksum_address(enterprise),
        "nonce": nonce,
        "deadline": deadline,
    }


def complaint_message(
    dispute_id: int, reason_hash: bytes, enterprise: str, nonce: int, deadline: int
) -> dict[str, Any]:
    """The values of EIP-712 ``FileComplaint``."""
    return {
        "disputeId": dispute_id,
        "reasonHash": bytes(reason_hash),
        "enterprise": to_checksum_address(enterprise),
        "nonce": nonce,
        "deadline": deadline,
    }


def fields_tuple(fields: AttestationFields) -> tuple[bytes, bytes, bytes]:
    """``IAttestations.Fields`` as the ABI encodes it."""
    return (bytes(fields.subject), bytes(fields.data_hash), bytes(fields.ref_uid))
