"""What every contract facade shares: encoding, sending, reading, decoding events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_account.signers.local import LocalAccount

from ledger_client.chain.abi import ContractABI, Event, Log
from ledger_client.chain.artifacts import ContractArtifact
from ledger_client.chain.backends import Receipt
from ledger_client.chain.connection import Chain


@dataclass(frozen=True)
class TxResult:
    """A mined transaction and the events it emitted."""

    receipt: Receipt
    events: tuple[Event, ...]  # decoded events of the facade's contract, in log order

    @property
    def tx_hash(self) -> str:
        """The transaction's hash."""
        return self.receipt.tx_hash

    @property
    def gas_used(self) -> int:
        """Gas the transaction used."""
        return self.receipt.gas_used

    @property
    def block_number(self) -> int:
        """The block it was mined in."""
        return self.receipt.block_number

    def event(self, name: str) -> Event:
        """The first event called ``name``."""
        for ev in self.events:
            if ev.name == name:
                return ev
        raise KeyError(f"transaction {self.tx_hash} emitted no {name} event")


@dataclass(frozen=True, slots=True)
class Call:
    """One call of a contract, encoded and not sent: what a party signs as a ForwardRequest,
    or a relayer sends. The facades' ``*_call`` methods build them."""

    to: str  # the contract's address
    function: str  # the Solidity function's name, e.g. ``finance``
    data: bytes  # calldata: selector and arguments


class ContractFacade:
    """Base of the typed facades: one deployed contract on one chain."""

    contract_name: ClassVar[str]

    def __init__(self, chain: Chain, address: str, artifact: ContractArtifact) -> None:
        self.chain = chain
        self.address = address
        self.artifact = artifact
        self.codec: ContractABI = artifact.codec

    def _call(self, fn: str, *args: Any) -> Call:
        """``fn(*args)`` of this contract, encoded (the ABI codec checks every argument)."""
        return Call(self.address, fn, self.codec.fn(fn).encode(args))

    def _send(self, signer: LocalAccount, fn: str, *args: Any, gas: int | None = None) -> TxResult:
        return self.send_call(signer, self._call(fn, *args), gas=gas)

    def send_call(self, signer: LocalAccount, call: Call, *, gas: int | None = None) -> TxResult:
        """Send a call this facade built, signed and paid for by ``signer``."""
        receipt = self.chain.transact(signer, call.to, call.data, gas=gas)
        return TxResult(receipt, self.decode_events(receipt))

    def _read(self, fn: str, *args: Any, block: int | str = "latest") -> tuple[Any, ...]:
        f = self.codec.fn(fn)
        return f.decode_output(self.chain.call(self.address, f.encode(args), block=block))

    def wired_to(self, reference: str) -> str:
        """The contract this one was built to rely on, by the view that names it.

        ``consortium``, ``trustedForwarder``, ``disputes`` or ``attestations``, as the
        contract has them. What a view says is not proof of what the code does (a hand-made
        copy may answer a view with one address and use another):
        :func:`ledger_client.deployment.check_wiring` reads the code itself.
        """
        (address,) = self._read(reference)
        return str(address)

    def decode_events(self, receipt: Receipt) -> tuple[Event, ...]:
        """This contract's events among ``receipt``'s logs."""
        return self.decode_logs(receipt.logs)

    def decode_logs(self, logs: Iterable[Log]) -> tuple[Event, ...]:
        """This contract's events among ``logs``."""
        out = []
        for log in logs:
            if log.address.lower() == self.address.lower():
                ev = self.codec.decode_log(log)
                if ev is not None:
                    out.append(ev)
        return tuple(out)
