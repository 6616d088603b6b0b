"""The README's figure tables, generated from the benchmark runs kept in ``benchmarks/``.

A figure in the README is never typed by hand: ``credit-chain bench readme`` renders the
tables between the README's ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` markers
from the newest kept runs, and ``credit-chain bench readme --check`` (run by the test
suite) fails when the README says anything else.

Two kinds of run are kept, each as the command printed it:

- ``benchmarks/bench-all-<date>.json``: ``credit-chain bench all --json``, every section;
- ``benchmarks/bench-gas-<date>.json``: ``credit-chain bench gas --json``, gas alone.

Gas is exact and repeats on every run, so the gas figures come from the newest run that
measured gas, whichever command made it; rates and latencies come from the newest whole
``bench all`` run, and the table names both files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
README = ROOT / "README.md"

#: Every figure ``credit-chain bench gas`` measures, in the order the gas table lists them,
#: with what it is. A figure the benchmark reports and this table does not name stops the
#: rendering (``UnlabelledFigure``), so a new benchmark figure cannot go unpublished.
GAS_LABELS: dict[str, str] = {
    "attest_gas": "attestation (`attest`), steady state",
    "attest_first_gas": "attestation, the attester's first",
    "attest_by_sig_gas": "signed attestation relayed (`attestBySig`)",
    "revoke_gas": "revocation",
    "replace_gas": "replacement (correction)",
    "batch_size": "records in the measured batch",
    "batch_anchor_gas": "batch anchor (`anchorBatch`), one root",
    "batch_gas_per_record": "batch anchor per record",
    "batch_record_revoke_gas": "revocation of one batch record",
    "batch_max_size": "records in the largest batch (a tree of depth 16)",
    "batch_max_anchor_gas": "batch anchor of the largest batch",
    "batch_max_gas_per_record": "batch anchor per record, largest batch",
    "eas_attest_gas": "EAS `attest` (our record's two words as data), same run",
    "eas_timestamp_one_gas": "EAS `timestamp` of one root, same run",
    "eas_multi_timestamp_items": "items in the measured EAS `multiTimestamp`",
    "eas_multi_timestamp_gas_per_item": "EAS `multiTimestamp` per item, same run",
    "signed_batch_100_consecutive_gas_per_record": (
        "signed batch (`anchorSignedBatch`) per record, 100 records, one bank's consecutive nonces"
    ),
    "signed_batch_1000_consecutive_gas_per_record": (
        "signed batch per record, 1,000 records, one bank's consecutive nonces"
    ),
    "signed_batch_100_scattered_gas_per_record": (
        "signed batch per record, 100 records, scattered nonces (a new nonce word each)"
    ),
    "signed_batch_1000_scattered_gas_per_record": (
        "signed batch per record, 1,000 records, scattered nonces (a new nonce word each)"
    ),
    "receivable_issue_gas": "receivable issue",
    "receivable_issue_first_parties_gas": "receivable issue, both parties new",
    "receivable_accept_gas": "receivable acceptance",
    "receivable_split_gas": "receivable split",
    "receivable_transfer_gas": "receivable transfer",
    "receivable_finance_request_gas": "financing request (the holder's terms)",
    "receivable_finance_gas": "financing",
    "receivable_release_gas": "financing released",
    "receivable_settle_gas": "settlement",
    "receivable_settle_financed_gas": "settlement of a financed receivable",
    "receivable_mark_overdue_gas": "receivable marked overdue (adverse record made)",
    "relayed_overhead_gas": "Forwarder overhead (relayed minus direct revocation)",
    "relayed_batch_revoke_gas_per_request": (
        "relayed revocation in an `executeBatch` of 32, per request (the API's worker)"
    ),
    "relayed_log_query_gas": "relayed: log an authorised query",
    "relayed_withdraw_authorisation_gas": "relayed: withdraw an authorisation",
    "relayed_record_report_share_gas": "relayed: record a report share",
    "relayed_raise_dispute_gas": "relayed: raise a dispute",
    "relayed_reject_dispute_gas": "relayed: reject a dispute",
    "relayed_file_complaint_gas": "relayed: file a complaint to the regulator",
    "relayed_resolve_complaint_gas": "relayed: the regulator resolves a complaint",
    "relayed_revoke_gas": "relayed: revocation",
    "relayed_replace_gas": "relayed: replacement",
    "relayed_receivable_issue_gas": "relayed: receivable issue",
    "relayed_receivable_accept_gas": "relayed: receivable acceptance",
    "relayed_receivable_split_gas": "relayed: receivable split",
    "relayed_receivable_transfer_gas": "relayed: receivable transfer",
    "relayed_receivable_finance_request_gas": "relayed: financing request",
    "relayed_receivable_finance_gas": "relayed: financing",
    "relayed_receivable_release_gas": "relayed: financing released",
    "relayed_receivable_settle_one_gas": "relayed: settlement of one receivable",
    "relayed_receivable_mark_overdue_gas": "relayed: receivable marked overdue",
    "pledge_gas": "pledge of a patent (`pledge`, the pledgor's signature checked), target 90,000",
    "pledge_release_gas": "pledge released",
    "facility_register_gas": "credit facility registered, secured by one pledge, target 80,000",
    "facility_register_unsecured_gas": "credit facility registered, unsecured",
    "facility_draw_gas": "draw on a facility, target 60,000",
    "facility_draw_first_gas": "draw, the enterprise's first on any facility",
    "facility_draw_joint_gas": "draw by a participant of a joint agreement in force",
    "joint_limit_check_gas": "what the joint-limit check adds to a draw, target 10,000",
    "facility_repay_gas": "repayment on a facility",
}


class ReadmeTablesError(Exception):
    """The README's tables cannot be rendered or do not match the kept runs."""


