"""The console's reads: what its pages show, computed from the event index and the chain.

Read-only and role-aware by the caller's API key (see :mod:`api.console.views`): a regulator
and an auditor see everything; a bank its own activity and the enterprises that authorised
it; an enterprise its own records. The risk indicators and the audit are the overseers'.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from ledger_client.attestations.records import (
    RecordError,
    load_schemas,
    record_hash,
    record_subject,
)
from ledger_client.audit.engine import audit_ledger
from ledger_client.types import Role
from pipeline.errors import (
    ConsoleRefInvalid,
    NotFound,
    NotPermitted,
    ScoreRecordMismatch,
)
from pipeline.intake import Caller
from pipeline.service import Service

from ..console import views
from ..console.source import ConsoleSource, ServiceSource
from ..console.warnings import evaluate, load_rules
from ..deps import CallerDep, ServiceDep
from ..errors import error_responses
from ..models import ScoreRecordCheck

router = APIRouter(prefix="/v1/console", tags=["console"])

#: How many warnings the overview lists.
LATEST_WARNINGS = 5
#: How often the head stream looks for a new block, seconds.
HEAD_CHECK_S = 0.25
#: A comment line on a quiet stream this often, seconds, so proxies and the page know it lives.
HEARTBEAT_S = 15.0
#: A stream's life, seconds: then it ends and the page reconnects (a server shutting down
#: waits for no stream longer than this).
STREAM_LIFETIME_S = 60.0
#: What the page waits before reconnecting a stream that ended, milliseconds (SSE ``retry``).
RECONNECT_MS = 1000
#: Head streams open now, under "heads" (the tests watch one end when its client goes).
OPEN_STREAMS: Counter[str] = Counter()
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_BATCH_RECORD = re.compile(r"(0x[0-9a-fA-F]{64}):(\d{1,9})")


def viewer_of(service: Service, caller: Caller) -> views.Viewer:
    """The console's view of the caller: regulator, auditor, bank or enterprise."""
    roles = service.roles_of(caller.member)
    if roles & Role.REGULATOR:
        return views.Viewer("regulator", caller.member)
    if roles & Role.AUDITOR:
        return views.Viewer("auditor", caller.member)
    binding = service.index.enterprise(account=caller.member)
    if binding is not None:
        return views.Viewer("enterprise", caller.member, bytes(binding.subject))
    return views.Viewer("bank", caller.member)


async def get_source(request: Request) -> ConsoleSource:
    """The API's service, or the deployment a read-only console attached by its manifest."""
    source: ConsoleSource | None = getattr(request.app.state, "console_source", None)
    return source if source is not None else ServiceSource(request.app.state.service)


async def get_viewer(service: ServiceDep, caller: CallerDep) -> views.Viewer:
    """The caller, by its API key, as the console shows it."""
    return viewer_of(service, caller)


SourceDep = Annotated[ConsoleSource, Depends(get_source)]
ViewerDep = Annotated[views.Viewer, Depends(get_viewer)]


def _overseer(viewer: views.Viewer, what: str) -> None:
    if not viewer.oversees:
        raise NotPermitted(f"{what} is shown to a regulator or an auditor only", role=viewer.role)


@router.get("/me")
def me(viewer: ViewerDep) -> dict[str, Any]:
    """Who the key acts for, as the console shows it."""
    return viewer.public()


@router.get("/overview")
def overview(source: SourceDep, viewer: ViewerDep) -> dict[str, Any]:
    """Members and standing per city, chain head and finality, throughput, pending
    submissions (an overseer's view only), totals, and the latest warnings."""
    now = source.chain_time()
    with source.index.reading() as db:
        doc = views.overview(
            db,
            viewer,
            head=source.head(),
            head_time=now,
            indexed=source.index.cursor,
            pending=source.pending() if viewer.oversees else None,
            finality=source.finality,
        )
        doc["warnings"] = evaluate(db, load_rules(), viewer, now)[:LATEST_WARNINGS]
    return doc


