"""The simulator at scale: the credit world's year reported day by day in large Merkle batches.

:class:`~node_sim.simulation.Simulation` plays every enterprise as a Python object and
sends its records one schema at a time; that is what a run of a few thousand
enterprises needs and no more. At the real chain's scale (ten million enterprises,
a hundred million records a year) the enterprises' daily processes are columns:

- **The world** is :func:`~node_sim.credit_world.make_credit_world`'s, drawn in chunks
  of :data:`WORLD_CHUNK` enterprises (each chunk from its own seed, derived from the
  run's), so its temporaries stay bounded. Its records (a year of loan instalments,
  overdue records, tax grades, utility bills, social-insurance months, receivable
  defaults and sci-tech indicators) become one compact array of :data:`ROW` (72 bytes a
  record), each with the day it is reported: the day of its event in the observation
  year (an instalment on the day it was repaid, a bill on the day it was paid, ...).
- **Each day** the rows reported that day are grouped by holder and schema and anchored
  in Merkle batches of at most :data:`~ledger_client.attestations.batches.MAX_BATCH`
  records (``anchorBatch``, one transaction per batch), as banks and bureaus report
  their day's records. A suspended member holds its rows until reinstated.
- **The records** are the shipped schemas' records, exactly as
  :func:`~ledger_client.scoring.records.record_of` builds them; their canonical JSON is
  written by per-schema templates (:func:`canonical_records`), which the run checks
  against the project's own validation and RFC 8785 path on the first record of every
  batch, and the tests on every kind. Only the rows are kept, appended to
  ``records.bin`` beside an index of batches (``batches.jsonl``): :class:`ScaleStore`
  rebuilds any record and its batch's tree from them, so an auditor can verify it with
  :func:`~ledger_client.audit.verify_record` as any other batched record.
- **Everything else** (authorisations and logged queries, disputes, receivables and
  their financing, pledges and joint lending, adversaries, a member's suspension) stays
  real transactions of :class:`~node_sim.simulation.Simulation`'s flows, played by a
  bounded sample of ``flow_sample`` enterprises of its own population: those flows are
  per enterprise by nature (one authorisation is one transaction), so at ten million
  enterprises their full volume is a throughput question for the chain, not the
  simulator. The summary says so (``scale.flows``).

The world's enterprises are not bound on chain (binding gives each an account, a key
per enterprise); their subject ids are the consortium's keyed hash of their index, and
their records are anchored by their holders, which is all a batch needs.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ledger_client import Chain, connect
from ledger_client.attestations.batches import MAX_BATCH, BatchProof
from ledger_client.attestations.merkle import MerkleTree, pair_leaves
from ledger_client.attestations.records import Schema, canonical_json, validate_record
from ledger_client.deployment import Ledger
from ledger_client.errors import LedgerValueError
from ledger_client.scoring.records import MEMBERS, PAYLOAD, RecordKind, record_of
from node_sim.credit_world import make_credit_world
from node_sim.simulation import DAY, SIM_EPOCH, Simulation, SimulationConfig, SimulationResult

__all__ = [
    "ROW",
    "WORLD_CHUNK",
    "ScaleConfig",
    "ScaleEncodingMismatch",
    "ScaleSimulation",
    "ScaleStore",
    "canonical_records",
    "report_days",
    "run_scale",
    "world_chunks",
    "world_rows",
]

#: Enterprises drawn per call of make_credit_world: bounds the world's temporaries.
WORLD_CHUNK = 50_000
#: One record as kept: its number in the world, its enterprise, kind, holder, month and
#: payload (RecordTable's columns, narrowed). 72 bytes.
ROW = np.dtype(
    [
        ("row", "<u8"),
        ("subject", "<u4"),
        ("kind", "u1"),
        ("holder", "u1"),
        ("month", "u1"),
        ("pad", "u1"),
        ("payload", "<i8", (7,)),
    ]
)
#: The observation year of the world's records (ledger_client.scoring.records).
_YEAR = 2025
_JAN1 = datetime.date(_YEAR, 1, 1)
#: Day of the year of each month's first day.
_MONTH_START = np.asarray(
    [(datetime.date(_YEAR, m + 1, 1) - _JAN1).days for m in range(12)], dtype=np.int64
)
#: ISO dates from 1 January of the year on: a record's dates are read from here, not built.
_DATES = [(_JAN1 + datetime.timedelta(days=d)).isoformat() for d in range(4 * 366)]
_BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6", "M7")
_TAX_GRADES = ("A", "B", "M", "C", "D")
_STAGES = ("SEED", "STARTUP", "GROWTH", "MATURE")

RowArray = npt.NDArray[np.void]
IntArray = npt.NDArray[np.int64]


class ScaleEncodingMismatch(LedgerValueError):
    """The fast canonical JSON of a record differs from the project's own (a template bug)."""

    def __init__(self, schema: str, row: int) -> None:
        self.schema = schema
        self.row = row
        super().__init__(
            f"the canonical JSON written for {schema} record {row} is not what "
            "validate_record and canonical_json give: the template has drifted from the schema"
        )


