"""A world with something to learn: latent credit quality, sci-tech attributes, defaults.

Every simulated enterprise has a latent credit quality made of two parts: a
financial part that drives how it pays (loan instalments, overdue records,
tax grade, utility bills, social insurance, receivables it owes) and a
technology part that drives its sci-tech attributes (R&D intensity, patents
and their quality, talent, revenue growth, equity raised). Whether it
defaults within the horizon is drawn from both, so a model that sees only
payment records, or only part of them, has something left to discover.

Each record is held by the member institution it came from: a loan's
instalments by the lending bank, tax, utility, social-insurance and sci-tech
records by the credit bureau of the enterprise's city, a receivable default by
the bureau of the core enterprise's city. A share of each enterprise's
business (``cross_city``) is with institutions of the other four cities; that
is what the chain's consented sharing can reveal and a single city cannot.

The parameters are :data:`PARAMETERS`, each with its source; they are fixed
here, before any model is fitted, and no model's score feeds back into them.
Everything is drawn with numpy from one seed, so the same seed gives the same
world, record for record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ledger_client.scoring.features import (
    RECORD_FEATURES,
    SCITECH_FEATURES,
    FeatureSpec,
    build_features,
)
from ledger_client.scoring.models import Scorecard, fit_scorecard
from ledger_client.scoring.records import (
    RecordKind,
    RecordTable,
    bank_of,
    bureau_of,
)
from ledger_client.scoring.visibility import Visibility, visible_rows
from ledger_client.types import City
from node_sim.world import CITY_WEIGHTS, INDUSTRIES

__all__ = [
    "PARAMETERS",
    "REGIMES",
    "STAGES",
    "CreditWorld",
    "WorldParameter",
    "fit_and_score",
    "held_out",
    "make_credit_world",
    "regime_features",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Growth stages of a sci-tech enterprise, youngest first.
STAGES = ("seed", "start-up", "growth", "mature")


@dataclass(frozen=True)
class WorldParameter:
    """One parameter of the world, its value and where the value comes from."""

    name: str
    value: str  # as the README shows it
    source: str


#: The world's parameters and their sources (rendered as the README's table).
#: Where no published figure exists the row says so and the value is an assumption.
PARAMETERS: tuple[WorldParameter, ...] = (
    WorldParameter(
        "12-month default rate, all stages",
        "3.0 % (mature 1.5 %, growth 2.5 %, start-up 4 %, seed 6 %)",
        "NFRA/CBIRC press releases 2019-2023: non-performing ratio of inclusive small and "
        "micro loans about 2-3 %; younger firms riskier (stage split assumed)",
    ),
    WorldParameter(
        "share of business with institutions of other cities",
        "mean 30 %, Beta(1.5, 3.5) per enterprise",
        "no published figure for the five cities; matches node_sim.world (3 in 10 loans "
        "from a bank in another city); the bench sweeps it",
    ),
    WorldParameter(
        "growth stages",
        "seed 15 %, start-up 30 %, growth 35 %, mature 20 %",
        "assumption; the plan (sections 四-八) treats start-up and growth-stage firms apart",
    ),
    WorldParameter(
        "industries",
        ", ".join(INDUSTRIES),
        "industries named by the 2022 reform plan for the zones (node_sim.world.INDUSTRIES)",
    ),
    WorldParameter(
        "sci-tech indicator classes",
        "technology innovation, growth, investment, talent",
        "MOST Torch Centre 企业创新积分制 (innovation points scheme) indicator classes",
    ),
    WorldParameter(
        "R&D intensity",
        "lognormal, median 8 % (seed 15 %, mature 4 %)",
        "assumption in line with STAR Market listing rules (R&D >= 5-15 % of revenue)",
    ),
    WorldParameter(
        "weight of the technology part in latent quality",
        "0.6 (financial part 0.8)",
        "assumption: what makes sci-tech indicators informative beyond payment records",
    ),
    WorldParameter(
        "observation window / horizon",
        "12 months of records, then default within 12 months",
        "Basel one-year PD horizon",
    ),
)

_STAGE_WEIGHTS = (0.15, 0.30, 0.35, 0.20)
_STAGE_DEFAULT_RATE = (0.06, 0.04, 0.025, 0.015)
_CROSS_CITY_BETA = (1.5, 3.5)  # mean 0.30
_FIN_WEIGHT = 0.8
_TECH_WEIGHT = 0.6
_MONTHS = 12
_LOANS_MEAN = (0.6, 0.9, 1.3, 1.8)  # extra loans beyond the first, by stage
_STAGE_RD_MEDIAN = (0.15, 0.11, 0.07, 0.04)


@dataclass(frozen=True)
class CreditWorld:
    """Enterprises with their hidden truth, and every record the members hold about them."""

    seed: int
    city: IntArray  # index into City (list order)
    industry: IntArray  # index into INDUSTRIES
    stage: IntArray  # index into STAGES
    cross_city: FloatArray  # share of business with institutions of other cities
    quality: FloatArray  # latent credit quality (higher is better); never shown to a model
    defaulted: npt.NDArray[np.bool_]  # ground truth: defaults within the horizon
    records: RecordTable  # every record held by any member

    @property
    def size(self) -> int:
        """Number of enterprises."""
        return int(self.city.shape[0])

    def home_bank(self) -> IntArray:
        """The member index of each enterprise's own-city bank (where it applies)."""
        return np.asarray([bank_of(c) for c in City], dtype=np.int64)[self.city]


