"""The attestations contract: the calls that disputes and shared reports need.

A minimal facade: schemas, attest, revoke, replace, validity and the disputes
hook. The full facade (signed attestations, Merkle batches) belongs with the
attestation work; this one keeps the same method names so the two merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from ..merkle import keccak256
from ..records import Schema
from ..types import AttestationFields, Hash32, SubjectId, Validity
from .base import ContractFacade, TxResult

_ZERO32 = bytes(32)


def schema_id(schema: Schema) -> Hash32:
    """The on-chain id of a schema: keccak256(abi.encode(name, layout, revocable))."""
    return keccak256(
        abi_encode(["string", "string", "bool"], [schema.name, schema.layout, schema.revocable])
    )


@dataclass(frozen=True, slots=True)
class AttestationInfo:
    """What the chain stores about an attestation (``IAttestations.AttestationView``)."""

    uid: Hash32
    attester: ChecksumAddress  # the member that made it
    attested_at: int  # UNIX seconds
    expiry: int  # UNIX seconds; 0 for none
    revoked_at: int  # UNIX seconds; 0 while not revoked
    schema: Hash32  # schema id
    replaced_by: Hash32  # the replacement's UID; zero while not replaced


class AttestationsContract(ContractFacade):
    """Typed calls to ``Attestations.sol`` (the subset disputes and reports use)."""

    contract_name: ClassVar[str] = "Attestations"

    # -- schemas --------------------------------------------------------------------
    def register_schema(self, regulator: LocalAccount, schema: Schema) -> TxResult:
        """Register ``schema`` (regulator only)."""
        return self._send(regulator, "registerSchema", schema.name, schema.layout, schema.revocable)

    def ensure_schema(self, regulator: LocalAccount, schema: Schema) -> Hash32:
        """The schema's id, registering it first if the chain does not know it."""
        sid = schema_id(schema)
        if not self.schema_registered(sid):
            self.register_schema(regulator, schema)
        return sid

    def schema_registered(self, sid: bytes) -> bool:
        """True when a schema with this id is registered."""
        ((_revocable, index, *_rest),) = self._read("schema", bytes(sid))
        return bool(index)

    # -- attestations ---------------------------------------------------------------
    def attest(
        self,
        attester: LocalAccount,
        schema: bytes,
        subject: SubjectId | bytes,
        data_hash: bytes,
        *,
        expiry: int = 0,
        ref_uid: bytes = _ZERO32,
    ) -> TxResult:
        """Attest to a record about ``subject`` (attester role); the UID is in ``Attested``."""
        return self._send(
            attester, "attest", bytes(schema), bytes(subject), bytes(data_hash), expiry, ref_uid
        )

    def revoke(self, revoker: LocalAccount, uid: bytes, reason: bytes = _ZERO32) -> TxResult:
        """Revoke an attestation (its attester, or a regulator)."""
        return self._send(revoker, "revoke", bytes(uid), reason)

    def replace(
        self,
        attester: LocalAccount,
        old_uid: bytes,
        old: AttestationFields,
        data_hash: bytes,
        *,
        expiry: int = 0,
    ) -> TxResult:
        """Replace an attestation with a corrected record (its attester only)."""
        return self._send(
            attester, "replace", bytes(old_uid), old.as_tuple(), bytes(data_hash), expiry
        )

    # -- reads ----------------------------------------------------------------------
    def validity(self, uid: bytes, block: int | str = "latest") -> Validity:
        """Whether the attestation is in force at ``block``, and if not, why."""
        (value,) = self._read("validity", bytes(uid), block=block)
        return Validity(value)

    def attestation(self, uid: bytes) -> AttestationInfo | None:
        """The stored facts of an attestation, or None when there is none."""
        ((attester, attested_at, expiry, revoked_at, schema, replaced_by),) = self._read(
            "attestation", bytes(uid)
        )
        if int(attester, 16) == 0:
            return None
        return AttestationInfo(
            uid=Hash32(bytes(uid)),
            attester=to_checksum_address(attester),
            attested_at=attested_at,
            expiry=expiry,
            revoked_at=revoked_at,
            schema=Hash32(schema),
            replaced_by=Hash32(replaced_by),
        )

    def matches(self, uid: bytes, fields: AttestationFields) -> bool:
        """True when ``uid`` is an attestation that commits to ``fields``."""
        (ok,) = self._read("matches", bytes(uid), fields.as_tuple())
        return bool(ok)

    def dispute_deadline(self, uid: bytes) -> int:
        """The deadline of the record's open dispute (UNIX seconds), 0 when none is open."""
        (deadline,) = self._read("disputeDeadline", bytes(uid))
        return int(deadline)


def attested_uid(result: TxResult) -> Hash32:
    """The UID an ``attest`` or ``replace`` transaction created."""
    return Hash32(result.event("Attested").args["uid"])
