"""The collateral registry (``CollateralRegistry.sol``): one registry of pledges.

A pledgor (an enterprise, which holds no gas) signs its consent off chain; the
pledgee bank registers the pledge with it::

    key = ip_key("CNIPA", "ZL202310001234.5")
    terms = PledgeTerms(CollateralKind.PATENT, key, 5_000_000_00, expiry)
    signed = ledger.collateral.sign_pledge(enterprise, terms, pledgee=bank.address)
    pledge = ledger.collateral.pledge(bank, signed)

A receivable, patent, trademark or equity share backs one pledge in force at a
time (a second is refused with ``CollateralAlreadyPledged(assetId, pledgee)``);
movable goods may carry several, ranked by registration order. A pledge id is
its asset id with the registration's rank in the low 32 bits.
"""

from __future__ import annotations

import enum
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
    "DEFAULT_SIGNATURE_LIFETIME",
    "EIP712_NAME",
    "EIP712_VERSION",
    "PLEDGE_TYPES",
    "Asset",
    "CollateralKind",
    "CollateralRegistryContract",
    "Pledge",
    "PledgeTerms",
    "Pledged",
    "SignedPledge",
    "asset_id",
    "equity_key",
    "ip_key",
    "movable_key",
    "pledge_id",
    "pledge_message",
]

EIP712_NAME = "YRD Collateral Registry"
EIP712_VERSION = "1"
#: Seconds a pledgor's signature stays relayable unless the signer says otherwise.
DEFAULT_SIGNATURE_LIFETIME = 3_600
#: EIP-712 ``Pledge``: what a pledgor signs. ``rank`` is the asset's registration count.
PLEDGE_TYPES: dict[str, list[dict[str, str]]] = {
    "Pledge": [
        {"name": "kind", "type": "uint8"},
        {"name": "key", "type": "bytes32"},
        {"name": "pledgee", "type": "address"},
        {"name": "securedAmount", "type": "uint64"},
        {"name": "expiry", "type": "uint40"},
        {"name": "rank", "type": "uint32"},
        {"name": "deadline", "type": "uint256"},
    ]
}
_RANK_BITS = 32
_RANK_MASK = (1 << _RANK_BITS) - 1


class CollateralKind(enum.IntEnum):
    """Kinds of collateral (``ICollateralRegistry.CollateralKind``)."""

    RECEIVABLE = 1  # 应收账款: a receivable part; key = the part id
    PATENT = 2  # 专利: key = ip_key(authority, registration number)
    TRADEMARK = 3  # 商标: key as for a patent
    EQUITY = 4  # 股权: key = equity_key(company subject, share reference)
    MOVABLE = 5  # 动产: key = movable_key(description document hash); several pledges ranked

    @property
    def exclusive(self) -> bool:
        """True when an asset of this kind backs one pledge in force at a time."""
        return self is not CollateralKind.MOVABLE

    @classmethod
    def parse(cls, value: CollateralKind | int | str) -> CollateralKind:
        """A kind from itself, its code or its name (``"patent"``); LedgerValueError otherwise."""
        try:
            if isinstance(value, str):
                return cls[value.strip().upper().replace("-", "_")]
            return cls(int(value))
        except (KeyError, ValueError) as exc:
            raise LedgerValueError(f"unknown collateral kind {value!r}") from exc


def ip_key(authority: str, registration_number: str) -> Hash32:
    """A patent's or trademark's key: its registration number hashed with the issuing
    authority (``CNIPA``, a provincial office), so equal numbers of two authorities differ."""
    number = registration_number.strip().upper()
    if not authority.strip() or not number:
        raise LedgerValueError("an IP asset needs an issuing authority and a registration number")
    return keccak256(
        abi_encode(
            ["bytes32", "bytes32"],
            [keccak256(authority.strip().upper().encode()), keccak256(number.encode())],
        )
    )


def equity_key(company: bytes, share_reference: bytes) -> Hash32:
    """An equity share's key: the company's subject id and the share's reference (the hash of
    the shareholder register entry)."""
    return keccak256(abi_encode(["bytes32", "bytes32"], [bytes(company), bytes(share_reference)]))


def movable_key(description_hash: bytes) -> Hash32:
    """Movable goods' key: the hash of the document describing them (serials, location)."""
    if len(description_hash) != 32 or not any(description_hash):
        raise LedgerValueError("movable goods are keyed by a non-zero 32-byte document hash")
    return Hash32(bytes(description_hash))


