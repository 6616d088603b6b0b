"""What a party signs for the API, built from the deployment the server serves.

Five kinds of signature reach the API, each made here with the signing helpers of
:mod:`ledger_client`:

- an attestation: EIP-712 ``Attest`` of the Attestations contract
  (:meth:`ledger_client.attestations.signed_records.SignedRecord.sign`);
- an enterprise's authorisation: EIP-712 ``Authorise`` of Authorisations
  (:func:`ledger_client.identity.eip712.sign_typed`);
- a pledgor's consent to a pledge: EIP-712 ``Pledge`` of the CollateralRegistry, carried
  in the pledgee bank's call;
- an enterprise's acceptance of a joint agreement: EIP-712 ``AcceptAgreement`` of
  CreditFacilities, carried in the relaying bank's call;
- every other write: an EIP-712 ``ForwardRequest`` of the Forwarder whose ``data`` is
  the calldata of the contract call the route makes
  (:func:`ledger_client.contracts.forwarder.forward_digest`).

The calldata is encoded from the contracts' ABIs that ship with ``ledger_client``;
the addresses and chain id come from ``GET /v1/deployment``: no chain connection.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import Hash32 as EthHash32
from eth_utils.address import to_checksum_address

from ledger_client.attestations.signed_records import SignedRecord, domain_separator
from ledger_client.chain.abi import ContractABI
from ledger_client.chain.artifacts import load_artifacts
from ledger_client.contracts import attestations as _attestations
from ledger_client.contracts import authorisations as _authorisations
from ledger_client.contracts import forwarder as _forwarder
from ledger_client.contracts.authorisations import (
    AUTHORISE_TYPES,
    AuthorisationRequest,
    SignedAuthorisation,
    authorise_message,
)
from ledger_client.contracts.forwarder import ForwardRequest, SignedForwardRequest, forward_digest
from ledger_client.deployment import Manifest
from ledger_client.identity.eip712 import Domain, sign_typed
from ledger_client.lending import collateral as _collateral
from ledger_client.lending import facilities as _facilities
from ledger_client.lending.collateral import (
    PLEDGE_TYPES,
    PledgeTerms,
    SignedPledge,
    pledge_message,
)
from ledger_client.lending.facilities import (
    ACCEPT_TYPES,
    JointAgreement,
    SignedAcceptance,
    accept_message,
)
from ledger_client.types import AttestRequest

__all__ = ["Deployment", "Signer", "codec"]

#: Nonces of one signer count up from a random start aligned to 256, so that the
#: Forwarder's bitmap (and Attestations') keeps consecutive ones in one storage word;
#: 56 bits fit a signed batch's record (``nonce < 2**56``).
_NONCE_BITS = 48


@dataclass(frozen=True)
class Deployment:
    """What a client needs to sign for one deployment (``GET /v1/deployment``)."""

    chain_id: int
    contracts: dict[str, str]  # contract name -> checksum address
    relayer: str

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Deployment:
        """Read the route's body."""
        return cls(
            chain_id=int(doc["chain_id"]),
            contracts={k: to_checksum_address(v) for k, v in doc["contracts"].items()},
            relayer=str(doc["relayer"]),
        )

    @classmethod
    def from_manifest(cls, manifest: Manifest, relayer: str = "") -> Deployment:
        """From a deployment's manifest (what a party holding it signs for, offline)."""
        return cls(
            chain_id=manifest.chain_id,
            contracts={k: to_checksum_address(c.address) for k, c in manifest.contracts.items()},
            relayer=relayer,
        )

    def address(self, contract: str) -> str:
        """The address of ``contract`` (e.g. ``Receivables``)."""
        return self.contracts[contract]

    def domain(self, contract: str, name: str, version: str = "1") -> Domain:
        """The EIP-712 domain of ``contract`` on this deployment."""
        return Domain(name, version, self.chain_id, self.address(contract))


_CODECS: dict[str, ContractABI] = {}


def codec(contract: str) -> ContractABI:
    """The ABI codec of ``contract``, from the artifacts shipped with ``ledger_client``."""
    found = _CODECS.get(contract)
    if found is None:
        found = _CODECS[contract] = load_artifacts().contract(contract).codec
    return found


