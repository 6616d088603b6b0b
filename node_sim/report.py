"""The simulation's report: ``report.html``, self-contained, with its charts inline."""

from __future__ import annotations

import io
from typing import Any

import matplotlib.pyplot as plt

from ledger_client.charts import HtmlReport, bar_chart, grouped_bar_chart, line_chart
from ledger_client.scoring.decisions import decision_tables
from ledger_client.scoring.evaluation import score_charts

#: Operations of the set-up whose gas would dwarf every daily operation in a chart.
_SET_UP_OPERATIONS = frozenset({"bind_enterprises"})


def yuan_millions(fen: int) -> float:
    """Fen as millions of yuan, one decimal."""
    return round(fen / 100 / 1_000_000, 1)


def render_report(summary: dict[str, Any]) -> str:
    """The HTML report of a run from its ``summary.json`` document."""
    cfg = summary["config"]
    rec = summary["records"]
    timing = summary.get("timing") or {}
    channel = "through the HTTP API" if cfg.get("via_api") else "directly to the chain"
    page = HtmlReport(
        title="Yangtze River Delta credit chain — simulation report",
        subtitle=(
            f"{cfg['days']} simulated days, {cfg['enterprises']:,} enterprises, "
            f"seed {cfg['seed']}, chain: {cfg['chain']}, records sent {channel}"
        ),
    )
    attacks = summary["attacks"]
    breaches = sum(t["succeeded"] for t in attacks.values())
    attempted = sum(t["attempted"] for t in attacks.values())
    refused = sum(t["refused"] for t in attacks.values())
    unexpected = sum(t["refused_unexpectedly"] for t in attacks.values())
    page.verdict(
        breaches == 0 and refused == attempted and unexpected == 0,
        f"{refused} of {attempted} attacks refused by a named error of the chain or the API "
        f"({unexpected} by another name than their class's own); {breaches} succeeded.",
    )
    _audit(page, summary.get("audit"), summary)

    page.heading("The ledger")
    rows: list[list[object]] = [
        ["records written", rec["total"]],
        ["  in Merkle batches", rec["batched"]],
        ["  Merkle batches", rec["batches"]],
        ["  attested one by one", rec["single"]],
        ["transactions", summary["transactions"]],
        ["blocks", summary["blocks"]],
        ["gas", summary["gas"]],
        ["enterprises bound", summary["enterprises_bound"]],
        ["enterprise accounts given gas money", summary.get("enterprises_funded", 0)],
        ["member institutions", summary["members"]],
    ]
    if timing:
        rows.append(["wall time, seconds", timing.get("total_s", 0)])
        if timing.get("total_s"):
            rows.append(
                ["transactions per second", round(summary["transactions"] / timing["total_s"], 1)]
            )
    page.table(["measure", "value"], rows)

    page.heading("Records and queries per city per day")
    page.chart(
        line_chart(
            rec["by_city_day"], title="Records written per day", xlabel="day", ylabel="records"
        ),
        "Each city's members' records by simulated day; monthly peaks are the bureaus' "
        "utility and social-insurance batches.",
    )
    consent = summary.get("consent")
    if consent:
        _consent(page, consent)
    page.chart(
        bar_chart(rec["by_schema"], title="Records by schema", horizontal=True),
        "How many records of each schema were attested, batched or one by one.",
    )
    if summary.get("receivables"):
        _receivables(page, summary["receivables"], summary.get("supply_chains", {}))
    if summary.get("lending", {}).get("facilities"):
        _lending(page, summary["lending"], cfg["days"])
    if summary.get("disputes"):
        _disputes(page, summary["disputes"])
    if summary.get("credit_decisions"):
        _credit_decisions(page, summary["credit_decisions"])

    page.heading("Attacks attempted and refused")
    page.chart(
        _attacks_chart(attacks),
        "Every attempt should be refused with its named error, raised by the chain, "
        "the API, or the recipient's checks of a shared report against the chain.",
    )
    page.table(
        ["attack class", "door", "attempted", "refused", "succeeded", "refused by"],
        [
            [
                k,
                t["door"],
                t["attempted"],
                t["refused"],
                t["succeeded"],
                ", ".join(f"{e} ×{n}" for e, n in t["errors"].items()),
            ]
            for k, t in attacks.items()
        ],
    )

    page.heading("Chain throughput and gas")
    page.chart(
        line_chart(
            {"transactions": summary["transactions_by_day"]},
            title="Transactions per simulated day",
            xlabel="day",
            ylabel="transactions",
        ),
        "Merkle batches keep the transaction count low while records grow.",
    )
    per_op = summary["gas_per_operation"]
    page.chart(
        bar_chart(
            {op: gas for op, gas in per_op.items() if op not in _SET_UP_OPERATIONS},
            title="Average gas per operation",
            horizontal=True,
        ),
        "Gas of one operation, averaged over the run (set-up batches, such as binding "
        "200 enterprises in one transaction, are in the table only).",
    )
    page.table(
        ["operation", "times", "average gas"],
        [
            [op, summary.get("operations", {}).get(op, 0), gas]
            for op, gas in summary["gas_per_operation"].items()
        ],
    )
    if summary.get("channels"):
        page.heading("What went where")
        page.table(
            ["operation", "direct to the chain", "through the API"],
            [[op, c.get("chain", 0), c.get("api", 0)] for op, c in summary["channels"].items()],
        )
    if summary.get("api"):
        api = summary["api"]
        page.paragraph(
            f"The API accepted {api['accepted']:,} signed records and anchored {api['anchored']:,} "
            f"({api['anchored_single']:,} one by one, {api['anchored_in_batches']:,} in "
            f"{api['batches']:,} signed batches); lost: {api['lost']}."
        )
    if summary["faults"]:
        page.heading("Faults")
        page.table(
            ["day", "fault", "detail"],
            [
                [
                    f["day"],
                    f["kind"].replace("_", " "),
                    ", ".join(f"{k}: {v}" for k, v in f.items() if k not in ("day", "kind")),
                ]
                for f in summary["faults"]
            ],
        )
    return page.render()


