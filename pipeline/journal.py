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
    kind: str  # single, batch or relay
    tx: PreparedTx
    tree: bytes | None
    state: str  # sent or done
    submission_ids: list[str]


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
        now = time.time()
        try:
            with self._db.transaction() as conn:
                conn.row_factory = sqlite3.Row
                try:
                    for req in group:
                        # A savepoint per request: one refused request undoes only itself.
                        conn.execute("SAVEPOINT request")
                        try:
                            req.results = [
                                self._accept_one(conn, req.caller, item, now) for item in req.items
                            ]
                        except Exception as exc:  # handed to the waiting request's thread
                            conn.execute("ROLLBACK TO request")
                            req.error = exc
                            req.results = []
                        conn.execute("RELEASE request")
                finally:
                    conn.row_factory = None
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

    def close(self) -> None:
        """Stop the group committer once queued writes are committed."""
        self._queue.put(None)
        self._committer.join(timeout=30)

    @staticmethod
    def _accept_one(
        conn: sqlite3.Connection, caller: str, item: NewSubmission, now: float
    ) -> tuple[Submission, bool]:
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
        if taken is not None:
            raise NonceAlreadySubmitted(
                f"{item.signer} already submitted nonce {item.nonce}",
                signer=item.signer,
                nonce=str(item.nonce),
                submission_id=taken["id"],
            )
        sub_id = "sub_" + uuid.uuid4().hex
        conn.execute(
            "INSERT INTO submissions (id, caller, idempotency_key, body_hash, kind, operation, "
            "signer, nonce_space, nonce, payload, status, result, anchor_id, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, ?, ?)",
            (
                sub_id,
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
            ),
        )
        new = Submission(
            id=sub_id,
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
            created_at=now,
            updated_at=now,
        )
        return new, True

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
        self, kind: str, anchors: list[tuple[PreparedTx, list[str], bytes | None]]
    ) -> list[int]:
        """Journal prepared transactions (each with its submissions and tree), in one commit.

        The worker's round of relays is journaled together: one fsync, not one a relay.
        """
        now = time.time()
        ids: list[int] = []
        with self._db.transaction() as conn:
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
                conn.executemany(
                    "UPDATE submissions SET anchor_id = ?, updated_at = ? WHERE id = ?",
                    [(anchor_id, now, s) for s in submission_ids],
                )
                ids.append(anchor_id)
        return ids

    def settle(self, anchor_id: int, outcomes: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """Record each submission's outcome (status, result) and close the anchor."""
        self.settle_many({anchor_id: outcomes})

    def settle_many(self, settled: dict[int, dict[str, tuple[str, dict[str, Any]]]]) -> None:
        """:meth:`settle` of several anchors in one commit (a round of relays)."""
        now = time.time()
        with self._db.transaction() as conn:
            conn.executemany(
                "UPDATE submissions SET status = ?, result = ?, updated_at = ? WHERE id = ?",
                [
                    (status, json.dumps(result), now, sid)
                    for outcomes in settled.values()
                    for sid, (status, result) in outcomes.items()
                ],
            )
            conn.executemany(
                "UPDATE anchors SET state = 'done' WHERE id = ?", [(a,) for a in settled]
            )

    def settle_without_anchor(self, outcomes: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """Record outcomes of submissions that never needed a transaction."""
        now = time.time()
        with self._db.transaction() as conn:
            conn.executemany(
                "UPDATE submissions SET status = ?, result = ?, updated_at = ? WHERE id = ?",
                [
                    (status, json.dumps(result), now, sid)
                    for sid, (status, result) in outcomes.items()
                ],
            )

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
