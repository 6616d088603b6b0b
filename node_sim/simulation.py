"""The Yangtze Delta scenario: five cities of institutions and enterprises over simulated days.

Each simulated day the chain's clock moves to that day's morning; then, by
seeded random processes:

- enterprises apply to banks, often in another city, authorising them to
  query their credit; banks log their queries and receive the enterprise's
  rating sealed by its city's credit bureau; some enterprises withdraw their
  consent; disputes are raised and answered (:mod:`node_sim.consent`);
- core enterprises issue receivables that flow down the supplier tiers, are
  financed by banks, settled at maturity or defaulted (:mod:`node_sim.supply_chain`);
- banks of several cities lend jointly to large enterprises under joint agreements
  whose limit the chain enforces, and lend to growth-stage firms against pledged
  patents, trademarks, equity, goods and receivables (:mod:`node_sim.lending`);
- banks attest repayments (in Merkle batches when there are enough) and
  overdue records (one by one: each may be disputed), bureaus attest tax grades
  and utility and social-insurance records;
- adversaries try what they should not (:mod:`node_sim.adversaries`).

A fault plan suspends a member a third of the way through and reinstates it at
two thirds; a run through the API also restarts the API server half way. The
same seed gives the same figures on the embedded chain.

**Real time.** A network of sealers (the five cities' geth Clique nodes, Besu in
production) stamps each block with its sealer's wall clock and refuses a block
from the future, so no client can move its clock. There the simulator plays the
days back to back in real time: a simulated day is a date on the records and in
the figures, not an interval of chain time, and the contracts judge deadlines by
the real clock. What follows from that: signatures, authorisations and financing
requests are checked against real time and pass or lapse as they would in
production; a receivable's due date lies days of real time ahead, so maturity,
settlement and overdue marking are not played (the contract settles only at the
due date); a dispute is answered within minutes, so none is late on chain (the
20-day deadline is a contract constant) and ``disputes.resolved_late`` stays 0.
A moved clock cannot be imitated honestly on such a chain (every block's time is
checked by every sealer), so the simulator does not pretend to: the summary says
``"clock": "real time"``, and the time-driven flows run on the embedded chain and
anvil, where ``"clock": "moved"``.
"""

from __future__ import annotations

import datetime
import json
import random
import secrets
import shutil
import signal
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.api_process import ApiServer
from harness.rpc_bridge import EmbeddedRpcBridge
from ledger_client import Chain, Keyring, Ledger, Role, connect, deploy
from ledger_client.attestations.records import Schema, sample_record
from ledger_client.audit import audit_ledger
from ledger_client.chain.backends import Receipt
from ledger_client.chain.finality import Finality, Settled
from ledger_client.identity.uscc import subject_id
from ledger_client.types import City
from node_sim.adversaries import AttackContext, attacks_for, attempt, choose
from node_sim.consent import DISPUTE_RATE_OTHER, ConsentFlows
from node_sim.credit_decisions import credit_decisions
from node_sim.gateway import ApiGateway, ChainGateway, Written
from node_sim.lending import LendingFlows
from node_sim.metrics import Metrics
from node_sim.report import render_report
from node_sim.supply_chain import ReceivableFlows
from node_sim.world import REGULATOR, EnterpriseProfile, consortium_institutions, make_population