def _logit_shift(score: FloatArray, target: float) -> float:
    """The intercept that makes mean(sigmoid(intercept + score)) equal ``target``."""
    low, high = -20.0, 20.0
    for _ in range(60):  # bisection: 60 halvings reach float precision
        mid = (low + high) / 2
        if float(np.mean(1 / (1 + np.exp(-(mid + score))))) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def make_credit_world(
    seed: int, count: int, *, cross_city_mean: float | None = None
) -> CreditWorld:
    """``count`` enterprises and their records, drawn from ``seed``.

    ``cross_city_mean`` overrides the mean share of business with other cities
    (the Beta's concentration kept), for measuring the value of sharing as that
    share grows; the default is :data:`PARAMETERS`'.
    """
    rng = np.random.default_rng(seed)
    cities = list(City)
    city_p = np.array([CITY_WEIGHTS[c] for c in cities])
    city = rng.choice(len(cities), size=count, p=city_p / city_p.sum()).astype(np.int64)
    industry = rng.integers(0, len(INDUSTRIES), size=count).astype(np.int64)
    stage = rng.choice(len(STAGES), size=count, p=np.array(_STAGE_WEIGHTS)).astype(np.int64)
    a, b = _CROSS_CITY_BETA
    if cross_city_mean is not None:
        conc = a + b
        a, b = cross_city_mean * conc, (1 - cross_city_mean) * conc
    cross_city = rng.beta(a, b, size=count) if a > 0 else np.zeros(count)

    z_fin = rng.standard_normal(count)
    z_tech = rng.standard_normal(count)
    quality = _FIN_WEIGHT * z_fin + _TECH_WEIGHT * z_tech
    defaulted = np.zeros(count, dtype=np.bool_)
    u = rng.random(count)
    for s, rate in enumerate(_STAGE_DEFAULT_RATE):
        mask = stage == s
        if not mask.any():
            continue
        risk = -1.6 * quality[mask]
        shift = _logit_shift(risk, rate)
        defaulted[mask] = u[mask] < 1 / (1 + np.exp(-(shift + risk)))

    records = _records(
        rng, city=city, stage=stage, industry=industry, cross=cross_city, z_fin=z_fin, z_tech=z_tech
    )
    return CreditWorld(seed, city, industry, stage, cross_city, quality, defaulted, records)


