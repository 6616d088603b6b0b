"""The five cities as a real consortium network: geth v1.13.15 Clique sealers on loopback.

One node per city, each holding its city's sealer key; the genesis names the five
sealers (Clique proof of authority). Nodes listen on 127.0.0.1 only, discovery is
off, and the nodes peer statically (``admin_addPeer``), so a partition is made by
removing peers and healed by adding them back. Every process started is recorded
by pid in ``DIR/network.json`` and stopped by that pid, after checking that the pid
still runs this network's geth (a recycled pid is never signalled).

The keys are development keys derived from a public seed, like :class:`Keyring`'s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak
from web3.providers.rpc import HTTPProvider

from ledger_client.chain.finality import clique_safe_depth
from ledger_client.chain.local_node import free_port
from ledger_client.errors import LedgerError, LedgerValueError

__all__ = [
    "CITIES",
    "DEFAULT_CHAIN_ID",
    "GETH",
    "GETH_VERSION",
    "GethMissing",
    "Network",
    "NetworkError",
    "NetworkNotUp",
    "NetworkTimeout",
    "NodeSpec",
    "Stall",
    "UnknownCity",
    "clique_safe_depth",
]

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
#: geth built by `make geth`: the last release that seals Clique blocks.
GETH = REPO_ROOT / ".tools" / "bin" / "geth"
GETH_VERSION = "1.13.15"
#: The consortium's cities, in sealer order.
CITIES = ("Shanghai", "Nanjing", "Hangzhou", "Hefei", "Jiaxing")
#: The network's chain id: 长三角 is the Yangtze River Delta; 2025 is not taken by a
#: public chain anyone would confuse it with, and it differs from anvil's and eth-tester's.
DEFAULT_CHAIN_ID = 20_251
#: Seed of the nodes' development keys (sealer and p2p keys).
NETWORK_SEED = "yangtze-delta-network"
#: Each sealer's balance in the genesis: it is the development faucet behind
#: ``Chain.fund`` (its account is unlocked on its node, as anvil's are).
SEALER_FUNDING_WEI = 10**9 * 10**18
#: Each further development account's balance in the genesis.
MEMBER_FUNDING_WEI = 10**6 * 10**18
#: Block gas limit: the same 30 M gas as a mainnet block and anvil's.
GAS_LIMIT = 30_000_000
STATE_FILE = "network.json"
#: A sealer's keystore password. A development network's: the key itself derives from a public seed.
_PASSWORD = "development-only"
#: Every wait is bounded: seconds for a node to answer, and to see its peers and sealing.
START_TIMEOUT_S = 60.0
PEER_TIMEOUT_S = 60.0
#: Bound of the wait for a partition to hold (no connection across it), seconds.
ISOLATE_S = 15.0
STOP_TIMEOUT_S = 15.0
#: geth's Clique "wiggle": an out-of-turn sealer waits up to this many seconds per
#: (sealers // 2 + 1) beyond the period before it seals, so that in-turn blocks win.
CLIQUE_WIGGLE_S = 0.5
#: How far below the stalled height :meth:`Network.unstall` looks for the fork point.
#: A Clique fork among peered sealers is a block or two deep; a deeper one is not a stall.
FORK_SEARCH_BLOCKS = 256


class NetworkError(LedgerError, RuntimeError):
    """The local consortium network could not be started, reached or changed."""


class GethMissing(NetworkError):
    """The geth binary is not built."""


class NetworkNotUp(NetworkError):
    """No network is recorded in the directory."""


class NetworkTimeout(NetworkError, TimeoutError):
    """The network did not reach the awaited state in time."""


class UnknownCity(NetworkError, LedgerValueError):
    """A city that has no node in this network."""

    def __init__(self, city: str, cities: Sequence[str]) -> None:
        self.city = city
        super().__init__(f"no node for city {city!r}; the network's nodes: {', '.join(cities)}")


@dataclass(frozen=True)
class NodeSpec:
    """One city's node: its keys, ports and data directory."""

    city: str
    signer: str  # the sealer's account
    signer_key: str  # hex, development only
    node_key: str  # p2p key, hex
    enode: str
    http_port: int
    p2p_port: int
    auth_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@dataclass
