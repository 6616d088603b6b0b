"""Early warnings: the rules of ``warning_rules.toml`` evaluated over the event index.

The rules file is the one place an operator tunes them (thresholds, severity, titles, on or
off); each rule's ``kind`` names the evaluator below that reads it. A warning names its rule,
its severity, the entities involved and the transactions that triggered it, which the
console links into its explorer.
"""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger_client.errors import LedgerValueError
from ledger_client.types import ReceivableStatus

from .views import DAY, Viewer, authorised_subjects, disputes_near_deadline, query_patterns

__all__ = ["RULES_FILE", "RuleFileError", "WarningRule", "evaluate", "load_rules"]

RULES_FILE = Path(__file__).with_name("warning_rules.toml")
SEVERITIES = ("high", "medium", "low")
_OUTSTANDING = tuple(int(s) for s in ReceivableStatus if s.outstanding)


class RuleFileError(LedgerValueError):
    """The warning rules file is malformed: which rule, and what is wrong with it."""


@dataclass(frozen=True)
class WarningRule:
    """One rule of the file."""

    id: str
    kind: str
    severity: str
    title_en: str
    title_zh: str
    params: dict[str, Any]


Found = Iterator[dict[str, Any]]
Evaluator = Callable[[sqlite3.Connection, WarningRule, int], Found]


def _subject(value: bytes) -> dict[str, str]:
    return {"kind": "enterprise", "id": "0x" + bytes(value).hex()}


