"""Credit models: a transparent scorecard and a gradient-boosted model; PD, grades, reasons.

The scorecard is what gets attested. Each feature is cut into quantile bins
on the training set, each bin replaced by its weight of evidence
(WoE = ln(share of non-defaulters / share of defaulters), smoothed by half a
count), and a logistic regression (scikit-learn) is fitted on the WoE
columns; its output is the probability of default (PD), calibrated by the
logistic fit itself. The artefact (:class:`Scorecard`) is plain numbers:
bin edges, WoE per bin, coefficients and the intercept, so anyone can
recompute a score from it with numpy alone, and :meth:`Scorecard.hash` (over
its canonical JSON) identifies it. The reason codes behind a score are the
features that cost it most against their best bin.

The boosted model (scikit-learn's histogram gradient boosting, PD calibrated
isotonically) is the challenger the bench compares with; it is identified by
the hash of its pickled form, so it is recomputable only with the same
library versions, which is why the scorecard is the model of record.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ledger_client.attestations.merkle import keccak256
from ledger_client.scoring.features import FeatureSpec
from ledger_client.types import Hash32

__all__ = [
    "GRADES",
    "PD_CEILINGS",
    "BoostedModel",
    "Score",
    "Scorecard",
    "fit_boosted",
    "fit_scorecard",
    "grade_of",
]

FloatArray = npt.NDArray[np.float64]

#: Grades from best to worst, and the highest PD each admits (the last takes the rest).
GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
PD_CEILINGS = (0.003, 0.006, 0.01, 0.02, 0.04, 0.08, 0.15, 0.30, 1.0)
#: Scorecard points: 600 at odds 50:1 of good to bad, 20 points to double the odds.
_BASE_POINTS, _BASE_ODDS, _PDO = 600, 50.0, 20


def grade_of(pd: FloatArray) -> npt.NDArray[np.int64]:
    """The grade index (0 = AAA .. 8 = C) of each PD; it is also the attested PD bucket."""
    return np.searchsorted(np.asarray(PD_CEILINGS[:-1]), pd, side="left").astype(np.int64)


@dataclass(frozen=True)
class Score:
    """Scores of one or more enterprises."""

    pd: FloatArray  # probability of default within the horizon
    grade: npt.NDArray[np.int64]  # index into GRADES; the PD bucket
    points: npt.NDArray[np.int64]  # scorecard points (higher is safer)
    reasons: list[tuple[str, ...]]  # top reason codes (feature names), worst first

    def pd_basis_points(self) -> npt.NDArray[np.int64]:
        """PD in basis points, rounded: what an attestation carries."""
        return np.rint(self.pd * 10_000).astype(np.int64)


@dataclass(frozen=True)
class Scorecard:
    """A fitted WoE scorecard: everything needed to recompute a score, as numbers."""

    spec: FeatureSpec
    edges: tuple[tuple[float, ...], ...]  # per feature: the cut points between its bins
    woe: tuple[tuple[float, ...], ...]  # per feature: WoE of each bin (len(edges) + 1)
    coef: tuple[float, ...]  # logistic coefficient of each feature's WoE
    intercept: float

    def to_json(self) -> dict[str, Any]:
        """The published artefact."""
        return {
            "kind": "woe-scorecard",
            "featureSpec": "0x" + bytes(self.spec.hash()).hex(),
            "specName": self.spec.name,
            "features": [
                {"name": n, "edges": list(e), "woe": list(w), "coef": c}
                for n, e, w, c in zip(
                    self.spec.features, self.edges, self.woe, self.coef, strict=True
                )
            ],
            "intercept": self.intercept,
            "grades": [[g, c] for g, c in zip(GRADES, PD_CEILINGS, strict=True)],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], spec: FeatureSpec) -> Scorecard:
        """The scorecard published as ``doc`` for ``spec`` (its hash must match)."""
        if doc.get("featureSpec") != "0x" + bytes(spec.hash()).hex():
            from ledger_client.errors import ScoreMismatch

            raise ScoreMismatch("feature specification", doc.get("featureSpec"), spec.name)
        feats = doc["features"]
        return cls(
            spec,
            tuple(tuple(float(x) for x in f["edges"]) for f in feats),
            tuple(tuple(float(x) for x in f["woe"]) for f in feats),
            tuple(float(f["coef"]) for f in feats),
            float(doc["intercept"]),
        )

    def hash(self) -> Hash32:
        """keccak256 of the artefact's canonical JSON: the model's identity."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return keccak256(text.encode())

    def _contributions(self, x: FloatArray) -> FloatArray:
        """Each feature's term in the log-odds of default, per row."""
        out = np.empty_like(x, dtype=np.float64)
        for j, (edges, woe, coef) in enumerate(zip(self.edges, self.woe, self.coef, strict=True)):
            bins = np.searchsorted(np.asarray(edges), x[:, j], side="right")
            out[:, j] = coef * np.asarray(woe)[bins]
        return out

    def score(self, x: FloatArray, reasons: int = 3) -> Score:
        """PD, grade, points and the top ``reasons`` reason codes of each row of ``x``."""
        contrib = self._contributions(x)
        logit = self.intercept + contrib.sum(axis=1)
        pd = 1.0 / (1.0 + np.exp(-logit))
        factor = _PDO / np.log(2.0)
        points = np.rint(_BASE_POINTS + factor * (np.log(_BASE_ODDS) - logit)).astype(np.int64)
        best = np.asarray(
            [min(c * w for w in woe) for c, woe in zip(self.coef, self.woe, strict=True)]
        )
        lost = contrib - best  # what each feature costs against its best bin
        order = np.argsort(-lost, axis=1, kind="stable")[:, :reasons]
        names = self.spec.features
        why = [tuple(names[j] for j in row if lost[i, j] > 0) for i, row in enumerate(order)]
        return Score(pd, grade_of(pd), points, why)