class NetworkState:
    """What ``DIR/network.json`` records."""

    chain_id: int
    period: int
    nodes: list[NodeSpec]
    pids: dict[str, int] = field(default_factory=dict)
    partition: list[list[str]] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> NetworkState:
        doc = json.loads(text)
        return cls(
            chain_id=int(doc["chain_id"]),
            period=int(doc["period"]),
            nodes=[NodeSpec(**n) for n in doc["nodes"]],
            pids={k: int(v) for k, v in doc.get("pids", {}).items()},
            partition=doc.get("partition"),
        )


@dataclass(frozen=True)
class Stall:
    """Peered nodes of one group split between branches, and no block sealed on any.

    Clique lets a sealer seal one block of any ``sealers // 2 + 1``. Two sealers that
    sealed the same height out of turn leave two branches of equal difficulty; a node
    only syncs to a peer whose total difficulty is higher, so neither side adopts the
    other's. When every sealer that could extend a branch sits on the other one (it
    happens with three sealers of five apart from the rest), nothing is sealed again:
    geth's known Clique deadlock. ``branches`` maps each branch's block at ``height``
    (the group's lowest head) to the cities on it.
    """

    group: tuple[str, ...]
    height: int
    branches: dict[str, tuple[str, ...]]


def _derive_key(label: str) -> bytes:
    return keccak(f"{NETWORK_SEED}/{label}".encode())


def _node_specs(count: int) -> list[NodeSpec]:
    specs = []
    used: set[int] = set()

    def port() -> int:
        while True:
            p = free_port()
            if p not in used:
                used.add(p)
                return p

    for city in CITIES[:count]:
        signer_key = _derive_key(f"sealer:{city}")
        node_key = _derive_key(f"p2p:{city}")
        p2p = port()
        pub = PrivateKey(node_key).public_key.to_bytes().hex()
        specs.append(
            NodeSpec(
                city=city,
                signer=Account.from_key(signer_key).address,
                signer_key=signer_key.hex(),
                node_key=node_key.hex(),
                enode=f"enode://{pub}@127.0.0.1:{p2p}?discport=0",
                http_port=port(),
                p2p_port=p2p,
                auth_port=port(),
            )
        )
    return specs


def genesis(
    specs: Sequence[NodeSpec], chain_id: int, period: int, funded: Iterable[str]
) -> dict[str, Any]:
    """A Clique genesis on the Paris-era rules (London and before; no Shanghai).

    geth v1.13.15 seals Clique only before the merge, and refuses Shanghai and
    later forks on a Clique chain: hence no ``shanghaiTime`` and contracts
    compiled for the ``paris`` EVM.
    """
    signers = sorted(s.signer.lower()[2:] for s in specs)
    extra = "0x" + "00" * 32 + "".join(signers) + "00" * 65
    alloc: dict[str, dict[str, str]] = {
        s.signer.lower()[2:]: {"balance": hex(SEALER_FUNDING_WEI)} for s in specs
    }
    for address in funded:
        alloc.setdefault(address.lower().removeprefix("0x"), {"balance": hex(MEMBER_FUNDING_WEI)})
    forks = [
        "homestead", "eip150", "eip155", "eip158", "byzantium", "constantinople",
        "petersburg", "istanbul", "muirGlacier", "berlin", "london", "arrowGlacier",
        "grayGlacier",
    ]  # fmt: skip
    config: dict[str, Any] = {"chainId": chain_id, **{f"{f}Block": 0 for f in forks}}
    config["clique"] = {"period": period, "epoch": 30_000}
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": hex(int(time.time())),
        "extraData": extra,
        "gasLimit": hex(GAS_LIMIT),
        "difficulty": "0x1",
        "baseFeePerGas": hex(10**9),
        "alloc": alloc,
    }


