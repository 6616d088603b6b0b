"""The embedded chain on revm (PyPI ``pyrevm``): the same chain as py-evm, many times faster.

revm executes; this module is the node around it: a transaction pool, blocks,
receipts and logs, EIP-1559 fees, time, snapshots, calls at old blocks and a
store on disk. It mines the same chain id, faucet, block numbers, timestamps and
base fees as :class:`~ledger_client.chain.backends.embedded.EmbeddedBackend`, so the
same transactions carry byte for byte the same calldata and cost the same gas
(tests/ledger_client/test_engines.py compares every operation ``bench gas`` measures).
py-evm runs Prague; revm 8 (inside pyrevm 0.3.7) knows Cancun, whose opcode
prices are Prague's, and the one Prague rule about gas that the client's
transactions can meet, EIP-7623's calldata floor, is applied here. BASEFEE and
GASPRICE read 0 inside revm (pyrevm runs calls at price 0 and the fee is settled
here); no contract of this project reads either.

pyrevm 0.3.7 runs each call on one long-lived journal that is never finalised:
every account and slot a call touched stays *warm* for the next call, and a
slot's "original value" (which prices ``SSTORE``, EIP-2200) stays the one it had
before the first call. Real chains start every transaction cold (EIP-2929).
So each transaction runs inside a journal checkpoint; the state it left is read
from the journal, the checkpoint is reverted (everything cold again), and that
state is written into revm's database underneath the journal, where the next
transaction loads it cold, as on any node.

A chain kept in a data directory holds its whole state and every block in memory,
unless given a cache bound (``cache_bytes=`` or ``$CREDIT_CHAIN_STATE_CACHE_MB``,
py-evm's setting). Then it reads on demand: pyrevm 0.3.7 reads state only from its
memory or a JSON-RPC ``fork_url``, blocking with the GIL held, so a child process
(:class:`~ledger_client.chain.backends._revm_state.StateServer`) serves the SQLite
store to revm; what revm read through it and what this backend wrote is revm's
cache, and past the bound revm is recreated empty (the store has everything: it is
written after every block, before the look). Blocks and transactions are read from
the store too, the last :data:`HELD_BLOCKS` kept decoded. It is not the default
because an uncached slot costs a round trip (~0.4 ms): writes run at about half the
rate (benchmarks/bench-state-store-revm-2026-12-03.json).
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_hash.auto import keccak
from hexbytes import HexBytes
from pyrevm import EVM, AccountInfo, BlockEnv, CfgEnv, Env

from ledger_client.addresses import to_checksum_address
from ledger_client.chain.abi import Log
from ledger_client.chain.backends._revm_state import StateServer
from ledger_client.chain.backends._revm_store import REVM_STORE_FORMAT, AccountRow, RevmStore
from ledger_client.chain.backends._store import CACHE_VARIABLE, cache_bytes_from_env
from ledger_client.chain.backends._txcodec import rlp_decode, rlp_encode
from ledger_client.chain.backends.base import Backend, BlockInfo, KnownTransaction, Receipt
from ledger_client.chain.reverts import decode_revert
from ledger_client.errors import LedgerConnectionError, LedgerValueError, TransactionError

_F = TypeVar("_F", bound=Callable[..., Any])

#: The chain id of py-evm's tester chain: the same signatures, hence the same calldata.
REVM_CHAIN_ID = 131277322940537
#: eth-tester's block gas limit and genesis base fee (wei), so fees and GASLIMIT agree.
BLOCK_GAS_LIMIT = 30_029_122
GENESIS_BASE_FEE = 1_000_000_000
#: eth-tester's first development account (private key 1): the faucet.
FAUCET_KEY = b"\x00" * 31 + b"\x01"
FAUCET_BALANCE = 1_000_000 * 10**18
COINBASE = "0x" + "00" * 20
ZERO_ADDRESS = "0x" + "00" * 20  # the sender of a call that names none
KECCAK_EMPTY = keccak(b"")

# Transaction gas rules (EIP-2028 calldata, EIP-3860 init code, EIP-7623 floor).
_TX_GAS = 21_000
_CREATE_GAS = 32_000
_FLOOR_PER_TOKEN = 10

# What one cached key costs revm and this backend, estimated: a slot is two 32-byte
# words in revm's hash map and the server's set; an account, its info, its entry in
# revm's map and this backend's dict. Code is counted by its length besides.
_SLOT_BYTES = 160
_ACCOUNT_BYTES = 400
#: On demand, how many blocks may pass between two looks at the cache's size while it
#: is under half its bound.
CACHE_CHECK_BLOCKS = 32
#: On demand, how many recently used blocks stay decoded in memory (a few KiB each).
HELD_BLOCKS = 256

_ACCOUNT_SPLIT = "Account { info: AccountInfo { balance: "
_ACCOUNT_HEAD = re.compile(r"(\d+), nonce: (\d+), code_hash: 0x([0-9a-f]{64}),")
_SLOT = re.compile(
    r"\b(\d+): StorageSlot \{ previous_or_original_value: (\d+), present_value: (\d+) \}"
)
_STATUS = re.compile(r"status: AccountStatus\(([^)]*)\)")
_FAILURE = re.compile(r"^(Revert|Halt) \{")
_REVERT_OUTPUT = re.compile(r"output: 0x([0-9a-f]*)")


def _locked(method: _F) -> _F:
    # pyrevm's EVM is one mutable object; the API reads from several threads
    # while a worker writes, so every call into it holds the backend's lock.
    @functools.wraps(method)
    def wrapper(self: RevmBackend, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass(slots=True)
class _Tx:
    """A transaction the pool holds: decoded, its sender known."""

    tx_hash: bytes
    raw: bytes
    sender: str  # lowercase 0x address
    nonce: int
    to: str | None
    data: bytes
    value: int
    gas: int
    max_fee: int
    priority_fee: int


@dataclass(slots=True)
class _Block:
    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int
    base_fee: int
    gas_used: int
    tx_hashes: list[bytes]
    receipts: list[Receipt]
    receipts_root: bytes = b""  # keccak of the RLP of the receipts: part of the hash
    raws: list[bytes] = field(default_factory=list)  # the signed transactions, in order
    # What the block overwrote, newest last: ("a", address, old account or None) and
    # ("s", address, slot, old value). Undone in reverse by revert() and old-block calls.
    undo: list[tuple[Any, ...]] = field(default_factory=list)


class _Blocks:
    """The chain's blocks by number: all in memory, or, given a store, the most
    recently used ``keep`` of them, the rest read back from the store when asked for.

    On demand, every block but the one being mined is in the store (the backend
    flushes after each block), and the newest is the last one evicted.
    """

    def __init__(self, store: RevmStore | None = None, keep: int = 0) -> None:
        self._store = store
        self._keep = keep
        self._held: OrderedDict[int, _Block] = OrderedDict()
        self._length = store.block_count() if store is not None else 0

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, number: int) -> _Block:
        if number < 0:
            number += self._length
        if not 0 <= number < self._length:
            raise IndexError(number)
        block = self._held.get(number)
        if block is not None:
            if self._store is not None:
                self._held.move_to_end(number)
            return block
        assert self._store is not None, "a block in memory is never evicted"
        header, receipts, undo = self._store.block(number)
        block = _decode_block(number, header, receipts, undo)
        self._hold(block)
        return block

    def after(self, number: int) -> list[_Block]:
        """The blocks after ``number``, oldest first."""
        return [self[n] for n in range(number + 1, self._length)]

    def append(self, block: _Block) -> None:
        """The next block."""
        self._length += 1
        self._hold(block)

    def truncate(self, number: int) -> None:
        """Forget the blocks after ``number``."""
        self._length = number + 1
        for held in [n for n in self._held if n > number]:
            del self._held[held]

    def _hold(self, block: _Block) -> None:
        self._held[block.number] = block
        while self._store is not None and len(self._held) > self._keep:
            self._held.popitem(last=False)


@dataclass(slots=True)
class _Account:
    balance: int
    nonce: int
    code_hash: bytes


@dataclass(slots=True)
class _Effects:
    """What one executed transaction changed, read from revm's journal."""

    accounts: dict[str, _Account]
    storage: list[tuple[str, int, int, int]]  # address, slot, old value, new value
    created: dict[str, bytes]  # address -> runtime code