class UnlabelledFigure(ReadmeTablesError):
    """A benchmark figure that the README's tables do not name."""


class StaleReadme(ReadmeTablesError):
    """The README's tables differ from what the kept runs render."""


@dataclass(frozen=True)
class Run:
    """One kept benchmark run: its file and its document."""

    path: Path
    doc: Mapping[str, Any]
    command: str

    @property
    def name(self) -> str:
        return f"benchmarks/{self.path.name}"


def _newest(pattern: str, benchmarks: Path, command: str) -> Run | None:
    # The files are named by ISO date, so the lexical order is the order of the runs.
    paths = sorted(benchmarks.glob(pattern))
    if not paths:
        return None
    return Run(paths[-1], json.loads(paths[-1].read_text(encoding="utf-8")), command)


def kept_runs(benchmarks: Path = BENCHMARKS) -> tuple[Run, Run]:
    """The newest whole run and the newest run that measured gas (which may be the same)."""
    whole = _newest("bench-all-*.json", benchmarks, "credit-chain bench all --json")
    if whole is None:
        raise ReadmeTablesError(f"no bench-all-*.json in {benchmarks}")
    gas_only = _newest("bench-gas-*.json", benchmarks, "credit-chain bench gas --json")

    def date(run: Run) -> str:
        # The name ends in the ISO date (and may add a suffix to it): bench-all-2026-12-03.
        return "-".join(run.path.stem.rsplit("-", 3)[-3:])

    if gas_only is None or date(gas_only) < date(whole):
        return whole, Run(whole.path, whole.doc["gas"], whole.command)
    return whole, gas_only


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,}"
    return str(value)


