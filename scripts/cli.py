"""The ``credit-chain`` command line."""

from __future__ import annotations

import contextlib
import copy
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    help="The Yangtze River Delta credit chain (长三角征信链): compile, deploy, demo.",
    no_args_is_help=True,
    add_completion=False,
)
uscc_app = typer.Typer(help="Unified Social Credit Codes: validate, derive subject ids.")
app.add_typer(uscc_app, name="uscc")
bench_app = typer.Typer(help="Benchmarks on a fresh embedded chain: gas and throughput.")
app.add_typer(bench_app, name="bench")
keys_app = typer.Typer(help="API keys: issue, list and revoke (stored hashed in api.sqlite).")
app.add_typer(keys_app, name="keys")
# The local five-city network: a group of its own, in scripts/network_cli.py.
from scripts.network_cli import network_app  # noqa: E402 - after the app it joins

app.add_typer(network_app, name="network")

RpcOption = Annotated[
    str | None,
    typer.Option(
        "--rpc",
        help="JSON-RPC URL of a node, or a comma list of one network's nodes, failed over "
        "in order (default: the embedded chain).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Keep the embedded chain in this directory, so it outlives the command.",
    ),
]


@app.callback()
def _engine(
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="The embedded chain's engine: revm or pyevm (default: $CREDIT_CHAIN_ENGINE, "
            "else revm). Same blocks and gas; py-evm is the reference, many times slower.",
        ),
    ] = None,
) -> None:
    """The Yangtze River Delta credit chain (长三角征信链): compile, deploy, demo."""
    if engine is None:
        return
    import os

    from ledger_client.chain.backends import ENGINE_VARIABLE, ENGINES

    if engine not in ENGINES:
        raise _fail(f"--engine {engine!r}: use one of {', '.join(ENGINES)}", code=2)
    # The setting every later connect("embedded") reads, in this process and in any
    # it starts (the API server, the simulation's workers).
    os.environ[ENGINE_VARIABLE] = engine


def _connect(rpc: str | None, data_dir: Path | None) -> Any:
    from ledger_client import LedgerValueError, connect

    if rpc is not None and data_dir is not None:
        raise LedgerValueError("--data-dir is for the embedded chain; a node keeps its own data")
    if rpc is not None:
        return connect(rpc)
    return connect("embedded", data_dir=data_dir) if data_dir else connect("embedded")


def _emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


def _fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.command()
def compile(as_json: JsonOption = False) -> None:
    """Compile contracts/ with solc-js into ledger_client/artifacts (needs node.js)."""
    from ledger_client.chain.compiler import compile_and_write
    from ledger_client.errors import CompilerError

    try:
        result, paths = compile_and_write()
    except CompilerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit_json(
            {
                "compiler": result.compiler,
                "sources_hash": result.sources_hash,
                "contracts": sorted(result.contracts),
                "written": [str(p) for p in paths],
            }
        )
        return
    console = Console()
    console.print(f"Compiled with solc {result.compiler}")
    for name, art in sorted(result.contracts.items()):
        size = (len(art["deployed_bytecode"]) - 2) // 2
        console.print(f"  {name:<24} runtime {size:>6,} bytes")
    for p in paths:
        console.print(f"wrote {p}")


#: Where ``deploy`` reads the regulator's private key (hex) when no --regulator-key is given.
REGULATOR_KEY_ENV = "CREDIT_CHAIN_REGULATOR_KEY"


def _regulator_account(path: Path | None) -> Any:
    """The regulator's account from a key file (a keyring holding ``regulator``, or one hex
    private key) or the CREDIT_CHAIN_REGULATOR_KEY variable; None when neither is given."""
    import os

    from eth_account import Account

    from ledger_client import Keyring, LedgerValueError

    if path is None:
        env = os.environ.get(REGULATOR_KEY_ENV, "").strip()
        return Account.from_key(env) if env else None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise LedgerValueError(f"cannot read the regulator's key {path}: {exc}") from exc
    if text.startswith("{"):
        return Keyring.load(path).account("regulator")
    try:
        return Account.from_key(text)
    except (ValueError, TypeError) as exc:
        raise LedgerValueError(f"{path} holds no private key: {exc}") from exc


