"""The credit chain on the five cities' geth Clique network, and its faults under load.

One network for the module. First everything runs on it unchanged (``deploy --rpc``,
``audit --rpc``, ``simulate --rpc``, in real time); then a real ``credit-chain serve``
given every city's node (``--rpc URL,URL,...``) takes signed records while (a) a
city's node is killed with SIGKILL, (b) the API's own node is killed, (c) two cities
are cut off from three and then rejoin. After each: every acknowledged submission is
anchored exactly once on the chain that won, and after the partition the auditor's
replay is clean. Every wait is bounded; every process is stopped by its pid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.api_process import ApiClient, ApiServer
from ledger_client import Keyring, Manifest, Role, attach, connect
from ledger_client.attestations.signed_records import domain_separator
from ledger_client.chain.network import Network, _rpc
from ledger_client.contracts.attestations import schema_id
from scripts.loadgen import ATTESTATIONS, make_bodies
from tests.network_support import cli_json, five_city_network, wait_for

pytestmark = [pytest.mark.geth, pytest.mark.slow]

#: Bound of a wait for every acknowledged submission to settle, seconds.
SETTLE_S = 150.0
#: Records posted in each phase of a fault: enough for a batch and a few singles.
RECORDS = 12


cli = cli_json


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    with five_city_network(tmp_path_factory.mktemp("faults-network")) as network:
        yield network


def test_deploy_audit_and_simulate_run_on_the_network(net: Network, tmp_path: Path) -> None:
    rpc = net.node("Hangzhou").url
    manifest = tmp_path / "manifest.json"
    cli("deploy", "--rpc", rpc, "--out", str(manifest), "--json")
    report = cli(
        "audit", "--manifest", str(manifest), "--rpc", rpc, "--out", str(tmp_path / "a"), "--json"
    )
    assert report["verdict"].startswith("no breach"), report["verdict"]
    # The scenario in real time (the sealers' clocks), adversaries every day: no breach
    # (the command fails on one), and the auditor's replay of the whole run is clean.
    sim = cli(
        "simulate", "--rpc", rpc, "--days", "2", "--enterprises", "5",
        "--adversary-rate", "1", "--json",
    )  # fmt: skip
    assert sim["config"]["clock"] == "real time"
    assert sim["transactions"] > 0
    assert sim["audit"]["ok"], sim["audit"]
    # Every transaction the simulator sent was settled three blocks deep (a majority of
    # five sealers), day by day; any a reorg dropped was sent again and counted.
    assert sim["finality"]["depth"] == 3
    assert sim["finality"]["settled"] == sim["transactions"], sim["finality"]


@dataclass
class Api:
    """A real ``credit-chain serve`` on the network, and a bank that posts signed records."""

    server: ApiServer
    client: ApiClient
    key: str
    bodies: Iterator[dict[str, object]]
    manifest: Path
    relayer: str
    acked: dict[str, str]  # idempotency key -> submission id

    def post(self, count: int) -> list[str]:
        """Post ``count`` signed records; return the submission ids acknowledged."""
        ids = []
        for _ in range(count):
            body = next(self.bodies)
            key = f"rec-{body['nonce']}"
            r = self.client.request(
                "POST", ATTESTATIONS, body, {"X-API-Key": self.key, "Idempotency-Key": key}
            )
            assert r.status == 202, (r.status, r.body)
            self.acked[key] = r.body["id"]
            ids.append(r.body["id"])
        return ids

    def results(self) -> dict[str, dict[str, Any]]:
        """Every acknowledged submission's result, once all are settled."""

        def settled() -> dict[str, dict[str, Any]] | None:
            out = {}
            for sub_id in self.acked.values():
                r = self.client.request(
                    "GET", f"/v1/submissions/{sub_id}", headers={"X-API-Key": self.key}
                )
                if r.body["status"] == "pending":
                    return None
                out[sub_id] = r.body
            return out

        return wait_for(settled, "every acknowledged submission settled", SETTLE_S)