def asset_id(kind: CollateralKind | int, key: bytes) -> Hash32:
    """The registry's id of an asset: keccak256(abi.encode(kind, key)), low 32 bits cleared."""
    word = int.from_bytes(keccak256(abi_encode(["uint8", "bytes32"], [int(kind), bytes(key)])))
    return Hash32((word >> _RANK_BITS << _RANK_BITS).to_bytes(32, "big"))


def pledge_id(asset: bytes, rank: int) -> Hash32:
    """The id of the ``rank``-th registration (0 first) on an asset."""
    return Hash32((int.from_bytes(asset) | (rank & _RANK_MASK)).to_bytes(32, "big"))


@dataclass(frozen=True, slots=True)
class PledgeTerms:
    """What a pledgor consents to: the asset, the amount secured and the term."""

    kind: CollateralKind
    key: Hash32
    secured_amount: int  # fen
    expiry: int  # UNIX seconds

    @property
    def asset_id(self) -> Hash32:
        """The asset's id in the registry."""
        return asset_id(self.kind, self.key)

    def as_tuple(self) -> tuple[int, bytes, int, int]:
        """``ICollateralRegistry.PledgeTerms`` as the ABI encodes it."""
        return (int(self.kind), bytes(self.key), self.secured_amount, self.expiry)


@dataclass(frozen=True, slots=True)
class SignedPledge:
    """A pledgor's signed consent to one registration, ready for the pledgee to register."""

    terms: PledgeTerms
    pledgee: ChecksumAddress
    rank: int  # the asset's registration count when signed: the consent registers once
    pledgor: ChecksumAddress  # the signing (bound) enterprise account
    deadline: int  # UNIX seconds
    signature: bytes

    @property
    def pledge_id(self) -> Hash32:
        """The id the pledge will have."""
        return pledge_id(self.terms.asset_id, self.rank)


@dataclass(frozen=True, slots=True)
class Pledge:
    """A pledge as the registry reports it."""

    pledge_id: Hash32
    asset_id: Hash32
    rank: int  # registration order on the asset: 0 ranks first
    kind: CollateralKind
    pledgee: ChecksumAddress
    expiry: int  # UNIX seconds
    released: bool
    in_force: bool  # registered, not released, not lapsed


@dataclass(frozen=True, slots=True)
class Asset:
    """What the registry stores for an asset."""

    asset_id: Hash32
    kind: CollateralKind | None  # None when never registered
    registrations: int  # registrations ever made on it
    pledgee: ChecksumAddress | None  # exclusive kinds: the latest pledge's pledgee until released
    expiry: int  # its term end (0 when none)


@dataclass(frozen=True)
class Pledged:
    """A registered pledge, mined."""

    pledge_id: Hash32
    asset_id: Hash32
    pledgor: SubjectId
    tx: TxResult


