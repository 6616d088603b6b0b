"""How well PDs rank and fit outcomes: AUC, KS, Brier with bootstrap intervals; ROC and
calibration curves, and the page section that draws them.

The bench (``credit-chain bench score``) and the simulation report read the
same figures and draw the same two charts from them (:func:`score_charts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ledger_client.charts import HtmlReport

__all__ = ["auc", "bootstrap_metrics", "curves", "ks", "score_charts"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def auc(y: BoolArray, p: FloatArray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties averaged)."""
    from scipy.stats import rankdata

    ranks = rankdata(p)
    pos = int(y.sum())
    neg = y.shape[0] - pos
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def ks(y: BoolArray, p: FloatArray) -> float:
    """Kolmogorov-Smirnov: the widest gap between defaulters' and others' PD distributions."""
    order = np.argsort(-p, kind="stable")
    bad = np.cumsum(y[order]) / max(1, int(y.sum()))
    good = np.cumsum(~y[order]) / max(1, int((~y).sum()))
    return float(np.max(np.abs(bad - good)))


def bootstrap_metrics(
    y: BoolArray, p: FloatArray, rng: np.random.Generator, rounds: int
) -> dict[str, Any]:
    """AUC, KS and Brier score, each with its 95 % bootstrap interval over ``rounds`` draws."""
    aucs, kss, briers = [], [], []
    for _ in range(rounds):
        i = rng.integers(0, y.shape[0], size=y.shape[0])
        if 0 < y[i].sum() < y.shape[0]:
            aucs.append(auc(y[i], p[i]))
            kss.append(ks(y[i], p[i]))
            briers.append(float(np.mean((p[i] - y[i]) ** 2)))

    def ci(values: list[float], digits: int = 4) -> list[float]:
        return [
            round(float(np.percentile(values, 2.5)), digits),
            round(float(np.percentile(values, 97.5)), digits),
        ]

    return {
        "auc": round(auc(y, p), 4),
        "auc_ci": ci(aucs),
        "ks": round(ks(y, p), 4),
        "ks_ci": ci(kss),
        "brier": round(float(np.mean((p - y) ** 2)), 5),
        "brier_ci": ci(briers, 5),
    }


def curves(y: BoolArray, p: FloatArray, points: int = 40) -> dict[str, list[list[float]]]:
    """ROC points (false-positive rate, true-positive rate) and calibration by PD decile."""
    cuts = np.unique(np.quantile(p, np.linspace(0, 1, points + 1)))[::-1]
    pos, neg = max(1, int(y.sum())), max(1, int((~y).sum()))
    fpr = [0.0] + [round(float(((p >= c) & ~y).sum() / neg), 4) for c in cuts] + [1.0]
    tpr = [0.0] + [round(float(((p >= c) & y).sum() / pos), 4) for c in cuts] + [1.0]
    decile = np.minimum(9, (np.argsort(np.argsort(p, kind="stable")) * 10) // p.shape[0])
    predicted = [round(float(p[decile == d].mean()), 5) for d in range(10)]
    observed = [round(float(y[decile == d].mean()), 5) for d in range(10)]
    return {"roc": [fpr, tpr], "calibration": [predicted, observed]}


def score_charts(page: HtmlReport, by_regime: Mapping[str, Mapping[str, Any]], legend: str) -> None:
    """Draw the ROC and the calibration chart of each regime's :func:`curves` on ``page``."""
    from ledger_client.charts import xy_chart

    charts = (
        ("roc", "ROC, held-out enterprises", "false-positive rate", "true-positive rate", legend),
        ("calibration", "Calibration by PD decile", "mean predicted PD", "observed default rate",
         "each point is a tenth of the held-out enterprises, ordered by PD"),
    )  # fmt: skip
    for key, title, xlabel, ylabel, caption in charts:
        series = {r: (c[key][0], c[key][1]) for r, c in by_regime.items()}
        svg = xy_chart(series, title=title, xlabel=xlabel, ylabel=ylabel, diagonal=True)
        page.chart(svg, caption)
