"""Request bodies from signed objects: the one place the API's JSON is written.

The :class:`~sdk.Client` builds every body it posts with these; so do callers that
sign up front, away from a client (a load generator signing ten thousand records,
a test handing in a signature it made itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils.address import to_checksum_address

from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.contracts.authorisations import SignedAuthorisation
from ledger_client.contracts.forwarder import SignedForwardRequest
from ledger_client.lending.collateral import SignedPledge
from ledger_client.lending.facilities import FacilityKind, SignedAcceptance

__all__ = [
    "acceptance",
    "agreement_proposal",
    "attestation",
    "authorisation",
    "facility",
    "facility_amendment",
    "facility_ref",
    "forward_fields",
    "hex32",
    "overdue_report",
    "pledge",
    "pledge_amendment",
]

ZERO32 = b"\0" * 32


def hex32(value: bytes | str) -> str:
    """``0x`` hex of bytes; a string is taken as already hex (``0x`` added if missing)."""
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


def attestation(schema: str, signed: SignedRecord) -> dict[str, Any]:
    """``SignedAttestationCreate``: a record signed by its attester (EIP-712 ``Attest``);
    ``schema`` is the schema's name or ``0x`` id."""
    r = signed.request
    body: dict[str, Any] = {
        "schema": schema,
        "subject": hex32(r.subject),
        "data_hash": hex32(r.data_hash),
    }
    if r.expiry:
        body["expiry"] = r.expiry
    if bytes(r.ref_uid) != ZERO32:
        body["ref_uid"] = hex32(r.ref_uid)
    return {
        **body,
        "signer": signed.signer,
        "nonce": signed.nonce,
        "deadline": signed.deadline,
        "signature": hex32(signed.signature),
    }


def forward_fields(signed: SignedForwardRequest) -> dict[str, Any]:
    """``SignedWrite``: who signed a relayed write's ForwardRequest, with which nonce, until
    when, and the signature. The rest of the ForwardRequest the server rebuilds from the
    body: the contract (``to``) from the route, the calldata (``data``) from the fields."""
    r = signed.request
    return {
        "signer": r.sender,
        "nonce": r.nonce,
        "deadline": r.deadline,
        "signature": hex32(signed.signature),
    }


def authorisation(signed: SignedAuthorisation) -> dict[str, Any]:
    """``AuthorisationCreate``: an enterprise's signed ``Authorise``."""
    r = signed.request
    return {
        "member": to_checksum_address(r.member),
        "purpose": int(r.purpose),
        "expiry": r.expiry,
        "schemas": [hex32(s) for s in r.schemas],
        "enterprise": signed.enterprise,
        "nonce": signed.nonce,
        "deadline": signed.deadline,
        "signature": hex32(signed.signature),
    }


# -- lending ------------------------------------------------------------------------------


def pledge(signed: SignedPledge, forward: dict[str, Any]) -> dict[str, Any]:
    """``PledgeCreate``: the pledgor's signed ``Pledge`` consent, carried by the pledgee's
    signed call (``forward``: :func:`forward_fields`; its signer is the pledgee)."""
    t = signed.terms
    return {
        "kind": t.kind.name.lower(),
        "key": hex32(t.key),
        "secured_amount_fen": t.secured_amount,
        "expiry": t.expiry,
        "rank": signed.rank,
        "pledgor": signed.pledgor,
        "consent_deadline": signed.deadline,
        "consent_signature": hex32(signed.signature),
        **forward,
    }


def pledge_amendment(
    secured_amount_fen: int, expiry: int, forward: dict[str, Any]
) -> dict[str, Any]:
    """``PledgeAmendment``: the pledgee's new amount secured and term."""
    return {"secured_amount_fen": secured_amount_fen, "expiry": expiry, **forward}


def facility(
    subject: bytes | str,
    contract_hash: bytes | str,
    *,
    kind: FacilityKind,
    limit_fen: int,
    expiry: int,
    pledge_ids: Sequence[bytes],
    forward: dict[str, Any],
) -> dict[str, Any]:
    """``FacilityCreate``: the facility a lender records."""
    return {
        "subject": hex32(subject),
        "contract_hash": hex32(contract_hash),
        "kind": kind.name.lower(),
        "limit_fen": limit_fen,
        "expiry": expiry,
        "pledge_ids": [hex32(p) for p in pledge_ids],
        **forward,
    }


def facility_ref(
    subject: bytes | str, contract_hash: bytes | str, forward: dict[str, Any], **more: Any
) -> dict[str, Any]:
    """``FacilityWrite`` (close), or with ``amount_fen``, ``FacilityAmount`` (draw, repay):
    the lender's facility to ``subject`` under ``contract_hash``."""
    return {"subject": hex32(subject), "contract_hash": hex32(contract_hash), **more, **forward}


def facility_amendment(
    subject: bytes | str,
    contract_hash: bytes | str,
    limit_fen: int,
    expiry: int,
    forward: dict[str, Any],
) -> dict[str, Any]:
    """``FacilityAmendment``: a new limit and expiry."""
    return facility_ref(subject, contract_hash, forward, limit_fen=limit_fen, expiry=expiry)


def overdue_report(
    subject: bytes | str,
    contract_hash: bytes | str,
    amount_fen: int,
    days_overdue: int,
    forward: dict[str, Any],
) -> dict[str, Any]:
    """``OverdueReport``: what is overdue on the lender's facility, and for how long."""
    return facility_ref(
        subject, contract_hash, forward, amount_fen=amount_fen, days_overdue=days_overdue
    )


def agreement_proposal(
    subject: bytes | str,
    joint_limit_fen: int,
    participants: Sequence[str],
    shares_bps: Sequence[int],
    forward: dict[str, Any],
) -> dict[str, Any]:
    """``AgreementCreate``: the lead bank's joint agreement."""
    return {
        "subject": hex32(subject),
        "joint_limit_fen": joint_limit_fen,
        "participants": [to_checksum_address(p) for p in participants],
        "shares_bps": [int(s) for s in shares_bps],
        **forward,
    }


def acceptance(signed: SignedAcceptance, forward: dict[str, Any]) -> dict[str, Any]:
    """``AgreementAcceptance``: the enterprise's signed ``AcceptAgreement``, carried by a
    relaying member's signed call."""
    return {
        "consent_deadline": signed.deadline,
        "consent_signature": hex32(signed.signature),
        **forward,
    }
