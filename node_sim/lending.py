"""Lending of the simulated days: joint credit agreements and loans secured by pledges.

- **Syndicated loans** (联合授信 / 银团贷款) to large sci-tech enterprises: a lead bank of
  the enterprise's own (or its lender's) city and one to three banks of other cities each
  record a facility, the lead proposes the joint agreement with the joint limit and the
  shares, the participants join, and the enterprise accepts it by signature (relayed by
  the lead). The banks draw and are repaid over the agreement's term, each within its
  share; now and then a participant reports an overdue, which flags the agreement and
  stops the participants' draws until the lead clears it. At the term's end the balances
  are repaid, the facilities closed and the lead ends the agreement.
- **IP-pledge loans** (知识产权质押) to growth-stage firms: a patent (or now and then a
  trademark) pledged with the pledgor's signed consent, a loan facility secured by the
  pledge, drawn at once and repaid in instalments, closed and the pledge released once
  repaid. Equity and movable-goods pledges (several ranked pledges on one lot of goods)
  secure loans the same way, less often.
- **Receivable pledges** (应收账款质押): a supplier pledges a receivable part it holds
  (not financed) to a bank for a loan; the loan is repaid and the pledge released before
  the part matures, so the debtor settles it as usual.

Every draw of a joint agreement's participants keeps the joint exposure within the
joint limit (the red team tries to pass it). Every figure comes from this flow's own
random stream: the other flows draw what they drew without it, and a seed repeats.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from eth_hash.auto import keccak

from ledger_client.lending import (
    CollateralKind,
    FacilityKind,
    PledgeTerms,
    equity_key,
    ip_key,
    movable_key,
)
from ledger_client.types import City, Hash32

from .flow_world import LendingWorld
from .supply_chain import Issue, Part, ReceivableFlows
from .world import EnterpriseProfile

#: Probability per day that a new joint agreement is arranged (while fewer than the most).
SYNDICATE_RATE = 1 / 4
MAX_AGREEMENTS = 5
#: Probability per day of a new IP-pledge loan, and of a loan against equity or goods.
IP_LOAN_RATE = 1 / 4
OTHER_LOAN_RATE = 1 / 10
MAX_SECURED_LOANS = 16
#: Probability per day that a supplier pledges a receivable part for a loan.
RECEIVABLE_PLEDGE_RATE = 1 / 5
MAX_RECEIVABLE_PLEDGES = 8
#: A joint agreement's term, days: drawn and repaid meanwhile, wound down after.
TERM_DAYS = (24, 48)
#: Days between a participant's draws, and between its repayments.
DRAW_EVERY = 6
REPAY_EVERY = 9
#: Probability that a participant will report an overdue during an agreement's term.
OVERDUE_RATE = 0.6
#: Days into the term by which that overdue is reported (at the latest).
OVERDUE_WITHIN = 12
#: Days the lead takes to clear the flag an overdue raised.
CLEAR_AFTER = (2, 6)
#: Days between a secured loan's instalments (three repay it).
INSTALMENT_EVERY = 5
INSTALMENTS = 3
#: Share of a movable-goods lot a second bank takes a ranked pledge on.
SECOND_RANK_RATE = 0.4
#: A receivable's pledge is unwound this many days before the part's due date.
UNWIND_BEFORE_DUE = 2
#: Shortest days to maturity of a part worth pledging.
MIN_DAYS_TO_DUE = 6
_YUAN_MILLION = 100_000_000  # fen


def bank_of(city: City) -> str:
    """The keyring label of ``city``'s bank."""
    return f"bank:{city.name.lower()}"


@dataclass
class Line:
    """A facility as the lending flows track it."""

    bank: str
    enterprise: str
    subject: bytes
    contract_hash: bytes
    limit: int  # fen
    drawn: int = 0  # fen outstanding
    closed: bool = False