#: The simulation's day 0: 2026-01-05 (a Monday), 00:00 in Shanghai (UTC+8).
SIM_EPOCH = 1_767_542_400
DAY = 86_400
#: China Standard Time, the calendar of the simulated days.
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
#: Records of one schema a member holds back for a batch rather than attesting singly.
BATCH_THRESHOLD = 8
#: Gas money of each member account: small enough that a development node's faucet
#: account (anvil's hold 10,000 ether each) funds a whole consortium.
MEMBER_FUNDING_WEI = 100 * 10**18
#: Enterprises bound per registrar transaction.
BIND_CHUNK = 200
#: The API's per-key rate limit is lifted for a run: the simulator is one client per member.
API_SERVER_ENV = {"CREDIT_CHAIN_RATE_PER_S": "1e9", "CREDIT_CHAIN_RATE_BURST": "1000000000"}


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate."""

    days: int = 90
    enterprises: int = 500
    seed: int = 7
    rpc: str | None = None  # a node's URL; None for the embedded chain
    out: Path | None = None  # where to keep the manifest, the chain and the report
    adversary_rate: float = 0.5  # probability of an attack on a given day
    attacks_per_day: int = 1  # attack classes tried on a day of attack (least tried first)
    suspend_label: str = "bank:jiaxing"  # the member suspended mid-run
    via_api: bool = False  # send every write of the days through a real `credit-chain serve`
    api_restart_signal: str = "SIGKILL"  # how the API server is stopped mid-run
    late_dispute_rate: float = 0.15  # share of disputes answered past the 20-day deadline
    flows: bool = True  # consent and receivables flows; False: credit records only
    lending: bool = True  # with the flows: pledges, facilities and joint agreements
    audit: bool = True  # run the auditor over the ledger at the end
    credit_enterprises: int = 7_000  # the credit world the banks decide on (0: none)


@dataclass
class SimulationResult:
    """What a run produced."""

    config: SimulationConfig
    summary: dict[str, Any]  # deterministic figures (on the embedded chain, without the API)
    timing: dict[str, float] = field(default_factory=dict)  # seconds; not deterministic
    ledger: Ledger | None = None
    audit: dict[str, Any] | None = None  # the auditor's verdict


ProgressHook = Callable[[int, int], None]


class Simulation:
    """One run of the scenario."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.attack_rng = random.Random(f"{config.seed}:adversaries")
        self.ring = Keyring(f"yangtze-sim-{config.seed}")
        self.metrics = Metrics()
        self.chain = self._connect()
        self.chain.add_receipt_listener(self._count)
        self.population: list[EnterpriseProfile] = []
        self.profiles: dict[str, EnterpriseProfile] = {}
        self.subjects: dict[str, bytes] = {}
        self._by_subject: dict[bytes, str] = {}
        self.ledger: Ledger | None = None
        self._held: dict[str, list[tuple[str, dict[str, object]]]] = defaultdict(list)
        self._own_txs: set[str] = set()
        self._setup_block = 0
        self.receivables_city = City.SHANGHAI.label
        self.bridge: EmbeddedRpcBridge | None = None
        self.gateway: ChainGateway | None = None
        self.consent: ConsentFlows | None = None
        self.flows: ReceivableFlows | None = None
        self.lending: LendingFlows | None = None
        self._scratch: Path | None = None
        self.epoch = SIM_EPOCH if not config.rpc else _next_midnight(self.chain.now())
        #: The chain keeps wall-clock time: days are played back to back (module docstring).
        self.real_time = not self.chain.backend.controls_clock()
        # On a network a block can be reorged away: every transaction this process sends is
        # kept and settled N deep at each day's end, sent again if a reorg dropped it (the
        # API's worker does the same for what it relays). One node: final at once, no cost.
        self.finality = Finality(self.chain) if config.rpc else None
        self.settled = Settled(0, 0)
        if self.finality is not None and self.finality.depth > 1:
            self.chain.keep_sent()

    def _connect(self) -> Chain:
        if self.config.out is not None:
            # A run starts a new ledger: the previous run's chain, and the API state
            # (keys, journal) that belonged to it, go.
            for stale in ("chain/chain.sqlite", "api.sqlite", "api/api.sqlite", "api/index.sqlite"):
                for suffix in ("", "-wal", "-shm"):
                    (self.config.out / (stale + suffix)).unlink(missing_ok=True)
        if self.config.rpc:
            return connect(self.config.rpc)
        data_dir = self.config.out / "chain" if self.config.out else None
        return connect(
            "embedded", genesis_timestamp=SIM_EPOCH - DAY, block_time=1, data_dir=data_dir
        )

    def _count(self, receipt: Receipt) -> None:
        self.metrics.transactions += 1
        self.metrics.transactions_by_day[self.metrics.day] += 1
        self.metrics.gas += receipt.gas_used
        if self.config.via_api:
            self._own_txs.add(receipt.tx_hash)

    # -- what the flows share -----------------------------------------------------------
    @property
    def writes(self) -> ChainGateway:
        """Where every write goes (the chain, or the API for what it has routes for)."""
        assert self.gateway is not None, "setup() opens the gateway first"
        return self.gateway

    @property
    def deployed(self) -> Ledger:
        """The ledger, once :meth:`setup` has deployed it."""
        assert self.ledger is not None, "setup() deploys the ledger first"
        return self.ledger

    def morning(self, day: int) -> int:
        """09:00 Shanghai time on simulated ``day`` (UNIX seconds)."""
        return self.epoch + day * DAY + 9 * 3_600

    def date(self, day: int) -> datetime.date:
        """The calendar date of simulated ``day`` in Shanghai."""
        start = datetime.datetime.fromtimestamp(self.epoch, SHANGHAI).date()
        return start + datetime.timedelta(days=day)

    def city_of(self, member: str) -> str:
        """The city of a member institution, from its label (``bank:hefei`` -> ``Hefei``)."""
        return member.split(":", 1)[1].capitalize() if ":" in member else "Shanghai"

    def profile_of_subject(self, subject: bytes) -> EnterpriseProfile:
        """The enterprise with this subject id."""
        return self.profiles[self._by_subject[bytes(subject)]]

    def suspended(self) -> str | None:
        """The label of the member suspended now, if any."""
        active = [f for f in self.metrics.faults if f["kind"] == "member_suspended"]
        ended = [f for f in self.metrics.faults if f["kind"] == "member_reinstated"]
        return self.config.suspend_label if len(active) > len(ended) else None

    # -- the world ----------------------------------------------------------------
    def setup(self) -> Ledger:
        """Deploy, admit the institutions of the five cities, bind the enterprises."""
        regulator = self.ring.account(REGULATOR.label)
        self.chain.fund(regulator.address, MEMBER_FUNDING_WEI)
        ledger = deploy(
            self.chain, regulator, regulator_name=REGULATOR.name, regulator_city=REGULATOR.city
        )
        self.ledger = ledger
        for spec in consortium_institutions():
            acct = self.ring.account(spec.label)
            self.chain.fund(acct.address, MEMBER_FUNDING_WEI)
            ledger.consortium.admit_member(
                regulator, acct.address, spec.name, spec.city, spec.roles
            )
        # The relay member: the API server relays signed records with it.
        relayer = self.ring.account("relayer")
        self.chain.fund(relayer.address, MEMBER_FUNDING_WEI)
        ledger.consortium.admit_member(
            regulator, relayer.address, "Delta Records Relay (simulated)", "Shanghai", Role.RELAYER
        )
        # What the simulation relays itself (adversaries' signed messages) comes from
        # another account, so it never races the API server for the relay's nonces. It
        # holds the relayer role too: the red team abuses a relay's powers with it.
        sim_relayer = self.ring.account("relayer:sim")
        self.chain.fund(sim_relayer.address, MEMBER_FUNDING_WEI)
        ledger.consortium.admit_member(
            regulator, sim_relayer.address, "Delta Relay Two (simulated)", "Hefei", Role.RELAYER
        )
        contract = ledger.consortium.member(ledger.receivables.address)
        if contract is not None:
            self.receivables_city = contract.city.label
        subject_key = self.ring.account("consortium-subject-key").key
        self.population = make_population(self.rng, self.config.enterprises)
        by_city: dict[City, list[tuple[str, bytes]]] = defaultdict(list)
        for ent in self.population:
            sid = subject_id(ent.spec.uscc, subject_key)
            self.subjects[ent.spec.label] = sid
            self.profiles[ent.spec.label] = ent
            self._by_subject[sid] = ent.spec.label
            by_city[ent.spec.city].append((self.ring.account(ent.spec.label).address, sid))
        for city, pairs in by_city.items():
            registrar = self.ring.account(f"bureau:{city.name.lower()}")
            for i in range(0, len(pairs), BIND_CHUNK):
                result = ledger.consortium.bind_enterprises(registrar, pairs[i : i + BIND_CHUNK])
                self.metrics.gas_spent("bind_enterprises", result.gas_used)
        self.consent = ConsentFlows(self)
        self.consent.publish_keys()
        self.flows = ReceivableFlows(self)
        if self.config.flows and self.config.lending:
            self.lending = LendingFlows(self, self.flows)
        home = self.config.out
        if home is None and self.config.via_api:
            home = self._scratch = Path(tempfile.mkdtemp(prefix="credit-chain-sim-"))
        if home is not None:
            home.mkdir(parents=True, exist_ok=True)
            ledger.manifest.save(home / "manifest.json")
            self.ring.save(home / "keys.json")
        self.gateway = self._gateway(ledger, home)
        self._setup_block = self.chain.backend.block_number()
        return ledger

    def _gateway(self, ledger: Ledger, home: Path | None) -> ChainGateway:
        if not self.config.via_api:
            return ChainGateway(ledger, self.ring, self.metrics, self.city_of)
        assert home is not None
        if self.config.rpc:
            rpc = self.config.rpc
        else:
            self.bridge = EmbeddedRpcBridge(self.chain.backend).start()
            rpc = self.bridge.url
        # Every party writes with a key of its own: the institutions (the regulator among
        # them) and the enterprises; an attester's key reads the deployment to sign with.
        members = [s.label for s in consortium_institutions() if s.roles & Role.ATTESTER]
        members += [s.label for s in consortium_institutions() if s.label not in members]
        members += [REGULATOR.label] if REGULATOR.label not in members else []
        members += [ent.spec.label for ent in self.population]
        # The server's data directory holds the manifest and its relay key, nothing else: the
        # run's keys (the regulator's among them) stay in ``home``, outside it.
        api_home = home / "api"
        api_home.mkdir(parents=True, exist_ok=True)
        ledger.manifest.save(api_home / "manifest.json")
        relay_ring = Keyring(f"credit-chain-relay-{secrets.token_hex(16)}")  # derives nothing
        relay_ring.add("relayer", self.ring.account("relayer").key)
        relay_ring.save(api_home / "keys.json")
        server = ApiServer(api_home, rpc, env=API_SERVER_ENV)
        return ApiGateway(
            ledger, self.ring, self.metrics, self.city_of, server=server, members=members
        )

    # -- the days -----------------------------------------------------------------
    def run(self, progress: ProgressHook | None = None) -> SimulationResult:
        """Set up, then play every day; return the figures."""
        started = time.perf_counter()
        try:
            ledger = self.setup()
            setup_s = time.perf_counter() - started
            self._play(progress)
            self.metrics.disputes.open_overdue = len(self.deployed.disputes.overdue_disputes())
            elapsed = time.perf_counter() - started
            if self.config.via_api:
                self._count_api_transactions()
            summary = self.summary()
        finally:
            self.close()
        return SimulationResult(
            config=self.config,
            summary=summary,
            timing={"setup_s": round(setup_s, 2), "total_s": round(elapsed, 2)},
            ledger=ledger,
        )

    def _play(self, progress: ProgressHook | None) -> None:
        assert self.gateway is not None
        assert self.consent is not None
        assert self.flows is not None
        days = self.config.days
        suspend_day, reinstate_day = days // 3, (2 * days) // 3
        restart_day = days // 2
        for day in range(days):
            self.metrics.day = day
            self._move_clock(day)
            if day == suspend_day and days >= 3:
                self._suspend(day)
            if day == reinstate_day and days >= 3:
                self._reinstate(day)
            if self.config.flows:
                self.consent.play(day)
                self.flows.play(day)
                if self.lending is not None:
                    self.lending.play(day)
            self._bureaus(day)
            self._banks(day)
            self._flush_batches(day)
            api = self.gateway if isinstance(self.gateway, ApiGateway) else None
            # The server is stopped while it holds records it accepted (on the last day at
            # the latest), then started again: everything it accepted must end anchored.
            if (
                api is not None
                and not api.tally.restarts
                and day >= restart_day
                and (api.unsettled or day == days - 1)
            ):
                sig = signal.Signals[self.config.api_restart_signal]
                self.metrics.faults.append(api.restart_server(day, sig))
            self.gateway.drain()
            # The adversaries act at the end of the day, on what the day's honest traffic
            # showed them (through the API, it is settled by the drain).
            if self.attack_rng.random() < self.config.adversary_rate:
                self._attack(day)
            self._settle()
            if progress is not None:
                progress(day + 1, days)

    def _settle(self) -> None:
        """Every transaction sent since the last settlement, N blocks deep (on a network)."""
        if self.finality is None or self.finality.depth == 1:
            return
        done = self.finality.settle(self.chain.take_sent())
        self.settled = Settled(
            self.settled.settled + done.settled, self.settled.resent + done.resent
        )

    def close(self) -> None:
        """Stop the API server and the bridge, if any; leave the chain's data on disk."""
        if self.gateway is not None:
            self.gateway.close()
        if self.bridge is not None:
            self.bridge.close()
            self.bridge = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _move_clock(self, day: int) -> None:
        if self.real_time:
            return  # the sealers' clocks move it
        target = self.morning(day)
        if target > self.chain.now():
            self.chain.backend.time_travel(target)

    def _suspend(self, day: int) -> None:
        reason = b"sim: late regulatory filings".ljust(32, b"\0")
        self.writes.suspend_member(REGULATOR.label, self.config.suspend_label, reason)
        self.metrics.faults.append(
            {"kind": "member_suspended", "day": day, "member": self.config.suspend_label}
        )

    def _reinstate(self, day: int) -> None:
        self.writes.reinstate_member(REGULATOR.label, self.config.suspend_label)
        self.metrics.faults.append(
            {"kind": "member_reinstated", "day": day, "member": self.config.suspend_label}
        )

    def _hold(self, member: str, schema: str, record: dict[str, object]) -> None:
        self._held[member].append((schema, record))

    def _banks(self, day: int) -> None:
        ledger = self.deployed
        date = self.date(day)
        repayment = ledger.schemas["loan-repayment"]
        overdue = ledger.schemas["overdue-record"]
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
        ledger = self.deployed
        date = self.date(day)
        grades = ledger.schemas["tax-credit-grade"]
        utilities = ledger.schemas["utility-payments"]
        insurance = ledger.schemas["social-insurance"]
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
        assert self.gateway is not None
        suspended = self.suspended()
        for member in sorted(self._held):
            if member == suspended:
                # An honest member does not write while suspended; it holds its records.
                continue
            by_schema: dict[str, list[dict[str, object]]] = defaultdict(list)
            for schema, record in self._held.pop(member):
                by_schema[schema].append(record)
            for name, records in sorted(by_schema.items()):
                kind = self.deployed.schemas[name]
                if len(records) >= BATCH_THRESHOLD:
                    self.gateway.anchor(member, kind, records, day)
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
        assert self.gateway is not None
        assert self.consent is not None
        if member == self.suspended():
            self._hold(member, schema.name, record)
            return
        consent = self.consent
        then: Callable[[Written], None] | None = None
        if not self.config.flows:
            pass  # records only: no reviews, no disputes
        elif schema.name == "overdue-record":
            then = consent.on_overdue
        else:
            then = lambda written: consent.maybe_dispute(written, DISPUTE_RATE_OTHER)  # noqa: E731
        self.gateway.attest(member, schema, record, day, then)

    # -- adversaries ----------------------------------------------------------------
    def _attack(self, day: int) -> None:
        ctx = self.attack_context(day)
        for kind in choose(ctx, self.metrics, self.config.attacks_per_day):
            attempt(kind, ctx, self.metrics)

    def attack_context(self, day: int) -> AttackContext:
        """What the adversaries see and hold on ``day``: today's honest bank to impersonate
        and enterprise to target, drawn from the adversaries' own random stream."""
        assert self.consent is not None
        assert self.flows is not None
        suspended = self.suspended()
        honest = f"bank:{self.attack_rng.choice(list(City)).name.lower()}"
        if honest == suspended:
            honest = "bank:shanghai"
        ent = self.attack_rng.choice(self.population)
        return AttackContext(
            ledger=self.deployed,
            ring=self.ring,
            rng=self.attack_rng,
            day=day,
            honest_attester=honest,
            relayer=self.ring.account("relayer:sim"),
            suspended=suspended,
            subject=self.subjects[ent.spec.label],
            enterprise=ent.spec.label,
            consent=self.consent,
            receivables=self.flows,
            lending=self.lending,
            gateway=self.writes,
            metrics=self.metrics,
            city_of=self.city_of,
            api=self.gateway if isinstance(self.gateway, ApiGateway) else None,
        )

    # -- what the API server sent ---------------------------------------------------------
    def _count_api_transactions(self) -> None:
        """Count the transactions the API's relay sent, read back from the chain.

        The simulator's own transactions are counted as it sends them. The API
        server's are those the bridge relayed for it; on a node, every contract
        transaction in the blocks since set-up that the simulator did not send
        (plain ether transfers, 21,000 gas, are the faucet funding enterprises).
        """
        backend = self.chain.backend
        if self.bridge is not None:
            found = (backend.receipt_if_mined(h) for h in dict.fromkeys(self.bridge.relayed))
            receipts = [r for r in found if r is not None]
        else:
            receipts = [
                r
                for n in range(self._setup_block + 1, backend.block_number() + 1)
                for r in backend.receipts_in_block(n)
                if r.tx_hash not in self._own_txs and r.gas_used > 21_000
            ]
        for receipt in receipts:
            timestamp = backend.block(receipt.block_number).timestamp
            names = {e.name for e in self.deployed.attestations.decode_events(receipt)}
            if "BatchAnchored" in names:
                op = "api_anchor_signed_batch"
            elif names:
                op = "api_attest_by_sig"
            else:  # a ForwardRequest relayed (a holder's request for financing)
                op = "api_forward"
            self.metrics.transactions += 1
            self.metrics.transactions_by_day[max(0, (timestamp - self.epoch) // DAY)] += 1
            self.metrics.gas += receipt.gas_used
            self.metrics.gas_spent(op, receipt.gas_used)

    # -- the report ---------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The run's figures: deterministic on the embedded chain without the API."""
        doc = self.metrics.summary(self.config.days)
        doc["config"] = {
            "days": self.config.days,
            "enterprises": self.config.enterprises,
            "seed": self.config.seed,
            "chain": self.config.rpc or "embedded",
            "via_api": self.config.via_api,
            "adversary_rate": self.config.adversary_rate,
            "clock": "real time" if self.real_time else "moved",
        }
        doc["blocks"] = self.chain.backend.block_number()
        if self.finality is not None:
            doc["finality"] = {
                "depth": self.finality.depth,
                "settled": self.settled.settled,
                "resent_after_reorg": self.settled.resent,
            }
        doc["members"] = len(self.ledger.consortium.members()) if self.ledger else 0
        doc["enterprises_bound"] = len(self.subjects)
        if self.flows is not None:
            chains = self.flows.chains
            doc["supply_chains"] = {
                "core_enterprises": len(chains),
                "suppliers_by_tier": {
                    f"tier {t}": sum(1 for c in chains for v in c.tier.values() if v == t)
                    for t in (1, 2, 3)
                },
                "cross_city_links": sum(
                    1
                    for c in chains
                    for buyer, sellers in c.suppliers.items()
                    for s in sellers
                    if self.profiles[s].spec.city != self.profiles[buyer].spec.city
                ),
            }
        if isinstance(self.gateway, ApiGateway):
            doc["api"] = self.gateway.tally.to_dict()
        doc["adversaries"] = attacks_for(self.config.via_api)
        if self.config.credit_enterprises:
            doc["credit_decisions"] = credit_decisions(
                self.config.seed, self.config.credit_enterprises
            )
        return doc


def _next_midnight(now: int) -> int:
    """The first midnight in Shanghai after ``now``: a node's clock cannot go back to day 0."""
    return (now + 8 * 3_600) // DAY * DAY + DAY - 8 * 3_600


def run_simulation(
    config: SimulationConfig, progress: ProgressHook | None = None
) -> SimulationResult:
    """Run the scenario and, with ``config.out``, write ``summary.json`` and ``report.html``.

    At the end the auditor runs over the resulting ledger and its verdict is
    written beside the figures.
    """
    sim = Simulation(config)
    result = sim.run(progress)
    if config.audit and result.ledger is not None:
        result.audit = _audit_verdict(result.ledger, config.out / "audit" if config.out else None)
    if config.out is not None:
        doc = {**result.summary, "timing": result.timing, "audit": result.audit}
        (config.out / "summary.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        (config.out / "report.html").write_text(render_report(doc), encoding="utf-8")
    return result


def _audit_verdict(ledger: Ledger, out_dir: Path | None) -> dict[str, Any]:
    """The auditor's verdict on ``ledger``, as a simulation's summary and report show it.

    The auditor's own report (``report.json``, ``report.html``, its event index) is
    written to ``out_dir``; without one, to a temporary directory removed after.
    """
    if out_dir is None:
        with tempfile.TemporaryDirectory(prefix="credit-chain-sim-audit-") as tmp:
            result = audit_ledger(ledger, Path(tmp))
    else:
        result = audit_ledger(ledger, out_dir)
    return {
        "ok": result.ok,
        "verdict": result.report.get("verdict", "clean" if result.ok else "breaches found"),
        "breach_counts": dict(result.report.get("breach_counts", {})),
        "events": (result.report.get("totals") or {}).get("events"),
        "report": str(out_dir / "report.html") if out_dir is not None else None,
    }