@pytest.fixture(scope="module")
def api(net: Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    home = tmp_path_factory.mktemp("faults-api")
    data = home / "api"
    relayer = cli("relay-account", "--data-dir", str(data), "--json")["relay_account"]
    cli(
        "deploy", "--rpc", net.node("Hangzhou").url, "--relayer", relayer,
        "--out", str(data / "manifest.json"), "--json",
    )  # fmt: skip
    chain = connect(net.node("Hangzhou").url)
    ledger = attach(chain, Manifest.load(data / "manifest.json"))
    bank = Keyring("faults").account("bank")
    chain.fund(bank.address)
    regulator = Keyring("credit-chain").account("regulator")  # deploy's development keys
    ledger.consortium.admit_member(regulator, bank.address, "Bank of Hefei", "Hefei", Role.ATTESTER)
    loan = ledger.schemas["loan-repayment"]
    bodies = make_bodies(
        bank,
        domain_separator(ledger.attestations.domain),
        loan,
        schema_id(loan),
        10 * RECORDS,
        first_nonce=1,
        deadline=chain.now() + 3_600,
    )
    chain.close()
    # The API's node is Shanghai's; the others are where it fails over to.
    server = ApiServer(data, ",".join(net.urls))
    key = server.issue_key(bank.address, "bank")
    client = server.start()
    try:
        yield Api(server, client, key, iter(bodies), data / "manifest.json", relayer, {})
    finally:
        client.close()
        server.stop()


def anchored_exactly_once(api: Api, url: str) -> None:
    """Every acknowledged submission is anchored, on the chain ``url`` follows, at the
    block its result names; and the relay account sent no transaction besides them."""
    results = api.results()
    assert {r["status"] for r in results.values()} == {"anchored"}, results
    chain = connect(url)
    try:
        anchors = {r["result"]["tx_hash"] for r in results.values()}
        for r in results.values():
            receipt = chain.backend.receipt_if_mined(r["result"]["tx_hash"])
            assert receipt is not None, r
            assert receipt.block_number == r["result"]["block"], (receipt, r)
            assert chain.backend.block(receipt.block_number).hash == receipt.block_hash
        # Every transaction the relay ever had mined settled a submission: none twice.
        assert chain.backend.nonce(api.relayer) == len(anchors)
        uids = [r["result"]["uid"] for r in results.values() if "uid" in r["result"]]
        places = [(r["result"]["batch_id"], r["result"]["index"]) for r in results.values()
                  if "batch_id" in r["result"]]  # fmt: skip
        assert len(set(uids)) + len(set(places)) == len(results)
    finally:
        chain.close()


def heads(net: Network) -> dict[str, dict[str, Any]]:
    return {r["city"]: r for r in net.status()}


def test_a_city_killed_under_load_the_others_seal_and_it_catches_up(api: Api, net: Network) -> None:
    api.post(RECORDS // 2)
    net.kill("Hefei")
    before = heads(net)["Hangzhou"]["head"]
    api.post(RECORDS // 2)
    wait_for(lambda: heads(net)["Hangzhou"]["head"] >= before + 3, "four sealers sealing")
    anchored_exactly_once(api, net.node("Hangzhou").url)
    net.restart("Hefei")

    def caught_up() -> bool:
        h = heads(net)["Hefei"]
        return bool(h["alive"] and h["lag"] <= 1 and h["peers"] == 4)

    wait_for(caught_up, "Hefei back in step")
    net.wait_converged()  # on the others' branch, not only at their height


def test_the_apis_node_killed_it_fails_over_and_carries_on(api: Api, net: Network) -> None:
    api.post(RECORDS // 2)
    net.kill("Shanghai")  # the first of the API's --rpc list: the node it uses
    api.post(RECORDS // 2)
    anchored_exactly_once(api, net.node("Nanjing").url)
    log = (api.server.data_dir / "api-server.log").read_text(errors="replace")
    assert "failed over to" in log
    net.restart("Shanghai")
    wait_for(lambda: heads(net)["Shanghai"]["lag"] <= 1, "Shanghai back in step")
    net.wait_converged()  # on the others' branch, not only at their height


def test_a_partition_healed_every_acknowledged_submission_anchored_once_and_audit_clean(
    api: Api, net: Network, tmp_path: Path
) -> None:
    net.wait_peered()
    net.wait_converged()  # one chain before the cut: the minority's branch starts from it
    minority, majority = ["Shanghai", "Nanjing"], ["Hangzhou", "Hefei", "Jiaxing"]
    # The API is on a minority node (Shanghai, or Nanjing after the fail-over): what it
    # anchors there lands in blocks the majority will out-grow.
    at_cut = _cut_off(net, minority, majority, lambda: api.post(RECORDS // 2))
    before = heads(net)["Hangzhou"]["head"]

    def outgrown() -> bool:
        rows = heads(net)
        top = min(int(rows[c]["head"]) for c in majority)
        return top > max(int(rows[c]["head"]) for c in minority) + 3 and top > before + 5

    try:
        wait_for(outgrown, "the majority out-growing the minority", 30.0)
    except AssertionError:
        # Three sealers of five can deadlock: two out-of-turn blocks at one height, and
        # each branch extensible only by the sealer on the other (CI met it: Hangzhou and
        # Hefei on one block 290, Jiaxing on another). The operator breaks it with
        # `network unstall` (test_network_stall makes one on purpose); any other reason
        # for the majority to stop sealing fails here.
        assert net.unstall(), f"the majority stopped sealing, and not in a stall: {net.status()}"
        wait_for(outgrown, "the majority out-growing the minority", state=net.status)
    cut_off = {c: (heads(net)[c]["head"], _hash(net, c, heads(net)[c]["head"])) for c in minority}
    net.heal()
    top = heads(net)["Hangzhou"]["head"]

    def converged() -> bool:
        rows = heads(net)
        return all(rows[c]["head"] >= top for c in minority) and all(
            _hash(net, c, top) == _hash(net, "Hangzhou", top) for c in minority
        )

    wait_for(converged, "the minority adopting the majority's chain", state=net.status)
    # The minority sealed blocks of its own, and they are gone from every node's chain.
    assert max(number for number, _ in cut_off.values()) > at_cut, (at_cut, cut_off)
    for city, (number, block_hash) in cut_off.items():
        if number > at_cut:
            assert _hash(net, city, number) != block_hash, f"{city}'s block {number} survived"
    anchored_exactly_once(api, net.node("Jiaxing").url)
    report = cli(
        "audit", "--manifest", str(api.manifest), "--rpc", net.node("Jiaxing").url,
        "--out", str(tmp_path / "audit"), "--json",
    )  # fmt: skip
    assert report["verdict"].startswith("no breach"), report["verdict"]


def _cut_off(
    net: Network, minority: list[str], majority: list[str], during: Callable[[], object]
) -> int:
    """Partition the network, run ``during`` at once, and return the minority's head at the
    cut, once the minority has sealed a block of its own. A sealer may seal one block of
    any three, so two sealers that sealed the last two blocks before the cut can seal
    nothing: the cut is made after two majority blocks, and made again (healed first)
    if the minority still could not seal, a few times at most."""
    majority_signers = {net.node(c).signer.lower() for c in majority}
    for _ in range(5):
        wait_for(lambda: _last_signers(net, 2) <= majority_signers, "two majority blocks")
        net.partition([minority, majority])
        at_cut = max(heads(net)[c]["head"] for c in minority)
        during()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if max(heads(net)[c]["head"] for c in minority) > at_cut:
                return int(at_cut)
            time.sleep(0.25)
        net.heal()
        net.wait_peered()
        net.wait_converged()
    raise AssertionError("the minority never sealed a block of its own in five cuts")


def _last_signers(net: Network, blocks: int) -> set[str]:
    """The sealers of the latest ``blocks`` blocks, as Shanghai's node sees them."""
    url = net.node("Shanghai").url
    head = int(_rpc(url, "eth_blockNumber", []), 16)
    return {
        str(_rpc(url, "clique_getSigner", [hex(n)])).lower()
        for n in range(head - blocks + 1, head + 1)
    }


def _hash(net: Network, city: str, number: int) -> str:
    chain = connect(net.node(city).url)
    try:
        return chain.backend.block(number).hash
    finally:
        chain.close()