def _credit_decisions(page: HtmlReport, c: dict[str, Any]) -> None:
    auc = c["auc"]
    page.heading("Credit decisions: each city's bank lends by grade")
    page.paragraph(
        f"{c['held_out']:,} held-out applicants of a credit world of {c['enterprises']:,} "
        f"enterprises (seed {c['seed']}, {c['held_out_defaults']} defaults within the "
        f"horizon) apply to the bank of their city, which scores them with a scorecard "
        f"fitted on the others. AUC: one city's records {auc['local']}, the five cities' "
        f"records shared under consent {auc['shared']}, shared plus sci-tech indicators "
        f"{auc['scitech']}."
    )
    score_charts(
        page,
        c["curves"],
        "local: one city's records; shared: five cities under consent; scitech: shared + "
        "sci-tech indicators",
    )
    decision_tables(page, c["decisions"])
    page.table(
        ["bank (shared records)", "applicants", "approved", "defaults among them", "mean rate"],
        [
            [
                bank,
                b["applicants"],
                b["approved"],
                b["approved_defaults"],
                "-" if b["mean_rate_bp"] is None else f"{b['mean_rate_bp'] / 100:.2f} %",
            ]
            for bank, b in c["by_bank"].items()
        ],
    )


def _audit(page: HtmlReport, audit: dict[str, Any] | None, summary: dict[str, Any]) -> None:
    if audit is None:
        page.paragraph("The auditor was not run over this ledger (not available in this build).")
        return
    page.verdict(bool(audit.get("ok")), f"The auditor's verdict: {audit.get('verdict')}.")
    overdue = summary.get("disputes", {}).get("overdue", 0)
    if audit.get("breach_counts") or overdue:
        page.paragraph(
            f"The simulation answered {overdue} dispute(s) past the 20-day deadline or left them "
            "open past it on purpose (late_dispute_rate); the auditor names each one a "
            f"DisputeOverdue breach: {audit.get('breach_counts', {}).get('DisputeOverdue', 0)}."
        )
    if audit.get("report"):
        page.paragraph(f"The auditor's own report: {audit['report']}.")


