"""The audit's report: ``report.json`` for machines, a self-contained ``report.html`` for people.

The HTML page draws its charts with matplotlib as inline SVG (through
:mod:`ledger_client.charts`), so it is one file that opens offline: records
per city and per schema over time, queries per member, disputes and how long
they took, receivables financed and overdue per supply-chain tier, and the
list of breaches with the transaction that caused each.
"""

from __future__ import annotations

import datetime
import io
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ledger_client.audit.replay import city_label
from ledger_client.audit.state import BREACHES, Breach, LedgerState
from ledger_client.charts import HtmlReport, bar_chart, grouped_bar_chart
from ledger_client.types import DisputeStatus, ReceivableStatus

if TYPE_CHECKING:
    from ledger_client.audit.compare import Comparison
    from ledger_client.deployment import Manifest

__all__ = ["REPORT_FORMAT", "build_report", "render_html"]

REPORT_FORMAT = 1
DAY = 86_400
#: Dates in the report are calendar dates in the Yangtze Delta (UTC+8).
CST = datetime.timezone(datetime.timedelta(hours=8), "CST")
_OUTSTANDING = {int(s) for s in ReceivableStatus if s.outstanding}
_PALETTE = ("#1f5aa6", "#e07b39", "#3a9a5b", "#b8403a", "#7a5195", "#8c8c8c", "#c9a227")


def _date(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, CST).date().isoformat()


def _iso(timestamp: int) -> str:
    return (
        datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat().replace("+00:00", "Z")
    )


# -- figures ------------------------------------------------------------------------------


def _records_over_time(state: LedgerState) -> dict[str, Any]:
    """Records per period by city and by schema; a period is a day, or a week for long spans."""
    schema_names = {sid: x.name for sid, x in state.schemas.items()}
    entries: list[tuple[int, str, str, int]] = [
        (a.attested_at, city_label(a.city), schema_names.get(a.schema, "unknown"), 1)
        for a in state.attestations.values()
    ]
    entries += [
        (b.anchored_at, city_label(b.city), schema_names.get(b.schema, "unknown"), b.count)
        for b in state.batches.values()
    ]
    if not entries:
        return {"period_days": 1, "periods": [], "by_city": {}, "by_schema": {}}
    first_day = datetime.datetime.fromtimestamp(min(e[0] for e in entries), CST).date()
    last_day = datetime.datetime.fromtimestamp(max(e[0] for e in entries), CST).date()
    span = (last_day - first_day).days + 1
    period = 1 if span <= 120 else 7
    periods = (span + period - 1) // period
    by_city: dict[str, list[int]] = defaultdict(lambda: [0] * periods)
    by_schema: dict[str, list[int]] = defaultdict(lambda: [0] * periods)
    for ts, city, schema, n in entries:
        day = datetime.datetime.fromtimestamp(ts, CST).date()
        i = (day - first_day).days // period
        by_city[city][i] += n
        by_schema[schema][i] += n
    labels = [(first_day + datetime.timedelta(days=i * period)).isoformat() for i in range(periods)]
    return {
        "period_days": period,
        "periods": labels,
        "by_city": dict(sorted(by_city.items())),
        "by_schema": dict(sorted(by_schema.items())),
    }


def _queries_per_member(state: LedgerState) -> dict[str, int]:
    counts = Counter(q.member for q in state.queries.values())
    out: dict[str, int] = {}
    for account, n in counts.most_common():
        m = state.members.get(account)
        out[m.name if m else account] = n
    return out


def _disputes(state: LedgerState, head_time: int) -> list[dict[str, Any]]:
    rows = []
    for d in state.disputes.values():
        end = d.resolved_at or head_time
        rows.append(
            {
                "id": d.dispute_id,
                "uid": "0x" + d.uid.hex(),
                "attester": d.attester,
                "raised_at": d.raised_at,
                "deadline": d.deadline,
                "resolved_at": d.resolved_at,
                "status": DisputeStatus(d.status).name.lower(),
                "days": round((end - d.raised_at) / DAY, 2),
                "late": end >= d.deadline,
            }
        )
    return rows


