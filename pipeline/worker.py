"""The anchoring worker: pending submissions to the chain, exactly once.

Few pending records are relayed one by one (``attestBySig``: the chain checks
each signer); many are folded into one signed batch anchored by the relay
member, whose leaves commit to each record's signer and signature. Records
with a reference to another attestation always go one by one: a batch leaf
does not carry a reference.

Every other write is one signed request relayed in the order it was accepted
(a transfer accepted after an acceptance runs after it): a ``forward``, the
signer's ForwardRequest, and an ``authorise`` (``authoriseBySig``, wrapped in
the relayer's own request), many to a transaction through the Forwarder's
``executeBatch``. The chain checks each signer and carries out or refuses each
request on its own; a refusal settles the submission as rejected with the
contract's named error and its arguments.
"""

from __future__ import annotations

import gc
import logging
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount

from ledger_client import Chain, Ledger
from ledger_client.attestations.batches import signed_batch_tree
from ledger_client.attestations.merkle import MerkleTree, anchored_batch_id
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.chain.abi import Log
from ledger_client.chain.backends import Receipt
from ledger_client.chain.connection import PreparedTx
from ledger_client.chain.finality import Finality
from ledger_client.contracts.attestations import signed_batch_gas
from ledger_client.contracts.base import Call, ContractFacade
from ledger_client.contracts.forwarder import SignedForwardRequest
from ledger_client.errors import ContractRevert, LedgerError, TransactionError
from ledger_client.index import EventIndex

from .config import Settings
from .journal import Anchor, Journal, Submission
from .operations import OPERATIONS, Operation

#: How often the worker re-reads the chain's clock and signers' standing, seconds.
REFRESH_S = 1.0
#: A full garbage collection runs after this many idle seconds, at most once a minute.
IDLE_COLLECT_S = 5.0
COLLECT_EVERY_S = 60.0
#: The row a signed attestation is relayed by, alone.
_ATTEST = OPERATIONS["attestations.attest"]


class Host(Protocol):
    """What the worker works with: the service that runs it (:class:`pipeline.service.Service`),
    named by what it offers so that neither module imports the other."""

    settings: Settings
    chain: Chain
    ledger: Ledger
    relayer: LocalAccount
    journal: Journal
    index: EventIndex

    def chain_time(self) -> int: ...

    def refresh(self) -> None: ...

    def note_chain_time(self, timestamp: int) -> None: ...

    def facade_at(self, address: str) -> ContractFacade | None: ...


log = logging.getLogger("credit_chain.api.worker")
_ZERO32 = bytes(32)
#: Transactions sent together at most, so one block at most: the chain's lock is held while
#: they run, and every read of the chain (``/ready``, an intake's dry run) waits for it. On
#: py-evm a relay runs in about 15 ms, so a block of 32 holds the lock for about half a
#: second; a backlog of hundreds, in one block, held it for many seconds.
TOGETHER_MAX = 32
#: Relayed requests one ``executeBatch`` carries at most: its gas (600,000 a request) stays
#: within two thirds of a block's 30 million, and a round's relays still go in one block.
RELAYS_PER_TX = 32
#: The deadline of the relayer's own requests (uint48's largest): see ``_forward_of``.
FOREVER = 2**48 - 1
#: Dry runs of one signed batch at most, each dropping the records the chain named.
_DRY_RUNS = 16


def pack_levels(tree: MerkleTree) -> bytes:
    """A tree's levels as bytes: per level a 4-byte count, then its 32-byte nodes."""
    out = bytearray()
    for level in tree.levels:
        out += struct.pack(">I", len(level))
        for node in level:
            out += node
    return bytes(out)


def unpack_levels(blob: bytes) -> MerkleTree:
    """The tree :func:`pack_levels` packed."""
    levels: list[list[bytes]] = []
    pos = 0
    while pos < len(blob):
        (count,) = struct.unpack_from(">I", blob, pos)
        pos += 4
        levels.append([blob[pos + 32 * i : pos + 32 * (i + 1)] for i in range(count)])
        pos += 32 * count
    return MerkleTree.from_levels(levels)


