"""The console's pieces that need no browser: the warning rules file, and the joint limits
and the profile's lending sections read from an index of a lending world."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.console import views
from api.console.warnings import RULES_FILE, RuleFileError, load_rules
from ledger_client import Keyring, connect
from ledger_client.index import EventIndex
from pipeline.service import index_projections
from tests.lending_world import MILLION, build_lending_world, contract


def test_the_shipped_rules_file_loads_every_rule() -> None:
    rules = load_rules()
    assert {r.id for r in rules} >= {"receivable-overdue", "dispute-deadline"}
    assert all(r.title_zh and r.title_en for r in rules)
    assert RULES_FILE.name == "warning_rules.toml"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[rule]]\nid = 'x'\n", "lacks kind, severity, title_en, title_zh"),
        (
            "[[rule]]\nid='x'\nkind='nope'\nseverity='high'\ntitle_en='a'\ntitle_zh='b'\n",
            "names kind 'nope'",
        ),
        (
            "[[rule]]\nid='x'\nkind='member_suspended'\nseverity='dire'\n"
            "title_en='a'\ntitle_zh='b'\n",
            "severity is one of",
        ),
        ("[[rule]\n", "Expected"),
    ],
)
def test_a_malformed_rules_file_is_refused_by_name(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError, match=says):
        load_rules(path)


def test_a_rule_switched_off_is_not_evaluated(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        "[[rule]]\nid='x'\nkind='member_suspended'\nseverity='low'\ntitle_en='a'\n"
        "title_zh='b'\nenabled=false\n",
        encoding="utf-8",
    )
    assert load_rules(path) == []


def test_the_rules_file_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    rule = (
        "[[rule]]\nid='{}'\nkind='member_suspended'\nseverity='low'\ntitle_en='a'\ntitle_zh='b'\n"
    )
    path.write_text(rule.format("first"), encoding="utf-8")
    assert [r.id for r in load_rules(path)] == ["first"]
    path.write_text(rule.format("second"), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)  # an edit a second later
    assert [r.id for r in load_rules(path)] == ["second"]
    path.unlink()
    with pytest.raises(RuleFileError, match=r"rules\.toml"):
        load_rules(path)


def test_joint_limits_and_the_profile_lending_sections_read_the_index(
    tmp_path: Path, keyring: Keyring
) -> None:
    chain = connect("embedded")
    try:
        w = build_lending_world(chain, keyring)
        subject = w.subject(w.firm)
        pledged = w.pledge(w.bank_a)
        w.facility(w.bank_a, "A", pledges=(pledged.pledge_id,))
        w.facility(w.bank_b, "B")
        w.cf.draw(w.bank_a, subject, contract("A"), MILLION)  # before the agreement: counts
        no = w.joint(4 * MILLION, (w.bank_a, w.bank_b), (5_000, 5_000))
        w.cf.draw(w.bank_b, subject, contract("B"), 2 * MILLION)
        index = EventIndex(tmp_path / "index.sqlite", w.ledger, projections=index_projections())
        try:
            index.sync()
            with index.reading() as db:
                (row,) = views.joint_limits(db, {subject: "Hefei"})["agreements"]
                assert row["agreement"] == no
                assert (row["joint_limit_fen"], row["joint_exposure_fen"]) == (
                    4 * MILLION,
                    3 * MILLION,
                )
                assert row["utilisation"] == 0.75
                assert (row["flagged"], row["city"], row["lead"]) == (
                    False,
                    "Hefei",
                    w.bank_a.address,
                )
                w.cf.report_overdue(w.bank_b, subject, contract("B"), MILLION, 31)
            index.sync()
            with index.reading() as db:
                doc = views.risk(db, chain.now())
                assert doc["joint_limits"]["flagged"] == 1
                assert doc["rates_by_industry"] is None
                names = {s.schema_id: s.name for s in index.schemas()}
                profile = views.enterprise_profile(db, subject, chain.now(), names)
        finally:
            index.close()
    finally:
        chain.close()
    (pledge,) = profile["pledges"]
    assert (pledge["kind"], pledge["pledgee"], pledge["status"]) == (
        "patent",
        w.bank_a.address,
        "in force",
    )
    assert [(f["lender"], f["drawn_fen"]) for f in profile["facilities"]] == [
        (w.bank_b.address, 2 * MILLION),
        (w.bank_a.address, MILLION),
    ]
    assert profile["facilities"][1]["pledge_ids"] == ["0x" + bytes(pledged.pledge_id).hex()]
    (joint,) = profile["joint_agreements"]
    assert (joint["agreement"], joint["flagged"]) == (no, True)
    assert profile["scores"] == []
