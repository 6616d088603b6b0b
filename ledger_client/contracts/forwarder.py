"""The forwarder: any party's signed call, relayed by anyone (ERC-2771).

A member or an enterprise signs a :class:`ForwardRequest` for a call to one of
the chain's contracts; a relayer (the HTTP API, or anyone) sends it through
``Forwarder.execute`` and pays the gas, and the target contract sees the
signer as its caller::

    signed = ledger.forwarder.sign(bank, ledger.receivables, "finance", rid, 900_000, 350)
    result = ledger.forwarder.relay(relayer, signed, ledger.receivables)
    result.event("ReceivableFinanced").args["financier"] == bank.address

Nonces are unordered (a bitmap per signer): requests may be signed ahead and
relayed in any order. :meth:`ForwarderContract.sign` takes consecutive nonces
from a random 256-aligned start, so most share one storage word (cheaper).
A refusal of the target reaches the relayer under the target's own error name.

A relayer with many requests sends them in one transaction (``executeBatch``):
each is still carried out or refused on its own, and :meth:`ForwarderContract.
batch_outcomes` splits the receipt into each request's own logs or its named
refusal::

    receipt, outcomes = ledger.forwarder.relay_batch(relayer, [signed_a, signed_b])
    outcomes[1].refusal  # e.g. ReceivablesAlreadyFinanced(id=..., financier=...), or None
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.signed_records import domain_separator, recover_address_bytes
from ledger_client.chain.abi import Event, Log
from ledger_client.chain.backends import Receipt
from ledger_client.chain.backends._txcodec import sign_hash
from ledger_client.chain.reverts import decode_revert
from ledger_client.contracts.authorisations import DEFAULT_SIGNATURE_LIFETIME
from ledger_client.contracts.base import Call, ContractFacade, TxResult
from ledger_client.errors import BatchReceiptMismatch, ContractRevert
from ledger_client.identity.eip712 import Domain, SignatureError

__all__ = [
    "BATCH_GAS_PER_REQUEST",
    "EIP712_NAME",
    "EIP712_VERSION",
    "FORWARD_REQUEST_TYPEHASH",
    "BatchedForward",
    "ForwardRequest",
    "ForwarderContract",
    "SignedForwardRequest",
    "forward_digest",
]

EIP712_NAME = "YRD Credit Forwarder"
EIP712_VERSION = "1"
FORWARD_REQUEST_TYPEHASH = keccak(
    b"ForwardRequest(address from,address to,uint256 nonce,uint48 deadline,bytes data)"
)
_UINT48_MAX = 2**48 - 1
#: Gas an ``executeBatch`` is given per request: a relayed write costs 60,000-400,000, and
#: the batch's requests share it, so one dear request is carried by its cheap neighbours.
#: Too little makes the batch revert whole (``ForwarderBatchOutOfGas``), never a request
#: look refused; unused gas is not paid for.
BATCH_GAS_PER_REQUEST = 600_000
_BATCH_GAS_BASE = 100_000


@dataclass(frozen=True, slots=True)
class ForwardRequest:
    """What a party signs: call ``to`` with ``data``, as ``sender``, once, before ``deadline``."""

    sender: str  # the signer (EIP-712 ``from``), checksum address
    to: str  # the target contract, checksum address
    nonce: int  # any number the signer has not used with this forwarder
    deadline: int  # UNIX seconds; void after it
    data: bytes  # calldata of the call: selector and arguments

    def as_tuple(self) -> tuple[str, str, int, int, bytes]:
        """``IForwarder.ForwardRequest`` as the ABI encodes it."""
        return (self.sender, self.to, self.nonce, self.deadline, self.data)


@dataclass(frozen=True, slots=True)
class SignedForwardRequest:
    """A forward request and its signer's signature, ready to relay."""

    request: ForwardRequest
    signature: bytes  # 65 bytes, low s

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (hex strings; the nonce as a decimal string)."""
        r = self.request
        return {
            "from": r.sender,
            "to": r.to,
            "nonce": str(r.nonce),
            "deadline": r.deadline,
            "data": "0x" + r.data.hex(),
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> SignedForwardRequest:
        """Read the JSON form."""
        return cls(
            ForwardRequest(
                sender=to_checksum_address(doc["from"]),
                to=to_checksum_address(doc["to"]),
                nonce=int(doc["nonce"]),
                deadline=int(doc["deadline"]),
                data=bytes.fromhex(str(doc["data"])[2:]),
            ),
            bytes.fromhex(str(doc["signature"])[2:]),
        )

    def signer(self, separator: bytes) -> str:
        """Who really signed it (checksum address); malformed or high-s signatures raise."""
        digest = forward_digest(separator, self.request)
        return to_checksum_address(recover_address_bytes(digest, self.signature))

    def signed_by_sender(self, separator: bytes) -> bool:
        """True when the signature is the named sender's."""
        try:
            digest = forward_digest(separator, self.request)
            return recover_address_bytes(digest, self.signature) == bytes.fromhex(
                self.request.sender[2:]
            )
        except SignatureError:
            return False