def _tiers(state: LedgerState, head_time: int) -> dict[str, dict[str, int]]:
    """Per tier (depth in the split lineage): parts, financed and overdue, counts and fen."""
    tiers: dict[int, dict[str, int]] = defaultdict(
        lambda: {
            "parts": 0,
            "amount_fen": 0,
            "financed": 0,
            "financed_fen": 0,
            "overdue": 0,
            "overdue_fen": 0,
        }
    )
    for p in state.parts.values():
        t = tiers[p.tier]
        t["parts"] += 1
        t["amount_fen"] += p.amount
        if p.ever_financed:
            t["financed"] += 1
            t["financed_fen"] += p.financed_amount
        due = state.receivables[p.root].due_date
        if p.status == int(ReceivableStatus.OVERDUE) or (
            p.status in _OUTSTANDING and head_time > due
        ):
            t["overdue"] += 1
            t["overdue_fen"] += p.amount
    return {str(k): v for k, v in sorted(tiers.items())}


def _totals(state: LedgerState) -> dict[str, int]:
    disputes = Counter(DisputeStatus(d.status).name.lower() for d in state.disputes.values())
    return {
        "events": state.events,
        "members": len(state.members),
        "members_suspended": sum(m.suspended for m in state.members.values()),
        "enterprises": len(state.enterprises),
        "schemas": len(state.schemas),
        "records": state.records,
        "attestations": len(state.attestations),
        "attestations_revoked": sum(bool(a.revoked_at) for a in state.attestations.values()),
        "attestations_replaced": sum(
            a.replaced_by != bytes(32) for a in state.attestations.values()
        ),
        "batches": len(state.batches),
        "batch_records": sum(b.count for b in state.batches.values()),
        "batch_records_revoked": sum(len(b.revoked_leaves) for b in state.batches.values()),
        "signed_batches": sum(b.signed for b in state.batches.values()),
        "authorisations": len(state.authorisations),
        "authorisations_withdrawn": sum(
            bool(a.withdrawn_at) for a in state.authorisations.values()
        ),
        "queries": len(state.queries),
        "report_shares": len(state.shares),
        "disputes": len(state.disputes),
        "disputes_open": disputes.get("open", 0),
        "disputes_rejected": disputes.get("rejected", 0),
        "disputes_upheld": disputes.get("upheld", 0),
        "complaints": len(state.complaints),
        "complaints_open": sum(c.status == 1 for c in state.complaints.values()),
        "receivables": len(state.receivables),
        "receivable_parts": len(state.parts),
        "receivables_face_value_fen": sum(r.face_value for r in state.receivables.values()),
    }


def build_report(
    manifest: Manifest,
    state: LedgerState,
    breaches: Sequence[Breach],
    comparison: Comparison,
    *,
    head: int,
    head_time: int,
    grace_period: int,
    index: Mapping[str, Any],
) -> dict[str, Any]:
    """The content of ``report.json``."""
    counts = Counter(b.name for b in breaches)
    return {
        "format": REPORT_FORMAT,
        "ok": not breaches,
        "verdict": "no breach: the events hold every rule and the chain agrees with them"
        if not breaches
        else f"{len(breaches)} breach(es): " + ", ".join(f"{n} x{c}" for n, c in counts.items()),
        "deployment": {
            "chain_id": manifest.chain_id,
            "network": manifest.network,
            "deploy_block": manifest.deploy_block,
            "contracts": {k: v.address for k, v in manifest.contracts.items()},
        },
        "audited": {
            "block": head,
            "timestamp": head_time,
            "time": _iso(head_time),
            "first_event_block": state.first_block,
            "last_event_block": state.last_block,
            "receivables_grace_period_s": grace_period,
        },
        "totals": _totals(state),
        "breaches": [b.to_dict() for b in breaches],
        "breach_counts": dict(counts),
        "breach_kinds": BREACHES,
        "comparison": {
            "block": comparison.block,
            "incremental_since": comparison.incremental_since,
            "view_calls": comparison.calls,  # eth_calls, many views to a call
            "views_read": comparison.views,
            "compared": comparison.compared,
            "mismatches": len(comparison.mismatches),
            "notes": comparison.notes,
        },
        "charts": {
            "records_over_time": _records_over_time(state),
            "queries_per_member": _queries_per_member(state),
            "disputes": _disputes(state, head_time),
            "receivables_by_tier": _tiers(state, head_time),
        },
        "index": dict(index),
    }


