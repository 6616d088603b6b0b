"""The world of the simulation: the five cities, their institutions and enterprises.

Institution names are fictional: the simulator shows how the chain would work
for banks of each city without implying that any real bank takes part.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ledger_client.types import City, Role
from ledger_client.uscc import generate_uscc

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
