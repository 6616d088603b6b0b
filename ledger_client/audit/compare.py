"""Compare the state rebuilt from events with the contracts' own views, at one block.

Every view is read at the audited block, straight through the contracts' ABI
(not through the facades' conveniences), and compared field by field with
what the replay rebuilt. Each disagreement is a ``StateMismatch`` breach that
names the transaction which last changed that entity according to the events.

One call per entity, so the cost grows with the number of attestations,
batches, authorisations, queries, disputes and receivable parts, not with the
records inside batches. A re-audit can compare only what events touched since
the previous audit (and what disagreed then): no contract changes state
without an event, and nothing compared here depends on the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils.address import to_checksum_address

from ..contracts.base import ContractFacade
from ..contracts.receivables import invoice_key, receivable_label
from ..deployment import Ledger
from ..types import Role
from .state import Breach, EventRef, LedgerState

__all__ = ["Comparison", "compare_with_chain"]

ZERO32 = bytes(32)
ZERO_ADDRESS = "0x" + "00" * 20


@dataclass
class Comparison:
    """What the comparison found, and how much it compared."""

    block: int  # the block every view was read at
    mismatches: list[Breach] = field(default_factory=list)
    compared: dict[str, int] = field(default_factory=dict)  # entities compared, by kind
    calls: int = 0  # view calls made
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


class _Comparer:
    def __init__(
        self, ledger: Ledger, state: LedgerState, block: int, since: int | None, recheck: set[str]
    ) -> None:
        self.ledger, self.state, self.block = ledger, state, block
        self.since, self.recheck = since, recheck
        self.result = Comparison(block=block, incremental_since=since)

    def view(
        self, facade: ContractFacade, fn: str, *args: Any, sender: str | None = None
    ) -> tuple[Any, ...]:
        f = facade.codec.fn(fn)
        self.result.calls += 1
        raw = facade.chain.call(facade.address, f.encode(args), sender=sender, block=self.block)
        return f.decode_output(raw)

    def wanted(self, key: str, last: EventRef) -> bool:
        return self.since is None or last.block > self.since or key in self.recheck

    def count(self, kind: str) -> None:
        self.result.compared[kind] = self.result.compared.get(kind, 0) + 1

    def fetch(
        self, kind: str, key: str, last: EventRef, facade: ContractFacade, fn: str, *args: Any
    ) -> Any:
        """The entity's view at the audited block, counted; None when it need not be compared.

        An incremental audit compares only entities with events since the last one, and
        those an earlier comparison found mismatched.
        """
        if not self.wanted(key, last):
            return None
        self.count(kind)
        (value,) = self.view(facade, fn, *args)
        return value

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
        (on_chain,) = self.view(facade, fn)
        if int(on_chain) != expected and last is not None:
            self.result.mismatches.append(
                Breach.at(
                    "StateMismatch",
                    f"{what}: the chain counts {on_chain}, the events {expected}",
                    last,
                )
            )


def compare_with_chain(
    ledger: Ledger,
    state: LedgerState,
    block: int,
    *,
    since: int | None = None,
    recheck: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
) -> Comparison:
    """Read every entity's view at ``block`` and compare it with ``state``.

    With ``since``, compare only entities whose last event is after that block,
    and those named in ``recheck`` (keys of an earlier comparison's mismatches).
    """
    c = _Comparer(ledger, state, block, since, set(recheck))
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
        v = c.fetch("members", key, m.last, consortium, "member", account)
        if v is None:
            continue
        c.check(
            key,
            f"member {m.name} ({account})",
            ("city", "roles", "suspended", "admittedAt", "changedAt", "encryptionKey", "name"),
            v,
            (m.city, m.roles, m.suspended, m.admitted_at, m.changed_at, m.encryption_key, m.name),
            last=m.last,
        )


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
        v = c.fetch("schemas", key, x.last, a, "schema", sid)
        if v is None:
            continue
        c.check(
            key,
            f"schema {x.name}",
            ("revocable", "index", "registeredAt", "regulator", "name", "layout"),
            v,
            (x.revocable, x.index, x.registered_at, x.regulator, x.name, x.layout),
            last=x.last,
        )


def _attestations(c: _Comparer) -> None:
    a = c.ledger.attestations
    for uid, x in c.state.attestations.items():
        key = f"attestation:{_hex(uid)}"
        v = c.fetch("attestations", key, x.last, a, "attestation", uid)
        if v is None:
            continue
        if v[0] == ZERO_ADDRESS or int(v[1]) == 0:
            c.missing_on_chain(key, f"attestation {_hex(uid)}", x.last)
            continue
        c.check(
            key,
            f"attestation {_hex(uid)}",
            ("attester", "attestedAt", "expiry", "revokedAt", "schema", "replacedBy"),
            v,
            (x.attester, x.attested_at, x.expiry, x.revoked_at, x.schema, x.replaced_by),
            last=x.last,
        )
        if x.ever_disputed:
            (deadline,) = c.view(a, "disputeDeadline", uid)
            c.check(
                key,
                f"attestation {_hex(uid)}",
                ("disputeDeadline",),
                (deadline,),
                (x.dispute_deadline,),
                last=x.last,
            )


def _batch_records(c: _Comparer) -> None:
    """A batch record's status by its record id (IAttestations.attestation fills revokedAt and
    replacedBy for record ids), and its open dispute's deadline."""
    a = c.ledger.attestations
    for record_id, x in c.state.batch_records.items():
        key = f"batch-record:{_hex(record_id)}"
        v = c.fetch("batch_records", key, x.last, a, "attestation", record_id)
        if v is None:
            continue
        (deadline,) = c.view(a, "disputeDeadline", record_id)
        c.check(
            key,
            f"batch record {_hex(record_id)}",
            ("revokedAt", "replacedBy", "disputeDeadline"),
            (v[3], v[5], deadline),
            (x.revoked_at, x.replaced_by, x.dispute_deadline),
            last=x.last,
        )