class RevmBackend(Backend):
    """revm in this process, mining one block per transaction unless told to hold them.

    Blocks carry the parent's hash, number, timestamp, base fee, gas used and
    commitments to their transactions and receipts; revm keeps no state trie,
    so a header has no state root. Calls at an old block undo the state written
    since, inside a journal checkpoint, and revert it afterwards.
    """

    kind: ClassVar[str] = "revm"
    in_process: ClassVar[bool] = True

    def __init__(
        self,
        genesis_timestamp: int | None = None,
        data_dir: str | Path | None = None,
        durable: bool = False,
        block_time: int | None = None,
        cache_bytes: int | None = None,
    ) -> None:
        """An in-process revm chain; with ``data_dir``, one kept on disk across restarts.

        The options mean what they mean for :class:`EmbeddedBackend`: ``data_dir``
        holds ``chain.sqlite``, ``durable`` adds an fsync per block, ``block_time``
        makes each block exactly that many seconds after its parent. ``cache_bytes``
        (or ``$CREDIT_CHAIN_STATE_CACHE_MB``), with ``data_dir``, reads state from
        the store on demand through a state server (see :class:`StateServer`) and
        bounds what the EVM caches; without either, the whole state is in memory.
        """
        self._lock = threading.RLock()
        self._server: StateServer | None = None
        self._cache_limit = 0
        self.data_dir = Path(data_dir) if data_dir is not None else None
        if self.data_dir is not None and (cache_bytes is not None or _cache_asked()):
            self._cache_limit = cache_bytes if cache_bytes is not None else cache_bytes_from_env()
            if self._cache_limit < 0:
                raise LedgerValueError(f"a state cache of {self._cache_limit} bytes is not a size")
        self._evm = self._new_evm()
        # Accounts and code by address. In memory, all of them; on demand, those read or
        # written since the EVM was created (None: known to have no account).
        self._accounts: dict[str, _Account | None] = {}
        self._codes: dict[str, bytes] = {}
        self._written_slots = 0  # slots written since the EVM was created: part of its cache
        # What cached_state_bytes() said when last asked: unknown (so asked after the
        # next block) until then.
        self._cache_seen = self._cache_limit
        self._held_seen = 0  # _held_bytes() then
        self._blocks_unchecked = 0  # blocks flushed since it was asked
        self._blocks = _Blocks()
        # Where each transaction is: all of them in memory; on demand, those not yet
        # flushed (the store's transaction table answers for the rest).
        self._tx_index: dict[bytes, tuple[int, int]] = {}
        self._pending: list[_Tx] = []
        self._automine = True
        self._block_time = block_time
        self._block_env_for: int | None = None
        self._faucet = Account.from_key(FAUCET_KEY)
        self._snapshots: dict[int, tuple[int, bytes]] = {}
        self._snapshot_ids = 0
        self._unwritten: list[_Block] = []
        self._dirty_accounts: set[str] = set()
        self._dirty_slots: dict[tuple[str, int], int] = {}
        self._dropped_after: int | None = None
        self._store: RevmStore | None = None
        if self.data_dir is not None:
            self._store = RevmStore(self.data_dir / "chain.sqlite", durable=durable)
            if self._cache_limit:
                try:
                    self._server = StateServer(self._store.path)
                except BaseException:
                    self._store.close()
                    raise
                self._evm = self._new_evm()
                self._blocks = _Blocks(self._store, HELD_BLOCKS)
            meta = self._store.meta()
            if meta:
                try:
                    self._load(meta)
                except BaseException:
                    self.close()
                    raise
                return
        self._genesis(genesis_timestamp)

    # -- genesis and the store -------------------------------------------------------
    def _genesis(self, timestamp: int | None) -> None:
        faucet = self._faucet.address.lower()
        self._write_account(faucet, _Account(FAUCET_BALANCE, 0, KECCAK_EMPTY), None)
        genesis = _Block(
            number=0,
            hash=b"",
            parent_hash=b"\x00" * 32,
            timestamp=int(time.time()) if timestamp is None else timestamp,
            base_fee=GENESIS_BASE_FEE,
            gas_used=0,
            tx_hashes=[],
            receipts=[],
        )
        genesis.hash = _block_hash(genesis, _receipts_commitment([], GENESIS_BASE_FEE))
        self._blocks.append(genesis)
        self._unwritten.append(genesis)
        self._flush(
            {
                "format": REVM_STORE_FORMAT,
                "chain_id": str(REVM_CHAIN_ID),
                "genesis_hash": "0x" + genesis.hash.hex(),
            }
        )

    def _load(self, meta: dict[str, str]) -> None:
        # The store refused another engine's file on opening; this one is ours.
        assert self._store is not None
        if meta.get("chain_id") != str(REVM_CHAIN_ID):
            raise LedgerConnectionError(
                f"{self._store.path} holds chain {meta.get('chain_id')}, not {REVM_CHAIN_ID}"
            )
        if self._server is not None:
            # On demand, nothing: the state server reads each key from the store when
            # revm first needs it, and blocks and transactions are read when asked for.
            return
        # In memory: the whole state, into revm's database, and every block.
        for address, balance, nonce, code_hash, code in self._store.accounts():
            key = "0x" + address.hex()
            self._write_account(key, _Account(balance, nonce, code_hash), code)
        for address, slot, value in self._store.storage():
            self._write_slot("0x" + address.hex(), int.from_bytes(slot), int.from_bytes(value))
        for number, header, receipts, undo in self._store.blocks():
            self._blocks.append(_decode_block(number, header, receipts, undo))
        for tx_hash, number, index, raw in self._store.transactions():
            self._tx_index[tx_hash] = (number, index)
            raws = self._blocks[number].raws
            raws.extend([b""] * (index + 1 - len(raws)))
            raws[index] = raw
        self._dirty_accounts.clear()
        self._dirty_slots.clear()

    def _flush(self, meta: dict[str, str] | None = None, bound: bool = True) -> None:
        # Every block mined since the last flush, with the state it left, in one
        # SQLite transaction: a receipt a caller has seen survives a crash.
        if self._store is None:
            self._unwritten.clear()
            return
        blocks: list[tuple[int, bytes, bytes, bytes]] = []
        txs: list[tuple[bytes, int, int, bytes]] = []
        for block in self._unwritten:
            blocks.append(
                (block.number, _encode_header(block), _encode_receipts(block), _encode_undo(block))
            )
            txs.extend((h, block.number, i, block.raws[i]) for i, h in enumerate(block.tx_hashes))
        accounts: list[AccountRow] = []
        dropped: list[bytes] = []
        for address in self._dirty_accounts:
            acct = self._accounts.get(address)
            if acct is None:
                dropped.append(bytes.fromhex(address[2:]))
            else:
                code = self._code_of(address, acct) or None
                accounts.append(
                    (bytes.fromhex(address[2:]), acct.balance, acct.nonce, acct.code_hash, code)
                )
        storage = [
            (bytes.fromhex(a[2:]), slot.to_bytes(32), value.to_bytes(32))
            for (a, slot), value in self._dirty_slots.items()
        ]
        if blocks or accounts or dropped or storage or meta or self._dropped_after is not None:
            self._store.write_blocks(
                blocks,
                txs,
                accounts=accounts,
                dropped_accounts=dropped,
                storage=storage,
                meta=meta,
                drop_after=self._dropped_after,
            )
        self._unwritten.clear()
        self._dirty_accounts.clear()
        self._dirty_slots.clear()
        self._dropped_after = None
        if self._server is not None:
            self._tx_index.clear()  # on disk now: the store answers for them
        if self._server is not None and bound:
            self._bound_cache()

    # -- revm's database under the journal ------------------------------------------------
    def _new_evm(self) -> EVM:
        # On demand, revm reads every key it has not cached from the state server;
        # "latest" spares the eth_blockNumber call revm would make to pick a block.
        server = self._server
        return EVM(
            env=Env(cfg=CfgEnv(chain_id=REVM_CHAIN_ID)),
            gas_limit=BLOCK_GAS_LIMIT,
            spec_id="CANCUN",
            fork_url=None if server is None else server.url,
            fork_block=None if server is None else "latest",
        )

    @property
    def state_server(self) -> StateServer | None:
        """The state server revm reads from, when the state is read on demand."""
        return self._server

    @property
    def cache_limit(self) -> int:
        """The bound of :meth:`cached_state_bytes` on demand; 0 with the state in memory."""
        return self._cache_limit

    @_locked
    def cached_state_bytes(self) -> int:
        """What revm and this backend cache of the state, in (estimated) bytes.

        The keys the state server served since the EVM was created (read through
        revm's cache), plus the keys written since: revm's database holds exactly
        those. A key both read and written is counted twice, so this errs high.
        """
        assert self._server is not None
        accounts, slots, code_bytes = self._server.fetched()
        return accounts * _ACCOUNT_BYTES + slots * _SLOT_BYTES + code_bytes + self._held_bytes()

    def _held_bytes(self) -> int:
        # This backend's part, known without asking the server: accounts and code it
        # read or wrote, slots it wrote.
        return (
            len(self._accounts) * _ACCOUNT_BYTES
            + self._written_slots * _SLOT_BYTES
            + sum(len(c) for c in self._codes.values())
        )

    def _bound_cache(self) -> None:
        # Asking the server costs a round trip (~0.25 ms, a tenth of an attestation).
        # Below half the bound at the last look, look again only after
        # CACHE_CHECK_BLOCKS blocks or once this backend's own part has grown enough
        # that, with as much again read, it would pass half; else after every block.
        self._blocks_unchecked += 1
        held = self._held_bytes()
        if (
            self._blocks_unchecked < CACHE_CHECK_BLOCKS
            and self._cache_seen + 2 * (held - self._held_seen) < self._cache_limit // 2
        ):
            return
        self._blocks_unchecked = 0
        self._cache_seen = self.cached_state_bytes()
        if self._cache_seen > self._cache_limit:
            self._recreate_evm()
            self._cache_seen = self._cache_limit  # look again after the next block
        self._held_seen = self._held_bytes()

    def _check_server(self, exc: RuntimeError) -> None:
        # revm reports a state read that failed as any other error: when the state
        # server is gone, say so rather than blame the transaction or the call.
        if self._server is not None and not self._server.running():
            raise LedgerConnectionError(
                f"the revm chain's state server (pid {self._server.pid}) has stopped: {exc}"
            ) from exc

    def _recreate_evm(self) -> None:
        # Everything the old EVM held is in the store (the flush came first); the new
        # one starts empty and reads what it needs, so the cache is bounded.
        assert self._server is not None
        assert not self._unwritten
        assert not self._dirty_slots
        self._server.reset()
        self._evm = self._new_evm()
        self._accounts.clear()
        self._codes.clear()
        self._written_slots = 0
        self._block_env_for = None
        self.evm_recreations += 1

    evm_recreations = 0  #: how many times the EVM was recreated to bound its cache

    def _write_account(self, address: str, acct: _Account | None, code: bytes | None) -> None:
        # A cold account (not in the journal, as between transactions) is written
        # straight into the database: insert_account_info does exactly that.
        self._dirty_accounts.add(address)
        if acct is None:
            self._set_account(address, None)
            self._codes.pop(address, None)
            self._evm.insert_account_info(address, _account_info())
            return
        self._accounts[address] = acct
        if code is not None:
            self._codes[address] = code
        self._evm.insert_account_info(address, self._info(address, acct, code))

    def _set_account(self, address: str, acct: _Account | None) -> None:
        if acct is None and self._server is None:
            self._accounts.pop(address, None)
        else:
            self._accounts[address] = acct

    def _info(self, address: str, acct: _Account, code: bytes | None = None) -> AccountInfo:
        # revm's fork database cannot look code up by hash (EthersDB panics): on
        # demand, an account with code is always written with it.
        if code is None and self._server is not None and acct.code_hash != KECCAK_EMPTY:
            code = self._code_of(address, acct)
        return _account_info(
            balance=acct.balance, nonce=acct.nonce, code_hash=acct.code_hash, code=code
        )

    def _write_slot(self, address: str, slot: int, value: int) -> None:
        # insert_account_storage writes a cold account's slot to the database, then
        # loads the account into the journal (warm): the checkpoint around it takes
        # that load back out.
        self._dirty_slots[(address, slot)] = value
        self._written_slots += 1
        checkpoint = self._evm.snapshot()
        self._evm.insert_account_storage(address, slot, value)
        self._evm.revert(checkpoint)

    def _account_or_none(self, address: str) -> _Account | None:
        if address in self._accounts:
            return self._accounts[address]
        if self._server is None or self._store is None:
            return None
        # On demand: the store holds every account not written since the last flush.
        row = self._store.account(bytes.fromhex(address[2:]))
        acct = None if row is None else _Account(row[0], row[1], row[2])
        self._accounts[address] = acct
        return acct

    def _account(self, address: str) -> _Account:
        acct = self._account_or_none(address)
        return acct if acct is not None else _Account(0, 0, KECCAK_EMPTY)

    def _code_of(self, address: str, acct: _Account | None) -> bytes:
        # An account's code follows from its code hash: none when the hash is empty's.
        if acct is None or acct.code_hash == KECCAK_EMPTY:
            return b""
        code = self._codes.get(address)
        if code is None and self._server is not None and self._store is not None:
            code = self._store.code(bytes.fromhex(address[2:])) or b""
            self._codes[address] = code
        return code or b""

    # -- identity -------------------------------------------------------------------------
    @property
    def chain_id(self) -> int:
        return REVM_CHAIN_ID

    def describe(self) -> str:
        # An in-process chain like py-evm's: manifests record the same network name.
        return "embedded"

    # -- transactions -----------------------------------------------------------------------
    @_locked
    def send_raw_transaction(self, raw: bytes) -> str:
        tx = _decode_raw(raw)
        self._accept(tx)
        return "0x" + tx.tx_hash.hex()

    @_locked
    def send_known_transaction(self, tx: KnownTransaction) -> str:
        # The client signed it in this process: its fields and sender are known, so
        # neither RLP decoding nor signature recovery is needed.
        self._accept(
            _Tx(
                tx_hash=tx.tx_hash,
                raw=tx.raw,
                sender=tx.sender.lower(),
                nonce=tx.nonce,
                to=tx.to.lower() if tx.to else None,
                data=tx.data,
                value=tx.value,
                gas=tx.gas,
                max_fee=tx.max_fee_per_gas,
                priority_fee=tx.max_priority_fee_per_gas,
            )
        )
        return "0x" + tx.tx_hash.hex()

    @_locked
    def send_transactions(
        self, txs: Sequence[KnownTransaction | bytes]
    ) -> list[str | TransactionError]:
        # Held, then mined as one block: one block's header, receipts commitment,
        # store flush and event-index step for the lot instead of one each.
        automine, self._automine = self._automine, False
        try:
            hashes = super().send_transactions(txs)
            while automine and self._pending:
                # With automine off a transaction it cannot run is left out of the
                # block (no receipt) rather than raised: the others still go in. A
                # block holds what fits its gas limit; the rest go in the next.
                self._mine_pending(self._next_block_timestamp())
        finally:
            self._automine = automine
        return hashes

    def _accept(self, tx: _Tx) -> None:
        if self._tx_where(tx.tx_hash) is not None or any(
            p.tx_hash == tx.tx_hash for p in self._pending
        ):
            raise TransactionError(f"the revm chain already has transaction 0x{tx.tx_hash.hex()}")
        expected = self._account(tx.sender).nonce + sum(
            1 for p in self._pending if p.sender == tx.sender
        )
        if tx.nonce != expected:
            raise TransactionError(
                f"the revm chain refused the transaction: nonce {tx.nonce}, expected {expected}"
            )
        floor, intrinsic = _intrinsic_gas(tx.data, tx.to is None)
        if tx.gas < max(floor, intrinsic):
            raise TransactionError(
                f"the revm chain refused the transaction: gas {tx.gas} is below the "
                f"intrinsic {max(floor, intrinsic)}"
            )
        if tx.gas > BLOCK_GAS_LIMIT:
            raise TransactionError(
                f"the revm chain refused the transaction: gas {tx.gas} exceeds the block's "
                f"limit {BLOCK_GAS_LIMIT}"
            )
        if tx.priority_fee > tx.max_fee:
            raise TransactionError(
                "the revm chain refused the transaction: priority fee above the fee cap"
            )
        self._pending.append(tx)
        if self._automine:
            self._mine_pending(self._next_block_timestamp())

    def _next_block_timestamp(self) -> int:
        parent = self._blocks[-1].timestamp
        if self._block_time is not None:
            return parent + self._block_time
        return max(int(time.time()), parent + 1)

    @_locked
    def wait_for_receipt(self, tx_hash: str, timeout: float = 30.0) -> Receipt:
        # Mined on arrival (or held until mine()): nothing arrives by waiting.
        receipt = self.receipt_if_mined(tx_hash)
        if receipt is None:
            raise TransactionError(f"no receipt for {tx_hash}")
        return receipt

    @_locked
    def receipt_if_mined(self, tx_hash: str) -> Receipt | None:
        where = self._tx_where(bytes.fromhex(tx_hash.removeprefix("0x")))
        if where is None:
            return None
        number, index = where
        return self._blocks[number].receipts[index]

    def _tx_where(self, tx_hash: bytes) -> tuple[int, int] | None:
        where = self._tx_index.get(tx_hash)
        if where is None and self._server is not None and self._store is not None:
            found = self._store.transaction(tx_hash)
            where = None if found is None else (found[0], found[1])
        return where

    @_locked
    def call(self, tx: dict[str, Any], block: int | str = "latest") -> bytes:
        at = self._block_number_of(block)
        sender = str(tx.get("from") or ZERO_ADDRESS).lower()
        data = bytes(tx.get("data", b""))
        value = int(tx.get("value") or 0)
        to = tx.get("to")
        checkpoint = self._evm.snapshot()
        try:
            self._undo_to(at)
            self._set_block_env(self._blocks[at], at)
            try:
                if to:
                    return bytes(self._evm.message_call(sender, str(to).lower(), data, value))
                address = self._evm.deploy(sender, data, value)
                return self._runtime_code(address)
            except RuntimeError as exc:
                self._check_server(exc)
                raise _revert_of(exc) from None
        finally:
            self._evm.revert(checkpoint)
            self._block_env_for = None

    def _block_number_of(self, block: int | str) -> int:
        head = len(self._blocks) - 1
        if block in ("latest", "pending", "safe", "finalized"):
            return head
        if block == "earliest":
            return 0
        if isinstance(block, int) and 0 <= block <= head:
            return block
        raise LedgerValueError(f"no block {block!r} on the embedded chain")

    def _undo_to(self, number: int) -> None:
        # Inside a journal checkpoint: load each account (journaled), then put back
        # the values the blocks after ``number`` overwrote; the checkpoint's revert
        # takes all of it out again, leaving the database as it was. Each key is put
        # back once, to the value it had after ``number``: the oldest overwrite's.
        accounts: dict[str, _Account | None] = {}
        slots: dict[tuple[str, int], int] = {}
        for block in reversed(self._blocks.after(number)):
            for entry in reversed(block.undo):
                if entry[0] == "s":
                    slots[(entry[1], entry[2])] = entry[3]
                else:
                    accounts[entry[1]] = entry[2]
        evm = self._evm
        for address, old in accounts.items():
            evm.basic(address)
            if old is None:
                evm.insert_account_info(address, _account_info())
            else:
                evm.insert_account_info(address, self._info(address, old))
        for (address, slot), value in slots.items():
            evm.basic(address)
            evm.insert_account_storage(address, slot, value)

    @_locked
    def nonce(self, address: str) -> int:
        key = address.lower()
        return self._account(key).nonce + sum(1 for p in self._pending if p.sender == key)

    # -- mining ---------------------------------------------------------------------------
    def _set_block_env(self, block: _Block, number: int) -> None:
        if self._block_env_for == number:
            return
        self._evm.set_block_env(
            BlockEnv(
                number=block.number,
                coinbase=COINBASE,
                timestamp=block.timestamp,
                basefee=block.base_fee,
                gas_limit=BLOCK_GAS_LIMIT,
                prevrandao=block.parent_hash,
            )
        )
        self._block_env_for = number

    def _mine_pending(self, timestamp: int) -> None:
        parent = self._blocks[-1]
        number = parent.number + 1
        base_fee = _next_base_fee(parent.base_fee, parent.gas_used)
        pending, self._pending = self._pending, []
        block = _Block(
            number=number,
            hash=b"",
            parent_hash=parent.hash,
            timestamp=timestamp,
            base_fee=base_fee,
            gas_used=0,
            tx_hashes=[],
            receipts=[],
        )
        self._set_block_env(block, -number)  # the pending block: never a mined number
        results: list[tuple[_Tx, int, int, str | None, list[Any]]] = []
        raws: list[bytes] = []
        for position, tx in enumerate(pending):
            if block.tx_hashes and block.gas_used + tx.gas > BLOCK_GAS_LIMIT:
                # Full, as a node's block is: the rest wait for the next block.
                self._pending = pending[position:]
                break
            try:
                if tx.max_fee < base_fee:
                    raise TransactionError(
                        f"the revm chain refused the transaction: fee cap {tx.max_fee} wei "
                        f"is below the base fee {base_fee}"
                    )
                status, gas_used, contract, logs = self._execute(tx, base_fee, block.undo)
            except TransactionError:
                if len(pending) == 1 and self._automine:
                    # Refused on arrival, as a node refuses it: no block is mined.
                    self._block_env_for = None
                    raise
                continue  # a node leaves a transaction it cannot run out of the block
            block.gas_used += gas_used
            block.tx_hashes.append(tx.tx_hash)
            results.append((tx, status, gas_used, contract, logs))
            raws.append(tx.raw)
        self._block_env_for = None
        # The hash commits to the receipts' content; the receipts then name the hash.
        block.hash = _block_hash(block, _receipts_commitment(results, base_fee))
        block_hash = "0x" + block.hash.hex()
        log_index = 0
        for index, (tx, status, gas_used, contract, logs) in enumerate(results):
            tx_hash = "0x" + tx.tx_hash.hex()
            out_logs = []
            for address, topics, data in logs:
                out_logs.append(
                    Log(
                        address=_checksum(address),
                        topics=tuple(topics),
                        data=data,
                        block_number=number,
                        tx_hash=tx_hash,
                        log_index=log_index,
                    )
                )
                log_index += 1
            block.receipts.append(
                Receipt(
                    tx_hash=tx_hash,
                    block_number=number,
                    block_hash=block_hash,
                    status=status,
                    gas_used=gas_used,
                    effective_gas_price=min(tx.max_fee, base_fee + tx.priority_fee),
                    contract_address=_checksum(contract) if contract else None,
                    logs=tuple(out_logs),
                )
            )
            self._tx_index[tx.tx_hash] = (number, index)
        self._blocks.append(block)
        block.raws = raws
        self._unwritten.append(block)
        self._flush()

    def _execute(
        self, tx: _Tx, base_fee: int, undo: list[tuple[Any, ...]]
    ) -> tuple[int, int, str | None, list[Any]]:
        """Run ``tx`` cold, write what it changed under the journal; return its outcome."""
        evm = self._evm
        sender = self._account(tx.sender)
        price = min(tx.max_fee, base_fee + tx.priority_fee)
        if sender.balance < tx.gas * tx.max_fee + tx.value:
            raise TransactionError(
                f"the revm chain refused the transaction: {tx.sender} cannot pay "
                f"{tx.gas} gas at {tx.max_fee} wei plus {tx.value} wei"
            )
        # The gas is bought up front, as a node does, so code that reads the sender's
        # balance sees it without the gas; what is left over is paid back after.
        bought = _Account(sender.balance - tx.gas * price, sender.nonce, sender.code_hash)
        evm.insert_account_info(tx.sender, self._info(tx.sender, bought))
        floor, _ = _intrinsic_gas(tx.data, tx.to is None)
        evm.reset_transient_storage()
        checkpoint = evm.snapshot()
        contract: str | None = None
        status, logs = 1, []
        try:
            if tx.to is not None:
                evm.message_call(tx.sender, tx.to, tx.data, tx.value, tx.gas)
            else:
                contract = evm.deploy(tx.sender, tx.data, tx.value, tx.gas)
        except RuntimeError as exc:
            if evm.result is None or not _FAILURE.match(str(exc)):
                evm.revert(checkpoint)
                evm.insert_account_info(tx.sender, self._info(tx.sender, sender))
                self._check_server(exc)
                raise TransactionError(f"the revm chain refused the transaction: {exc}") from exc
            status = 0
        result = evm.result
        assert result is not None
        gas_used = max(int(result.gas_used), floor)
        if status == 1:
            # pyrevm gives each log's (topics, data) as its data.
            logs = [(lg.address, *lg.data) for lg in result.logs]
        effects = self._effects(evm.journal_str)
        evm.revert(checkpoint)
        if tx.to is None:
            contract = contract or _create_address(tx.sender, tx.nonce)
        # The sender: what the transaction left, its unused gas paid back, its nonce
        # spent once (revm bumps it for a creation, pyrevm's message_call never does).
        after = effects.accounts.get(tx.sender) or bought
        after.nonce = sender.nonce + 1
        after.balance += (tx.gas - gas_used) * price
        effects.accounts[tx.sender] = after
        tip = gas_used * (price - base_fee)
        if tip:
            coinbase = effects.accounts.get(COINBASE) or self._account(COINBASE)
            coinbase.balance += tip
            effects.accounts[COINBASE] = coinbase
        self._commit(effects, undo, {tx.sender: sender})
        return status, gas_used, contract, logs

    def _effects(self, journal: str) -> _Effects:
        # pyrevm exposes the journal only as its Debug text: each touched account's
        # info, its status flags and its storage slots (original and present value).
        state = journal[: journal.index("}, transient_storage: ")]
        parts = state.split(_ACCOUNT_SPLIT)
        accounts: dict[str, _Account] = {}
        storage: list[tuple[str, int, int, int]] = []
        created: dict[str, bytes] = {}
        for i in range(1, len(parts)):
            address = parts[i - 1][-44:-2]
            body = parts[i]
            # The storage and status follow the code's hex: search only after it.
            tail = body[body.rfind(" }, storage: {") :]
            status_match = _STATUS.search(tail)
            flags = status_match.group(1) if status_match else ""
            if "Touched" not in flags:
                continue
            head = _ACCOUNT_HEAD.match(body)
            assert head is not None, body[:200]
            acct = _Account(int(head.group(1)), int(head.group(2)), bytes.fromhex(head.group(3)))
            accounts[address] = acct
            if "Created" in flags and acct.code_hash != KECCAK_EMPTY:
                created[address] = self._runtime_code(address)
            for slot, old, new in _SLOT.findall(tail):
                if old != new:
                    storage.append((address, int(slot), int(old), int(new)))
        return _Effects(accounts, storage, created)

    def _runtime_code(self, address: str) -> bytes:
        # revm hands back analysed code, padded with zero bytes; the code hash says
        # where the real code ends.
        acct = self._evm.basic(address)
        code: bytes = self._evm.get_code(address) or b""
        want = acct.code_hash or KECCAK_EMPTY
        stripped = code.rstrip(b"\x00")
        for pad in range(0, len(code) - len(stripped) + 1):
            candidate = stripped + b"\x00" * pad
            if keccak(candidate) == want:
                return candidate
        return code

    def _commit(
        self, effects: _Effects, undo: list[tuple[Any, ...]], before: dict[str, _Account]
    ) -> None:
        for address, acct in effects.accounts.items():
            old = before.get(address) or self._account_or_none(address)
            undo.append(
                (
                    "a",
                    address,
                    None if old is None else _Account(old.balance, old.nonce, old.code_hash),
                )
            )
            if _is_empty(acct) and address not in effects.created:
                # EIP-161: a touched account left empty is removed.
                self._write_account(address, None, None)
            else:
                self._write_account(address, acct, effects.created.get(address))
        for address, slot, old_value, new_value in effects.storage:
            undo.append(("s", address, slot, old_value))
            self._write_slot(address, slot, new_value)

    # -- chain data ----------------------------------------------------------------------
    @_locked
    def block_number(self) -> int:
        return len(self._blocks) - 1

    @_locked
    def block(self, number: int | str = "latest") -> BlockInfo:
        b = self._blocks[self._block_number_of(number)]
        return BlockInfo(
            number=b.number,
            hash="0x" + b.hash.hex(),
            timestamp=b.timestamp,
            transactions=tuple("0x" + h.hex() for h in b.tx_hashes),
            base_fee=b.base_fee,
        )

    @_locked
    def code(self, address: str, block: int | str = "latest") -> bytes:
        at = self._block_number_of(block)
        key = address.lower()
        if at == len(self._blocks) - 1:
            return self._code_of(key, self._account_or_none(key))
        checkpoint = self._evm.snapshot()
        try:
            self._undo_to(at)
            return self._runtime_code(key) if self._evm.get_code(key) else b""
        finally:
            self._evm.revert(checkpoint)

    @_locked
    def balance(self, address: str) -> int:
        return self._account(address.lower()).balance

    @_locked
    def receipts_in_block(self, number: int) -> list[Receipt]:
        if not 0 <= number < len(self._blocks):
            raise LedgerValueError(f"no block {number} on the embedded chain")
        return list(self._blocks[number].receipts)

    @_locked
    def transaction_input(self, tx_hash: str) -> bytes:
        key = bytes.fromhex(tx_hash.removeprefix("0x"))
        where = self._tx_where(key)
        if where is None:
            raise LedgerValueError(f"no transaction {tx_hash} on the embedded chain")
        number, index = where
        raws = self._blocks[number].raws
        if index < len(raws):
            return _decode_raw(raws[index]).data
        # On demand, a block read back from the store carries no signed bytes.
        assert self._store is not None
        found = self._store.transaction(key)
        assert found is not None
        return _decode_raw(found[2]).data

    # -- development controls -------------------------------------------------------------
    @_locked
    def time_travel(self, to_timestamp: int) -> None:
        latest = self._blocks[-1].timestamp
        if to_timestamp <= latest:
            raise LedgerValueError(
                f"cannot travel to {to_timestamp}: the latest block is at {latest}"
            )
        self._mine_pending(to_timestamp)

    @_locked
    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self._mine_pending(self._next_block_timestamp())

    @_locked
    def set_automine(self, enabled: bool) -> None:
        self._automine = enabled

    @_locked
    def snapshot(self) -> Any:
        self._snapshot_ids += 1
        head = self._blocks[-1]
        self._snapshots[self._snapshot_ids] = (head.number, head.hash)
        return self._snapshot_ids

    @_locked
    def revert(self, snapshot: Any) -> None:
        taken = self._snapshots.get(snapshot) if isinstance(snapshot, int) else None
        if taken is None:
            raise LedgerValueError(f"the embedded chain has no snapshot {snapshot!r}")
        number, block_hash = taken
        if number >= len(self._blocks) or self._blocks[number].hash != block_hash:
            raise LedgerValueError(f"snapshot {snapshot!r} is of blocks no longer on the chain")
        self._pending.clear()
        # Undo the blocks after the snapshot, newest first, straight into the database.
        for block in reversed(self._blocks.after(number)):
            for entry in reversed(block.undo):
                if entry[0] == "s":
                    self._write_slot(entry[1], entry[2], entry[3])
                else:
                    old: _Account | None = entry[2]
                    self._write_account(entry[1], old, None)
            for tx_hash in block.tx_hashes:
                self._tx_index.pop(tx_hash, None)
        self._blocks.truncate(number)
        self._unwritten = [b for b in self._unwritten if b.number <= number]
        self._dropped_after = number
        self._flush()
        self._snapshots = {k: v for k, v in self._snapshots.items() if v[0] <= number}

    @_locked
    def fund(self, address: str, wei: int) -> None:
        faucet = self._faucet.address.lower()
        tx = _Tx(
            tx_hash=b"",
            raw=b"",
            sender=faucet,
            nonce=self.nonce(faucet),
            to=address.lower(),
            data=b"",
            value=wei,
            gas=21_000,
            max_fee=10 * 10**9,
            priority_fee=1,
        )
        # A real transfer, signed by the faucet's key, mined in its own block as on py-evm.
        signed = self._faucet.sign_transaction(
            {
                "type": 2,
                "chainId": REVM_CHAIN_ID,
                "nonce": tx.nonce,
                "gas": tx.gas,
                "maxFeePerGas": tx.max_fee,
                "maxPriorityFeePerGas": tx.priority_fee,
                "to": to_checksum_address(address),
                "value": wei,
                "data": b"",
            }
        )
        tx.tx_hash, tx.raw = bytes(signed.hash), bytes(signed.raw_transaction)
        automine, self._automine = self._automine, True
        try:
            self._accept(tx)
        finally:
            self._automine = automine
        receipt = self.receipt_if_mined("0x" + tx.tx_hash.hex())
        if receipt is None or receipt.status != 1:
            raise TransactionError(f"funding {address} failed")

    def close(self) -> None:
        """Write what is left, stop the state server and close the store."""
        with self._lock:
            self._flush(bound=False)  # the cache goes with revm: no need to look at it
            if self._server is not None:
                self._server.stop()
            if self._store is not None:
                self._store.close()
                self._store = None


