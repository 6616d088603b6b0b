"""The Yangtze Delta scenario: five cities of institutions and enterprises over simulated days.

Each simulated day the chain's clock moves to that day's morning; then, by a
seeded random process, banks attest repayments (in Merkle batches when there
are enough) and overdue records (one by one: each may be disputed or revoked on
its own), bureaus attest tax grades and utility and social-insurance records,
and adversaries try what they should not. A fault plan suspends a member part
of the way through and reinstates it later. The same seed gives the same
figures on the embedded chain.
"""

from __future__ import annotations

import datetime
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger_client import Chain, Keyring, Ledger, Role, connect, deploy
from ledger_client.backends import Receipt
from ledger_client.batches import anchor_records
from ledger_client.records import Schema, sample_record
from ledger_client.types import City
from ledger_client.uscc import subject_id

from .adversaries import ATTACKS, AttackContext, attempt
from .metrics import Metrics
from .report import render_report
from .world import REGULATOR, EnterpriseProfile, consortium_institutions, make_population

#: The simulation's day 0: 2026-01-05 (a Monday), 00:00 in Shanghai (UTC+8).
SIM_EPOCH = 1_767_542_400
DAY = 86_400
#: Records of one schema a member holds back for a batch rather than attesting singly.
BATCH_THRESHOLD = 8
#: Enterprises bound per registrar transaction.
BIND_CHUNK = 200


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate."""

    days: int = 90
    enterprises: int = 500
    seed: int = 7
    rpc: str | None = None  # a node's URL; None for the embedded chain
    out: Path | None = None  # where to keep the manifest, the chain and the report
    adversary_rate: float = 0.5  # probability of an attack on a given day
    suspend_label: str = "bank:jiaxing"  # the member suspended mid-run


@dataclass
class SimulationResult:
    """What a run produced."""

    config: SimulationConfig
    summary: dict[str, Any]  # deterministic figures
    timing: dict[str, float] = field(default_factory=dict)  # seconds; not deterministic
    ledger: Ledger | None = None


ProgressHook = Callable[[int, int], None]


class Simulation:
    """One run of the scenario."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.ring = Keyring(f"yangtze-sim-{config.seed}")
        self.metrics = Metrics()
        self.chain = self._connect()
        self.chain.add_receipt_listener(self._count)
        self.population: list[EnterpriseProfile] = []
        self.subjects: dict[str, bytes] = {}
        self.ledger: Ledger | None = None
        self._held: dict[str, list[tuple[str, dict[str, object]]]] = defaultdict(list)

    def _connect(self) -> Chain:
        if self.config.rpc:
            return connect(self.config.rpc)
        data_dir = self.config.out / "chain" if self.config.out else None
        if data_dir is not None and (data_dir / "chain.sqlite").exists():
            (data_dir / "chain.sqlite").unlink()
        return connect(
            "embedded", genesis_timestamp=SIM_EPOCH - DAY, block_time=1, data_dir=data_dir
        )

    def _count(self, receipt: Receipt) -> None:
        self.metrics.transactions += 1
        self.metrics.transactions_by_day[self.metrics.day] += 1
        self.metrics.gas += receipt.gas_used

    # -- the world ----------------------------------------------------------------
    def setup(self) -> Ledger:
        """Deploy, admit the institutions of the five cities, bind the enterprises."""
        regulator = self.ring.account(REGULATOR.label)
        self.chain.fund(regulator.address)
        ledger = deploy(
            self.chain, regulator, regulator_name=REGULATOR.name, regulator_city=REGULATOR.city
        )
        self.ledger = ledger
        for spec in consortium_institutions():
            acct = self.ring.account(spec.label)
            self.chain.fund(acct.address)
            ledger.consortium.admit_member(
                regulator, acct.address, spec.name, spec.city, spec.roles
            )
        relayer = self.ring.account("relayer")
        self.chain.fund(relayer.address)
        ledger.consortium.admit_member(
            regulator, relayer.address, "Delta Records Relay (simulated)", "Shanghai", Role.RELAYER
        )
        subject_key = self.ring.account("consortium-subject-key").key
        self.population = make_population(self.rng, self.config.enterprises)
        by_city: dict[City, list[tuple[str, bytes]]] = defaultdict(list)
        for ent in self.population:
            sid = subject_id(ent.spec.uscc, subject_key)
            self.subjects[ent.spec.label] = sid
            by_city[ent.spec.city].append((self.ring.account(ent.spec.label).address, sid))
        for city, pairs in by_city.items():
            registrar = self.ring.account(f"bureau:{city.name.lower()}")
            for i in range(0, len(pairs), BIND_CHUNK):
                result = ledger.consortium.bind_enterprises(registrar, pairs[i : i + BIND_CHUNK])
                self.metrics.gas_spent("bind_enterprises", result.gas_used)
        if self.config.out is not None:
            self.config.out.mkdir(parents=True, exist_ok=True)
            ledger.manifest.save(self.config.out / "manifest.json")
            self.ring.save(self.config.out / "keys.json")
        return ledger

    # -- the days -----------------------------------------------------------------
    def run(self, progress: ProgressHook | None = None) -> SimulationResult:
        """Set up, then play every day; return the figures."""
        started = time.perf_counter()
        ledger = self.setup()
        setup_s = time.perf_counter() - started
        suspend_day = self.config.days // 3
        reinstate_day = (2 * self.config.days) // 3
        for day in range(self.config.days):
            self.metrics.day = day
            self._move_clock(day)
            if day == suspend_day and self.config.days >= 3:
                self._suspend(day)
            if day == reinstate_day and self.config.days >= 3:
                self._reinstate(day)
            self._bureaus(day)
            self._banks(day)
            self._flush_batches(day)
            if self.rng.random() < self.config.adversary_rate:
                self._attack(day)
            if progress is not None:
                progress(day + 1, self.config.days)
        elapsed = time.perf_counter() - started
        summary = self.summary()
        return SimulationResult(
            config=self.config,
            summary=summary,
            timing={"setup_s": round(setup_s, 2), "total_s": round(elapsed, 2)},
            ledger=ledger,
        )

    def _move_clock(self, day: int) -> None:
        target = SIM_EPOCH + day * DAY + 9 * 3_600  # 09:00 Shanghai time
        if target > self.chain.now():
            self.chain.backend.time_travel(target)

    def _date(self, day: int) -> datetime.date:
        return datetime.date(2026, 1, 5) + datetime.timedelta(days=day)

    def _suspended(self) -> str | None:
        active = [f for f in self.metrics.faults if f["kind"] == "member_suspended"]
        ended = [f for f in self.metrics.faults if f["kind"] == "member_reinstated"]
        return self.config.suspend_label if len(active) > len(ended) else None

    def _suspend(self, day: int) -> None:
        assert self.ledger is not None
        member = self.ring.account(self.config.suspend_label)
        reason = b"sim: late regulatory filings".ljust(32, b"\0")
        self.ledger.consortium.suspend_member(
            self.ring.account(REGULATOR.label), member.address, reason
        )
        self.metrics.faults.append(
            {"kind": "member_suspended", "day": day, "member": self.config.suspend_label}
        )

    def _reinstate(self, day: int) -> None:
        assert self.ledger is not None
        member = self.ring.account(self.config.suspend_label)
        self.ledger.consortium.reinstate_member(self.ring.account(REGULATOR.label), member.address)
        self.metrics.faults.append(
            {"kind": "member_reinstated", "day": day, "member": self.config.suspend_label}
        )

    def _hold(self, member: str, schema: str, record: dict[str, object]) -> None:
        self._held[member].append((schema, record))

    def _banks(self, day: int) -> None:
        assert self.ledger is not None
        date = self._date(day)
        repayment = self.ledger.schemas["loan-repayment"]
        overdue = self.ledger.schemas["overdue-record"]
        for ent in self.population:
            if ent.lender is None or ent.due_day != date.day:
                continue
            bank = f"bank:{ent.lender.name.lower()}"
            subject = "0x" + self.subjects[ent.spec.label].hex()
            loan_id = f"L-{ent.spec.label.split(':', 1)[1]}"
            instalment = (date.year - 2026) * 12 + date.month
            if self.rng.random() < ent.reliability:
                record = sample_record(
                    repayment,
                    self.rng,
                    overrides={
                        "subject": subject,
                        "loanId": loan_id,
                        "instalment": instalment,
                        "dueFen": ent.instalment_fen,
                        "repaidFen": ent.instalment_fen,
                        "dueDate": date.isoformat(),
                        "repaidDate": date.isoformat(),
                    },
                )
                self._hold(bank, repayment.name, record)
            else:
                late = self.rng.randint(1, 120)
                record = sample_record(
                    overdue,
                    self.rng,
                    overrides={
                        "subject": subject,
                        "loanId": loan_id,
                        "overdueFen": ent.instalment_fen,
                        "dueDate": date.isoformat(),
                        "daysOverdue": late,
                        "bucket": f"M{min(7, 1 + late // 30)}",
                    },
                )
                self._attest_single(bank, overdue, record, day)

    def _bureaus(self, day: int) -> None:
        assert self.ledger is not None
        date = self._date(day)
        grades = self.ledger.schemas["tax-credit-grade"]
        utilities = self.ledger.schemas["utility-payments"]
        insurance = self.ledger.schemas["social-insurance"]
        for ent in self.population:
            bureau = f"bureau:{ent.spec.city.name.lower()}"
            subject = "0x" + self.subjects[ent.spec.label].hex()
            if day == 0:
                grade = "A" if ent.reliability > 0.97 else "B" if ent.reliability > 0.9 else "M"
                record = sample_record(
                    grades,
                    self.rng,
                    overrides={"subject": subject, "taxYear": 2025, "grade": grade},
                )
                self._hold(bureau, grades.name, record)
            if date.day == 15:
                late = 0 if self.rng.random() < ent.reliability else self.rng.randint(1, 60)
                record = sample_record(
                    utilities, self.rng, overrides={"subject": subject, "daysLate": late}
                )
                self._hold(bureau, utilities.name, record)
                arrears = 0 if self.rng.random() < ent.reliability else self.rng.randint(1, 3)
                record = sample_record(
                    insurance, self.rng, overrides={"subject": subject, "monthsInArrears": arrears}
                )
                self._hold(bureau, insurance.name, record)

    def _flush_batches(self, day: int) -> None:
        """Each member writes what it held today: a batch per schema when there are enough."""
        assert self.ledger is not None
        suspended = self._suspended()
        for member in sorted(self._held):
            if member == suspended:
                # An honest member does not write while suspended; it holds its records.
                continue
            by_schema: dict[str, list[dict[str, object]]] = defaultdict(list)
            for schema, record in self._held.pop(member):
                by_schema[schema].append(record)
            for name, records in sorted(by_schema.items()):
                kind = self.ledger.schemas[name]
                if len(records) >= BATCH_THRESHOLD:
                    batch = anchor_records(
                        self.ledger.attestations, self.ring.account(member), kind, records
                    )
                    self.metrics.gas_spent("anchor_batch", batch.tx.gas_used)
                    self.metrics.record(name, self._city_of(member), day, len(records), True)
                else:
                    for record in records:
                        self._attest_single(member, kind, record, day)
        if suspended:
            self.metrics.deferred_records = max(
                self.metrics.deferred_records, len(self._held.get(suspended, []))
            )

    def _attest_single(
        self, member: str, schema: Schema, record: dict[str, object], day: int
    ) -> None:
        assert self.ledger is not None
        if member == self._suspended():
            self._hold(member, schema.name, record)
            return
        made = self.ledger.attestations.attest_record(self.ring.account(member), schema, record)
        self.metrics.gas_spent("attest", made.gas_used)
        self.metrics.record(schema.name, self._city_of(member), day, 1, False)

    def _city_of(self, member: str) -> str:
        return member.split(":", 1)[1].capitalize() if ":" in member else "Shanghai"

    # -- adversaries ----------------------------------------------------------------
    def _attack(self, day: int) -> None:
        assert self.ledger is not None
        kinds = sorted(ATTACKS)
        suspended = self._suspended()
        if suspended is None:
            kinds.remove("suspended_member_write")
        kind = self.rng.choice(kinds)
        honest = self.ring.account(f"bank:{self.rng.choice(list(City)).name.lower()}")
        if suspended and honest.address == self.ring.account(suspended).address:
            honest = self.ring.account("bank:shanghai")
        ent = self.rng.choice(self.population)
        ctx = AttackContext(
            ledger=self.ledger,
            ring=self.ring,
            rng=self.rng,
            day=day,
            honest_attester=honest,
            relayer=self.ring.account("relayer"),
            suspended=self.ring.account(suspended) if suspended else None,
            subject=self.subjects[ent.spec.label],
        )
        attempt(kind, ctx, self.metrics)

    # -- the report ---------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The run's deterministic figures."""
        doc = self.metrics.summary(self.config.days)
        doc["config"] = {
            "days": self.config.days,
            "enterprises": self.config.enterprises,
            "seed": self.config.seed,
            "chain": self.config.rpc or "embedded",
        }
        doc["blocks"] = self.chain.backend.block_number()
        doc["members"] = len(self.ledger.consortium.members()) if self.ledger else 0
        doc["enterprises_bound"] = len(self.subjects)
        return doc


def run_simulation(
    config: SimulationConfig, progress: ProgressHook | None = None
) -> SimulationResult:
    """Run the scenario and, with ``config.out``, write ``summary.json`` there."""
    sim = Simulation(config)
    result = sim.run(progress)
    if config.out is not None:
        doc = {**result.summary, "timing": result.timing}
        (config.out / "summary.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        (config.out / "report.html").write_text(render_report(doc), encoding="utf-8")
    return result
