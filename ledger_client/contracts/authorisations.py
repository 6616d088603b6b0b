"""The authorisations contract: query authorisation (授权查询), the query trail (查询留痕)
and records of shared reports.

An enterprise holds no gas. It signs an :class:`AuthorisationRequest` (EIP-712
``Authorise``) with its bound account, off chain, and hands the signature to
the member, which relays it::

    signed = ledger.authorisations.sign_authorisation(enterprise, request)
    auth_id = ledger.authorisations.authorise(bank, signed).auth_id
    ledger.authorisations.log_query(bank, auth_id, QueryPurpose.LOAN_APPROVAL, query_hash(doc))

A withdrawal is signed the same way and relayed by anyone (or sent directly).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import rfc8785
from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.base import Call, ContractFacade, TxResult
from ledger_client.errors import LedgerValueError
from ledger_client.identity.eip712 import Domain, recover_typed, sign_typed
from ledger_client.types import Authorisation, Hash32, QueryPurpose, SubjectId

__all__ = [
    "AUTHORISE_TYPES",
    "DEFAULT_SIGNATURE_LIFETIME",
    "EIP712_NAME",
    "EIP712_VERSION",
    "WITHDRAW_TYPES",
    "AuthorisationRequest",
    "AuthorisationsContract",
    "Authorised",
    "Queried",
    "ReportShareRecord",
    "SignedAuthorisation",
    "SignedWithdrawal",
    "authorisation_id",
    "authorise_message",
    "query_hash",
    "query_id",
]

_ZERO32 = bytes(32)
#: Seconds a signature stays relayable unless the signer says otherwise.
DEFAULT_SIGNATURE_LIFETIME = 3_600
EIP712_NAME = "YRD Credit Authorisations"
EIP712_VERSION = "1"
#: EIP-712 ``Authorise``: what an enterprise signs to authorise a member.
AUTHORISE_TYPES: dict[str, list[dict[str, str]]] = {
    "Authorise": [
        {"name": "member", "type": "address"},
        {"name": "purpose", "type": "uint8"},
        {"name": "expiry", "type": "uint40"},
        {"name": "schemas", "type": "bytes32[]"},
        {"name": "enterprise", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
#: EIP-712 ``Withdraw``: what an enterprise signs to withdraw an authorisation.
WITHDRAW_TYPES: dict[str, list[dict[str, str]]] = {
    "Withdraw": [
        {"name": "authId", "type": "bytes32"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def authorisation_id(enterprise: str, nonce: int) -> Hash32:
    """The id of the authorisation ``enterprise`` signs with ``nonce``."""
    return keccak256(abi_encode(["address", "uint256"], [to_checksum_address(enterprise), nonce]))


def query_id(auth_id: bytes, query_hash_: bytes) -> Hash32:
    """The id of the query logged under ``auth_id`` with ``query_hash_``."""
    return keccak256(abi_encode(["bytes32", "bytes32"], [bytes(auth_id), bytes(query_hash_)]))


def query_hash(document: Mapping[str, Any]) -> Hash32:
    """keccak256 of a query record's RFC 8785 canonical JSON (it stays off chain).

    A member keeps its own query record (who asked, about which enterprise, for
    which application, when); the hash on chain lets an auditor check it later.
    Include something unique (an application number, a time) so that two queries
    never hash alike: a repeated query hash is refused.
    """
    try:
        return keccak256(rfc8785.dumps(dict(document)))
    except rfc8785.CanonicalizationError as exc:
        raise LedgerValueError(f"query record cannot be canonicalised: {exc}") from exc


@dataclass(frozen=True, slots=True)
class AuthorisationRequest:
    """What an enterprise authorises: a member, a purpose, an expiry, optionally schemas."""

    member: str  # the member institution's account
    purpose: QueryPurpose
    expiry: int  # UNIX seconds; lapses at this second
    schemas: tuple[bytes, ...] = field(default=())  # schema ids; empty for every schema

    def as_tuple(self) -> tuple[str, int, int, list[bytes]]:
        """The ``IAuthorisations.AuthorisationRequest`` struct as the ABI encodes it."""
        return (
            to_checksum_address(self.member),
            int(self.purpose),
            self.expiry,
            [bytes(s) for s in self.schemas],
        )


@dataclass(frozen=True, slots=True)
class SignedAuthorisation:
    """An enterprise's signed authorisation, ready to relay."""

    request: AuthorisationRequest
    enterprise: ChecksumAddress  # the signing (bound) account
    nonce: int  # any number the enterprise has not used
    deadline: int  # UNIX seconds after which the signature is void
    signature: bytes  # 65 bytes

    @property
    def auth_id(self) -> Hash32:
        """The id the authorisation will have on chain."""
        return authorisation_id(self.enterprise, self.nonce)