def _get(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        node = node[part]
    return node


def render_gas(gas: Run) -> str:
    """The gas table: every figure ``bench gas`` measured, labelled, in the table's order."""
    figures = dict(gas.doc)
    unknown = sorted(set(figures) - set(GAS_LABELS))
    if unknown:
        raise UnlabelledFigure(f"gas figures with no label in GAS_LABELS: {', '.join(unknown)}")
    lines = [
        f"Measured by `{gas.command}`, kept in `{gas.name}` "
        "(exact: the gas benchmark's chains have a pinned clock and fixed nonces).",
        "",
        "| operation | gas | key |",
        "| --- | ---: | --- |",
    ]
    for key, label in GAS_LABELS.items():
        if key in figures:
            lines.append(f"| {label} | {_fmt(figures[key])} | `{key}` |")
    return "\n".join(lines)


@dataclass(frozen=True)
class PerfRow:
    """A row of the performance table: what, ours on each chain, the reference, the target."""

    label: str
    ours: Callable[[Mapping[str, Any], Mapping[str, Any]], str]
    anvil: Callable[[Mapping[str, Any]], str]
    reference: Callable[[Mapping[str, Any]], str]
    target: str
    keys: str
    #: The reference is read from the gas run (measured beside ours by `bench gas`), not the
    #: whole run's reference section.
    reference_in_gas_run: bool = False


def _none(_doc: Mapping[str, Any]) -> str:
    return ""


def _eas(doc: Mapping[str, Any], key: str) -> str:
    return _fmt(_get(doc, f"reference.eas.eth_tester.compiled_here.{key}"))


_NAIVE = "reference.minimal_contract_tx_per_s.eth_tester_naive_web3"

PERF_ROWS: tuple[PerfRow, ...] = (
    PerfRow(
        "gas, one attestation",
        lambda w, g: _fmt(g["attest_gas"]),
        lambda w: _fmt(_get(w, "reference.attest_tx_per_s.anvil_ours.attest_gas")),
        lambda w: (
            f"EAS `attest`: {_eas(w, 'attest_gas')} (our record's two words as data; "
            f"{_eas(w, 'attest_one_word_gas')} with one word)"
        ),
        "≤ 60,000",
        "`gas.attest_gas`; `reference.eas…attest_gas`",
    ),
    PerfRow(
        "gas, batch anchor (one root) / per record, batch of "
        + "{batch} / of {batch_max}",  # replaced below with the measured sizes
        lambda w, g: (
            f"{_fmt(g['batch_anchor_gas'])} / {_fmt(g['batch_gas_per_record'])} / "
            f"{_fmt(g['batch_max_gas_per_record'])}"
        ),
        _none,
        lambda g: (
            f"EAS `timestamp` of one root: {_fmt(g['eas_timestamp_one_gas'])} "
            "(no role, schema or duplicate check), so per record "
            f"{_fmt(round(g['eas_timestamp_one_gas'] / g['batch_size'], 1))} / "
            f"{_fmt(round(g['eas_timestamp_one_gas'] / g['batch_max_size'], 2))}; "
            f"EAS `multiTimestamp` (one word per record): "
            f"{_fmt(g['eas_multi_timestamp_gas_per_item'])} per item"
        ),
        "≤ 56,000 / ≤ 500 / ≤ 1",
        "`gas.batch_anchor_gas`, `gas.batch_gas_per_record`, `gas.batch_max_gas_per_record`; "
        "`gas.eas_timestamp_one_gas`, `gas.eas_multi_timestamp_gas_per_item`",
        reference_in_gas_run=True,
    ),
    PerfRow(
        "minimal contract (`Counter.increment()`), signed tx/s",
        lambda w, g: _fmt(_get(w, "reference.minimal_contract_tx_per_s.eth_tester_ours.tx_per_s")),
        lambda w: _fmt(_get(w, "reference.minimal_contract_tx_per_s.anvil_ours.tx_per_s")),
        lambda w: (
            "plain web3.py on `EthereumTesterProvider`: "
            + _fmt(_get(w, "reference.minimal_contract_tx_per_s.eth_tester_naive_web3.tx_per_s"))
            + " (coincurve), "
            + _fmt(
                _get(
                    w,
                    "reference.minimal_contract_tx_per_s.eth_tester_naive_web3_pure_python.tx_per_s",
                )
            )
            + " (pure-Python secp256k1)"
        ),
        "",
        "`reference.minimal_contract_tx_per_s`",
    ),
    PerfRow(
        "our `attest`, tx/s, one block each",
        lambda w, g: _fmt(_get(w, "reference.attest_tx_per_s.eth_tester_ours.tx_per_s")),
        lambda w: _fmt(_get(w, "reference.attest_tx_per_s.anvil_ours.tx_per_s")),
        _none,
        "",
        "`reference.attest_tx_per_s`",
    ),
    PerfRow(
        "records anchored per second, end to end, {records} records",
        lambda w, g: _fmt(_get(w, "throughput.records_per_s")),
        _none,
        _none,
        "≥ 5,000",
        "`throughput.records_per_s`",
    ),
    PerfRow(
        "proof verifications per second (Python)",
        lambda w, g: _fmt(_get(w, "throughput.proofs_per_s")),
        _none,
        _none,
        "≥ 20,000",
        "`throughput.proofs_per_s`",
    ),
    PerfRow(
        "verifying one record at 100k records vs at 1k",
        lambda w, g: _fmt(_get(w, "throughput.verify_cost_ratio")) + "×",
        _none,
        _none,
        "≤ 2×",
        "`throughput.verify_cost_ratio`",
    ),
    PerfRow(
        "API: accepted submissions per second, {clients} concurrent clients on loopback",
        lambda w, g: _fmt(_get(w, "api.accepted_per_s")),
        _none,
        _none,
        "≥ 500",
        "`api.accepted_per_s`",
    ),
    PerfRow(
        "API: p50 / p99 accept latency",
        lambda w, g: (
            f"{_fmt(_get(w, 'api.p50_accept_ms'))} ms / {_fmt(_get(w, 'api.p99_accept_ms'))} ms"
        ),
        _none,
        _none,
        "p99 ≤ 50 ms",
        "`api.p99_accept_ms`",
    ),
    PerfRow(
        "API: p99 from accept to anchored",
        lambda w, g: f"{_fmt(_get(w, 'api.p99_anchor_ms'))} ms",
        _none,
        _none,
        "≤ 2 s",
        "`api.p99_anchor_ms`",
    ),
    PerfRow(
        "API restart with {restart_records} anchored records",
        lambda w, g: f"{_fmt(_get(w, 'restart.restart_s'))} s",
        _none,
        _none,
        "≤ 10 s",
        "`restart.restart_s`",
    ),
    PerfRow(
        "simulation, {enterprises} enterprises × {days} days ({sim_records} records, "
        "{sim_tx} transactions, {refused} of {attempted} attacks refused)",
        lambda w, g: f"{_fmt(_get(w, 'sim.seconds'))} s",
        _none,
        _none,
        "≤ 5 min",
        "`sim.seconds`",
    ),
    PerfRow(
        "full audit of a {audit_records}-record ledger / incremental re-audit",
        lambda w, g: (
            f"{_fmt(_get(w, 'audit.audit_seconds'))} s / {_fmt(_get(w, 'audit.reaudit_seconds'))} s"
        ),
        _none,
        _none,
        "≤ 60 s",
        "`audit.audit_seconds`, `audit.reaudit_seconds`",
    ),
)


def _sizes(whole: Mapping[str, Any], gas: Mapping[str, Any]) -> dict[str, str]:
    return {
        "batch": _fmt(gas["batch_size"]),
        # A kept run older than the figure has none: kept runs are never rewritten.
        "batch_max": _fmt(gas.get("batch_max_size", "—")),
        "records": _fmt(_get(whole, "throughput.records")),
        "clients": _fmt(_get(whole, "api.clients")),
        "restart_records": _fmt(_get(whole, "restart.records")),
        "enterprises": _fmt(_get(whole, "sim.enterprises")),
        "days": _fmt(_get(whole, "sim.days")),
        "sim_records": _fmt(_get(whole, "sim.records")),
        "sim_tx": _fmt(_get(whole, "sim.transactions")),
        "refused": _fmt(_get(whole, "sim.attacks_refused")),
        "attempted": _fmt(_get(whole, "sim.attacks_attempted")),
        "audit_records": _fmt(_get(whole, "audit.records")),
    }


def _measured(cell: Callable[..., str], *runs: Mapping[str, Any]) -> str:
    """A cell of the performance table, or "—" where a kept run predates the figure."""
    try:
        return cell(*runs)
    except KeyError:
        return "—"


def render_performance(whole: Run, gas: Run) -> str:
    """The performance table: rates from the whole run, gas from the newest gas run."""
    w, g = whole.doc, gas.doc
    machine = w["machine"]
    load = machine["load_average_at_start"]
    # Runs before the engine was recorded ran on the only default there was then, py-evm.
    engine = {"pyevm": "py-evm", "revm": "revm"}[w.get("engine", "pyevm")]
    lines = [
        f"Rates and references: `{whole.name}` (`{w['run']['command']}`, "
        f"embedded chain on {engine}, "
        f"{_fmt(w['run']['total_seconds'])} s, load average {load[0]} at the start, "
        f"{machine['cpu_count']} cores, {machine['cpu_model']}, Python {machine['python']}). "
        f"Gas: `{gas.name}`.",
        "",
        "| measure | ours (embedded) | ours (anvil) | reference (measured in the same run) "
        "| target | key |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    sizes = _sizes(w, g)
    for row in PERF_ROWS:
        cells = (
            row.label.format(**sizes),
            _measured(row.ours, w, g),
            _measured(row.anvil, w),
            _measured(row.reference, g if row.reference_in_gas_run else w),
            row.target,
            row.keys,
        )
        lines.append("| " + " | ".join(cells) + " |")
    met = [t for t in w.get("targets", []) if t.get("comparable", True)]
    missed = [t["figure"] for t in met if not t["met"]]
    lines.append("")
    lines.append(
        f"Targets met in that run: {len(met) - len(missed)} of {len(met)}"
        + (f" (missed: {', '.join(missed)})." if missed else ".")
    )
    return "\n".join(lines)


def _interval(doc: Mapping[str, Any], key: str) -> str:
    low, high = doc[f"{key}_ci"]
    return f"{doc[key]} ({low}-{high})"


def render_score(benchmarks: Path = BENCHMARKS) -> str:
    """The credit-score figures of the newest ``bench score`` run."""
    run = _newest("bench-score-*.json", benchmarks, "credit-chain bench score --json")
    if run is None:
        return "No `credit-chain bench score` run is kept in `benchmarks/`."
    d = run.doc
    regimes = (
        ("local", "(a) one city: own records and the own city's members' answers"),
        ("shared", "(b) five cities: every member's records, under consent"),
        ("scitech", "(c) five cities + sci-tech indicators"),
    )
    lines = [
        "The world's parameters (`node_sim.credit_world.PARAMETERS`, as that run used them):",
        "",
        "| parameter | value | source |",
        "| --- | --- | --- |",
        *(f"| {p['name']} | {p['value']} | {p['source']} |" for p in d["world_parameters"]),
        "",
        f"From `{run.name}` (`{run.command}`, seed {d['seed']}: {_fmt(d['enterprises'])} "
        f"enterprises, {_fmt(d['held_out'])} held out with {_fmt(d['held_out_defaults'])} "
        f"defaults; 95 % bootstrap intervals):",
        "",
        "| scorecard sees | AUC | KS | Brier |",
        "| --- | --- | --- | --- |",
    ]
    for key, label in regimes:
        lines.append(
            f"| {label} | {_interval(d, key + '_auc')} | {_interval(d, key + '_ks')} "
            f"| {_interval(d, key + '_brier')} |"
        )
    lines += [
        "",
        f"Boosted model on (c): AUC {d['scitech_boosted_auc']}, Brier "
        f"{d['scitech_boosted_brier']}. Shared minus local AUC: "
        f"**{d['shared_minus_local_auc']}** (goal ≥ {d['targets']['shared_minus_local_auc']}); "
        f"sci-tech AUC **{d['scitech_auc']}** (goal ≥ {d['targets']['scitech_auc']}).",
        "",
        f"The uplift of (b) over (a) as the share of business with other cities grows "
        f"(a world of {_fmt(d['enterprises'] // 2)} enterprises at each share, 30 % held out):",
        "",
        "| mean cross-city share of business | local AUC | shared AUC | uplift (95 %) |",
        "| --- | --- | --- | --- |",
    ]
    for row in d["uplift_by_cross_city_share"]:
        low, high = row["uplift_ci"]
        lines.append(
            f"| {row['cross_city_mean']:.0%} | {row['local_auc']} | {row['shared_auc']} "
            f"| {row['uplift']} ({low} to {high}) |"
        )
    dec = d["decisions"]
    lines += [
        "",
        "| approving grades AAA-BB | approved | defaults among them | default rate |",
        "| --- | --- | --- | --- |",
    ]
    for key, label in regimes:
        row = dec[key]
        lines.append(
            f"| {label} | {_fmt(row['approved'])} | {_fmt(row['approved_defaults'])} "
            f"| {row['approved_default_rate']} |"
        )
    lines += [
        "",
        f"Scoring {_fmt(d['score_enterprises'])} enterprises (features from their records "
        f"under the visibility rules, then the scorecard): **{d['score_seconds']} s** "
        f"(target ≤ {d['targets']['score_100k_seconds']} s). Recomputing one attested score "
        f"from its records and the published model: **{d['verify_one_ms']} ms** "
        f"(target ≤ {d['targets']['verify_one_ms']} ms; the chain reads of "
        "`verify --score-bundle` not included).",
    ]
    return "\n".join(lines)


def render_console(benchmarks: Path = BENCHMARKS) -> str:
    """The console's first-render figures of the newest ``bench console`` run."""
    run = _newest("bench-console-*.json", benchmarks, "credit-chain bench console --json")
    if run is None:
        return "No `credit-chain bench console` run is kept in `benchmarks/`."
    d = run.doc

    def row(page: str) -> str:
        key = f"{page}_first_render_s"
        met = "met" if d["met"][key] else "missed"
        return (
            f"| {page} | {d[page + '_read_first_s']} s, {d[page + '_read_again_s']} s "
            f"| {d[page + '_dom_ready_s']} s | {d[key]} s ({met}) | {d['targets'][key]} s |"
        )

    return "\n".join(
        [
            f"From `{run.name}` (`{run.command}`: {_fmt(d['ledger']['batch_records'])} records "
            f"in batches, {_fmt(d['ledger']['receivable_parts'])} receivable parts; measured "
            f"in the {d['measured_in']}):",
            "",
            "| page | API read (first, warm) | DOM ready | every chart drawn | target |",
            "| --- | --- | --- | --- | --- |",
            row("overview"),
            row("risk"),
        ]
    )


def _mib(value: Any) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f} MiB"


def _secs(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} s" if value < 600 else f"{value / 60:,.0f} min"


def _scale_target(t: Mapping[str, Any]) -> str:
    head = f"{_fmt(t['enterprises'])} x {t['days']} days"
    if t["how"] == "n/a":  # the run's days were not the target's
        return f"{head} not measured (the run's days differ)"
    return (
        f"{head} {t['how']} {_secs(t['seconds'])} "
        f"({'met' if t['seconds_met'] else 'missed'}, target {_secs(t['seconds_target'])}) "
        f"and {_mib(t['peak_rss_bytes'])} "
        f"({'met' if t['memory_met'] else 'missed'}, target {_mib(t['peak_rss_target'])})"
    )


def render_scale(benchmarks: Path = BENCHMARKS) -> str:
    """The simulator at scale: each measured size, the fits and their extrapolations."""
    # bench-scale-<date>.json: the sizes and their fit; bench-scale-1m-*.json: one size
    # measured once beside them (an hour's run), set against what the fit predicted, with
    # its audit when it was run with --audit (bench-scale-1m-audit-<date>.json).
    run = _newest("bench-scale-20*.json", benchmarks, "credit-chain bench scale --json")
    if run is None:
        return "No `credit-chain bench scale` run is kept in `benchmarks/`."
    d = run.doc
    lines = [
        f"From `{run.name}` (`{run.command}`, {d['engine']} engine, {d['days']} days, "
        f"flows played for a sample of {_fmt(d['flow_sample'])} enterprises):",
        "",
        "| enterprises | wall time | peak RSS | disk | transactions | records anchored "
        "| batches (largest) | slowest stage |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in d["runs"]:
        stages = r["stage_seconds"]
        slow = max(stages, key=lambda st: stages[st])
        lines.append(
            f"| {_fmt(r['enterprises'])} | {_secs(r['seconds'])} | {_mib(r['peak_rss_bytes'])} "
            f"| {_mib(r['disk_bytes'])} | {_fmt(r['transactions'])} | {_fmt(r['records'])} "
            f"| {_fmt(r['batches'])} ({_fmt(r['largest_batch'])}) "
            f"| {slow} {stages[slow]:,.0f} s |"
        )
    for label, row in d["extrapolated"].items():
        lines.append(
            f"| {label.split(' x ')[0]} (fitted) | {_secs(row['seconds'])} power law, "
            f"{_secs(row['seconds_affine'])} linear, {_secs(row['seconds_sum_of_stages'])} "
            f"by stage | {_mib(row['peak_rss_bytes'])} / {_mib(row['peak_rss_bytes_affine'])} "
            f"| {_mib(row['disk_bytes'])} / {_mib(row['disk_bytes_affine'])} | - "
            f"| {_fmt(row['records'])} | - | {row['bound_by']} |"
        )
    fits = d["fits"]
    lines += [
        "",
        f"Fitted exponents (time, memory, disk against enterprises): "
        f"{fits['seconds']['exponent']}, {fits['peak_rss_bytes']['exponent']}, "
        f"{fits['disk_bytes']['exponent']}. Targets: "
        + "; ".join(_scale_target(t) for t in d["targets"])
        + ".",
    ]
    check = d.get("engine_check")
    if check:
        lines.append(
            f"Engine check ({_fmt(check['enterprises'])} enterprises x {check['days']} days, "
            f"records only): py-evm {_fmt(check['pyevm_gas'])} gas, revm "
            f"{_fmt(check['revm_gas'])} gas, every batch the same: {_fmt(check['same'])}."
        )
    if "stopped" in d:
        lines.append(f"Stopped at {_fmt(d['stopped']['enterprises'])}: {d['stopped']['why']}.")
    once = _newest(
        "bench-scale-1m-*.json", benchmarks, "credit-chain bench scale --size 1000000 --json"
    )
    for r in once.doc["runs"] if once is not None else ():
        assert once is not None
        predicted = d["extrapolated"].get(f"{r['enterprises']:,} x {r['days']} days")
        lines.append(
            f"Measured at {_fmt(r['enterprises'])} x {r['days']} days (`{once.name}`): "
            f"{_secs(r['seconds'])}, {_mib(r['peak_rss_bytes'])} peak RSS, "
            f"{_mib(r['disk_bytes'])} on disk, {_fmt(r['transactions'])} transactions, "
            f"{_fmt(r['records'])} records in {_fmt(r['batches'])} batches"
            + (
                f"; the fit predicted {_secs(predicted['seconds'])} to "
                f"{_secs(predicted['seconds_affine'])} and {_mib(predicted['peak_rss_bytes'])} "
                f"to {_mib(predicted['peak_rss_bytes_affine'])}."
                if predicted
                else "."
            )
            + _scale_audit(r.get("audit"))
        )
    return "\n".join(lines)


def _scale_audit(audit: Mapping[str, Any] | None) -> str:
    """A run's audit (``bench scale --audit``), as one sentence, or nothing when not audited."""
    if not audit:
        return ""
    return (
        f" Audited after the run in {_secs(audit['seconds'])} "
        f"({_fmt(audit['blocks'])} blocks, {_fmt(audit['events'])} events, "
        f"{_fmt(audit['views_read'])} views in {_fmt(audit['view_calls'])} eth_calls, "
        f"{_fmt(audit['batch_records'])} records in {_fmt(audit['batches'])} batches): "
        + ("clean." if audit["ok"] else f"{_fmt(audit['mismatches'])} mismatches.")
    )


#: Issue 19's targets for the API under the mix, 32 clients on the embedded chain.
MIX_TARGETS = {"accepted_per_s": 1_000, "p99_accept_ms": 50.0, "p99_anchor_ms": 2_000.0}


def render_api_curve(benchmarks: Path = BENCHMARKS) -> str:
    """The API under the consortium's mix: the closed loop's ceiling, then the latency at
    each offered rate, from the newest ``bench api --mix --curve`` run."""
    run = _newest(
        "bench-api-curve-*.json", benchmarks, "credit-chain bench api --mix --curve --json"
    )
    if run is None:
        return "No `credit-chain bench api --mix --curve` run is kept in `benchmarks/`."
    d = run.doc
    closed, opens = d["closed_loop"], d["open_loops"]
    bound = d.get("admission_bound_s")
    lines = [
        f"From `{run.name}` (`{d.get('command', run.command)}`, embedded chain on {d['engine']}, "
        f"{closed['keys']} keys at the default limits, batches of {closed['batch_size']}, "
        f"{closed['seconds']:g} s a run, "
        + (f"admission bound {bound:g} s, " if bound else "no admission bound, ")
        + f"load average {d['machine']['load_average_at_start'][0]} at the start; clients "
        "wait as long as a refusal's Retry-After says):",
        "",
        "| load | accepted submissions/s (requests/s) | p50 / p99 accept | "
        "p99 accept after the first 2 s | p99 accept → anchored | refused, errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def row(load: str, r: Mapping[str, Any], after: str) -> str:
        refused = sum(r["refused"].values()) if r["refused"] else 0
        return (
            f"| {load} | {_fmt(r['accepted_per_s'])} ({_fmt(r['requests_per_s'])}) "
            f"| {r['p50_accept_ms']} ms / {r['p99_accept_ms']} ms | {after} "
            f"| {_fmt(r['p99_anchor_ms'])} ms | {refused}, {r['errors']} |"
        )

    lines.append(row(f"closed loop, {closed['clients']} clients", closed, "-"))
    for r in opens:
        lines.append(
            row(
                f"open loop, offered {r['offered_requests_per_s']:g} requests/s "
                f"({_fmt(r['offered_submissions_per_s'])} submissions/s)",
                r,
                f"{r['p99_accept_ms_after_warmup']} ms",
            )
        )
    # The same load with the bound off, when such a run is kept: what the bound buys.
    unbounded = _newest(
        "bench-api-unbounded-*.json",
        benchmarks,
        "CREDIT_CHAIN_ADMISSION_BOUND_S=0 credit-chain bench api --mix --curve --json",
    )
    if unbounded is not None and bound:
        free = unbounded.doc.get("closed_loop")
        if free is not None:
            lines.append(
                row(f"the same closed loop, no admission bound (`{unbounded.name}`)", free, "-")
            )
        for r in unbounded.doc["open_loops"]:
            lines.append(
                row(
                    f"the same, offered {r['offered_requests_per_s']:g} requests/s, "
                    f"no admission bound (`{unbounded.name}`)",
                    r,
                    f"{r['p99_accept_ms_after_warmup']} ms",
                )
            )
    held = [
        r
        for r in opens
        if r["p99_accept_ms"] <= MIX_TARGETS["p99_accept_ms"]
        and r["p99_anchor_ms"] <= MIX_TARGETS["p99_anchor_ms"]
    ]
    # The most accepted in a run of the bound's: more offered is refused, not queued.
    best = max([closed, *opens], key=lambda r: r["accepted_per_s"])
    ceiling = best["accepted_per_s"]
    beyond = ""
    if unbounded is not None and bound:
        free_runs = [*unbounded.doc["open_loops"]]
        if unbounded.doc.get("closed_loop") is not None:
            free_runs.append(unbounded.doc["closed_loop"])
        top = max(free_runs, key=lambda r: r["accepted_per_s"])
        beyond = (
            f", and {_fmt(top['accepted_per_s'])} with no bound, where anchoring fell behind "
            f"(p99 accept → anchored {_fmt(top['p99_anchor_ms'])} ms)"
        )
    lines += [
        "",
        f"Targets: ≥ {_fmt(MIX_TARGETS['accepted_per_s'])} accepted/s: at most "
        f"{_fmt(ceiling)} with the admission bound "
        f"({'met' if ceiling >= MIX_TARGETS['accepted_per_s'] else 'missed'}){beyond}; "
        f"p99 accept ≤ {MIX_TARGETS['p99_accept_ms']:g} ms and p99 accept → anchored ≤ 2 s: "
        + (
            f"held up to {_fmt(max(r['accepted_per_s'] for r in held))} accepted/s offered "
            "in the open loop"
            if held
            else "held at no offered rate measured"
        )
        + f"; in the closed loop {closed['p99_accept_ms']} ms and "
        f"{_fmt(closed['p99_anchor_ms'])} ms (queueing: every client always waits).",
    ]
    return "\n".join(lines)


def render_all(benchmarks: Path = BENCHMARKS) -> dict[str, str]:
    """Each generated block of the README by its marker name."""
    whole, gas = kept_runs(benchmarks)
    return {
        "performance": render_performance(whole, gas),
        "gas": render_gas(gas),
        "score": render_score(benchmarks),
        "console": render_console(benchmarks),
        "scale": render_scale(benchmarks),
        "mix": render_api_curve(benchmarks),
    }


_BLOCK = re.compile(
    r"(<!-- bench:(?P<name>[a-z]+) -->\n)(?P<body>.*?)(<!-- /bench:(?P=name) -->)", re.S
)


def rewrite(text: str, blocks: Mapping[str, str]) -> str:
    """``text`` with each marked block replaced by its rendering."""
    seen: set[str] = set()

    def sub(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in blocks:
            raise ReadmeTablesError(f"the README marks a block {name!r} that nothing renders")
        seen.add(name)
        return m.group(1) + blocks[name] + "\n" + m.group(4)

    out = _BLOCK.sub(sub, text)
    missing = sorted(set(blocks) - seen)
    if missing:
        raise ReadmeTablesError(f"the README has no marked block for {', '.join(missing)}")
    return out


def update_readme(
    check: bool = False, readme: Path = README, benchmarks: Path = BENCHMARKS
) -> bool:
    """Render the README's tables from the kept runs. With ``check``, change nothing and
    raise ``StaleReadme`` when the README differs; otherwise write it. True when it changed."""
    text = readme.read_text(encoding="utf-8")
    new = rewrite(text, render_all(benchmarks))
    if new == text:
        return False
    if check:
        raise StaleReadme(
            f"{readme.name}'s benchmark tables differ from {benchmarks.name}/: "
            "run `credit-chain bench readme`"
        )
    readme.write_text(new, encoding="utf-8")
    return True