@router.get(
    "/heads",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
)
async def heads(request: Request, source: SourceDep, viewer: ViewerDep) -> StreamingResponse:
    """Server-sent events: ``event: head`` with ``{"head", "indexed", "head_time"}`` at once
    and each time the chain (or the index) moves on, a ``: heartbeat`` comment on a quiet
    stream, until the client goes or the stream's life ends (the page then reconnects)."""
    del viewer  # the key is checked; every viewer may follow the head

    def where() -> tuple[int, int, int]:
        head_time = source.chain_time()  # the read-only console reads new blocks here
        return source.head(), source.index.cursor, head_time

    async def stream() -> AsyncIterator[str]:
        OPEN_STREAMS["heads"] += 1
        try:
            started = beat = time.monotonic()
            last: tuple[int, int] | None = None
            yield f"retry: {RECONNECT_MS}\n\n"
            while time.monotonic() - started < STREAM_LIFETIME_S:
                if await request.is_disconnected():
                    return
                head, indexed, head_time = await run_in_threadpool(where)
                now = time.monotonic()
                if (head, indexed) != last:
                    last = (head, indexed)
                    doc = {"head": head, "indexed": indexed, "head_time": head_time}
                    yield f"event: head\nid: {head}\ndata: {json.dumps(doc)}\n\n"
                    beat = now
                elif now - beat >= HEARTBEAT_S:
                    yield ": heartbeat\n\n"
                    beat = now
                await asyncio.sleep(HEAD_CHECK_S)
        finally:
            OPEN_STREAMS["heads"] -= 1

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/risk", responses=error_responses(403))
def risk(source: SourceDep, viewer: ViewerDep) -> dict[str, Any]:
    """Cross-region exposure, overdue and default rates by city, supply-chain contagion,
    disputes near their 20-day deadline, and query patterns per member."""
    _overseer(viewer, "the risk indicators page")
    now = source.chain_time()
    with source.index.reading() as db:
        return views.risk(db, now)


@router.get("/warnings")
def warnings(source: SourceDep, viewer: ViewerDep) -> dict[str, Any]:
    """Every early warning the rules raise that the caller may see."""
    now = source.chain_time()
    with source.index.reading() as db:
        found = evaluate(db, load_rules(), viewer, now)
    return {"data": found, "count": len(found)}


@router.get("/enterprises")
def enterprises(source: SourceDep, viewer: ViewerDep) -> dict[str, Any]:
    """The enterprises whose profile the caller may open: all for an overseer, those that
    authorised a bank (in force), an enterprise's own."""
    now = source.chain_time()
    with source.index.reading() as db:
        if viewer.oversees:
            subjects = [
                bytes(r[0])
                for r in db.execute("SELECT subject FROM enterprises ORDER BY seq LIMIT 1000")
            ]
        elif viewer.subject is not None:
            subjects = [viewer.subject]
        else:
            subjects = sorted(views.authorised_subjects(db, viewer.account, now))
        cities = views.city_of_subjects(db)
    data = [{"subject": "0x" + s.hex(), "city": cities.get(s)} for s in subjects]
    return {"data": data, "count": len(data)}


@router.get("/enterprises/{subject}", responses=error_responses(403, 404))
def enterprise(
    subject: Annotated[str, PathParam(description="the enterprise's subject id (0x + 64 hex)")],
    source: SourceDep,
    viewer: ViewerDep,
) -> dict[str, Any]:
    """An enterprise's profile, to whom it may be shown: an overseer, the enterprise itself,
    or a bank it authorised (in force)."""
    if not _HEX32.fullmatch(subject):
        raise ConsoleRefInvalid(
            "a subject id is 0x followed by 64 hexadecimal digits", subject=subject[:80]
        )
    sid = bytes.fromhex(subject[2:])
    now = source.chain_time()
    with source.index.reading() as db:
        if not views.may_see(db, viewer, sid, now):
            raise NotPermitted(
                "this enterprise has not authorised you to see its profile", subject=subject
            )
        if source.index.enterprise(sid) is None:
            raise NotFound(f"no enterprise is bound to subject {subject}", subject=subject)
        names = {s.schema_id: s.name for s in source.index.schemas()}
        return views.enterprise_profile(db, sid, now, names)


