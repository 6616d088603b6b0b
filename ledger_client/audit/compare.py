"""Compare the state rebuilt from events with the contracts' own views, at one block.

Every view is read at the audited block, straight through the contracts' ABI
(not through the facades' conveniences), and compared field by field with
what the replay rebuilt. Each disagreement is a ``StateMismatch`` breach that
names the transaction which last changed that entity according to the events.

The views are queued entity by entity and read many to an ``eth_call``
(:class:`~ledger_client.chain.batch_read.BatchReader`, which needs no deployment),
so the cost grows with the number of attestations, batches, authorisations,
queries, disputes and receivable parts (not with the records inside batches), but
the node calls with that number divided by about a hundred (as many views as fit
in the code a call may return). A view that fails on
chain is a ``StateMismatch`` of its entity, not the end of the audit. Exposures
answer only a regulator, not the reader: each is its own call, as the regulator.

A re-audit can compare only what events touched since the previous audit (and
what disagreed then): no contract changes state without an event, and nothing
compared here depends on the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger_client.addresses import to_checksum_address

from ..chain.batch_read import MAX_CALLS, BatchReader, ViewCall, ViewResult, decode_view
from ..contracts.base import ContractFacade
from ..contracts.receivables import invoice_key, receivable_label
from ..deployment import Ledger
from ..errors import ContractRevert
from ..types import Role
from .state import Breach, EventRef, LedgerState

__all__ = ["Comparison", "compare_with_chain"]

ZERO32 = bytes(32)
ZERO_ADDRESS = "0x" + "00" * 20
#: Views queued before they are read: enough to fill many ``eth_call``s, few enough
#: that the queue stays small on the largest ledgers.
FLUSH_EVERY = 4096


@dataclass
class Comparison:
    """What the comparison found, and how much it compared."""

    block: int  # the block every view was read at
    mismatches: list[Breach] = field(default_factory=list)
    compared: dict[str, int] = field(default_factory=dict)  # entities compared, by kind
    calls: int = 0  # eth_calls made to read the views (many views to a call)
    views: int = 0  # views read (a few per entity)
    mismatched_keys: list[str] = field(default_factory=list)  # to compare again next time
    incremental_since: int | None = None  # only entities changed after this block, if set
    notes: list[str] = field(default_factory=list)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return _hex(value)
    return str(value)


def _norm(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    if isinstance(value, bytearray):
        return bytes(value)
    return value


@dataclass(frozen=True, slots=True)
class _Read:
    """One view of an entity, and the caller to read it as (None: any, so batched)."""

    contract: str  # the manifest's name of the contract read, for a breach to name
    call: ViewCall
    sender: str | None = None


@dataclass(slots=True)
class _Pending:
    """An entity whose views are queued: compared once they are read."""

    key: str | None  # remembered when it mismatches, to compare again next time
    what: str  # how a breach names it
    last: EventRef | None  # the event a breach points to; None: nothing to blame
    reads: list[_Read]
    then: Callable[[list[tuple[Any, ...]]], None]  # compares the values, read in order


class _Comparer:
    """Queues each entity's views, reads them many to an ``eth_call``, then compares.

    Entities are compared in the order they were queued, so breaches come out in the
    same order as when each view was its own call.
    """

    def __init__(
        self,
        ledger: Ledger,
        state: LedgerState,
        block: int,
        since: int | None,
        recheck: set[str],
        *,
        views_per_call: int = MAX_CALLS,
        batch: int = FLUSH_EVERY,
    ) -> None:
        self.ledger, self.state, self.block = ledger, state, block
        self.since, self.recheck = since, recheck
        self.result = Comparison(block=block, incremental_since=since)
        self.reader = BatchReader(ledger.chain, block=block, max_calls=views_per_call)
        self.batch = max(1, batch)
        self._pending: list[_Pending] = []
        self._queued_reads = 0

    def view(self, facade: ContractFacade, fn: str, *args: Any, sender: str | None = None) -> _Read:
        """A view of ``facade`` to queue; ``sender`` when the view answers only some callers."""
        return _Read(
            facade.contract_name, ViewCall(facade.address, facade.codec.fn(fn), args), sender
        )

    def wanted(self, key: str, last: EventRef) -> bool:
        return self.since is None or last.block > self.since or key in self.recheck

    def count(self, kind: str) -> None:
        self.result.compared[kind] = self.result.compared.get(kind, 0) + 1

    def queue(
        self,
        key: str | None,
        what: str,
        last: EventRef | None,
        reads: Sequence[_Read],
        *,
        then: Callable[[list[tuple[Any, ...]]], None],
    ) -> None:
        """Read ``reads`` (soon, with others) and hand their outputs to ``then``."""
        self._pending.append(_Pending(key, what, last, list(reads), then))
        self._queued_reads += len(reads)
        if self._queued_reads >= self.batch:
            self.flush()

    def fetch(
        self,
        kind: str,
        key: str,
        last: EventRef,
        what: str,
        reads: Sequence[_Read],
        *,
        then: Callable[[list[tuple[Any, ...]]], None],
    ) -> None:
        """Queue the entity's views, counted; nothing when it need not be compared.

        An incremental audit compares only entities with events since the last one, and
        those an earlier comparison found mismatched.
        """
        if not self.wanted(key, last):
            return
        self.count(kind)
        self.queue(key, what, last, reads, then=then)

    def flush(self) -> None:
        """Read every queued view, then compare each queued entity, in order.

        The views that answer anyone are read many to an ``eth_call`` and preloaded into
        the chain client; each is then still asked for on its own through
        :meth:`~ledger_client.chain.connection.Chain.call`, so whatever checks or records
        a node's answers sees every view, as when each was its own call.
        """
        pending, self._pending, self._queued_reads = self._pending, [], 0
        chain = self.ledger.chain
        batched = [r.call for p in pending for r in p.reads if r.sender is None]
        encoded = [c.calldata() for c in batched]
        answers = self.reader.read_raw(batched, encoded)
        chain.preload(
            self.block,
            ((c.to, data, a) for c, data, a in zip(batched, encoded, answers, strict=True)),
        )
        datas = iter(encoded)
        try:
            for p in pending:
                outputs = [
                    self.ask(r, next(datas) if r.sender is None else r.call.calldata())
                    for r in p.reads
                ]
                self.result.views += len(outputs)
                failed = [
                    (r, o)
                    for r, o in zip(p.reads, outputs, strict=True)
                    if isinstance(o, Exception)
                ]
                if failed:
                    self.failed(p, failed)
                    continue
                p.then([o for o in outputs if isinstance(o, tuple)])
        finally:
            chain.discard_preloaded()
        self.result.calls = self.reader.eth_calls

    def ask(self, read: _Read, data: bytes) -> ViewResult:
        """One view's answer: preloaded when it answers anyone, else its own call."""
        if read.sender is not None:
            self.reader.eth_calls += 1
        try:
            raw = self.ledger.chain.call(read.call.to, data, sender=read.sender, block=self.block)
        except ContractRevert as exc:
            return exc
        return decode_view(read.call, raw)

    def failed(self, p: _Pending, failed: Sequence[tuple[_Read, ViewResult]]) -> None:
        """A view the chain would not answer: the entity cannot be compared."""
        detail = "; ".join(
            f"the chain's {r.contract}.{r.call.fn.name} failed: {o}" for r, o in failed
        )
        if p.last is None:
            self.result.notes.append(f"{p.what} not compared: {detail}")
            return
        self.result.mismatches.append(Breach.at("StateMismatch", f"{p.what}: {detail}", p.last))
        if p.key is not None:
            self.result.mismatched_keys.append(p.key)

    def check(
        self,
        key: str,
        what: str,
        names: Sequence[str],
        chain: Sequence[Any],
        events: Sequence[Any],
        *,
        last: EventRef,
    ) -> None:
        """Compare field by field; one breach listing every field that differs."""
        diffs = [
            f"{name}: chain {_show(c)}, events {_show(e)}"
            for name, c, e in zip(names, chain, events, strict=True)
            if _norm(c) != _norm(e)
        ]
        if diffs:
            self.result.mismatches.append(
                Breach.at("StateMismatch", f"{what}: " + "; ".join(diffs), last)
            )
            self.result.mismatched_keys.append(key)

    def missing_on_chain(self, key: str, what: str, last: EventRef) -> None:
        self.result.mismatches.append(
            Breach.at("StateMismatch", f"{what}: the events made it, the chain has none", last)
        )
        self.result.mismatched_keys.append(key)

    def total(
        self, facade: ContractFacade, fn: str, what: str, expected: int, last: EventRef | None
    ) -> None:
        def compare(values: list[tuple[Any, ...]]) -> None:
            ((on_chain,),) = values
            if int(on_chain) != expected and last is not None:
                self.result.mismatches.append(
                    Breach.at(
                        "StateMismatch",
                        f"{what}: the chain counts {on_chain}, the events {expected}",
                        last,
                    )
                )

        self.queue(None, what, last, [self.view(facade, fn)], then=compare)


