"""Supply-chain receivables (应收账款) of the simulated days.

Each core enterprise issues receivables to its tier-1 suppliers from time to
time (backed by invoice hashes, due in two weeks to two months). Suppliers
accept them, pay their own suppliers with parts of them (split down to tier 3),
and finance some parts with a bank (the holder asks, the bank finances at a
discount). At maturity the core enterprise settles every outstanding part,
each paid to its payee; a core that does not pay leaves its parts unpaid past
the 15-day grace period, and each payee marks its part overdue, which attests a
``receivable-default`` record about the core enterprise.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from eth_hash.auto import keccak

from ledger_client.contracts.receivables import invoice_commitment
from ledger_client.types import City, ReceivableId

from .flow_world import ReceivableWorld
from .world import MAX_TIER, EnterpriseProfile, SupplyChain, make_supply_chains

DAY = 86_400
#: Probability that a core enterprise issues a receivable on a given day.
ISSUE_RATE = 1 / 15
#: Days to maturity, drawn from these.
TERMS = (7, 14, 21, 30, 45, 60)
#: Probability per day that a holder pays its own supplier with part of what it holds
#: (once per part: the holder keeps the rest).
SPLIT_RATE = 0.1
#: Probability per day that a holder (not the core) asks a bank to finance a part.
FINANCE_RATE = 0.04
#: Share of financings asked of a bank in another city.
CROSS_REGION_FINANCING = 0.25
#: Days a holder's financing request (its terms) stays open to the bank.
FINANCING_REQUEST_DAYS = 7
#: Share of financing requests a bank answers the next day rather than at once.
DECIDE_NEXT_DAY = 0.3
#: A core enterprise leaves a receivable unpaid with this many times the probability it
#: misses a loan instalment (trade credit is paid after bank credit).
DEFAULT_PROPENSITY = 2.0
#: Probability a supplier rejects a receivable issued to it.
REJECT_RATE = 0.03
#: Days after the due date a payee marks an unpaid part overdue (the grace period is 15).
DEFAULT_AFTER_DAYS = 15
#: Gas money an enterprise account is given when it first acts (development chains).
ENTERPRISE_FUNDING_WEI = 10**18
#: Smallest part worth splitting, fen.
_MIN_SPLIT_FEN = 20_000_00


@dataclass(frozen=True)
class Deciding:
    """A holder's request for financing its bank has yet to answer (on these terms)."""

    issue: Issue
    part: Part
    bank: str
    advance_fen: int
    discount_bps: int


@dataclass
class Part:
    """A part of a receivable as the simulation tracks it."""

    id: ReceivableId
    holder: str  # keyring label of the holding enterprise
    tier: int  # the holder's tier in the receivable's supply chain
    amount: int  # fen
    status: str = "active"  # active, requested (the bank decides tomorrow), financed, paid, overdue
    financier: str | None = None  # bank label when financed
    split: bool = False  # the holder has passed part of it on


@dataclass
class Issue:
    """An issued receivable and its parts."""

    root: ReceivableId
    chain: SupplyChain
    due: int  # UNIX seconds
    due_day: int  # the simulated day it matures
    defaults: bool  # the core will not pay it
    invoices: tuple[bytes, ...]  # the invoice commitments it was issued against
    parts: list[Part] = field(default_factory=list)


