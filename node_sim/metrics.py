"""What a simulation counts, and the summary it writes."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AttackTally:
    """Attempts of one adversarial behaviour, and how each ended."""

    attempted: int = 0
    refused: int = 0  # refused with the expected named error, raised by the chain or the API
    errors: Counter[str] = field(default_factory=Counter)  # error name -> count
    accepted: int = 0  # the system let it through: a breach


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

    def gas_spent(self, operation: str, gas: int) -> None:
        """Note the gas of one operation."""
        self.gas_by_operation[operation].append(gas)

    def record(self, schema: str, city: str, day: int, count: int, batched: bool) -> None:
        """Note ``count`` records of ``schema`` written by a member of ``city`` on ``day``."""
        if batched:
            self.records_batched += count
            self.batches += 1
        else:
            self.records_single += count
        self.records_by_schema[schema] += count
        self.records_by_city_day[city][day] += count

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
            "attacks": {
                kind: {
                    "attempted": t.attempted,
                    "refused": t.refused,
                    "accepted": t.accepted,
                    "errors": dict(sorted(t.errors.items())),
                }
                for kind, t in sorted(self.attacks.items())
            },
            "faults": self.faults,
        }