def compare_with_chain(
    ledger: Ledger,
    state: LedgerState,
    block: int,
    *,
    since: int | None = None,
    recheck: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
    views_per_call: int = MAX_CALLS,
) -> Comparison:
    """Read every entity's view at ``block`` and compare it with ``state``.

    With ``since``, compare only entities whose last event is after that block,
    and those named in ``recheck`` (keys of an earlier comparison's mismatches).
    ``views_per_call`` caps the views one ``eth_call`` reads; 1 reads each view with
    an ordinary call of its own (how the comparison read before it batched).
    """
    c = _Comparer(ledger, state, block, since, set(recheck), views_per_call=views_per_call)
    steps: list[Callable[[_Comparer], None]] = [
        _members,
        _schemas,
        _attestations,
        _batches,
        _batch_records,
        _authorisations,
        _queries,
        _shares,
        _disputes,
        _receivables,
        _pledges,
        _facilities,
        _agreements,
    ]
    for i, step in enumerate(steps):
        step(c)
        c.flush()
        if progress is not None:
            progress(i + 1)
    unsigned = sum(1 for r in state.batch_records.values() if not r.signed)
    if unsigned:
        c.result.notes.append(
            f"{unsigned} record(s) of unsigned batches known only from the events naming them: "
            "their leaves stay off chain, so their membership is the chain's proof check"
        )
    c.result.notes.append(
        "enterprise bindings are replayed (every enterprise act is checked against them) "
        "but not compared one by one with the chain"
    )
    return c.result