@dataclass(frozen=True, slots=True)
class SignedWithdrawal:
    """An enterprise's signed withdrawal of an authorisation, ready to relay."""

    auth_id: Hash32
    enterprise: ChecksumAddress
    deadline: int
    signature: bytes


@dataclass(frozen=True)
class Authorised:
    """A relayed authorisation, mined."""

    auth_id: Hash32
    tx: TxResult


@dataclass(frozen=True)
class Queried:
    """A logged query, mined."""

    query_id: Hash32
    tx: TxResult


@dataclass(frozen=True, slots=True)
class ReportShareRecord:
    """The chain's record of a report shared in answer to a query."""

    query_id: Hash32
    ciphertext_hash: Hash32  # keccak256 of the sealed envelope
    sender: ChecksumAddress  # the member that sealed and sent it
    shared_at: int  # UNIX seconds


class AuthorisationsContract(ContractFacade):
    """Typed calls to ``Authorisations.sol``."""

    contract_name: ClassVar[str] = "Authorisations"

    # -- EIP-712 --------------------------------------------------------------------
    @property
    def domain(self) -> Domain:
        """The EIP-712 domain of signed authorisations and withdrawals on this deployment."""
        return Domain(EIP712_NAME, EIP712_VERSION, self.chain.chain_id, self.address)

    def sign_authorisation(
        self,
        enterprise: LocalAccount,
        request: AuthorisationRequest,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedAuthorisation:
        """The enterprise's signature over ``request`` (off chain; no gas).

        ``nonce`` defaults to a random 64-bit number, ``deadline`` to an hour
        from the chain's clock.
        """
        nonce = secrets.randbits(64) if nonce is None else nonce
        deadline = self.chain.now() + DEFAULT_SIGNATURE_LIFETIME if deadline is None else deadline
        message = authorise_message(request, enterprise.address, nonce, deadline)
        signature = sign_typed(enterprise, self.domain, AUTHORISE_TYPES, "Authorise", message)
        return SignedAuthorisation(request, enterprise.address, nonce, deadline, signature)

    def recover_authorisation_signer(self, signed: SignedAuthorisation) -> str:
        """Who signed (``signed.enterprise`` when sound): a check before relaying.

        Raises :class:`~ledger_client.identity.eip712.SignatureError` for a malformed signature.
        """
        message = authorise_message(
            signed.request, signed.enterprise, signed.nonce, signed.deadline
        )
        return recover_typed(signed.signature, self.domain, AUTHORISE_TYPES, "Authorise", message)

    def sign_withdrawal(
        self, enterprise: LocalAccount, auth_id: bytes, *, deadline: int | None = None
    ) -> SignedWithdrawal:
        """The enterprise's signed withdrawal of ``auth_id`` (off chain; no gas)."""
        deadline = self.chain.now() + DEFAULT_SIGNATURE_LIFETIME if deadline is None else deadline
        message = {"authId": bytes(auth_id), "deadline": deadline}
        signature = sign_typed(enterprise, self.domain, WITHDRAW_TYPES, "Withdraw", message)
        return SignedWithdrawal(Hash32(bytes(auth_id)), enterprise.address, deadline, signature)

    # -- calls, encoded and not sent ------------------------------------------------------
    def authorise_by_sig_call(self, signed: SignedAuthorisation) -> Call:
        """``authoriseBySig`` of an enterprise's signed authorisation: what a relayer sends."""
        return self._call(
            "authoriseBySig",
            signed.request.as_tuple(),
            signed.enterprise,
            signed.nonce,
            signed.deadline,
            signed.signature,
        )

    def withdraw_call(self, auth_id: bytes) -> Call:
        """``withdraw``: the enterprise's current account withdraws an authorisation."""
        return self._call("withdraw", bytes(auth_id))

    def log_query_call(
        self,
        auth_id: bytes,
        purpose: QueryPurpose | int | str,
        query_hash_: bytes,
        schema: bytes = _ZERO32,
    ) -> Call:
        """``logQuery``: the authorised member logs a query (``schema`` zero: a full report)."""
        code = int(QueryPurpose.parse(purpose)) if isinstance(purpose, str) else int(purpose)
        return self._call("logQuery", bytes(auth_id), code, bytes(query_hash_), bytes(schema))

    def record_report_share_call(
        self, query_id_: bytes, recipient: str, ciphertext_hash: bytes
    ) -> Call:
        """``recordReportShare``: the sending attester records a sealed report's hash."""
        return self._call("recordReportShare", bytes(query_id_), recipient, bytes(ciphertext_hash))

    # -- writes ---------------------------------------------------------------------
    def authorise(self, relayer: LocalAccount, signed: SignedAuthorisation) -> Authorised:
        """Relay a signed authorisation (usually by the member it names)."""
        result = self.send_call(relayer, self.authorise_by_sig_call(signed))
        return Authorised(Hash32(result.event("Authorised").args["authId"]), result)

    def withdraw(self, enterprise: LocalAccount, auth_id: bytes) -> TxResult:
        """Withdraw an authorisation directly (the enterprise pays the gas)."""
        return self.send_call(enterprise, self.withdraw_call(auth_id))

    def withdraw_by_sig(self, relayer: LocalAccount, signed: SignedWithdrawal) -> TxResult:
        """Relay a signed withdrawal (anyone may)."""
        return self._send(
            relayer,
            "withdrawBySig",
            bytes(signed.auth_id),
            signed.enterprise,
            signed.deadline,
            signed.signature,
        )

    def log_query(
        self,
        member: LocalAccount,
        auth_id: bytes,
        purpose: QueryPurpose | int | str,
        query_hash_: bytes,
        schema: bytes = _ZERO32,
    ) -> Queried:
        """Log a credit query under an authorisation (查询留痕).

        ``schema`` is the schema queried, or zero for a full credit report.
        """
        call = self.log_query_call(auth_id, purpose, query_hash_, schema)
        result = self.send_call(member, call)
        return Queried(Hash32(result.event("QueryLogged").args["queryId"]), result)

    def check_query(
        self,
        member: str,
        auth_id: bytes,
        purpose: QueryPurpose | int,
        query_hash_: bytes,
        schema: bytes = _ZERO32,
        *,
        block: int | str = "latest",
    ) -> Hash32:
        """The query id ``member`` would get by logging this query at ``block``, without
        logging it; a query the contract would refuse raises the same named error."""
        fn = self.codec.fn("logQuery")
        data = fn.encode([bytes(auth_id), int(purpose), bytes(query_hash_), bytes(schema)])
        (qid,) = fn.decode_output(self.chain.call(self.address, data, sender=member, block=block))
        return Hash32(qid)

    def record_report_share(
        self, sender: LocalAccount, query_id_: bytes, recipient: str, ciphertext_hash: bytes
    ) -> TxResult:
        """Record that ``sender`` sent ``recipient`` a sealed report answering a query."""
        call = self.record_report_share_call(query_id_, recipient, ciphertext_hash)
        return self.send_call(sender, call)

    # -- reads ----------------------------------------------------------------------
    def authorisation(self, auth_id: bytes, block: int | str = "latest") -> Authorisation | None:
        """The authorisation at ``block``, or None when there is none."""
        ((subject, member, expiry, withdrawn_at, purpose, limited),) = self._read(
            "authorisation", bytes(auth_id), block=block
        )
        if int(member, 16) == 0:
            return None
        return Authorisation(
            auth_id=Hash32(bytes(auth_id)),
            subject=SubjectId(subject),
            member=to_checksum_address(member),
            purpose=QueryPurpose(purpose),
            expiry=expiry,
            withdrawn_at=withdrawn_at,
            schema_limited=bool(limited),
        )

    def schema_authorised(self, auth_id: bytes, schema: bytes) -> bool:
        """True when the authorisation's schema limit lists ``schema``."""
        (ok,) = self._read("schemaAuthorised", bytes(auth_id), bytes(schema))
        return bool(ok)

    def query_authorisation(self, query_id_: bytes) -> Hash32 | None:
        """The authorisation a logged query was made under, or None when unknown."""
        (auth_id,) = self._read("queryAuthorisation", bytes(query_id_))
        return None if auth_id == _ZERO32 else Hash32(auth_id)

    def report_share(self, query_id_: bytes, ciphertext_hash: bytes) -> ReportShareRecord | None:
        """The record of a shared report, or None when none was recorded."""
        ((sender, shared_at),) = self._read("reportShare", bytes(query_id_), bytes(ciphertext_hash))
        if int(sender, 16) == 0:
            return None
        return ReportShareRecord(
            Hash32(bytes(query_id_)),
            Hash32(bytes(ciphertext_hash)),
            to_checksum_address(sender),
            shared_at,
        )

    def nonce_used(self, enterprise: str, nonce: int) -> bool:
        """True when ``enterprise`` has used ``nonce`` for an authorisation."""
        (used,) = self._read("nonceUsed", enterprise, nonce)
        return bool(used)


def authorise_message(
    request: AuthorisationRequest, enterprise: str, nonce: int, deadline: int
) -> dict[str, Any]:
    """The values of EIP-712 ``Authorise`` for ``request``."""
    member, purpose, expiry, schemas = request.as_tuple()
    return {
        "member": member,
        "purpose": purpose,
        "expiry": expiry,
        "schemas": schemas,
        "enterprise": to_checksum_address(enterprise),
        "nonce": nonce,
        "deadline": deadline,
    }
