"""The submission journal: every accepted write, durably, until it is anchored exactly once.

A write is journaled under its caller's Idempotency-Key and answered 202. Its
``kind`` says how the worker relays it: ``attestation`` (a signed record,
``attestBySig`` or a signed batch), ``authorise`` (an enterprise's signed
``Authorise``, ``authoriseBySig``) or ``forward`` (any party's signed call,
through the Forwarder); its ``operation`` says what it does. The
worker takes pending submissions, prepares the relaying transaction, and
journals the signed raw transaction *before* sending it, in the same
transaction that ties the submissions to it. After a crash the worker sends
each journaled transaction again: one already mined is found by its hash,
one never sent is sent now with the nonce it was signed with, so no
submission is lost and none is anchored twice.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger_client.chain.connection import PreparedTx

from .db import ApiDatabase
from .errors import IdempotencyKeyReused, NonceAlreadySubmitted


@dataclass(frozen=True)
class Submission:
    """One accepted write and where it stands."""

    id: str
    caller: str
    idempotency_key: str
    kind: str  # attestation, authorise or forward
    operation: str  # e.g. attestations.attest, receivables.finance
    signer: str
    nonce_space: str  # attest, authorise or forward: whose nonces ``nonce`` is one of
    nonce: int
    payload: dict[str, Any]
    status: str  # pending, anchored, rejected
    result: dict[str, Any] | None
    anchor_id: int | None
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class NewSubmission:
    """A write to journal."""

    idempotency_key: str
    body_hash: str
    kind: str
    signer: str
    nonce: int
    payload: dict[str, Any]
    operation: str = "attestations.attest"
    nonce_space: str = "attest"


@dataclass(frozen=True)
class Anchor:
    """A relaying transaction journaled before it was sent."""

    id: int
    kind: str  # single, batch, relays (an executeBatch) or relay (one request)
    tx: PreparedTx
    tree: bytes | None
    state: str  # sent, done, or undone (a batch of relays the chain undid whole)
    submission_ids: list[str]


#: The columns a new submission is inserted with, in :func:`_insert_row`'s order.
_NEW_COLUMNS = (
    "INSERT INTO submissions (id, caller, idempotency_key, body_hash, kind, operation, "
    "signer, nonce_space, nonce, payload, status, result, anchor_id, created_at, updated_at) "
)
_INSERT = _NEW_COLUMNS + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, ?, ?)"


#: Each submission's outcome, all in one statement: made before the write lock is taken
#: (:func:`_outcomes_json`), one statement under it however many a round settles.
_SETTLE = (
    "UPDATE submissions SET status = o.value ->> '$[1]', result = o.value ->> '$[2]', "
    "updated_at = ? FROM json_each(?) AS o WHERE submissions.id = o.value ->> '$[0]'"
)


def _outcomes_json(outcomes: Iterable[tuple[str, tuple[str, dict[str, Any]]]]) -> str:
    """``(submission id, (status, result))`` pairs as :data:`_SETTLE`'s JSON parameter."""
    return json.dumps([[sid, status, json.dumps(result)] for sid, (status, result) in outcomes])


#: :data:`_INSERT` of many rows at once: the time twice, then one JSON array of
#: :func:`_insert_row`'s rows without their last two (the time, bound as itself).
_INSERT_EACH = (
    _NEW_COLUMNS
    + "SELECT r.value ->> '$[0]', r.value ->> '$[1]', r.value ->> '$[2]', r.value ->> '$[3]', "
    "r.value ->> '$[4]', r.value ->> '$[5]', r.value ->> '$[6]', r.value ->> '$[7]', "
    "r.value ->> '$[8]', r.value ->> '$[9]', 'pending', NULL, NULL, ?, ? "
    "FROM json_each(?) AS r ORDER BY r.key"
)


