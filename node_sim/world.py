"""The world of the simulation: the five cities, their institutions and enterprises.

Institution names are fictional: the simulator shows how the chain would work
for banks of each city without implying that any real bank takes part.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ledger_client.identity.uscc import generate_uscc
from ledger_client.types import City, Role

#: Administrative-division codes of each city's government seat (GB/T 2260),
#: used as the division part of simulated enterprises' USCCs.
DIVISIONS: dict[City, str] = {
    City.SHANGHAI: "310115",  # Pudong New Area
    City.NANJING: "320106",  # Gulou District
    City.HANGZHOU: "330106",  # Xihu District
    City.HEFEI: "340104",  # Shushan District
    City.JIAXING: "330402",  # Nanhu District
}

#: Industries the 2022 reform plan names for the sci-tech finance zones.
INDUSTRIES = (
    "integrated circuits",
    "biomedicine",
    "artificial intelligence",
    "new materials",
    "software",
    "new energy vehicles",
    "high-end equipment",
    "quantum information",
)


@dataclass(frozen=True)
class InstitutionSpec:
    """A member institution to admit."""

    label: str  # keyring label, e.g. "bank:shanghai"
    name: str  # public name
    city: City
    roles: Role


REGULATOR = InstitutionSpec(
    "regulator",
    "Yangtze Delta Credit Regulator (PBoC Shanghai Head Office, simulated)",
    City.SHANGHAI,
    Role.REGULATOR,
)

_BANKS = {
    City.SHANGHAI: "Pudong Sci-Tech Bank",
    City.NANJING: "Jinling Commercial Bank",
    City.HANGZHOU: "Qiantang Innovation Bank",
    City.HEFEI: "Chaohu Science Bank",
    City.JIAXING: "Nanhu Rural Commercial Bank",
}
_BUREAUS = {
    City.SHANGHAI: "Shanghai Enterprise Credit Bureau",
    City.NANJING: "Nanjing Credit Information Service",
    City.HANGZHOU: "Hangzhou Credit Reference Center",
    City.HEFEI: "Hefei Credit Information Service",
    City.JIAXING: "Jiaxing Credit Reference Center",
}


def consortium_institutions() -> list[InstitutionSpec]:
    """A bank and a credit bureau in each city, and an auditor in Shanghai."""
    out: list[InstitutionSpec] = []
    for city in City:
        key = city.name.lower()
        out.append(
            InstitutionSpec(f"bank:{key}", _BANKS[city], city, Role.ATTESTER | Role.FINANCIER)
        )
        out.append(
            InstitutionSpec(f"bureau:{key}", _BUREAUS[city], city, Role.ATTESTER | Role.REGISTRAR)
        )
    out.append(
        InstitutionSpec(
            "auditor", "Delta Ledger Audit Office (simulated)", City.SHANGHAI, Role.AUDITOR
        )
    )
    return out


@dataclass(frozen=True)
class EnterpriseSpec:
    """A simulated enterprise (data subject)."""

    label: str  # keyring label
    name: str  # off-chain name; never goes on chain
    uscc: str  # off-chain code; only its keyed hash goes on chain
    city: City
    industry: str


_NAME_PARTS = ("Xinyuan", "Huaxin", "Zhiyuan", "Tianrui", "Lianchuang", "Jinghe", "Boyu", "Haoli")
_NAME_KINDS = ("Semiconductor", "Biotech", "Intelligent Systems", "Materials", "Software")


def make_enterprises(rng: random.Random, per_city: int) -> list[EnterpriseSpec]:
    """``per_city`` enterprises in each city, with valid USCCs and fictional names."""
    out = []
    for city in City:
        for i in range(per_city):
            name = f"{city.label} {rng.choice(_NAME_PARTS)} {rng.choice(_NAME_KINDS)} Co., Ltd."
            out.append(
                EnterpriseSpec(
                    label=f"enterprise:{city.name.lower()}:{i}",
                    name=name,
                    uscc=generate_uscc(rng, DIVISIONS[city]),
                    city=city,
                    industry=rng.choice(INDUSTRIES),
                )
            )
    return out


#: How enterprises spread over the five cities (roughly the zones' relative size).
CITY_WEIGHTS: dict[City, float] = {
    City.SHANGHAI: 0.30,
    City.HANGZHOU: 0.22,
    City.NANJING: 0.20,
    City.HEFEI: 0.18,
    City.JIAXING: 0.10,
}
SIZES = ("micro", "small", "medium", "large")
_SIZE_WEIGHTS = (0.45, 0.35, 0.15, 0.05)
#: Monthly loan instalment by size, in fen (CNY cents).
_INSTALMENT_FEN = {
    "micro": 2_000_000,
    "small": 8_000_000,
    "medium": 30_000_000,
    "large": 120_000_000,
}


@dataclass(frozen=True)
class EnterpriseProfile:
    """A simulated enterprise and its credit behaviour."""

    spec: EnterpriseSpec  # identity: label, name, USCC, city, industry
    size: str  # micro, small, medium or large
    reliability: float  # probability of paying an instalment on time
    lender: City | None  # the city of the bank lending to it; None when it has no loan
    instalment_fen: int  # monthly instalment, fen
    due_day: int  # day of the month instalments fall due (1..28)


def make_population(rng: random.Random, count: int) -> list[EnterpriseProfile]:
    """``count`` enterprises over the five cities, each with a size, a loan and a habit.

    About seven in ten borrow; three in ten of those from a bank in another
    city, which is what makes cross-region credit sharing matter.
    """
    cities = list(CITY_WEIGHTS)
    weights = list(CITY_WEIGHTS.values())
    out: list[EnterpriseProfile] = []
    per_city: dict[City, int] = dict.fromkeys(City, 0)
    for _ in range(count):
        city = rng.choices(cities, weights)[0]
        i = per_city[city]
        per_city[city] += 1
        name = f"{city.label} {rng.choice(_NAME_PARTS)} {rng.choice(_NAME_KINDS)} Co., Ltd."
        spec = EnterpriseSpec(
            label=f"enterprise:{city.name.lower()}:{i}",
            name=name,
            uscc=generate_uscc(rng, DIVISIONS[city]),
            city=city,
            industry=rng.choice(INDUSTRIES),
        )
        size = rng.choices(SIZES, _SIZE_WEIGHTS)[0]
        borrows = rng.random() < 0.7
        lender = (city if rng.random() < 0.7 else rng.choice(cities)) if borrows else None
        # Most pay on time; a tail of weak payers makes the overdue records.
        reliability = 0.999 - rng.betavariate(1.2, 18)
        out.append(
            EnterpriseProfile(
                spec=spec,
                size=size,
                reliability=max(0.5, reliability),
                lender=lender,
                instalment_fen=_INSTALMENT_FEN[size] + rng.randrange(0, 500_000),
                due_day=rng.randint(1, 28),
            )
        )
    return out


@dataclass(frozen=True)
class SupplyChain:
    """A core enterprise (核心企业) and the tiers of suppliers behind it.

    ``suppliers`` maps each member of the chain (the core included) to its
    direct suppliers, one tier further out; ``tier`` gives each supplier's tier
    (1 for the core's own suppliers). A supplier may sit in several chains.
    """

    core: str  # label of the core enterprise
    suppliers: dict[str, tuple[str, ...]]  # label -> labels of its direct suppliers
    tier: dict[str, int]  # supplier label -> tier (1..3)


#: Suppliers per enterprise at each tier (inclusive ranges), and how often one is in another city.
_TIER_FANOUT = {1: (2, 4), 2: (0, 3), 3: (0, 2)}
_CROSS_CITY = {1: 0.55, 2: 0.35, 3: 0.25}
MAX_TIER = 3


def make_supply_chains(
    rng: random.Random, population: list[EnterpriseProfile]
) -> list[SupplyChain]:
    """A supply chain behind every large enterprise (at least one chain in any world).

    Tier-1 suppliers are often in another of the five cities, as the region's
    integrated-circuit and new-energy-vehicle chains are; deeper tiers less often.
    """
    cores = [e for e in population if e.size == "large"] or population[:1]
    core_labels = {e.spec.label for e in cores}
    by_city: dict[City, list[EnterpriseProfile]] = {city: [] for city in City}
    for ent in population:
        if ent.spec.label not in core_labels:
            by_city[ent.spec.city].append(ent)
    cities = [c for c in City if by_city[c]]
    if not cities:
        return []
    chains = []
    for core in cores:
        suppliers: dict[str, tuple[str, ...]] = {}
        tier: dict[str, int] = {}
        frontier = [(core, 0)]
        while frontier:
            buyer, level = frontier.pop(0)
            if level == MAX_TIER:
                continue
            low, high = _TIER_FANOUT[level + 1]
            chosen: list[str] = []
            for _ in range(rng.randint(low, high)):
                home = buyer.spec.city if by_city[buyer.spec.city] else rng.choice(cities)
                city = rng.choice(cities) if rng.random() < _CROSS_CITY[level + 1] else home
                pick = rng.choice(by_city[city])
                label = pick.spec.label
                if label in tier or label == core.spec.label or label in chosen:
                    continue  # one place per enterprise in a chain
                chosen.append(label)
                tier[label] = level + 1
                frontier.append((pick, level + 1))
            suppliers[buyer.spec.label] = tuple(chosen)
        chains.append(SupplyChain(core.spec.label, suppliers, tier))
    return chains