@dataclass(frozen=True)
class ScaleConfig:
    """What to simulate at scale."""

    enterprises: int = 10_000  # of the credit world, whose records are batched
    days: int = 365
    seed: int = 7
    out: Path | None = None  # keeps the chain, the rows and the batch index
    engine: str = "revm"  # the embedded chain's engine
    flow_sample: int = 200  # enterprises whose other flows are played as transactions
    adversary_rate: float = 0.5
    max_batch: int = MAX_BATCH
    flows: bool = True  # False: the world's records only (no sample, no adversaries)


# -- the world, as rows ----------------------------------------------------------------------


def _chunk_seed(seed: int, chunk: int) -> int:
    return int(np.random.SeedSequence([seed, chunk]).generate_state(1, np.uint64)[0] >> 1)


def report_days(rows: RowArray) -> IntArray:
    """The day of the observation year on which each row is reported (may pass the year).

    A loan instalment on the day it was repaid (its due date, the 15th, plus its days
    late), an overdue record and a receivable default on the day their days overdue were
    counted, a utility bill on the day it was paid, a month of social insurance on the
    month's first day, a tax grade on its assessment date, sci-tech indicators on theirs.
    """
    kind = rows["kind"].astype(np.int64)
    month = rows["month"].astype(np.int64)
    first = _MONTH_START[month]
    lag = np.zeros(rows.shape[0], dtype=np.int64)
    p0 = rows["payload"][:, 0]
    mid_month = np.isin(
        kind, [RecordKind.LOAN_REPAYMENT, RecordKind.OVERDUE, RecordKind.RECEIVABLE_DEFAULT]
    )
    lag[mid_month] = 14 + p0[mid_month]
    late_bill = kind == RecordKind.UTILITY
    lag[late_bill] = p0[late_bill]
    return first + lag


def world_rows(seed: int, enterprises: int, chunk: int = WORLD_CHUNK) -> RowArray:
    """Every record of the credit world of ``enterprises`` as :data:`ROW` rows, world order."""
    return np.concatenate(list(world_chunks(seed, enterprises, chunk)))


def world_chunks(seed: int, enterprises: int, chunk: int = WORLD_CHUNK) -> Iterator[RowArray]:
    """The world's rows, ``chunk`` enterprises at a time, in world order.

    Chunk ``c`` is ``make_credit_world`` of its own seed; its subjects, loan numbers and
    row numbers are offset so they stay unique across chunks.
    """
    if enterprises < 1:
        raise LedgerValueError("the world needs at least one enterprise")
    row_base = loan_base = 0
    for c, start in enumerate(range(0, enterprises, chunk)):
        count = min(chunk, enterprises - start)
        table = make_credit_world(_chunk_seed(seed, c), count).records
        rows = np.zeros(table.rows, dtype=ROW)
        rows["row"] = row_base + np.arange(table.rows, dtype=np.uint64)
        rows["subject"] = start + table.subject
        rows["kind"] = table.kind
        rows["holder"] = table.holder
        rows["month"] = table.month
        payload = table.payload.copy()
        loans = table.kind == RecordKind.LOAN_REPAYMENT
        overdue = table.kind == RecordKind.OVERDUE
        chunk_loans = int(payload[loans, 3].max()) + 1 if loans.any() else 0
        payload[loans, 3] += loan_base
        payload[overdue, 2] += loan_base
        rows["payload"] = payload
        del table, payload
        row_base += rows.shape[0]
        loan_base += chunk_loans
        yield rows


