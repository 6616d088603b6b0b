"""Request bodies from signed objects: the one place the API's JSON is written.

The :class:`~sdk.Client` builds every body it posts with these; so do callers that
sign up front, away from a client (a load generator signing ten thousand records,
a test handing in a signature it made itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils.address import to_checksum_address

from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.contracts.authorisations import SignedAuthorisation
from ledger_client.contracts.forwarder import SignedForwardRequest

__all__ = ["attestation", "authorisation", "forward_fields", "hex32", "score_deposit"]

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


def score_deposit(record: Mapping[str, Any], ref_uid: bytes | str = ZERO32) -> dict[str, Any]:
    """``ScoreDeposit``: the off-chain ``credit-score`` record of a score the caller attested
    (``ref_uid``: the attestation's refUID, when it has one)."""
    body: dict[str, Any] = {"record": dict(record)}
    if hex32(ref_uid) != hex32(ZERO32):
        body["ref_uid"] = hex32(ref_uid)
    return body