@dataclass
class Syndicate:
    """A joint credit agreement and its participants' facilities."""

    number: int
    enterprise: str
    subject: bytes
    lead: str
    banks: list[str]  # the lead first
    shares_bps: list[int]
    joint_limit: int  # fen
    lines: dict[str, Line]
    started: int  # day
    ends: int  # day the wind-down starts
    reporter: str | None  # the participant that will report an overdue
    overdue_day: int | None
    flagged: dict[str, object] | None = None  # the flag raised, until cleared
    clear_on: int = 0
    ended: bool = False

    def allocation(self, bank: str) -> int:
        """What ``bank`` lends at most under the agreement: its share of the joint limit."""
        return self.joint_limit * self.shares_bps[self.banks.index(bank)] // 10_000

    def joint(self) -> int:
        """The participants' balances with the enterprise: the joint exposure."""
        return sum(line.drawn for line in self.lines.values())

    def winding_down(self, day: int) -> bool:
        """Whether the term is over (nothing more is drawn)."""
        return day >= self.ends

    def banks_acting(self, suspended: str | None) -> list[str]:
        """The participants that may write today (not the suspended one)."""
        return [b for b in self.banks if b != suspended]


@dataclass
class SecuredLoan:
    """A loan facility secured by one pledge in the collateral registry."""

    kind: CollateralKind
    key: Hash32
    pledge_id: Hash32
    secured_fen: int
    line: Line
    next_repay: int  # day
    instalment: int = 0  # fen
    released: bool = False
    part: Part | None = None  # a receivable pledged
    issue: Issue | None = None
    unwind_day: int = 0  # a receivable's loan: repaid and released by this day

    @property
    def exclusive(self) -> bool:
        """Whether the asset backs one pledge at a time (all but movable goods)."""
        return self.kind.exclusive


@dataclass
class LendingBook:
    """Everything the lending flows made, for the red team to aim at."""

    syndicates: list[Syndicate] = field(default_factory=list)
    loans: list[SecuredLoan] = field(default_factory=list)