def _batches(c: _Comparer) -> None:
    a = c.ledger.attestations
    for bid, x in c.state.batches.items():
        key = f"batch:{_hex(bid)}"
        v = c.fetch("batches", key, x.last, a, "batch", bid)
        if v is None:
            continue
        if v[0] == ZERO_ADDRESS:
            c.missing_on_chain(key, f"batch {_hex(bid)}", x.last)
            continue
        # One slot per batch, keyed by keccak256(root, anchorer); root and count are the event's.
        c.check(
            key,
            f"batch {_hex(bid)}",
            ("attester", "anchoredAt", "expiry", "signed", "schema"),
            v,
            (x.attester, x.anchored_at, x.expiry, x.signed, x.schema),
            last=x.last,
        )


def _authorisations(c: _Comparer) -> None:
    auths = c.ledger.authorisations
    for auth_id, x in c.state.authorisations.items():
        key = f"authorisation:{_hex(auth_id)}"
        v = c.fetch("authorisations", key, x.last, auths, "authorisation", auth_id)
        if v is None:
            continue
        if v[1] == ZERO_ADDRESS:
            c.missing_on_chain(key, f"authorisation {_hex(auth_id)}", x.last)
            continue
        c.check(
            key,
            f"authorisation {_hex(auth_id)}",
            ("subject", "member", "expiry", "withdrawnAt", "purpose", "schemaLimited"),
            v,
            (x.subject, x.member, x.expiry, x.withdrawn_at, x.purpose, bool(x.schemas)),
            last=x.last,
        )
        for schema in x.schemas:
            (listed,) = c.view(auths, "schemaAuthorised", auth_id, schema)
            c.check(
                key,
                f"authorisation {_hex(auth_id)}",
                (f"schema {_hex(schema)} listed",),
                (listed,),
                (True,),
                last=x.last,
            )


def _queries(c: _Comparer) -> None:
    auths = c.ledger.authorisations
    for qid, x in c.state.queries.items():
        key = f"query:{_hex(qid)}"
        auth_id = c.fetch("queries", key, x.last, auths, "queryAuthorisation", qid)
        if auth_id is None:
            continue
        c.check(key, f"query {_hex(qid)}", ("authId",), (auth_id,), (x.auth_id,), last=x.last)