def subject_ids(key: bytes, enterprises: int) -> list[bytes]:
    """The subject id of each world enterprise: HMAC-SHA256 of the consortium's key over
    its index (the world has no registration codes; the keyed hash is the same)."""
    return [
        hmac.new(key, b"world-enterprise:%d" % i, hashlib.sha256).digest()
        for i in range(enterprises)
    ]


# -- records: their canonical JSON, fast ------------------------------------------------------


def canonical_records(rows: RowArray, subjects: Sequence[bytes]) -> list[bytes]:
    """The RFC 8785 JSON of each row's record (one kind and holder), as canonical_json
    gives for ``validate_record(record_of(...))``: per-schema templates, keys sorted.

    Every string here is ASCII without quotes or backslashes (dates, hex, labels), so
    it needs no escaping; the run checks a record of each batch against the slow path.
    """
    if rows.shape[0] == 0:
        return []
    kinds = np.unique(rows["kind"])
    holders = np.unique(rows["holder"])
    if kinds.shape[0] != 1 or holders.shape[0] != 1:
        raise LedgerValueError("canonical_records takes rows of one kind and one holder")
    kind = RecordKind(int(kinds[0]))
    holder = MEMBERS[int(holders[0])]
    sids = ["0x" + subjects[s].hex() for s in rows["subject"].tolist()]
    month = rows["month"].tolist()
    cols = [rows["payload"][:, i].tolist() for i in range(len(PAYLOAD[kind][1]))]
    d = _DATES
    start = _MONTH_START.tolist()
    out: list[str]
    if kind is RecordKind.LOAN_REPAYMENT:
        late, due, repaid, loan = cols
        out = [
            f'{{"dueDate":"{d[start[m] + 14]}","dueFen":{f},"instalment":{m + 1},'
            f'"loanId":"{holder}/L{n}","repaidDate":"{d[start[m] + 14 + dl]}",'
            f'"repaidFen":{r},"subject":"{s}"}}'
            for m, dl, f, r, n, s in zip(month, late, due, repaid, loan, sids, strict=True)
        ]
    elif kind is RecordKind.OVERDUE:
        days, fen, loan = cols
        out = [
            f'{{"bucket":"{_BUCKETS[min(6, (dd - 1) // 30)]}","daysOverdue":{dd},'
            f'"dueDate":"{d[start[m] + 14]}","loanId":"{holder}/L{n}","overdueFen":{f},'
            f'"subject":"{s}"}}'
            for m, dd, f, n, s in zip(month, days, fen, loan, sids, strict=True)
        ]
    elif kind is RecordKind.TAX_GRADE:
        (grade,) = cols
        city = holder.split(":")[1]
        out = [
            f'{{"assessedDate":"{d[start[m]]}","grade":"{_TAX_GRADES[g]}","subject":"{s}",'
            f'"taxAuthority":"tax authority of {city}","taxYear":{_YEAR - 1}}}'
            for m, g, s in zip(month, grade, sids, strict=True)
        ]
    elif kind is RecordKind.UTILITY:
        (late,) = cols
        out = [
            f'{{"accountNo":"E-{s[2:14]}","billDate":"{d[start[m]]}","billedFen":1000000,'
            f'"daysLate":{dl},"paidFen":1000000,"subject":"{s}","utility":"ELECTRICITY"}}'
            for m, dl, s in zip(month, late, sids, strict=True)
        ]
    elif kind is RecordKind.SOCIAL_INSURANCE:
        arrears, staff = cols
        out = [
            f'{{"insuredEmployees":{e},"monthsInArrears":{a},'
            f'"paidFen":{150_000 * e if a == 0 else 0},"payableFen":{150_000 * e},'
            f'"periodMonth":"{d[start[m]]}","subject":"{s}"}}'
            for m, a, e, s in zip(month, arrears, staff, sids, strict=True)
        ]
    elif kind is RecordKind.RECEIVABLE_DEFAULT:
        (days,) = cols
        out = [
            f'{{"amountFen":5000000,"daysOverdue":{dd},"dueDate":"{d[start[m] + 14]}",'
            f'"receivableId":"0x{r:064x}","subject":"{s}"}}'
            for m, dd, r, s in zip(month, days, rows["row"].tolist(), sids, strict=True)
        ]
    else:
        stage, rd, patents, inventions, staff_bp, growth, equity = cols
        out = [
            f'{{"assessedDate":"{d[start[m]]}","equityRaisedFen":{eq},'
            f'"inventionPatents":{inv},"patents":{pat},"rdIntensityBp":{r},'
            f'"rdStaffBp":{sb},"revenueGrowthBp":{g},"stage":"{_STAGES[st]}","subject":"{s}"}}'
            for m, st, r, pat, inv, sb, g, eq, s in zip(
                month, stage, rd, patents, inventions, staff_bp, growth, equity, sids, strict=True
            )
        ]
    return [o.encode("ascii") for o in out]


