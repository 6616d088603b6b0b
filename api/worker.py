"""The anchoring worker: pending submissions to the chain, exactly once.

Few pending records are relayed one by one (``attestBySig``: the chain checks
each signer); many are folded into one signed batch anchored by the relay
member, whose leaves commit to each record's signer and signature. Records
with a reference to another attestation always go one by one: a batch leaf
does not carry a reference.
"""

from __future__ import annotations

import gc
import logging
import struct
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from ledger_client.exceptions import ContractRevert, LedgerError
from ledger_client.merkle import MerkleTree
from ledger_client.signed_records import SignedRecord

from .journal import Anchor, Submission

#: How often the worker re-reads the chain's clock and signers' standing, seconds.
REFRESH_S = 1.0
#: A full garbage collection runs after this many idle seconds, at most once a minute.
IDLE_COLLECT_S = 5.0
COLLECT_EVERY_S = 60.0

if TYPE_CHECKING:
    from .service import Service

log = logging.getLogger("credit_chain.api.worker")
_ZERO32 = bytes(32)


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

    def __init__(self, service: Service) -> None:
        self.service = service
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anchor-worker", daemon=True)
        self.last_error: str | None = None

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

    def recover(self) -> int:
        """Send again every transaction journaled but not settled; return how many."""
        unfinished = self.service.journal.unfinished()
        for anchor in unfinished:
            self._finish(anchor)
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
            except LedgerError as exc:  # the chain is unreachable: try again next round
                self.last_error = str(exc)
                log.warning("anchoring failed, will retry: %s", exc)

    def anchor_pending(self) -> int:
        """Anchor one round of pending submissions; return how many were taken."""
        s = self.service
        pending = s.journal.pending(s.settings.batch_max)
        if not pending:
            return 0
        oldest = min(x.created_at for x in pending)
        if len(pending) < s.settings.batch_min and time.time() - oldest < s.settings.batch_wait_s:
            return 0  # a few records: wait a moment for more to share a batch with
        now = s.chain_time()
        groups: dict[tuple[str, int], list[Submission]] = defaultdict(list)
        singles: list[Submission] = []
        for sub in pending:
            record = SignedRecord.from_dict(sub.payload)
            if record.request.ref_uid != _ZERO32:
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

    def _anchor_single(self, sub: Submission) -> None:
        s = self.service
        record = SignedRecord.from_dict(sub.payload)
        r = record.request
        data = s.ledger.attestations.codec.fn("attestBySig").encode(
            [
                (r.schema, bytes(r.subject), bytes(r.data_hash), r.expiry, r.ref_uid),
                record.signer,
                record.nonce,
                record.deadline,
                record.signature,
            ]
        )
        tx = s.chain.prepare(s.relayer, s.ledger.attestations.address, data)
        anchor_id = s.journal.begin_anchor("single", tx, [sub.id])
        anchor = s.journal.anchor(anchor_id)
        assert anchor is not None
        self._finish(anchor)

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
        records = [SignedRecord.from_dict(x.payload) for x in live]
        tree = MerkleTree([r.leaf() for r in records])
        first = records[0].request
        data = s.ledger.attestations.codec.fn("anchorSignedBatch").encode(
            [first.schema, tree.root, len(records), first.expiry]
        )
        gas = 150_000
        tx = s.chain.prepare(s.relayer, s.ledger.attestations.address, data, gas=gas)
        anchor_id = s.journal.begin_anchor("batch", tx, [x.id for x in live], pack_levels(tree))
        anchor = s.journal.anchor(anchor_id)
        assert anchor is not None
        self._finish(anchor)

    def _finish(self, anchor: Anchor) -> None:
        """Send (or find) the anchor's transaction and settle its submissions."""
        s = self.service
        try:
            receipt = s.chain.send_prepared(anchor.tx)
        except ContractRevert as exc:
            reason: dict[str, Any] = {
                "error": exc.error_name,
                "detail": str(exc),
                "tx_hash": exc.tx_hash,
                **{
                    k: ("0x" + v.hex() if isinstance(v, bytes) else v)
                    for k, v in exc.fields.items()
                },
            }
            s.journal.settle(
                anchor.id, {sid: ("rejected", reason) for sid in anchor.submission_ids}
            )
            return
        s.note_chain_time(s.chain.backend.block(receipt.block_number).timestamp)
        events = s.ledger.attestations.decode_events(receipt)
        base = {"tx_hash": receipt.tx_hash, "block": receipt.block_number}
        if anchor.kind == "single":
            uid = next(e.args["uid"] for e in events if e.name == "Attested")
            s.journal.settle(
                anchor.id,
                {anchor.submission_ids[0]: ("anchored", {**base, "uid": "0x" + uid.hex()})},
            )
            return
        batch = next(e for e in events if e.name == "BatchAnchored")
        s.journal.settle(
            anchor.id,
            {
                sid: (
                    "anchored",
                    {
                        **base,
                        "batch_id": "0x" + batch.args["batchId"].hex(),
                        "root": "0x" + batch.args["root"].hex(),
                        "index": i,
                    },
                )
                for i, sid in enumerate(anchor.submission_ids)
            },
        )