# -- the page -----------------------------------------------------------------------------


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _time_chart(periods: Sequence[str], series: Mapping[str, Sequence[int]], title: str) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.4))
    xs = list(range(len(periods)))
    bottom = [0] * len(periods)
    for i, (name, ys) in enumerate(series.items()):
        ax.bar(xs, ys, bottom=bottom, label=name, color=_PALETTE[i % len(_PALETTE)], width=0.9)
        bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    step = max(1, len(periods) // 8)
    ax.set_xticks(xs[::step])
    ax.set_xticklabels(periods[::step], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("records")
    ax.set_title(title)
    if series:
        ax.legend(frameon=False, fontsize=8, ncol=min(4, len(series)))
    else:
        ax.text(0.5, 0.5, "no records", ha="center", va="center", transform=ax.transAxes)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def _dispute_chart(disputes: Sequence[Mapping[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, max(2.4, 0.32 * len(disputes) + 1.2)))
    labels = [f"#{d['id']} ({d['status']})" for d in disputes]
    days = [d["days"] for d in disputes]
    colours = [
        _PALETTE[3] if d["late"] else (_PALETTE[1] if d["status"] == "open" else _PALETTE[2])
        for d in disputes
    ]
    bars = ax.barh(labels, days, color=colours)
    for bar, n in zip(bars, days, strict=True):
        ax.text(
            bar.get_width() + 0.3,
            bar.get_y() + bar.get_height() / 2,
            f"{n:.1f} d",
            va="center",
            fontsize=8,
        )
    ax.axvline(20, color=_PALETTE[3], ls="--", lw=1.2, label="20-day deadline (art. 25)")
    ax.invert_yaxis()
    ax.set_xlabel("days from raising to answer (open: to the audited block)")
    ax.set_title("Disputes and how long they took")
    ax.set_xlim(0, max([25.0, *(d * 1.1 for d in days)]))
    if not disputes:
        ax.text(
            0.5, 0.5, "no disputes were raised", ha="center", va="center", transform=ax.transAxes
        )
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def _short(value: str, keep: int = 10) -> str:
    return value if len(value) <= keep + 3 else value[:keep] + "…"


def render_html(report: Mapping[str, Any]) -> str:
    """The self-contained HTML page of a report."""
    d, a, t = report["deployment"], report["audited"], report["totals"]
    page = HtmlReport(
        title="Audit of the Yangtze Delta credit chain (长三角征信链)",
        subtitle=f"chain {d['chain_id']} ({d['network']}), audited at block {a['block']:,} "
        f"({a['time']}); {t['events']:,} events replayed from block {d['deploy_block']:,}",
    )
    page.verdict(report["ok"], report["verdict"])
    scores = report.get("scores")
    if scores and scores["attested"]:
        unchecked = (
            f"; {scores['without_bundle']} without a bundle"
            + ("" if scores["bundles_given"] else " (no score bundles were given)")
            if scores["without_bundle"]
            else ""
        )
        page.paragraph(
            f"Credit scores: {scores['attested']} attested, {scores['recomputed']} recomputed "
            f"from their records and published model, {scores['failed']} failed, "
            f"{scores['revoked']} revoked by their scorer{unchecked}."
        )

    page.heading("Breaches")
    breaches = report["breaches"]
    if breaches:
        page.table(
            ("breach", "what was found", "block", "log", "transaction", "event"),
            [
                (
                    b["name"],
                    b["detail"],
                    b["block"],
                    b["log_index"],
                    _short(b["tx_hash"], 18),
                    b["event"],
                )
                for b in breaches
            ],
        )
    else:
        page.paragraph(
            "None. Every query had an authorisation in force, every receivable's parts add up "
            "to its face value, no part was financed twice, no invoice backs two receivables, "
            "every dispute was answered within 20 days, no suspended member wrote, and the "
            "contracts' views agree with the state rebuilt from the events."
        )

    page.heading("What was audited")
    page.table(
        ("what", "count"),
        [
            ("credit records (single attestations + batched records)", t["records"]),
            (
                "single attestations (revoked / replaced)",
                f"{t['attestations']:,} ({t['attestations_revoked']:,} / "
                f"{t['attestations_replaced']:,})",
            ),
            (
                "Merkle batches (signed by their attesters)",
                f"{t['batches']:,} ({t['signed_batches']:,})",
            ),
            (
                "records in batches (revoked)",
                f"{t['batch_records']:,} ({t['batch_records_revoked']:,})",
            ),
            ("members (suspended now)", f"{t['members']:,} ({t['members_suspended']:,})"),
            ("enterprises bound", t["enterprises"]),
            (
                "authorisations (withdrawn)",
                f"{t['authorisations']:,} ({t['authorisations_withdrawn']:,})",
            ),
            ("queries logged / reports shared", f"{t['queries']:,} / {t['report_shares']:,}"),
            (
                "disputes: open / rejected / upheld",
                f"{t['disputes_open']} / {t['disputes_rejected']} / {t['disputes_upheld']}",
            ),
            ("receivables / parts", f"{t['receivables']:,} / {t['receivable_parts']:,}"),
            ("face value of receivables (¥)", f"{t['receivables_face_value_fen'] / 100:,.2f}"),
        ],
    )

    charts = report["charts"]
    over_time = charts["records_over_time"]
    period = "day" if over_time["period_days"] == 1 else "week"
    page.heading("Credit records over time")
    page.chart(
        _time_chart(over_time["periods"], over_time["by_city"], f"Records per {period}, by city"),
        "Single attestations and batched records, by the city of the member that wrote them "
        "(dates in UTC+8).",
    )
    page.chart(
        _time_chart(
            over_time["periods"], over_time["by_schema"], f"Records per {period}, by schema"
        ),
        "The same records by schema.",
    )

    page.heading("Credit queries (查询留痕)")
    queries = charts["queries_per_member"]
    page.chart(
        bar_chart(
            queries or {"(no queries)": 0},
            title="Queries logged per member",
            ylabel="queries",
            horizontal=True,
        ),
        "Each query was logged on chain against an enterprise's authorisation.",
    )

    page.heading("Disputes (异议)")
    disputes = charts["disputes"]
    page.chart(
        _dispute_chart(disputes),
        "Green: answered in time; orange: open and not yet due; red: answered late or overdue.",
    )

    page.heading("Receivables financed and overdue, per supply-chain tier")
    tiers = charts["receivables_by_tier"]
    groups = {
        f"tier {k}": {
            "financed (¥)": v["financed_fen"] / 100,
            "overdue (¥)": v["overdue_fen"] / 100,
            "all parts (¥)": v["amount_fen"] / 100,
        }
        for k, v in tiers.items()
    } or {"(no receivables)": {"financed (¥)": 0.0}}
    page.chart(
        grouped_bar_chart(groups, title="Receivables per tier", ylabel="yuan"),
        "Tier: depth in the split lineage (1 is the core enterprise's supplier). Overdue: marked "
        "overdue, or unpaid past its due date at the audited block.",
    )
    if tiers:
        page.table(
            ("tier", "parts", "financed", "financed (¥)", "overdue", "overdue (¥)"),
            [
                (
                    k,
                    v["parts"],
                    v["financed"],
                    v["financed_fen"] / 100,
                    v["overdue"],
                    v["overdue_fen"] / 100,
                )
                for k, v in tiers.items()
            ],
        )

    c = report["comparison"]
    page.heading("The contracts' views compared with the replay")
    scope = (
        "every entity"
        if c["incremental_since"] is None
        else f"entities changed after block {c['incremental_since']:,} (and earlier mismatches)"
    )
    page.paragraph(
        f"{c['views_read']:,} views read in {c['view_calls']:,} "
        f"eth_call(s) at block {c['block']:,}, comparing {scope}; "
        f"{c['mismatches']} mismatch(es)."
    )
    page.table(("entity", "compared"), sorted(c["compared"].items()))
    for note in c["notes"]:
        page.paragraph(f"Note: {note}.")

    page.heading("How this audit was made")
    page.paragraph(
        "Every event of the deployment's contracts was read from the chain, block by block, "
        "into the auditor's own event index, and replayed in chain order through an "
        "independent model of the rules. Each event is checked against the state before it "
        "(who may write, authorisations in force, amounts, invoices, deadlines, ids recomputed "
        "from their fields); then the rebuilt state is compared with the contracts' own views, "
        "read at the audited block. Each breach names the transaction, block and log that "
        "caused it."
    )
    return page.render()
