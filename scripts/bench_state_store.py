"""Memory and restart time of the embedded chain on disk, as the chain grows.

One builder process attests on a chain kept in a data directory, one
transaction a block; at each checkpoint (a number of attestations) it notes
its resident memory, closes the chain, and a fresh process reopens it and is
timed: opening, the first read, and one more attestation, with that
process's peak memory. The builder then reopens the chain and goes on.

Run it once per source tree to compare two versions of the client (the tree is
put first on ``PYTHONPATH``; this file imports only the client's public API)::

    python scripts/bench_state_store.py --checkpoints 2000,10000,40000 \\
        --tree before=/path/to/main --tree after=. --out benchmarks/bench-state-store.json

or once per cache setting of one engine (``none``: the engine's default; revm
then holds its whole state in memory), which also measures what one uncached
slot and account cost revm through its state server::

    python scripts/bench_state_store.py --engine revm --cache memory=none \\
        --cache bounded=64 --out benchmarks/bench-state-store-revm.json

On revm with a bound, resident memory is the chain's process plus its state
server's (``server_rss_mb``), and the keys read are the server's counts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEED = "state-store-bench"
#: How many distinct slots and accounts the cold-read measurement reads.
COLD_SLOTS = 2000
COLD_ACCOUNTS = 300


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS in /proc/self/status")


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _sqlite_reads(chain: Any) -> int | None:
    # Only the on-demand store counts its reads; the older one loads everything.
    db = getattr(chain.backend, "state_db", None)
    if db is not None:
        return int(db.store.reads)
    server = getattr(chain.backend, "state_server", None)
    if server is not None:
        accounts, slots, _ = server.fetched()
        return int(accounts + slots)
    return None


def _server_rss_mb(chain: Any) -> float | None:
    server = getattr(chain.backend, "state_server", None)
    if server is None:
        return None
    with open(f"/proc/{server.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def _connect(engine: str, data_dir: Path, cache_mb: float | None) -> Any:
    from ledger_client import connect

    if cache_mb is None:
        return connect(engine, data_dir=data_dir)
    return connect(engine, data_dir=data_dir, cache_bytes=int(cache_mb * 2**20))


def build(data_dir: Path, upto: int, engine: str, cache_mb: float | None) -> dict[str, Any]:
    """Attest until the chain holds ``upto`` attestations; return memory and time."""
    from ledger_client import Keyring, Manifest, Role, attach, deploy

    ring = Keyring(SEED)
    regulator, bank = ring.account("regulator"), ring.account("bank")
    manifest = data_dir / "manifest.json"
    t0 = time.perf_counter()
    chain = _connect(engine, data_dir / "chain", cache_mb)
    if manifest.exists():
        ledger = attach(chain, Manifest.load(manifest))
        done = int((data_dir / "done").read_text())
    else:
        chain.fund(regulator.address)
        chain.fund(bank.address)
        ledger = deploy(chain, regulator)
        ledger.manifest.save(manifest)
        ledger.consortium.admit_member(regulator, bank.address, "Bank", "Hefei", Role.ATTESTER)
        done = 0
    open_s = time.perf_counter() - t0
    loan = ledger.schemas["loan-repayment"]
    t1 = time.perf_counter()
    for i in range(done, upto):
        made = ledger.attestations.attest(bank, loan, b"\x01" * 32, (i + 1).to_bytes(32, "big"))
        if i == 0:
            (data_dir / "first_uid").write_text(made.uid.hex())
        if i == upto - 1:
            (data_dir / "last_uid").write_text(made.uid.hex())
    build_s = time.perf_counter() - t1
    rss = _rss_mb()
    server_rss = _server_rss_mb(chain)
    chain.close()
    (data_dir / "done").write_text(str(upto))
    return {
        "attestations": upto,
        "added": upto - done,
        "open_s": round(open_s, 2),
        "build_s": round(build_s, 1),
        "tx_per_s": round((upto - done) / build_s, 1) if build_s else None,
        "rss_mb": rss,
        "peak_rss_mb": _peak_rss_mb(),
        "server_rss_mb": server_rss,
    }


def reopen(data_dir: Path, engine: str, cache_mb: float | None) -> dict[str, Any]:
    """Open the chain in this fresh process; time it and what follows."""
    from ledger_client import Keyring, Manifest, attach
    from ledger_client.types import Validity

    rss_before = _rss_mb()
    t0 = time.perf_counter()
    chain = _connect(engine, data_dir / "chain", cache_mb)
    head = chain.backend.block()
    open_s = time.perf_counter() - t0
    reads_open = _sqlite_reads(chain)
    ledger = attach(chain, Manifest.load(data_dir / "manifest.json"))
    t1 = time.perf_counter()
    for name in ("first_uid", "last_uid"):
        uid = bytes.fromhex((data_dir / name).read_text())
        if ledger.attestations.validity(uid) is not Validity.VALID:
            raise RuntimeError(f"the {name} attestation is not valid after the restart")
    read_s = time.perf_counter() - t1
    bank = Keyring(SEED).account("bank")
    loan = ledger.schemas["loan-repayment"]
    t2 = time.perf_counter()
    more = ledger.attestations.attest(bank, loan, b"\x02" * 32, b"\x02" * 32)
    attest_s = time.perf_counter() - t2
    if more.tx.block_number != head.number + 1:
        raise RuntimeError("the reopened chain did not go on from its head")
    reads_all = _sqlite_reads(chain)
    server_rss = _server_rss_mb(chain)
    # The extra attestation stays: the builder counts its own from the ``done`` file.
    chain.close()
    return {
        "blocks": head.number,
        "restart_s": round(open_s, 3),
        "first_reads_s": round(read_s, 3),
        "first_attest_s": round(attest_s, 3),
        "sqlite_reads_on_open": reads_open,
        "sqlite_reads_open_to_attest": reads_all,
        "rss_after_imports_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
        "server_rss_mb": server_rss,
        "store_mb": round((data_dir / "chain" / "chain.sqlite").stat().st_size / 2**20, 1),
    }


def cold(data_dir: Path) -> dict[str, Any]:
    """What one uncached slot and account cost revm through a state server, against memory.

    A fresh EVM pointed at the chain's state server reads slots and accounts the
    store holds, each once (so none is cached); the same reads from an EVM that holds
    them in memory are the baseline.
    """
    import sqlite3

    from pyrevm import EVM

    store = data_dir / "chain" / "chain.sqlite"
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        slots = db.execute(
            "SELECT address, slot FROM revm_storage LIMIT ?", (COLD_SLOTS,)
        ).fetchall()
        accounts = [
            a for (a,) in db.execute("SELECT address FROM revm_accounts LIMIT ?", (COLD_ACCOUNTS,))
        ]
    # The chain's own state server, opened on demand; the chain itself stays idle.
    chain = _connect("revm", data_dir / "chain", 64.0)
    server = chain.backend.state_server
    try:
        forked = EVM(fork_url=server.url, fork_block="latest", spec_id="CANCUN")
        t0 = time.perf_counter()
        for address, slot in slots:
            forked.storage("0x" + address.hex(), int.from_bytes(slot))
        slot_s = (time.perf_counter() - t0) / len(slots)
        fresh = EVM(fork_url=server.url, fork_block="latest", spec_id="CANCUN")
        t1 = time.perf_counter()
        for address in accounts:
            fresh.basic("0x" + address.hex())
        account_s = (time.perf_counter() - t1) / len(accounts)
        # Read again from the same EVMs: now every key is cached in revm's memory.
        t2 = time.perf_counter()
        for address, slot in slots:
            forked.storage("0x" + address.hex(), int.from_bytes(slot))
        cached_slot_s = (time.perf_counter() - t2) / len(slots)
    finally:
        chain.close()
    return {
        "slots_read": len(slots),
        "accounts_read": len(accounts),
        "uncached_slot_ms": round(slot_s * 1000, 3),
        "uncached_account_ms": round(account_s * 1000, 3),
        "cached_slot_ms": round(cached_slot_s * 1000, 4),
    }


def _child(tree: Path, *args: str, timeout: float) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(
    variants: dict[str, tuple[Path, str | None]],
    engine: str,
    checkpoints: list[int],
    timeout: float,
) -> dict[str, Any]:
    """Every checkpoint of every variant (a tree and a cache setting), each in its own
    data directory; on revm, the cold-read cost on the largest chain of the first."""
    results: dict[str, Any] = {}
    for name, (tree, cache) in variants.items():
        scratch = Path(tempfile.mkdtemp(prefix=f"state-store-{name}-"))
        rows = []
        options = ["--engine", engine, "--cache-mb", cache or "none"]
        try:
            for upto in checkpoints:
                built = _child(tree, "build", str(scratch), str(upto), *options, timeout=timeout)
                reopened = _child(tree, "reopen", str(scratch), *options, timeout=timeout)
                rows.append({"build": built, "restart": reopened})
                print(name, json.dumps(rows[-1]), file=sys.stderr, flush=True)
            if engine == "revm" and "cold_reads" not in results:
                results["cold_reads"] = _child(tree, "cold", str(scratch), timeout=timeout)
                print("cold", json.dumps(results["cold_reads"]), file=sys.stderr, flush=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        results[name] = rows
    return results


def _cache_mb(text: str) -> float | None:
    return None if text == "none" else float(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    b = sub.add_parser("build")
    b.add_argument("dir", type=Path)
    b.add_argument("upto", type=int)
    r = sub.add_parser("reopen")
    r.add_argument("dir", type=Path)
    c = sub.add_parser("cold")
    c.add_argument("dir", type=Path)
    for p in (parser, b, r):
        p.add_argument("--engine", choices=("pyevm", "revm"), default="pyevm")
    for p in (b, r):
        p.add_argument("--cache-mb", type=_cache_mb, default=None)
    parser.add_argument("--checkpoints", default="2000,10000,40000")
    parser.add_argument("--tree", action="append", default=[], help="name=path")
    parser.add_argument(
        "--cache",
        action="append",
        default=[],
        help="name=MiB (or name=none): one variant per cache setting, on this tree",
    )
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.mode == "build":
        print(json.dumps(build(args.dir, args.upto, args.engine, args.cache_mb)))
    elif args.mode == "reopen":
        print(json.dumps(reopen(args.dir, args.engine, args.cache_mb)))
    elif args.mode == "cold":
        print(json.dumps(cold(args.dir)))
    else:
        variants: dict[str, tuple[Path, str | None]] = {
            n: (Path(p).resolve(), None) for n, p in (t.split("=", 1) for t in args.tree)
        }
        for n, mb in (v.split("=", 1) for v in args.cache):
            variants[n] = (Path(".").resolve(), mb)
        if not variants:
            variants["this"] = (Path(".").resolve(), None)
        checkpoints = [int(c) for c in args.checkpoints.split(",")]
        report = {
            "engine": args.engine,
            "checkpoints": checkpoints,
            "variants": {n: {"tree": str(t), "cache_mb": m} for n, (t, m) in variants.items()},
            "results": run(variants, args.engine, checkpoints, args.timeout),
        }
        text = json.dumps(report, indent=2)
        if args.out:
            args.out.write_text(text + "\n")
        print(text)


if __name__ == "__main__":
    main()
