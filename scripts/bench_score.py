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
from ledger_client.scoring.features import (
    RECORD_FEATURES,
    SCITECH_FEATURES,
    FeatureSpec,
    build_features,
)
from ledger_client.scoring.models import GRADES, Scorecard, fit_boosted, fit_scorecard
from ledger_client.scoring.records import bank_of, bureau_of, row_record
from ledger_client.scoring.visibility import Visibility, visible_rows
from ledger_client.types import City
from node_sim.credit_world import PARAMETERS, CreditWorld, make_credit_world

__all__ = ["REGIMES", "bench_score", "regime_features"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: regime -> (feature spec, whether only the bank's own city answers its queries)
REGIMES: dict[str, tuple[FeatureSpec, bool]] = {
    "local": (RECORD_FEATURES, True),
    "shared": (RECORD_FEATURES, False),
    "scitech": (SCITECH_FEATURES, False),
}
#: Approve grades up to this one (BB): the decision rule of the simulated banks.
APPROVE_UP_TO = GRADES.index("BB")
#: Loss given default and the average loan, for the losses avoided (fen).
LGD = 0.45
LOAN_FEN = 200_000_000


def regime_features(world: CreditWorld, regime: str) -> FloatArray:
    """Each enterprise's features as its home bank sees them under ``regime``."""
    spec, local_only = REGIMES[regime]
    out = np.zeros((world.size, len(spec.features)))
    city_of_row = world.city[world.records.subject]
    for index, city in enumerate(City):
        applicants = np.flatnonzero(world.city == index)
        bank = bank_of(city)
        answering = frozenset({bank, bureau_of(city)}) if local_only else None
        vis = Visibility(bank, dict.fromkeys(applicants.tolist(), None), answering)
        # What the bank's queries about its applicants return, and its own records.
        rows = visible_rows(world.records.take(city_of_row == index), vis)
        out[applicants] = build_features(rows, world.size, spec, vis)[applicants]
    return out


def _auc(y: BoolArray, p: FloatArray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties averaged)."""
    from scipy.stats import rankdata

    ranks = rankdata(p)
    pos = int(y.sum())
    neg = y.shape[0] - pos
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _ks(y: BoolArray, p: FloatArray) -> float:
    order = np.argsort(-p, kind="stable")
    bad = np.cumsum(y[order]) / max(1, int(y.sum()))
    good = np.cumsum(~y[order]) / max(1, int((~y).sum()))
    return float(np.max(np.abs(bad - good)))


def _metrics(y: BoolArray, p: FloatArray, rng: np.random.Generator, rounds: int) -> dict[str, Any]:
    aucs, kss, briers = [], [], []
    for _ in range(rounds):
        i = rng.integers(0, y.shape[0], size=y.shape[0])
        if 0 < y[i].sum() < y.shape[0]:
            aucs.append(_auc(y[i], p[i]))
            kss.append(_ks(y[i], p[i]))
            briers.append(float(np.mean((p[i] - y[i]) ** 2)))

    def ci(values: list[float]) -> list[float]:
        return [
            round(float(np.percentile(values, 2.5)), 4),
            round(float(np.percentile(values, 97.5)), 4),
        ]

    return {
        "auc": round(_auc(y, p), 4),
        "auc_ci": ci(aucs),
        "ks": round(_ks(y, p), 4),
        "ks_ci": ci(kss),
        "brier": round(float(np.mean((p - y) ** 2)), 5),
        "brier_ci": [
            round(float(np.percentile(briers, 2.5)), 5),
            round(float(np.percentile(briers, 97.5)), 5),
        ],
    }


def _curves(y: BoolArray, p: FloatArray, points: int = 40) -> dict[str, list[list[float]]]:
    """ROC points (false-positive rate, true-positive rate) and calibration by PD decile."""
    cuts = np.unique(np.quantile(p, np.linspace(0, 1, points + 1)))[::-1]
    pos, neg = max(1, int(y.sum())), max(1, int((~y).sum()))
    fpr = [0.0] + [round(float(((p >= c) & ~y).sum() / neg), 4) for c in cuts] + [1.0]
    tpr = [0.0] + [round(float(((p >= c) & y).sum() / pos), 4) for c in cuts] + [1.0]
    decile = np.minimum(9, (np.argsort(np.argsort(p, kind="stable")) * 10) // p.shape[0])
    predicted = [round(float(p[decile == d].mean()), 5) for d in range(10)]
    observed = [round(float(y[decile == d].mean()), 5) for d in range(10)]
    return {"roc": [fpr, tpr], "calibration": [predicted, observed]}


def score_report(doc: dict[str, Any]) -> str:
    """An HTML page of a ``bench score`` run: ROC and calibration charts, figures by regime."""
    from ledger_client.charts import HtmlReport, xy_chart

    page = HtmlReport(
        "Credit scores: what cross-region sharing is worth",
        f"credit-chain bench score, seed {doc['seed']}, {doc['held_out']:,} held-out enterprises",
    )
    curves = doc["curves"]
    page.heading("Discrimination and calibration")
    charts = (
        ("roc", "ROC, held-out enterprises", "false-positive rate", "true-positive rate",
         "local: one city's records; shared: five cities under consent; scitech: shared + "
         "sci-tech indicators"),
        ("calibration", "Calibration by PD decile", "mean predicted PD", "observed default rate",
         "each point is a tenth of the held-out enterprises, ordered by PD"),
    )  # fmt: skip
    for key, title, xlabel, ylabel, caption in charts:
        series = {r: tuple(curves[r][key]) for r in REGIMES}
        svg = xy_chart(series, title=title, xlabel=xlabel, ylabel=ylabel, diagonal=True)
        page.chart(svg, caption)
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
    page.heading("Approval and default rates by grade (shared)")
    page.table(
        ["grade", "enterprises", "approved", "default rate"],
        [
            [
                g["grade"],
                g["enterprises"],
                "yes" if g["approved"] else "no",
                g["default_rate"] or "-",
            ]
            for g in doc["decisions"]["shared"]["by_grade"]
        ],
    )
    return page.render()


def _split(world: CreditWorld, seed: int) -> BoolArray:
    """The held-out enterprises: 30 %, drawn from the seed."""
    return np.random.default_rng(seed + 1).random(world.size) < 0.3


def _fit_and_score(
    world: CreditWorld, regime: str, test: BoolArray
) -> tuple[Scorecard, FloatArray]:
    spec, _ = REGIMES[regime]
    x = regime_features(world, regime)
    card = fit_scorecard(x[~test], world.defaulted[~test], spec)
    return card, card.score(x[test]).pd


def _by_grade(y: BoolArray, pd: FloatArray) -> list[dict[str, Any]]:
    grade = np.searchsorted(
        np.asarray([0.003, 0.006, 0.01, 0.02, 0.04, 0.08, 0.15, 0.30]), pd, side="left"
    )
    rows = []
    for g, name in enumerate(GRADES):
        mask = grade == g
        n = int(mask.sum())
        rows.append({
            "grade": name,
            "enterprises": n,
            "approved": g <= APPROVE_UP_TO,
            "default_rate": round(float(y[mask].mean()), 4) if n else None,
        })  # fmt: skip
    return rows


def _decisions(y: BoolArray, pds: dict[str, FloatArray]) -> dict[str, Any]:
    from ledger_client.scoring.models import grade_of

    out: dict[str, Any] = {}
    for regime, pd in pds.items():
        approved = grade_of(pd) <= APPROVE_UP_TO
        out[regime] = {
            "approved": int(approved.sum()),
            "approved_defaults": int((approved & y).sum()),
            "approved_default_rate": round(float(y[approved].mean()), 4)
            if approved.any()
            else None,
            "by_grade": _by_grade(y, pd),
        }
    avoided = out["local"]["approved_defaults"] - out["shared"]["approved_defaults"]
    out["defaults_avoided_by_sharing"] = avoided
    out["losses_avoided_by_sharing_fen"] = round(avoided * LGD * LOAN_FEN)
    return out


def _uplift(seed: int, count: int, levels: tuple[float, ...], rounds: int) -> list[dict[str, Any]]:
    out = []
    for level in levels:
        world = make_credit_world(seed, count, cross_city_mean=level)
        test = _split(world, seed)
        y = world.defaulted[test]
        _, local = _fit_and_score(world, "local", test)
        _, shared = _fit_and_score(world, "shared", test)
        rng = np.random.default_rng(seed + 2)
        diffs = []
        for _ in range(rounds):
            i = rng.integers(0, y.shape[0], size=y.shape[0])
            if 0 < y[i].sum() < y.shape[0]:
                diffs.append(_auc(y[i], shared[i]) - _auc(y[i], local[i]))
        out.append({
            "cross_city_mean": level,
            "local_auc": round(_auc(y, local), 4),
            "shared_auc": round(_auc(y, shared), 4),
            "uplift": round(_auc(y, shared) - _auc(y, local), 4),
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
    test = _split(world, seed)
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
        card, pd = _fit_and_score(world, regime, test)
        cards[regime], pds[regime] = card, pd
        m = _metrics(y, pd, np.random.default_rng(seed + 3), rounds)
        for key, value in m.items():
            doc[f"{regime}_{key}"] = value
        doc[f"{regime}_model_hash"] = "0x" + card.hash().hex()
        doc[f"{regime}_feature_spec_hash"] = "0x" + card.spec.hash().hex()
    doc["curves"] = {regime: _curves(y, pd) for regime, pd in pds.items()}
    doc["shared_minus_local_auc"] = round(doc["shared_auc"] - doc["local_auc"], 4)
    x = regime_features(world, "scitech")
    boosted = fit_boosted(x[~test], world.defaulted[~test], SCITECH_FEATURES, seed)
    doc["scitech_boosted_auc"] = round(_auc(y, boosted.pd(x[test])), 4)
    doc["scitech_boosted_brier"] = round(float(np.mean((boosted.pd(x[test]) - y) ** 2)), 5)
    doc["decisions"] = _decisions(y, pds)
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