class LendingFlows:
    """The lending side of the scenario, driven day by day by :class:`Simulation`."""

    def __init__(self, sim: LendingWorld, receivables: ReceivableFlows) -> None:
        self.sim = sim
        self.receivables = receivables
        self.rng = random.Random(f"{sim.config.seed}:lending")
        self.book = LendingBook()
        large = [e for e in sim.population if e.size == "large"]
        self.large = large
        # Growth-stage firms hold the IP; medium ones pledge equity and goods too.
        self.growth = [e for e in sim.population if e.size in ("small", "medium")]
        self.syndicated: set[str] = set()
        self.borrowing: set[str] = set()  # growth firms with a secured loan running
        self.day = 0
        self._made = 0

    # -- helpers --------------------------------------------------------------------
    def _next(self) -> int:
        self._made += 1
        return self._made

    def _contract(self, what: str) -> bytes:
        return keccak(f"{what} credit contract {self.sim.config.seed}-{self._next()}".encode())

    def _city(self, label: str) -> str:
        """The city of a bank or an enterprise, from its label."""
        ent = self.sim.profiles.get(label)
        return ent.spec.city.label if ent is not None else self.sim.city_of(label)

    def _lent(self, line: Line, fen: int) -> None:
        self.sim.metrics.lending.lent(self._city(line.enterprise), self._city(line.bank), fen)

    def _draw(self, line: Line, amount: int) -> None:
        if amount <= 0:
            return
        self.sim.writes.draw(line.bank, line.subject, line.contract_hash, amount)
        line.drawn += amount
        self._lent(line, amount)

    def _repay(self, line: Line, amount: int) -> None:
        amount = min(amount, line.drawn)
        if amount <= 0:
            return
        self.sim.writes.repay(line.bank, line.subject, line.contract_hash, amount)
        line.drawn -= amount
        self._lent(line, -amount)

    def _close(self, line: Line) -> None:
        self._repay(line, line.drawn)
        self.sim.writes.close_facility(line.bank, line.subject, line.contract_hash)
        line.closed = True
        self.sim.metrics.lending.facilities_closed += 1

    def _register(
        self,
        bank: str,
        *,
        enterprise: str,
        kind: FacilityKind,
        limit: int,
        expiry: int,
        pledges: list[Hash32],
        what: str,
    ) -> Line:
        subject = self.sim.subjects[enterprise]
        contract = self._contract(what)
        self.sim.writes.register_facility(
            bank, subject, contract, kind=kind, limit=limit, expiry=expiry, pledge_ids=pledges
        )
        self.sim.metrics.lending.facilities[kind.name.lower()] += 1
        return Line(bank, enterprise, subject, contract, limit)

    def _pledge(self, bank: str, pledgor: str, terms: PledgeTerms) -> Hash32:
        pid = self.sim.writes.pledge(bank, pledgor, terms)
        n = self.sim.metrics.lending
        n.pledges[terms.kind.name.lower()] += 1
        n.secured_fen[terms.kind.name.lower()] += terms.secured_amount
        return pid

    def _bank_near(self, ent: EnterpriseProfile) -> str | None:
        """The bank of the enterprise's lender's city (its own city's when it has none);
        None while that bank is suspended."""
        bank = bank_of(ent.lender or ent.spec.city)
        return None if bank == self.sim.suspended() else bank

    # -- what the red team aims at ------------------------------------------------------
    def live_syndicates(self, suspended: str | None) -> list[Syndicate]:
        """Agreements in force, not flagged, still drawn, with two participants able to act."""
        return [
            s
            for s in self.book.syndicates
            if not s.ended
            and s.flagged is None
            and not s.winding_down(self.day)
            and len(s.banks_acting(suspended)) >= 2
        ]

    def pledged(self) -> list[SecuredLoan]:
        """Secured loans whose pledge is in force today (not released, not lapsed)."""
        return [
            loan
            for loan in self.book.loans
            if not loan.released and (loan.part is None or loan.part.status == "pledged")
        ]

    # -- each day -------------------------------------------------------------------
    def play(self, day: int) -> None:
        """Clear flags, report overdues, draw and repay, wind down; then arrange new
        agreements and loans."""
        self.day = day
        for s in self.book.syndicates:
            if not s.ended:
                self._syndicate_day(s, day)
        for loan in self.book.loans:
            if not loan.released:
                self._loan_day(loan, day)
        rng = self.rng
        if len(self.book.syndicates) < MAX_AGREEMENTS and rng.random() < SYNDICATE_RATE:
            self._arrange_syndicate(day)
        secured = sum(1 for loan in self.book.loans if loan.part is None)
        if secured < MAX_SECURED_LOANS and rng.random() < IP_LOAN_RATE:
            ip = CollateralKind.TRADEMARK if rng.random() < 0.2 else CollateralKind.PATENT
            self._secured_loan(day, ip)
        if secured < MAX_SECURED_LOANS and rng.random() < OTHER_LOAN_RATE:
            other = CollateralKind.EQUITY if rng.random() < 0.5 else CollateralKind.MOVABLE
            self._secured_loan(day, other)
        parts = len(self.book.loans) - secured
        if parts < MAX_RECEIVABLE_PLEDGES and rng.random() < RECEIVABLE_PLEDGE_RATE:
            self._receivable_loan(day)

    # -- joint agreements -------------------------------------------------------------
    def _arrange_syndicate(self, day: int) -> None:
        rng, sim = self.rng, self.sim
        candidates = [e for e in self.large if e.spec.label not in self.syndicated]
        if not candidates:
            return
        ent = rng.choice(candidates)
        lead = bank_of(ent.lender or ent.spec.city)
        others = sorted(bank_of(c) for c in City if bank_of(c) != lead)
        banks = [lead, *rng.sample(others, rng.randint(1, 3))]
        joint_limit = rng.randint(20, 100) * 10 * _YUAN_MILLION  # ¥200 million to ¥1 billion
        lead_share = rng.randint(35, 60) * 100
        rest = 10_000 - lead_share
        shares = [lead_share]
        for i in range(len(banks) - 2):
            share = rest // (len(banks) - 1 - i) // 100 * 100
            shares.append(share)
            rest -= share
        shares.append(rest)
        term = rng.randint(*TERM_DAYS)
        reporter = rng.choice(banks[1:]) if rng.random() < OVERDUE_RATE else None
        overdue_day = day + rng.randint(2, OVERDUE_WITHIN) if reporter else None
        if sim.suspended() in banks:
            return  # arranged another day, with whoever is in good standing then
        label = ent.spec.label
        self.syndicated.add(label)
        # Each bank's facility may go past its share: what binds them together is the
        # joint limit, which the chain enforces across the lenders.
        expiry = sim.morning(day + term + 10)
        lines = {
            b: self._register(
                b,
                enterprise=label,
                kind=FacilityKind.LOAN,
                limit=joint_limit * 11 // 10,
                expiry=expiry,
                pledges=[],
                what="syndicated",
            )
            for b in banks
        }
        subject = sim.subjects[label]
        number = sim.writes.propose_agreement(lead, subject, joint_limit, banks, shares)
        for b in banks[1:]:
            sim.writes.join_agreement(b, number)
        sim.writes.accept_agreement(lead, label, number)
        s = Syndicate(
            number,
            label,
            subject,
            lead,
            banks,
            shares,
            joint_limit,
            lines,
            day,
            day + term,
            reporter,
            overdue_day,
        )
        self.book.syndicates.append(s)
        n = sim.metrics.lending
        n.agreements += 1
        n.joint_limit_fen += joint_limit
        for b in banks:  # the first tranche: 30 to 60 % of each share
            self._draw(lines[b], s.allocation(b) * rng.randint(30, 60) // 100)

    def _syndicate_day(self, s: Syndicate, day: int) -> None:
        sim, rng = self.sim, self.rng
        suspended = sim.suspended()
        if s.flagged is not None and day >= s.clear_on and s.lead != suspended:
            sim.writes.clear_flag(s.lead, s.number)
            s.flagged["cleared_day"] = day
            s.flagged = None
        if s.overdue_day is not None and day >= s.overdue_day and s.reporter is not None:
            line = s.lines[s.reporter]
            if s.reporter != suspended and line.drawn > 0 and not line.closed:
                amount = max(1, line.drawn * rng.randint(5, 20) // 100)
                days = rng.randint(1, 90)
                sim.writes.report_overdue(s.reporter, s.subject, line.contract_hash, amount, days)
                sim.metrics.lending.overdues += 1
                s.overdue_day = None
                if s.flagged is None:
                    flag: dict[str, object] = {
                        "agreement": s.number,
                        "enterprise_city": self._city(s.enterprise),
                        "lead": s.lead,
                        "reporter": s.reporter,
                        "flagged_day": day,
                        "cleared_day": None,
                    }
                    s.flagged = flag
                    s.clear_on = day + rng.randint(*CLEAR_AFTER)
                    sim.metrics.lending.flags.append(flag)
        if s.winding_down(day):
            self._wind_down(s, suspended)
            return
        age = day - s.started
        for b in s.banks_acting(suspended):
            line = s.lines[b]
            if age and age % REPAY_EVERY == 0:
                self._repay(line, line.drawn * rng.randint(10, 30) // 100)
            if age and age % DRAW_EVERY == 0 and s.flagged is None:
                room = min(s.allocation(b) - line.drawn, s.joint_limit - s.joint())
                self._draw(line, room * rng.randint(20, 50) // 100)

    def _wind_down(self, s: Syndicate, suspended: str | None) -> None:
        for b in s.banks_acting(suspended):
            line = s.lines[b]
            if not line.closed:
                self._close(line)
        if s.flagged is None and s.lead != suspended and all(x.closed for x in s.lines.values()):
            self.sim.writes.end_agreement(s.lead, s.number)
            s.ended = True
            self.sim.metrics.lending.agreements_ended += 1

    # -- secured loans ------------------------------------------------------------------
    def _collateral_key(self, kind: CollateralKind, ent: EnterpriseProfile) -> Hash32:
        rng, seed, n = self.rng, self.sim.config.seed, self._next()
        if kind is CollateralKind.PATENT:
            return ip_key("CNIPA", f"ZL{rng.randint(2018, 2025)}1{seed:03d}{n:05d}.{n % 10}")
        if kind is CollateralKind.TRADEMARK:
            return ip_key("CNIPA", f"TM{seed:04d}{n:06d}")
        if kind is CollateralKind.EQUITY:
            company = rng.choice(self.sim.population).spec.label
            return equity_key(
                self.sim.subjects[company], keccak(f"share register {seed}-{n}".encode())
            )
        return movable_key(keccak(f"warehouse receipt {seed}-{n} {ent.spec.label}".encode()))

    def _secured_loan(self, day: int, kind: CollateralKind) -> None:
        rng, sim = self.rng, self.sim
        candidates = [e for e in self.growth if e.spec.label not in self.borrowing]
        if not candidates:
            return
        ent = rng.choice(candidates)
        key = self._collateral_key(kind, ent)
        secured = rng.randint(5, 50) * _YUAN_MILLION  # ¥5 to ¥50 million
        bank = self._bank_near(ent)
        if bank is None:
            return
        self._open_secured(day, kind=kind, key=key, secured=secured, bank=bank, ent=ent)
        if kind is CollateralKind.MOVABLE and rng.random() < SECOND_RANK_RATE:
            # A second bank lends against the same goods, ranked after the first.
            second = bank_of(rng.choice([c for c in City if bank_of(c) != bank]))
            if second != sim.suspended():
                self._open_secured(
                    day, kind=kind, key=key, secured=secured // 2, bank=second, ent=ent
                )

    def _open_secured(
        self,
        day: int,
        *,
        kind: CollateralKind,
        key: Hash32,
        secured: int,
        bank: str,
        ent: EnterpriseProfile,
    ) -> None:
        sim, rng = self.sim, self.rng
        label = ent.spec.label
        self.borrowing.add(label)
        terms = PledgeTerms(kind, key, secured, sim.morning(day + 120))
        pid = self._pledge(bank, label, terms)
        line = self._register(
            bank,
            enterprise=label,
            kind=FacilityKind.LOAN,
            limit=secured * 6 // 10,
            expiry=sim.morning(day + 90),
            pledges=[pid],
            what=kind.name.lower(),
        )
        loan = SecuredLoan(kind, key, pid, secured, line, day + INSTALMENT_EVERY)
        self.book.loans.append(loan)
        self._draw(line, line.limit * rng.randint(60, 100) // 100)
        loan.instalment = -(-line.drawn // INSTALMENTS)

    def _receivable_loan(self, day: int) -> None:
        sim, rng = self.sim, self.rng
        candidates = [
            (issue, part)
            for issue in self.receivables.active
            if issue.due_day >= day + MIN_DAYS_TO_DUE
            for part in issue.parts
            if part.status == "active"
        ]
        if not candidates:
            return
        issue, part = rng.choice(candidates)
        bank = self._bank_near(sim.profiles[part.holder])
        if bank is None:
            return
        terms = PledgeTerms(
            CollateralKind.RECEIVABLE,
            Hash32(bytes(part.id)),
            part.amount,
            sim.morning(issue.due_day - 1),
        )
        pid = self._pledge(bank, part.holder, terms)
        part.status = "pledged"
        line = self._register(
            bank,
            enterprise=part.holder,
            kind=FacilityKind.LOAN,
            limit=part.amount * 7 // 10,
            expiry=sim.morning(issue.due_day),
            pledges=[pid],
            what="receivable",
        )
        loan = SecuredLoan(
            CollateralKind.RECEIVABLE,
            terms.key,
            pid,
            part.amount,
            line,
            issue.due_day - UNWIND_BEFORE_DUE,
            part=part,
            issue=issue,
            unwind_day=issue.due_day - UNWIND_BEFORE_DUE,
        )
        self.book.loans.append(loan)
        self._draw(line, line.limit)
        loan.instalment = line.drawn

    def _loan_day(self, loan: SecuredLoan, day: int) -> None:
        sim = self.sim
        line = loan.line
        lapsed = loan.issue is not None and day >= loan.issue.due_day - 1 and not sim.real_time
        if lapsed and loan.part is not None and loan.part.status == "pledged":
            loan.part.status = "active"  # the pledge lapsed: the part settles as usual
        if line.bank == sim.suspended() or day < loan.next_repay:
            return
        if not line.closed:
            self._repay(line, loan.instalment)
            loan.next_repay = day + INSTALMENT_EVERY
            if line.drawn:
                return
            self._close(line)
        sim.writes.release_pledge(line.bank, loan.pledge_id)
        loan.released = True
        sim.metrics.lending.releases += 1
        if loan.part is not None and loan.part.status == "pledged":
            loan.part.status = "active"
        if loan.part is None and not any(
            x.line.enterprise == line.enterprise and not x.released for x in self.book.loans
        ):
            self.borrowing.discard(line.enterprise)