class Network:
    """A local network of city nodes recorded in ``directory``."""

    def __init__(self, directory: Path | str, geth: Path | str = GETH) -> None:
        self.dir = Path(directory).resolve()
        self.geth = Path(geth)
        self._state: NetworkState | None = None
        # Nodes this object started: until exec the child's command line is still
        # Python's, so their liveness comes from the process handle, not /proc.
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    # -- state ------------------------------------------------------------------------
    @property
    def state(self) -> NetworkState:
        if self._state is None:
            path = self.dir / STATE_FILE
            if not path.exists():
                raise NetworkNotUp(f"no network in {self.dir}: run `credit-chain network up`")
            self._state = NetworkState.from_json(path.read_text())
        return self._state

    def _save(self) -> None:
        tmp = self.dir / (STATE_FILE + ".tmp")
        tmp.write_text(self.state.to_json())
        tmp.replace(self.dir / STATE_FILE)

    def node(self, city: str) -> NodeSpec:
        for n in self.state.nodes:
            if n.city.lower() == city.strip().lower():
                return n
        raise UnknownCity(city, [n.city for n in self.state.nodes])

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.state.nodes]

    def _log(self, spec: NodeSpec) -> Path:
        return self.dir / f"{spec.city.lower()}.log"

    def _datadir(self, spec: NodeSpec) -> Path:
        return self.dir / spec.city.lower()

    # -- lifecycle --------------------------------------------------------------------
    def up(
        self,
        nodes: int = len(CITIES),
        period: int = 1,
        chain_id: int = DEFAULT_CHAIN_ID,
        funded: Iterable[str] = (),
        timeout_s: float = START_TIMEOUT_S,
    ) -> NetworkState:
        """Create keys, the genesis and the nodes, start them, wait until all peer and seal."""
        if not 1 <= nodes <= len(CITIES):
            raise LedgerValueError(f"--nodes must be 1 to {len(CITIES)}; got {nodes}")
        if period < 0:
            raise LedgerValueError(f"--period is seconds >= 0; got {period}")
        if not self.geth.exists():
            raise GethMissing(f"geth is missing at {self.geth}: run `make geth` (needs go and gcc)")
        if (self.dir / STATE_FILE).exists():
            alive = [c for c, pid in self.state.pids.items() if self._is_ours(pid)]
            if alive:
                raise NetworkError(
                    f"a network already runs in {self.dir} ({', '.join(alive)}): "
                    "`credit-chain network down` first"
                )
        self.dir.mkdir(parents=True, exist_ok=True)
        specs = _node_specs(nodes)
        self._state = NetworkState(chain_id=chain_id, period=period, nodes=specs)
        doc = genesis(specs, chain_id, period, funded)
        (self.dir / "genesis.json").write_text(json.dumps(doc, indent=2))
        (self.dir / "password.txt").write_text(_PASSWORD + "\n")
        for spec in specs:
            self._init_node(spec)
        self._save()
        try:
            for spec in specs:
                self._start(spec)
            self._wait_answering(specs, timeout_s)
            self.heal()
            self.wait_peered(timeout_s)
            for spec in specs:
                self.resume_sealing(spec.city)
            self.wait_sealing(timeout_s)
        except BaseException:
            self.down()
            raise
        return self.state

    def _init_node(self, spec: NodeSpec) -> None:
        datadir = self._datadir(spec)
        if datadir.exists():
            # A fresh genesis each `up`: the old chain of a former network goes.
            import shutil

            shutil.rmtree(datadir)
        keystore = datadir / "keystore"
        keystore.mkdir(parents=True)
        # PBKDF2 with few rounds: the key is a public development key, and geth then
        # unlocks it in milliseconds rather than scrypt's seconds per node.
        keyfile = Account.encrypt(
            bytes.fromhex(spec.signer_key), _PASSWORD, kdf="pbkdf2", iterations=1024
        )
        (keystore / f"sealer-{spec.city.lower()}.json").write_text(json.dumps(keyfile))
        (datadir / "nodekey").write_text(spec.node_key)
        result = subprocess.run(
            [
                str(self.geth),
                "--datadir",
                str(datadir),
                "--verbosity",
                "1",
                "init",
                str(self.dir / "genesis.json"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise NetworkError(f"geth init for {spec.city} failed: {result.stderr.strip()}")

    def _command(self, spec: NodeSpec) -> list[str]:
        datadir = self._datadir(spec)
        return [
            str(self.geth),
            "--datadir",
            str(datadir),
            "--networkid",
            str(self.state.chain_id),
            "--port",
            str(spec.p2p_port),
            "--nat",
            "none",
            "--nodiscover",
            "--maxpeers",
            "16",
            "--http",
            "--http.addr",
            "127.0.0.1",
            "--http.port",
            str(spec.http_port),
            "--http.api",
            "eth,net,web3,admin,clique,txpool,debug,miner",
            "--authrpc.addr",
            "127.0.0.1",
            "--authrpc.port",
            str(spec.auth_port),
            "--ipcdisable",
            "--syncmode",
            "full",
            # Archive: the auditor and revert decoding read state at past blocks.
            "--gcmode",
            "archive",
            "--cache",
            "64",
            "--unlock",
            spec.signer,
            "--password",
            str(self.dir / "password.txt"),
            "--allow-insecure-unlock",
            # No --mine: a sealer starts sealing once peered (up, restart), or a lone
            # node seals a block 1 of its own, and lone branches can deadlock Clique.
            "--miner.etherbase",
            spec.signer,
            # The client tips 1 wei: the node must still include its transactions.
            "--miner.gasprice",
            "1",
            "--txpool.pricelimit",
            "1",
            "--rpc.txfeecap",
            "0",
            "--verbosity",
            "2",
        ]

    def _start(self, spec: NodeSpec) -> int:
        log = open(self.dir / f"{spec.city.lower()}.log", "ab")  # noqa: SIM115 - the child keeps it
        try:
            proc = subprocess.Popen(
                self._command(spec),
                stdout=subprocess.DEVNULL,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # outlives the command that started it
            )
        finally:
            log.close()
        self._procs[proc.pid] = proc
        self.state.pids[spec.city] = proc.pid
        self._save()
        return proc.pid

    def _is_ours(self, pid: int) -> bool:
        """Whether ``pid`` still runs a geth of this network (not a recycled pid)."""
        proc = self._procs.get(pid)
        if proc is not None:
            return proc.poll() is None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                os.waitpid(pid, os.WNOHANG)  # a child of this process: reap it
                return False
        except (OSError, IndexError, ChildProcessError):
            pass
        return (
            bool(cmdline)
            and cmdline[0] == str(self.geth).encode()
            and str(self.dir).encode() in b" ".join(cmdline)
        )

    def _stop_pid(self, pid: int, sig: int = signal.SIGTERM) -> None:
        if not self._is_ours(pid):
            return
        os.kill(pid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self._is_ours(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + STOP_TIMEOUT_S
                sig = signal.SIGKILL
            time.sleep(0.05)

    def down(self) -> list[str]:
        """Stop every node by its recorded pid; return the cities stopped."""
        stopped = []
        for city, pid in sorted(self.state.pids.items()):
            if self._is_ours(pid):
                self._stop_pid(pid)
                stopped.append(city)
        self.state.pids.clear()
        self.state.partition = None
        self._save()
        return stopped

    def kill(self, city: str) -> int:
        """Kill a city's node at once (SIGKILL, as a crash); return its pid."""
        spec = self.node(city)
        pid = self.state.pids.get(spec.city)
        if pid is None or not self._is_ours(pid):
            raise NetworkError(f"{spec.city}'s node is not running")
        self._stop_pid(pid, signal.SIGKILL)
        del self.state.pids[spec.city]
        self._save()
        return pid

    def restart(self, city: str, timeout_s: float = START_TIMEOUT_S) -> int:
        """Start a city's node again (stopping it first if it runs) and re-peer it."""
        spec = self.node(city)
        pid = self.state.pids.get(spec.city)
        if pid is not None and self._is_ours(pid):
            self._stop_pid(pid)
        new_pid = self._start(spec)
        self._wait_answering([spec], timeout_s)
        self._connect_all(self.state.partition)
        self.resume_sealing(spec.city)  # peers asked for first: it syncs before it seals
        return new_pid

    # -- peering ----------------------------------------------------------------------
    def _running(self) -> list[NodeSpec]:
        return [
            n
            for n in self.state.nodes
            if (pid := self.state.pids.get(n.city)) is not None and self._is_ours(pid)
        ]

    def _groups(self, partition: list[list[str]] | None) -> dict[str, int]:
        if partition is None:
            return {n.city: 0 for n in self.state.nodes}
        return {city: i for i, group in enumerate(partition) for city in group}

    def _connect_all(self, partition: list[list[str]] | None) -> None:
        group = self._groups(partition)
        running = self._running()
        for a in running:
            for b in running:
                if a.city == b.city:
                    continue
                method = "admin_addPeer" if group[a.city] == group[b.city] else "admin_removePeer"
                _rpc(a.url, method, [b.enode])

    def partition(self, groups: Sequence[Sequence[str]]) -> list[list[str]]:
        """Split the nodes into groups that do not peer with each other."""
        names = [[self.node(c).city for c in g] for g in groups]
        flat = [c for g in names for c in g]
        if len(groups) < 2 or any(not g for g in names):
            raise LedgerValueError("a partition needs two or more non-empty groups of cities")
        if len(set(flat)) != len(flat):
            raise LedgerValueError(f"a city is in two groups: {groups}")
        missing = [n.city for n in self.state.nodes if n.city not in flat]
        if missing:
            raise LedgerValueError(f"every city must be in a group; missing: {', '.join(missing)}")
        self.state.partition = names
        self._save()
        self._connect_all(names)
        self._wait_isolated(self._groups(names))
        return names

    def _wait_isolated(self, group: dict[str, int], timeout_s: float = ISOLATE_S) -> None:
        """Until no running node peers across the partition, twice in a row.

        ``admin_removePeer`` drops the static entry and the live connection, but a dial
        already in flight from the other side can complete after it: the two groups
        would then stay joined and the partition never happen. Such a connection is
        dropped again here (both ways) until two looks a moment apart find none.
        """
        deadline = time.monotonic() + timeout_s
        clean = 0
        while clean < 2:
            crossing = self._cross_peers(group)
            if crossing:
                clean = 0
                for a, cities in crossing.items():
                    for b in cities:
                        _rpc(self.node(a).url, "admin_removePeer", [self.node(b).enode])
                        _rpc(self.node(b).url, "admin_removePeer", [self.node(a).enode])
            else:
                clean += 1
            if clean < 2:
                if time.monotonic() > deadline:
                    raise NetworkTimeout(
                        f"nodes still peer across the partition after {timeout_s:.0f} s: {crossing}"
                    )
                time.sleep(0.3)

    def _cross_peers(self, group: dict[str, int]) -> dict[str, list[str]]:
        """Per running node, the cities of another group it is connected to."""
        by_key = {_node_key(n.enode): n.city for n in self.state.nodes}
        crossing: dict[str, list[str]] = {}
        for a in self._running():
            for peer in _rpc(a.url, "admin_peers", []):
                city = by_key.get(_node_key(str(peer.get("enode", ""))))
                if city is not None and group[city] != group[a.city]:
                    crossing.setdefault(a.city, []).append(city)
        return crossing

    def heal(self) -> None:
        """Peer every running node with every other again."""
        self.state.partition = None
        self._save()
        self._connect_all(None)

    # -- observation ------------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        """Per node: alive, head, peers, lag behind the highest head, signer."""
        rows: list[dict[str, Any]] = []
        for n in self.state.nodes:
            pid = self.state.pids.get(n.city)
            alive = pid is not None and self._is_ours(pid)
            head: int | None = None
            peers: int | None = None
            head_hash: str | None = None
            if alive:
                try:
                    block = _rpc(n.url, "eth_getBlockByNumber", ["latest", False])
                    head, head_hash = int(block["number"], 16), str(block["hash"])
                    peers = int(_rpc(n.url, "net_peerCount", []), 16)
                except NetworkError:
                    alive = False
            rows.append(
                {
                    "city": n.city,
                    "url": n.url,
                    "pid": pid if alive else None,
                    "alive": alive,
                    "head": head,
                    "head_hash": head_hash,
                    "peers": peers,
                    "signer": n.signer,
                }
            )
        top = max((r["head"] for r in rows if r["head"] is not None), default=None)
        for r in rows:
            r["lag"] = None if r["head"] is None or top is None else top - r["head"]
        return rows

    def _wait_answering(self, specs: Sequence[NodeSpec], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for spec in specs:
            while True:
                try:
                    _rpc(spec.url, "eth_blockNumber", [])
                    break
                except NetworkError:
                    pid = self.state.pids.get(spec.city)
                    if pid is None or not self._is_ours(pid):
                        raise NetworkError(
                            f"{spec.city}'s geth exited; see {self._log(spec)}"
                        ) from None
                    if time.monotonic() > deadline:
                        raise NetworkTimeout(
                            f"{spec.city}'s node did not answer in {timeout_s:.0f} s"
                        ) from None
                    time.sleep(0.1)

    def wait_peered(self, timeout_s: float = PEER_TIMEOUT_S) -> None:
        """Until every running node peers with every other running node of its group."""
        group = self._groups(self.state.partition)
        deadline = time.monotonic() + timeout_s
        while True:
            running = self._running()
            want = {
                n.city: sum(
                    1 for m in running if m.city != n.city and group[m.city] == group[n.city]
                )
                for n in running
            }
            have = {n.city: int(_rpc(n.url, "net_peerCount", []), 16) for n in running}
            if all(have[c] >= want[c] for c in want):
                return
            if time.monotonic() > deadline:
                raise NetworkTimeout(
                    f"nodes did not peer in {timeout_s:.0f} s: peers {have}, wanted {want}"
                )
            time.sleep(0.2)

    def wait_converged(self, timeout_s: float = PEER_TIMEOUT_S) -> int:
        """Until every running node holds the same block at the lowest head but one, twice
        in a row; return that block's number.

        Heads within a block of each other say nothing of which branch each is on: a node
        restarted after a SIGKILL can come back on blocks its database had not flushed,
        and seal on a branch of its own. Comparing hashes at a common height does."""
        deadline = time.monotonic() + timeout_s
        agreed = 0
        last: dict[str, str] = {}
        while True:
            running = self._running()
            heads = {n.city: int(_rpc(n.url, "eth_blockNumber", []), 16) for n in running}
            height = max(0, min(heads.values()) - 1)
            last = {n.city: self._hash_at(n.city, height) for n in running}
            agreed = agreed + 1 if len(set(last.values())) == 1 else 0
            if agreed >= 2:
                return height
            if time.monotonic() > deadline:
                raise NetworkTimeout(
                    f"nodes did not converge in {timeout_s:.0f} s: block {height} is {last}"
                )
            time.sleep(0.5)

    def wait_sealing(self, timeout_s: float = PEER_TIMEOUT_S) -> dict[str, int]:
        """Until all nodes peer and every sealer has sealed a block all nodes agree on.

        Returns, per city, the number of the block its sealer sealed. On a
        network sealing on demand (period 0) zero-value transfers from the
        sealers drive the blocks.
        """
        self.wait_peered(timeout_s)
        specs = self.state.nodes
        by_signer = {n.signer.lower(): n.city for n in specs}
        deadline = time.monotonic() + timeout_s
        sealed: dict[str, int] = {}
        first = specs[0]
        checked = 0
        while True:
            if self.state.period == 0:
                for n in specs:
                    if n.city not in sealed:
                        _rpc(
                            n.url,
                            "eth_sendTransaction",
                            [{"from": n.signer, "to": n.signer, "value": "0x0"}],
                        )
            head = int(_rpc(first.url, "eth_blockNumber", []), 16)
            for number in range(checked + 1, head + 1):
                signer = str(_rpc(first.url, "clique_getSigner", [hex(number)])).lower()
                sealed.setdefault(by_signer.get(signer, signer), number)
            checked = max(checked, head)
            heads = {int(_rpc(n.url, "eth_blockNumber", []), 16) for n in specs}
            if all(n.city in sealed for n in specs) and max(heads) - min(heads) <= 1:
                return sealed
            if time.monotonic() > deadline:
                missing = [n.city for n in specs if n.city not in sealed]
                raise NetworkTimeout(
                    f"sealers {missing} did not seal within {timeout_s:.0f} s "
                    f"(heads {sorted(heads)})"
                )
            time.sleep(0.25)

    # -- sealing ----------------------------------------------------------------------
    def pause_sealing(self, city: str) -> None:
        """Stop a city's sealer (its node still follows and relays the chain). A block it
        had begun to seal (waiting out the period) may still land after this returns."""
        _rpc(self.node(city).url, "miner_stop", [])

    def resume_sealing(self, city: str) -> None:
        """Let a city's sealer seal again."""
        _rpc(self.node(city).url, "miner_start", [])

    def stall_window_s(self) -> float:
        """Seconds without a block after which a group's sealers are stalled: twice the
        longest an eligible sealer waits (the period and the out-of-turn wiggle), and one."""
        wiggle = CLIQUE_WIGGLE_S * (len(self.state.nodes) // 2 + 1)
        return 2 * (self.state.period + wiggle) + 1.0

    def stalls(self, window_s: float | None = None) -> list[Stall]:
        """The groups whose nodes sit on different branches and sealed nothing for
        ``window_s`` (by default :meth:`stall_window_s`). A fork that is being resolved
        (some head moves) is not a stall; nor is a group that agrees and is too small
        to seal (a minority of two): its nodes wait for the others, on one branch."""
        window = self.stall_window_s() if window_s is None else window_s
        before = self._heads()
        time.sleep(window)
        after = self._heads()
        found: list[Stall] = []
        membership = self._groups(self.state.partition)
        for index in sorted(set(membership.values())):
            cities = tuple(c for c in after if membership[c] == index and c in before)
            if len(cities) < 2 or any(after[c] != before[c] for c in cities):
                continue
            height = min(after[c] for c in cities)
            branches: dict[str, list[str]] = {}
            for c in cities:
                branches.setdefault(self._hash_at(c, height), []).append(c)
            if len(branches) > 1:
                found.append(
                    Stall(cities, height, {h: tuple(cs) for h, cs in sorted(branches.items())})
                )
        return found

    def unstall(
        self, window_s: float | None = None, timeout_s: float = PEER_TIMEOUT_S
    ) -> list[dict[str, Any]]:
        """Break every :meth:`stalls`: keep the branch of the highest total difficulty
        (then of the most nodes, then the lowest hash, so every operator picks the same),
        and rewind each node of another branch to the fork point (``debug_setHead``)
        with its sealer paused, until it has synced the kept branch. The rewound sealers
        can then extend it. Returns what was done, one entry per stall; none when the
        network is not stalled. Only the rewound nodes' own blocks past the fork are
        dropped: a transaction in them is back in their pools and mined again."""
        repaired: list[dict[str, Any]] = []
        for stall in self.stalls(window_s):

            def rank(item: tuple[str, tuple[str, ...]]) -> tuple[int, int, str]:
                block_hash, cities = item
                block = _rpc(self.node(cities[0]).url, "eth_getBlockByHash", [block_hash, False])
                return (int(block.get("totalDifficulty") or "0x0", 16), len(cities), block_hash)

            kept, keepers = max(stall.branches.items(), key=rank)
            keeper = self.node(keepers[0])
            rewound: dict[str, dict[str, Any]] = {}
            for block_hash, cities in stall.branches.items():
                if block_hash == kept:
                    continue
                for city in cities:
                    fork = self._fork_point(city, keeper.city, stall.height)
                    self._rewind(city, fork, keeper, timeout_s)
                    rewound[city] = {"dropped_from": fork + 1, "branch": block_hash}
            repaired.append(
                {
                    "group": list(stall.group),
                    "height": stall.height,
                    "kept": kept,
                    "kept_by": list(keepers),
                    "rewound": rewound,
                }
            )
        return repaired

    def _heads(self) -> dict[str, int]:
        heads: dict[str, int] = {}
        for n in self._running():
            try:
                heads[n.city] = int(_rpc(n.url, "eth_blockNumber", []), 16)
            except NetworkError:
                continue  # a node that died between looks is in no group's stall
        return heads

    def _hash_at(self, city: str, number: int) -> str:
        block = _rpc(self.node(city).url, "eth_getBlockByNumber", [hex(number), False])
        if block is None:
            raise NetworkError(f"{city}'s node has no block {number}")
        return str(block["hash"])

    def _fork_point(self, city: str, keeper: str, height: int) -> int:
        """The highest block at or below ``height`` that ``city`` and ``keeper`` share."""
        for number in range(height, max(-1, height - FORK_SEARCH_BLOCKS), -1):
            if self._hash_at(city, number) == self._hash_at(keeper, number):
                return number
        raise NetworkError(
            f"{city} and {keeper} share no block in the {FORK_SEARCH_BLOCKS} below {height}: "
            "not a Clique stall; compare their chains before rewinding either"
        )

    def _rewind(self, city: str, fork: int, keeper: NodeSpec, timeout_s: float) -> None:
        """Rewind ``city`` to block ``fork`` with its sealer paused (it would otherwise
        seal a new branch at once), and wait until it holds ``keeper``'s head block."""
        url = self.node(city).url
        was_sealing = bool(_rpc(url, "eth_mining", []))
        target = _rpc(keeper.url, "eth_getBlockByNumber", ["latest", False])
        number, block_hash = int(target["number"], 16), str(target["hash"])
        self.pause_sealing(city)
        try:
            _rpc(url, "debug_setHead", [hex(fork)])
            # A node syncs from a peer of higher total difficulty: at once on a new block,
            # else on its next forced sync (10 s). Peering again starts one now.
            _rpc(url, "admin_removePeer", [keeper.enode])
            _rpc(url, "admin_addPeer", [keeper.enode])
            deadline = time.monotonic() + timeout_s
            while True:
                block = _rpc(url, "eth_getBlockByNumber", [hex(number), False])
                if block is not None and str(block["hash"]) == block_hash:
                    return
                if time.monotonic() > deadline:
                    raise NetworkTimeout(
                        f"{city}, rewound to block {fork}, did not sync {keeper.city}'s "
                        f"block {number} in {timeout_s:.0f} s"
                    )
                time.sleep(0.25)
        finally:
            if was_sealing:
                self.resume_sealing(city)


def _rpc(url: str, method: str, params: list[Any], timeout: float = 10.0) -> Any:
    provider = HTTPProvider(url, request_kwargs={"timeout": timeout})
    try:
        response = provider.make_request(method, params)
    except Exception as exc:
        raise NetworkError(f"{method} to {url} failed: {exc}") from exc
    if "error" in response:
        raise NetworkError(f"{method} at {url} failed: {response['error']}")
    return response.get("result")


def _node_key(enode: str) -> str:
    """The public key of an ``enode://KEY@host:port`` URL, lower case: a node's identity
    whatever address or query string a peer list shows it with."""
    return enode.removeprefix("enode://").split("@", 1)[0].lower()
