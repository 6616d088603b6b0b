"""Credit decisions in the simulation: each city's bank approves and prices loans by grade.

The simulated enterprises of :func:`node_sim.credit_world.make_credit_world`
(drawn from the run's seed, with the world's fixed parameters) apply to the bank
of their own city. Each bank scores its applicants with a scorecard fitted on
the enterprises not held out, under the three regimes of what it may see
(:data:`~node_sim.credit_world.REGIMES`: its own city only, the five cities'
records shared under consent, and those plus sci-tech indicators), and decides
by the one rule the bench uses too (:func:`ledger_client.scoring.decisions.decide`):
approve up to BB, priced at LPR plus the grade's expected loss plus a margin.
The ground truth then says which approved loans default; what sharing saves is
the defaults approved on one city's records and refused on the shared ones.
Everything is drawn and fitted from the seed: the same seed, the same figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ledger_client.scoring.decisions import decide, decision_figures
from ledger_client.scoring.evaluation import auc, curves
from ledger_client.types import City
from node_sim.credit_world import REGIMES, fit_and_score, held_out, make_credit_world

__all__ = ["SHARED_REGIME", "credit_decisions"]

#: The regime the banks of the chain decide under: the five cities' records under consent.
SHARED_REGIME = "shared"


def credit_decisions(seed: int, enterprises: int) -> dict[str, Any]:
    """The simulated banks' decisions on the held-out applicants of a credit world.

    ``auc``, ``model_hash`` and ``curves`` (ROC, calibration) per regime;
    ``decisions``: approval and default rates per grade per regime and the losses
    sharing avoided (:func:`~ledger_client.scoring.decisions.decision_figures`);
    ``by_bank``: each city's bank deciding under the shared regime.
    """
    world = make_credit_world(seed, enterprises)
    test = held_out(world, seed)
    y = world.defaulted[test]
    pds = {}
    doc: dict[str, Any] = {
        "seed": seed,
        "enterprises": enterprises,
        "held_out": int(test.sum()),
        "held_out_defaults": int(y.sum()),
        "auc": {},
        "model_hash": {},
    }
    for regime in REGIMES:
        card, pd = fit_and_score(world, regime, test)
        pds[regime] = pd
        doc["auc"][regime] = round(auc(y, pd), 4)
        doc["model_hash"][regime] = "0x" + card.hash().hex()
    doc["curves"] = {regime: curves(y, pd) for regime, pd in pds.items()}
    doc["decisions"] = decision_figures(y, pds)
    shared = decide(pds[SHARED_REGIME])
    home = world.city[test]
    by_bank = {}
    for index, city in enumerate(City):
        mine = home == index
        approved = shared.approved & mine
        by_bank[f"bank:{city.name.lower()}"] = {
            "applicants": int(mine.sum()),
            "approved": int(approved.sum()),
            "approved_defaults": int((approved & y).sum()),
            "mean_rate_bp": round(float(shared.rate_bp[approved].mean()), 1)
            if approved.any()
            else None,
        }
    doc["by_bank"] = by_bank
    doc["approved_grades"] = sorted({int(g) for g in np.unique(shared.grade[shared.approved])})
    return doc
