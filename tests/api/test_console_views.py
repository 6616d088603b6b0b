"""The console's pieces that need no browser: the warning rules file and the profile's
sections that appear when other projections index scores or pledges."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from api.console.views import OPTIONAL_SECTIONS, _sections_when_indexed
from api.console.warnings import RULES_FILE, RuleFileError, load_rules


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


def test_score_and_pledge_tables_appear_in_the_profile_once_indexed() -> None:
    db = sqlite3.connect(":memory:")
    me, other = b"\x01" * 32, b"\x02" * 32
    assert _sections_when_indexed(db, me) == {}
    db.execute("CREATE TABLE credit_scores (subject BLOB, score INTEGER, reason TEXT)")
    db.execute("CREATE TABLE collateral_pledges (subject BLOB, asset BLOB)")
    db.execute("CREATE TABLE scores_meta (model TEXT)")  # no subject: not a profile's
    db.execute("INSERT INTO credit_scores VALUES (?, 712, 'R1')", (me,))
    db.execute("INSERT INTO credit_scores VALUES (?, 500, 'R9')", (other,))
    db.execute("INSERT INTO collateral_pledges VALUES (?, ?)", (me, b"\xaa" * 32))
    found = _sections_when_indexed(db, me)
    assert found["scores"] == [
        {"table": "credit_scores", "subject": "0x" + me.hex(), "score": 712, "reason": "R1"}
    ]
    assert found["pledges"] == [
        {"table": "collateral_pledges", "subject": "0x" + me.hex(), "asset": "0x" + "aa" * 32}
    ]
    assert {k for k, _ in OPTIONAL_SECTIONS} == {"scores", "pledges"}