def _shares(c: _Comparer) -> None:
    auths = c.ledger.authorisations
    for (qid, ciphertext), x in c.state.shares.items():
        key = f"share:{_hex(qid)}:{_hex(ciphertext)}"
        v = c.fetch("report shares", key, x.last, auths, "reportShare", qid, ciphertext)
        if v is None:
            continue
        c.check(
            key,
            f"report share {_hex(ciphertext)} of query {_hex(qid)}",
            ("sender", "sharedAt"),
            v,
            (x.sender, x.shared_at),
            last=x.last,
        )


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
        v = c.fetch("disputes", key, x.last, d, "dispute", did)
        if v is None:
            continue
        c.check(
            key,
            f"dispute #{did}",
            ("uid", "attester", "deadline", "resolvedAt", "status", "complained", "subject"),
            v,
            (x.uid, x.attester, x.deadline, x.resolved_at, x.status, x.complained, x.subject),
            last=x.last,
        )
        (open_id,) = c.view(d, "openDispute", x.uid)
        expected = s.open_disputes.get(x.uid, 0)
        c.check(
            key,
            f"dispute #{did}",
            ("open dispute of its record",),
            (open_id,),
            (expected,),
            last=x.last,
        )
    c.total(
        d,
        "complaintCount",
        "complaints filed",
        len(s.complaints),
        _last_of(x.last for x in s.complaints.values()),
    )
    for cid, y in s.complaints.items():
        key = f"complaint:{cid}"
        w = c.fetch("complaints", key, y.last, d, "complaint", cid)
        if w is None:
            continue
        c.check(
            key,
            f"complaint #{cid}",
            ("disputeId", "filedAt", "resolvedAt", "status"),
            w,
            (y.dispute_id, y.filed_at, y.resolved_at, y.status),
            last=y.last,
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
        v = c.fetch("receivables", key, t.last, r, "terms", root)
        if v is None:
            continue
        c.check(
            key,
            f"receivable {receivable_label(root)}",
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
        for invoice in t.invoices:
            (backs,) = c.view(r, "receivableOfInvoice", t.debtor, invoice)
            c.check(
                key,
                f"receivable {receivable_label(root)}",
                (f"invoice commitment {_hex(invoice)} backs",),
                (backs,),
                (s.invoices.get(invoice_key(t.debtor, invoice), ZERO32),),
                last=t.last,
            )
    for part_id, p in s.parts.items():
        key = f"part:{_hex(part_id)}"
        v = c.fetch("receivable parts", key, p.last, r, "receivable", part_id)
        if v is None:
            continue
        terms = s.receivables[p.root]
        c.check(
            key,
            f"receivable part {receivable_label(part_id)}",
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
        v = c.fetch("pledges", key, p.ref, reg, "pledgeOf", pid)
        if v is None:
            continue
        if v[3] == ZERO_ADDRESS:
            c.missing_on_chain(key, f"pledge {_hex(pid)}", p.ref)
            continue
        c.check(
            key,
            f"pledge {_hex(pid)}",
            ("assetId", "kind", "pledgee", "expiry", "released", "inForce"),
            (v[0], v[2], v[3], v[4], v[5], v[6]),
            (p.asset_id, p.kind, p.pledgee, p.expiry, p.released, p.in_force(now)),
            last=p.ref,
        )
    for aid, pid in s.asset_pledges.items():
        latest = s.pledges[pid]
        key = f"asset:{_hex(aid)}"
        c.count("pledged assets")
        (asset,) = c.view(reg, "asset", aid)
        (pledgee,) = c.view(reg, "activePledgee", aid)
        expected = latest.pledgee if latest.in_force(now) else ZERO_ADDRESS
        c.check(
            key,
            f"collateral asset {_hex(aid)}",
            ("registrations", "activePledgee"),
            (asset[2], pledgee),
            (registrations.get(aid, 0), expected),
            last=latest.ref,
        )


def _facilities(c: _Comparer) -> None:
    fac = c.ledger.facilities
    for fid, f in c.state.facilities.items():
        key = f"facility:{_hex(fid)}"
        v = c.fetch("facilities", key, f.last, fac, "facility", fid)
        if v is None:
            continue
        if int(v[4]) == 0:
            c.missing_on_chain(key, f"facility {_hex(fid)}", f.last)
            continue
        c.check(
            key,
            f"facility {_hex(fid)} of {f.lender}",
            ("limit", "drawn", "expiry", "kind", "status"),
            v,
            (f.limit, f.drawn, f.expiry, f.kind, f.status),
            last=f.last,
        )


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
        v = c.fetch("joint agreements", key, a.last, fac, "agreement", no)
        if v is None:
            continue
        c.check(
            key,
            f"joint agreement {no}",
            ("subject", "lead", "jointLimit", "participants", "joined", "accepted", "status"),
            v,
            (a.subject, a.lead, a.joint_limit, a.participants, a.joined, a.accepted, a.status),
            last=a.last,
        )
    reader = _regulator(s)
    if reader is None:
        if s.exposures:
            c.result.notes.append(
                "no regulator in good standing to read exposures as: exposures not compared"
            )
        return
    for subject, e in s.exposures.items():
        key = f"exposure:{_hex(subject)}"
        if not c.wanted(key, e.last):
            continue
        c.count("exposures")
        (v,) = c.view(fac, "exposure", subject, ZERO32, sender=reader)
        c.check(
            key,
            f"exposure of 0x{subject.hex()}",
            ("total", "joint", "jointLimit", "agreement", "flagged"),
            v,
            (e.total, e.joint, e.joint_limit, e.agreement, e.flagged),
            last=e.last,
        )