@dataclass(frozen=True, slots=True)
class BatchedForward:
    """One request's outcome in an ``executeBatch``: the logs its call emitted (its own,
    the Forwarder's marker left out), or the refusal ``execute`` would have raised."""

    index: int  # its place in the batch
    logs: tuple[Log, ...]
    refusal: ContractRevert | None

    def events(self, target: ContractFacade) -> tuple[Event, ...]:
        """The request's own events of ``target``, in log order."""
        return target.decode_logs(self.logs)


def forward_digest(separator: bytes, request: ForwardRequest) -> bytes:
    """The EIP-712 digest of ``request`` under the forwarder's domain ``separator``."""
    struct = keccak(
        abi_encode(
            ["bytes32", "address", "address", "uint256", "uint48", "bytes32"],
            [
                FORWARD_REQUEST_TYPEHASH,
                to_checksum_address(request.sender),
                to_checksum_address(request.to),
                request.nonce,
                request.deadline,
                keccak(request.data),
            ],
        )
    )
    return keccak(b"\x19\x01" + separator + struct)


class ForwarderContract(ContractFacade):
    """Typed calls to ``Forwarder.sol``."""

    contract_name: ClassVar[str] = "Forwarder"
    _separator: bytes | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_nonce: dict[str, int] = {}

    # -- EIP-712 --------------------------------------------------------------------
    @property
    def domain(self) -> Domain:
        """The EIP-712 domain of forward requests on this deployment."""
        return Domain(EIP712_NAME, EIP712_VERSION, self.chain.chain_id, self.address)

    @property
    def separator(self) -> bytes:
        """The domain separator (what ``domainSeparator()`` returns), computed once."""
        if self._separator is None:
            self._separator = domain_separator(self.domain)
        return self._separator

    def next_nonce(self, signer: str) -> int:
        """A fresh nonce for ``signer``: consecutive from a random 256-aligned start.

        Unordered nonces need only be unused; consecutive ones share a storage word,
        so all but the first of every 256 cost a warm write instead of a new slot.
        """
        nonce = self._next_nonce.get(signer)
        if nonce is None:
            nonce = secrets.randbits(56) << 8
        self._next_nonce[signer] = nonce + 1
        return nonce

    def request(
        self,
        signer: str,
        target: ContractFacade,
        fn: str,
        *args: Any,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> ForwardRequest:
        """The request to call ``target.fn(*args)`` as ``signer`` (not yet signed).

        ``deadline`` defaults to an hour from the chain's clock.
        """
        call = Call(target.address, fn, target.codec.fn(fn).encode(args))
        return self.request_call(signer, call, nonce=nonce, deadline=deadline)

    def request_call(
        self, signer: str, call: Call, *, nonce: int | None = None, deadline: int | None = None
    ) -> ForwardRequest:
        """The request to make ``call`` (a facade's ``*_call``) as ``signer``, not yet signed.

        ``deadline`` defaults to an hour from the chain's clock.
        """
        sender = to_checksum_address(signer)
        if deadline is None:
            deadline = self.chain.now() + DEFAULT_SIGNATURE_LIFETIME
        return ForwardRequest(
            sender=sender,
            to=to_checksum_address(call.to),
            nonce=self.next_nonce(sender) if nonce is None else nonce,
            deadline=deadline,
            data=call.data,
        )

    def sign_call(
        self,
        signer: LocalAccount,
        call: Call,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedForwardRequest:
        """Sign ``call`` (a facade's ``*_call``) for anyone to relay."""
        request = self.request_call(signer.address, call, nonce=nonce, deadline=deadline)
        return self.sign_request(signer, request)

    def sign_request(self, signer: LocalAccount, request: ForwardRequest) -> SignedForwardRequest:
        """``signer``'s signature of ``request`` (off chain; no gas)."""
        if request.sender != signer.address:
            raise SignatureError(f"{signer.address} cannot sign a request from {request.sender}")
        if not 0 <= request.deadline <= _UINT48_MAX:
            raise SignatureError(f"deadline must be UNIX seconds < 2**48; got {request.deadline}")
        digest = forward_digest(self.separator, request)
        return SignedForwardRequest(request, sign_hash(bytes(signer.key), digest))

    def sign(
        self,
        signer: LocalAccount,
        target: ContractFacade,
        fn: str,
        *args: Any,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> SignedForwardRequest:
        """Sign a call to ``target.fn(*args)`` for anyone to relay."""
        request = self.request(signer.address, target, fn, *args, nonce=nonce, deadline=deadline)
        return self.sign_request(signer, request)

    # -- relaying -------------------------------------------------------------------
    def execute_data(self, signed: SignedForwardRequest) -> bytes:
        """Calldata of ``execute`` for ``signed``: what a relayer's transaction carries."""
        return self.codec.fn("execute").encode([signed.request.as_tuple(), signed.signature])

    def relay(
        self,
        relayer: LocalAccount,
        signed: SignedForwardRequest,
        target: ContractFacade | None = None,
    ) -> TxResult:
        """Relay a signed request; the result carries ``target``'s decoded events.

        A refusal raises the target's (or the forwarder's) named error.
        """
        receipt = self.chain.transact(relayer, self.address, self.execute_data(signed))
        events = target.decode_events(receipt) if target is not None else ()
        return TxResult(receipt, events)

    def execute_batch_data(self, signed: Sequence[SignedForwardRequest]) -> bytes:
        """Calldata of ``executeBatch`` for ``signed``, in order."""
        return self.codec.fn("executeBatch").encode(
            [[x.request.as_tuple() for x in signed], [x.signature for x in signed]]
        )

    @staticmethod
    def batch_gas(count: int) -> int:
        """The gas an ``executeBatch`` of ``count`` requests is sent with."""
        return _BATCH_GAS_BASE + BATCH_GAS_PER_REQUEST * count

    def relay_batch(
        self, relayer: LocalAccount, signed: Sequence[SignedForwardRequest]
    ) -> tuple[Receipt, list[BatchedForward]]:
        """Relay ``signed`` in one transaction; its receipt and each request's own outcome,
        in order.

        A refused request is reported by name in its outcome and leaves the others alone;
        a refusal of the whole batch (``ForwarderBatchOutOfGas``) raises.
        """
        data = self.execute_batch_data(signed)
        receipt = self.chain.transact(relayer, self.address, data, gas=self.batch_gas(len(signed)))
        return receipt, self.batch_outcomes(receipt, len(signed))

    def batch_outcomes(self, receipt: Receipt, count: int) -> list[BatchedForward]:
        """Split the receipt of an ``executeBatch`` of ``count`` requests into each request's
        own logs or its named refusal, by the Forwarder's markers.

        Raises :class:`BatchReceiptMismatch` when the receipt is not such a batch's (a marker
        missing, out of order, or logs after the last one).
        """
        outcomes: list[BatchedForward] = []
        own: list[Log] = []
        for log in receipt.logs:
            event = self.codec.decode_log(log) if log.address == self.address else None
            if event is None:
                own.append(log)
                continue
            index = int(event.args["index"])
            if index != len(outcomes):
                raise BatchReceiptMismatch(
                    f"{receipt.tx_hash}: request {index} reported where {len(outcomes)} was due"
                )
            if event.name == "RequestForwarded":
                outcomes.append(BatchedForward(index, tuple(own), None))
            else:  # RequestRefused: a refused call's own logs were undone with it
                refusal = decode_revert(bytes(event.args["reason"]), receipt.tx_hash)
                outcomes.append(BatchedForward(index, (), refusal))
            own = []
        if len(outcomes) != count or own:
            raise BatchReceiptMismatch(
                f"{receipt.tx_hash}: {len(outcomes)} of {count} requests reported"
                + (f", and {len(own)} logs after the last" if own else "")
            )
        return outcomes

    def check(
        self, relayer: str, signed: SignedForwardRequest, block: int | str = "latest"
    ) -> bytes:
        """Run the relay at ``block`` without sending it; return what the call returned.

        A request the chain would refuse raises the same named error.
        """
        fn = self.codec.fn("execute")
        out = self.chain.call(self.address, self.execute_data(signed), sender=relayer, block=block)
        (result,) = fn.decode_output(out)
        return bytes(result)

    # -- reads ----------------------------------------------------------------------
    def nonce_used(self, signer: str, nonce: int) -> bool:
        """True when ``signer`` has used ``nonce`` with this forwarder."""
        (used,) = self._read("nonceUsed", signer, nonce)
        return bool(used)

    def domain_separator(self) -> bytes:
        """The separator as the contract computes it."""
        (sep,) = self._read("domainSeparator")
        return bytes(sep)