@router.post("/scores/{uid}", responses=error_responses(403, 404, 422))
def open_score(
    uid: Annotated[str, PathParam(description="the credit score's attestation UID")],
    body: ScoreRecordCheck,
    source: SourceDep,
    viewer: ViewerDep,
) -> dict[str, Any]:
    """Open a credit score: its record (held off chain by the scorer and the enterprise) is
    checked against the score's attestation, and its grade, PD, points and reason codes are
    returned. Nothing is written."""
    if not _HEX32.fullmatch(uid):
        raise ConsoleRefInvalid("a score's UID is 0x followed by 64 hexadecimal digits", uid=uid)
    found = source.index.attestation(bytes.fromhex(uid[2:]))
    names = {s.schema_id: s.name for s in source.index.schemas()}
    if found is None or names.get(bytes(found.schema)) != views.CREDIT_SCORE_SCHEMA:
        raise NotFound(f"no credit score is attested under {uid}", uid=uid)
    _may_see_subject(source, viewer, bytes(found.subject), source.chain_time())
    record = body.record
    try:
        data_hash = record_hash(load_schemas()[views.CREDIT_SCORE_SCHEMA], record)
        subject = record_subject(record)
    except RecordError as exc:
        raise ScoreRecordMismatch(f"this is no credit-score record: {exc}", uid=uid) from exc
    if subject != bytes(found.subject):
        raise ScoreRecordMismatch("the record names another enterprise than the score", uid=uid)
    if data_hash != bytes(found.data_hash):
        raise ScoreRecordMismatch(
            f"the record hashes to 0x{data_hash.hex()[:16]}…, the chain holds "
            f"0x{bytes(found.data_hash).hex()[:16]}…: it is not the record this score attests",
            uid=uid,
        )
    codes = str(record["reasonCodes"])
    return {
        "uid": uid,
        "scorer": found.attester,
        "grade": record["grade"],
        "pd_basis_points": record["pdBasisPoints"],
        "points": record["points"],
        "reason_codes": [] if codes == "none" else codes.split(","),
        "record_count": record["recordCount"],
        "scored_date": record["scoredDate"],
        "model_hash": record["modelHash"],
    }


@router.get("/explorer/{ref}", responses=error_responses(403, 404))
def explore(ref: str, source: SourceDep, viewer: ViewerDep) -> dict[str, Any]:
    """An attestation, a batch, a batch record (``<batch id>:<n>``, with its Merkle proof and
    the root the chain holds), a receivable with its lineage, or a transaction, by id."""
    ref = ref.strip()
    record = _BATCH_RECORD.fullmatch(ref)
    if record is not None:
        return _batch_record(source, viewer, bytes.fromhex(record[1][2:]), int(record[2]))
    if not _HEX32.fullmatch(ref):
        raise ConsoleRefInvalid(
            "type a 0x-prefixed 32-byte id (attestation, batch, receivable or transaction), "
            "or <batch id>:<record number>",
            ref=ref[:80],
        )
    key = bytes.fromhex(ref[2:])
    now = source.chain_time()
    index = source.index
    found = index.attestation(key)
    if found is not None:
        _may_see_subject(source, viewer, bytes(found.subject), now)
        return {
            "kind": "attestation",
            "uid": ref,
            "subject": "0x" + bytes(found.subject).hex(),
            "attester": found.attester,
            "schema": "0x" + bytes(found.schema).hex(),
            "data_hash": "0x" + bytes(found.data_hash).hex(),
            "attested_at": found.attested_at,
            "validity": found.validity(now).name.lower(),
            "block_number": found.block_number,
            "tx_hash": found.tx_hash,
        }
    batch = index.batch(key)
    if batch is not None:
        return {
            "kind": "batch",
            "batch_id": ref,
            "attester": batch.attester,
            "root": "0x" + bytes(batch.root).hex(),
            "count": batch.count,
            "anchored_at": batch.anchored_at,
            "tx_hash": batch.tx_hash,
            "tree_stored": batch.tree_stored,
        }
    with index.reading() as db:
        part = db.execute(
            "SELECT root, debtor, holder FROM receivable_parts WHERE id = ?", (key,)
        ).fetchone()
        if part is not None:
            subjects = {bytes(part[1]), bytes(part[2])}
            if not viewer.oversees and not any(views.may_see(db, viewer, s, now) for s in subjects):
                raise NotPermitted("this receivable is not yours to see", ref=ref)
            return _receivable(db, ref, bytes(part[0]), now)
        events = db.execute(
            "SELECT contract, name, args, block_number FROM events WHERE tx_hash = ? "
            "ORDER BY log_index",
            (ref.lower(),),
        ).fetchall()
    if not events:
        raise NotFound(f"nothing is known by {ref}", ref=ref)
    if not viewer.oversees:
        raise NotPermitted("transactions are shown to a regulator or an auditor", ref=ref)
    return {
        "kind": "transaction",
        "tx_hash": ref,
        "block_number": events[0][3],
        "events": [{"contract": c, "name": n, "args": json.loads(a)} for c, n, a, _ in events],
    }


