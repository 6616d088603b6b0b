"""Credit records as a column table: what the features are built from.

A scoring run reads many records (a year of instalments, bills and
contributions per enterprise), so they are held as numpy columns rather than
dicts. Each row is one off-chain record of a shipped schema (``loan-repayment``,
``tax-credit-grade``, ...): its kind, the enterprise it is about (``subject``,
an index into the caller's list of subjects), the member institution that
holds and attested it (``holder``, an index into :data:`MEMBERS`), its month in
the observation window, and up to five integer payload fields whose meaning
per kind is :data:`PAYLOAD` (the one description of how a schema's record
becomes a row, read both ways by :func:`row_record` and :func:`table_from_records`).
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ledger_client.types import City

__all__ = [
    "MEMBERS",
    "PAYLOAD",
    "RecordKind",
    "RecordTable",
    "bank_of",
    "bureau_of",
    "record_of",
    "row_record",
    "table_from_records",
]

IntArray = npt.NDArray[np.int64]

#: The member institutions that hold records, by index: the bank, then the bureau of each city
#: (node_sim.world.consortium_institutions' labels).
MEMBERS: tuple[str, ...] = tuple(
    [f"bank:{c.name.lower()}" for c in City] + [f"bureau:{c.name.lower()}" for c in City]
)


def bank_of(city: City) -> int:
    """The member index of ``city``'s bank."""
    return list(City).index(city)


def bureau_of(city: City) -> int:
    """The member index of ``city``'s credit bureau."""
    return len(City) + list(City).index(city)


class RecordKind(enum.IntEnum):
    """The kinds of record a score reads; each is one shipped schema."""

    LOAN_REPAYMENT = 0
    OVERDUE = 1
    TAX_GRADE = 2
    UTILITY = 3
    SOCIAL_INSURANCE = 4
    RECEIVABLE_DEFAULT = 5
    SCITECH = 6

    @property
    def schema(self) -> str:
        """The schema's name."""
        return PAYLOAD[self][0]


_TAX_GRADES = ("A", "B", "M", "C", "D")
_BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6", "M7")
_STAGES = ("SEED", "STARTUP", "GROWTH", "MATURE")
_WINDOW_YEAR = 2025  # the observation window is this calendar year


#: kind -> (schema name, the record fields held in payload columns v0..v4, in order).
PAYLOAD: dict[RecordKind, tuple[str, tuple[str, ...]]] = {
    RecordKind.LOAN_REPAYMENT: (
        "loan-repayment",
        ("daysLate", "dueFen", "repaidFen", "loanNo"),
    ),
    RecordKind.OVERDUE: ("overdue-record", ("daysOverdue", "overdueFen", "loanNo")),
    RecordKind.TAX_GRADE: ("tax-credit-grade", ("grade",)),
    RecordKind.UTILITY: ("utility-payments", ("daysLate",)),
    RecordKind.SOCIAL_INSURANCE: ("social-insurance", ("monthsInArrears", "insuredEmployees")),
    RecordKind.RECEIVABLE_DEFAULT: ("receivable-default", ("daysOverdue",)),
    RecordKind.SCITECH: (
        "sci-tech-indicators",
        (
            "stage",
            "rdIntensityBp",
            "patents",
            "inventionPatents",
            "rdStaffBp",
            "revenueGrowthBp",
            "equityRaisedFen",
        ),
    ),
}
_WIDTH = 7  # payload columns: the longest PAYLOAD row


