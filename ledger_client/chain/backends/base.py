"""The backend interface, grouped by concern."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ledger_client.chain.abi import Log
from ledger_client.errors import TransactionError


@dataclass(frozen=True, slots=True)
class Receipt:
    """A mined transaction's receipt, independent of the backend."""

    tx_hash: str  # 0x-prefixed
    block_number: int
    block_hash: str
    status: int  # 1 success, 0 reverted
    gas_used: int
    effective_gas_price: int  # wei per gas
    contract_address: str | None  # set when the transaction created a contract
    logs: tuple[Log, ...]


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """The header facts the client needs about a block."""

    number: int
    hash: str
    timestamp: int  # UNIX seconds
    transactions: tuple[str, ...]  # transaction hashes, in order
    base_fee: int  # wei


@dataclass(frozen=True, slots=True)
class KnownTransaction:
    """A transaction this client signed itself, with the fields it signed.

    A backend in this process may run it from these fields, skipping the RLP
    decoding and the signature recovery a raw transaction from outside needs.
    """

    raw: bytes  # the signed transaction, as it would be sent
    tx_hash: bytes  # keccak of ``raw``
    sender: str  # the signer's address
    nonce: int
    to: str | None  # None for a contract creation
    data: bytes
    value: int  # wei
    gas: int
    max_fee_per_gas: int  # wei
    max_priority_fee_per_gas: int  # wei


class Backend(ABC):
    """One kind of chain. Exceptions are translated into the client's here."""

    kind: ClassVar[str]
    #: True for a chain in this process (py-evm or revm): this client is then its only
    #: writer, so state it has seen change only through its own receipts.
    in_process: ClassVar[bool] = False

    # -- identity ---------------------------------------------------------------
    @property
    @abstractmethod
    def chain_id(self) -> int:
        """The chain id transactions are signed for."""

    @abstractmethod
    def describe(self) -> str:
        """``"embedded"`` or the node's URL: what a manifest records as the network."""

    # -- transactions -------------------------------------------------------------
    @abstractmethod
    def send_raw_transaction(self, raw: bytes) -> str:
        """Submit a signed transaction; return its hash.

        Raises :class:`~ledger_client.errors.TransactionError` when the node refuses it
        outright (bad nonce, fee too low), before it is mined.
        """

    def send_known_transaction(self, tx: KnownTransaction) -> str:
        """Submit a transaction this client signed; return its hash.

        By default it is sent raw; an in-process chain may trust the known fields.
        """
        return self.send_raw_transaction(tx.raw)

    def send_transactions(
        self, txs: Sequence[KnownTransaction | bytes]
    ) -> list[str | TransactionError]:
        """Submit several signed transactions in this order; each one's hash, or why the
        node refused it outright.

        An in-process chain mines them together in one block (while it mines on
        arrival); a node is simply sent them all before anyone waits for a receipt, so
        they land in one block or a few. Each keeps its own receipt, status and logs:
        one that reverts leaves the others alone, and each pays the gas it would alone
        (warm addresses and slots are per transaction).
        """
        hashes: list[str | TransactionError] = []
        for tx in txs:
            try:
                if isinstance(tx, KnownTransaction):
                    hashes.append(self.send_known_transaction(tx))
                else:
                    hashes.append(self.send_raw_transaction(tx))
            except TransactionError as exc:
                hashes.append(exc)
        return hashes

    @abstractmethod
    def wait_for_receipt(self, tx_hash: str, timeout: float = 30.0) -> Receipt:
        """The receipt of ``tx_hash``, waiting for it to be mined."""

    @abstractmethod
    def receipt_if_mined(self, tx_hash: str) -> Receipt | None:
        """The receipt of ``tx_hash`` if it is mined, else None (no waiting)."""

    @abstractmethod
    def call(self, tx: dict[str, Any], block: int | str = "latest") -> bytes:
        """Execute ``tx`` (``from``, ``to``, ``data``, ``value``) without a transaction.

        Without ``to``, ``data`` is run as a contract creation.

        Raises the named :class:`~ledger_client.errors.ContractRevert` on a revert.
        """

    @abstractmethod
    def nonce(self, address: str) -> int:
        """The next nonce of ``address``, counting pending transactions."""

    # -- chain data ---------------------------------------------------------------
    @abstractmethod
    def block_number(self) -> int:
        """The latest block's number."""

    @abstractmethod
    def block(self, number: int | str = "latest") -> BlockInfo:
        """A block's header facts."""

    @abstractmethod
    def code(self, address: str, block: int | str = "latest") -> bytes:
        """The runtime code at ``address``."""

    @abstractmethod
    def balance(self, address: str) -> int:
        """The balance of ``address`` in wei."""

    @abstractmethod
    def receipts_in_block(self, number: int) -> list[Receipt]:
        """Every receipt of block ``number``, in order (how the event index follows blocks)."""

    def blocks_with_receipts(self, start: int, stop: int) -> list[tuple[BlockInfo, list[Receipt]]]:
        """Blocks ``start`` to ``stop`` (inclusive), each with its receipts in order.

        Block by block here; a node's backend reads the range in a few round trips.
        """
        found: list[tuple[BlockInfo, list[Receipt]]] = []
        for number in range(start, stop + 1):
            info = self.block(number)
            found.append((info, self.receipts_in_block(number) if info.transactions else []))
        return found

    def transaction_input(self, tx_hash: str) -> bytes:
        """The calldata a mined transaction carried (how a test reads what is on chain)."""
        raise NotImplementedError(f"{type(self).__name__} does not read transactions back")

    # -- development controls -----------------------------------------------------
    def controls_clock(self) -> bool:
        """Whether :meth:`time_travel` can move this chain's clock. A development chain can;
        a network of sealers cannot: its blocks carry the sealers' wall-clock time."""
        return True

    @abstractmethod
    def time_travel(self, to_timestamp: int) -> None:
        """Mine a block at ``to_timestamp`` (must be later than the latest block)."""

    @abstractmethod
    def mine(self, blocks: int = 1) -> None:
        """Mine empty blocks."""

    @abstractmethod
    def set_automine(self, enabled: bool) -> None:
        """Mine each transaction on arrival (the default), or hold them until :meth:`mine`."""

    @abstractmethod
    def snapshot(self) -> Any:
        """Save the chain state; :meth:`revert` goes back to it."""

    @abstractmethod
    def revert(self, snapshot: Any) -> None:
        """Go back to a snapshot."""

    @abstractmethod
    def fund(self, address: str, wei: int) -> None:
        """Give ``address`` ether from the development faucet."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and processes; the default holds none."""