def _consent(page: HtmlReport, consent: dict[str, Any]) -> None:
    if consent["queries_by_city_day"]:
        page.chart(
            line_chart(
                consent["queries_by_city_day"],
                title="Credit queries logged per day, by the querying bank's city",
                xlabel="day",
                ylabel="queries",
            ),
            "Every query is logged on chain against the enterprise's authorisation (查询留痕).",
        )
    same = consent["queries"] - consent["queries_cross_region"]
    page.chart(
        bar_chart(
            {"same city": same, "cross-region": consent["queries_cross_region"]},
            title=f"Cross-region share of queries: {consent['cross_region_share']:.1%}",
            ylabel="queries",
        ),
        "A query is cross-region when the bank's city is not the enterprise's.",
    )
    page.table(
        ["consent", "count"],
        [
            *[
                [f"authorisations for {p.replace('_', ' ')}", n]
                for p, n in consent["authorisations"].items()
            ],
            ["authorisations withdrawn", consent["withdrawals"]],
            ["queries logged", consent["queries"]],
            ["  of which cross-region", consent["queries_cross_region"]],
            ["sealed reports shared", consent["reports_shared"]],
            ["  opened and matched to their attestation", consent["reports_verified"]],
        ],
    )


def _receivables(page: HtmlReport, r: dict[str, Any], chains: dict[str, Any]) -> None:
    page.heading("Supply-chain finance")
    page.chart(
        bar_chart(
            {tier: yuan_millions(fen) for tier, fen in r["financed_fen"].items()},
            title="Financing advanced per supplier tier",
            ylabel="million yuan",
        ),
        "What banks advanced against receivable parts, by the tier of the supplier holding "
        "the part (tier 1 sells to the core enterprise).",
    )
    page.chart(
        line_chart(
            {"receivables issued": r["issued_by_day"], "parts defaulted": r["defaults_by_day"]},
            title="Receivables issued and parts defaulted per day",
            xlabel="day",
            ylabel="count",
        ),
        "A part unpaid 15 days past its due date is marked overdue by its payee, and a "
        "receivable-default is attested about the core enterprise.",
    )
    page.table(
        ["receivables", "value"],
        [
            ["core enterprises", chains.get("core_enterprises", 0)],
            *[[f"  suppliers at {t}", n] for t, n in chains.get("suppliers_by_tier", {}).items()],
            ["  supplier links across cities", chains.get("cross_city_links", 0)],
            ["issued", r["issued"]],
            ["  face value, million yuan", yuan_millions(r["issued_fen"])],
            ["accepted / rejected", f"{r['accepted']} / {r['rejected']}"],
            ["split down a tier", r["splits"]],
            ["financed", sum(r["financed"].values())],
            ["  by a bank in another city", r["financed_cross_region"]],
            ["parts settled", r["settled_parts"]],
            ["  million yuan", yuan_millions(r["settled_fen"])],
            ["parts defaulted", r["defaults"]],
            ["  million yuan", yuan_millions(r["defaulted_fen"])],
            ["  core enterprises with a default", r["defaulted_debtors"]],
        ],
    )


