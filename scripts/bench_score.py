"""``credit-chain bench score``: what cross-region sharing is worth, and how fast scores are.

The world is :func:`node_sim.credit_world.make_credit_world` (parameters fixed
and cited there). Every enterprise applies to the bank of its own city, which
scores it from the records it may see, under one of three regimes:

- ``local``: the bank's own records and what members of its own city answer to
  its authorised query (the applicant authorised it; the other four cities are
  not reached: no shared chain);
- ``shared``: its own records and what every member of the five cities holds
  about the applicant, reached by a query logged under the applicant's
  authorisation (the chain's consented sharing);
- ``scitech``: ``shared`` plus the sci-tech indicator features.

Visibility is enforced by the same code a bank runs: for each bank a
:class:`~ledger_client.scoring.visibility.Visibility` authorises exactly its
applicants (every schema) and, for ``local``, only its own city's members
answer; the table passed to :func:`~ledger_client.scoring.features.build_features`
is what :func:`~ledger_client.scoring.visibility.visible_rows` returns, and
``build_features`` re-checks every row and would refuse any other (no 100k
transactions are sent: the consent log's content is what the Visibility holds).

Held-out figures: AUC, KS and Brier of the scorecard with 95% bootstrap
intervals; the uplift of ``shared`` over ``local`` at several cross-city
shares; approvals and defaults by grade; time to score 100,000 enterprises
(features from records and the scorecard, the world's drawing excluded) and
to recompute one attested score from its records and the published model.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from ledger_client.attestations.merkle import keccak256
from ledger_client.scoring.attested import ScoreBundle, UsedRecord, recompute_score, score_record
from ledger_client.scoring.decisions import decision_figures, decision_tables
from ledger_client.scoring.evaluation import auc, bootstrap_metrics, curves, score_charts
from ledger_client.scoring.features import SCITECH_FEATURES
from ledger_client.scoring.models import Scorecard, fit_boosted
from ledger_client.scoring.records import row_record
from ledger_client.scoring.visibility import Visibility
from node_sim.credit_world import (
    PARAMETERS,
    REGIMES,
    CreditWorld,
    fit_and_score,
    held_out,
    make_credit_world,
    regime_features,
)

__all__ = ["bench_score", "score_report"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def score_report(doc: dict[str, Any]) -> str:
    """An HTML page of a ``bench score`` run: ROC and calibration charts, figures by regime."""
    from ledger_client.charts import HtmlReport

    page = HtmlReport(
        "Credit scores: what cross-region sharing is worth",
        f"credit-chain bench score, seed {doc['seed']}, {doc['held_out']:,} held-out enterprises",
    )
    page.heading("Discrimination and calibration")
    score_charts(
        page,
        doc["curves"],
        "local: one city's records; shared: five cities under consent; scitech: shared + "
        "sci-tech indicators",
    )
    page.heading("Figures")
    page.table(
        ["regime", "AUC", "AUC 95 %", "KS", "Brier", "approved (AAA-BB)", "defaults among them"],
        [
            [
                r,
                doc[f"{r}_auc"],
                f"{doc[f'{r}_auc_ci'][0]}-{doc[f'{r}_auc_ci'][1]}",
                doc[f"{r}_ks"],
                doc[f"{r}_brier"],
                doc["decisions"][r]["approved"],
                doc["decisions"][r]["approved_defaults"],
            ]
            for r in REGIMES
        ],
    )
    decision_tables(page, doc["decisions"])
    return page.render()


def _uplift(seed: int, count: int, levels: tuple[float, ...], rounds: int) -> list[dict[str, Any]]:
    out = []
    for level in levels:
        world = make_credit_world(seed, count, cross_city_mean=level)
        test = held_out(world, seed)
        y = world.defaulted[test]
        _, local = fit_and_score(world, "local", test)
        _, shared = fit_and_score(world, "shared", test)
        rng = np.random.default_rng(seed + 2)
        diffs = []
        for _ in range(rounds):
            i = rng.integers(0, y.shape[0], size=y.shape[0])
            if 0 < y[i].sum() < y.shape[0]:
                diffs.append(auc(y[i], shared[i]) - auc(y[i], local[i]))
        out.append({
            "cross_city_mean": level,
            "local_auc": round(auc(y, local), 4),
            "shared_auc": round(auc(y, shared), 4),
            "uplift": round(auc(y, shared) - auc(y, local), 4),
            "uplift_ci": [
                round(float(np.percentile(diffs, 2.5)), 4),
                round(float(np.percentile(diffs, 97.5)), 4),
            ],
        })  # fmt: skip
    return out


def _time_scoring(seed: int, count: int, card: Scorecard) -> float:
    world = make_credit_world(seed + 100, count)
    start = time.perf_counter()
    card.score(regime_features(world, "scitech"))
    return time.perf_counter() - start


def _time_verify(world: CreditWorld, card: Scorecard, rounds: int = 20) -> float:
    enterprise = 0
    bank = int(world.home_bank()[enterprise])
    vis = Visibility(bank, {0: None})
    subject = keccak256(b"enterprise 0")
    used = []
    for row in np.flatnonzero(world.records.subject == enterprise):
        schema, record = row_record(world.records, int(row), subject)
        used.append(
            UsedRecord(keccak256(b"%d" % row), int(world.records.holder[row]), schema, record)
        )
    bundle = ScoreBundle(
        score_record(card, subject, used, vis, "2026-01-05"), tuple(used), card.to_json()
    )
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        recompute_score(bundle, SCITECH_FEATURES, vis)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_score(
    enterprises: int = 30_000,
    seed: int = 7,
    levels: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7),
    rounds: int = 200,
    timed: int = 100_000,
) -> dict[str, Any]:
    """Every figure of ``credit-chain bench score`` (see the module docstring)."""
    world = make_credit_world(seed, enterprises)
    test = held_out(world, seed)
    y = world.defaulted[test]
    doc: dict[str, Any] = {
        "seed": seed,
        "enterprises": enterprises,
        "held_out": int(test.sum()),
        "held_out_defaults": int(y.sum()),
        "default_rate": round(float(world.defaulted.mean()), 4),
        "cross_city_mean": round(float(world.cross_city.mean()), 4),
    }
    pds: dict[str, FloatArray] = {}
    cards: dict[str, Scorecard] = {}
    for regime in REGIMES:
        card, pd = fit_and_score(world, regime, test)
        cards[regime], pds[regime] = card, pd
        m = bootstrap_metrics(y, pd, np.random.default_rng(seed + 3), rounds)
        for key, value in m.items():
            doc[f"{regime}_{key}"] = value
        doc[f"{regime}_model_hash"] = "0x" + card.hash().hex()
        doc[f"{regime}_feature_spec_hash"] = "0x" + card.spec.hash().hex()
    doc["curves"] = {regime: curves(y, pd) for regime, pd in pds.items()}
    doc["shared_minus_local_auc"] = round(doc["shared_auc"] - doc["local_auc"], 4)
    x = regime_features(world, "scitech")
    boosted = fit_boosted(x[~test], world.defaulted[~test], SCITECH_FEATURES, seed)
    doc["scitech_boosted_auc"] = round(auc(y, boosted.pd(x[test])), 4)
    doc["scitech_boosted_brier"] = round(float(np.mean((boosted.pd(x[test]) - y) ** 2)), 5)
    doc["decisions"] = decision_figures(y, pds)
    doc["uplift_by_cross_city_share"] = _uplift(seed, enterprises // 2, levels, rounds)
    doc["score_enterprises"] = timed
    doc["score_seconds"] = round(_time_scoring(seed, timed, cards["scitech"]), 3)
    doc["verify_one_ms"] = round(1_000 * _time_verify(world, cards["scitech"]), 3)
    doc["targets"] = {
        "score_100k_seconds": 60,
        "verify_one_ms": 50,
        "shared_minus_local_auc": 0.03,
        "scitech_auc": 0.75,
    }
    doc["world_parameters"] = [
        {"name": p.name, "value": p.value, "source": p.source} for p in PARAMETERS
    ]
    return doc