def _last_of(refs: Iterable[EventRef]) -> EventRef | None:
    last = None
    for ref in refs:
        if last is None or (ref.block, ref.log_index) > (last.block, last.log_index):
            last = ref
    return last


def _members(c: _Comparer) -> None:
    s, consortium = c.state, c.ledger.consortium
    c.total(
        consortium,
        "memberCount",
        "members admitted",
        len(s.member_order),
        _last_of(m.last for m in s.members.values()),
    )
    for account in s.member_order:
        m = s.members[account]
        key = f"member:{account}"
        what = f"member {m.name} ({account})"

        def compare(
            values: list[tuple[Any, ...]], m: Any = m, key: str = key, what: str = what
        ) -> None:
            ((v,),) = values
            c.check(
                key,
                what,
                ("city", "roles", "suspended", "admittedAt", "changedAt", "encryptionKey", "name"),
                v,
                (
                    m.city,
                    m.roles,
                    m.suspended,
                    m.admitted_at,
                    m.changed_at,
                    m.encryption_key,
                    m.name,
                ),
                last=m.last,
            )

        c.fetch("members", key, m.last, what, [c.view(consortium, "member", account)], then=compare)


def _schemas(c: _Comparer) -> None:
    s, a = c.state, c.ledger.attestations
    c.total(
        a,
        "schemaCount",
        "schemas registered",
        len(s.schemas),
        _last_of(x.last for x in s.schemas.values()),
    )
    for sid, x in s.schemas.items():
        key = f"schema:{_hex(sid)}"
        what = f"schema {x.name}"

        def compare(
            values: list[tuple[Any, ...]], x: Any = x, key: str = key, what: str = what
        ) -> None:
            ((v,),) = values
            c.check(
                key,
                what,
                ("revocable", "index", "registeredAt", "regulator", "name", "layout"),
                v,
                (x.revocable, x.index, x.registered_at, x.regulator, x.name, x.layout),
                last=x.last,
            )

        c.fetch("schemas", key, x.last, what, [c.view(a, "schema", sid)], then=compare)


