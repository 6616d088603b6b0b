"""What a benchmark ran on: cores, load, Python, platform and the pinned libraries' versions.

Every kept run carries it (``bench all``, ``bench api --mix --curve``), so a figure is read
with the machine and the load it was measured under.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any


def machine_info() -> dict[str, Any]:
    """What the figures were measured on: cores, load, Python, platform, library versions."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from ledger_client.chain.artifacts import load_artifacts

    versions: dict[str, str] = {}
    for dist in (
        "web3",
        "eth-tester",
        "py-evm",
        "pyrevm",
        "eth-account",
        "coincurve",
        "safe-pysha3",
    ):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:  # pragma: no cover - every one is a pinned dependency
            versions[dist] = "not installed"
    versions["solc"] = load_artifacts().compiler
    from .bench_reference import anvil_version, eas_version

    versions["anvil"] = anvil_version()
    versions["eas-contracts"] = eas_version()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    versions["node"] = node.stdout.strip()
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_count": os.cpu_count(),
        "cpu_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": model,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }
