"""The embedded chain: eth-tester with the py-evm backend, in this process."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from eth.db.atomic import AtomicDB
from eth.exceptions import HeaderNotFound
from eth.exceptions import TransactionNotFound as EvmTransactionNotFound
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.serializers import serialize_transaction_receipt
from eth_tester.exceptions import (
    BlockNotFound,
    TransactionFailed,
    ValidationError,
)
from eth_utils.exceptions import ValidationError as EvmValidationError

from ledger_client.chain.abi import Log
from ledger_client.chain.backends._store import (
    STORE_FORMAT,
    ChainStore,
    StoreDB,
    cache_bytes_from_env,
)
from ledger_client.chain.backends.base import Backend, BlockInfo, KnownTransaction, Receipt
from ledger_client.chain.reverts import decode_revert, revert_data_from
from ledger_client.errors import LedgerConnectionError, LedgerValueError, TransactionError

_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    # eth-tester is not thread-safe; the API serves reads from several threads
    # while a worker writes, so every call into it holds the backend's lock.
    @functools.wraps(method)
    def wrapper(self: EmbeddedBackend, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _persisted(method: _F) -> _F:
    # A method that may mine: the blocks it made are written to the store before
    # it returns, so a transaction whose receipt a caller has seen survives a crash.
    @functools.wraps(method)
    def wrapper(self: EmbeddedBackend, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            finally:
                self._pin_pending_time()
                self._flush()

    return wrapper  # type: ignore[return-value]


#: The chain id py-evm's tester chain signs for.
EMBEDDED_CHAIN_ID = 131277322940537


class EmbeddedBackend(Backend):
    """eth-tester with py-evm, mining one block per transaction.

    Transactions go to eth-tester directly rather than through web3's
    provider, which is about a fifth faster on this hot path. ``get_logs`` is
    never used: on eth-tester it grows quadratically with the chain's length,
    so the event index is fed from receipts instead.
    """

    kind: ClassVar[str] = "embedded"
    in_process: ClassVar[bool] = True

    def __init__(
        self,
        genesis_timestamp: int | None = None,
        data_dir: str | Path | None = None,
        durable: bool = False,
        block_time: int | None = None,
        cache_bytes: int | None = None,
    ) -> None:
        """An in-process chain; with ``data_dir``, one kept on disk across restarts.

        ``data_dir`` holds ``chain.sqlite``: opened when it exists (the chain goes on
        from its last block), created otherwise. ``durable`` adds an fsync per block,
        so the chain also survives a power cut, not only a killed process.
        ``block_time`` makes each block exactly that many seconds after its parent,
        whatever the wall clock says (py-evm otherwise uses the wall clock when it is
        later): simulations move time only by :meth:`time_travel`, and repeat exactly.
        ``cache_bytes`` bounds the state kept in memory with ``data_dir`` (the rest is
        read from the file when needed); by default ``$CREDIT_CHAIN_STATE_CACHE_MB``,
        else 64 MiB. Without ``data_dir`` the whole chain is in memory.
        """
        self._lock = threading.RLock()
        overrides = {"timestamp": genesis_timestamp} if genesis_timestamp is not None else None
        genesis = PyEVMBackend.generate_genesis_params(overrides=overrides)
        self._pyevm = PyEVMBackend(genesis_parameters=genesis)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._store: ChainStore | None = None
        self._db: StoreDB | None = None
        if self.data_dir is not None:
            limit = cache_bytes if cache_bytes is not None else cache_bytes_from_env()
            self._open_store(self.data_dir / "chain.sqlite", durable, limit)
        self.tester = EthereumTester(self._pyevm)
        self._faucet = self.tester.get_accounts()[0]
        self._block_time = block_time
        self._pin_pending_time()

    def _pin_pending_time(self) -> None:
        if self._block_time is None:
            return
        chain = self._pyevm.chain
        wanted = chain.get_canonical_head().timestamp + self._block_time
        if chain.header.timestamp != wanted:
            chain.header = chain.header.copy(timestamp=wanted)

    def _open_store(self, path: Path, durable: bool, cache_bytes: int) -> None:
        store = ChainStore(path, durable=durable)
        chain_class = type(self._pyevm.chain)
        db = StoreDB(store, cache_bytes)
        if store.is_empty():
            db.pending.update(self._pyevm.chain.chaindb.db.wrapped_db.kv_store)
        else:
            meta = store.meta()
            if meta.get("format") != STORE_FORMAT:
                store.close()
                raise LedgerConnectionError(
                    f"{path} holds a chain store of format {meta.get('format')!r}, "
                    f"this client reads format {STORE_FORMAT}"
                )
        # py-evm's chain object is only a view of its database: rebuilt on the
        # stored one it resumes from the stored head, reading what it needs.
        self._pyevm.chain = chain_class(AtomicDB(db))
        self._store, self._db = store, db
        genesis = self._pyevm.chain.get_canonical_block_header_by_number(0)
        db.flush(
            {
                "format": STORE_FORMAT,
                "chain_id": str(EMBEDDED_CHAIN_ID),
                "genesis_hash": "0x" + genesis.hash.hex(),
            },
        )

    def _flush(self) -> None:
        if self._db is not None and self._store is not None:
            self._db.flush()

    @property
    def state_db(self) -> StoreDB | None:
        """The on-disk store py-evm reads through, with its cache (``None`` in memory)."""
        return self._db

    @property
    def chain_id(self) -> int:
        return EMBEDDED_CHAIN_ID

    def describe(self) -> str:
        return "embedded"

    # -- transactions -------------------------------------------------------------
    @_persisted
    def send_raw_transaction(self, raw: bytes) -> str:
        try:
            return str(self.tester.send_raw_transaction("0x" + raw.hex()))
        except TransactionFailed as exc:  # only with explicit gas too low to start
            raise TransactionError(f"the embedded chain refused the transaction: {exc}") from exc
        except ValidationError as exc:
            raise TransactionError(f"the embedded chain refused the transaction: {exc}") from exc

    @_persisted
    def send_transactions(
        self, txs: Sequence[KnownTransaction | bytes]
    ) -> list[str | TransactionError]:
        if not self.tester.auto_mine_transactions:
            return super().send_transactions(txs)  # held until mine(), as one by one
        # eth-tester's own hold (auto-mine off) runs each transaction on the head's
        # state and throws it away, so a sender's second nonce is refused; py-evm
        # itself applies each to the pending block on top of the ones before, and
        # one mine_blocks() then seals them all in one block.
        hashes: list[str | TransactionError] = []
        in_block = 0  # transactions applied to the pending block
        for tx in txs:
            raw = tx.raw if isinstance(tx, KnownTransaction) else tx
            for fresh in (False, True):
                try:
                    hashes.append("0x" + bytes(self._pyevm.send_raw_transaction(raw)).hex())
                    in_block += 1
                    break
                except (TransactionFailed, ValidationError, EvmValidationError) as exc:
                    if not fresh and in_block:
                        # Perhaps only the block's gas limit: seal what it holds and try
                        # once more in a new block, as a node would.
                        self.tester.mine_blocks(1)
                        in_block = 0
                        continue
                    hashes.append(
                        TransactionError(f"the embedded chain refused the transaction: {exc}")
                    )
                    break
        if in_block:
            self.tester.mine_blocks(1)
        return hashes

    @_locked
    def wait_for_receipt(self, tx_hash: str, timeout: float = 30.0) -> Receipt:
        # Auto-mining: the receipt exists as soon as send_raw_transaction returns.
        receipt = self.receipt_if_mined(tx_hash)
        if receipt is None:
            raise TransactionError(f"no receipt for {tx_hash}")
        return receipt

    @_locked
    def receipt_if_mined(self, tx_hash: str) -> Receipt | None:
        # eth-tester finds a transaction by walking every block back from the head,
        # which makes each lookup cost the chain's length; py-evm's own index of
        # transaction hashes answers at once.
        chain = self._pyevm.chain
        wanted = bytes.fromhex(tx_hash.removeprefix("0x"))
        try:
            number, index = chain.chaindb.get_transaction_index(wanted)
            # py-evm keeps the index entries, and even the number-to-block mapping, of
            # blocks a snapshot revert abandoned: trust them only up to the head, and
            # only when that block really holds this transaction there.
            if number > chain.get_canonical_head().block_number:
                return None
            block = chain.get_canonical_block_by_number(number)
        except (EvmTransactionNotFound, ValueError, HeaderNotFound):
            return None
        if index >= len(block.transactions) or block.transactions[index].hash != wanted:
            return None
        return self._receipt_at(block, index)

    def _receipt_at(self, block: Any, index: int) -> Receipt:
        chain = self._pyevm.chain
        raw = serialize_transaction_receipt(
            block,
            block.get_receipts(chain.chaindb),
            block.transactions[index],
            index,
            False,
            chain.get_vm(),
        )
        return _receipt(self.tester.normalizer.normalize_outbound_receipt(raw))

    @_locked
    def call(self, tx: dict[str, Any], block: int | str = "latest") -> bytes:
        try:
            out = self.tester.call(_tester_tx(tx, self._faucet), block)
        except TransactionFailed as exc:
            data = revert_data_from(exc)
            raise decode_revert(data or b"") from None
        except BlockNotFound as exc:
            raise LedgerValueError(f"no block {block!r} on the embedded chain") from exc
        return bytes.fromhex(str(out).removeprefix("0x"))

    @_locked
    def nonce(self, address: str) -> int:
        return int(self.tester.get_nonce(address))

    # -- chain data ---------------------------------------------------------------
    @_locked
    def block_number(self) -> int:
        return int(self.tester.get_block_by_number("latest", False)["number"])

    @_locked
    def block(self, number: int | str = "latest") -> BlockInfo:
        try:
            b = self.tester.get_block_by_number(number, False)
        except BlockNotFound as exc:
            raise LedgerValueError(f"no block {number!r} on the embedded chain") from exc
        return BlockInfo(
            number=int(b["number"]),
            hash=str(b["hash"]),
            timestamp=int(b["timestamp"]),
            transactions=tuple(str(t) for t in b["transactions"]),
            base_fee=int(b.get("base_fee_per_gas") or 0),
        )

    @_locked
    def code(self, address: str, block: int | str = "latest") -> bytes:
        return bytes.fromhex(str(self.tester.get_code(address, block)).removeprefix("0x"))

    @_locked
    def balance(self, address: str) -> int:
        return int(self.tester.get_balance(address))

    @_locked
    def receipts_in_block(self, number: int) -> list[Receipt]:
        chain = self._pyevm.chain
        if number > chain.get_canonical_head().block_number:
            raise LedgerValueError(f"no block {number} on the embedded chain")
        try:
            block = chain.get_canonical_block_by_number(number)
        except HeaderNotFound as exc:
            raise LedgerValueError(f"no block {number} on the embedded chain") from exc
        return [self._receipt_at(block, i) for i in range(len(block.transactions))]

    @_locked
    def transaction_input(self, tx_hash: str) -> bytes:
        try:
            tx = self.tester.get_transaction_by_hash(tx_hash)
        except Exception as exc:  # eth-tester's TransactionNotFound and hash validation
            raise LedgerValueError(f"no transaction {tx_hash} on the embedded chain") from exc
        return bytes.fromhex(str(tx.get("input", tx.get("data", "0x")))[2:])

    # -- development controls -----------------------------------------------------
    @_persisted
    def time_travel(self, to_timestamp: int) -> None:
        latest = self.block().timestamp
        if to_timestamp <= latest:
            raise LedgerValueError(
                f"cannot travel to {to_timestamp}: the latest block is at {latest}"
            )
        # eth-tester's own time_travel mines the block one second short of the
        # target in this version; setting the pending header's time is exact.
        chain = self._pyevm.chain
        chain.header = chain.header.copy(timestamp=to_timestamp)
        self.tester.mine_blocks()

    @_persisted
    def mine(self, blocks: int = 1) -> None:
        self.tester.mine_blocks(blocks)

    @_locked
    def set_automine(self, enabled: bool) -> None:
        if enabled:
            self.tester.enable_auto_mine_transactions()
        else:
            self.tester.disable_auto_mine_transactions()

    @_locked
    def snapshot(self) -> Any:
        return self.tester.take_snapshot()

    @_persisted
    def revert(self, snapshot: Any) -> None:
        self.tester.revert_to_snapshot(snapshot)

    @_persisted
    def fund(self, address: str, wei: int) -> None:
        tx_hash = self.tester.send_transaction(
            {"from": self._faucet, "to": address, "value": wei, "gas": 21_000}
        )
        if self.tester.get_transaction_receipt(tx_hash)["status"] != 1:
            raise TransactionError(f"funding {address} failed")

    def close(self) -> None:
        """Write what is left and close the store."""
        with self._lock:
            self._flush()
            if self._store is not None:
                self._store.close()
                self._store = None


def _tester_tx(tx: dict[str, Any], sender: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "data": "0x" + bytes(tx.get("data", b"")).hex(),
        # eth-tester insists on a sender that can pay for the call's gas, even for a
        # read; a node assumes the zero address and free gas.
        "from": tx.get("from") or sender,
    }
    if tx.get("to"):  # absent for a contract creation
        out["to"] = tx["to"]
    if tx.get("value"):
        out["value"] = int(tx["value"])
    return out


def _receipt(r: dict[str, Any]) -> Receipt:
    logs = tuple(
        Log(
            address=str(lg["address"]),
            topics=tuple(bytes.fromhex(t[2:]) for t in lg["topics"]),
            data=bytes.fromhex(str(lg["data"])[2:]),
            block_number=int(lg["block_number"]),
            tx_hash=str(lg["transaction_hash"]),
            log_index=int(lg["log_index"]),
        )
        for lg in r["logs"]
    )
    return Receipt(
        tx_hash=str(r["transaction_hash"]),
        block_number=int(r["block_number"]),
        block_hash=str(r["block_hash"]),
        status=int(r["status"]),
        gas_used=int(r["gas_used"]),
        effective_gas_price=int(r.get("effective_gas_price") or 0),
        contract_address=r.get("contract_address") or None,
        logs=logs,
    )