def _attestations(c: _Comparer) -> None:
    a = c.ledger.attestations
    for uid, x in c.state.attestations.items():
        key = f"attestation:{_hex(uid)}"
        what = f"attestation {_hex(uid)}"
        reads = [c.view(a, "attestation", uid)]
        if x.ever_disputed:
            reads.append(c.view(a, "disputeDeadline", uid))

        def compare(
            values: list[tuple[Any, ...]], x: Any = x, key: str = key, what: str = what
        ) -> None:
            (v,) = values[0]
            if v[0] == ZERO_ADDRESS or int(v[1]) == 0:
                c.missing_on_chain(key, what, x.last)
                return
            c.check(
                key,
                what,
                ("attester", "attestedAt", "expiry", "revokedAt", "schema", "replacedBy"),
                v,
                (x.attester, x.attested_at, x.expiry, x.revoked_at, x.schema, x.replaced_by),
                last=x.last,
            )
            if x.ever_disputed:
                c.check(
                    key,
                    what,
                    ("disputeDeadline",),
                    values[1],
                    (x.dispute_deadline,),
                    last=x.last,
                )

        c.fetch("attestations", key, x.last, what, reads, then=compare)


def _batch_records(c: _Comparer) -> None:
    """A batch record's status by its record id (IAttestations.attestation fills revokedAt and
    replacedBy for record ids), and its open dispute's deadline."""
    a = c.ledger.attestations
    for record_id, x in c.state.batch_records.items():
        key = f"batch-record:{_hex(record_id)}"
        what = f"batch record {_hex(record_id)}"

        def compare(
            values: list[tuple[Any, ...]], x: Any = x, key: str = key, what: str = what
        ) -> None:
            ((v,), (deadline,)) = values
            c.check(
                key,
                what,
                ("revokedAt", "replacedBy", "disputeDeadline"),
                (v[3], v[5], deadline),
                (x.revoked_at, x.replaced_by, x.dispute_deadline),
                last=x.last,
            )

        reads = [c.view(a, "attestation", record_id), c.view(a, "disputeDeadline", record_id)]
        c.fetch("batch_records", key, x.last, what, reads, then=compare)


def _batches(c: _Comparer) -> None:
    a = c.ledger.attestations
    for bid, x in c.state.batches.items():
        key = f"batch:{_hex(bid)}"
        what = f"batch {_hex(bid)}"

        def compare(
            values: list[tuple[Any, ...]], x: Any = x, key: str = key, what: str = what
        ) -> None:
            ((v,),) = values
            if v[0] == ZERO_ADDRESS:
                c.missing_on_chain(key, what, x.last)
                return
            # One slot per batch, keyed by keccak256(root, anchorer); root and count are the
            # event's.
            c.check(
                key,
                what,
                ("attester", "anchoredAt", "expiry", "signed", "schema"),
                v,
                (x.attester, x.anchored_at, x.expiry, x.signed, x.schema),
                last=x.last,
            )

        c.fetch("batches", key, x.last, what, [c.view(a, "batch", bid)], then=compare)