@dataclass(frozen=True)
class RecordTable:
    """Records as columns; row ``i`` is one record."""

    kind: IntArray
    subject: IntArray  # index into the caller's subjects
    holder: IntArray  # index into MEMBERS
    month: IntArray  # 0..11 in the observation window
    payload: IntArray  # shape (rows, 7): PAYLOAD's fields, zero beyond a kind's own

    @property
    def rows(self) -> int:
        """Number of records."""
        return int(self.kind.shape[0])

    @classmethod
    def of(
        cls,
        kind: RecordKind,
        subject: IntArray,
        holder: IntArray,
        *columns: IntArray,
        month: IntArray | None = None,
    ) -> RecordTable:
        """Rows of one kind; ``columns`` are its PAYLOAD fields in order."""
        n = subject.shape[0]
        payload = np.zeros((n, _WIDTH), dtype=np.int64)
        for i, col in enumerate(columns):
            payload[:, i] = col
        return cls(
            np.full(n, int(kind), dtype=np.int64),
            subject.astype(np.int64),
            holder.astype(np.int64),
            np.zeros(n, dtype=np.int64) if month is None else month.astype(np.int64),
            payload,
        )

    @classmethod
    def concat(cls, parts: Sequence[RecordTable]) -> RecordTable:
        """The rows of ``parts``, in order."""
        return cls(
            np.concatenate([p.kind for p in parts]),
            np.concatenate([p.subject for p in parts]),
            np.concatenate([p.holder for p in parts]),
            np.concatenate([p.month for p in parts]),
            np.concatenate([p.payload for p in parts]),
        )

    def take(self, rows: npt.NDArray[np.bool_] | IntArray) -> RecordTable:
        """The rows selected by a mask or indices."""
        return RecordTable(
            self.kind[rows], self.subject[rows], self.holder[rows], self.month[rows],
            self.payload[rows],
        )  # fmt: skip


def _date(month: int, day: int = 15) -> str:
    return datetime.date(_WINDOW_YEAR, month + 1, day).isoformat()


def _plus_days(date: str, days: int) -> str:
    return (datetime.date.fromisoformat(date) + datetime.timedelta(days=days)).isoformat()


def _days_between(start: object, end: object) -> int:
    return (datetime.date.fromisoformat(str(end)) - datetime.date.fromisoformat(str(start))).days


def _month_of(date: object) -> int:
    return datetime.date.fromisoformat(str(date)).month - 1


def row_record(table: RecordTable, row: int, subject: bytes) -> tuple[str, dict[str, object]]:
    """Row ``row`` as the off-chain record of its schema: ``(schema name, record)``.

    ``subject`` is the pseudonymous subject id of the row's enterprise.
    """
    return record_of(
        RecordKind(int(table.kind[row])),
        int(table.holder[row]),
        int(table.month[row]),
        [int(v) for v in table.payload[row]],
        row=row,
        subject=subject,
    )


