"""Parsing of cities and roles."""

from __future__ import annotations

import pytest

from ledger_client import City, InvalidCity, InvalidRole, Role


@pytest.mark.parametrize(
    ("value", "city"),
    [("Shanghai", City.SHANGHAI), ("hefei", City.HEFEI), ("嘉兴", City.JIAXING), (2, City.NANJING)],
)
def test_city_parse(value: object, city: City) -> None:
    assert City.parse(value) is city


@pytest.mark.parametrize("value", ["Beijing", "", 0, 6, True, None, 1.0])
def test_bad_city_is_named(value: object) -> None:
    with pytest.raises(InvalidCity) as info:
        City.parse(value)
    assert "Shanghai, Nanjing, Hangzhou, Hefei, Jiaxing" in str(info.value)


def test_role_parse_and_names() -> None:
    roles = Role.parse("attester, financier")
    assert roles == Role.ATTESTER | Role.FINANCIER
    assert roles.names() == ["attester", "financier"]
    assert Role.parse(["regulator"]) == Role.REGULATOR
    assert Role.parse(Role.AUDITOR.value) == Role.AUDITOR


@pytest.mark.parametrize("value", ["banker", "", 64, -1, ["attester", "pilot"], 1.5])
def test_bad_role_is_named(value: object) -> None:
    with pytest.raises(InvalidRole):
        Role.parse(value)