def _authorisations(c: _Comparer) -> None:
    auths = c.ledger.authorisations
    for auth_id, x in c.state.authorisations.items():
        key = f"authorisation:{_hex(auth_id)}"
        what = f"authorisation {_hex(auth_id)}"
        reads = [c.view(auths, "authorisation", auth_id)]
        reads += [c.view(auths, "schemaAuthorised", auth_id, schema) for schema in x.schemas]

        def compare(
            values: list[tuple[Any, ...]], x: Any = x, key: str = key, what: str = what
        ) -> None:
            (v,) = values[0]
            if v[1] == ZERO_ADDRESS:
                c.missing_on_chain(key, what, x.last)
                return
            c.check(
                key,
                what,
                ("subject", "member", "expiry", "withdrawnAt", "purpose", "schemaLimited"),
                v,
                (x.subject, x.member, x.expiry, x.withdrawn_at, x.purpose, bool(x.schemas)),
                last=x.last,
            )
            for schema, listed in zip(x.schemas, values[1:], strict=True):
                c.check(key, what, (f"schema {_hex(schema)} listed",), listed, (True,), last=x.last)

        c.fetch("authorisations", key, x.last, what, reads, then=compare)


def _queries(c: _Comparer) -> None:
    auths = c.ledger.authorisations
    for qid, x in c.state.queries.items():
        key = f"query:{_hex(qid)}"
        what = f"query {_hex(qid)}"

        def compare(
            values: list[tuple[Any, ...]], x: Any = x, key: str = key, what: str = what
        ) -> None:
            c.check(key, what, ("authId",), values[0], (x.auth_id,), last=x.last)

        c.fetch(
            "queries", key, x.last, what, [c.view(auths, "queryAuthorisation", qid)], then=compare
        )


def _shares(c: _Comparer) -> None:
    auths = c.ledger.authorisations
    for (qid, ciphertext), x in c.state.shares.items():
        key = f"share:{_hex(qid)}:{_hex(ciphertext)}"
        what = f"report share {_hex(ciphertext)} of query {_hex(qid)}"

        def compare(
            values: list[tuple[Any, ...]], x: Any = x, key: str = key, what: str = what
        ) -> None:
            ((v,),) = values
            c.check(key, what, ("sender", "sharedAt"), v, (x.sender, x.shared_at), last=x.last)

        reads = [c.view(auths, "reportShare", qid, ciphertext)]
        c.fetch("report shares", key, x.last, what, reads, then=compare)


def _disputes(c: _Comparer) -> None:
    s, d = c.state, c.ledger.disputes
    c.total(
        d,
        "disputeCount",
        "disputes raised",
        len(s.disputes),
        _last_of(x.last for x in s.disputes.values()),
    )
    for did, x in s.disputes.items():
        key = f"dispute:{did}"
        what = f"dispute #{did}"

        def compare(
            values: list[tuple[Any, ...]], x: Any = x, key: str = key, what: str = what
        ) -> None:
            ((v,), open_id) = values
            c.check(
                key,
                what,
                ("uid", "attester", "deadline", "resolvedAt", "status", "complained", "subject"),
                v,
                (x.uid, x.attester, x.deadline, x.resolved_at, x.status, x.complained, x.subject),
                last=x.last,
            )
            c.check(
                key,
                what,
                ("open dispute of its record",),
                open_id,
                (s.open_disputes.get(x.uid, 0),),
                last=x.last,
            )

        reads = [c.view(d, "dispute", did), c.view(d, "openDispute", x.uid)]
        c.fetch("disputes", key, x.last, what, reads, then=compare)
    c.total(
        d,
        "complaintCount",
        "complaints filed",
        len(s.complaints),
        _last_of(x.last for x in s.complaints.values()),
    )
    for cid, y in s.complaints.items():
        key = f"complaint:{cid}"
        what = f"complaint #{cid}"

        def compare_complaint(
            values: list[tuple[Any, ...]], y: Any = y, key: str = key, what: str = what
        ) -> None:
            ((w,),) = values
            c.check(
                key,
                what,
                ("disputeId", "filedAt", "resolvedAt", "status"),
                w,
                (y.dispute_id, y.filed_at, y.resolved_at, y.status),
                last=y.last,
            )

        c.fetch(
            "complaints", key, y.last, what, [c.view(d, "complaint", cid)], then=compare_complaint
        )


