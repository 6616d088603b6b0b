"""The event index: a SQLite file of a deployment's events and the tables projected from them."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.merkle import MerkleTree, keccak256
from ledger_client.chain.abi import ContractABI
from ledger_client.chain.artifacts import Artifacts, load_artifacts
from ledger_client.chain.backends import Backend, BlockInfo, Receipt
from ledger_client.chain.connection import Chain
from ledger_client.errors import LedgerValueError
from ledger_client.index import _batch_trees
from ledger_client.index.base import (
    EventIndexClosed,
    EventIndexError,
    IndexDeploymentMismatch,
    IndexedEvent,
    IndexFormatError,
    Projection,
    ProjectionError,
    args_from_json,
    args_to_json,
    stored_types,
)
from ledger_client.index.projections import (
    ATTESTATION_COLUMNS,
    BATCH_COLUMNS,
    MEMBER_COLUMNS,
    BatchRecord,
    IndexedAttestation,
    IndexedBatch,
    IndexedEnterprise,
    IndexedMember,
    attestation_from_row,
    batch_from_row,
    builtin_projections,
    member_from_row,
)
from ledger_client.types import City, RegisteredSchema, Role

if TYPE_CHECKING:
    from ledger_client.deployment import Ledger, Manifest

__all__ = ["INDEX_FORMAT", "EventIndex"]

_log = logging.getLogger(__name__)

#: Version of the file layout; a file of another version is refused.
INDEX_FORMAT = 1
#: Blocks fetched before each write transaction while catching up.
_BLOCKS_PER_WRITE = 64
#: Events read per query when iterating or replaying.
_PAGE = 1000
#: Whole batch trees kept in memory after :meth:`EventIndex.batch_tree`.
_TREE_CACHE = 4
#: Rows per page unless the caller says otherwise.
DEFAULT_LIMIT = 100

_CORE_SQL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS blocks (
        number INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        timestamp INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        block_number INTEGER NOT NULL,
        tx_index INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        contract TEXT NOT NULL,
        name TEXT NOT NULL,
        args TEXT NOT NULL,
        block_timestamp INTEGER NOT NULL,
        UNIQUE (tx_hash, log_index)
    )""",
    "CREATE INDEX IF NOT EXISTS events_block ON events (block_number)",
    "CREATE INDEX IF NOT EXISTS events_kind ON events (contract, name, seq)",
    # The console charts events by hour and reads the latest one on every overview.
    "CREATE INDEX IF NOT EXISTS events_time ON events (block_timestamp)",
    """CREATE TABLE IF NOT EXISTS projections (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        applied_through INTEGER NOT NULL
    )""",
    *_batch_trees.TABLES_SQL,
)
_EVENT_COLUMNS = (
    "seq, contract, name, args, block_number, block_timestamp, tx_hash, tx_index, log_index"
)