def row_to_record(row: np.void, subjects: Sequence[bytes]) -> tuple[str, dict[str, object]]:
    """One kept row as its schema's record (``record_of``): what its holder hands out."""
    return record_of(
        RecordKind(int(row["kind"])),
        int(row["holder"]),
        int(row["month"]),
        [int(v) for v in row["payload"]],
        row=int(row["row"]),
        subject=subjects[int(row["subject"])],
    )


def check_encoding(schema: Schema, row: np.void, encoded: bytes, subjects: Sequence[bytes]) -> None:
    """Raise ScaleEncodingMismatch unless ``encoded`` is the project's canonical JSON of row."""
    name, record = row_to_record(row, subjects)
    if name != schema.name or canonical_json(validate_record(schema, record)) != encoded:
        raise ScaleEncodingMismatch(name, int(row["row"]))


# -- what is kept ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptBatch:
    """One anchored batch as the index keeps it."""

    number: int
    batch_id: bytes
    schema: str
    member: str
    day: int
    offset: int  # first row in records.bin
    count: int
    root: bytes

    def to_dict(self) -> dict[str, Any]:
        """The index line."""
        return {
            "number": self.number,
            "batch_id": "0x" + self.batch_id.hex(),
            "schema": self.schema,
            "member": self.member,
            "day": self.day,
            "offset": self.offset,
            "count": self.count,
            "root": "0x" + self.root.hex(),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> KeptBatch:
        """Read an index line."""
        return cls(
            int(doc["number"]),
            bytes.fromhex(str(doc["batch_id"])[2:]),
            str(doc["schema"]),
            str(doc["member"]),
            int(doc["day"]),
            int(doc["offset"]),
            int(doc["count"]),
            bytes.fromhex(str(doc["root"])[2:]),
        )


def batch_tree(rows: RowArray, subjects: Sequence[bytes]) -> tuple[list[bytes], MerkleTree]:
    """The records' canonical JSON and the batch's tree (leaf i is row i's batch leaf)."""
    encoded = canonical_records(rows, subjects)
    leaves = pair_leaves([subjects[s] for s in rows["subject"].tolist()], encoded)
    return encoded, MerkleTree(leaves)


class ScaleStore:
    """A scale run's kept records: rebuild any record and its proof from the rows."""

    def __init__(self, home: Path) -> None:
        self.home = home
        meta = json.loads((home / "scale.json").read_text(encoding="utf-8"))
        self.enterprises = int(meta["enterprises"])
        raw = np.fromfile(home / "subjects.bin", dtype=np.uint8).tobytes()
        self.subjects = [raw[i * 32 : (i + 1) * 32] for i in range(self.enterprises)]
        self.batches = [
            KeptBatch.from_dict(json.loads(line))
            for line in (home / "batches.jsonl").read_text(encoding="utf-8").splitlines()
            if line
        ]
        path = home / "records.bin"
        self.rows: RowArray = (
            np.memmap(path, dtype=ROW, mode="r") if path.stat().st_size else np.zeros(0, dtype=ROW)
        )

    def batch_rows(self, number: int) -> RowArray:
        """The rows of batch ``number``, in tree order."""
        b = self.batches[number]
        return np.asarray(self.rows[b.offset : b.offset + b.count])

    def record(self, number: int, index: int) -> dict[str, object]:
        """Record ``index`` of batch ``number``."""
        return row_to_record(self.batch_rows(number)[index], self.subjects)[1]

    def proof(self, number: int, index: int) -> BatchProof:
        """The inclusion proof of record ``index`` of batch ``number`` (its tree rebuilt)."""
        b = self.batches[number]
        _, tree = batch_tree(self.batch_rows(number), self.subjects)
        if tree.root != b.root:
            raise LedgerValueError(f"batch {number}'s kept rows no longer make its root")
        return BatchProof(b.batch_id, index, list(tree.proof(index)))


# -- the run -------------------------------------------------------------------------------------


@dataclass
class StageTimes:
    """Seconds spent in each stage of the scaled reporting."""

    world: float = 0.0
    encode_hash: float = 0.0  # canonical JSON and keccak of records and leaves
    tree: float = 0.0
    storage: float = 0.0
    chain: float = 0.0  # anchorBatch transactions

    def to_dict(self) -> dict[str, float]:
        """Rounded, for the summary."""
        return {
            "world": round(self.world, 2),
            "encode_hash": round(self.encode_hash, 2),
            "tree": round(self.tree, 2),
            "storage": round(self.storage, 2),
            "chain_anchor": round(self.chain, 2),
        }


class ScaleSimulation(Simulation):
    """The scenario with the credit world's reporting at scale (module docstring)."""

    def __init__(self, scale: ScaleConfig) -> None:
        if not 1 <= scale.max_batch <= MAX_BATCH:
            raise LedgerValueError(f"max_batch must be 1..{MAX_BATCH:,}, not {scale.max_batch:,}")
        self.scale = scale
        self.stages = StageTimes()
        config = SimulationConfig(
            days=scale.days,
            enterprises=max(5, scale.flow_sample),
            seed=scale.seed,
            out=scale.out,
            adversary_rate=scale.adversary_rate if scale.flows else 0.0,
            flows=scale.flows,
            audit=False,
            credit_enterprises=0,
        )
        super().__init__(config)
        #: Per world chunk: its reportable rows sorted by (day, holder, kind), world order
        #: kept within, and where each day's begin. Never concatenated: one copy in memory.
        self._chunks: list[tuple[RowArray, IntArray]] = []
        self._pending: RowArray = np.zeros(0, dtype=ROW)
        self.world_subjects: list[bytes] = []
        self.kept: list[KeptBatch] = []
        self._kept_rows = 0
        self.largest_batch = 0
        self.world_records = 0
        self.reportable = 0

    def _connect(self) -> Chain:
        data_dir = None
        if self.scale.out is not None:
            data_dir = self.scale.out / "chain"
            for suffix in ("", "-wal", "-shm"):
                (data_dir / ("chain.sqlite" + suffix)).unlink(missing_ok=True)
        return connect(
            self.scale.engine, genesis_timestamp=SIM_EPOCH - DAY, block_time=1, data_dir=data_dir
        )

    def setup(self) -> Ledger:
        """The scenario's set-up, then the world's rows and where each day's begin."""
        ledger = super().setup()
        t0 = time.perf_counter()
        every_day = np.arange(self.scale.days + 1, dtype=np.int64)
        for drawn in world_chunks(self.scale.seed, self.scale.enterprises):
            every = report_days(drawn)
            self.world_records += int(drawn.shape[0])
            keep = every < self.scale.days
            rows, days = drawn[keep], every[keep]
            del drawn, every
            # Sorted by (day, holder, kind), world order kept within: a day's rows of a
            # chunk are one run, and its batches' rows contiguous runs within it.
            key = (days * 256 + rows["holder"].astype(np.int64)) * 256 + rows["kind"]
            order = np.argsort(key, kind="stable")
            self._chunks.append((rows[order], np.searchsorted(days[order], every_day)))
            self.reportable += int(rows.shape[0])
            del rows, days, key, order
        key_bytes = self.ring.account("consortium-subject-key").key
        self.world_subjects = subject_ids(bytes(key_bytes), self.scale.enterprises)
        self.stages.world += time.perf_counter() - t0
        if self.scale.out is not None:
            out = self.scale.out
            np.frombuffer(b"".join(self.world_subjects), dtype=np.uint8).tofile(
                out / "subjects.bin"
            )
            (out / "records.bin").write_bytes(b"")
            (out / "batches.jsonl").write_text("", encoding="utf-8")
            meta = {
                "enterprises": self.scale.enterprises,
                "days": self.scale.days,
                "seed": self.scale.seed,
                "row_bytes": ROW.itemsize,
            }
            (out / "scale.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return ledger

    def _banks(self, day: int) -> None:
        """The banks' records are the world's, reported with the bureaus' (_bureaus)."""

    def _bureaus(self, day: int) -> None:
        """Today's rows of every holder, anchored in batches by holder and schema."""
        today = np.concatenate([rows[ds[day] : ds[day + 1]] for rows, ds in self._chunks])
        suspended = self.suspended()
        if self._pending.shape[0]:
            today = np.concatenate([self._pending, today])
            self._pending = np.zeros(0, dtype=ROW)
        if suspended is not None and today.shape[0]:
            held = today["holder"] == MEMBERS.index(suspended)
            self._pending = today[held]
            today = today[~held]
            self.metrics.deferred_records = max(
                self.metrics.deferred_records, int(self._pending.shape[0])
            )
        if today.shape[0] == 0:
            return
        # Held rows come first; a stable sort groups them with today's of their schema.
        key = today["holder"].astype(np.int64) * 256 + today["kind"]
        order = np.argsort(key, kind="stable")
        today, key = today[order], key[order]
        bounds = np.flatnonzero(np.diff(key)) + 1
        for group in np.split(today, bounds):
            for start in range(0, group.shape[0], self.scale.max_batch):
                self._anchor(group[start : start + self.scale.max_batch], day)

    def _anchor(self, rows: RowArray, day: int) -> None:
        ledger = self.deployed
        member = MEMBERS[int(rows["holder"][0])]
        schema = ledger.schemas[RecordKind(int(rows["kind"][0])).schema]
        t0 = time.perf_counter()
        encoded = canonical_records(rows, self.world_subjects)
        subjects = self.world_subjects
        # batch_leaf(subject, keccak256(record)) for each, in one loop: subjects are 32
        # bytes by construction, and this runs once per record.
        leaves = pair_leaves([subjects[s] for s in rows["subject"].tolist()], encoded)
        t1 = time.perf_counter()
        tree = MerkleTree(leaves)
        t2 = time.perf_counter()
        check_encoding(schema, rows[0], encoded[0], subjects)
        anchored = ledger.attestations.anchor_batch(
            self.ring.account(member), schema, tree.root, len(leaves)
        )
        t3 = time.perf_counter()
        self.metrics.gas_spent("anchor_batch", anchored.tx.gas_used)
        self.metrics.record(schema.name, self.city_of(member), day, len(leaves), batched=True)
        kept = KeptBatch(
            len(self.kept),
            anchored.batch_id,
            schema.name,
            member,
            day,
            self._kept_rows,
            len(leaves),
            tree.root,
        )
        self.kept.append(kept)
        self._kept_rows += len(leaves)
        self.largest_batch = max(self.largest_batch, len(leaves))
        if self.scale.out is not None:
            with (self.scale.out / "records.bin").open("ab") as f:
                f.write(rows.tobytes())
            with (self.scale.out / "batches.jsonl").open("a", encoding="utf-8") as f:
                f.write(json.dumps(kept.to_dict()) + "\n")
        t4 = time.perf_counter()
        self.stages.encode_hash += t1 - t0
        self.stages.tree += t2 - t1
        self.stages.chain += t3 - t2
        self.stages.storage += t4 - t3

    def summary(self) -> dict[str, Any]:
        """The scenario's figures, and the scaled reporting's."""
        doc = super().summary()
        doc["config"]["engine"] = self.scale.engine
        doc["config"]["enterprises"] = self.scale.enterprises
        doc["scale"] = {
            "enterprises": self.scale.enterprises,
            "days": self.scale.days,
            "world_records": self.world_records,
            "records_reportable_in_days": self.reportable,
            "records_anchored": self._kept_rows,
            "records_still_held": int(self._pending.shape[0]),
            "batches": len(self.kept),
            "largest_batch": self.largest_batch,
            "max_batch": self.scale.max_batch,
            "row_bytes": ROW.itemsize,
            "stage_seconds": self.stages.to_dict(),
            "flows": (
                "none: the world's records only"
                if not self.scale.flows
                else f"consent, disputes, receivables, lending and adversaries are real "
                f"transactions for a sample of {self.config.enterprises} enterprises of their "
                f"own population, not for the {self.scale.enterprises:,} of the world"
            ),
        }
        return doc


def run_scale(scale: ScaleConfig) -> SimulationResult:
    """Run the scenario at scale; with ``scale.out``, write ``summary.json`` beside the rows."""
    sim = ScaleSimulation(scale)
    t0 = time.perf_counter()
    result = sim.run()
    result.timing["total_s"] = round(time.perf_counter() - t0, 2)
    result.timing["flows_and_chain_s"] = round(
        result.timing["total_s"] - sum(sim.stages.to_dict().values()), 2
    )
    if scale.out is not None:
        doc = {**result.summary, "timing": result.timing}
        (scale.out / "summary.json").write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    return result