def _receivables(c: _Comparer) -> None:
    s, r = c.state, c.ledger.receivables
    c.total(
        r,
        "receivableCount",
        "receivables issued",
        len(s.receivables),
        _last_of(x.last for x in s.receivables.values()),
    )
    for root, t in s.receivables.items():
        key = f"receivable:{_hex(root)}"
        what = f"receivable {receivable_label(root)}"
        reads = [c.view(r, "terms", root)]
        reads += [c.view(r, "receivableOfInvoice", t.debtor, inv) for inv in t.invoices]

        def compare(
            values: list[tuple[Any, ...]], t: Any = t, key: str = key, what: str = what
        ) -> None:
            (v,) = values[0]
            c.check(
                key,
                what,
                (
                    "debtor",
                    "faceValue",
                    "dueDate",
                    "issuedAt",
                    "partCount",
                    "invoiceCount",
                    "contractHash",
                ),
                v,
                (
                    t.debtor,
                    t.face_value,
                    t.due_date,
                    t.issued_at,
                    t.part_count,
                    len(t.invoices),
                    t.contract_hash,
                ),
                last=t.last,
            )
            for invoice, backs in zip(t.invoices, values[1:], strict=True):
                c.check(
                    key,
                    what,
                    (f"invoice commitment {_hex(invoice)} backs",),
                    backs,
                    (s.invoices.get(invoice_key(t.debtor, invoice), ZERO32),),
                    last=t.last,
                )

        c.fetch("receivables", key, t.last, what, reads, then=compare)
    for part_id, p in s.parts.items():
        key = f"part:{_hex(part_id)}"
        what = f"receivable part {receivable_label(part_id)}"

        def compare_part(
            values: list[tuple[Any, ...]], p: Any = p, key: str = key, what: str = what
        ) -> None:
            ((v,),) = values
            terms = s.receivables[p.root]
            c.check(
                key,
                what,
                (
                    "root",
                    "parent",
                    "debtor",
                    "holder",
                    "amount",
                    "dueDate",
                    "status",
                    "financier",
                    "advance",
                    "discountBps",
                    "defaultAttestation",
                ),
                v,
                (
                    p.root,
                    p.parent,
                    terms.debtor,
                    p.holder,
                    p.amount,
                    terms.due_date,
                    p.status,
                    to_checksum_address(p.financier) if p.financier else ZERO_ADDRESS,
                    p.advance,
                    p.discount_bps,
                    p.default_uid,
                ),
                last=p.last,
            )

        c.fetch(
            "receivable parts",
            key,
            p.last,
            what,
            [c.view(r, "receivable", part_id)],
            then=compare_part,
        )


def _pledges(c: _Comparer) -> None:
    """Each registration (its pledgee, term and release), each asset's registration count,
    and the pledgee in force on each asset of an exclusive kind (``activePledgee``), which
    the receivables contract asks before it finances or moves a part."""
    s, reg = c.state, c.ledger.collateral
    now = c.ledger.chain.backend.block(c.block).timestamp
    registrations: dict[bytes, int] = {}
    for pid, p in s.pledges.items():
        registrations[p.asset_id] = registrations.get(p.asset_id, 0) + 1
        key = f"pledge:{_hex(pid)}"
        what = f"pledge {_hex(pid)}"

        def compare(
            values: list[tuple[Any, ...]], p: Any = p, key: str = key, what: str = what
        ) -> None:
            ((v,),) = values
            if v[3] == ZERO_ADDRESS:
                c.missing_on_chain(key, what, p.ref)
                return
            c.check(
                key,
                what,
                ("assetId", "kind", "pledgee", "expiry", "released", "inForce"),
                (v[0], v[2], v[3], v[4], v[5], v[6]),
                (p.asset_id, p.kind, p.pledgee, p.expiry, p.released, p.in_force(now)),
                last=p.ref,
            )

        c.fetch("pledges", key, p.ref, what, [c.view(reg, "pledgeOf", pid)], then=compare)
    for aid, pid in s.asset_pledges.items():
        latest = s.pledges[pid]
        key = f"asset:{_hex(aid)}"
        what = f"collateral asset {_hex(aid)}"
        c.count("pledged assets")

        def compare_asset(
            values: list[tuple[Any, ...]],
            aid: bytes = aid,
            latest: Any = latest,
            key: str = key,
            what: str = what,
        ) -> None:
            ((asset,), (pledgee,)) = values
            expected = latest.pledgee if latest.in_force(now) else ZERO_ADDRESS
            c.check(
                key,
                what,
                ("registrations", "activePledgee"),
                (asset[2], pledgee),
                (registrations.get(aid, 0), expected),
                last=latest.ref,
            )

        reads = [c.view(reg, "asset", aid), c.view(reg, "activePledgee", aid)]
        c.queue(key, what, latest.ref, reads, then=compare_asset)