def _holder_city(rng: np.random.Generator, home: IntArray, cross: FloatArray) -> IntArray:
    """Home city, or (with probability ``cross``) one of the four others, uniformly."""
    away = rng.random(home.shape[0]) < cross
    other = (home + rng.integers(1, len(City), size=home.shape[0])) % len(City)
    return np.where(away, other, home)


def _records(
    rng: np.random.Generator,
    *,
    city: IntArray,
    stage: IntArray,
    industry: IntArray,
    cross: FloatArray,
    z_fin: FloatArray,
    z_tech: FloatArray,
) -> RecordTable:
    count = city.shape[0]
    ids = np.arange(count, dtype=np.int64)
    banks = np.asarray([bank_of(c) for c in City])
    bureaus = np.asarray([bureau_of(c) for c in City])
    # What each enterprise shows in its payments: the financial part plus monthly noise.
    pay = z_fin + 0.3 * z_tech
    parts: list[RecordTable] = []

    # Loans: the first and a Poisson number more, each from a bank of home or another city,
    # twelve instalments each.
    loans = 1 + rng.poisson(np.asarray(_LOANS_MEAN)[stage])
    loan_owner = np.repeat(ids, loans)
    loan_bank = banks[_holder_city(rng, city[loan_owner], cross[loan_owner])]
    inst_owner = np.repeat(loan_owner, _MONTHS)
    inst_bank = np.repeat(loan_bank, _MONTHS)
    loan_no = np.repeat(np.arange(loan_owner.shape[0]), _MONTHS)
    late_p = 1 / (1 + np.exp(-(-3.2 - 1.3 * pay[inst_owner])))
    late = rng.random(inst_owner.shape[0]) < late_p
    days_late = np.where(late, rng.geometric(1 / 25, size=inst_owner.shape[0]), 0)
    due = 8_000_000 + (rng.random(inst_owner.shape[0]) * 4_000_000).astype(np.int64)
    paid = np.where(days_late > 60, due // 2, due)
    month = np.tile(np.arange(_MONTHS), loan_owner.shape[0])
    parts.append(
        RecordTable.of(
            RecordKind.LOAN_REPAYMENT,
            inst_owner,
            inst_bank,
            days_late,
            due,
            paid,
            loan_no,
            month=month,
        )
    )
    # An instalment more than 30 days late is also reported as an overdue record.
    over = days_late > 30
    parts.append(
        RecordTable.of(
            RecordKind.OVERDUE,
            inst_owner[over],
            inst_bank[over],
            days_late[over],
            due[over] - paid[over],
            loan_no[over],
            month=month[over],
        )
    )
    # Tax credit grade, assessed once by the home city's tax authority (A best .. D worst).
    grade = np.digitize(-pay + 0.7 * rng.standard_normal(count), [-0.8, 0.4, 1.4, 2.2])
    parts.append(RecordTable.of(RecordKind.TAX_GRADE, ids, bureaus[city], grade))
    # Utility bills and social insurance: monthly, lodged with the home city's bureau.
    m_owner = np.repeat(ids, _MONTHS)
    m_month = np.tile(np.arange(_MONTHS), count)
    util_late = np.where(
        rng.random(m_owner.shape[0]) < 1 / (1 + np.exp(-(-2.6 - 1.1 * pay[m_owner]))),
        rng.integers(1, 45, size=m_owner.shape[0]),
        0,
    )
    parts.append(
        RecordTable.of(
            RecordKind.UTILITY, m_owner, bureaus[city[m_owner]], util_late, month=m_month
        )
    )
    arrears = rng.poisson(np.exp(-2.8 - 1.2 * pay[m_owner]))
    staff = np.maximum(3, np.round(np.exp(2 + 0.8 * stage + 0.3 * z_tech))).astype(np.int64)
    parts.append(
        RecordTable.of(
            RecordKind.SOCIAL_INSURANCE,
            m_owner,
            bureaus[city[m_owner]],
            arrears,
            staff[m_owner],
            month=m_month,
        )
    )
    # Receivables it failed to pay, reported by the bureau of its counterparty's city.
    n_def = rng.poisson(np.exp(-2.5 - 1.0 * pay))
    rd_owner = np.repeat(ids, n_def)
    parts.append(
        RecordTable.of(
            RecordKind.RECEIVABLE_DEFAULT,
            rd_owner,
            bureaus[_holder_city(rng, city[rd_owner], cross[rd_owner])],
            rng.integers(31, 200, size=rd_owner.shape[0]),
            month=rng.integers(0, _MONTHS, size=rd_owner.shape[0]),
        )
    )
    # Sci-tech indicators (创新积分制 classes), one record per enterprise at its home bureau.
    rd_intensity = np.exp(
        np.log(np.asarray(_STAGE_RD_MEDIAN)[stage])
        + 0.35 * z_tech
        + 0.3 * rng.standard_normal(count)
    )
    patents = rng.poisson(np.exp(0.5 + 0.5 * stage + 0.5 * z_tech + 0.2 * (industry < 3)))
    invention_share = 1 / (1 + np.exp(-(0.6 * z_tech + 0.4 * rng.standard_normal(count))))
    inventions = np.round(patents * invention_share).astype(np.int64)
    talent_bp = np.round(
        10_000 / (1 + np.exp(-(-0.8 + 0.5 * z_tech + 0.3 * rng.standard_normal(count))))
    ).astype(np.int64)
    growth_bp = np.round(
        10_000 * (np.asarray([0.6, 0.4, 0.25, 0.08])[stage] + 0.15 * z_tech + 0.05 * z_fin)
        + 1_500 * rng.standard_normal(count)
    ).astype(np.int64)
    equity = np.round(
        np.exp(15 + 0.8 * stage + 0.6 * z_tech + 0.5 * rng.standard_normal(count))
    ).astype(np.int64)
    parts.append(
        RecordTable.of(
            RecordKind.SCITECH,
            ids,
            bureaus[city],
            stage,
            np.round(rd_intensity * 10_000).astype(np.int64),
            patents,
            inventions,
            talent_bp,
            growth_bp,
            equity,
            month=np.full(count, 11, dtype=np.int64),
        )
    )
    return RecordTable.concat(parts)


#: What a bank sees of its applicants, by regime: regime -> (feature spec, whether only the
#: bank's own city answers its queries). ``local``: its own records and what its own city's
#: members answer to its authorised query (no shared chain); ``shared``: what every member of
#: the five cities holds, reached by a query logged under the applicant's authorisation;
#: ``scitech``: ``shared`` plus the sci-tech indicator features.
REGIMES: dict[str, tuple[FeatureSpec, bool]] = {
    "local": (RECORD_FEATURES, True),
    "shared": (RECORD_FEATURES, False),
    "scitech": (SCITECH_FEATURES, False),
}


def regime_features(world: CreditWorld, regime: str) -> FloatArray:
    """Each enterprise's features as its home bank sees them under ``regime``.

    Visibility is enforced by the code a bank runs: each bank's
    :class:`~ledger_client.scoring.visibility.Visibility` authorises exactly its
    applicants (every schema), and for ``local`` only its own city's members answer;
    :func:`~ledger_client.scoring.features.build_features` re-checks every row.
    """
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


def held_out(world: CreditWorld, seed: int) -> npt.NDArray[np.bool_]:
    """The held-out enterprises (30 %, drawn from the seed): models never train on them."""
    return np.random.default_rng(seed + 1).random(world.size) < 0.3


def fit_and_score(
    world: CreditWorld, regime: str, test: npt.NDArray[np.bool_]
) -> tuple[Scorecard, FloatArray]:
    """A scorecard fitted on the enterprises outside ``test`` and the PDs of those in it."""
    spec, _ = REGIMES[regime]
    x = regime_features(world, regime)
    card = fit_scorecard(x[~test], world.defaulted[~test], spec)
    return card, card.score(x[test]).pd
