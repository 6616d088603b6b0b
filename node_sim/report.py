"""The simulation's report: ``report.html``, self-contained, with its charts inline."""

from __future__ import annotations

from typing import Any

from ledger_client.reporting import (
    HtmlReport,
    bar_chart,
    grouped_bar_chart,
    line_chart,
)


def render_report(summary: dict[str, Any]) -> str:
    """The HTML report of a run from its ``summary.json`` document."""
    cfg = summary["config"]
    rec = summary["records"]
    timing = summary.get("timing", {})
    page = HtmlReport(
        title="Yangtze River Delta credit chain — simulation report",
        subtitle=(
            f"{cfg['days']} simulated days, {cfg['enterprises']:,} enterprises, "
            f"seed {cfg['seed']}, chain: {cfg['chain']}"
        ),
    )
    attacks = summary["attacks"]
    breaches = sum(t["accepted"] for t in attacks.values())
    attempted = sum(t["attempted"] for t in attacks.values())
    refused = sum(t["refused"] for t in attacks.values())
    page.verdict(
        breaches == 0 and refused == attempted,
        f"{refused} of {attempted} attacks refused by a named error; {breaches} accepted.",
    )

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
        ["member institutions", summary["members"]],
    ]
    if timing:
        rows.append(["wall time, seconds", timing.get("total_s", 0)])
    page.table(["measure", "value"], rows)

    page.heading("Records per city per day")
    page.chart(
        line_chart(
            rec["by_city_day"], title="Records written per day", xlabel="day", ylabel="records"
        ),
        "Each city's members' records by simulated day; monthly peaks are the bureaus' "
        "utility and social-insurance batches.",
    )
    page.chart(
        bar_chart(rec["by_schema"], title="Records by schema", horizontal=True),
        "How many records of each schema the members attested.",
    )

    page.heading("Attacks attempted and refused")
    page.chart(
        grouped_bar_chart(
            {k: {"attempted": t["attempted"], "refused": t["refused"]} for k, t in attacks.items()},
            title="Adversarial behaviour",
            ylabel="attempts",
        ),
        "Every attempt should be refused with its named error.",
    )
    page.table(
        ["behaviour", "attempted", "refused", "accepted", "errors raised"],
        [
            [
                k,
                t["attempted"],
                t["refused"],
                t["accepted"],
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
    page.chart(
        bar_chart(summary["gas_per_operation"], title="Average gas per operation", horizontal=True),
        "Gas of one operation, averaged over the run.",
    )
    if summary["faults"]:
        page.heading("Faults")
        page.table(
            ["day", "fault", "member"],
            [[f["day"], f["kind"].replace("_", " "), f["member"]] for f in summary["faults"]],
        )
    return page.render()
