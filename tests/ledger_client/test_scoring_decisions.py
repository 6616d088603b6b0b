"""The one decision rule of the simulated banks and the bench: approve up to BB, priced by
grade; what sharing saves, counted from outcomes."""

from __future__ import annotations

import numpy as np

from ledger_client.charts import HtmlReport
from ledger_client.scoring.decisions import (
    APPROVE_UP_TO,
    LGD,
    LOAN_FEN,
    RATE_BP,
    decide,
    decision_figures,
    decision_tables,
)
from ledger_client.scoring.models import GRADES, PD_CEILINGS


def test_approves_up_to_bb_and_prices_riskier_grades_higher() -> None:
    assert GRADES[APPROVE_UP_TO] == "BB"
    assert list(RATE_BP) == sorted(RATE_BP)
    pd = np.asarray([0.001, 0.005, 0.03, 0.04, 0.0401, 0.5])
    d = decide(pd)
    assert [GRADES[g] for g in d.grade] == ["AAA", "AA", "BB", "BB", "B", "C"]
    assert d.approved.tolist() == [True, True, True, True, False, False]
    assert d.rate_bp.tolist() == [RATE_BP[0], RATE_BP[1], RATE_BP[4], RATE_BP[4], 0, 0]
    # The rate covers the grade's expected loss at its PD ceiling.
    assert RATE_BP[4] - RATE_BP[0] == round(10_000 * LGD * (PD_CEILINGS[4] - PD_CEILINGS[0]))


def test_losses_avoided_are_counted_from_the_outcomes() -> None:
    # Four applicants; two default. One city's records miss the second defaulter's history.
    y = np.asarray([False, True, False, True])
    local = np.asarray([0.005, 0.005, 0.05, 0.5])  # approves 0 and 1 (a defaulter)
    shared = np.asarray([0.005, 0.2, 0.01, 0.5])  # approves 0 and 2, refuses the defaulter
    f = decision_figures(y, {"local": local, "shared": shared})
    assert f["local"]["approved"] == 2
    assert f["local"]["approved_defaults"] == 1
    assert f["shared"]["approved_defaults"] == 0
    assert f["defaults_avoided_by_sharing"] == 1
    assert f["losses_avoided_by_sharing_fen"] == round(LGD * LOAN_FEN)
    assert f["defaults_avoided_at_local_volume"] == 1
    by_grade = {g["grade"]: g for g in f["shared"]["by_grade"]}
    assert by_grade["CC"]["enterprises"] == 1
    assert by_grade["CC"]["approved"] == 0
    assert by_grade["CC"]["default_rate"] == 1.0
    assert sum(g["enterprises"] for g in by_grade.values()) == 4
    page = HtmlReport("t", "s")
    decision_tables(page, f)
    html = page.render()
    assert "Decisions by grade" in html
    assert "Losses avoided by sharing" in html