def record_of(
    kind: RecordKind, holder_index: int, month: int, p: Sequence[int], *, row: int, subject: bytes
) -> tuple[str, dict[str, object]]:
    """One record from its columns: ``(schema name, record)``.

    ``row`` is the record's number in its world (a receivable default's id is made from
    it); the simulator at scale keeps rows in a compact file of its own and rebuilds
    each record from them with this, as :func:`row_record` does from a table.
    """
    sid = "0x" + bytes(subject).hex()
    holder = MEMBERS[holder_index]
    record: dict[str, object]
    if kind is RecordKind.LOAN_REPAYMENT:
        due = _date(month)
        record = {
            "subject": sid,
            "loanId": f"{holder}/L{p[3]}",
            "instalment": month + 1,
            "dueFen": p[1],
            "repaidFen": p[2],
            "dueDate": due,
            "repaidDate": _plus_days(due, p[0]),
        }
    elif kind is RecordKind.OVERDUE:
        record = {
            "subject": sid,
            "loanId": f"{holder}/L{p[2]}",
            "overdueFen": p[1],
            "dueDate": _date(month),
            "daysOverdue": p[0],
            "bucket": _BUCKETS[min(6, (p[0] - 1) // 30)],
        }
    elif kind is RecordKind.TAX_GRADE:
        record = {
            "subject": sid,
            "taxYear": _WINDOW_YEAR - 1,
            "grade": _TAX_GRADES[p[0]],
            "taxAuthority": f"tax authority of {holder.split(':')[1]}",
            "assessedDate": _date(month, 1),
        }
    elif kind is RecordKind.UTILITY:
        record = {
            "subject": sid,
            "utility": "ELECTRICITY",
            "accountNo": f"E-{sid[2:14]}",
            "billDate": _date(month, 1),
            "billedFen": 1_000_000,
            "paidFen": 1_000_000,
            "daysLate": p[0],
        }
    elif kind is RecordKind.SOCIAL_INSURANCE:
        record = {
            "subject": sid,
            "periodMonth": _date(month, 1),
            "insuredEmployees": p[1],
            "payableFen": 150_000 * p[1],
            "paidFen": 150_000 * p[1] if p[0] == 0 else 0,
            "monthsInArrears": p[0],
        }
    elif kind is RecordKind.RECEIVABLE_DEFAULT:
        record = {
            "subject": sid,
            "receivableId": "0x" + row.to_bytes(32, "big").hex(),
            "amountFen": 5_000_000,
            "dueDate": _date(month),
            "daysOverdue": p[0],
        }
    else:
        record = {"subject": sid, "stage": _STAGES[p[0]], "assessedDate": _date(month, 1)}
        for name, value in zip(PAYLOAD[kind][1][1:], p[1:], strict=True):
            record[name] = value
    return kind.schema, record


def _payload(kind: RecordKind, record: Mapping[str, object]) -> tuple[int, list[int]]:
    """(month, payload columns) of a record of ``kind``."""

    def num(name: str) -> int:
        value = record[name]
        if not isinstance(value, int):
            raise TypeError(f"{name} is not an integer")
        return value

    if kind is RecordKind.LOAN_REPAYMENT:
        loan = str(record["loanId"]).rsplit("/L", 1)[-1]
        return _month_of(record["dueDate"]), [
            _days_between(record["dueDate"], record["repaidDate"]),
            num("dueFen"),
            num("repaidFen"),
            int(loan) if loan.isdigit() else 0,
        ]
    if kind is RecordKind.OVERDUE:
        loan = str(record["loanId"]).rsplit("/L", 1)[-1]
        return _month_of(record["dueDate"]), [
            num("daysOverdue"),
            num("overdueFen"),
            int(loan) if loan.isdigit() else 0,
        ]
    if kind is RecordKind.TAX_GRADE:
        return _month_of(record["assessedDate"]), [_TAX_GRADES.index(str(record["grade"]))]
    if kind is RecordKind.UTILITY:
        return _month_of(record["billDate"]), [num("daysLate")]
    if kind is RecordKind.SOCIAL_INSURANCE:
        return _month_of(record["periodMonth"]), [num("monthsInArrears"), num("insuredEmployees")]
    if kind is RecordKind.RECEIVABLE_DEFAULT:
        return _month_of(record["dueDate"]), [num("daysOverdue")]
    return _month_of(record["assessedDate"]), [
        _STAGES.index(str(record["stage"])),
        *(num(name) for name in PAYLOAD[kind][1][1:]),
    ]


_KIND_OF_SCHEMA = {schema: kind for kind, (schema, _) in PAYLOAD.items()}


def table_from_records(
    records: Sequence[tuple[str, Mapping[str, object], int]], subject: int = 0
) -> RecordTable:
    """A table of ``(schema name, record, holder member index)`` about one subject.

    The inverse of :func:`row_record` on the fields a score reads: a verifier
    rebuilds the features from the off-chain records themselves.
    """
    kinds, months, holders, payloads = [], [], [], []
    for schema, record, holder in records:
        kind = _KIND_OF_SCHEMA[schema]
        month, cols = _payload(kind, record)
        kinds.append(int(kind))
        months.append(month)
        holders.append(holder)
        payloads.append(cols + [0] * (_WIDTH - len(cols)))
    n = len(kinds)
    return RecordTable(
        np.asarray(kinds, dtype=np.int64),
        np.full(n, subject, dtype=np.int64),
        np.asarray(holders, dtype=np.int64),
        np.asarray(months, dtype=np.int64),
        np.asarray(payloads, dtype=np.int64).reshape(n, _WIDTH),
    )