# -- helpers ------------------------------------------------------------------------------


def _cache_asked() -> bool:
    # The same setting as py-evm's: a bound in the environment turns reading on demand on.
    return bool(os.environ.get(CACHE_VARIABLE, "").strip())


def _account_info(
    balance: int = 0, nonce: int = 0, code_hash: bytes | None = None, code: bytes | None = None
) -> AccountInfo:
    # pyrevm 0.3.7's stub leaves out the balance its constructor takes (src/types/info.rs).
    return AccountInfo(balance=balance, nonce=nonce, code_hash=code_hash, code=code)  # type: ignore[call-arg]


def _rlp_list(data: bytes) -> list[Any]:
    item = rlp_decode(data)
    if not isinstance(item, list):
        raise ValueError("expected an RLP list")
    return item


def _intrinsic_gas(data: bytes, create: bool) -> tuple[int, int]:
    """(EIP-7623 floor, intrinsic gas) of a transaction carrying ``data``."""
    zeros = data.count(0)
    nonzeros = len(data) - zeros
    tokens = zeros + 4 * nonzeros
    intrinsic = _TX_GAS + 4 * tokens
    if create:
        intrinsic += _CREATE_GAS + 2 * ((len(data) + 31) // 32)
    return _TX_GAS + _FLOOR_PER_TOKEN * tokens, intrinsic


def _next_base_fee(parent_base_fee: int, parent_gas_used: int) -> int:
    # EIP-1559 with the block gas limit as eth-tester's, elasticity 2.
    target = BLOCK_GAS_LIMIT // 2
    if parent_gas_used == target:
        return parent_base_fee
    if parent_gas_used > target:
        delta = parent_base_fee * (parent_gas_used - target) // target // 8
        return parent_base_fee + max(delta, 1)
    delta = parent_base_fee * (target - parent_gas_used) // target // 8
    return parent_base_fee - delta


def _is_empty(acct: _Account) -> bool:
    return acct.balance == 0 and acct.nonce == 0 and acct.code_hash == KECCAK_EMPTY


@functools.lru_cache(maxsize=4096)
def _checksum(address: str) -> str:
    return to_checksum_address(address)


def _create_address(sender: str, nonce: int) -> str:
    return "0x" + keccak(rlp_encode([bytes.fromhex(sender[2:]), nonce]))[12:].hex()


def _revert_of(exc: RuntimeError) -> Exception:
    text = str(exc)
    if text.startswith("Revert"):
        found = _REVERT_OUTPUT.search(text)
        return decode_revert(bytes.fromhex(found.group(1)) if found else b"")
    if text.startswith("Halt"):
        return decode_revert(b"")
    return LedgerValueError(f"the revm chain could not run the call: {text}")


def _decode_raw(raw: bytes) -> _Tx:
    """A raw transaction from outside the client: decoded, its signature verified."""
    try:
        sender = Account.recover_transaction(raw)
        if raw and raw[0] < 0x80:
            fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
            max_fee = int(fields.get("maxFeePerGas", fields.get("gasPrice", 0)))
            priority = int(fields.get("maxPriorityFeePerGas", max_fee))
            if int(fields.get("chainId", REVM_CHAIN_ID)) != REVM_CHAIN_ID:
                raise TransactionError(
                    f"the revm chain refused the transaction: signed for chain "
                    f"{fields.get('chainId')}, this is {REVM_CHAIN_ID}"
                )
            if fields.get("accessList"):
                # Access lists change intrinsic gas and warm state; nothing this client
                # signs carries one, and running it without would misprice it.
                raise TransactionError(
                    "the revm chain refused the transaction: access lists are not supported"
                )
            nonce, gas, value = int(fields["nonce"]), int(fields["gas"]), int(fields["value"])
            to_field, data = fields.get("to") or b"", bytes(fields.get("data", b""))
        else:
            nonce_b, price_b, gas_b, to_field, value_b, data, v, _r, _s = _rlp_list(raw)
            nonce, gas, value = (int.from_bytes(x) for x in (nonce_b, gas_b, value_b))
            max_fee = priority = int.from_bytes(price_b)
            v_int = int.from_bytes(v)
            if v_int >= 35 and (v_int - 35) // 2 != REVM_CHAIN_ID:
                raise TransactionError(
                    "the revm chain refused the transaction: signed for another chain"
                )
    except TransactionError:
        raise
    except Exception as exc:
        raise TransactionError(f"the revm chain refused the transaction: {exc}") from exc
    to_bytes = bytes.fromhex(to_field[2:]) if isinstance(to_field, str) else bytes(to_field)
    return _Tx(
        tx_hash=keccak(raw),
        raw=raw,
        sender=sender.lower(),
        nonce=nonce,
        to="0x" + to_bytes.hex() if to_bytes else None,
        data=data,
        value=value,
        gas=gas,
        max_fee=max_fee,
        priority_fee=priority,
    )


def _receipts_commitment(
    results: Iterable[tuple[_Tx, int, int, str | None, list[Any]]], base_fee: int
) -> bytes:
    return keccak(
        rlp_encode(
            [
                [
                    tx.tx_hash,
                    status,
                    gas_used,
                    min(tx.max_fee, base_fee + tx.priority_fee),
                    bytes.fromhex(contract[2:]) if contract else b"",
                    [[bytes.fromhex(a[2:]), list(t), d] for a, t, d in logs],
                ]
                for tx, status, gas_used, contract, logs in results
            ]
        )
    )


def _header_fields(block: _Block, receipts_root: bytes) -> list[Any]:
    return [
        block.parent_hash,
        bytes.fromhex(COINBASE[2:]),
        block.number,
        BLOCK_GAS_LIMIT,
        block.gas_used,
        block.timestamp,
        block.base_fee,
        keccak(b"".join(block.tx_hashes)),
        receipts_root,
    ]


def _block_hash(block: _Block, receipts_root: bytes) -> bytes:
    block.receipts_root = receipts_root
    return keccak(rlp_encode(_header_fields(block, receipts_root)))


def _encode_header(block: _Block) -> bytes:
    return rlp_encode([block.hash, *_header_fields(block, block.receipts_root)])


def _encode_receipts(block: _Block) -> bytes:
    return bytes(
        rlp_encode(
            [
                [
                    bytes.fromhex(r.tx_hash[2:]),
                    r.status,
                    r.gas_used,
                    r.effective_gas_price,
                    bytes.fromhex(r.contract_address[2:]) if r.contract_address else b"",
                    [[bytes.fromhex(lg.address[2:]), list(lg.topics), lg.data] for lg in r.logs],
                ]
                for r in block.receipts
            ]
        )
    )


def _encode_undo(block: _Block) -> bytes:
    out: list[Any] = []
    for entry in block.undo:
        if entry[0] == "s":
            out.append([b"s", bytes.fromhex(entry[1][2:]), entry[2], entry[3]])
        else:
            old: _Account | None = entry[2]
            fields = [] if old is None else [old.balance, old.nonce, old.code_hash]
            out.append([b"a", bytes.fromhex(entry[1][2:]), fields])
    return rlp_encode(out)


def _decode_block(number: int, header: bytes, receipts: bytes, undo: bytes) -> _Block:
    h = _rlp_list(header)
    block_hash, parent_hash = bytes(h[0]), bytes(h[1])
    gas_used, timestamp, base_fee = (int.from_bytes(h[i]) for i in (5, 6, 7))
    block = _Block(number, block_hash, parent_hash, timestamp, base_fee, gas_used, [], [])
    block.receipts_root = bytes(h[9])
    block_hex = "0x" + block_hash.hex()
    log_index = 0
    for r in _rlp_list(receipts):
        tx_hash = "0x" + bytes(r[0]).hex()
        logs = []
        for address, topics, data in r[5]:
            logs.append(
                Log(
                    address=_checksum("0x" + bytes(address).hex()),
                    topics=tuple(bytes(t) for t in topics),
                    data=bytes(data),
                    block_number=number,
                    tx_hash=tx_hash,
                    log_index=log_index,
                )
            )
            log_index += 1
        block.tx_hashes.append(bytes(r[0]))
        block.receipts.append(
            Receipt(
                tx_hash=tx_hash,
                block_number=number,
                block_hash=block_hex,
                status=int.from_bytes(r[1]),
                gas_used=int.from_bytes(r[2]),
                effective_gas_price=int.from_bytes(r[3]),
                contract_address=_checksum("0x" + bytes(r[4]).hex()) if r[4] else None,
                logs=tuple(logs),
            )
        )
    for entry in _rlp_list(undo):
        address = "0x" + bytes(entry[1]).hex()
        if entry[0] == b"s":
            block.undo.append(("s", address, int.from_bytes(entry[2]), int.from_bytes(entry[3])))
        else:
            f = entry[2]
            old = _Account(int.from_bytes(f[0]), int.from_bytes(f[1]), bytes(f[2])) if f else None
            block.undo.append(("a", address, old))
    return block
