"""Credit facilities and joint credit agreements (``CreditFacilities.sol``).

A bank records each facility it grants an enterprise, under the hash of the
credit contract; the facility's id is ``keccak256(abi.encode(subject, lender,
contractHash))`` and every write on it is the lender's::

    fid = ledger.facilities.register_facility(
        bank, subject, contract, kind=FacilityKind.LOAN, limit=limit_fen, expiry=expiry,
        pledge_ids=[pledge],
    ).facility_id
    ledger.facilities.draw(bank, subject, contract, amount_fen)

A joint agreement (联合授信) is proposed by a lead bank, joined by each
participant, and accepted by the enterprise's signature; once in force, a
participant's draw that would take the participants' joint exposure past the
joint limit is refused with ``JointLimitExceeded(subject, limit, exposure)``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.base import Call, ContractFacade, TxResult
from ledger_client.errors import LedgerValueError
from ledger_client.identity.eip712 import Domain, recover_typed, sign_typed
from ledger_client.types import Hash32, SubjectId

__all__ = [
    "ACCEPT_TYPES",
    "EIP712_NAME",
    "EIP712_VERSION",
    "AgreementStatus",
    "CreditFacilitiesContract",
    "Exposure",
    "Facility",
    "FacilityKind",
    "FacilityStatus",
    "FacilityTx",
    "JointAgreement",
    "SignedAcceptance",
    "accept_message",
    "facility_id",
]

EIP712_NAME = "YRD Credit Facilities"
EIP712_VERSION = "1"
_SIGNATURE_LIFETIME = 3_600
_ZERO32 = bytes(32)
#: EIP-712 ``AcceptAgreement``: what an enterprise signs to accept a joint agreement.
ACCEPT_TYPES: dict[str, list[dict[str, str]]] = {
    "AcceptAgreement": [
        {"name": "agreement", "type": "uint32"},
        {"name": "subject", "type": "bytes32"},
        {"name": "lead", "type": "address"},
        {"name": "jointLimit", "type": "uint64"},
        {"name": "deadline", "type": "uint256"},
    ]
}


class FacilityKind(enum.IntEnum):
    """Kinds of credit facility (``ICreditFacilities.FacilityKind``)."""

    LOAN = 1  # 贷款
    GUARANTEE = 2  # 保函
    BILL_ACCEPTANCE = 3  # 银行承兑汇票
    LETTER_OF_CREDIT = 4  # 信用证
    FACTORING = 5  # 保理

    @classmethod
    def parse(cls, value: FacilityKind | int | str) -> FacilityKind:
        """A kind from itself, its code or its name (``"bill-acceptance"``)."""
        try:
            if isinstance(value, str):
                return cls[value.strip().upper().replace("-", "_")]
            return cls(int(value))
        except (KeyError, ValueError) as exc:
            raise LedgerValueError(f"unknown facility kind {value!r}") from exc


class FacilityStatus(enum.IntEnum):
    """Where a facility stands."""

    NONE = 0
    OPEN = 1
    CLOSED = 2


class AgreementStatus(enum.IntEnum):
    """Where a joint agreement stands."""

    NONE = 0
    PROPOSED = 1
    ACTIVE = 2
    ENDED = 3


def facility_id(subject: bytes, lender: str, contract_hash: bytes) -> Hash32:
    """The id of ``lender``'s facility to ``subject`` under ``contract_hash``."""
    return keccak256(
        abi_encode(
            ["bytes32", "address", "bytes32"],
            [bytes(subject), to_checksum_address(lender), bytes(contract_hash)],
        )
    )


@dataclass(frozen=True, slots=True)
class Facility:
    """A facility as the chain stores it."""

    facility_id: Hash32
    limit: int  # fen
    drawn: int  # fen outstanding
    expiry: int  # UNIX seconds
    kind: FacilityKind
    status: FacilityStatus


@dataclass(frozen=True, slots=True)
class Exposure:
    """An enterprise's exposure as the chain stores it."""

    subject: SubjectId
    total: int  # fen outstanding across every lender
    joint: int  # fen counted under the joint agreement in force
    joint_limit: int  # fen; 0 when no agreement is in force
    agreement: int  # the agreement in force; 0 when none
    flagged: bool  # an overdue flagged the agreement


@dataclass(frozen=True, slots=True)
class JointAgreement:
    """A joint credit agreement."""

    agreement: int
    subject: SubjectId
    lead: ChecksumAddress
    joint_limit: int  # fen
    participants: int
    joined: int
    accepted: bool
    status: AgreementStatus


@dataclass(frozen=True, slots=True)
class SignedAcceptance:
    """An enterprise's signed acceptance of a joint agreement, ready to relay."""

    agreement: int
    deadline: int
    signature: bytes


@dataclass(frozen=True)
class FacilityTx:
    """A facility write, mined."""

    facility_id: Hash32
    tx: TxResult