class CollateralRegistryContract(ContractFacade):
    """Typed calls to ``CollateralRegistry.sol``."""

    contract_name: ClassVar[str] = "CollateralRegistry"

    @property
    def domain(self) -> Domain:
        """The EIP-712 domain pledgors sign under on this deployment."""
        return Domain(EIP712_NAME, EIP712_VERSION, self.chain.chain_id, self.address)

    def sign_pledge(
        self,
        pledgor: LocalAccount,
        terms: PledgeTerms,
        *,
        pledgee: str,
        rank: int | None = None,
        deadline: int | None = None,
    ) -> SignedPledge:
        """The pledgor's consent to register ``terms`` to ``pledgee`` (off chain; no gas).

        ``rank`` defaults to the asset's registration count now: the consent is for the
        next registration on the asset and is void once another is made first.
        """
        rank = self.asset(terms.asset_id).registrations if rank is None else rank
        deadline = self.chain.now() + DEFAULT_SIGNATURE_LIFETIME if deadline is None else deadline
        message = pledge_message(terms, pledgee, rank, deadline)
        signature = sign_typed(pledgor, self.domain, PLEDGE_TYPES, "Pledge", message)
        return SignedPledge(
            terms, to_checksum_address(pledgee), rank, pledgor.address, deadline, signature
        )

    def recover_pledge_signer(self, signed: SignedPledge) -> str:
        """Who signed the consent (``signed.pledgor`` when sound): a check before relaying.

        Raises :class:`~ledger_client.identity.eip712.SignatureError` for a malformed signature.
        """
        message = pledge_message(signed.terms, signed.pledgee, signed.rank, signed.deadline)
        return recover_typed(signed.signature, self.domain, PLEDGE_TYPES, "Pledge", message)

    # -- calls, encoded and not sent ------------------------------------------------------
    def pledge_call(self, signed: SignedPledge) -> Call:
        """``pledge``: what the pledgee sends (or signs as a ForwardRequest)."""
        return self._call(
            "pledge", signed.terms.as_tuple(), signed.pledgor, signed.deadline, signed.signature
        )

    def amend_call(self, pledge: bytes, secured_amount: int, expiry: int) -> Call:
        """``amend``: the pledgee changes the amount secured and the term."""
        return self._call("amend", bytes(pledge), secured_amount, expiry)

    def release_call(self, pledge: bytes) -> Call:
        """``release``: the pledgee frees the asset of its pledge."""
        return self._call("release", bytes(pledge))

    # -- writes ---------------------------------------------------------------------
    def pledge(self, pledgee: LocalAccount, signed: SignedPledge) -> Pledged:
        """Register a pledge to ``pledgee`` with the pledgor's signed consent."""
        result = self.send_call(pledgee, self.pledge_call(signed))
        args = result.event("CollateralPledged").args
        return Pledged(
            Hash32(args["pledgeId"]), Hash32(args["assetId"]), SubjectId(args["pledgor"]), result
        )

    def amend(
        self, pledgee: LocalAccount, pledge: bytes, secured_amount: int, expiry: int
    ) -> TxResult:
        """Amend a pledge in force (its pledgee only)."""
        return self.send_call(pledgee, self.amend_call(pledge, secured_amount, expiry))

    def release(self, pledgee: LocalAccount, pledge: bytes) -> TxResult:
        """Release a pledge (its pledgee only)."""
        return self.send_call(pledgee, self.release_call(pledge))

    # -- reads ----------------------------------------------------------------------
    def pledge_of(self, pledge: bytes, block: int | str = "latest") -> Pledge | None:
        """A pledge, or None when unknown."""
        ((aid, rank, kind, pledgee, expiry, released, in_force),) = self._read(
            "pledgeOf", bytes(pledge), block=block
        )
        if int(pledgee, 16) == 0:
            return None
        return Pledge(
            Hash32(bytes(pledge)),
            Hash32(aid),
            rank,
            CollateralKind(kind),
            to_checksum_address(pledgee),
            expiry,
            bool(released),
            bool(in_force),
        )

    def asset(self, asset: bytes, block: int | str = "latest") -> Asset:
        """What the registry stores for an asset (kind None when never registered)."""
        ((pledgee, expiry, registrations, kind),) = self._read("asset", bytes(asset), block=block)
        return Asset(
            Hash32(bytes(asset)),
            CollateralKind(kind) if kind else None,
            registrations,
            to_checksum_address(pledgee) if int(pledgee, 16) else None,
            expiry,
        )

    def registrations(self, asset: bytes, *, block: int | str = "latest") -> list[Pledge]:
        """Every registration on an asset in priority order (search before lending)."""
        count = self.asset(asset, block).registrations
        (ids,) = self._read("registrations", bytes(asset), 0, count, block=block)
        out = []
        for pid in ids:
            found = self.pledge_of(pid, block)
            if found is not None:
                out.append(found)
        return out

    def active_pledgee(self, asset: bytes) -> ChecksumAddress | None:
        """The pledgee of the exclusive pledge in force on an asset, or None."""
        (pledgee,) = self._read("activePledgee", bytes(asset))
        return to_checksum_address(pledgee) if int(pledgee, 16) else None


def pledge_message(terms: PledgeTerms, pledgee: str, rank: int, deadline: int) -> dict[str, Any]:
    """The values of EIP-712 ``Pledge``."""
    return {
        "kind": int(terms.kind),
        "key": bytes(terms.key),
        "pledgee": to_checksum_address(pledgee),
        "securedAmount": terms.secured_amount,
        "expiry": terms.expiry,
        "rank": rank,
        "deadline": deadline,
    }
