"""EIP-712 typed-data signatures: what members and enterprises sign off chain.

A signature binds the message to one contract on one chain (the domain:
name, version, chain id, contract address), so it cannot be replayed on
another chain or against another deployment; the contracts add nonces and
deadlines against replay on the same one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount

from ledger_client.addresses import to_checksum_address
from ledger_client.errors import LedgerValueError

#: secp256k1's group order; a signature with s above half of it is the malleable twin.
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


#: The fields of every domain here, in the order EIP-712 hashes them (``EIP712Domain``).
EIP712_DOMAIN_TYPE: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


class SignatureError(LedgerValueError):
    """A signature is malformed, or was not made by whom it claims."""


@dataclass(frozen=True)
class Domain:
    """An EIP-712 domain: one contract of one deployment."""

    name: str  # the contract's EIP-712 name, e.g. "YRD Credit Attestations"
    version: str
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        """The domain as eth-account expects it."""
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }


def sign_typed(
    signer: LocalAccount,
    domain: Domain,
    types: Mapping[str, list[dict[str, str]]],
    primary: str,
    message: Mapping[str, Any],
) -> bytes:
    """The 65-byte signature (r ‖ s ‖ v, low s) of ``message`` under ``domain``."""
    return bytes(signer.sign_message(_signable(domain, types, primary, message)).signature)


def recover_typed(
    signature: bytes,
    domain: Domain,
    types: Mapping[str, list[dict[str, str]]],
    primary: str,
    message: Mapping[str, Any],
) -> str:
    """The address that signed ``message``; malleable (high-s) signatures are refused."""
    if len(signature) != 65:
        raise SignatureError(f"a signature has 65 bytes, got {len(signature)}")
    if int.from_bytes(signature[32:64], "big") > _SECP256K1_N // 2:
        raise SignatureError("high-s signature refused (malleable form)")
    try:
        signable = _signable(domain, types, primary, message)
        return str(Account.recover_message(signable, signature=signature))
    except Exception as exc:  # eth-account raises several kinds for bad signatures
        raise SignatureError(f"unrecoverable signature: {exc}") from exc


def _signable(
    domain: Domain,
    types: Mapping[str, list[dict[str, str]]],
    primary: str,
    message: Mapping[str, Any],
) -> SignableMessage:
    return encode_typed_data(
        full_message={
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **types},
            "primaryType": primary,
            "domain": domain.as_dict(),
            "message": dict(message),
        }
    )
