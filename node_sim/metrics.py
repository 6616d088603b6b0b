"""What a simulation counts, and the summary it writes."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

#: Financing volume is reported per supplier tier; the core's own suppliers are tier 1.
TIERS = (1, 2, 3)


@dataclass
class AttackTally:
    """Attempts of one attack class, and how each ended."""

    door: str = ""  # "chain", "api" or "client": where the attack was sent
    attempted: int = 0
    refused: int = 0  # refused by a named error the chain or the API raised
    unexpected: int = 0  # of those, refused by a name other than the class's own
    succeeded: int = 0  # the system let it through: a breach
    errors: Counter[str] = field(default_factory=Counter)  # error name -> count


@dataclass
class ConsentTally:
    """Authorisations, queries, shared reports."""

    authorisations: Counter[str] = field(default_factory=Counter)  # purpose -> granted
    withdrawals: int = 0
    queries: int = 0
    queries_cross_region: int = 0  # the querying bank's city is not the enterprise's
    queries_by_purpose: Counter[str] = field(default_factory=Counter)
    queries_by_city_day: dict[str, Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter)
    )  # querying bank's city -> day -> queries
    cross_region_by_day: Counter[int] = field(default_factory=Counter)
    reports_shared: int = 0
    reports_verified: int = 0  # opened by the recipient and matched to the attestation
    ratings_attested: int = 0


@dataclass
class DisputeTally:
    """Disputes (异议) and how they were answered."""

    raised: int = 0
    raised_by_schema: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    upheld: int = 0
    resolved_late: int = 0  # resolved at or after the 20-day deadline (the chain's ``late`` flag)
    open_overdue: int = 0  # still open past the deadline when the run ended (the chain's view)
    resolution_days: list[float] = field(default_factory=list)  # raised -> resolved, chain time
    raised_by_day: Counter[int] = field(default_factory=Counter)
    resolved_by_day: Counter[int] = field(default_factory=Counter)
    complaints: int = 0  # complaints to the regulator after a rejection (投诉, art. 26)
    complaints_upheld: int = 0  # the regulator revoked the record
    complaints_rejected: int = 0  # the regulator found the record stands


@dataclass
class ReceivableTally:
    """Receivables down the supply chains."""

    issued: int = 0
    issued_fen: int = 0
    accepted: int = 0
    rejected: int = 0
    splits: int = 0
    split_fen_by_tier: Counter[int] = field(default_factory=Counter)  # to the recipient's tier
    financing_requests: int = 0
    financed: Counter[int] = field(default_factory=Counter)  # holder's tier -> financings
    financed_fen: Counter[int] = field(default_factory=Counter)  # holder's tier -> advanced, fen
    financed_cross_region: int = 0  # the bank's city is not the holder's
    settled_parts: int = 0
    settled_fen: int = 0
    defaults: int = 0  # parts marked overdue: a receivable-default attested about the debtor
    defaulted_fen: int = 0
    defaults_by_day: Counter[int] = field(default_factory=Counter)
    defaulted_debtors: set[str] = field(default_factory=set)
    issued_by_day: Counter[int] = field(default_factory=Counter)
    financed_fen_by_day: Counter[int] = field(default_factory=Counter)


@dataclass
class LendingTally:
    """Pledges, facilities and joint agreements (联合授信)."""

    agreements: int = 0  # joint agreements in force (proposed, joined, accepted)
    agreements_ended: int = 0
    joint_limit_fen: int = 0  # summed over the agreements
    #: each flag an overdue raised: agreement, enterprise city, lead, reporter, days flagged
    flags: list[dict[str, Any]] = field(default_factory=list)
    facilities: Counter[str] = field(default_factory=Counter)  # facility kind -> registered
    facilities_closed: int = 0
    drawn_fen: int = 0
    repaid_fen: int = 0
    overdues: int = 0
    pledges: Counter[str] = field(default_factory=Counter)  # collateral kind -> registered
    secured_fen: Counter[str] = field(default_factory=Counter)  # collateral kind -> fen
    releases: int = 0
    #: the enterprise's city -> the lender's city -> fen outstanding now
    exposure: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def lent(self, enterprise_city: str, lender_city: str, fen: int) -> None:
        """Note ``fen`` drawn (negative: repaid) by an enterprise of one city from a lender
        of another (or the same)."""
        self.exposure[enterprise_city][lender_city] += fen
        if fen > 0:
            self.drawn_fen += fen
        else:
            self.repaid_fen -= fen


@dataclass
class Metrics:
    """Counters of a run. Only what the chain or the API actually did is counted."""

    transactions: int = 0
    gas: int = 0
    gas_by_operation: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    records_single: int = 0
    records_batched: int = 0
    batches: int = 0
    records_by_schema: Counter[str] = field(default_factory=Counter)
    records_by_city_day: dict[str, Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    attacks: dict[str, AttackTally] = field(default_factory=lambda: defaultdict(AttackTally))
    faults: list[dict[str, Any]] = field(default_factory=list)
    deferred_records: int = 0  # records a suspended member held back until reinstated
    day: int = 0  # the simulated day now being played
    transactions_by_day: Counter[int] = field(default_factory=Counter)
    consent: ConsentTally = field(default_factory=ConsentTally)
    disputes: DisputeTally = field(default_factory=DisputeTally)
    receivables: ReceivableTally = field(default_factory=ReceivableTally)
    lending: LendingTally = field(default_factory=LendingTally)
    channels: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    enterprises_funded: int = 0

    def gas_spent(self, operation: str, gas: int) -> None:
        """Note the gas of one operation."""
        self.gas_by_operation[operation].append(gas)

    def went(self, operation: str, channel: str, count: int = 1) -> None:
        """Note that ``count`` operations went to the chain directly or through the API."""
        self.channels[operation][channel] += count

    def record(
        self,
        schema: str,
        city: str,
        day: int,
        count: int,
        batched: bool,
        *,
        new_batch: bool = True,
    ) -> None:
        """Note ``count`` records of ``schema`` written by a member of ``city`` on ``day``.

        ``new_batch`` is False for records of a batch already counted (the API's
        worker may fold several members' records into one batch).
        """
        if batched:
            self.records_batched += count
            self.batches += int(new_batch)
        else:
            self.records_single += count
        self.records_by_schema[schema] += count
        self.records_by_city_day[city][day] += count

    def query(self, bank_city: str, enterprise_city: str, purpose: str, day: int) -> None:
        """Note one logged query (查询留痕)."""
        c = self.consent
        c.queries += 1
        c.queries_by_purpose[purpose] += 1
        c.queries_by_city_day[bank_city][day] += 1
        if bank_city != enterprise_city:
            c.queries_cross_region += 1
            c.cross_region_by_day[day] += 1

    def summary(self, days: int) -> dict[str, Any]:
        """The deterministic figures of the run (no timings) over ``days`` days."""
        return {
            "transactions": self.transactions,
            "gas": self.gas,
            "records": {
                "total": self.records_single + self.records_batched,
                "single": self.records_single,
                "batched": self.records_batched,
                "batches": self.batches,
                "by_schema": dict(sorted(self.records_by_schema.items())),
                "by_city": {
                    city: sum(days.values())
                    for city, days in sorted(self.records_by_city_day.items())
                },
                "deferred_while_suspended": self.deferred_records,
                "by_city_day": {
                    city: [days_[d] for d in range(days)]
                    for city, days_ in sorted(self.records_by_city_day.items())
                },
            },
            "transactions_by_day": [self.transactions_by_day[d] for d in range(days)],
            "gas_per_operation": {
                op: round(sum(v) / len(v)) for op, v in sorted(self.gas_by_operation.items()) if v
            },
            "operations": {op: len(v) for op, v in sorted(self.gas_by_operation.items())},
            "consent": self._consent(days),
            "disputes": self._disputes(days),
            "receivables": self._receivables(days),
            "lending": self._lending(),
            "attacks": {
                kind: {
                    "door": t.door,
                    "attempted": t.attempted,
                    "refused": t.refused,
                    "refused_unexpectedly": t.unexpected,
                    "succeeded": t.succeeded,
                    "errors": dict(sorted(t.errors.items())),
                }
                for kind, t in sorted(self.attacks.items())
            },
            "channels": {op: dict(sorted(c.items())) for op, c in sorted(self.channels.items())},
            "faults": self.faults,
            "enterprises_funded": self.enterprises_funded,
        }

    def _consent(self, days: int) -> dict[str, Any]:
        c = self.consent
        return {
            "authorisations": dict(sorted(c.authorisations.items())),
            "withdrawals": c.withdrawals,
            "queries": c.queries,
            "queries_cross_region": c.queries_cross_region,
            "cross_region_share": round(c.queries_cross_region / c.queries, 4) if c.queries else 0,
            "queries_by_purpose": dict(sorted(c.queries_by_purpose.items())),
            "queries_by_city_day": {
                city: [per_day[d] for d in range(days)]
                for city, per_day in sorted(c.queries_by_city_day.items())
            },
            "cross_region_by_day": [c.cross_region_by_day[d] for d in range(days)],
            "reports_shared": c.reports_shared,
            "reports_verified": c.reports_verified,
            "ratings_attested": c.ratings_attested,
        }

    def _disputes(self, days: int) -> dict[str, Any]:
        d = self.disputes
        times = sorted(d.resolution_days)
        return {
            "raised": d.raised,
            "raised_by_schema": dict(sorted(d.raised_by_schema.items())),
            "rejected": d.rejected,
            "upheld": d.upheld,
            "resolved": d.rejected + d.upheld,
            "resolved_late": d.resolved_late,
            "open": d.raised - d.rejected - d.upheld,
            "open_past_deadline": d.open_overdue,
            "overdue": d.resolved_late + d.open_overdue,
            "resolution_days": {
                "mean": round(sum(times) / len(times), 2) if times else 0,
                "max": round(times[-1], 2) if times else 0,
                # whole days from raising to resolution -> disputes
                "histogram": _histogram(times),
            },
            "raised_by_day": [d.raised_by_day[i] for i in range(days)],
            "resolved_by_day": [d.resolved_by_day[i] for i in range(days)],
            "complaints": {
                "filed": d.complaints,
                "upheld": d.complaints_upheld,
                "rejected": d.complaints_rejected,
                "open": d.complaints - d.complaints_upheld - d.complaints_rejected,
            },
        }

    def _receivables(self, days: int) -> dict[str, Any]:
        r = self.receivables
        return {
            "issued": r.issued,
            "issued_fen": r.issued_fen,
            "accepted": r.accepted,
            "rejected": r.rejected,
            "splits": r.splits,
            "financing_requests": r.financing_requests,
            "financed": {f"tier {t}": r.financed[t] for t in TIERS},
            "financed_fen": {f"tier {t}": r.financed_fen[t] for t in TIERS},
            "financed_cross_region": r.financed_cross_region,
            "settled_parts": r.settled_parts,
            "settled_fen": r.settled_fen,
            "defaults": r.defaults,
            "defaulted_fen": r.defaulted_fen,
            "defaulted_debtors": len(r.defaulted_debtors),
            "issued_by_day": [r.issued_by_day[d] for d in range(days)],
            "defaults_by_day": [r.defaults_by_day[d] for d in range(days)],
            "financed_fen_by_day": [r.financed_fen_by_day[d] for d in range(days)],
        }

    def _lending(self) -> dict[str, Any]:
        n = self.lending
        flagged = sorted({f["agreement"] for f in n.flags})
        return {
            "agreements": n.agreements,
            "agreements_ended": n.agreements_ended,
            "joint_limit_fen": n.joint_limit_fen,
            "agreements_flagged": len(flagged),
            "flags": n.flags,
            "flags_cleared": sum(1 for f in n.flags if f["cleared_day"] is not None),
            "facilities": dict(sorted(n.facilities.items())),
            "facilities_closed": n.facilities_closed,
            "drawn_fen": n.drawn_fen,
            "repaid_fen": n.repaid_fen,
            "outstanding_fen": n.drawn_fen - n.repaid_fen,
            "overdues_reported": n.overdues,
            "pledges": dict(sorted(n.pledges.items())),
            "secured_fen": dict(sorted(n.secured_fen.items())),
            "pledges_released": n.releases,
            "exposure_by_city_lender": {
                city: {lender: fen for lender, fen in sorted(by.items()) if fen}
                for city, by in sorted(n.exposure.items())
                if any(by.values())
            },
        }


def _histogram(values: list[float]) -> dict[str, int]:
    """Counts per whole day (``"0"``, ``"1"``, ...), every day up to the largest present."""
    if not values:
        return {}
    counts = Counter(int(v) for v in values)
    return {str(day): counts[day] for day in range(max(counts) + 1)}
