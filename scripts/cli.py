"""The ``credit-chain`` command line."""

from __future__ import annotations

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

RpcOption = Annotated[
    str | None,
    typer.Option("--rpc", help="JSON-RPC URL of a node (default: the embedded chain)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


def _fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.command()
def compile(as_json: JsonOption = False) -> None:
    """Compile contracts/ with solc-js into ledger_client/artifacts (needs node.js)."""
    from ledger_client.compiler import compile_and_write
    from ledger_client.exceptions import CompilerError

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


@app.command()
def deploy(
    rpc: RpcOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the manifest to this file.")
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option("--keys", help="Write the development keys used to this file."),
    ] = None,
    seed: Annotated[str, typer.Option(help="Seed of the development keys.")] = "credit-chain",
    as_json: JsonOption = False,
) -> None:
    """Deploy every contract and print the deployment manifest."""
    from ledger_client import Keyring, LedgerError, connect
    from ledger_client import deploy as deploy_contracts

    try:
        chain = connect(rpc or "embedded")
        ring = Keyring(seed)
        regulator = ring.account("regulator")
        chain.fund(regulator.address)
        ledger = deploy_contracts(chain, regulator)
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if out is not None:
        ledger.manifest.save(out)
    if keys is not None:
        ring.save(keys)
    if as_json:
        sys.stdout.write(ledger.manifest.to_json() + "\n")
        return
    console = Console()
    console.print(f"Deployed on {chain.backend.describe()} (chain id {chain.chain_id}):")
    for name, entry in ledger.manifest.contracts.items():
        console.print(f"  {name:<24} {entry.address}")
    if out is not None:
        console.print(f"manifest written to {out}")
    if rpc is None:
        console.print(
            "[yellow]note:[/yellow] the embedded chain lives only in this process; "
            "use --rpc URL for a deployment that lasts."
        )


@app.command()
def demo(rpc: RpcOption = None, as_json: JsonOption = False) -> None:
    """Form the five-city consortium on a chain and show its rules at work."""
    from dataclasses import asdict

    from ledger_client import LedgerError, connect
    from node_sim.demo import run_demo

    try:
        chain = connect(rpc or "embedded")
        report = run_demo(chain, console=Console(quiet=as_json))
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit_json(asdict(report))


# --- bench: gas per operation (receivables; the attestation figures join at merge) ---
bench_app = typer.Typer(help="Measure the chain: gas per operation.")
app.add_typer(bench_app, name="bench")


@bench_app.command("gas")
def bench_gas(as_json: JsonOption = False) -> None:
    """Gas of each operation, each run once on a fresh embedded chain."""
    from node_sim.bench_receivables import receivable_gas

    figures = receivable_gas()
    if as_json:
        _emit_json(figures)
        return
    console = Console()
    for key, value in figures.items():
        console.print(f"  {key:<40} {value:>9,}")


@uscc_app.command("check")
def uscc_check(
    code: Annotated[str, typer.Argument(help="The 18-character code.")],
    as_json: JsonOption = False,
) -> None:
    """Validate a USCC (GB 32100-2015): length, characters, both check characters."""
    from ledger_client.exceptions import InvalidUSCC
    from ledger_client.uscc import validate_uscc

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


def main() -> None:
    """Entry point of the ``credit-chain`` console script."""
    app()


if __name__ == "__main__":
    main()
