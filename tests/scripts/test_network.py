"""The five cities' geth Clique network: lifecycle, a city's loss, a partition healed.

One network for the module, driven through ``credit-chain network ... --json``;
every wait is bounded and every node is stopped by its pid at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger_client import Keyring, connect
from ledger_client.chain.compiler import ARTIFACTS_PATH, compile_contracts
from ledger_client.chain.finality import Finality, clique_safe_depth
from ledger_client.chain.network import GETH, Network, NetworkNotUp, UnknownCity
from scripts.cli import app
from tests.network_support import WAIT_S, cli_json, require_geth, wait_for

pytestmark = [pytest.mark.geth, pytest.mark.slow]


def cli(*args: str) -> Any:
    return cli_json("network", *args, "--json")


@pytest.fixture(scope="module")
def net_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_geth()
    directory = tmp_path_factory.mktemp("network")
    try:
        up = cli("up", "--dir", str(directory), "--period", "1")
        assert [n["city"] for n in up["nodes"]] == [
            "Shanghai",
            "Nanjing",
            "Hangzhou",
            "Hefei",
            "Jiaxing",
        ]
        yield directory
    finally:
        Network(directory).down()


def by_city(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["city"]: r for r in rows}


def test_up_every_node_peers_and_seals(net_dir: Path) -> None:
    rows = by_city(cli("status", "--dir", str(net_dir)))
    assert all(r["alive"] and r["peers"] == 4 for r in rows.values())
    assert all(r["lag"] <= 1 for r in rows.values())
    # Every sealer has sealed a block the others hold (up waited for it).
    chain = connect(rows["Shanghai"]["url"])
    sealed = Network(net_dir).wait_sealing(WAIT_S)
    assert set(sealed) == set(rows)
    assert Finality(chain).depth == clique_safe_depth(5) == 3
    chain.close()


def test_a_killed_city_is_missed_then_catches_up(net_dir: Path) -> None:
    killed = cli("kill", "Hefei", "--dir", str(net_dir))
    rows = by_city(cli("status", "--dir", str(net_dir)))
    assert not rows["Hefei"]["alive"]
    assert rows["Hefei"]["pid"] is None
    before = rows["Shanghai"]["head"]
    # Four sealers of five keep sealing.
    wait_for(
        lambda: by_city(cli("status", "--dir", str(net_dir)))["Shanghai"]["head"] >= before + 3,
        "the four remaining sealers sealing",
    )
    restarted = cli("restart", "Hefei", "--dir", str(net_dir))
    assert restarted["pid"] != killed["pid"]

    def caught_up() -> bool:
        r = by_city(cli("status", "--dir", str(net_dir)))
        return bool(r["Hefei"]["alive"] and r["Hefei"]["lag"] <= 1 and r["Hefei"]["peers"] == 4)

    wait_for(caught_up, "Hefei back in step")


def test_a_partition_minority_is_reorged_away_and_a_write_lands_once(net_dir: Path) -> None:
    net = Network(net_dir)
    urls = {n.city: n.url for n in net.state.nodes}
    minority = connect(urls["Shanghai"])
    majority = connect(urls["Hangzhou"])
    sender = Keyring("network-test").account("member")
    minority.fund(sender.address, 10**18)
    cli("partition", "Shanghai,Nanjing", "Hangzhou,Hefei,Jiaxing", "--dir", str(net_dir))
    tx = minority.prepare(sender, sender.address, b"")
    minority.backend.send_raw_transaction(tx.raw)  # only the minority's nodes hear of it
    wait_for(
        lambda: majority.backend.block_number() > minority.backend.block_number() + 2,
        "the majority out-growing the minority",
    )
    on_minority = minority.backend.receipt_if_mined(tx.tx_hash)
    if on_minority is not None:
        # Two sealers of five stall after two blocks: the write never gets three deep there.
        assert Finality(minority).confirmations(on_minority) < clique_safe_depth(5)
    assert majority.backend.receipt_if_mined(tx.tx_hash) is None
    cli("heal", "--dir", str(net_dir))
    top = majority.backend.block_number()

    def converged() -> bool:
        if minority.backend.block_number() < top:
            return False
        return minority.backend.block(top).hash == majority.backend.block(top).hash

    wait_for(converged, "the minority adopting the majority's chain")
    # Whoever needs the write anchored sends the same signed bytes again: exactly once.
    healed = Finality(minority)
    anchored = healed.send_anchored(tx, timeout_s=WAIT_S)
    assert healed.is_anchored(anchored)
    on_majority = wait_for(
        lambda: majority.backend.receipt_if_mined(tx.tx_hash), "the write on the majority's node"
    )
    assert on_majority.block_hash == anchored.block_hash, (
        minority.backend.block_number(),
        majority.backend.block_number(),
        on_majority,
        anchored,
    )
    assert majority.backend.nonce(sender.address) == tx.nonce + 1  # mined once, not twice
    minority.close()
    majority.close()


def test_bad_names_are_named_errors(net_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UnknownCity, match="Suzhou"):
        Network(net_dir).kill("Suzhou")
    with pytest.raises(NetworkNotUp):
        Network(tmp_path).status()
    result = CliRunner().invoke(app, ["network", "partition", "Shanghai", "--dir", str(net_dir)])
    assert result.exit_code == 1
    assert "two or more" in result.output


def test_down_stops_every_node_by_pid(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not GETH.exists():
        pytest.fail(f"geth is not built ({GETH} is missing): run `make geth` (needs go and gcc)")
    directory = tmp_path_factory.mktemp("small-network")
    net = Network(directory)
    try:
        state = net.up(nodes=1, period=1, timeout_s=WAIT_S)
        pid = state.pids["Shanghai"]
        assert Path(f"/proc/{pid}").exists()
    finally:
        stopped = net.down()
    assert stopped == ["Shanghai"]
    assert cli("status", "--dir", str(directory))[0]["alive"] is False


def test_the_paris_build_stand_in_never_reaches_bytecode() -> None:
    """OpenZeppelin's mcopy statements, stood in for by ``invalid()`` in the Paris build
    the artifacts hold, are dead code: another stand-in gives the same bytecode."""
    built = json.loads(ARTIFACTS_PATH.read_text())["contracts"]
    other = compile_contracts(mcopy_stand_in="revert(0, 0)")
    assert other.contracts.keys() == built.keys()
    for name, artifact in other.contracts.items():
        assert artifact["deployed_bytecode"] == built[name]["deployed_bytecode"], name
