"""The simulator at scale, measured: ``credit-chain bench scale``.

Each size runs :func:`node_sim.scale.run_scale` in a child process of its own (so each
peak RSS is that size's alone), on the revm engine, with its data directory on disk
(the chain, the kept rows, the batch index), bounded by a timeout. Per size: wall
time, peak RSS, disk used, transactions, records, batches, and the seconds of each
stage. Time, memory and disk are then fitted as power laws of the enterprise count
(least squares in log-log) and extrapolated to 1M and 10M enterprises over the same
days; each stage is fitted too, and the stage that dominates the extrapolation is
named as what bounds the run. The engine check runs one small world on py-evm and revm
and compares every batch and the gas.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The sizes the issue names: enterprises, each over ``days``.
DEFAULT_SIZES = (10_000, 30_000, 100_000, 300_000)
EXTRAPOLATE_TO = (1_000_000, 10_000_000)
#: The issue's targets: enterprises -> (seconds, bytes), over 365 days.
TARGETS = {100_000: (600.0, 4 * 2**30), 1_000_000: (3_600.0, 16 * 2**30)}
STAGES = ("world", "encode_hash", "tree", "storage", "chain_anchor", "flows_and_chain")


def _disk_bytes(path: Path) -> int:
    """Bytes allocated under ``path`` (blocks, as du counts them)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


def measure_one(
    enterprises: int, days: int, *, seed: int, flow_sample: int, engine: str, out: Path
) -> dict[str, Any]:
    """One scale run in this process, and what it cost (call it in a fresh process)."""
    from node_sim.scale import ScaleConfig, run_scale

    out.mkdir(parents=True, exist_ok=True)
    config = ScaleConfig(
        enterprises=enterprises,
        days=days,
        seed=seed,
        out=out,
        engine=engine,
        flow_sample=flow_sample,
    )
    t0 = time.perf_counter()
    result = run_scale(config)
    seconds = time.perf_counter() - t0
    if result.ledger is not None:
        result.ledger.chain.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    s = result.summary
    scale = s["scale"]
    stages = dict(scale["stage_seconds"])
    stages["flows_and_chain"] = result.timing["flows_and_chain_s"]
    return {
        "enterprises": enterprises,
        "days": days,
        "seconds": round(seconds, 1),
        "peak_rss_bytes": peak,
        "disk_bytes": _disk_bytes(out),
        "disk_chain_bytes": _disk_bytes(out / "chain"),
        "disk_records_bytes": (out / "records.bin").stat().st_size,
        "transactions": s["transactions"],
        "blocks": s["blocks"],
        "gas": s["gas"],
        "records": scale["records_anchored"],
        "records_total_incl_flows": s["records"]["total"],
        "world_records": scale["world_records"],
        "batches": scale["batches"],
        "largest_batch": scale["largest_batch"],
        "records_per_s": round(scale["records_anchored"] / seconds, 1),
        "stage_seconds": stages,
        "queries": s["consent"]["queries"],
        "receivables": s["receivables"]["issued"],
        "attacks_attempted": sum(t["attempted"] for t in s["attacks"].values()),
        "attacks_succeeded": sum(t["succeeded"] for t in s["attacks"].values()),
        "flows": scale["flows"],
    }


