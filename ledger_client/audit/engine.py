"""Audit a whole deployment: read its events, replay them, compare with the chain, report.

::

    from ledger_client.audit import audit_ledger

    result = audit_ledger(ledger, Path("audit-out"))
    result.ok            # no breach and no mismatch
    result.breaches      # each with its transaction, block and log index
    # audit-out/report.json, audit-out/report.html, audit-out/index.sqlite

The events are read through an :class:`~ledger_client.index.EventIndex` kept
in the output directory (or at ``index_path``), so a second audit reads only
the blocks mined since the first. The replay always starts from the first
stored event (a few hundred thousand events a minute); the comparison with the
chain is incremental on a re-audit unless ``full`` is set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger_client.audit.compare import Comparison, compare_with_chain
from ledger_client.audit.replay import Replay
from ledger_client.audit.report import build_report, render_html
from ledger_client.audit.scores import ScoreEvidence, audit_scores
from ledger_client.audit.state import Breach, LedgerState
from ledger_client.contracts.receivables import DEFAULT_GRACE_PERIOD
from ledger_client.deployment import Ledger, wiring_mismatches
from ledger_client.errors import ManifestWiringMismatch
from ledger_client.index import EventIndex

__all__ = ["AUDIT_STATE_FILE", "AuditResult", "audit_events", "audit_ledger"]

#: What a re-audit needs from the previous one, kept beside the report.
AUDIT_STATE_FILE = "audit-state.json"
_STATE_FORMAT = 1

Progress = Callable[[str], None]


@dataclass
class AuditResult:
    """What an audit found, and where it wrote its report."""

    report: dict[str, Any]  # the content of report.json
    breaches: list[Breach] = field(default_factory=list)  # replay breaches and mismatches
    state: LedgerState | None = None
    comparison: Comparison | None = None
    report_json: Path | None = None
    report_html: Path | None = None

    @property
    def ok(self) -> bool:
        """True when the events hold every rule and the chain agrees with them."""
        return not self.breaches


def audit_events(
    events: Any,
    *,
    now: int | None = None,
    replay: Replay | None = None,
) -> tuple[LedgerState, list[Breach]]:
    """Replay an iterable of events (stored or synthetic) and return the state and breaches."""
    r = replay or Replay()
    breaches = r.run(events, now=now)
    return r.state, breaches


def audit_ledger(
    ledger: Ledger,
    out_dir: Path | str,
    *,
    index_path: Path | str | None = None,
    full: bool = False,
    write: bool = True,
    progress: Progress | None = None,
    score_bundles: Sequence[ScoreEvidence] | None = None,
) -> AuditResult:
    """Audit ``ledger`` and write ``report.json`` and ``report.html`` to ``out_dir``.

    ``full`` compares every entity with the chain even when a previous audit
    in ``out_dir`` compared most of them already.

    ``score_bundles`` are the off-chain evidence of attested credit scores: each
    ``credit-score`` attestation is recomputed from its bundle's records and model
    (:func:`~ledger_client.audit.scores.audit_scores`); given, every score in force
    must have one. Without them no score is recomputed and the report says so.

    A deployment whose contracts are not wired as its manifest says (an Attestations
    copy trusting another forwarder, say) is not audited at all: each mismatch is a
    ``ManifestWiringMismatch`` breach and no record of it is vouched for.
    """
    say = progress or (lambda _: None)
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say("checking the contracts' wiring against the manifest")
    miswired = wiring_mismatches(ledger.chain, ledger.manifest, ledger.artifacts)
    if miswired:
        return _refuse_miswired(ledger, out, miswired, write=write)
    path = Path(index_path) if index_path is not None else out / "index.sqlite"
    timing: dict[str, float] = {}

    say("reading the chain's events into the index")
    with EventIndex(path, ledger) as index:
        cursor_before = index.cursor
        read = index.sync()
        head = index.cursor
        timing["sync_s"] = time.perf_counter() - started
        head_time = ledger.chain.backend.block(head).timestamp
        r = ledger.receivables
        replay = Replay(
            grace_period=r.grace_period(),
            receivables_address=r.address,
            default_schema=bytes(r.default_schema()),
        )
        say(f"replaying {index.count_events():,} events")
        mark = time.perf_counter()
        breaches = replay.run(index.events(), now=head_time)
        timing["replay_s"] = time.perf_counter() - mark

    previous = None if full else _previous_state(out, ledger, path, head)
    say("comparing the rebuilt state with the contracts' views")
    mark = time.perf_counter()
    comparison = compare_with_chain(
        ledger,
        replay.state,
        head,
        since=previous["compared_through"] if previous else None,
        recheck=previous["mismatched"] if previous else (),
    )
    timing["compare_s"] = time.perf_counter() - mark
    say("recomputing attested credit scores")
    mark = time.perf_counter()
    scores = audit_scores(ledger, replay.state, score_bundles)
    timing["scores_s"] = time.perf_counter() - mark
    found = sorted(
        [*breaches, *comparison.mismatches, *scores.breaches], key=lambda b: (b.block, b.log_index)
    )

    mark = time.perf_counter()
    report = build_report(
        ledger.manifest,
        replay.state,
        found,
        comparison,
        head=head,
        head_time=head_time,
        grace_period=replay.grace_period,
        index={
            "path": str(path),
            "blocks_read": read,
            "cursor_before": cursor_before,
            "cursor": head,
        },
    )
    report["scores"] = scores.to_dict(score_bundles is not None)
    result = AuditResult(report, found, replay.state, comparison)
    if write:
        say("writing the report")
        result.report_html = out / "report.html"
        result.report_html.write_text(render_html(report), encoding="utf-8")
    timing["report_s"] = time.perf_counter() - mark
    timing["total_s"] = time.perf_counter() - started
    report["timing"] = {k: round(v, 3) for k, v in timing.items()}
    if write:
        result.report_json = out / "report.json"
        result.report_json.write_text(
            json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        _save_state(out, ledger, path, head, comparison)
    return result


def _refuse_miswired(
    ledger: Ledger, out: Path, miswired: list[ManifestWiringMismatch], *, write: bool
) -> AuditResult:
    """The report of a deployment the audit will not vouch for: its wiring breaches only."""
    head = ledger.chain.backend.block_number()
    breaches = [
        Breach(
            "ManifestWiringMismatch",
            str(m),
            ledger.manifest.contracts[m.contract].deploy_tx,
            head,
            -1,  # not an event: the contract's code, read at the head
            f"{m.contract}.{m.reference}",
        )
        for m in miswired
    ]
    state, comparison = LedgerState(), Comparison(block=head)
    comparison.notes.append("not compared: the deployment is not wired as its manifest says")
    head_time = ledger.chain.backend.block(head).timestamp
    report = build_report(
        ledger.manifest,
        state,
        breaches,
        comparison,
        head=head,
        head_time=head_time,
        grace_period=DEFAULT_GRACE_PERIOD,
        index={},
    )
    report["verdict"] = (
        f"refused: {len(breaches)} contract reference(s) differ from the manifest "
        "(ManifestWiringMismatch); this is not the deployment the manifest names, and no "
        "record of it is vouched for"
    )
    result = AuditResult(report, breaches, state, comparison)
    if write:
        result.report_html = out / "report.html"
        result.report_html.write_text(render_html(report), encoding="utf-8")
        result.report_json = out / "report.json"
        result.report_json.write_text(
            json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    return result


def _deployment(ledger: Ledger) -> dict[str, Any]:
    m = ledger.manifest
    return {
        "chain_id": m.chain_id,
        "deploy_block": m.deploy_block,
        "contracts": {k: v.address.lower() for k, v in m.contracts.items()},
    }


def _previous_state(out: Path, ledger: Ledger, index: Path, head: int) -> dict[str, Any] | None:
    try:
        doc = json.loads((out / AUDIT_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != _STATE_FORMAT
        or doc.get("deployment") != _deployment(ledger)
        or doc.get("index") != str(index.resolve())
        or not isinstance(doc.get("compared_through"), int)
        or doc["compared_through"] > head  # the chain was rewound: compare everything
    ):
        return None
    return doc


def _save_state(out: Path, ledger: Ledger, index: Path, head: int, comparison: Comparison) -> None:
    doc = {
        "format": _STATE_FORMAT,
        "deployment": _deployment(ledger),
        "index": str(index.resolve()),
        "compared_through": head,
        "mismatched": sorted(set(comparison.mismatched_keys)),
    }
    (out / AUDIT_STATE_FILE).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
