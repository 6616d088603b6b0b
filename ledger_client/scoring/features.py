"""Features of an enterprise, built only from records its scorer may see.

:func:`build_features` is the one way records become a feature matrix: it
first passes the records through :func:`~ledger_client.scoring.visibility.require_visible`,
so a record the member neither holds nor queried under consent is refused by
name before it can reach a model.

Two feature specifications ship: :data:`RECORD_FEATURES` (payment behaviour
from loans, overdue records, tax grade, utility bills, social insurance and
receivable defaults) and :data:`SCITECH_FEATURES` (those plus indicators in
the spirit of the 创新积分制 innovation points scheme: technology innovation,
growth, investment and talent classes, weighted by growth stage). A spec is
identified by :meth:`FeatureSpec.hash`, which a model artefact carries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ledger_client.attestations.merkle import keccak256
from ledger_client.scoring.records import RecordKind, RecordTable
from ledger_client.scoring.visibility import Visibility, require_visible
from ledger_client.types import Hash32

__all__ = [
    "FEATURES",
    "RECORD_FEATURES",
    "SCITECH_FEATURES",
    "STAGE_WEIGHTS",
    "FeatureSpec",
    "build_features",
]

FloatArray = npt.NDArray[np.float64]

#: Every feature a spec may name, with what it measures (part of the spec's hash).
FEATURES: dict[str, str] = {
    "loan_instalments": "loan instalments due in the window",
    "loan_late_share": "share of instalments repaid after the due date (0 without loans)",
    "loan_max_days_late": "most days any instalment was repaid late",
    "lenders": "member institutions holding its loan records",
    "overdue_records": "overdue records (instalments over 30 days late)",
    "overdue_max_days": "most days overdue on any overdue record",
    "tax_grade": "worst tax credit grade visible, A=0 .. D=4 (-1 when none is visible)",
    "utility_late_share": "share of utility bills paid late",
    "social_insurance_arrears": "months in arrears summed over the window",
    "receivable_defaults": "receivables it failed to pay",
    "scitech_technology": "innovation points, technology class (patents, inventions, R&D), 0-100",
    "scitech_growth": "innovation points, growth class (revenue growth), 0-100",
    "scitech_investment": "innovation points, investment class (equity raised), 0-100",
    "scitech_talent": "innovation points, talent class (R&D staff share), 0-100",
    "scitech_points": "innovation points: the four classes weighted by growth stage",
    "growth_stage": "seed 0, start-up 1, growth 2, mature 3 (-1 when none is visible)",
}

#: Class weights (technology, growth, investment, talent) by growth stage: a young firm is
#: judged more on its technology and backers, a mature one more on its growth.
STAGE_WEIGHTS: tuple[tuple[float, float, float, float], ...] = (
    (0.40, 0.10, 0.30, 0.20),  # seed
    (0.35, 0.20, 0.25, 0.20),  # start-up
    (0.30, 0.35, 0.15, 0.20),  # growth
    (0.25, 0.45, 0.10, 0.20),  # mature
)


@dataclass(frozen=True)
class FeatureSpec:
    """An ordered list of features; a model is fitted to exactly one spec."""

    name: str
    features: tuple[str, ...]

    def hash(self) -> Hash32:
        """keccak256 of the spec's canonical JSON (names, order, definitions, weights)."""
        doc = {
            "name": self.name,
            "features": [[f, FEATURES[f]] for f in self.features],
            "stageWeights": [list(w) for w in STAGE_WEIGHTS],
        }
        return keccak256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())


RECORD_FEATURES = FeatureSpec(
    "records-v1",
    (
        "loan_instalments",
        "loan_late_share",
        "loan_max_days_late",
        "lenders",
        "overdue_records",
        "overdue_max_days",
        "tax_grade",
        "utility_late_share",
        "social_insurance_arrears",
        "receivable_defaults",
    ),
)
SCITECH_FEATURES = FeatureSpec(
    "records-scitech-v1",
    (
        *RECORD_FEATURES.features,
        "scitech_technology",
        "scitech_growth",
        "scitech_investment",
        "scitech_talent",
        "scitech_points",
        "growth_stage",
    ),
)


