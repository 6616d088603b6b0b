"""``credit-chain network``: the five cities' geth Clique nodes on this machine."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

network_app = typer.Typer(
    help="A local consortium network: one geth Clique sealer per city, on 127.0.0.1.",
    no_args_is_help=True,
)

DirOption = Annotated[
    Path,
    typer.Option("--dir", help="The network's directory: keys, genesis, node data, pids."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DEFAULT_DIR = Path("credit-chain-network")


def _emit(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


def _development_accounts() -> list[str]:
    """The accounts the genesis funds besides the sealers: the regulator and the five
    cities' institutions of the development keyrings `deploy`, `demo` and `simulate` use."""
    from demos.consortium import DEMO_SEED
    from ledger_client import Keyring
    from node_sim.world import REGULATOR, consortium_institutions

    labels = [REGULATOR.label, *(s.label for s in consortium_institutions()), "relayer"]
    accounts: list[str] = [Keyring("credit-chain").account("regulator").address]
    for seed in (DEMO_SEED, "yangtze-delta-credit-chain"):
        ring = Keyring(seed)
        accounts += [ring.account(label).address for label in labels]
    return accounts


def _print_status(rows: list[dict[str, Any]]) -> None:
    table = Table(title="credit-chain network")
    for col in ("city", "alive", "head", "peers", "lag", "signer", "url"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["city"],
            "yes" if r["alive"] else "[red]no[/red]",
            "-" if r["head"] is None else str(r["head"]),
            "-" if r["peers"] is None else str(r["peers"]),
            "-" if r["lag"] is None else str(r["lag"]),
            r["signer"],
            r["url"],
        )
    Console(width=max(Console().width, 150)).print(table)  # addresses and URLs whole


@network_app.command("up")
def up(
    nodes: Annotated[int, typer.Option(help="City nodes (1-5), in the order of the cities.")] = 5,
    directory: DirOption = DEFAULT_DIR,
    period: Annotated[
        int, typer.Option(help="Clique block period, seconds (0: seal on demand).")
    ] = 1,
    chain_id: Annotated[int, typer.Option("--chain-id", help="The network's chain id.")] = 20_251,
    as_json: JsonOption = False,
) -> None:
    """Create keys and a Clique genesis, start one node per city, wait until all peer and seal."""
    from ledger_client import LedgerError
    from ledger_client.chain.network import Network

    net = Network(directory)
    started = time.monotonic()
    try:
        state = net.up(
            nodes=nodes, period=period, chain_id=chain_id, funded=_development_accounts()
        )
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    seconds = round(time.monotonic() - started, 2)
    doc = {
        "dir": str(net.dir),
        "chain_id": state.chain_id,
        "period": state.period,
        "seconds_to_sealing": seconds,
        "nodes": [
            {"city": n.city, "url": n.url, "signer": n.signer, "pid": state.pids[n.city]}
            for n in state.nodes
        ],
        "rpc": ",".join(net.urls),
    }
    if as_json:
        _emit(doc)
        return
    console = Console()
    console.print(
        f"{len(state.nodes)} nodes sealing (chain id {state.chain_id}, period {period} s) "
        f"in {seconds} s; data in {net.dir}"
    )
    for n in state.nodes:
        console.print(f"  {n.city:<9} {n.url}  sealer {n.signer}  pid {state.pids[n.city]}")
    console.print(f"next: credit-chain deploy --rpc {state.nodes[0].url} --out manifest.json")


@network_app.command("status")
def status(directory: DirOption = DEFAULT_DIR, as_json: JsonOption = False) -> None:
    """Per node: alive, head, peers, lag behind the highest head, sealer."""
    from ledger_client import LedgerError
    from ledger_client.chain.network import Network

    try:
        rows = Network(directory).status()
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit(rows)
    else:
        _print_status(rows)


@network_app.command("down")
def down(directory: DirOption = DEFAULT_DIR, as_json: JsonOption = False) -> None:
    """Stop every node by its recorded pid (the data stays in --dir)."""
    from ledger_client import LedgerError
    from ledger_client.chain.network import Network

    try:
        stopped = Network(directory).down()
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit({"stopped": stopped})
    else:
        Console().print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@network_app.command("kill")
def kill(
    city: Annotated[str, typer.Argument(help="The city whose node dies (SIGKILL).")],
    directory: DirOption = DEFAULT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Kill a city's node at once, as a crash would."""
    from ledger_client import LedgerError
    from ledger_client.chain.network import Network

    try:
        pid = Network(directory).kill(city)
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit({"killed": city, "pid": pid})
    else:
        Console().print(f"killed {city} (pid {pid})")


@network_app.command("restart")
def restart(
    city: Annotated[str, typer.Argument(help="The city whose node starts again.")],
    directory: DirOption = DEFAULT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Start a city's node again on its data and re-peer it; it catches up by itself."""
    from ledger_client import LedgerError
    from ledger_client.chain.network import Network

    try:
        pid = Network(directory).restart(city)
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit({"restarted": city, "pid": pid})
    else:
        Console().print(f"restarted {city} (pid {pid})")


@network_app.command("partition")
def partition(
    groups: Annotated[
        list[str], typer.Argument(help="Groups of cities, comma-separated: Shanghai,Nanjing ...")
    ],
    directory: DirOption = DEFAULT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Split the network: nodes of different groups stop peering."""
    from ledger_client import LedgerError
    from ledger_client.chain.network import Network

    try:
        split = Network(directory).partition([g.split(",") for g in groups])
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit({"partition": split})
    else:
        Console().print("partitioned: " + " | ".join(",".join(g) for g in split))


@network_app.command("heal")
def heal(directory: DirOption = DEFAULT_DIR, as_json: JsonOption = False) -> None:
    """Peer every node with every other again; the minority's blocks are reorged away."""
    from ledger_client import LedgerError
    from ledger_client.chain.network import Network

    try:
        Network(directory).heal()
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit({"healed": True})
    else:
        Console().print("healed: every node peers with every other")


@network_app.command("unstall")
def unstall(
    window: Annotated[
        float | None,
        typer.Option(
            help="Seconds without a block that make a split group stalled "
            "(default: twice the longest a sealer waits, and one)."
        ),
    ] = None,
    directory: DirOption = DEFAULT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Break a Clique deadlock: peered nodes split between two branches that none of them
    may extend. The branch of the highest total difficulty is kept; the other nodes are
    rewound to the fork point and sync it."""
    from ledger_client import LedgerError
    from ledger_client.chain.network import Network

    try:
        repaired = Network(directory).unstall(window_s=window)
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _emit({"repaired": repaired})
    elif not repaired:
        Console().print("no stall: every group of peered nodes is on one branch, or sealing")
    else:
        for r in repaired:
            Console().print(
                f"kept block {r['height']} {r['kept']} of {', '.join(r['kept_by'])}; rewound "
                + ", ".join(f"{c} from block {w['dropped_from']}" for c, w in r["rewound"].items())
            )