def fit_power_law(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """(a, b) of y = a·x^b by least squares on logs; None without two positive points."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2 or len({p[0] for p in pts}) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    b = sum((p[0] - mx) * (p[1] - my) for p in pts) / sum((p[0] - mx) ** 2 for p in pts)
    return math.exp(my - b * mx), b


def fit_affine(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """(c, k) of y = c + k·x by least squares; None without two distinct x."""
    if len(xs) < 2 or len(set(xs)) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    k = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my - k * mx, k


def _at(fit: tuple[float, float] | None, x: float) -> float | None:
    return None if fit is None else fit[0] * x ** fit[1]


def _at_affine(fit: tuple[float, float] | None, x: float) -> float | None:
    return None if fit is None else fit[0] + fit[1] * x


def bench_scale(
    sizes: Sequence[int] = DEFAULT_SIZES,
    days: int = 365,
    *,
    seed: int = 7,
    flow_sample: int = 200,
    engine: str = "revm",
    timeout_s: float = 3_600.0,
    engine_check: bool = True,
) -> dict[str, Any]:
    """Every size in its own process, the fits and the extrapolations (module docstring).

    A size that fails or passes ``timeout_s`` is reported as such, and the sizes after it
    are not run (each is larger).
    """
    runs: list[dict[str, Any]] = []
    stopped: dict[str, Any] | None = None
    # Sampled between sizes: on a shared machine the load says how far the times stretch.
    load: list[list[float]] = [[round(x, 2) for x in os.getloadavg()]]
    for size in sorted(sizes):
        out = Path(tempfile.mkdtemp(prefix=f"credit-chain-bench-scale-{size}-"))
        args = [size, days, seed, flow_sample, engine, str(out)]
        try:
            done = subprocess.run(
                [sys.executable, "-m", "scripts.bench_scale", json.dumps(args)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            stopped = {"enterprises": size, "why": f"passed the {timeout_s:.0f} s bound"}
            break
        finally:
            shutil.rmtree(out, ignore_errors=True)
        if done.returncode != 0:
            stopped = {"enterprises": size, "why": done.stderr.strip()[-2_000:]}
            break
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        load.append([round(x, 2) for x in os.getloadavg()])
    doc: dict[str, Any] = {
        "load_average_between_sizes": load,
        "engine": engine,
        "days": days,
        "seed": seed,
        "flow_sample": flow_sample,
        "runs": runs,
    }
    if stopped is not None:
        doc["stopped"] = stopped
    doc.update(_fits(runs, days))
    if engine_check:
        doc["engine_check"] = engine_check_run(seed)
    return doc


def _fits(runs: Sequence[dict[str, Any]], days: int) -> dict[str, Any]:
    xs = [float(r["enterprises"]) for r in runs]
    fits = {
        "seconds": fit_power_law(xs, [float(r["seconds"]) for r in runs]),
        "peak_rss_bytes": fit_power_law(xs, [float(r["peak_rss_bytes"]) for r in runs]),
        "disk_bytes": fit_power_law(xs, [float(r["disk_bytes"]) for r in runs]),
        "records": fit_power_law(xs, [float(r["records"]) for r in runs]),
    }
    stage_fits = {
        st: fit_power_law(xs, [float(r["stage_seconds"][st]) for r in runs]) for st in STAGES
    }
    # A fixed part (set-up, the flows' sample, the engine's start) and a part growing with
    # the world make one power law bend at small sizes: an affine fit (c + k·N) is given
    # beside it, and each target is judged on the larger (the more cautious) of the two.
    affine = {
        key: fit_affine(xs, [float(r[key]) for r in runs])
        for key in ("seconds", "peak_rss_bytes", "disk_bytes")
    }
    extrapolated: dict[str, Any] = {}
    for n in EXTRAPOLATE_TO:
        stages = {st: _at(f, n) for st, f in stage_fits.items()}
        known = {st: v for st, v in stages.items() if v is not None}
        bound = max(known, key=lambda st: known[st]) if known else None
        row: dict[str, Any] = {
            key: (round(v) if (v := _at(f, n)) is not None else None) for key, f in fits.items()
        }
        for key, f in affine.items():
            v = _at_affine(f, n)
            row[f"{key}_affine"] = round(v) if v is not None else None
        row["seconds_sum_of_stages"] = round(sum(known.values())) if known else None
        row["stage_seconds"] = {st: round(v, 1) for st, v in known.items()}
        row["bound_by"] = bound
        extrapolated[f"{n:,} x {days} days"] = row
    largest = runs[-1] if runs else None
    measured_bound = (
        max(STAGES, key=lambda st: float(largest["stage_seconds"][st])) if largest else None
    )
    targets = []
    for n, (limit_s, limit_b) in TARGETS.items():
        measured = next((r for r in runs if r["enterprises"] == n and days == 365), None)
        secs = measured["seconds"] if measured else _cautious(fits, affine, "seconds", n)
        rss = (
            measured["peak_rss_bytes"] if measured else _cautious(fits, affine, "peak_rss_bytes", n)
        )
        targets.append(
            {
                "enterprises": n,
                "days": 365,
                "how": "measured"
                if measured
                else "n/a"
                if days != 365 or secs is None
                else "extrapolated",
                "seconds": round(secs) if secs is not None else None,
                "seconds_target": limit_s,
                "seconds_met": secs is not None and days == 365 and secs <= limit_s,
                "peak_rss_bytes": round(rss) if rss is not None else None,
                "peak_rss_target": limit_b,
                "memory_met": rss is not None and days == 365 and rss <= limit_b,
            }
        )
    return {
        "affine_fits": {k: ({"c": f[0], "k": f[1]} if f else None) for k, f in affine.items()},
        "fits": {
            key: ({"a": f[0], "exponent": round(f[1], 3)} if f else None)
            for key, f in {**fits, **{f"stage:{k}": v for k, v in stage_fits.items()}}.items()
        },
        "measured_bound_by": measured_bound,
        "extrapolated": extrapolated,
        "targets": targets,
    }


def _cautious(
    fits: dict[str, tuple[float, float] | None],
    affine: dict[str, tuple[float, float] | None],
    key: str,
    n: int,
) -> float | None:
    found = [v for v in (_at(fits[key], n), _at_affine(affine[key], n)) if v is not None]
    return max(found) if found else None


def engine_check_run(seed: int, enterprises: int = 300, days: int = 20) -> dict[str, Any]:
    """The same small world on py-evm and revm: every batch and all the gas must agree."""
    from node_sim.scale import ScaleConfig, ScaleStore, run_scale

    got: dict[str, Any] = {}
    for engine in ("pyevm", "revm"):
        out = Path(tempfile.mkdtemp(prefix=f"credit-chain-bench-scale-{engine}-"))
        try:
            config = ScaleConfig(
                enterprises=enterprises, days=days, seed=seed, out=out, engine=engine, flows=False
            )
            result = run_scale(config)
            if result.ledger is not None:
                result.ledger.chain.close()
            batches = [(b.batch_id.hex(), b.count) for b in ScaleStore(out).batches]
            got[engine] = (result.summary["gas"], result.summary["transactions"], batches)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return {
        "enterprises": enterprises,
        "days": days,
        "pyevm_gas": got["pyevm"][0],
        "revm_gas": got["revm"][0],
        "transactions": got["revm"][1],
        "batches": len(got["revm"][2]),
        "same": got["pyevm"] == got["revm"],
    }


if __name__ == "__main__":
    size, n_days, run_seed, sample, eng, where = json.loads(sys.argv[1])
    doc = measure_one(size, n_days, seed=run_seed, flow_sample=sample, engine=eng, out=Path(where))
    print(json.dumps(doc))