def build_features(
    table: RecordTable,
    subjects: int,
    spec: FeatureSpec,
    visibility: Visibility,
    uids: Iterable[bytes] | None = None,
) -> FloatArray:
    """The ``(subjects, len(spec.features))`` feature matrix of ``table``'s records.

    Raises :class:`~ledger_client.errors.RecordNotAuthorised` (or
    :class:`~ledger_client.errors.RecordRevoked`) when any record is not one
    the member may use; pass only what its queries returned
    (:func:`~ledger_client.scoring.visibility.visible_rows`).
    """
    require_visible(table, visibility, uids)
    cols = _all_features(table, subjects)
    return np.stack([cols[f] for f in spec.features], axis=1)


def _count(table: RecordTable, mask: npt.NDArray[np.bool_], n: int) -> FloatArray:
    return np.bincount(table.subject[mask], minlength=n).astype(np.float64)


def _sum(table: RecordTable, mask: npt.NDArray[np.bool_], col: int, n: int) -> FloatArray:
    weights = table.payload[mask, col].astype(np.float64)
    return np.bincount(table.subject[mask], weights=weights, minlength=n).astype(np.float64)


def _max(
    table: RecordTable, mask: npt.NDArray[np.bool_], col: int, n: int, empty: float = 0.0
) -> FloatArray:
    out = np.full(n, empty, dtype=np.float64)
    np.maximum.at(out, table.subject[mask], table.payload[mask, col].astype(np.float64))
    return out


def _share(part: FloatArray, whole: FloatArray) -> FloatArray:
    return np.divide(part, whole, out=np.zeros_like(part), where=whole > 0)


def _all_features(t: RecordTable, n: int) -> dict[str, FloatArray]:
    kind = t.kind
    loan = kind == RecordKind.LOAN_REPAYMENT
    over = kind == RecordKind.OVERDUE
    tax = kind == RecordKind.TAX_GRADE
    util = kind == RecordKind.UTILITY
    si = kind == RecordKind.SOCIAL_INSURANCE
    rd = kind == RecordKind.RECEIVABLE_DEFAULT
    sci = kind == RecordKind.SCITECH
    instalments = _count(t, loan, n)
    late = _count(t, loan & (t.payload[:, 0] > 0), n)
    pairs = np.unique(np.stack([t.subject[loan], t.holder[loan]], axis=1), axis=0)
    lenders = (
        np.bincount(pairs[:, 0], minlength=n).astype(np.float64) if pairs.size else (np.zeros(n))
    )
    # One grade a year; with several visible (two authorities) the worse one counts.
    tax_grade = _max(t, tax, 0, n, empty=-1.0)
    bills = _count(t, util, n)
    bills_late = _count(t, util & (t.payload[:, 0] > 0), n)
    # Sci-tech indicators: one record per enterprise (with several, each field's highest).
    stage = _max(t, sci, 0, n, empty=-1.0)
    rd_bp = _max(t, sci, 1, n)
    patents = _max(t, sci, 2, n)
    inventions = _max(t, sci, 3, n)
    staff_bp = _max(t, sci, 4, n)
    has_sci = stage >= 0
    growth_bp = np.where(has_sci, _max(t, sci, 5, n, empty=-1e12), 0.0)
    equity = _max(t, sci, 6, n)
    technology = np.clip(20 * np.log1p(inventions) + 8 * np.log1p(patents) + rd_bp / 50, 0, 100)
    growth = np.clip(50 + growth_bp / 100, 0, 100)
    investment = np.clip((np.log1p(equity) - 13) * 12, 0, 100)
    talent = np.clip(staff_bp / 60, 0, 100)
    weights = np.asarray(STAGE_WEIGHTS)[np.clip(stage, 0, 3).astype(np.int64)]
    classes = np.stack([technology, growth, investment, talent], axis=1)
    points = np.where(has_sci, (classes * weights).sum(axis=1), 0.0)
    zero = ~has_sci
    return {
        "loan_instalments": instalments,
        "loan_late_share": _share(late, instalments),
        "loan_max_days_late": _max(t, loan, 0, n),
        "lenders": lenders,
        "overdue_records": _count(t, over, n),
        "overdue_max_days": _max(t, over, 0, n),
        "tax_grade": tax_grade,
        "utility_late_share": _share(bills_late, bills),
        "social_insurance_arrears": _sum(t, si, 0, n),
        "receivable_defaults": _count(t, rd, n),
        "scitech_technology": np.where(zero, 0.0, technology),
        "scitech_growth": np.where(zero, 0.0, growth),
        "scitech_investment": np.where(zero, 0.0, investment),
        "scitech_talent": np.where(zero, 0.0, talent),
        "scitech_points": points,
        "growth_stage": stage,
    }