class EventIndex:
    """A client-side SQLite index of one deployment's events.

    Fed two ways, both idempotent (an event is stored once, keyed by its
    transaction hash and log index), both strictly in chain order:

    * :meth:`follow` ingests the receipt of every transaction this client's
      :class:`~ledger_client.chain.connection.Chain` sends, right after it is mined;
    * :meth:`sync` reads every block after the index's cursor, so writes by
      other clients of a shared node are seen too.

    It never calls ``get_logs`` (quadratic on the embedded chain). Every event
    of the manifest's contracts lands in the ``events`` table; projections
    (:class:`~ledger_client.index.Projection`) keep typed tables from them,
    which the query methods read. A chain that changes under the index (a
    reorganisation, or a development chain reverted to a snapshot) is noticed
    by block hash, and the index rewinds to the last block both agree on.

    Safe to share between threads: one connection, guarded by a lock. The file
    is in WAL mode, so other processes may read it while this one writes.
    """

    def __init__(
        self, path: str | Path, ledger: Ledger, *, projections: Iterable[Projection] = ()
    ) -> None:
        """Open (or create) the index at ``path`` (``":memory:"`` for none) for ``ledger``.

        ``projections`` are kept besides the built-in ones. Raises
        :class:`IndexDeploymentMismatch` when the file was built for another deployment.
        """
        self._open(path, ledger.chain, ledger.manifest, ledger.artifacts, projections)

    @classmethod
    def open(
        cls,
        path: str | Path,
        manifest: Manifest,
        *,
        chain: Chain | None = None,
        artifacts: Artifacts | None = None,
        projections: Iterable[Projection] = (),
    ) -> EventIndex:
        """Open an index for ``manifest``; without a ``chain`` it can be queried, not fed."""
        index = cls.__new__(cls)
        index._open(path, chain, manifest, artifacts or load_artifacts(), projections)
        return index

    def _open(
        self,
        path: str | Path,
        chain: Chain | None,
        manifest: Manifest,
        artifacts: Artifacts,
        projections: Iterable[Projection],
    ) -> None:
        self.path = str(path)
        self.manifest = manifest
        self._chain = chain
        if chain is not None and chain.chain_id != manifest.chain_id:
            raise IndexDeploymentMismatch(
                f"the manifest is for chain {manifest.chain_id}, "
                f"the chain given is {chain.chain_id}"
            )
        self._lock = threading.RLock()
        self._closed = False
        self._following = False
        self._first_block = manifest.deploy_block
        # address (lower case) -> (contract name, checksum address, codec)
        self._contracts: dict[str, tuple[str, str, ContractABI]] = {}
        self._addresses: dict[str, str] = {}
        self._arg_types: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        for name, deployed in manifest.contracts.items():
            codec = artifacts.contract(name).codec
            address = to_checksum_address(deployed.address)
            self._contracts[address.lower()] = (name, address, codec)
            self._addresses[name] = address
            for ev in codec.events.values():
                self._arg_types[(name, ev.name)] = stored_types(ev)
        self._projections: dict[str, Projection] = {}
        self._dispatch: dict[tuple[str, str], list[Projection]] = {}
        self._trees: OrderedDict[bytes, MerkleTree] = OrderedDict()
        try:
            self._db: sqlite3.Connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
        except sqlite3.Error as exc:
            raise EventIndexError(f"cannot open the event index at {self.path}: {exc}") from exc
        try:
            self._initialise()
            for projection in [*builtin_projections(), *projections]:
                self.register(projection)
        except BaseException:
            self._db.close()
            self._closed = True
            raise

    def _initialise(self) -> None:
        db = self._db
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            raise IndexFormatError(f"{self.path} is not an event index: {exc}") from exc
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
        db.execute("PRAGMA cache_size=-65536")  # 64 MiB: index inserts of big batches stay hot
        with self._lock, self._writing() as db:
            for statement in _CORE_SQL:
                db.execute(statement)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            deployment = _deployment_doc(self.manifest)
            if not meta:
                db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [
                        ("format", str(INDEX_FORMAT)),
                        ("deployment", json.dumps(deployment, sort_keys=True)),
                        ("cursor", str(self._first_block - 1)),
                    ],
                )
                meta = {"cursor": str(self._first_block - 1)}
            else:
                if meta.get("format") != str(INDEX_FORMAT):
                    raise IndexFormatError(
                        f"{self.path} is an event index of format {meta.get('format')!r}; "
                        f"this client reads format {INDEX_FORMAT}: delete it to rebuild"
                    )
                stored = json.loads(meta["deployment"])
                if stored != deployment:
                    raise IndexDeploymentMismatch(
                        f"the event index at {self.path} was built for another deployment "
                        f"({'; '.join(_differences(stored, deployment))}): open another file, "
                        "or delete this one to index this deployment"
                    )
            self._cursor = int(meta["cursor"])

    # -- lifecycle ----------------------------------------------------------------
    def close(self) -> None:
        """Close the file; a followed chain's later receipts are ignored."""
        with self._lock:
            if not self._closed:
                self._closed = True
                with suppress(sqlite3.Error):
                    self._db.execute("PRAGMA optimize")  # keeps the query planner's statistics
                self._db.close()

    def __enter__(self) -> EventIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventIndex({self.path!r}, cursor={self._cursor})"

    @property
    def cursor(self) -> int:
        """The last block read in full (``deploy_block - 1`` before any)."""
        return self._cursor

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, locked, for a projection's own queries. Do not write through it."""
        with self._lock:
            yield self._connection()

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise EventIndexClosed(f"the event index at {self.path} is closed")
        return self._db

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        # Callers hold self._lock. IMMEDIATE takes the file's write lock up front, so
        # another process writing the same file makes this wait rather than fail later.
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    # -- projections --------------------------------------------------------------
    def register(self, projection: Projection) -> None:
        """Keep ``projection``'s tables from now on, first catching them up on stored events.

        A projection seen before at the same version replays only the events
        stored since it last ran (by this or another process); a new one, or a
        new version, has its tables dropped, created and filled from every
        stored event.
        """
        name = getattr(projection, "name", "")
        if not name:
            raise ProjectionError(f"{type(projection).__name__} has no name")
        if name in self._projections:
            raise ProjectionError(f"a projection called {name!r} is already registered")
        for attr in ("contract", "handles", "tables", "tables_sql"):
            if not hasattr(projection, attr):
                raise ProjectionError(f"projection {name!r} does not set {attr}")
        known = {n for (c, n) in self._arg_types if c == projection.contract}
        if projection.contract in self._addresses and not projection.handles <= known:
            unknown = ", ".join(sorted(projection.handles - known))
            raise ProjectionError(
                f"projection {name!r} handles events {projection.contract} does not emit: {unknown}"
            )
        with self._lock, self._writing() as db:
            row = db.execute(
                "SELECT version, applied_through FROM projections WHERE name = ?", (name,)
            ).fetchone()
            if row is None or row[0] != projection.version:
                self._rebuild(db, projection)
            else:
                self._replay(db, projection, after=int(row[1]))
            self._projections[name] = projection
            for event_name in projection.handles:
                self._dispatch.setdefault((projection.contract, event_name), []).append(projection)

    def _rebuild(self, db: sqlite3.Connection, projection: Projection) -> None:
        for table in projection.tables:
            db.execute(f'DROP TABLE IF EXISTS "{table}"')
        for statement in projection.tables_sql:
            db.execute(statement)
        db.execute(
            "INSERT OR REPLACE INTO projections VALUES (?, ?, 0)",
            (projection.name, projection.version),
        )
        self._replay(db, projection, after=0)

    def _replay(self, db: sqlite3.Connection, projection: Projection, *, after: int) -> None:
        names = sorted(projection.handles)
        marks = ", ".join("?" * len(names))
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE contract = ? AND name IN ({marks})"
            " AND seq > ? ORDER BY seq LIMIT ?"
        )
        last = after
        while names:
            rows = db.execute(sql, (projection.contract, *names, last, _PAGE)).fetchall()
            for row in rows:
                projection.apply(db, self._event_from_row(row))
            if len(rows) < _PAGE:
                break
            last = rows[-1][0]
        db.execute(
            "UPDATE projections SET applied_through = (SELECT coalesce(max(seq), 0) FROM events)"
            " WHERE name = ?",
            (projection.name,),
        )

    def _catch_up(self, db: sqlite3.Connection) -> None:
        # Another process sharing the file may have stored events without one of
        # this process's projections; fold them in before adding more.
        (top,) = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        for name, applied in db.execute("SELECT name, applied_through FROM projections").fetchall():
            projection = self._projections.get(name)
            if projection is not None and applied < top:
                self._replay(db, projection, after=applied)

    def _mark_applied(self, db: sqlite3.Connection) -> None:
        names = list(self._projections)
        db.execute(
            "UPDATE projections SET applied_through = (SELECT coalesce(max(seq), 0) FROM events)"
            f" WHERE name IN ({', '.join('?' * len(names))})",
            names,
        )

    # -- feeding ------------------------------------------------------------------
    def follow(self) -> None:
        """Ingest the receipt of every transaction the chain's client sends from now on.

        Each receipt is stored with the rest of its block, after any blocks the
        index has not read yet, so call :meth:`sync` once first when the index
        may be far behind. A failure is logged, never raised into the
        transaction (which is mined already); the next :meth:`sync` retries it.
        """
        chain = self._require_chain()
        with self._lock:
            if not self._following:
                chain.add_receipt_listener(self._on_receipt)
                self._following = True

    def sync(self, to_block: int | None = None) -> int:
        """Read every block after the cursor up to ``to_block`` (the latest); return how many.

        With nothing new this costs one ``block_number()`` call.
        """
        backend = self._require_chain().backend
        with self._lock:
            # Another process writing the same file may have read further already.
            (stored,) = (
                self._connection().execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()
            )
            self._cursor = int(stored)
            if to_block is None:
                head = backend.block_number()
                if head == self._cursor:
                    return 0
                if head < self._cursor:  # the chain is shorter than what was indexed
                    self._reconcile(backend, head)
            else:
                head = to_block
                if head <= self._cursor:
                    return 0
            return self._advance(backend, head, {})

    def _require_chain(self) -> Chain:
        if self._chain is None:
            raise EventIndexError(f"the event index at {self.path} was opened without a chain")
        return self._chain

    def _on_receipt(self, receipt: Receipt) -> None:
        if self._closed or self._chain is None:
            return
        backend = self._chain.backend
        try:
            with self._lock:
                if self._closed:
                    return
                number = receipt.block_number
                if number < self._first_block:
                    return
                if number <= self._cursor:
                    stored = self._stored_hash(number)
                    if stored == receipt.block_hash.lower():
                        return  # read already
                    if stored is None and not any(
                        log.address.lower() in self._contracts for log in receipt.logs
                    ):
                        return  # a block without events of ours, read already
                    self._reconcile(backend, number - 1)
                self._advance(backend, number, {receipt.tx_hash.lower(): receipt})
        except Exception:
            _log.exception(
                "event index %s could not ingest block %d (transaction %s); "
                "the next sync will read it",
                self.path,
                receipt.block_number,
                receipt.tx_hash,
            )

    def _advance(self, backend: Backend, target: int, known: dict[str, Receipt]) -> int:
        """Read blocks ``cursor + 1 .. target`` in order; the caller holds the lock."""
        self._verify_tip(backend)
        read = 0
        while self._cursor < target:
            start = self._cursor + 1
            stop = min(target, start + _BLOCKS_PER_WRITE - 1)
            # Fetch before taking the file's write lock: node round trips stay outside it.
            # The listener's block comes with its receipts; a sync reads the range at once
            # (a node's backend in a few round trips, not two per block).
            fetched = (
                [self._fetch(backend, n, known) for n in range(start, stop + 1)]
                if known
                else backend.blocks_with_receipts(start, stop)
            )
            with self._writing() as db:
                (stored,) = db.execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()
                if int(stored) != self._cursor:  # another process moved it: start again there
                    self._cursor = int(stored)
                    continue
                self._catch_up(db)
                for info, receipts in fetched:
                    # Only blocks with events, and the cursor's, keep a row: enough to
                    # notice a reorganisation and find where it forked.
                    if self._write_block(db, info, receipts) or info.number == stop:
                        db.execute(
                            "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?)",
                            (info.number, info.hash.lower(), info.timestamp),
                        )
                db.execute(
                    "DELETE FROM blocks WHERE number = ?"
                    " AND NOT EXISTS (SELECT 1 FROM events WHERE block_number = ?)",
                    (start - 1, start - 1),
                )
                db.execute("UPDATE meta SET value = ? WHERE key = 'cursor'", (str(stop),))
                self._mark_applied(db)
            self._cursor = stop
            read += len(fetched)
        return read

    def _fetch(
        self, backend: Backend, number: int, known: dict[str, Receipt]
    ) -> tuple[BlockInfo, list[Receipt]]:
        info = backend.block(number)
        hashes = [h.lower() for h in info.transactions]
        if not hashes:
            return info, []
        if all(h in known for h in hashes):  # the receipts a listener was just handed
            return info, [known[h] for h in hashes]
        return info, backend.receipts_in_block(number)

    def _write_block(
        self, db: sqlite3.Connection, info: BlockInfo, receipts: Sequence[Receipt]
    ) -> bool:
        """Store the block's events of the manifest's contracts; True when it has any."""
        found = False
        for tx_index, receipt in enumerate(receipts):
            if receipt.status != 1:
                continue
            tx_hash = receipt.tx_hash.lower()
            for log in receipt.logs:
                target = self._contracts.get(log.address.lower())
                if target is None:
                    continue
                contract, address, codec = target
                try:
                    decoded = codec.decode_log(log)
                except Exception as exc:
                    raise EventIndexError(
                        f"cannot decode log {log.log_index} of {tx_hash} from {contract}: {exc}"
                    ) from exc
                if decoded is None:
                    continue
                found = True
                cur = db.execute(
                    "INSERT OR IGNORE INTO events (block_number, tx_index, log_index, tx_hash,"
                    " contract, name, args, block_timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        info.number,
                        tx_index,
                        log.log_index,
                        tx_hash,
                        contract,
                        decoded.name,
                        json.dumps(args_to_json(decoded.args), separators=(",", ":")),
                        info.timestamp,
                    ),
                )
                if cur.rowcount != 1:
                    continue  # stored already
                handlers = self._dispatch.get((contract, decoded.name))
                if handlers:
                    event = IndexedEvent(
                        seq=int(cur.lastrowid or 0),
                        contract=contract,
                        name=decoded.name,
                        args=decoded.args,
                        address=address,
                        block_number=info.number,
                        block_timestamp=info.timestamp,
                        tx_hash=tx_hash,
                        tx_index=tx_index,
                        log_index=log.log_index,
                    )
                    for projection in handlers:
                        projection.apply(db, event)
        return found

    # -- chain reorganisations ----------------------------------------------------------
    def _stored_hash(self, number: int) -> str | None:
        row = (
            self._connection()
            .execute("SELECT hash FROM blocks WHERE number = ?", (number,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def _chain_hash(self, backend: Backend, number: int) -> str | None:
        try:
            return backend.block(number).hash.lower()
        except LedgerValueError:  # no such block: the chain is shorter now
            return None

    def _verify_tip(self, backend: Backend) -> None:
        if self._cursor < self._first_block:
            return
        stored = self._stored_hash(self._cursor)
        if stored is not None and self._chain_hash(backend, self._cursor) != stored:
            self._reconcile(backend, self._cursor)

    def _reconcile(self, backend: Backend, start: int) -> None:
        """Rewind to the latest block at or before ``start`` that the chain still has."""
        fork = self._first_block - 1
        rows = self._connection().execute(
            "SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC",
            (min(start, self._cursor),),
        )
        for number, stored in rows:
            if self._chain_hash(backend, number) == stored:
                fork = number
                break
        rows.close()
        _log.warning(
            "event index %s: the chain no longer holds blocks after %d that were indexed; "
            "rewinding and rebuilding the projections",
            self.path,
            fork,
        )
        self.rewind(fork)

    def rewind(self, block: int) -> None:
        """Forget every event after ``block`` and rebuild the projections from the rest.

        :meth:`sync` does this by itself when the chain's blocks change under
        it; stored batch trees are kept.
        """
        with self._lock:
            if block >= self._cursor:
                return
            self._rewind(block)

    def _rewind(self, block: int) -> None:
        with self._writing() as db:
            db.execute("DELETE FROM events WHERE block_number > ?", (block,))
            db.execute("DELETE FROM blocks WHERE number > ?", (block,))
            cursor = max(min(block, self._cursor), self._first_block - 1)
            db.execute("UPDATE meta SET value = ? WHERE key = 'cursor'", (str(cursor),))
            names = list(self._projections)
            # Projections of other processes are rebuilt when next registered.
            db.execute(
                "UPDATE projections SET version = -1, applied_through = 0"
                f" WHERE name NOT IN ({', '.join('?' * len(names))})",
                names,
            )
            for projection in self._projections.values():
                self._rebuild(db, projection)
            self._cursor = cursor

    # -- raw events ---------------------------------------------------------------
    def events(
        self,
        contract: str | None = None,
        name: str | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> Iterator[IndexedEvent]:
        """Stored events in chain order, optionally of one contract, one name, a block range.

        Read a page at a time; events stored while iterating may or may not appear.
        """
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("contract", contract), ("name", name)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        # seq ascends with the block number, so a block range is a seq range.
        last, end = 0, None
        with self._lock:
            db = self._connection()
            if from_block is not None:
                (first,) = db.execute(
                    "SELECT min(seq) FROM events WHERE block_number >= ?", (from_block,)
                ).fetchone()
                if first is None:
                    return
                last = first - 1
            if to_block is not None:
                (end,) = db.execute(
                    "SELECT max(seq) FROM events WHERE block_number <= ?", (to_block,)
                ).fetchone()
                if end is None:
                    return
        if end is not None:
            clauses.append("seq <= ?")
            params.append(end)
        where = "".join(f" AND {c}" for c in clauses)
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > ?{where} ORDER BY seq LIMIT ?"
        while True:
            with self._lock:
                rows = self._connection().execute(sql, (last, *params, _PAGE)).fetchall()
                page = [self._event_from_row(row) for row in rows]
            yield from page
            if len(rows) < _PAGE:
                return
            last = page[-1].seq

    def count_events(self, contract: str | None = None, name: str | None = None) -> int:
        """How many events are stored, optionally of one contract and name."""
        clauses = [(c, v) for c, v in (("contract", contract), ("name", name)) if v is not None]
        where = " WHERE " + " AND ".join(f"{c} = ?" for c, _ in clauses) if clauses else ""
        return self._scalar(f"SELECT count(*) FROM events{where}", [v for _, v in clauses])

    def _event_from_row(self, row: tuple[Any, ...]) -> IndexedEvent:
        seq, contract, name, args, block, timestamp, tx_hash, tx_index, log_index = row
        types = self._arg_types.get((contract, name))
        doc = json.loads(args)
        return IndexedEvent(
            seq=seq,
            contract=contract,
            name=name,
            args=args_from_json(types, doc) if types is not None else doc,
            address=self._addresses.get(contract, ""),
            block_number=block,
            block_timestamp=timestamp,
            tx_hash=tx_hash,
            tx_index=tx_index,
            log_index=log_index,
        )

    def block_timestamp(self, number: int) -> int | None:
        """The timestamp of a block with indexed events (or the cursor's), else None."""
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT timestamp FROM blocks WHERE number = ?", (number,))
                .fetchone()
            )
        return None if row is None else int(row[0])

    # -- consortium ---------------------------------------------------------------
    def members(
        self,
        *,
        city: City | str | int | None = None,
        role: Role | str | int | None = None,
        include_suspended: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[IndexedMember]:
        """Member institutions in order of admission; ``role`` keeps those holding all of it."""
        clauses: list[str] = []
        params: list[Any] = []
        if city is not None:
            clauses.append("city = ?")
            params.append(int(City.parse(city)))
        if role is not None:
            clauses.append("roles & ? = ?")
            flags = int(Role.parse(role))
            params += [flags, flags]
        if not include_suspended:
            clauses.append("suspended = 0")
        sql = (
            f"SELECT {MEMBER_COLUMNS} FROM members{_where(clauses)}"
            f" ORDER BY seq{_page(limit, offset)}"
        )
        return [member_from_row(r) for r in self._rows(sql, params)]

    def member(self, account: str) -> IndexedMember | None:
        """A member by account, or None."""
        rows = self._rows(
            f"SELECT {MEMBER_COLUMNS} FROM members WHERE account = ?", [_address(account)]
        )
        return member_from_row(rows[0]) if rows else None

    def enterprises(self, *, limit: int | None = None, offset: int = 0) -> list[IndexedEnterprise]:
        """Bound enterprises in order of first binding."""
        sql = (
            "SELECT subject, account, registrar, bound_at FROM enterprises"
            f" ORDER BY seq{_page(limit, offset)}"
        )
        return [IndexedEnterprise(*r) for r in self._rows(sql, [])]

    def enterprise(
        self, subject: bytes | str | None = None, *, account: str | None = None
    ) -> IndexedEnterprise | None:
        """The binding of a subject id, or of an account; None when unbound."""
        if (subject is None) == (account is None):
            raise LedgerValueError("give a subject or an account, not both")
        column, value = (
            ("subject", _bytes32(subject, "subject"))
            if subject is not None
            else ("account", _address(account or ""))
        )
        rows = self._rows(
            f"SELECT subject, account, registrar, bound_at FROM enterprises WHERE {column} = ?",
            [value],
        )
        return IndexedEnterprise(*rows[0]) if rows else None

    # -- schemas --------------------------------------------------------------------
    def schemas(self) -> list[RegisteredSchema]:
        """Every registered schema, in registration order."""
        return [_schema(r) for r in self._rows(f"{_SCHEMA_SELECT} ORDER BY idx", [])]

    def schema(self, schema: bytes | str) -> RegisteredSchema | None:
        """A schema by id (bytes or 0x-hex) or by name, or None."""
        if isinstance(schema, str) and not schema.startswith("0x"):
            rows = self._rows(f"{_SCHEMA_SELECT} WHERE name = ? ORDER BY idx", [schema])
        else:
            rows = self._rows(f"{_SCHEMA_SELECT} WHERE schema_id = ?", [_bytes32(schema, "schema")])
        return _schema(rows[0]) if rows else None

    # -- attestations -------------------------------------------------------------
    def attestations(
        self,
        *,
        subject: bytes | str | None = None,
        attester: str | None = None,
        schema: bytes | str | None = None,
        data_hash: bytes | str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int | None = DEFAULT_LIMIT,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[IndexedAttestation]:
        """Attestations matching every filter given, in chain order (or newest first).

        ``since`` and ``until`` bound the attestation's block time: ``since <=
        attested_at < until``. Page with ``limit`` and ``offset``; ``limit=None``
        returns every match.
        """
        where, params = _attestation_filter(
            subject=subject,
            attester=attester,
            schema=schema,
            data_hash=data_hash,
            since=since,
            until=until,
        )
        order = "DESC" if newest_first else "ASC"
        sql = (
            f"SELECT {ATTESTATION_COLUMNS} FROM attestations{where}"
            f" ORDER BY attested_at {order}, seq {order}{_page(limit, offset)}"
        )
        return [attestation_from_row(r) for r in self._rows(sql, params)]

    def count_attestations(
        self,
        *,
        subject: bytes | str | None = None,
        attester: str | None = None,
        schema: bytes | str | None = None,
        data_hash: bytes | str | None = None,
        since: int | None = None,
        until: int | None = None,
    ) -> int:
        """How many attestations :meth:`attestations` would list without a limit."""
        where, params = _attestation_filter(
            subject=subject,
            attester=attester,
            schema=schema,
            data_hash=data_hash,
            since=since,
            until=until,
        )
        return self._scalar(f"SELECT count(*) FROM attestations{where}", params)

    def attestation(self, uid: bytes | str) -> IndexedAttestation | None:
        """An attestation by UID, or None."""
        rows = self._rows(
            f"SELECT {ATTESTATION_COLUMNS} FROM attestations WHERE uid = ?", [_bytes32(uid, "uid")]
        )
        return attestation_from_row(rows[0]) if rows else None

    # -- batches ------------------------------------------------------------------
    def batches(
        self,
        *,
        attester: str | None = None,
        schema: bytes | str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int | None = DEFAULT_LIMIT,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[IndexedBatch]:
        """Anchored batches matching every filter given, in chain order (or newest first)."""
        clauses: list[str] = []
        params: list[Any] = []
        if attester is not None:
            clauses.append("b.attester = ?")
            params.append(_address(attester))
        if schema is not None:
            clauses.append("b.schema = ?")
            params.append(_bytes32(schema, "schema"))
        if since is not None:
            clauses.append("b.anchored_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("b.anchored_at < ?")
            params.append(until)
        order = "DESC" if newest_first else "ASC"
        sql = (
            f"SELECT {BATCH_COLUMNS} FROM batches b{_where(clauses)}"
            f" ORDER BY b.anchored_at {order}, b.seq {order}{_page(limit, offset)}"
        )
        return [batch_from_row(r) for r in self._rows(sql, params)]

    def batch(self, batch_id: bytes | str) -> IndexedBatch | None:
        """An anchored batch by id, or None."""
        rows = self._rows(
            f"SELECT {BATCH_COLUMNS} FROM batches b WHERE b.batch_id = ?",
            [_bytes32(batch_id, "batch id")],
        )
        return batch_from_row(rows[0]) if rows else None

    # -- batch trees --------------------------------------------------------------
    def store_batch_tree(
        self,
        batch_id: bytes,
        tree: MerkleTree,
        records: Sequence[tuple[bytes, bytes]],
        *,
        check: bool = True,
    ) -> bool:
        """Keep a batch's tree and records so proofs can be served without rebuilding it.

        ``records[i]`` is the (subject, record hash) of leaf ``i``; with
        ``check`` each must hash to its leaf (``batches.batch_leaf``). When the
        index has seen the batch anchored, its root and count must match.
        Returns False when this very tree is stored already. Raises
        :class:`BatchTreeMismatch` otherwise on any disagreement.
        """
        batch_id = _bytes32(batch_id, "batch id")
        with self._lock, self._writing() as db:
            row = db.execute(
                "SELECT root, count FROM batches WHERE batch_id = ?", (batch_id,)
            ).fetchone()
            stored = _batch_trees.store(
                db,
                batch_id,
                tree,
                records,
                check=check,
                anchored=None if row is None else (bytes(row[0]), int(row[1])),
            )
        return stored

    def batch_tree(self, batch_id: bytes | str) -> MerkleTree:
        """The stored tree of a batch (the last few are kept in memory)."""
        key = _bytes32(batch_id, "batch id")
        with self._lock:
            tree = self._trees.get(key)
            if tree is None:
                tree = _batch_trees.load(self._connection(), key)
                self._trees[key] = tree
                while len(self._trees) > _TREE_CACHE:
                    self._trees.popitem(last=False)
            else:
                self._trees.move_to_end(key)
            return tree

    def batch_proof(self, batch_id: bytes | str, index: int) -> list[bytes]:
        """The inclusion proof of record ``index`` of a stored batch tree.

        Reads one small chunk per tree level, so a proof in a batch of 100,000
        costs little more than one in a batch of 1,000. Raises
        :class:`BatchTreeNotStored` or :class:`~ledger_client.attestations.merkle.MerkleIndexError`.
        """
        key = _bytes32(batch_id, "batch id")
        with self._lock:
            tree = self._trees.get(key)
            if tree is not None:
                return list(tree.proof(index))
            return _batch_trees.proof(self._connection(), key, index)

    def batch_record(self, batch_id: bytes | str, index: int) -> BatchRecord:
        """Record ``index`` of a stored batch tree.

        Raises :class:`BatchTreeNotStored` or
        :class:`~ledger_client.attestations.merkle.MerkleIndexError`.
        """
        key = _bytes32(batch_id, "batch id")
        with self._lock:
            _batch_trees.leaf(self._connection(), key, index)  # the precise error, if any
            rows = self._rows(
                "SELECT t.batch_id, r.idx, r.subject, r.data_hash FROM batch_records r"
                " JOIN batch_trees t ON t.tree_key = r.tree_key"
                " WHERE t.batch_id = ? AND r.idx = ?",
                [key, index],
            )
            return self._batch_records(rows)[0]

    def find_batch_record(
        self, data_hash: bytes | str, *, subject: bytes | str | None = None
    ) -> BatchRecord | None:
        """The first stored batch record with this record hash (and subject), or None."""
        records = self.batch_records(data_hash=data_hash, subject=subject, limit=1)
        return records[0] if records else None

    def batch_records(
        self,
        *,
        subject: bytes | str | None = None,
        data_hash: bytes | str | None = None,
        batch_id: bytes | str | None = None,
        limit: int | None = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> list[BatchRecord]:
        """Records of stored batch trees matching every filter given, by batch then position."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value, what in (
            ("r.subject", subject, "subject"),
            ("r.data_hash", data_hash, "record hash"),
        ):
            if value is not None:
                key = _bytes32(value, what)
                clauses.append(_batch_trees.prefix_match(column))
                params += [_batch_trees.prefix(key), key]
        if batch_id is not None:
            clauses.append("t.batch_id = ?")
            params.append(_bytes32(batch_id, "batch id"))
        sql = (
            "SELECT t.batch_id, r.idx, r.subject, r.data_hash FROM batch_records r"
            f" JOIN batch_trees t ON t.tree_key = r.tree_key{_where(clauses)}"
            f" ORDER BY r.tree_key, r.idx{_page(limit, offset)}"
        )
        return self._batch_records(self._rows(sql, params))

    def _batch_records(self, rows: list[tuple[Any, ...]]) -> list[BatchRecord]:
        out = []
        with self._lock:
            db = self._connection()
            for batch_id, index, subject, data_hash in rows:
                leaf = _batch_trees.leaf(db, batch_id, index)
                record_id = keccak256(bytes(batch_id) + bytes(leaf))
                revoked = db.execute(
                    "SELECT revoked_at FROM batch_record_revocations"
                    " WHERE batch_id = ? AND record_id = ?",
                    (batch_id, record_id),
                ).fetchone()
                replaced = db.execute(
                    "SELECT new_uid FROM batch_record_replacements WHERE record_id = ?",
                    (record_id,),
                ).fetchone()
                out.append(
                    BatchRecord(
                        batch_id,
                        index,
                        subject,
                        data_hash,
                        leaf,
                        revoked[0] if revoked else 0,
                        record_id,
                        bytes(replaced[0]) if replaced else None,
                    )
                )
        return out

    # -- helpers ------------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._connection().execute(sql, params).fetchall()

    def _scalar(self, sql: str, params: Sequence[Any]) -> int:
        return int(self._rows(sql, params)[0][0])


_SCHEMA_SELECT = (
    "SELECT schema_id, name, layout, revocable, idx, registered_at, regulator FROM schemas"
)


def _schema(row: tuple[Any, ...]) -> RegisteredSchema:
    schema_id, name, layout, revocable, index, registered_at, regulator = row
    return RegisteredSchema(
        schema_id, name, layout, bool(revocable), index, registered_at, regulator
    )


def _deployment_doc(manifest: Manifest) -> dict[str, Any]:
    return {
        "chain_id": manifest.chain_id,
        "deploy_block": manifest.deploy_block,
        "deployed_at": manifest.deployed_at,
        "contracts": {name: c.address.lower() for name, c in manifest.contracts.items()},
    }


def _differences(stored: dict[str, Any], given: dict[str, Any]) -> list[str]:
    out = [
        f"{key} {stored.get(key)} here, {given[key]} in the manifest"
        for key in ("chain_id", "deploy_block", "deployed_at")
        if stored.get(key) != given[key]
    ]
    was, now = stored.get("contracts", {}), given["contracts"]
    for name in sorted(set(was) | set(now)):
        if was.get(name) != now.get(name):
            out.append(
                f"{name} at {was.get(name, 'none')} here, {now.get(name, 'none')} in the manifest"
            )
    return out


def _where(clauses: Sequence[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


def _page(limit: int | None, offset: int) -> str:
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise LedgerValueError(f"limit must be a non-negative integer or None, got {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise LedgerValueError(f"offset must be a non-negative integer, got {offset!r}")
    return f" LIMIT {-1 if limit is None else limit} OFFSET {offset}"


def _bytes32(value: bytes | str, what: str) -> bytes:
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            raise LedgerValueError(f"{what} {value!r} is not hex") from None
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise LedgerValueError(f"{what} must be 32 bytes")
    return bytes(value)


def _address(value: str) -> str:
    try:
        return str(to_checksum_address(value))
    except (TypeError, ValueError):
        raise LedgerValueError(f"{value!r} is not an address") from None


def _attestation_filter(
    *,
    subject: bytes | str | None,
    attester: str | None,
    schema: bytes | str | None,
    data_hash: bytes | str | None,
    since: int | None,
    until: int | None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value, what in (
        ("subject", subject, "subject"),
        ("schema", schema, "schema"),
        ("data_hash", data_hash, "record hash"),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(_bytes32(value, what))
    if attester is not None:
        clauses.append("attester = ?")
        params.append(_address(attester))
    if since is not None:
        clauses.append("attested_at >= ?")
        params.append(since)
    if until is not None:
        clauses.append("attested_at < ?")
        params.append(until)
    return _where(clauses), params
