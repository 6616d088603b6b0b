"""The one-screen summary ``credit-chain simulate`` prints at the end of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from .report import yuan_millions


def print_summary(
    console: Console,
    summary: dict[str, Any],
    timing: dict[str, float],
    audit: dict[str, Any] | None,
    out: Path | None,
) -> None:
    """Print the run's figures: the ledger, the flows, the attacks, the faults, the verdicts."""
    cfg, rec = summary["config"], summary["records"]
    through = " through the API" if cfg.get("via_api") else ""
    console.rule(
        f"[bold]{cfg['days']} days, {cfg['enterprises']:,} enterprises, seed {cfg['seed']}"
        f"{through}[/bold]"
    )
    console.print(
        f"{rec['total']:,} records ({rec['batched']:,} in {rec['batches']:,} Merkle batches, "
        f"{rec['single']:,} single), {summary['transactions']:,} transactions, "
        f"{summary['blocks']:,} blocks, {summary['gas']:,} gas, in {timing['total_s']:.1f} s"
    )
    by_city = ", ".join(f"{city} {n:,}" for city, n in rec["by_city"].items())
    console.print(f"records by city: {by_city}")
    c = summary.get("consent")
    if c:
        console.print(
            f"consent: {sum(c['authorisations'].values()):,} authorisations, "
            f"{c['withdrawals']:,} withdrawn; {c['queries']:,} queries "
            f"({c['cross_region_share']:.0%} cross-region); {c['reports_verified']:,} of "
            f"{c['reports_shared']:,} sealed reports opened and matched"
        )
    d = summary.get("disputes")
    if d:
        console.print(
            f"disputes: {d['raised']:,} raised, {d['rejected']:,} rejected, {d['upheld']:,} "
            f"upheld, {d['overdue']:,} past the 20-day deadline, {d['open']:,} open; "
            f"{d['resolution_days']['mean']} days on average; "
            f"{d['complaints']['filed']:,} complaints to the regulator, "
            f"{d['complaints']['upheld']:,} upheld"
        )
    r = summary.get("receivables")
    if r:
        financed = ", ".join(
            f"{tier} ¥{yuan_millions(fen):,}m" for tier, fen in r["financed_fen"].items()
        )
        console.print(
            f"receivables: {r['issued']:,} issued (¥{yuan_millions(r['issued_fen']):,}m), "
            f"{r['splits']:,} splits, {sum(r['financed'].values()):,} financed ({financed}), "
            f"{r['settled_parts']:,} parts settled, {r['defaults']:,} defaulted"
        )
    cd = summary.get("credit_decisions")
    if cd:
        dec, auc = cd["decisions"], cd["auc"]
        local, shared = dec["local"], dec["shared"]
        console.print(
            f"credit decisions: {cd['held_out']:,} applicants, approved up to BB: "
            f"{local['approved']:,} on one city's records ({local['approved_defaults']} "
            f"defaulted), {shared['approved']:,} on shared records "
            f"({shared['approved_defaults']} defaulted); AUC local {auc['local']}, shared "
            f"{auc['shared']}, sci-tech {auc['scitech']}; at the local volume sharing avoids "
            f"{dec['defaults_avoided_at_local_volume']} defaults "
            f"(¥{yuan_millions(dec['losses_avoided_at_local_volume_fen']):,}m)"
        )
    n = summary.get("lending")
    if n and n["facilities"]:
        pledges = ", ".join(f"{k} {v}" for k, v in n["pledges"].items())
        limits = yuan_millions(n["joint_limit_fen"])
        console.print(
            f"lending: {n['agreements']} joint agreements (¥{limits:,}m "
            f"joint limits, {n['agreements_flagged']} flagged by an overdue, "
            f"{n['flags_cleared']} cleared), {sum(n['facilities'].values()):,} facilities, "
            f"¥{yuan_millions(n['outstanding_fen']):,}m outstanding; pledges: {pledges or 'none'}"
        )
    attacks = Table(
        title="Attacks: tried, refused by a named error, got in (succeeded)",
        box=box.SIMPLE,
        padding=(0, 1),
    )
    # Sized for 80 columns: a long class folds, an error's name stays whole.
    attacks.add_column("attack class", overflow="fold", max_width=24)
    for col in ("tried", "refused", "got in"):
        attacks.add_column(col, justify="right")
    attacks.add_column("refused by", overflow="fold", min_width=26)
    for kind, t in summary["attacks"].items():
        errors = ", ".join(
            f"{k}" if v == t["attempted"] else f"{k} x{v}" for k, v in t["errors"].items()
        )
        bad = t["refused"] != t["attempted"] or t["refused_unexpectedly"]
        refused = f"[{'red' if bad else 'green'}]{t['refused']}[/]"
        succeeded = f"[{'red' if t['succeeded'] else 'green'}]{t['succeeded']}[/]"
        attacks.add_row(kind, str(t["attempted"]), refused, succeeded, errors)
    console.print(attacks)
    for fault in summary["faults"]:
        detail = ", ".join(f"{k} {v}" for k, v in fault.items() if k not in ("day", "kind"))
        console.print(f"fault on day {fault['day']}: {fault['kind'].replace('_', ' ')} ({detail})")
    api = summary.get("api")
    if api:
        console.print(
            f"API: {api['accepted']:,} signed records accepted, {api['anchored']:,} anchored, "
            f"{api['lost']} lost; {len(api['restarts'])} restart(s)"
        )
    if audit is None:
        console.print("auditor: not available in this build")
    else:
        mark = "[green]clean[/green]" if audit.get("ok") else "[red]NOT clean[/red]"
        console.print(f"auditor: {mark}: {audit.get('verdict')}")
    if out is not None:
        console.print(
            f"manifest, chain, summary.json and report.html kept in {out}", soft_wrap=True
        )