class AnchorWorker:
    """A background thread that anchors what the journal holds."""

    def __init__(self, service: Host) -> None:
        self.service = service
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anchor-worker", daemon=True)
        self.last_error: str | None = None
        self._finality: Finality | None = None
        # Since when (wall clock) every round has failed (the chain unreachable); None
        # while rounds succeed. Each failed round looks at the journal again, so what
        # waits is taken each time: this is what says it is never sent.
        self._failing_since: float | None = None

    def start(self) -> None:
        """Finish what a previous run left, then start anchoring."""
        self.recover()
        self._thread.start()

    def wake(self) -> None:
        """Look for pending submissions now."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the current round."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    def backlog_s(self) -> float:
        """How long a write accepted now would already be behind, in seconds: the longer
        of how long the oldest write not yet taken has waited for a round (the worker
        busy with one, or blocked in it) and how long rounds have failed. What the
        admission bound is checked against; read without the database."""
        failing = self._failing_since
        failed_s = 0.0 if failing is None else max(0.0, time.time() - failing)
        return max(self.service.journal.untaken_s(), failed_s)

    def recover(self) -> int:
        """Send again every transaction journaled but not settled; return how many."""
        unfinished = self.service.journal.unfinished()
        # In journal order, which is the relayer's nonce order: together, as a round was.
        self._settle_together(unfinished)
        return len(unfinished)

    def _run(self) -> None:
        interval = self.service.settings.anchor_interval_s
        refreshed = last_work = last_collect = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                now = time.monotonic()
                if now - refreshed > REFRESH_S:
                    self.service.refresh()
                    refreshed = now
                self.recover()  # anything a failed round left journaled but unsettled
                worked = False
                while self.anchor_pending():
                    worked = True
                if worked:
                    last_work = time.monotonic()
                elif now - last_work > IDLE_COLLECT_S and now - last_collect > COLLECT_EVERY_S:
                    # Full garbage collections pause every thread; run them while idle.
                    gc.collect()
                    last_collect = time.monotonic()
                self.last_error = None
                self._failing_since = None
            except LedgerError as exc:  # the chain is unreachable: try again next round
                self.last_error = str(exc)
                if self._failing_since is None:
                    self._failing_since = time.time()
                log.warning("anchoring failed, will retry: %s", exc)

    def anchor_pending(self) -> int:
        """Anchor one round of pending submissions; return how many were taken."""
        s = self.service
        pending = s.journal.pending(s.settings.batch_max)
        if not pending:
            return 0
        records = [x for x in pending if x.kind == "attestation"]
        relays = [x for x in pending if x.kind != "attestation"]
        self._relay_all(relays)  # oldest first: the order they were accepted in
        if not records:
            return len(relays)
        oldest = min(x.created_at for x in records)
        if len(records) < s.settings.batch_min and time.time() - oldest < s.settings.batch_wait_s:
            return len(relays)  # a few records: wait a moment for more to share a batch with
        return len(relays) + self._anchor_records(records)

    def _anchor_records(self, pending: list[Submission]) -> int:
        s = self.service
        now = s.chain_time()
        groups: dict[tuple[str, int], list[Submission]] = defaultdict(list)
        singles: list[Submission] = []
        for sub in pending:
            record = SignedRecord.from_dict(sub.payload)
            if record.request.ref_uid != _ZERO32 or not record.batchable:
                # A nonce or deadline too wide for a signed batch's claim word goes on its own.
                singles.append(sub)
            else:
                groups[(sub.payload["schema"], record.request.expiry)].append(sub)
        for subs in groups.values():
            if len(subs) >= s.settings.batch_min:
                self._anchor_batch(subs, now)
            else:
                singles.extend(subs)
        for sub in sorted(singles, key=lambda x: (x.created_at, x.id)):
            self._anchor_single(sub)
        return len(pending)

    def _relay_all(self, subs: list[Submission]) -> None:
        """Relay signed requests (forwards, authorisations) in the order given, folded into
        ``executeBatch`` transactions of at most :data:`RELAYS_PER_TX`: journaled together
        before the first is sent, settled together after.

        Each request is still its own: the Forwarder carries it out or reports it refused
        with the contract's error, which settles its submission as rejected by name and
        leaves the others alone. One signature, one transaction and one receipt serve the
        whole batch instead of one each. A batch the chain undoes whole (out of gas) is
        relayed again one request a transaction (:meth:`_relay_each`).
        """
        if not subs:
            return
        s = self.service
        unreadable: dict[str, tuple[str, dict[str, Any]]] = {}
        forwards: list[tuple[Submission, SignedForwardRequest]] = []
        for sub in subs:
            try:
                forwards.append((sub, self._forward_of(sub)))
            except (KeyError, TypeError, ValueError) as exc:  # a payload it cannot read
                unreadable[sub.id] = _unreadable(exc)
        if unreadable:
            s.journal.settle_without_anchor(unreadable)
        if not forwards:
            return
        fw = s.ledger.forwarder
        batches: list[tuple[PreparedTx, list[str], bytes | None]] = []
        for start in range(0, len(forwards), RELAYS_PER_TX):
            part = forwards[start : start + RELAYS_PER_TX]
            data = fw.execute_batch_data([f for _, f in part])
            tx = s.chain.prepare(s.relayer, fw.address, data, gas=fw.batch_gas(len(part)))
            batches.append((tx, [sub.id for sub, _ in part], None))
        anchor_ids = s.journal.begin_anchors("relays", batches)
        self._settle_together(
            [
                Anchor(anchor_id, "relays", tx, None, "sent", ids)
                for (tx, ids, _), anchor_id in zip(batches, anchor_ids, strict=True)
            ],
            {sub.id: sub.operation for sub, _ in forwards},
        )

    def _forward_of(self, sub: Submission) -> SignedForwardRequest:
        """The request an ``executeBatch`` carries for ``sub``: the signer's own
        ForwardRequest, or for a call the relayer makes itself (``authoriseBySig``, whose
        signature the contract checks) the relayer's request for that call."""
        s = self.service
        op = _relayed_operation(sub)
        if op.journaled is None:
            return SignedForwardRequest.from_dict(sub.payload["request"])
        call = op.call(s.ledger, op.journaled.load(sub.payload))
        # The relayer is the caller either way; a far deadline, as its nonce is what stops a
        # second relaying, and a batch sent again after a restart must not expire.
        return s.ledger.forwarder.sign_call(s.relayer, call, deadline=FOREVER)

    def _relay_each(self, batch: Anchor) -> None:
        """Relay the requests of a batch the chain undid whole, one a transaction, and
        close the batch in the same commit as the new transactions are journaled."""
        s = self.service
        prepared: list[tuple[Submission, PreparedTx]] = []
        unreadable: dict[str, tuple[str, dict[str, Any]]] = {}
        for sid in batch.submission_ids:
            sub = s.journal.get(sid)
            if sub is None:
                continue
            try:
                to, data = relay_call(s.ledger, sub)
            except (KeyError, TypeError, ValueError) as exc:
                unreadable[sid] = _unreadable(exc)
                continue
            prepared.append((sub, s.chain.prepare(s.relayer, to, data)))
        if unreadable:
            s.journal.settle_without_anchor(unreadable)
        anchor_ids = s.journal.begin_anchors(
            "relay", [(tx, [sub.id], None) for sub, tx in prepared], replacing=batch.id
        )
        self._settle_together(
            [
                Anchor(anchor_id, "relay", tx, None, "sent", [sub.id])
                for (sub, tx), anchor_id in zip(prepared, anchor_ids, strict=True)
            ],
            {sub.id: sub.operation for sub, _ in prepared},
        )

    def _settle_together(
        self, anchors: list[Anchor], operations: Mapping[str, str] | None = None
    ) -> None:
        """Send (or find) journaled transactions in this order and settle them in one commit.

        On one node they go together (:meth:`Chain.send_prepared_together`), at most
        :data:`TOGETHER_MAX` at a time: the embedded chains mine each such group in one
        block, a node gets a group before any receipt is awaited.
        Each is still its own transaction: a revert settles its submissions as rejected and
        leaves the others alone. One the node refused stays journaled, unsettled, for
        :meth:`recover`; it is raised after the others are settled. With a confirmation
        depth above one, each is sent and followed to its depth in turn. A batch of relays
        the chain undid whole is relayed again request by request (:meth:`_relay_each`).
        ``operations``: each relayed submission's operation, when known (else read from
        the journal).
        """
        if not anchors:
            return
        s = self.service
        ops = operations or {}
        settled: dict[int, dict[str, tuple[str, dict[str, Any]]]] = {}
        undone: list[Anchor] = []
        try:
            if self._depth() != 1:
                for anchor in anchors:
                    try:
                        settled[anchor.id] = self._outcomes(anchor, ops)
                    except _BatchUndone:
                        undone.append(anchor)
                return
            for start in range(0, len(anchors), TOGETHER_MAX):
                part = anchors[start : start + TOGETHER_MAX]
                sent = s.chain.send_prepared_together([a.tx for a in part])
                refused: Exception | None = None
                for anchor, outcome in zip(part, sent, strict=True):
                    if anchor.kind == "relays" and self._undone(anchor, outcome):
                        undone.append(anchor)
                    elif isinstance(outcome, Receipt | ContractRevert):
                        settled[anchor.id] = self._outcomes_of(anchor, outcome, ops)
                    elif refused is None:
                        refused = outcome
                if refused is not None:
                    raise refused
        finally:
            # What was sent is settled even when the chain went away mid-round; the rest
            # stays journaled for recover() to send again.
            if settled:
                s.journal.settle_many(settled)
            for batch in undone:
                self._relay_each(batch)

    def _undone(self, batch: Anchor, outcome: Receipt | Exception) -> bool:
        """Whether a batch of relays was mined and undone whole (its receipt failed): only
        out of gas does that, so no request of it was refused."""
        if isinstance(outcome, Receipt):
            return outcome.status != 1
        if isinstance(outcome, ContractRevert):
            return True  # mined, with the batch's own refusal (ForwarderBatchOutOfGas)
        return self._mined_and_failed(batch)

    def _mined_and_failed(self, anchor: Anchor) -> bool:
        """Whether the anchor's transaction was mined and failed (not refused by the node)."""
        found = self.service.chain.backend.receipt_if_mined(anchor.tx.tx_hash)
        return found is not None and found.status != 1

    def _anchor_single(self, sub: Submission) -> None:
        s = self.service
        assert _ATTEST.journaled is not None
        call = _ATTEST.call(s.ledger, _ATTEST.journaled.load(sub.payload))
        tx = s.chain.prepare(s.relayer, call.to, call.data)
        anchor_id = s.journal.begin_anchor("single", tx, [sub.id])
        # The transaction as prepared here, not read back: an in-process chain takes it
        # without decoding and recovering its signature again.
        self._finish(Anchor(anchor_id, "single", tx, None, "sent", [sub.id]))

    def _anchor_batch(self, subs: list[Submission], now: int) -> None:
        s = self.service
        live: list[Submission] = []
        expired: list[Submission] = []
        for sub in subs:
            (live if int(sub.payload["deadline"]) > now else expired).append(sub)
        if expired:
            # A batch leaf would carry a signature past its deadline: refuse by name.
            tx_less = {
                x.id: (
                    "rejected",
                    {
                        "error": "SignatureExpired",
                        "detail": "the signature's deadline passed "
                        "before the record could be anchored",
                        "deadline": x.payload["deadline"],
                    },
                )
                for x in expired
            }
            s.journal.settle_without_anchor(tx_less)
        if not live:
            return
        # By signer and nonce: runs of one signer's nonce word are one storage write on chain.
        live.sort(key=lambda x: (str(x.payload["signer"]).lower(), int(x.payload["nonce"])))
        live = self._without_refused(live)
        if not live:
            return
        records = [SignedRecord.from_dict(x.payload) for x in live]
        # The tree the chain builds from the same leaves, kept to hand out proofs.
        tree = signed_batch_tree(records)
        call = _signed_batch_call(s.ledger, records)
        gas = signed_batch_gas(records)
        tx = s.chain.prepare(s.relayer, call.to, call.data, gas=gas)
        ids = [x.id for x in live]
        levels = pack_levels(tree)
        anchor_id = s.journal.begin_anchor("batch", tx, ids, levels)
        self._finish(Anchor(anchor_id, "batch", tx, levels, "sent", ids))

    def _without_refused(self, live: list[Submission]) -> list[Submission]:
        """Dry-run the batch: the chain refuses it whole for one record (a nonce already spent,
        by attestBySig elsewhere say; a passed deadline; a signer suspended since), so each
        record it names is rejected alone, with the chain's error, and the rest tried again."""
        s = self.service
        for _ in range(_DRY_RUNS):  # each round drops at least one record, or stops
            if not live:
                return live
            records = [SignedRecord.from_dict(x.payload) for x in live]
            try:
                call = _signed_batch_call(s.ledger, records)
                s.chain.call(call.to, call.data, sender=s.relayer.address)
            except ContractRevert as exc:
                named = [x for x, r in zip(live, records, strict=True) if _refuses(exc, r)]
                if not named:
                    return live  # not one record's fault: the real send reports it for all
                reason = _refusal(exc)
                del reason["tx_hash"]  # a dry run: no transaction was sent
                s.journal.settle_without_anchor({x.id: ("rejected", reason) for x in named})
                dropped = {x.id for x in named}
                live = [x for x in live if x.id not in dropped]
                continue
            return live
        return live

    def _send_anchored(self, tx: PreparedTx) -> Receipt:
        """Send (or find) a journaled transaction; return its receipt once it is anchored.

        On one node a mined block is final (depth 1). On a network of sealers the
        submissions settle only when the block is the confirmation depth deep, and a
        transaction a reorganisation dropped is sent again. Never lost, never doubled:

        * not lost: the signed transaction is journaled before it is first sent, and
          stays unsettled until it is anchored; a dropped one is sent again here, a
          crash or a node's loss leaves it to :meth:`recover`, which sends it again;
        * not doubled: every sending is the same signed bytes, so the same nonce of
          the relay account, which the chain lets be mined once whatever happened to
          the branch it was first mined on; and were the record ever carried by
          another transaction, ``attestBySig`` and the signed batches spend the
          signer's own nonce (``AttestationsNonceUsed``), the Forwarder the request's
          nonce, ``authoriseBySig`` the enterprise's: the chain refuses a second one.
        """
        if self._depth() == 1:
            return self.service.chain.send_prepared(tx)
        assert self._finality is not None  # set by _depth()
        return self._finality.send_anchored(tx)

    def _depth(self) -> int:
        """The confirmation depth at which a write counts as anchored (1 on one node)."""
        if self._finality is None:
            self._finality = Finality(self.service.chain)
        return self._finality.depth

    def _operation(self, sid: str, operations: Mapping[str, str] | None) -> str:
        """A relayed submission's operation: from the round, else from the journal."""
        if operations and sid in operations:
            return operations[sid]
        sub = self.service.journal.get(sid)
        return sub.operation if sub is not None else ""

    def _finish(self, anchor: Anchor) -> None:
        """Send (or find) the anchor's transaction and settle its submissions when anchored."""
        self.service.journal.settle(anchor.id, self._outcomes(anchor))

    def _outcomes(
        self, anchor: Anchor, operations: Mapping[str, str] | None = None
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """Send (or find) the anchor's transaction; return each submission's outcome once
        anchored (``operations``: relays' operations, when known, else read from the
        journal). A batch of relays the chain undid whole raises :class:`_BatchUndone`."""
        try:
            receipt = self._send_anchored(anchor.tx)
        except ContractRevert as exc:
            if anchor.kind == "relays":
                raise _BatchUndone(anchor.id) from exc
            return self._outcomes_of(anchor, exc, operations)
        except TransactionError:
            if anchor.kind == "relays" and self._mined_and_failed(anchor):
                raise _BatchUndone(anchor.id) from None
            raise
        return self._outcomes_of(anchor, receipt, operations)

    def _outcomes_of(
        self,
        anchor: Anchor,
        sent: Receipt | ContractRevert,
        operations: Mapping[str, str] | None = None,
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """Each submission's outcome, from the anchor's receipt or its named refusal."""
        s = self.service
        if isinstance(sent, ContractRevert):
            reason = _refusal(sent)
            return {sid: ("rejected", reason) for sid in anchor.submission_ids}
        receipt = sent
        s.note_chain_time(s.chain.backend.block(receipt.block_number).timestamp)
        base = {"tx_hash": receipt.tx_hash, "block": receipt.block_number}
        if anchor.kind == "relay":
            sid = anchor.submission_ids[0]
            return {sid: ("anchored", relay_result(s, self._operation(sid, operations), receipt))}
        if anchor.kind == "relays":
            each = s.ledger.forwarder.batch_outcomes(receipt, len(anchor.submission_ids))
            out: dict[str, tuple[str, dict[str, Any]]] = {}
            for sid, forwarded in zip(anchor.submission_ids, each, strict=True):
                if forwarded.refusal is not None:
                    out[sid] = ("rejected", _refusal(forwarded.refusal))
                else:
                    operation = self._operation(sid, operations)
                    out[sid] = ("anchored", relay_result(s, operation, receipt, forwarded.logs))
            return out
        events = s.ledger.attestations.decode_events(receipt)
        if anchor.kind == "single":
            uid = next(e.args["uid"] for e in events if e.name == "Attested")
            return {anchor.submission_ids[0]: ("anchored", {**base, "uid": "0x" + uid.hex()})}
        batch = next(e for e in events if e.name == "BatchAnchored")
        batch_id = anchored_batch_id(batch.args)
        if anchor.tree is not None:
            # Kept in the index too, before the submissions settle (a crash in between
            # stores it again, harmlessly), so records are listed by subject and hash.
            s.index.store_batch_tree(
                batch_id,
                unpack_levels(anchor.tree),
                s.journal.batch_records(anchor.id),
                check=False,  # signed leaves commit to (recordHash, claim), not batch_leaf's pair
            )
        return {
            sid: (
                "anchored",
                {
                    **base,
                    "batch_id": "0x" + batch_id.hex(),
                    "root": "0x" + batch.args["root"].hex(),
                    "index": i,
                },
            )
            for i, sid in enumerate(anchor.submission_ids)
        }


def _refusal(exc: ContractRevert) -> dict[str, Any]:
    """A rejected submission's result: the contract's error by name, with its arguments."""
    return {
        "error": exc.error_name,
        "detail": str(exc),
        "tx_hash": exc.tx_hash,
        **{k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in exc.fields.items()},
    }


class _BatchUndone(Exception):
    """A batch of relays was mined and undone whole: relay its requests one by one."""


def _signed_batch_call(ledger: Ledger, records: list[SignedRecord]) -> Call:
    """``anchorSignedBatch`` of ``records`` (one schema and expiry)."""
    first = records[0].request
    return ledger.attestations.signed_batch_call(first.schema, records, expiry=first.expiry)


def _refuses(exc: ContractRevert, record: SignedRecord) -> bool:
    """Whether the chain's refusal of a signed batch names ``record``."""
    f = exc.fields
    if exc.error_name == "AttestationsNonceUsed":
        return bool(f.get("attester") == record.signer and f.get("nonce") == record.nonce)
    if exc.error_name == "AttestationsSignatureExpired":
        return bool(f.get("deadline") == record.deadline)
    # The consortium's refusals of a signer (not a member, no attester role, suspended).
    return bool(exc.error_name.startswith("Consortium") and f.get("account") == record.signer)


def relay_call(ledger: Ledger, sub: Submission) -> tuple[str, bytes]:
    """The contract and calldata of the transaction that relays ``sub``, by its row."""
    op = _relayed_operation(sub)
    if op.journaled is None:  # the signer's ForwardRequest, as journaled
        signed = SignedForwardRequest.from_dict(sub.payload["request"])
        return ledger.forwarder.address, ledger.forwarder.execute_data(signed)
    call = op.call(ledger, op.journaled.load(sub.payload))
    return call.to, call.data


def _relayed_operation(sub: Submission) -> Operation[Any]:
    """The operation ``sub`` relays; ValueError when its row is not a relayed call."""
    op = OPERATIONS.get(sub.operation)
    if op is None or op.relayed_as != sub.kind or sub.kind == "attestation":
        raise ValueError(
            f"submission {sub.id} ({sub.kind} {sub.operation!r}) is not a relayed call"
        )
    return op


def _unreadable(exc: Exception) -> tuple[str, dict[str, Any]]:
    """The outcome of a submission whose payload cannot be relayed."""
    return ("rejected", {"error": "InvalidSubmission", "detail": f"cannot relay it: {exc!r}"})


def relay_result(
    service: Host, operation: str, receipt: Receipt, logs: Sequence[Log] | None = None
) -> dict[str, Any]:
    """What an anchored relay reports: its transaction, the events it caused (``logs``: its
    own, when its transaction carried others too), what it made."""
    events: list[dict[str, Any]] = []
    for log in receipt.logs if logs is None else logs:
        facade = service.facade_at(log.address)
        decoded = facade.codec.decode_log(log) if facade is not None else None
        if facade is not None and decoded is not None:
            events.append(
                {"contract": facade.contract_name, "name": decoded.name, "args": decoded.args}
            )
    result: dict[str, Any] = {
        "tx_hash": receipt.tx_hash,
        "block": receipt.block_number,
        "events": _jsonable(events),
    }
    op = OPERATIONS.get(operation)
    made = op.made if op is not None else None
    if made is not None:
        for found in events:
            if found["name"] == made.event:
                result[made.key] = _jsonable(found["args"][made.arg])
                break
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