def _lending(page: HtmlReport, n: dict[str, Any], days: int) -> None:
    page.heading("Lending: joint agreements and pledges")
    exposure = n["exposure_by_city_lender"]
    if exposure:
        page.chart(
            grouped_bar_chart(
                {
                    city: {lender: yuan_millions(fen) for lender, fen in by.items()}
                    for city, by in exposure.items()
                },
                title="Exposure by city and lender",
                ylabel="million yuan",
            ),
            "What enterprises of each city owe at the end of the run, by the city of the "
            "lending bank: syndicated loans (联合授信) spread one enterprise over several.",
        )
    page.chart(
        bar_chart(
            {kind: n["pledges"][kind] for kind in n["pledges"]},
            title="Collateral mix by kind",
            ylabel="pledges",
        ),
        "Pledges registered in the collateral registry, by the kind of asset: patents and "
        "trademarks (知识产权质押), receivables, equity and movable goods.",
    )
    flags = n["flags"]
    if flags:
        page.chart(
            bar_chart(
                {
                    f"#{f['agreement']} {f['enterprise_city']}": (
                        f["cleared_day"] if f["cleared_day"] is not None else days
                    )
                    - f["flagged_day"]
                    for f in flags
                },
                title="Flagged agreements: days on hold",
                ylabel="days",
            ),
            "Each joint agreement a participant's overdue flagged, and the days its "
            "participants could not draw until the lead bank cleared the flag (to the end of "
            "the run when it was not cleared).",
        )
        page.table(
            ["agreement", "enterprise's city", "lead", "reported by", "flagged", "cleared"],
            [
                [
                    f["agreement"],
                    f["enterprise_city"],
                    f["lead"],
                    f["reporter"],
                    f"day {f['flagged_day']}",
                    "—" if f["cleared_day"] is None else f"day {f['cleared_day']}",
                ]
                for f in flags
            ],
        )
    page.table(
        ["lending", "value"],
        [
            ["joint agreements in force (ever)", n["agreements"]],
            ["  ended by their lead", n["agreements_ended"]],
            ["  joint limits, million yuan", yuan_millions(n["joint_limit_fen"])],
            ["  flagged by an overdue", n["agreements_flagged"]],
            ["  flags cleared by the lead", n["flags_cleared"]],
            *[[f"facilities: {k}", v] for k, v in n["facilities"].items()],
            ["facilities closed", n["facilities_closed"]],
            ["drawn, million yuan", yuan_millions(n["drawn_fen"])],
            ["repaid, million yuan", yuan_millions(n["repaid_fen"])],
            ["outstanding, million yuan", yuan_millions(n["outstanding_fen"])],
            ["overdues reported", n["overdues_reported"]],
            *[
                [f"pledges: {k}", f"{v} (¥{yuan_millions(n['secured_fen'][k]):,}m secured)"]
                for k, v in n["pledges"].items()
            ],
            ["pledges released", n["pledges_released"]],
        ],
    )


def _disputes(page: HtmlReport, d: dict[str, Any]) -> None:
    page.heading("Disputes (异议)")
    hist = d["resolution_days"]["histogram"]
    if hist:
        page.chart(
            bar_chart(hist, title="Days from dispute to resolution", ylabel="disputes"),
            "The attester must answer within 20 days (art. 25); answers from day 20 on are "
            "overdue.",
        )
    page.table(
        ["disputes", "count"],
        [
            ["raised", d["raised"]],
            *[[f"  about {s}", n] for s, n in d["raised_by_schema"].items()],
            ["rejected (the record stands)", d["rejected"]],
            ["upheld (the record revoked)", d["upheld"]],
            ["resolved past the 20-day deadline", d["resolved_late"]],
            ["still open at the end", d["open"]],
            ["mean days to resolution", d["resolution_days"]["mean"]],
            ["complaints to the regulator after a rejection", d["complaints"]["filed"]],
            ["  upheld (the regulator revoked the record)", d["complaints"]["upheld"]],
            ["  rejected (the record stands)", d["complaints"]["rejected"]],
        ],
    )


def _attacks_chart(attacks: dict[str, Any]) -> str:
    """Attempted and refused per behaviour, as horizontal bars (the names are long)."""
    kinds = list(attacks)
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.42 * len(kinds))))
    ys = range(len(kinds))
    ax.barh(
        [y - 0.2 for y in ys],
        [attacks[k]["attempted"] for k in kinds],
        0.4,
        label="attempted",
        color="#1f5aa6",
    )
    ax.barh(
        [y + 0.2 for y in ys],
        [attacks[k]["refused"] for k in kinds],
        0.4,
        label="refused by the named error",
        color="#3a9a5b",
    )
    ax.set_yticks(list(ys), [k.replace("_", " ") for k in kinds])
    ax.invert_yaxis()
    ax.set_xlabel("attempts")
    ax.set_title("Adversarial behaviour")
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    ax.spines[["top", "right"]].set_visible(False)
    buf = io.StringIO()
    # No date in the metadata: the same figures draw the same bytes.
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]