def _bin_edges(column: FloatArray, bins: int) -> tuple[float, ...]:
    qs = np.quantile(column, np.linspace(0, 1, bins + 1)[1:-1])
    return tuple(float(q) for q in np.unique(qs))


def fit_scorecard(
    x: FloatArray, y: npt.NDArray[np.bool_], spec: FeatureSpec, bins: int = 6
) -> Scorecard:
    """Fit a WoE scorecard on features ``x`` (columns in ``spec``'s order) and defaults ``y``."""
    from sklearn.linear_model import LogisticRegression

    bad_total = float(y.sum()) + 0.5
    good_total = float((~y).sum()) + 0.5
    edges, woes = [], []
    z = np.empty_like(x, dtype=np.float64)
    for j in range(x.shape[1]):
        e = _bin_edges(x[:, j], bins)
        idx = np.searchsorted(np.asarray(e), x[:, j], side="right")
        bad = np.bincount(idx, weights=y.astype(np.float64), minlength=len(e) + 1)
        count = np.bincount(idx, minlength=len(e) + 1).astype(np.float64)
        good = count - bad
        woe = np.log(((good + 0.5) / good_total) / ((bad + 0.5) / bad_total))
        edges.append(e)
        woes.append(tuple(float(w) for w in woe))
        z[:, j] = woe[idx]
    model = LogisticRegression(C=1.0, max_iter=1_000)
    model.fit(z, y.astype(np.int64))
    return Scorecard(
        spec,
        tuple(edges),
        tuple(woes),
        tuple(float(c) for c in model.coef_[0]),
        float(model.intercept_[0]),
    )


@dataclass(frozen=True)
class BoostedModel:
    """A calibrated gradient-boosted model and the hash that identifies it."""

    spec: FeatureSpec
    model: Any  # sklearn CalibratedClassifierCV over HistGradientBoostingClassifier

    def hash(self) -> Hash32:
        """keccak256 of the pickled model (stable for the same library versions)."""
        return keccak256(pickle.dumps(self.model, protocol=5))

    def pd(self, x: FloatArray) -> FloatArray:
        """Calibrated probability of default of each row."""
        return np.asarray(self.model.predict_proba(x)[:, 1], dtype=np.float64)


def fit_boosted(
    x: FloatArray, y: npt.NDArray[np.bool_], spec: FeatureSpec, seed: int = 0
) -> BoostedModel:
    """Fit histogram gradient boosting with isotonic PD calibration (3-fold)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    base = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40,
        l2_regularization=1.0, random_state=seed,
    )  # fmt: skip
    model = CalibratedClassifierCV(base, method="isotonic", cv=3)
    model.fit(x, y.astype(np.int64))
    return BoostedModel(spec, model)