class CreditFacilitiesContract(ContractFacade):
    """Typed calls to ``CreditFacilities.sol``."""

    contract_name: ClassVar[str] = "CreditFacilities"

    @property
    def domain(self) -> Domain:
        """The EIP-712 domain enterprises sign acceptances under on this deployment."""
        return Domain(EIP712_NAME, EIP712_VERSION, self.chain.chain_id, self.address)

    def sign_acceptance(
        self, enterprise: LocalAccount, agreement: int, *, deadline: int | None = None
    ) -> SignedAcceptance:
        """The enterprise's acceptance of a proposed agreement, as it stands (off chain)."""
        terms = self.agreement(agreement)
        if terms is None:
            raise LedgerValueError(f"no joint agreement {agreement}")
        deadline = self.chain.now() + _SIGNATURE_LIFETIME if deadline is None else deadline
        message = accept_message(terms, deadline)
        signature = sign_typed(enterprise, self.domain, ACCEPT_TYPES, "AcceptAgreement", message)
        return SignedAcceptance(agreement, deadline, signature)

    def recover_acceptance_signer(self, signed: SignedAcceptance, terms: JointAgreement) -> str:
        """Who signed an acceptance of ``terms`` (the agreement as it stands): a check before
        relaying. Raises :class:`~ledger_client.identity.eip712.SignatureError` for a
        malformed signature."""
        message = accept_message(terms, signed.deadline)
        return recover_typed(
            signed.signature, self.domain, ACCEPT_TYPES, "AcceptAgreement", message
        )

    # -- calls, encoded and not sent ------------------------------------------------------
    def register_facility_call(
        self,
        subject: bytes,
        contract_hash: bytes,
        *,
        kind: FacilityKind | int | str,
        limit: int,
        expiry: int,
        pledge_ids: Sequence[bytes] = (),
    ) -> Call:
        """``registerFacility``: the lender records a facility."""
        code = int(FacilityKind.parse(kind))
        pledges = [bytes(p) for p in pledge_ids]
        return self._call(
            "registerFacility", bytes(subject), bytes(contract_hash), code, limit, expiry, pledges
        )

    def draw_call(self, subject: bytes, contract_hash: bytes, amount: int) -> Call:
        """``draw``: the lender records a draw."""
        return self._call("draw", bytes(subject), bytes(contract_hash), amount)

    def repay_call(self, subject: bytes, contract_hash: bytes, amount: int) -> Call:
        """``repay``: the lender records a repayment."""
        return self._call("repay", bytes(subject), bytes(contract_hash), amount)

    def amend_call(self, subject: bytes, contract_hash: bytes, limit: int, expiry: int) -> Call:
        """``amend``: the lender changes the limit and expiry."""
        return self._call("amend", bytes(subject), bytes(contract_hash), limit, expiry)

    def close_call(self, subject: bytes, contract_hash: bytes) -> Call:
        """``close``: the lender closes a repaid facility."""
        return self._call("close", bytes(subject), bytes(contract_hash))

    def report_overdue_call(
        self, subject: bytes, contract_hash: bytes, amount: int, days_overdue: int
    ) -> Call:
        """``reportOverdue``: the lender reports an overdue on its facility."""
        return self._call(
            "reportOverdue", bytes(subject), bytes(contract_hash), amount, days_overdue
        )

    def propose_agreement_call(
        self,
        subject: bytes,
        joint_limit: int,
        participants: Sequence[str],
        shares_bps: Sequence[int],
    ) -> Call:
        """``proposeAgreement``: the lead bank proposes a joint agreement."""
        banks = [to_checksum_address(p) for p in participants]
        return self._call(
            "proposeAgreement", bytes(subject), joint_limit, banks, [int(s) for s in shares_bps]
        )

    def join_agreement_call(self, agreement: int) -> Call:
        """``joinAgreement``: a participant joins."""
        return self._call("joinAgreement", agreement)

    def accept_agreement_call(self, signed: SignedAcceptance) -> Call:
        """``acceptAgreementBySig``: anyone relays the enterprise's acceptance."""
        return self._call(
            "acceptAgreementBySig", signed.agreement, signed.deadline, signed.signature
        )

    def clear_flag_call(self, agreement: int) -> Call:
        """``clearFlag``: the lead bank clears an overdue flag."""
        return self._call("clearFlag", agreement)

    def end_agreement_call(self, agreement: int) -> Call:
        """``endAgreement``: the lead bank ends an agreement."""
        return self._call("endAgreement", agreement)

    # -- writes ---------------------------------------------------------------------
    def register_facility(
        self,
        lender: LocalAccount,
        subject: bytes,
        contract_hash: bytes,
        *,
        kind: FacilityKind | int | str,
        limit: int,
        expiry: int,
        pledge_ids: Sequence[bytes] = (),
    ) -> FacilityTx:
        """Record a facility ``lender`` grants ``subject``."""
        call = self.register_facility_call(
            subject, contract_hash, kind=kind, limit=limit, expiry=expiry, pledge_ids=pledge_ids
        )
        result = self.send_call(lender, call)
        return FacilityTx(Hash32(result.event("FacilityRegistered").args["facilityId"]), result)

    def draw(
        self, lender: LocalAccount, subject: bytes, contract_hash: bytes, amount: int
    ) -> TxResult:
        """Record a draw on ``lender``'s facility."""
        return self.send_call(lender, self.draw_call(subject, contract_hash, amount))

    def repay(
        self, lender: LocalAccount, subject: bytes, contract_hash: bytes, amount: int
    ) -> TxResult:
        """Record a repayment on ``lender``'s facility."""
        return self.send_call(lender, self.repay_call(subject, contract_hash, amount))

    def amend(
        self, lender: LocalAccount, subject: bytes, contract_hash: bytes, limit: int, expiry: int
    ) -> TxResult:
        """Amend ``lender``'s facility."""
        return self.send_call(lender, self.amend_call(subject, contract_hash, limit, expiry))

    def close(self, lender: LocalAccount, subject: bytes, contract_hash: bytes) -> TxResult:
        """Close ``lender``'s repaid facility."""
        return self.send_call(lender, self.close_call(subject, contract_hash))

    def report_overdue(
        self,
        lender: LocalAccount,
        subject: bytes,
        contract_hash: bytes,
        amount: int,
        days_overdue: int,
    ) -> TxResult:
        """Report an overdue on ``lender``'s facility (flags the joint agreement it is in)."""
        call = self.report_overdue_call(subject, contract_hash, amount, days_overdue)
        return self.send_call(lender, call)

    def propose_agreement(
        self,
        lead: LocalAccount,
        subject: bytes,
        joint_limit: int,
        participants: Sequence[str],
        shares_bps: Sequence[int],
    ) -> tuple[int, TxResult]:
        """Propose a joint agreement; returns its number and the transaction."""
        call = self.propose_agreement_call(subject, joint_limit, participants, shares_bps)
        result = self.send_call(lead, call)
        return int(result.event("JointAgreementProposed").args["agreement"]), result

    def join_agreement(self, bank: LocalAccount, agreement: int) -> TxResult:
        """Join a proposed agreement as a participant."""
        return self.send_call(bank, self.join_agreement_call(agreement))

    def accept_agreement(self, relayer: LocalAccount, signed: SignedAcceptance) -> TxResult:
        """Relay the enterprise's signed acceptance."""
        return self.send_call(relayer, self.accept_agreement_call(signed))

    def clear_flag(self, lead: LocalAccount, agreement: int) -> TxResult:
        """Clear an agreement's overdue flag (the lead bank)."""
        return self.send_call(lead, self.clear_flag_call(agreement))

    def end_agreement(self, lead: LocalAccount, agreement: int) -> TxResult:
        """End an agreement (the lead bank)."""
        return self.send_call(lead, self.end_agreement_call(agreement))

    # -- reads ----------------------------------------------------------------------
    def facility(self, facility: bytes, block: int | str = "latest") -> Facility | None:
        """A facility, or None when unknown."""
        ((limit, drawn, expiry, kind, status),) = self._read(
            "facility", bytes(facility), block=block
        )
        if status == 0:
            return None
        return Facility(
            Hash32(bytes(facility)),
            limit,
            drawn,
            expiry,
            FacilityKind(kind),
            FacilityStatus(status),
        )

    def agreement(self, agreement: int, block: int | str = "latest") -> JointAgreement | None:
        """A joint agreement, or None when unknown."""
        ((subject, lead, limit, participants, joined, accepted, status),) = self._read(
            "agreement", agreement, block=block
        )
        if status == 0:
            return None
        return JointAgreement(
            agreement,
            SubjectId(subject),
            to_checksum_address(lead),
            limit,
            participants,
            joined,
            bool(accepted),
            AgreementStatus(status),
        )

    def share_bps(self, agreement: int, bank: str) -> int:
        """A bank's share of an agreement in basis points (0 when not a participant)."""
        return self.participation(agreement, bank)[0]

    def participation(self, agreement: int, bank: str) -> tuple[int, bool]:
        """A bank's share of an agreement in basis points (0 when not a participant), and
        whether it joined."""
        ((share, joined),) = self._read("participation", agreement, to_checksum_address(bank))
        return int(share), bool(joined)

    def exposure(
        self,
        reader: str,
        subject: bytes,
        auth_id: bytes = _ZERO32,
        *,
        block: int | str = "latest",
    ) -> Exposure:
        """``subject``'s exposure as ``reader`` may see it: a regulator always, a member under
        the enterprise's authorisation ``auth_id`` in force; anyone else is refused with
        ``FacilityExposureNotAuthorised``."""
        fn = self.codec.fn("exposure")
        data = fn.encode([bytes(subject), bytes(auth_id)])
        raw = self.chain.call(self.address, data, sender=reader, block=block)
        ((total, joint, limit, agreement, flagged),) = fn.decode_output(raw)
        return Exposure(SubjectId(bytes(subject)), total, joint, limit, agreement, bool(flagged))

    def agreement_count(self) -> int:
        """How many joint agreements were proposed."""
        (count,) = self._read("agreementCount")
        return int(count)


def accept_message(terms: JointAgreement, deadline: int) -> dict[str, Any]:
    """The values of EIP-712 ``AcceptAgreement`` for an agreement as it stands."""
    return {
        "agreement": terms.agreement,
        "subject": bytes(terms.subject),
        "lead": terms.lead,
        "jointLimit": terms.joint_limit,
        "deadline": deadline,
    }