def _new_submission(caller: str, item: NewSubmission, row: tuple[Any, ...]) -> Submission:
    """The submission ``row`` (:func:`_insert_row`) journaled."""
    return Submission(
        id=row[0],
        caller=caller,
        idempotency_key=item.idempotency_key,
        kind=item.kind,
        operation=item.operation,
        signer=item.signer,
        nonce_space=item.nonce_space,
        nonce=item.nonce,
        payload=item.payload,
        status="pending",
        result=None,
        anchor_id=None,
        created_at=row[-1],
        updated_at=row[-1],
    )


def _insert_row(caller: str, item: NewSubmission, now: float) -> tuple[Any, ...]:
    """The parameters of :data:`_INSERT` for ``item``: a new id, first; the time, last."""
    return (
        "sub_" + uuid.uuid4().hex,
        caller,
        item.idempotency_key,
        item.body_hash,
        item.kind,
        item.operation,
        item.signer,
        item.nonce_space,
        str(item.nonce),
        json.dumps(item.payload),
        now,
        now,
    )


def _submission(row: sqlite3.Row) -> Submission:
    return Submission(
        id=row["id"],
        caller=row["caller"],
        idempotency_key=row["idempotency_key"],
        kind=row["kind"],
        operation=row["operation"],
        signer=row["signer"],
        nonce_space=row["nonce_space"],
        nonce=int(row["nonce"]),
        payload=json.loads(row["payload"]),
        status=row["status"],
        result=json.loads(row["result"]) if row["result"] else None,
        anchor_id=row["anchor_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class _Pending:
    """A request waiting for the group committer."""

    __slots__ = ("caller", "done", "error", "future", "items", "results")

    def __init__(
        self,
        caller: str,
        items: list[NewSubmission],
        future: asyncio.Future[list[tuple[Submission, bool]]] | None = None,
    ) -> None:
        self.caller = caller
        self.items = items
        self.done = threading.Event()
        self.future = future
        self.error: Exception | None = None
        self.results: list[tuple[Submission, bool]] = []

    def finish(self) -> None:
        """Wake whoever waits: a thread, or a coroutine on its event loop."""
        self.done.set()
        fut = self.future
        if fut is not None:
            fut.get_loop().call_soon_threadsafe(_resolve, fut, self.error, self.results)


def _resolve(
    fut: asyncio.Future[list[tuple[Submission, bool]]],
    error: Exception | None,
    results: list[tuple[Submission, bool]],
) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(results)


#: Requests committed together at most.
GROUP_MAX = 256


class Journal:
    """Accept, track and settle submissions."""

    def __init__(self, db: ApiDatabase) -> None:
        self._db = db
        # The oldest write accepted and not yet taken by a look at the pending ones
        # (wall clock), and the number of the commit that accepted it; None when none
        # waits. Kept in memory: the accept path reads it without the database.
        self._untaken: tuple[int, float] | None = None
        self._commits = 0
        self._untaken_lock = threading.Lock()
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._committer = threading.Thread(
            target=self._commit_loop, name="journal-commit", daemon=True
        )
        self._committer.start()

    def accept(
        self,
        *,
        caller: str,
        idempotency_key: str,
        body_hash: str,
        kind: str,
        signer: str,
        nonce: int,
        payload: dict[str, Any],
    ) -> tuple[Submission, bool]:
        """Journal a write; return it and whether it is new (False: a replay of the key)."""
        item = NewSubmission(idempotency_key, body_hash, kind, signer, nonce, payload)
        return self.accept_many(caller, [item])[0]

    def accept_many(self, caller: str, items: list[NewSubmission]) -> list[tuple[Submission, bool]]:
        """Journal several writes: all of them, or none; durable when this returns.

        Concurrent calls are committed together (group commit): one fsync for all
        of them, which is what lets the journal keep up with many clients on a disk
        whose fsync costs milliseconds.
        """
        request = _Pending(caller, items)
        self._queue.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.results

    async def accept_many_async(
        self, caller: str, items: list[NewSubmission]
    ) -> list[tuple[Submission, bool]]:
        """:meth:`accept_many` for the event loop: waits for the group commit without a thread."""
        loop = asyncio.get_running_loop()
        request = _Pending(caller, items, loop.create_future())
        self._queue.put(request)
        assert request.future is not None
        return await request.future

    def _commit_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < GROUP_MAX:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # stop after this group
                    break
                group.append(nxt)
            self._commit(group)

    def _commit(self, group: list[_Pending]) -> None:
        """Journal a group of requests in one transaction, each all or nothing.

        The write lock this takes is what every accept and the worker's settling wait for,
        and each statement run under it hands the GIL away and waits to get it back while
        the intake's threads run. So each item is one ``INSERT`` made ready before the lock
        is taken, and the table's unique keys do the checks: a replayed Idempotency-Key, a
        key reused with another body and a nonce already submitted are told apart only
        when an insert is refused (:meth:`_conflict`).

        The whole group is first tried as one statement, which is what nearly every group
        is: all new. When the table refuses any row of it, the statement is undone whole
        and each request is journaled on its own: one of one item needs no savepoint (a
        refused insert changes nothing), one of several has its own, so one refused item
        undoes only its request.
        """
        now = time.time()
        rows = [[_insert_row(req.caller, item, now) for item in req.items] for req in group]
        every_row = json.dumps([row[:-2] for req_rows in rows for row in req_rows])
        try:
            with self._db.transaction() as conn:
                try:
                    conn.execute(_INSERT_EACH, (now, now, every_row))
                except sqlite3.IntegrityError:
                    self._commit_each(conn, group, rows)
                else:
                    for req, req_rows in zip(group, rows, strict=True):
                        req.results = [
                            (_new_submission(req.caller, item, row), True)
                            for item, row in zip(req.items, req_rows, strict=True)
                        ]
        except Exception as exc:  # the commit itself failed: nothing in the group is durable
            for req in group:
                req.error, req.results = exc, []
        if any(new for req in group for _, new in req.results):
            with self._untaken_lock:
                self._commits += 1
                if self._untaken is None:
                    self._untaken = (self._commits, now)
        for req in group:
            req.finish()

    def _commit_each(
        self, conn: sqlite3.Connection, group: list[_Pending], rows: list[list[tuple[Any, ...]]]
    ) -> None:
        """Journal each request of a group on its own, all or nothing each (a savepoint
        for a request of several items)."""
        for req, req_rows in zip(group, rows, strict=True):
            several = len(req_rows) > 1
            if several:
                conn.execute("SAVEPOINT request")
            try:
                req.results = [
                    self._insert(conn, req.caller, item, row)
                    for item, row in zip(req.items, req_rows, strict=True)
                ]
            except Exception as exc:  # handed to the waiting request's thread
                if several:
                    conn.execute("ROLLBACK TO request")
                req.error = exc
                req.results = []
            if several:
                conn.execute("RELEASE request")

    def close(self) -> None:
        """Stop the group committer once queued writes are committed."""
        self._queue.put(None)
        self._committer.join(timeout=30)

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, caller: str, item: NewSubmission, row: tuple[Any, ...]
    ) -> tuple[Submission, bool]:
        """Insert one prepared row; return it as journaled and True, or, when the table's
        unique keys refuse it, what :meth:`_conflict` says."""
        try:
            conn.execute(_INSERT, row)
        except sqlite3.IntegrityError as refused:
            return Journal._conflict(conn, caller, item, refused)
        return _new_submission(caller, item, row), True

    @staticmethod
    def _conflict(
        conn: sqlite3.Connection, caller: str, item: NewSubmission, refused: sqlite3.IntegrityError
    ) -> tuple[Submission, bool]:
        """Why the table refused an item: the same Idempotency-Key and body again (the
        journaled submission, and False), the key with another body
        (``IdempotencyKeyReused``), or the signer's nonce already submitted
        (``NonceAlreadySubmitted``); in that order, as a replay carries its nonce too."""
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute(
                "SELECT * FROM submissions WHERE caller = ? AND idempotency_key = ?",
                (caller, item.idempotency_key),
            ).fetchone()
            if row is not None:
                if row["body_hash"] != item.body_hash:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was used with a different body",
                        idempotency_key=item.idempotency_key,
                        submission_id=row["id"],
                    )
                return _submission(row), False
            taken = conn.execute(
                "SELECT id FROM submissions WHERE signer = ? AND nonce_space = ? AND nonce = ?",
                (item.signer, item.nonce_space, str(item.nonce)),
            ).fetchone()
        finally:
            conn.row_factory = None
        if taken is not None:
            raise NonceAlreadySubmitted(
                f"{item.signer} already submitted nonce {item.nonce}",
                signer=item.signer,
                nonce=str(item.nonce),
                submission_id=taken["id"],
            )
        raise refused  # no key of the journal's: not a refusal the caller can act on

    def get(self, submission_id: str) -> Submission | None:
        """A submission by id."""
        rows = self._db.query("SELECT * FROM submissions WHERE id = ?", (submission_id,))
        return _submission(rows[0]) if rows else None

    def find(self, caller: str, idempotency_key: str) -> tuple[Submission, str] | None:
        """The submission ``caller`` journaled under ``idempotency_key``, with its body hash."""
        rows = self._db.query(
            "SELECT * FROM submissions WHERE caller = ? AND idempotency_key = ?",
            (caller, idempotency_key),
        )
        return (_submission(rows[0]), rows[0]["body_hash"]) if rows else None

    def nonce_taken(self, signer: str, nonce_space: str, nonce: int) -> str | None:
        """The submission that already carries this signer's nonce, or None."""
        rows = self._db.query(
            "SELECT id FROM submissions WHERE signer = ? AND nonce_space = ? AND nonce = ?",
            (signer, nonce_space, str(nonce)),
        )
        return str(rows[0]["id"]) if rows else None

    def has_pending_relays(self, signer: str) -> bool:
        """True while a relayed call (not an attestation) signed by ``signer`` is pending."""
        rows = self._db.query(
            "SELECT 1 FROM submissions WHERE signer = ? AND status = 'pending' "
            "AND kind != 'attestation' LIMIT 1",
            (signer,),
        )
        return bool(rows)

    def pending(self, limit: int) -> list[Submission]:
        """Submissions not yet tied to a transaction, oldest first. A look that takes them
        all (fewer than ``limit``) leaves none waiting untaken (:meth:`untaken_s`)."""
        with self._untaken_lock:
            seen = self._commits  # every commit up to this one is visible to the query
        rows = self._db.query(
            "SELECT * FROM submissions WHERE status = 'pending' AND anchor_id IS NULL "
            "ORDER BY rowid LIMIT ?",
            (limit,),
        )
        if len(rows) < limit:
            with self._untaken_lock:
                if self._untaken is not None and self._untaken[0] <= seen:
                    self._untaken = None
        return [_submission(r) for r in rows]

    def untaken_s(self) -> float:
        """How long the oldest write accepted since the last look at the pending ones has
        waited for a look (0 when none waits): while the worker is busy with a round,
        what arrives waits for the next one."""
        with self._untaken_lock:
            untaken = self._untaken
        return 0.0 if untaken is None else max(0.0, time.time() - untaken[1])

    def batch_records(self, anchor_id: int) -> list[tuple[bytes, bytes]]:
        """(subject, record hash) of each record a batch anchor carries, in leaf order."""
        rows = self._db.query(
            "SELECT payload FROM submissions WHERE anchor_id = ? ORDER BY rowid", (anchor_id,)
        )
        out = []
        for r in rows:
            doc = json.loads(r["payload"])
            out.append((bytes.fromhex(doc["subject"][2:]), bytes.fromhex(doc["data_hash"][2:])))
        return out

    def counts(self) -> dict[str, int]:
        """How many submissions stand in each state."""
        rows = self._db.query("SELECT status, count(*) AS n FROM submissions GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    def begin_anchor(
        self, kind: str, tx: PreparedTx, submission_ids: list[str], tree: bytes | None = None
    ) -> int:
        """Journal a prepared transaction and tie the submissions to it, before sending."""
        return self.begin_anchors(kind, [(tx, submission_ids, tree)])[0]

    def begin_anchors(
        self,
        kind: str,
        anchors: list[tuple[PreparedTx, list[str], bytes | None]],
        *,
        replacing: int | None = None,
    ) -> list[int]:
        """Journal prepared transactions (each with its submissions and tree), in one commit.

        The worker's round of relays is journaled together: one fsync, not one a relay.
        ``replacing``: an anchor whose transaction the chain undid whole, closed in the
        same commit as its submissions are tied to these (a crash leaves one or the other).
        """
        now = time.time()
        ids: list[int] = []
        with self._db.transaction() as conn:
            if replacing is not None:
                conn.execute("UPDATE anchors SET state = 'undone' WHERE id = ?", (replacing,))
            for tx, submission_ids, tree in anchors:
                cur = conn.execute(
                    "INSERT INTO anchors (kind, tx_hash, sender, to_address, data, raw, nonce, "
                    "tree, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sent', ?)",
                    (
                        kind,
                        tx.tx_hash,
                        tx.sender,
                        tx.to or "",
                        tx.data,
                        tx.raw,
                        tx.nonce,
                        tree,
                        now,
                    ),
                )
                anchor_id = int(cur.lastrowid or 0)
                # One statement for a batch's hundreds of records, not one each: each
                # statement hands the GIL away and waits to get it back under the lock.
                conn.execute(
                    "UPDATE submissions SET anchor_id = ?, updated_at = ? "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (anchor_id, now, json.dumps(submission_ids)),
                )
                ids.append(anchor_id)
        return ids

    def settle(self, anchor_id: int, outcomes: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """Record each submission's outcome (status, result) and close the anchor."""
        self.settle_many({anchor_id: outcomes})

    def settle_many(self, settled: dict[int, dict[str, tuple[str, dict[str, Any]]]]) -> None:
        """:meth:`settle` of several anchors in one commit (a round of relays)."""
        outcomes = _outcomes_json(o for outcomes in settled.values() for o in outcomes.items())
        with self._db.transaction() as conn:
            conn.execute(_SETTLE, (time.time(), outcomes))
            conn.execute(
                "UPDATE anchors SET state = 'done' WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(settled)),),
            )

    def settle_without_anchor(self, outcomes: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """Record outcomes of submissions that never needed a transaction."""
        settled = _outcomes_json(outcomes.items())
        with self._db.transaction() as conn:
            conn.execute(_SETTLE, (time.time(), settled))

    def unfinished(self) -> list[Anchor]:
        """Transactions journaled but not settled: what a restart must finish."""
        rows = self._db.query("SELECT * FROM anchors WHERE state = 'sent' ORDER BY id")
        out = []
        for r in rows:
            subs = self._db.query(
                "SELECT id FROM submissions WHERE anchor_id = ? ORDER BY rowid", (r["id"],)
            )
            out.append(self._anchor(r, [s["id"] for s in subs]))
        return out

    def anchor(self, anchor_id: int) -> Anchor | None:
        """A journaled transaction by id."""
        rows = self._db.query("SELECT * FROM anchors WHERE id = ?", (anchor_id,))
        if not rows:
            return None
        subs = self._db.query(
            "SELECT id FROM submissions WHERE anchor_id = ? ORDER BY rowid", (anchor_id,)
        )
        return self._anchor(rows[0], [s["id"] for s in subs])

    @staticmethod
    def _anchor(r: sqlite3.Row, subs: list[str]) -> Anchor:
        tx = PreparedTx(
            raw=bytes(r["raw"]),
            tx_hash=r["tx_hash"],
            sender=r["sender"],
            to=r["to_address"] or None,
            data=bytes(r["data"]),
            value=0,
            nonce=r["nonce"],
        )
        tree = bytes(r["tree"]) if r["tree"] is not None else None
        return Anchor(r["id"], r["kind"], tx, tree, r["state"], subs)
