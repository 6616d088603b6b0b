"""Credit decisions by grade: which applicants a bank lends to, at what rate, and what
defaults and losses follow.

One rule, read by the simulated banks (:mod:`node_sim.credit_decisions`) and by
``credit-chain bench score``: a bank approves an applicant graded up to
:data:`APPROVE_UP_TO` (BB) and prices the loan at the one-year loan prime rate
plus the grade's expected loss (the grade's PD ceiling times :data:`LGD`) plus
a fixed margin (:data:`RATE_BP`). Outcomes are counted per grade; the losses
sharing avoids are the defaults a bank approves on its own city's records but
refuses on the five cities' shared records, at :data:`LGD` of :data:`LOAN_FEN`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ledger_client.scoring.models import GRADES, PD_CEILINGS, grade_of

if TYPE_CHECKING:
    from ledger_client.charts import HtmlReport

__all__ = [
    "APPROVE_UP_TO",
    "LGD",
    "LOAN_FEN",
    "LPR_BP",
    "MARGIN_BP",
    "RATE_BP",
    "LoanDecisions",
    "decide",
    "decision_figures",
    "decision_tables",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Approve grades up to this one (BB).
APPROVE_UP_TO = GRADES.index("BB")
#: Loss given default (Basel foundation IRB, senior unsecured: 45 %) and the average loan (fen).
LGD = 0.45
LOAN_FEN = 200_000_000
#: One-year loan prime rate (PBoC, 3.0 % from May 2025) and the bank's margin, basis points.
LPR_BP = 300
MARGIN_BP = 100
#: The annual rate offered per grade (basis points): LPR + expected loss + margin; a grade
#: refused is priced all the same (what it would have cost), C at its 30 % floor.
RATE_BP: tuple[int, ...] = tuple(
    LPR_BP + MARGIN_BP + round(10_000 * LGD * ceiling)
    for ceiling in (*PD_CEILINGS[:-1], PD_CEILINGS[-2])
)


@dataclass(frozen=True)
class LoanDecisions:
    """A bank's decisions on its applicants."""

    grade: npt.NDArray[np.int64]  # index into GRADES
    approved: BoolArray
    rate_bp: npt.NDArray[np.int64]  # annual rate offered, basis points (0 when refused)


def decide(pd: FloatArray) -> LoanDecisions:
    """Approve and price each applicant by the grade of its PD."""
    grade = grade_of(pd)
    approved = grade <= APPROVE_UP_TO
    rate = np.where(approved, np.asarray(RATE_BP, dtype=np.int64)[grade], 0)
    return LoanDecisions(grade, approved, rate.astype(np.int64))


def _by_grade(y: BoolArray, d: LoanDecisions) -> list[dict[str, Any]]:
    rows = []
    for g, name in enumerate(GRADES):
        mask = d.grade == g
        n = int(mask.sum())
        rows.append({
            "grade": name,
            "enterprises": n,
            "approved": int((mask & d.approved).sum()),
            "approval_rate": round(float(d.approved[mask].mean()), 4) if n else None,
            "rate_bp": RATE_BP[g] if g <= APPROVE_UP_TO else None,
            "defaults": int(y[mask].sum()),
            "default_rate": round(float(y[mask].mean()), 4) if n else None,
        })  # fmt: skip
    return rows


def decision_figures(y: BoolArray, pds: Mapping[str, FloatArray]) -> dict[str, Any]:
    """Per regime, approvals, defaults among them and figures by grade; then what sharing
    saved (``local`` against ``shared``, when both are given)."""
    out: dict[str, Any] = {}
    for regime, pd in pds.items():
        d = decide(pd)
        approved = d.approved
        out[regime] = {
            "applicants": int(y.shape[0]),
            "approved": int(approved.sum()),
            "approval_rate": round(float(approved.mean()), 4),
            "approved_defaults": int((approved & y).sum()),
            "approved_default_rate": round(float(y[approved].mean()), 4)
            if approved.any()
            else None,
            "mean_rate_bp": round(float(d.rate_bp[approved].mean()), 1) if approved.any() else None,
            "losses_fen": round(int((approved & y).sum()) * LGD * LOAN_FEN),
            "by_grade": _by_grade(y, d),
        }
    if "local" in out and "shared" in out:
        local = out["local"]
        avoided = local["approved_defaults"] - out["shared"]["approved_defaults"]
        out["defaults_avoided_by_sharing"] = avoided
        out["losses_avoided_by_sharing_fen"] = round(avoided * LGD * LOAN_FEN)
        # The rule lends more (or less) on shared records; at the local bank's own volume,
        # the same number of loans to the applicants each PD ranks safest.
        safest = np.argsort(pds["shared"], kind="stable")[: local["approved"]]
        same = local["approved_defaults"] - int(y[safest].sum())
        out["defaults_avoided_at_local_volume"] = same
        out["losses_avoided_at_local_volume_fen"] = round(same * LGD * LOAN_FEN)
    return out


def decision_tables(page: HtmlReport, figures: Mapping[str, Any]) -> None:
    """Draw :func:`decision_figures` on ``page``: approval and default rates per grade for
    each regime, and the losses sharing avoided."""
    regimes = [r for r, v in figures.items() if isinstance(v, Mapping)]
    page.heading("Decisions by grade: approve up to BB, priced at LPR + expected loss + margin")
    rows: list[list[object]] = []
    for g, name in enumerate(GRADES):
        row: list[object] = [name, f"{RATE_BP[g] / 100:.2f} %" if g <= APPROVE_UP_TO else "refused"]
        for r in regimes:
            cell = figures[r]["by_grade"][g]
            rate = cell["default_rate"]
            row += [cell["enterprises"], cell["approved"], "-" if rate is None else f"{rate:.1%}"]
        rows.append(row)
    header = ["grade", "rate offered"]
    for r in regimes:
        header += [f"{r}: applicants", f"{r}: approved", f"{r}: default rate"]
    page.table(header, rows)
    page.table(
        ["regime", "approved", "approval rate", "defaults among them", "default rate",
         "losses (million yuan)"],
        [
            [r, figures[r]["approved"], f"{figures[r]['approval_rate']:.1%}",
             figures[r]["approved_defaults"],
             "-" if figures[r]["approved_default_rate"] is None
             else f"{figures[r]['approved_default_rate']:.2%}",
             _millions(figures[r]["losses_fen"])]
            for r in regimes
        ],
    )  # fmt: skip
    if "losses_avoided_by_sharing_fen" in figures:
        page.paragraph(
            f"Losses avoided by sharing across the five cities under consent, at {LGD:.0%} "
            f"loss given default on loans of {LOAN_FEN / 100 / 1_000_000:,.0f} million yuan: "
            f"by the grade rule, {figures['defaults_avoided_by_sharing']} defaulted loans, "
            f"{_millions(figures['losses_avoided_by_sharing_fen'])} million yuan (the rule "
            f"approves {figures['shared']['approved']} on shared records against "
            f"{figures['local']['approved']} on one city's); lending the local bank's volume "
            f"to the applicants the shared score ranks safest, "
            f"{figures['defaults_avoided_at_local_volume']} defaulted loans, "
            f"{_millions(figures['losses_avoided_at_local_volume_fen'])} million yuan."
        )


def _millions(fen: int) -> str:
    return f"{fen / 100 / 1_000_000:,.1f}"