@app.command()
def deploy(
    rpc: RpcOption = None,
    data_dir: DataDirOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the manifest to this file.")
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option("--keys", help="Write the development keys used to this file."),
    ] = None,
    seed: Annotated[str, typer.Option(help="Seed of the development keys.")] = "credit-chain",
    regulator_key: Annotated[
        Path | None,
        typer.Option(
            "--regulator-key",
            help="The regulator's own key file (a hex private key, or a keyring with "
            f"'regulator'); or set {REGULATOR_KEY_ENV}. With it no key file is written.",
        ),
    ] = None,
    relayer: Annotated[
        list[str] | None,
        typer.Option(
            "--relayer",
            help="Admit this account (an API's relay account, `credit-chain relay-account`) "
            "with the relayer role and no other (repeatable).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy every contract and print the deployment manifest.

    Run by the regulator: with --regulator-key (or CREDIT_CHAIN_REGULATOR_KEY) the
    ledger is deployed with the regulator's own key, which is never written anywhere;
    without, with development keys derived from --seed (written to --keys).
    """
    from eth_utils.address import is_address, to_checksum_address

    from ledger_client import Keyring, LedgerError, Role
    from ledger_client import deploy as deploy_contracts
    from ledger_client.errors import TransactionError

    relayers = list(relayer or [])
    for account in relayers:
        if not is_address(account):
            raise _fail(f"--relayer {account!r} is not an account address")
    try:
        regulator = _regulator_account(regulator_key)
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    ring: Keyring | None = None
    if regulator is None:
        ring = Keyring(seed)
        regulator = ring.account("regulator")
        if data_dir is not None:
            keys = keys or data_dir / "keys.json"
    elif keys is not None:
        raise _fail("--keys writes development keys; a deployment with --regulator-key keeps none")
    if data_dir is not None:
        out = out or data_dir / "manifest.json"
    try:
        chain = _connect(rpc, data_dir)
        chain.fund(regulator.address)
        ledger = deploy_contracts(chain, regulator)
        for account in relayers:
            address = to_checksum_address(account)
            with contextlib.suppress(TransactionError):
                chain.fund(address)  # a development chain; a real network's operator pays
            ledger.consortium.admit_member(
                regulator, address, "Credit chain API relay", "Shanghai", Role.RELAYER
            )
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if out is not None:
        ledger.manifest.save(out)
    if keys is not None and ring is not None:
        ring.save(keys)
    chain.close()
    if as_json:
        sys.stdout.write(ledger.manifest.to_json() + "\n")
        return
    console = Console()
    console.print(f"Deployed on {chain.backend.describe()} (chain id {chain.chain_id}):")
    for name, entry in ledger.manifest.contracts.items():
        console.print(f"  {name:<24} {entry.address}")
    for account in relayers:
        console.print(f"admitted {account} as a relayer (no other role)")
    if out is not None:
        console.print(f"manifest written to {out}", soft_wrap=True)
    if rpc is None and data_dir is None:
        console.print(
            "[yellow]note:[/yellow] the embedded chain lives only in this process; "
            "use --data-dir DIR (or --rpc URL) for a deployment that lasts."
        )


@app.command()
def demo(
    rpc: RpcOption = None, data_dir: DataDirOption = None, as_json: JsonOption = False
) -> None:
    """Form the five-city consortium on a chain and show its rules at work."""
    from dataclasses import asdict

    from demos.consortium import run_demo
    from ledger_client import LedgerError, Manifest

    try:
        chain = _connect(rpc, data_dir)
        report = run_demo(chain, console=Console(quiet=as_json))
        chain.close()
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    # -- audit: keep the demo's manifest beside its chain (`credit-chain audit --manifest`)
    if data_dir is not None:
        Manifest.from_dict(report.manifest).save(data_dir / "manifest.json")
    if as_json:
        _emit_json(asdict(report))


@app.command()
def simulate(
    days: Annotated[int, typer.Option(min=1, help="Simulated days.")] = 90,
    enterprises: Annotated[int, typer.Option(min=5, help="Enterprises in the world.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same figures.")] = 7,
    rpc: RpcOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Keep manifest.json, the chain and summary.json here."),
    ] = None,
    adversary_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Probability of an attack on a day.")
    ] = 0.5,
    attacks_per_day: Annotated[
        int,
        typer.Option(min=1, max=100, help="Attack classes tried on a day of attack."),
    ] = 1,
    late_dispute_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of disputes answered past the 20-day deadline (0: a clean run).",
        ),
    ] = 0.15,
    via_api: Annotated[
        bool,
        typer.Option(
            "--via-api",
            help="Send signed records through a real `credit-chain serve` started for the run "
            "(restarted half way); what the API has no route for goes to the chain.",
        ),
    ] = False,
    credit_enterprises: Annotated[
        int,
        typer.Option(
            min=0,
            help="Enterprises of the credit world whose held-out 30 % apply to the banks, "
            "which approve and price by grade (0: no credit decisions).",
        ),
    ] = 7_000,
    as_json: JsonOption = False,
) -> None:
    """Run the Yangtze Delta scenario: five cities over simulated days, with adversaries."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ledger_client import LedgerError
    from node_sim.simulation import SimulationConfig, run_simulation

    config = SimulationConfig(
        days=days,
        enterprises=enterprises,
        seed=seed,
        rpc=rpc,
        out=out,
        adversary_rate=adversary_rate,
        attacks_per_day=attacks_per_day,
        late_dispute_rate=late_dispute_rate,
        via_api=via_api,
        credit_enterprises=credit_enterprises,
    )
    console = Console(stderr=True, quiet=as_json)
    with Progress(
        TextColumn("[bold]simulating[/bold] day {task.completed}/{task.total}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("days", total=days)
        try:
            result = run_simulation(config, lambda done, _: bar.update(task, completed=done))
        except LedgerError as exc:
            raise _fail(str(exc)) from exc
    if as_json:
        _emit_json({**result.summary, "timing": result.timing, "audit": result.audit})
    else:
        from node_sim.summary import print_summary

        print_summary(Console(), result.summary, result.timing, result.audit, out)
    breaches = {k: t["succeeded"] for k, t in result.summary["attacks"].items() if t["succeeded"]}
    if breaches:
        raise _fail(f"attacks succeeded (breaches): {breaches}")


@app.command("simulate-scale")
def simulate_scale(
    enterprises: Annotated[
        int, typer.Option(min=1, help="Enterprises of the credit world (their records).")
    ] = 10_000,
    days: Annotated[int, typer.Option(min=1, help="Simulated days (365: the world's year).")] = 365,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same batches.")] = 7,
    flow_sample: Annotated[
        int,
        typer.Option(
            min=5, help="Enterprises whose other flows (consent, receivables, ...) are played."
        ),
    ] = 200,
    out: Annotated[
        Path,
        typer.Option("--out", help="Keep the chain, the records' rows and the batch index here."),
    ] = Path("scale-run"),
    as_json: JsonOption = False,
) -> None:
    """The scenario at scale: the credit world's records reported daily in Merkle batches.

    Runs on revm unless ``--engine`` says otherwise. Prove a record afterwards with
    ``credit-chain scale-proof`` and check it with ``credit-chain --engine revm verify``.
    """
    import os

    from ledger_client import LedgerError
    from ledger_client.chain.backends import ENGINE_VARIABLE
    from node_sim.scale import ScaleConfig, run_scale

    engine = os.environ.get(ENGINE_VARIABLE) or "revm"
    out.mkdir(parents=True, exist_ok=True)
    config = ScaleConfig(
        enterprises=enterprises,
        days=days,
        seed=seed,
        out=out,
        engine=engine,
        flow_sample=flow_sample,
    )
    try:
        result = run_scale(config)
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if result.ledger is not None:
        result.ledger.chain.close()
    doc = {"scale": result.summary["scale"], "timing": result.timing}
    doc["transactions"] = result.summary["transactions"]
    if as_json:
        _emit_json(doc)
        return
    _print_bench(f"The scenario at scale ({engine}, kept in {out})", _flat(doc), False)


def _flat(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested figures as one level of dotted keys, for a two-column table."""
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@app.command("scale-proof")
def scale_proof(
    out: Annotated[Path, typer.Option("--out", help="A `simulate-scale` run's directory.")],
    batch: Annotated[int, typer.Option(min=0, help="The batch's number in batches.jsonl.")],
    index: Annotated[int, typer.Option(min=0, help="The record's position in the batch.")],
    record_file: Annotated[Path, typer.Option("--record", help="Write the record here.")],
    proof_file: Annotated[Path, typer.Option("--proof", help="Write its proof here.")],
) -> None:
    """Rebuild one record of a scale run and its inclusion proof from the kept rows, for
    ``credit-chain --engine revm verify --manifest OUT/manifest.json --record R --proof P``."""
    from ledger_client import LedgerError
    from node_sim.scale import ScaleStore

    try:
        store = ScaleStore(out)
        if batch >= len(store.batches) or index >= store.batches[batch].count:
            raise _fail(f"batch {batch} record {index} is not in {out}")
        record = store.record(batch, index)
        proof = store.proof(batch, index)
    except (LedgerError, OSError) as exc:
        raise _fail(str(exc)) from exc
    record_file.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    proof_file.write_text(json.dumps(proof.to_dict(), indent=2) + "\n", encoding="utf-8")


def _open_ledger(
    manifest_path: Path, rpc: str | None, data_dir: Path | None, *, wiring: bool = True
) -> Any:
    """Attach to the deployment a manifest names, on its node or its embedded chain.

    ``wiring=False`` leaves the wiring check to the caller (the audit reports it).
    """
    from ledger_client import Manifest, attach, connect

    manifest = Manifest.load(manifest_path)
    if rpc is None and manifest.network != "embedded":
        rpc = manifest.network
    if rpc is not None:
        return attach(connect(rpc), manifest, wiring=wiring)
    # An embedded chain is kept beside its manifest (deploy --data-dir, simulate --out).
    home = data_dir or next(
        (
            d
            for d in (manifest_path.parent, manifest_path.parent / "chain")
            if (d / "chain.sqlite").exists()
        ),
        None,
    )
    if home is None:
        from ledger_client import LedgerValueError

        raise LedgerValueError(
            f"no embedded chain beside {manifest_path}: pass --data-dir DIR or --rpc URL"
        )
    return attach(connect("embedded", data_dir=home), manifest, wiring=wiring)


@app.command()
def verify(
    manifest: Annotated[Path, typer.Option(help="The deployment's manifest.json.")],
    record: Annotated[Path, typer.Option(help="The off-chain record, as JSON.")],
    uid: Annotated[
        str | None, typer.Option(help="The attestation's UID (0x...); not for batches.")
    ] = None,
    proof: Annotated[
        Path | None, typer.Option(help="A batched record's proof file (batch id, index, proof).")
    ] = None,
    score_bundle: Annotated[
        Path | None,
        typer.Option(
            help="For a credit-score record: its bundle (records used, model, members) to "
            "recompute the score from."
        ),
    ] = None,
    rpc: RpcOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a record against the chain; exit 0 only when every check holds.

    With ``--score-bundle`` the record is a credit score: its records are checked against
    their attestations and the consent log, and the score is recomputed from them and the
    published model (a difference is a ``ScoreMismatch``).
    """
    from ledger_client import LedgerError
    from ledger_client.audit import BatchProof, verify_record

    try:
        doc = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise _fail(f"cannot read the record {record}: {exc}") from exc
    if not isinstance(doc, dict):
        raise _fail(f"{record} does not hold a JSON object")
    if (uid is None) == (proof is None):
        raise _fail("pass --uid for an attestation or --proof for a batched record")
    try:
        ledger = _open_ledger(manifest, rpc, data_dir)
        batch_proof = BatchProof.load(proof) if proof else None
        uid_bytes = bytes.fromhex(uid[2:]) if uid and uid.startswith("0x") else b""
        if uid is not None and len(uid_bytes) != 32:
            raise _fail(f"--uid must be 0x and 64 hex digits, got {uid!r}")
        result = verify_record(ledger, uid_bytes, doc, batch_proof)
        if score_bundle is not None:
            result.checks.append(_score_check(ledger, uid_bytes, doc, score_bundle))
        ledger.chain.close()
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit_json(result.to_dict())
    else:
        console = Console()
        for check in result.checks:
            mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
            console.print(f"{mark} {check.name}: {check.detail}")
        console.print("[green]verified[/green]" if result.ok else "[red]NOT verified[/red]")
    if not result.ok:
        raise typer.Exit(1)


def _score_check(ledger: Any, uid: bytes, score: dict[str, Any], bundle_path: Path) -> Any:
    """Recompute an attested credit score from its bundle; one check, named by the error."""
    from ledger_client.audit.verify import Check
    from ledger_client.errors import ScoringError
    from ledger_client.index.consent import ConsentLog
    from ledger_client.scoring.attested import ScoreBundle, spec_of_model, verify_attested_score

    try:
        raw = json.loads(bundle_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise _fail(f"cannot read the score bundle {bundle_path}: {exc}") from exc
    bundle, members = ScoreBundle.from_json({**raw, "score": score})
    spec = spec_of_model(bundle.model)
    consent = ConsentLog(ledger)
    try:
        verify_attested_score(ledger, consent, uid, bundle, spec=spec, members=members)
    except ScoringError as exc:
        return Check("score-recomputed", False, f"{type(exc).__name__}: {exc}")
    finally:
        consent.close()
    return Check(
        "score-recomputed",
        True,
        f"grade {score.get('grade')} recomputed from {len(bundle.records)} records and model "
        f"{score.get('modelHash')}",
    )


# -- audit: replay and audit the whole ledger ----------------------------------------------


@app.command()
def audit(
    manifest: Annotated[Path, typer.Option(help="The deployment's manifest.json.")],
    out: Annotated[
        Path, typer.Option(help="Write report.json and report.html here (and the event index).")
    ],
    rpc: RpcOption = None,
    data_dir: DataDirOption = None,
    index: Annotated[
        Path | None,
        typer.Option(help="The event index file to read through (default: OUT/index.sqlite)."),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Compare every entity with the chain, not only new ones.")
    ] = False,
    score_bundles: Annotated[
        Path | None,
        typer.Option(
            help="A directory of credit-score bundles (*.json, as `verify --score-bundle` "
            "reads): every credit score in force is recomputed from its bundle."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Replay every event, check the rules, compare with the chain; exit 0 only with no breach.

    With ``--score-bundles`` every attested credit score is recomputed from the records
    and model its scorer handed over; a difference, a record used without authorisation
    or already revoked, or a score without a bundle, is a breach.
    """
    from ledger_client import LedgerError
    from ledger_client.audit import audit_ledger, load_score_bundles

    console = Console(stderr=True, quiet=as_json)
    try:
        # The audit checks the wiring itself, and reports each mismatch as a breach.
        bundles = None if score_bundles is None else load_score_bundles(score_bundles)
        ledger = _open_ledger(manifest, rpc, data_dir, wiring=False)
        with console.status("auditing") as status:
            result = audit_ledger(
                ledger,
                out,
                index_path=index,
                full=full,
                progress=status.update,
                score_bundles=bundles,
            )
        ledger.chain.close()
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit_json(result.report)
    else:
        _print_audit_summary(result.report, out)
    if not result.ok:
        raise typer.Exit(1)


def _print_audit_summary(report: dict[str, Any], out: Path) -> None:
    from rich.table import Table

    console = Console()
    t, a = report["totals"], report["audited"]
    console.rule(f"[bold]Audit at block {a['block']:,} ({a['time']})[/bold]")
    console.print(
        f"{t['events']:,} events replayed: {t['records']:,} credit records "
        f"({t['attestations']:,} single, {t['batch_records']:,} in {t['batches']:,} batches), "
        f"{t['queries']:,} queries, {t['disputes']:,} disputes, {t['receivables']:,} "
        f"receivables ({t['receivable_parts']:,} parts), {t['members']:,} members"
    )
    c = report["comparison"]
    scope = (
        "all"
        if c["incremental_since"] is None
        else f"changed after block {c['incremental_since']:,}"
    )
    console.print(
        f"compared with the chain ({scope}): {sum(c['compared'].values()):,} entities, "
        f"{c['views_read']:,} views in {c['view_calls']:,} calls, "
        f"{c['mismatches']} mismatch(es); "
        f"{report['timing']['total_s']:.1f} s"
    )
    scores = report.get("scores") or {}
    if scores.get("attested"):
        console.print(
            f"credit scores: {scores['attested']} attested, {scores['recomputed']} recomputed, "
            f"{scores['failed']} failed, {scores['revoked']} revoked, "
            f"{scores['without_bundle']} without a bundle"
        )
    breaches = report["breaches"]
    if breaches:
        table = Table(title=f"{len(breaches)} breach(es)")
        for col in ("breach", "block", "log", "transaction", "what was found"):
            table.add_column(col, overflow="fold")
        for b in breaches[:40]:
            table.add_row(
                b["name"], str(b["block"]), str(b["log_index"]), b["tx_hash"], b["detail"]
            )
        console.print(table)
        if len(breaches) > 40:
            console.print(
                f"... and {len(breaches) - 40} more in {out / 'report.json'}", soft_wrap=True
            )
        console.print(f"[red]NOT clean[/red]: {report['verdict']}")
    else:
        console.print(f"[green]clean[/green]: {report['verdict']}")
    console.print(f"report: {out / 'report.html'} and {out / 'report.json'}", soft_wrap=True)


@bench_app.command("audit")
def bench_audit(
    enterprises: Annotated[int, typer.Option(help="Enterprises in the simulated world.")] = 11_000,
    days: Annotated[int, typer.Option(help="Simulated days.")] = 90,
    singles: Annotated[int, typer.Option(help="Single attestations added.")] = 1_000,
    queries: Annotated[int, typer.Option(help="Credit queries logged.")] = 1_000,
    receivables: Annotated[int, typer.Option(help="Receivables issued, split, financed.")] = 200,
    as_json: JsonOption = False,
) -> None:
    """A full audit of a ~100k-record ledger from scratch, then an incremental re-audit."""
    from scripts.bench import bench_audit as run

    figures = run(enterprises, days, singles, queries, receivables)
    _print_bench("Audit of a simulated ledger (embedded chain)", figures, as_json)


ServeDataDir = Annotated[
    Path,
    typer.Option("--data-dir", help="The API's state: chain, manifest, keys, journal."),
]


@app.command()
def serve(
    data_dir: ServeDataDir = Path("credit-chain-data"),
    rpc: RpcOption = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="Attach to this deployment on first start (the regulator's `deploy --relayer`)."
        ),
    ] = None,
    regulator_keys: Annotated[
        Path | None,
        typer.Option(
            "--regulator-keys",
            help="Development only: where a fresh deployment (no manifest) writes its "
            "regulator's key; outside --data-dir (default: DATA_DIR-regulator-keys.json).",
        ),
    ] = None,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="One line per request on stderr (method, path, status; no keys or bodies).",
        ),
    ] = True,
) -> None:
    """Run the HTTP API (OpenAPI at /docs, /redoc, served offline); the embedded chain is kept
    in --data-dir. Prints where it is on stderr once ready, then the access log.

    The data directory holds the API's relay key and nothing that can act as the regulator.
    """
    import uvicorn

    from api.main import create_app
    from pipeline.config import Settings
    from pipeline.service import Service

    settings = Settings(
        data_dir=data_dir,
        rpc=rpc,
        host=host,
        port=port,
        manifest=manifest,
        regulator_keys=regulator_keys,
    )

    def announce(service: Service) -> None:
        manifest = service.ledger.manifest
        print(
            f"credit-chain API on http://{host}:{port} (docs /docs) | "
            f"chain: {rpc or 'embedded'} | "
            f"deployment: consortium {service.ledger.consortium.address} "
            f"on chain id {manifest.chain_id} | data dir: {data_dir.resolve()}",
            file=sys.stderr,
            flush=True,
        )

    uvicorn.run(
        create_app(settings, on_ready=announce),
        host=host,
        port=port,
        log_config=_serve_log_config(access_log),
        log_level=None,
        access_log=access_log,
        # The console's event streams live up to a minute: a stop does not wait for them.
        timeout_graceful_shutdown=5,
    )


@app.command("console")
def console_command(
    manifest: Annotated[Path, typer.Option(help="The deployment's manifest.json.")],
    rpc: RpcOption = None,
    data_dir: DataDirOption = None,
    index: Annotated[
        Path | None,
        typer.Option(help="The event index file to read into (default: beside the manifest)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
) -> None:
    """Serve the supervision console read-only for an auditor without an API: the deployment
    the manifest names, read from its node (or embedded chain) into an event index of its
    own. No key is asked for and nothing can be written; open http://HOST:PORT/console/."""
    import uvicorn

    from api.console.source import ManifestSource
    from api.main import create_console_app
    from ledger_client import LedgerError

    try:
        ledger = _open_ledger(manifest, rpc, data_dir)
        source = ManifestSource(ledger, index or manifest.parent / "console-index.sqlite")
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    print(
        f"credit-chain console (read-only) on http://{host}:{port}/console/ | "
        f"deployment: consortium {ledger.consortium.address} on chain id "
        f"{ledger.manifest.chain_id} | indexed to block {source.index.cursor}",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn.run(
            create_console_app(source, "read-only console"),
            host=host,
            port=port,
            log_config=_serve_log_config(False),
            log_level=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
    finally:
        source.close()
        ledger.chain.close()


def _serve_log_config(access_log: bool) -> dict[str, Any]:
    """uvicorn's logging with its own chatter at warnings only, and the access log (one line
    per request: client, method, path, status; never headers or bodies) on stderr, written
    from a thread of its own."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    # Written on a thread of its own, not the event loop's (scripts.serve_log).
    config["handlers"]["access"] = {"()": "scripts.serve_log.queued_stderr", "formatter": "access"}
    config["loggers"]["uvicorn"]["level"] = "WARNING"
    config["loggers"]["uvicorn.error"] = {"level": "WARNING"}
    config["loggers"]["uvicorn.access"]["level"] = "INFO" if access_log else "WARNING"
    return config


@app.command("relay-account")
def relay_account(
    data_dir: ServeDataDir = Path("credit-chain-data"), as_json: JsonOption = False
) -> None:
    """The API's relay account (created in --data-dir on first use), for the regulator to
    admit with `credit-chain deploy --relayer ADDRESS`."""
    from pipeline.service import relay_account as account_of

    address = account_of(data_dir).address
    if as_json:
        _emit_json({"relay_account": address})
    else:
        Console().print(address)


def _key_store(data_dir: Path) -> Any:
    from pipeline.db import ApiDatabase
    from pipeline.keys import KeyStore

    return KeyStore(ApiDatabase(data_dir / "api.sqlite"))


def _roles_on_chain(data_dir: Path, rpc: str | None) -> Any:
    """The API's deployment (its manifest in ``data_dir``) and a function giving an account's
    roles in good standing there, read from the chain."""
    from ledger_client import Manifest, Role

    manifest_path = data_dir / "manifest.json"
    if not manifest_path.exists():
        raise _fail(f"no deployment in {data_dir} (manifest.json): start `serve` once first")
    if rpc is None and Manifest.load(manifest_path).network == "embedded":
        chain_dir = data_dir / "chain"
        ledger = _open_ledger(manifest_path, None, chain_dir)
    else:
        ledger = _open_ledger(manifest_path, rpc, None)

    def roles_of(account: str) -> Role:
        member = ledger.consortium.member(account)
        return Role(0) if member is None or member.suspended else member.roles

    return ledger, roles_of


@keys_app.command("issue")
def keys_issue(
    member: Annotated[
        str,
        typer.Argument(help="The account it acts for (0x...): a member, or a bound enterprise."),
    ],
    data_dir: ServeDataDir = Path("credit-chain-data"),
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only", help="An auditor's key: MEMBER must be an auditor or a regulator."
        ),
    ] = False,
    label: Annotated[str, typer.Option(help="A note to tell keys apart.")] = "",
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue an API key for MEMBER; the key is printed once and stored only as a hash.

    A key submits writes signed by its own account; a member's key may also hand in an
    enterprise's signed write that names the member (see pipeline/intake.py). A read-only key
    is issued only to an account holding the auditor or regulator role on chain
    (otherwise ``ReadOnlyKeyNotAuditor``, exit code 1).
    """
    from eth_utils.address import is_address

    from ledger_client import LedgerError
    from pipeline.errors import ReadOnlyKeyNotAuditor

    if not is_address(member):
        raise _fail(f"{member!r} is not an account address")
    try:
        ledger, roles_of = _roles_on_chain(data_dir, rpc) if read_only else (None, None)
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    store = _key_store(data_dir)
    try:
        key = store.issue(member, read_only=read_only, label=label, roles_of=roles_of)
    except ReadOnlyKeyNotAuditor as exc:
        raise _fail(f"ReadOnlyKeyNotAuditor: {exc.detail}") from exc
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    finally:
        store.close()
        if ledger is not None:
            ledger.chain.close()
    if as_json:
        _emit_json({"key": key, "member": member, "read_only": read_only})
    else:
        Console().print(key)


@keys_app.command("issue-many")
def keys_issue_many(
    data_dir: ServeDataDir = Path("credit-chain-data"),
    as_json: JsonOption = False,
) -> None:
    """Issue read-write API keys for many accounts at once: one ``ACCOUNT [LABEL]`` a line on
    standard input; the keys are printed once, a line each (``--json``: one list), in order.

    For an operator onboarding many parties (and the simulator, which gives every party
    of a run its own key) without starting one process per key.
    """
    import sys

    from eth_utils.address import is_address

    wanted = []
    for n, line in enumerate(sys.stdin, start=1):
        parts = line.split(maxsplit=1)
        if not parts:
            continue
        if not is_address(parts[0]):
            raise _fail(f"line {n}: {parts[0]!r} is not an account address")
        wanted.append((parts[0], parts[1].strip() if len(parts) > 1 else ""))
    store = _key_store(data_dir)
    try:
        issued = [
            {"key": store.issue(member, label=label), "member": member, "label": label}
            for member, label in wanted
        ]
    finally:
        store.close()
    if as_json:
        _emit_json(issued)
    else:
        for doc in issued:
            Console().print(doc["key"])


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key, or its sha256 hash.")],
    data_dir: ServeDataDir = Path("credit-chain-data"),
) -> None:
    """Revoke an API key."""
    if not _key_store(data_dir).revoke(key):
        raise _fail("no such key, or already revoked")
    Console().print("revoked")


@keys_app.command("list")
def keys_list(
    data_dir: ServeDataDir = Path("credit-chain-data"), as_json: JsonOption = False
) -> None:
    """Every key issued (hashes only)."""
    from dataclasses import asdict

    keys = _key_store(data_dir).list()
    if as_json:
        _emit_json([asdict(k) for k in keys])
        return
    for k in keys:
        state = "revoked" if k.revoked_at else ("read-only" if k.read_only else "read-write")
        Console().print(f"{k.key_hash[:16]}…  {k.member}  {state}  {k.label}")


@uscc_app.command("check")
def uscc_check(
    code: Annotated[str, typer.Argument(help="The 18-character code.")],
    as_json: JsonOption = False,
) -> None:
    """Validate a USCC (GB 32100-2015): length, characters, both check characters."""
    from ledger_client.errors import InvalidUSCC
    from ledger_client.identity.uscc import validate_uscc

    try:
        norm = validate_uscc(code)
    except InvalidUSCC as exc:
        if as_json:
            _emit_json({"code": code, "valid": False, "reason": exc.reason})
            raise typer.Exit(1) from exc
        raise _fail(str(exc)) from exc
    if as_json:
        _emit_json({"code": norm, "valid": True})
    else:
        Console().print(f"{norm} is a valid USCC")


#: Where ``subject`` reads the subject key when no file is named: the key itself, in hex.
SUBJECT_KEY_ENV = "CREDIT_CHAIN_SUBJECT_KEY"


@app.command()
def subject(
    uscc: Annotated[
        list[str],
        typer.Option("--uscc", help="An enterprise's 18-character code; repeat for more."),
    ],
    subject_key_file: Annotated[
        Path | None,
        typer.Option(
            "--subject-key-file",
            help=f"A file holding the consortium's subject key as 64 hex digits "
            f"(default: the key itself in ${SUBJECT_KEY_ENV}).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The subject id of an enterprise: HMAC-SHA256(subject key, USCC), as the chain knows it.

    Run by a member institution, which holds the consortium's subject key: the code and the
    key stay on its machine (docs/subject-ids.md). The key is never an argument, which a
    shell history or a process list would show.
    """
    import os

    from ledger_client.errors import InvalidUSCC
    from ledger_client.identity.uscc import InvalidSubjectKey, parse_subject_key, subject_id

    if subject_key_file is not None:
        try:
            text = subject_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot read the subject key file: {exc}") from exc
    elif SUBJECT_KEY_ENV in os.environ:
        text = os.environ[SUBJECT_KEY_ENV]
    else:
        raise _fail(f"no subject key: name a --subject-key-file or set ${SUBJECT_KEY_ENV}", 2)
    try:
        key = parse_subject_key(text)
        ids = [(code.strip().upper(), "0x" + subject_id(code, key).hex()) for code in uscc]
    except (InvalidSubjectKey, InvalidUSCC) as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit_json([{"uscc": code, "subject": sid} for code, sid in ids])
        return
    for code, sid in ids:
        Console().print(f"{code}  {sid}", soft_wrap=True)


def _print_bench(title: str, figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _emit_json(figures)
        return
    from rich.table import Table

    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int | float) else str(value))
    Console().print(table)


@bench_app.command("gas")
def bench_gas(
    batch_size: Annotated[int, typer.Option(help="Records in the measured batch.")] = 1_000,
    engine: Annotated[
        str, typer.Option(help="The chain: embedded, pyevm, revm or a JSON-RPC URL.")
    ] = "embedded",
    as_json: JsonOption = False,
) -> None:
    """Gas per operation: attest, revoke, replace, signed attest, batch anchor."""
    from scripts.bench import bench_gas as run

    _print_bench(f"Gas per operation ({engine} chain)", run(batch_size, engine), as_json)


@bench_app.command("engines")
def bench_engines(
    count: Annotated[int, typer.Option(help="Attestations per engine per round.")] = 500,
    rounds: Annotated[int, typer.Option(help="Rounds; the median round is reported.")] = 3,
    anvil: Annotated[bool, typer.Option(help="Measure a fresh anvil node too.")] = True,
    as_json: JsonOption = False,
) -> None:
    """attest per second through the client on py-evm, revm and anvil, and its gas on each."""
    from scripts.bench import bench_engines as run

    _print_bench("Embedded engines: attest through the client", run(count, rounds, anvil), as_json)


@bench_app.command("readme")
def bench_readme(
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; fail when the README is stale.")
    ] = False,
) -> None:
    """Render the README's benchmark tables from the runs kept in benchmarks/."""
    from scripts.readme_tables import ReadmeTablesError, update_readme

    try:
        changed = update_readme(check=check)
    except ReadmeTablesError as exc:
        raise _fail(f"{type(exc).__name__}: {exc}") from exc
    Console().print("README.md " + ("rewritten" if changed else "up to date"))


@bench_app.command("throughput")
def bench_throughput(
    records: Annotated[int, typer.Option(help="Records anchored in one batch.")] = 100_000,
    proofs: Annotated[int, typer.Option(help="Proof verifications timed.")] = 20_000,
    as_json: JsonOption = False,
) -> None:
    """Records anchored per second end to end, and proofs verified per second."""
    from scripts.bench import bench_throughput as run

    _print_bench("Throughput (embedded chain)", run(records, proofs), as_json)


@bench_app.command("network")
def bench_network(
    attests: Annotated[int, typer.Option(help="Single attest transactions per chain.")] = 30,
    batch: Annotated[int, typer.Option(help="Records anchored in one batch per chain.")] = 2_000,
    anchored: Annotated[int, typer.Option(help="Writes timed to N deep on the network.")] = 10,
    partition_s: Annotated[
        float, typer.Option("--partition-s", help="How long two cities are cut off.")
    ] = 10.0,
    as_json: JsonOption = False,
) -> None:
    """The client on the five-city geth network beside one anvil and the embedded chain."""
    from scripts.bench_network import bench_network as run

    _print_bench(
        "Five-city geth network, anvil, embedded",
        run(attests, batch, anchored, partition_s),
        as_json,
    )


@bench_app.command("api")
def bench_api(
    seconds: Annotated[float, typer.Option(help="How long the load runs.")] = 10.0,
    clients: Annotated[int, typer.Option(help="Concurrent connections.")] = 32,
    records: Annotated[
        int, typer.Option(help="Signed records prepared (an upper bound).")
    ] = 30_000,
    mix: Annotated[
        bool,
        typer.Option(
            "--mix",
            help="A consortium's mix: banks' and enterprises' keys at the default limits; "
            "single and batched attestations, authorisations, queries, receivables, disputes "
            "(--records is then the number of writes prepared).",
        ),
    ] = False,
    rate: Annotated[
        list[float] | None,
        typer.Option(
            "--rate",
            min=1.0,
            max=20_000.0,
            help="With --mix: an open loop, requests offered per second, evenly spaced, "
            "each timed from when it was due (at most rate x seconds of them); "
            "without it, a closed loop of --clients connections (saturation). "
            "Repeatable with --curve.",
        ),
    ] = None,
    curve: Annotated[
        bool,
        typer.Option(
            "--curve",
            help="With --mix: the closed loop's ceiling, then an open loop at each --rate, "
            "each on a fresh server, in one document (the throughput-latency curve).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Accepted submissions per second and p99 latencies of a real server on loopback."""
    if curve:
        if not mix or not rate:
            raise _fail("--curve is for the consortium's mix (--mix) at one or more --rate")
        from scripts.bench_api_mix import bench_api_curve

        _print_bench(
            "API on loopback, a consortium's mix: closed loop, then open loops at "
            + ", ".join(f"{r:g}" for r in sorted(rate))
            + " requests/s",
            bench_api_curve(rate, seconds, clients, records),
            as_json,
        )
        return
    if rate is not None and len(rate) > 1:
        raise _fail("one --rate per run; several make a curve (--curve)")
    one_rate = rate[0] if rate else None
    if mix:
        from scripts.bench_api_mix import bench_api_mix

        title = "API on loopback, a consortium's mix" + (
            f", offered {one_rate:g} requests/s"
            if one_rate
            else f", {clients} clients in a closed loop"
        )
        _print_bench(title, bench_api_mix(seconds, clients, records, one_rate), as_json)
        return
    if one_rate is not None:
        raise _fail("--rate is for the consortium's mix (--mix)")
    from scripts.bench import bench_api as run

    _print_bench("API on loopback", run(seconds, clients, records), as_json)


@bench_app.command("scale")
def bench_scale(
    size: Annotated[
        list[int] | None,
        typer.Option(
            "--size",
            min=1,
            help="Enterprises of one size (repeatable; at least two for a fit). "
            "Default: 10,000, 30,000, 100,000 and 300,000.",
        ),
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="Simulated days of every size.")] = 365,
    seed: Annotated[int, typer.Option(help="Seed of the world and the flows.")] = 7,
    flow_sample: Annotated[
        int, typer.Option(min=5, help="Enterprises whose other flows are real transactions.")
    ] = 200,
    engine: Annotated[str, typer.Option(help="The embedded chain's engine.")] = "revm",
    timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds one size may take; larger ones then stop.")
    ] = 3_600.0,
    engine_check: Annotated[
        bool,
        typer.Option(help="Also run one small world on py-evm and revm and compare the gas."),
    ] = True,
    audit: Annotated[
        bool,
        typer.Option(
            "--audit", help="Audit each size's ledger after its run (timed; must be clean)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The simulator at scale: time, peak memory and disk per size, fitted and extrapolated
    to 1M and 10M enterprises, with the stage that bounds it; with ``--audit``, each size's
    ledger audited and timed."""
    from scripts.bench_scale import DEFAULT_SIZES
    from scripts.bench_scale import bench_scale as run
    from scripts.machine import machine_info

    # What it ran on (bench all records this once for every section).
    doc: dict[str, Any] = {"machine": machine_info()}
    doc |= run(
        tuple(size or DEFAULT_SIZES),
        days,
        seed=seed,
        flow_sample=flow_sample,
        engine=engine,
        timeout_s=timeout,
        engine_check=engine_check,
        audit=audit,
    )
    if as_json:
        _emit_json(doc)
        return
    from rich.table import Table

    table = Table(title=f"The simulator at scale ({engine}, {days} days)")
    for col in ("enterprises", "seconds", "peak RSS MiB", "disk MiB", "transactions", "records"):
        table.add_column(col, justify="right")
    for r in doc["runs"]:
        table.add_row(
            f"{r['enterprises']:,}",
            f"{r['seconds']:,}",
            f"{r['peak_rss_bytes'] / 2**20:,.0f}",
            f"{r['disk_bytes'] / 2**20:,.0f}",
            f"{r['transactions']:,}",
            f"{r['records']:,}",
        )
    for label, row in doc["extrapolated"].items():
        secs, rss = row["seconds"], row["peak_rss_bytes"]
        table.add_row(
            f"{label} (fit)",
            f"{secs:,}" if secs is not None else "-",
            f"{rss / 2**20:,.0f}" if rss is not None else "-",
            f"{row['disk_bytes'] / 2**20:,.0f}" if row["disk_bytes"] is not None else "-",
            "-",
            f"{row['records']:,}" if row["records"] is not None else "-",
        )
    console = Console()
    console.print(table)
    if "stopped" in doc:
        console.print(f"stopped at {doc['stopped']['enterprises']:,}: {doc['stopped']['why']}")
    for label, row in doc["extrapolated"].items():
        console.print(f"{label}: bound by {row['bound_by']}")
    for r in doc["runs"]:
        if "audit" in r:
            a = r["audit"]
            console.print(
                f"audit of {r['enterprises']:,}: {a['seconds']:,} s, {a['blocks']:,} blocks, "
                f"{a['events']:,} events, {a['views_read']:,} views in {a['view_calls']:,} "
                f"calls: {a['verdict']}"
            )


@bench_app.command("console")
def bench_console(
    records: Annotated[int, typer.Option(help="Credit records anchored (in batches).")] = 100_000,
    receivables: Annotated[int, typer.Option(help="Receivables issued and split.")] = 60,
    as_json: JsonOption = False,
) -> None:
    """First render of the console's overview (target 1 s) and risk page (2 s) on a ledger of
    RECORDS records: in headless chromium when installed, else the pages' reads."""
    from scripts.bench_console import bench_console as run

    _print_bench("console first render", run(records, receivables=receivables), as_json)


# -- API restart -----------------------------------------------------------------------------
@bench_app.command("restart")
def bench_restart(
    records: Annotated[int, typer.Option(help="Records anchored before the restart.")] = 100_000,
    singles: Annotated[int, typer.Option(help="Of them, attested one by one.")] = 1_000,
    as_json: JsonOption = False,
) -> None:
    """Seconds for `serve` to be ready again on a data directory of anchored records."""
    from scripts.bench import bench_restart as run

    _print_bench("API restart (embedded chain)", run(records, singles), as_json)


@bench_app.command("sim")
def bench_sim(
    days: Annotated[int, typer.Option(min=1, help="Simulated days.")] = 90,
    enterprises: Annotated[int, typer.Option(min=5, help="Enterprises in the world.")] = 5_000,
    seed: Annotated[int, typer.Option(help="Seed of the scenario.")] = 7,
    as_json: JsonOption = False,
) -> None:
    """Wall time of the Yangtze Delta scenario, with its records, transactions, blocks, gas."""
    from scripts.bench import bench_sim as run

    _print_bench("Simulation (embedded chain)", run(days, enterprises, seed), as_json)


@bench_app.command("score")
def bench_score(
    enterprises: Annotated[
        int, typer.Option(min=7_000, help="Enterprises in the world; 30 % are held out.")
    ] = 30_000,
    seed: Annotated[int, typer.Option(help="Seed of the world.")] = 7,
    rounds: Annotated[int, typer.Option(min=20, help="Bootstrap resamples.")] = 200,
    timed: Annotated[int, typer.Option(min=1, help="Enterprises scored for the timing.")] = 100_000,
    report: Annotated[
        Path | None, typer.Option(help="Also write an HTML page with ROC and calibration charts.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Held-out AUC, KS, Brier of local, shared and sci-tech scores; uplift; scoring speed."""
    from scripts.bench_score import bench_score as run
    from scripts.bench_score import score_report

    doc = run(enterprises, seed, rounds=rounds, timed=timed)
    if report is not None:
        report.write_text(score_report(doc), encoding="utf-8")
    if as_json:
        _emit_json(doc)
        return
    flat = {k: v for k, v in doc.items() if not isinstance(v, dict | list)}
    for row in doc["uplift_by_cross_city_share"]:
        flat[f"uplift at cross-city {row['cross_city_mean']:.0%}"] = row["uplift"]
    _print_bench("Credit scores (held-out enterprises)", flat, as_json=False)


@bench_app.command("all")
def bench_all(
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="Small sizes: a smoke run in about a minute (rates not comparable)."
        ),
    ] = False,
    skip: Annotated[
        list[str] | None,
        typer.Option(
            "--skip",
            help="Leave out a section (repeatable): gas, throughput, api, sim, restart, "
            "audit, reference, scale.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every benchmark, the measured reference figures (EAS, eth-tester, anvil) and the
    targets, as one document."""
    from scripts.bench import bench_all as run

    console = Console(stderr=True, quiet=as_json)
    try:
        with console.status("benchmarking") as status:
            doc = run(
                quick=quick,
                skip=tuple(skip or ()),
                progress=lambda section: status.update(f"benchmarking: {section}"),
            )
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit_json(doc)
        return
    _print_bench_all(doc)


def _print_bench_all(doc: dict[str, Any]) -> None:
    from rich.table import Table

    console = Console()
    m = doc["machine"]
    console.print(
        f"{m['cpu_count']} cores ({m['cpu_model']}), load {m['load_average_at_start']}, "
        f"Python {m['python']}, {m['platform']}"
    )
    table = Table(title="Targets")
    for col in ("what", "value", "target", "met"):
        table.add_column(col, justify="right" if col != "what" else "left")
    for t in doc["targets"]:
        mark = "yes" if t["met"] else "NO"
        if not t["comparable"]:
            mark += " (quick: not comparable)"
        table.add_row(t["what"], f"{t['value']:,}", f"{t['op']} {t['target']:,}", mark)
    console.print(table)
    ref = doc.get("reference")
    if ref:
        eas = ref["eas"]["eth_tester"]["compiled_here"]
        tx = ref["minimal_contract_tx_per_s"]
        console.print(
            f"EAS attest {eas['attest_gas']:,} gas, multiTimestamp "
            f"{eas['multi_timestamp_gas_per_item']:,} gas per item; minimal contract: "
            f"naive web3 {tx['eth_tester_naive_web3']['tx_per_s']} tx/s, ours "
            f"{tx['eth_tester_ours']['tx_per_s']} tx/s (eth-tester), "
            f"{tx['anvil_ours']['tx_per_s']} tx/s (anvil)"
        )
    console.print("every figure: credit-chain bench all --json")


def main() -> None:
    """Entry point of the ``credit-chain`` console script."""
    app()


if __name__ == "__main__":
    main()
