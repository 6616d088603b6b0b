"""EIP-712 typed messages: what enterprises and members sign off chain for a relayer.

Enterprises hold no gas, so they sign what they want done (authorise a query,
withdraw it, raise a dispute) as an EIP-712 message and a member or the API
relays it; the contract recovers the signer. This module builds the typed
data, signs it with ``eth_account`` and recovers signers, so the client can
check a signature before paying gas to relay it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from .exceptions import LedgerValueError

__all__ = ["Domain", "TypedMessage", "recover_signer", "sign_typed", "typed_digest"]

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True, slots=True)
class Domain:
    """An EIP-712 domain as OpenZeppelin's ``EIP712`` builds it (EIP-5267 ``eip712Domain()``)."""

    name: str  # e.g. "YRD Credit Authorisations"
    version: str  # "1"
    chain_id: int
    verifying_contract: ChecksumAddress

    def as_dict(self) -> dict[str, Any]:
        """The domain as ``eth_account`` takes it."""
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


@dataclass(frozen=True, slots=True)
class TypedMessage:
    """One typed message: its domain, its primary type's fields, and their values."""

    domain: Domain
    primary_type: str  # e.g. "Authorise"
    fields: tuple[tuple[str, str], ...]  # (name, solidity type) in the contract's order
    message: Mapping[str, Any]  # values by field name

    @property
    def type_string(self) -> str:
        """``Authorise(address member,...)``: what the contract's typehash hashes."""
        inner = ",".join(f"{t} {n}" for n, t in self.fields)
        return f"{self.primary_type}({inner})"

    def full_message(self) -> dict[str, Any]:
        """The EIP-712 JSON document (types, primaryType, domain, message)."""
        missing = [n for n, _ in self.fields if n not in self.message]
        if missing:
            raise LedgerValueError(f"{self.primary_type} message lacks {', '.join(missing)}")
        return {
            "types": {
                "EIP712Domain": _DOMAIN_FIELDS,
                self.primary_type: [{"name": n, "type": t} for n, t in self.fields],
            },
            "primaryType": self.primary_type,
            "domain": self.domain.as_dict(),
            "message": dict(self.message),
        }

    def signable(self) -> SignableMessage:
        """The message in ``eth_account``'s signable form."""
        return encode_typed_data(full_message=self.full_message())


def typed_digest(typed: TypedMessage) -> bytes:
    """The 32-byte digest a contract's ``_hashTypedDataV4`` computes for the message."""
    s = typed.signable()
    return keccak(b"\x19" + s.version + s.header + s.body)


def sign_typed(signer: LocalAccount, typed: TypedMessage) -> bytes:
    """The signer's 65-byte signature (r, s, v; low s, as OpenZeppelin's ECDSA requires)."""
    signed = Account.sign_message(typed.signable(), private_key=signer.key)
    return bytes(signed.signature)


def recover_signer(typed: TypedMessage, signature: bytes) -> ChecksumAddress:
    """The account that made ``signature`` over ``typed``; raises LedgerValueError if malformed."""
    try:
        address = Account.recover_message(typed.signable(), signature=signature)
    except Exception as exc:  # eth_keys raises several unrelated types for bad signatures
        raise LedgerValueError(f"malformed signature: {exc}") from exc
    return to_checksum_address(address)