class ReceivableFlows:
    """The receivables side of the scenario, driven day by day by :class:`Simulation`."""

    def __init__(self, sim: ReceivableWorld) -> None:
        self.sim = sim
        self.rng = random.Random(f"{sim.config.seed}:receivables")
        self.chains = make_supply_chains(
            random.Random(f"{sim.config.seed}:supply-chains"), sim.population
        )
        self.active: list[Issue] = []  # issued and accepted, not yet matured
        self.maturing: dict[int, list[Issue]] = {}
        self.defaulting: dict[int, list[tuple[Issue, Part]]] = {}
        self.recent: deque[Issue] = deque(maxlen=32)  # material for the adversaries
        # Requests a bank answers the next day: day -> (issue, part, bank, advance, bps).
        self.deciding: dict[int, list[Deciding]] = {}
        # Its own stream, so that the banks' pace leaves every other draw of a seed as it was.
        self.decide_rng = random.Random(f"{sim.config.seed}:financing-decisions")
        self.funded: set[str] = set()
        self._issued = 0

    # -- helpers --------------------------------------------------------------------
    def acting(self, label: str) -> str:
        """The enterprise ``label``, its account given gas money the first time it acts."""
        if label not in self.funded:
            address = self.sim.ring.account(label).address
            self.sim.deployed.chain.fund(address, ENTERPRISE_FUNDING_WEI)
            self.funded.add(label)
            self.sim.metrics.enterprises_funded += 1
        return label

    def profile(self, label: str) -> EnterpriseProfile:
        """The enterprise called ``label``."""
        return self.sim.profiles[label]

    def requested_parts(self, day: int) -> list[Deciding]:
        """Parts whose holder's request (on its terms) the bank answers tomorrow."""
        return list(self.deciding.get(day + 1, []))

    def financed_parts(self, day: int) -> list[tuple[Issue, Part]]:
        """Financed parts still before maturity (material for a double financing)."""
        return [
            (issue, part)
            for issue in self.active
            if issue.due_day > day
            for part in issue.parts
            if part.status == "financed"
        ]

    # -- each day -------------------------------------------------------------------
    def play(self, day: int) -> None:
        """Settle what matures, mark what defaulted, issue, then move and finance parts.

        On a chain keeping wall-clock time nothing matures within a run (the shortest
        term is days of real time, and the contract settles only at the due date), so
        only issuing, splitting and financing are played."""
        if not self.sim.real_time:
            self._mature(day)
            self._default(day)
        self._decide(day)
        for chain in self.chains:
            if chain.suppliers.get(chain.core) and self.rng.random() < ISSUE_RATE:
                self._issue(chain, day)
        for issue in list(self.active):
            if issue.due_day <= day:
                continue
            for part in list(issue.parts):
                if part.status == "active":
                    self._maybe_split(issue, part)
            for part in list(issue.parts):
                if part.status == "active" and self.rng.random() < FINANCE_RATE:
                    self._finance(issue, part, day)

    def _issue(self, chain: SupplyChain, day: int) -> None:
        sim = self.sim
        metrics = sim.metrics
        supplier = self.rng.choice(chain.suppliers[chain.core])
        core = self.profile(chain.core)
        self._issued += 1
        face = self.rng.randint(50, 2_000) * 1_000_000  # ¥0.5 million to ¥20 million
        term = self.rng.choice(TERMS)
        due = sim.morning(day + term)
        seed = sim.config.seed
        # The core commits to each invoice with a salt it keeps (seeded, so runs repeat).
        invoices = tuple(
            invoice_commitment(
                keccak(f"VAT invoice {seed}-{self._issued}-{n}".encode()),
                keccak(f"invoice salt {seed}-{self._issued}-{n}".encode()),
            )
            for n in range(self.rng.randint(1, 3))
        )
        root = sim.writes.issue_receivable(
            self.acting(chain.core),
            supplier,
            face,
            due,
            contract_hash=keccak(f"purchase contract {seed}-{self._issued}".encode()),
            invoices=list(invoices),
        )
        r = metrics.receivables
        r.issued += 1
        r.issued_fen += face
        r.issued_by_day[day] += 1
        issue = Issue(
            root,
            chain,
            due,
            day + term,
            self.rng.random() < DEFAULT_PROPENSITY * (1 - core.reliability),
            invoices,
        )
        self.recent.append(issue)
        holder = self.acting(supplier)
        if self.rng.random() < REJECT_RATE:
            sim.writes.reject_receivable(holder, issue.root, list(invoices))
            r.rejected += 1
            return
        sim.writes.accept_receivable(holder, issue.root)
        r.accepted += 1
        issue.parts.append(Part(issue.root, supplier, 1, face))
        self.active.append(issue)
        self.maturing.setdefault(issue.due_day, []).append(issue)

    def _maybe_split(self, issue: Issue, part: Part) -> None:
        downstream = issue.chain.suppliers.get(part.holder, ())
        if (
            part.tier >= MAX_TIER
            or part.split
            or not downstream
            or part.amount < 2 * _MIN_SPLIT_FEN
            or self.rng.random() >= SPLIT_RATE
        ):
            return
        sim = self.sim
        to = self.rng.choice(downstream)
        amount = max(_MIN_SPLIT_FEN, part.amount * self.rng.randint(20, 60) // 100 // 100 * 100)
        child = sim.writes.split_receivable(self.acting(part.holder), part.id, to, amount)
        part.amount -= amount
        part.split = True
        tier = part.tier + 1
        issue.parts.append(Part(child, to, tier, amount))
        sim.metrics.receivables.splits += 1
        sim.metrics.receivables.split_fen_by_tier[tier] += amount

    def _bank_for(self, holder: EnterpriseProfile) -> str | None:
        home = holder.lender or holder.spec.city
        if self.rng.random() < CROSS_REGION_FINANCING:
            home = self.rng.choice([c for c in City if c != home])
        bank = f"bank:{home.name.lower()}"
        return None if bank == self.sim.suspended() else bank

    def _finance(self, issue: Issue, part: Part, day: int) -> None:
        sim = self.sim
        holder = self.profile(part.holder)
        bank = self._bank_for(holder)
        if bank is None:
            return  # that bank is suspended: ask again another day
        metrics = sim.metrics
        discount_bps = 350 + 50 * part.tier + self.rng.randint(0, 150)
        days_left = issue.due_day - day
        advance = part.amount - part.amount * discount_bps * days_left // (10_000 * 360)
        # The holder asks for the bank's quoted terms, good for a week (not past maturity).
        sim.writes.request_financing(
            self.acting(part.holder),
            part.id,
            bank,
            min_advance_fen=advance,
            max_discount_bps=discount_bps,
            expires_at=min(sim.morning(day + FINANCING_REQUEST_DAYS), issue.due),
        )
        metrics.receivables.financing_requests += 1
        if issue.due_day > day + 1 and self.decide_rng.random() < DECIDE_NEXT_DAY:
            part.status = "requested"
            self.deciding.setdefault(day + 1, []).append(
                Deciding(issue, part, bank, advance, discount_bps)
            )
            return
        self._advance(Deciding(issue, part, bank, advance, discount_bps), day)

    def _decide(self, day: int) -> None:
        """Banks finance, on the holder's terms, what they were asked yesterday."""
        for asked in self.deciding.pop(day, []):
            if asked.bank == self.sim.suspended():
                asked.part.status = "active"  # the holder may ask again another day
                continue
            self._advance(asked, day)

    def _advance(self, asked: Deciding, day: int) -> None:
        sim, part, bank = self.sim, asked.part, asked.bank
        holder = self.profile(part.holder)
        advance, discount_bps = asked.advance_fen, asked.discount_bps
        metrics = sim.metrics
        sim.writes.finance_receivable(bank, part.id, advance, discount_bps)
        part.status, part.financier = "financed", bank
        r = metrics.receivables
        r.financed[part.tier] += 1
        r.financed_fen[part.tier] += advance
        r.financed_fen_by_day[day] += advance
        if sim.city_of(bank) != holder.spec.city.label:
            r.financed_cross_region += 1

    def _mature(self, day: int) -> None:
        sim = self.sim
        for issue in self.maturing.pop(day, []):
            self.active.remove(issue)
            outstanding = [p for p in issue.parts if p.status in ("active", "financed")]
            if issue.defaults:
                for part in outstanding:
                    self.defaulting.setdefault(day + DEFAULT_AFTER_DAYS, []).append((issue, part))
                continue
            sim.writes.settle_receivables(
                self.acting(issue.chain.core), [p.id for p in outstanding]
            )
            r = sim.metrics.receivables
            for part in outstanding:
                part.status = "paid"
                r.settled_parts += 1
                r.settled_fen += part.amount

    def _default(self, day: int) -> None:
        sim = self.sim
        for issue, part in self.defaulting.pop(day, []):
            payee = part.financier or part.holder
            if payee == sim.suspended():
                # A suspended bank cannot mark it yet; it will the day after.
                self.defaulting.setdefault(day + 1, []).append((issue, part))
                continue
            sim.writes.mark_overdue(payee if part.financier else self.acting(payee), part.id)
            part.status = "overdue"
            r = sim.metrics.receivables
            r.defaults += 1
            r.defaulted_fen += part.amount
            r.defaults_by_day[day] += 1
            r.defaulted_debtors.add(issue.chain.core)
            sim.metrics.record("receivable-default", sim.receivables_city, day, 1, batched=False)