def _facilities(c: _Comparer) -> None:
    fac = c.ledger.facilities
    for fid, f in c.state.facilities.items():
        key = f"facility:{_hex(fid)}"

        def compare(
            values: list[tuple[Any, ...]], fid: bytes = fid, f: Any = f, key: str = key
        ) -> None:
            ((v,),) = values
            if int(v[4]) == 0:
                c.missing_on_chain(key, f"facility {_hex(fid)}", f.last)
                return
            c.check(
                key,
                f"facility {_hex(fid)} of {f.lender}",
                ("limit", "drawn", "expiry", "kind", "status"),
                v,
                (f.limit, f.drawn, f.expiry, f.kind, f.status),
                last=f.last,
            )

        what = f"facility {_hex(fid)}"
        c.fetch("facilities", key, f.last, what, [c.view(fac, "facility", fid)], then=compare)


def _regulator(state: Any) -> str | None:
    """A regulator in good standing at the audited block: whom the exposure view answers
    without an enterprise's authorisation (the audit reads it for the regulator)."""
    for account in state.member_order:
        m = state.members[account]
        if m.roles & int(Role.REGULATOR) and not m.suspended:
            return str(account)
    return None


def _agreements(c: _Comparer) -> None:
    """Each joint agreement's terms and standing, and each enterprise's exposure: the total
    outstanding, and the joint figure (the participants' balances, as the replay recomputed
    them from the draws and repayments) against the joint limit of its agreement in force."""
    s, fac = c.state, c.ledger.facilities
    c.total(
        fac,
        "agreementCount",
        "joint agreements proposed",
        len(s.agreements),
        _last_of(x.last for x in s.agreements.values()),
    )
    for no, a in s.agreements.items():
        key = f"agreement:{no}"
        what = f"joint agreement {no}"

        def compare(
            values: list[tuple[Any, ...]], a: Any = a, key: str = key, what: str = what
        ) -> None:
            ((v,),) = values
            c.check(
                key,
                what,
                ("subject", "lead", "jointLimit", "participants", "joined", "accepted", "status"),
                v,
                (a.subject, a.lead, a.joint_limit, a.participants, a.joined, a.accepted, a.status),
                last=a.last,
            )

        c.fetch("joint agreements", key, a.last, what, [c.view(fac, "agreement", no)], then=compare)
    reader = _regulator(s)
    if reader is None:
        if s.exposures:
            c.result.notes.append(
                "no regulator in good standing to read exposures as: exposures not compared"
            )
        return
    for subject, e in s.exposures.items():
        key = f"exposure:{_hex(subject)}"
        what = f"exposure of 0x{subject.hex()}"

        def compare_exposure(
            values: list[tuple[Any, ...]], e: Any = e, key: str = key, what: str = what
        ) -> None:
            ((v,),) = values
            c.check(
                key,
                what,
                ("total", "joint", "jointLimit", "agreement", "flagged"),
                v,
                (e.total, e.joint, e.joint_limit, e.agreement, e.flagged),
                last=e.last,
            )

        # The view answers a regulator (or an authorised member), never the batch reader:
        # one call each, as the regulator.
        reads = [c.view(fac, "exposure", subject, ZERO32, sender=reader)]
        c.fetch("exposures", key, e.last, what, reads, then=compare_exposure)