class Signer:
    """Signs a party's writes for one deployment: nonces, deadlines and signatures.

    ``clock`` gives the time deadlines count from (the chain's, when it runs ahead of
    the wall clock, as a simulation's does); a signature stays valid ``lifetime_s``.
    """

    def __init__(
        self,
        deployment: Deployment,
        *,
        clock: Callable[[], float],
        lifetime_s: int,
    ) -> None:
        self.deployment = deployment
        self.clock = clock
        self.lifetime_s = lifetime_s
        self._next: dict[str, int] = {}
        forwarder = deployment.domain("Forwarder", _forwarder.EIP712_NAME)
        self._forwarder = domain_separator(forwarder)
        attest = deployment.domain("Attestations", _attestations.EIP712_NAME)
        self._attest = domain_separator(attest)
        self._authorise = deployment.domain("Authorisations", _authorisations.EIP712_NAME)

    @property
    def attest_separator(self) -> bytes:
        """The Attestations domain separator (an attestation's signature is made under it)."""
        return self._attest

    @property
    def forwarder_separator(self) -> bytes:
        """The Forwarder domain separator (a forward request's signature is made under it)."""
        return self._forwarder

    def deadline(self) -> int:
        """A deadline a signature made now is given."""
        return int(self.clock()) + self.lifetime_s

    def nonce(self, signer: str) -> int:
        """A fresh nonce of ``signer``: consecutive from a random 256-aligned start."""
        nonce = self._next.get(signer)
        if nonce is None:
            nonce = secrets.randbits(_NONCE_BITS) << 8
        self._next[signer] = nonce + 1
        return nonce

    def forward(
        self,
        party: LocalAccount,
        contract: str,
        fn: str,
        *args: Any,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedForwardRequest:
        """``party``'s ForwardRequest of ``contract.fn(*args)``."""
        request = ForwardRequest(
            sender=party.address,
            to=self.deployment.address(contract),
            nonce=self.nonce(party.address) if nonce is None else nonce,
            deadline=self.deadline() if deadline is None else deadline,
            data=codec(contract).fn(fn).encode(args),
        )
        digest = forward_digest(self._forwarder, request)
        sig = party.unsafe_sign_hash(EthHash32(digest))
        return SignedForwardRequest(request, bytes(sig.signature))

    def attestation(
        self,
        party: LocalAccount,
        request: AttestRequest,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedRecord:
        """``party``'s EIP-712 ``Attest`` of ``request``."""
        return SignedRecord.sign(
            party,
            self._attest,
            request,
            self.nonce(party.address) if nonce is None else nonce,
            self.deadline() if deadline is None else deadline,
        )

    def authorisation(
        self,
        enterprise: LocalAccount,
        request: AuthorisationRequest,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedAuthorisation:
        """An enterprise's EIP-712 ``Authorise`` of ``request``."""
        nonce = secrets.randbits(64) if nonce is None else nonce
        deadline = self.deadline() if deadline is None else deadline
        message = authorise_message(request, enterprise.address, nonce, deadline)
        signature = sign_typed(enterprise, self._authorise, AUTHORISE_TYPES, "Authorise", message)
        return SignedAuthorisation(request, enterprise.address, nonce, deadline, signature)

    def pledge(
        self,
        pledgor: LocalAccount,
        terms: PledgeTerms,
        *,
        pledgee: str,
        rank: int,
        deadline: int | None = None,
    ) -> SignedPledge:
        """A pledgor's EIP-712 ``Pledge``: consent to register ``terms`` to ``pledgee`` as the
        asset's ``rank``-th registration (its registration count now)."""
        deadline = self.deadline() if deadline is None else deadline
        message = pledge_message(terms, pledgee, rank, deadline)
        domain = self.deployment.domain("CollateralRegistry", _collateral.EIP712_NAME)
        signature = sign_typed(pledgor, domain, PLEDGE_TYPES, "Pledge", message)
        return SignedPledge(
            terms, to_checksum_address(pledgee), rank, pledgor.address, deadline, signature
        )

    def acceptance(
        self, enterprise: LocalAccount, terms: JointAgreement, *, deadline: int | None = None
    ) -> SignedAcceptance:
        """An enterprise's EIP-712 ``AcceptAgreement`` of a joint agreement as it stands."""
        deadline = self.deadline() if deadline is None else deadline
        message = accept_message(terms, deadline)
        domain = self.deployment.domain("CreditFacilities", _facilities.EIP712_NAME)
        signature = sign_typed(enterprise, domain, ACCEPT_TYPES, "AcceptAgreement", message)
        return SignedAcceptance(terms.agreement, deadline, signature)