def _receivable_overdue(db: sqlite3.Connection, rule: WarningRule, now: int) -> Found:
    late = now - int(rule.params.get("days_past_due", 0)) * DAY
    placeholders = ",".join("?" * len(_OUTSTANDING))
    rows = db.execute(
        "SELECT p.root, p.debtor, min(p.due_date), group_concat(DISTINCT hex(p.holder)),"
        " (SELECT e.tx_hash FROM receivable_events e WHERE e.id = p.root ORDER BY e.seq LIMIT 1)"
        f" FROM receivable_parts p WHERE p.status IN ({placeholders}) AND p.due_date < ?"
        " AND p.status != ? GROUP BY p.root",
        (*_OUTSTANDING, late, int(ReceivableStatus.OVERDUE)),
    ).fetchall()
    for root, debtor, due, holders, tx in rows:
        tiers = [_subject(bytes.fromhex(h)) for h in sorted((holders or "").split(",")) if h]
        yield {
            "at": due,
            "entities": [_subject(debtor), *tiers],
            "refs": [{"kind": "receivable", "id": "0x" + bytes(root).hex()}],
            "transactions": [tx] if tx else [],
            "detail": {"due_date": due, "days_overdue": (now - due) // DAY},
        }


def _receivable_defaulted(db: sqlite3.Connection, rule: WarningRule, now: int) -> Found:
    rows = db.execute(
        "SELECT p.id, p.debtor, p.holder, p.due_date, (SELECT e.tx_hash FROM receivable_events e"
        " WHERE e.id = p.id AND e.name = 'ReceivableMarkedOverdue' ORDER BY e.seq DESC LIMIT 1)"
        " FROM receivable_parts p WHERE p.status = ?",
        (int(ReceivableStatus.OVERDUE),),
    ).fetchall()
    for pid, debtor, holder, due, tx in rows:
        yield {
            "at": due,
            "entities": [_subject(debtor), _subject(holder)],
            "refs": [{"kind": "receivable", "id": "0x" + bytes(pid).hex()}],
            "transactions": [tx] if tx else [],
            "detail": {"due_date": due},
        }


def _dispute_deadline(db: sqlite3.Connection, rule: WarningRule, now: int) -> Found:
    warn = int(rule.params.get("warn_days_before", 5))
    for d in disputes_near_deadline(db, now, warn_days=warn):
        tx = db.execute(
            "SELECT tx_hash FROM attestations WHERE uid = ?", (bytes.fromhex(d["uid"][2:]),)
        ).fetchone()
        yield {
            "at": d["deadline"],
            "severity": "high" if d["late"] else rule.severity,
            "entities": [
                {"kind": "member", "id": d["attester"]},
                {"kind": "enterprise", "id": d["subject"]},
            ],
            "refs": [{"kind": "attestation", "id": d["uid"]}],
            "transactions": [tx[0]] if tx else [],
            "detail": {"dispute_id": d["dispute_id"], "late": d["late"]},
        }


def _queries_without_loan(db: sqlite3.Connection, rule: WarningRule, now: int) -> Found:
    least = int(rule.params.get("min_queries", 5))
    share = float(rule.params.get("share_without_loan", 0.8))
    rows = [p for p in query_patterns(db) if p["queries"] >= least]
    for p in rows:
        member, n, without = p["member"], p["queries"], p["without_loan"]
        if without / n < share:
            continue
        txs = [
            r[0]
            for r in db.execute(
                "SELECT tx_hash FROM consent_queries WHERE member = ? ORDER BY seq DESC LIMIT 5",
                (member,),
            )
        ]
        yield {
            "at": p["last_query_at"],
            "entities": [{"kind": "member", "id": member}],
            "refs": [],
            "transactions": txs,
            "detail": {"queries": n, "without_loan": without},
        }


def _member_suspended(db: sqlite3.Connection, rule: WarningRule, now: int) -> Found:
    for account, changed in db.execute(
        "SELECT account, changed_at FROM members WHERE suspended = 1"
    ).fetchall():
        tx = db.execute(
            "SELECT tx_hash FROM events WHERE contract = 'Consortium' AND name = 'MemberSuspended'"
            " AND args LIKE ? ORDER BY seq DESC LIMIT 1",
            (f"%{account}%",),
        ).fetchone()
        yield {
            "at": changed,
            "entities": [{"kind": "member", "id": account}],
            "refs": [],
            "transactions": [tx[0]] if tx else [],
            "detail": {},
        }


#: One evaluator per kind a rule may name.
EVALUATORS: dict[str, Evaluator] = {
    "receivable_overdue": _receivable_overdue,
    "receivable_defaulted": _receivable_defaulted,
    "dispute_deadline": _dispute_deadline,
    "queries_without_loan": _queries_without_loan,
    "member_suspended": _member_suspended,
}


#: The rules last read, by file and its modification time: the overview asks on every read.
_READ: dict[Path, tuple[int, list[WarningRule]]] = {}


def load_rules(path: Path = RULES_FILE) -> list[WarningRule]:
    """The enabled rules of ``path``; a malformed rule raises :class:`RuleFileError`.

    The file is parsed again only when it changed (an operator's edit applies at the next
    read)."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise RuleFileError(f"{path}: {exc}") from exc
    kept = _READ.get(path)
    if kept is not None and kept[0] == stamp:
        return list(kept[1])
    rules = _parse_rules(path)
    _READ[path] = (stamp, rules)
    return list(rules)


def _parse_rules(path: Path) -> list[WarningRule]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RuleFileError(f"{path}: {exc}") from exc
    rules = []
    for n, raw in enumerate(doc.get("rule", []), start=1):
        rule = dict(raw)
        missing = [k for k in ("id", "kind", "severity", "title_en", "title_zh") if k not in rule]
        if missing:
            raise RuleFileError(f"{path}: rule {n} lacks {', '.join(missing)}")
        if rule["kind"] not in EVALUATORS:
            raise RuleFileError(
                f"{path}: rule {rule['id']} names kind {rule['kind']!r}; known: "
                + ", ".join(sorted(EVALUATORS))
            )
        if rule["severity"] not in SEVERITIES:
            raise RuleFileError(f"{path}: rule {rule['id']}: severity is one of {SEVERITIES}")
        if not rule.pop("enabled", True):
            continue
        fixed = {k: rule.pop(k) for k in ("id", "kind", "severity", "title_en", "title_zh")}
        rules.append(WarningRule(**fixed, params=rule))
    return rules


def evaluate(
    db: sqlite3.Connection, rules: list[WarningRule], viewer: Viewer, now: int
) -> list[dict[str, Any]]:
    """Every warning the rules raise that ``viewer`` may see, newest first."""
    mine: set[str] = set()
    if not viewer.oversees:
        mine.add(viewer.account)
        if viewer.subject is not None:
            mine.add("0x" + viewer.subject.hex())
        else:
            mine |= {"0x" + s.hex() for s in authorised_subjects(db, viewer.account, now)}
    found = []
    for rule in rules:
        for w in EVALUATORS[rule.kind](db, rule, now):
            if mine and not any(e["id"] in mine for e in w["entities"]):
                continue
            if not viewer.oversees and not mine:
                continue
            found.append(
                {
                    "rule": rule.id,
                    "kind": rule.kind,
                    "severity": w.pop("severity", rule.severity),
                    "title_en": rule.title_en,
                    "title_zh": rule.title_zh,
                    **w,
                }
            )
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    found.sort(key=lambda w: (rank[w["severity"]], -int(w["at"] or 0)))
    return found