def _may_see_subject(source: ConsoleSource, viewer: views.Viewer, subject: bytes, now: int) -> None:
    with source.index.reading() as db:
        if not views.may_see(db, viewer, subject, now):
            raise NotPermitted("this enterprise has not authorised you to see its records")


def _batch_record(
    source: ConsoleSource, viewer: views.Viewer, batch_id: bytes, position: int
) -> dict[str, Any]:
    batch = source.index.batch(batch_id)
    if batch is None:
        raise NotFound(f"no batch 0x{batch_id.hex()}", batch_id="0x" + batch_id.hex())
    if not 0 <= position < batch.count:
        raise ConsoleRefInvalid(
            f"this batch holds records 0 to {batch.count - 1}", position=position
        )
    record = source.index.batch_record(batch_id, position)
    _may_see_subject(source, viewer, bytes(record.subject), source.chain_time())
    on_chain = source.ledger.attestations.batch(batch_id)
    return {
        "kind": "batch_record",
        "batch_id": "0x" + batch_id.hex(),
        "index": position,
        "subject": "0x" + bytes(record.subject).hex(),
        "data_hash": "0x" + bytes(record.data_hash).hex(),
        "leaf": "0x" + bytes(record.leaf).hex(),
        "proof": ["0x" + bytes(p).hex() for p in source.index.batch_proof(batch_id, position)],
        # The root as the chain holds it now, read from the contract (not the index): the page
        # recomputes it from the leaf and the proof.
        "root": "0x" + bytes(on_chain.root).hex() if on_chain is not None else None,
        "revoked_at": record.revoked_at,
        "tx_hash": batch.tx_hash,
    }


def _receivable(db: Any, ref: str, root: bytes, now: int) -> dict[str, Any]:
    lineage = [
        {
            "id": "0x" + bytes(pid).hex(),
            "parent": "0x" + bytes(parent).hex() if parent else None,
            "holder": "0x" + bytes(holder).hex(),
            "amount_fen": views._amount(amount),
            "due_date": due,
            "status": views.ReceivableStatus(status).name.lower(),
        }
        for pid, parent, holder, amount, due, status in db.execute(
            "SELECT id, parent, holder, amount, due_date, status FROM receivable_parts "
            "WHERE root = ? ORDER BY seq",
            (root,),
        )
    ]
    history = [
        {"name": n, "timestamp": t, "tx_hash": tx}
        for n, t, tx in db.execute(
            "SELECT name, timestamp, tx_hash FROM receivable_events WHERE id = ? ORDER BY seq",
            (bytes.fromhex(ref[2:]),),
        )
    ]
    return {
        "kind": "receivable",
        "id": ref,
        "root": "0x" + root.hex(),
        "lineage": lineage,
        "history": history,
        "now": now,
    }


@router.get("/audit", responses=error_responses(403))
def audit(source: SourceDep, viewer: ViewerDep) -> JSONResponse:
    """Run the auditor over the whole ledger (replay every event, compare with the chain's
    views) and return its breaches."""
    _overseer(viewer, "the audit")
    with tempfile.TemporaryDirectory(prefix="console-audit-") as out:
        result = audit_ledger(source.ledger, Path(out), write=False)
    report = result.report
    return JSONResponse(
        {
            "ok": result.ok,
            "verdict": report.get("verdict"),
            "audited": report.get("audited"),
            "totals": report.get("totals"),
            "breaches": [_breach(b) for b in result.breaches],
        }
    )


def _breach(found: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(found) and not isinstance(found, type):
        return {
            k: views._hex(v) if isinstance(v, bytes) else v
            for k, v in dataclasses.asdict(found).items()
        }
    return {"name": type(found).__name__, "detail": str(found)}
