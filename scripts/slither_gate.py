"""The static-analysis gate: slither over contracts/, refusing any high or medium finding.

Slither lives in its own virtual environment, ``.venv-tools`` (``make tools``), because it
needs web3 7 and the project pins web3 8. It compiles through the project's solc-js wrapper
(scripts/solc) with the same OpenZeppelin remapping as ``credit-chain compile``; findings in
node_modules (OpenZeppelin's own code) are left out. A finding that is a false positive is
suppressed at its line with ``// slither-disable-next-line DETECTOR`` and a comment saying why.

Run it as ``make slither`` or ``python -m scripts.slither_gate [TARGET]``: exit status 0 when
there is no high or medium finding, 1 when there is (each one printed), 2 when slither is
missing or cannot analyse the target.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_VENV = REPO_ROOT / ".venv-tools"
SLITHER = TOOLS_VENV / "bin" / "slither"
SOLC_WRAPPER = REPO_ROOT / "scripts" / "solc"
REMAPPING = "@openzeppelin/=node_modules/@openzeppelin/"
DEPENDENCIES = "node_modules"
BLOCKING_IMPACTS = frozenset({"High", "Medium"})
TIMEOUT_SECONDS = 300


class SlitherError(RuntimeError):
    """Slither is missing, or could not compile or analyse the target."""


@dataclass(frozen=True)
class Finding:
    """One detector result."""

    check: str  # the detector's name, e.g. "unused-return"
    impact: str  # High, Medium, Low, Informational or Optimization
    confidence: str
    description: str
    files: tuple[str, ...]  # every file the result points into, relative to the repository

    @property
    def blocking(self) -> bool:
        """A high or medium finding in the project's own code."""
        return self.impact in BLOCKING_IMPACTS and not self.in_dependencies

    @property
    def in_dependencies(self) -> bool:
        return bool(self.files) and all(f.startswith(DEPENDENCIES + "/") for f in self.files)

    def render(self) -> str:
        return f"[{self.impact}/{self.confidence}] {self.check}: {self.description.strip()}"


def slither_command(target: str) -> list[str]:
    """The slither command line for ``target`` (a directory, relative to the repository)."""
    return [
        str(SLITHER),
        target,
        "--solc-standard-json",
        "--solc",
        str(SOLC_WRAPPER),
        "--solc-remaps",
        REMAPPING,
        "--filter-paths",
        DEPENDENCIES,
        "--json",
        "-",
    ]


def parse_findings(report: dict[str, Any]) -> list[Finding]:
    """The findings of slither's ``--json`` report; raises SlitherError on a failed run."""
    if not report.get("success"):
        raise SlitherError(f"slither failed: {report.get('error')}")
    out = []
    for result in (report.get("results") or {}).get("detectors", []):
        files = tuple(
            sorted(
                {
                    str(e["source_mapping"]["filename_relative"])
                    for e in result.get("elements", [])
                    if e.get("source_mapping", {}).get("filename_relative")
                }
            )
        )
        out.append(
            Finding(
                check=str(result["check"]),
                impact=str(result["impact"]),
                confidence=str(result["confidence"]),
                description=str(result["description"]),
                files=files,
            )
        )
    return out


def run_slither(target: str = "contracts") -> list[Finding]:
    """Every finding slither reports on ``target``, dependencies already left out."""
    if not SLITHER.is_file():
        raise SlitherError(f"{SLITHER.relative_to(REPO_ROOT)} is missing: run `make tools`")
    proc = subprocess.run(
        slither_command(target),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    # Slither exits non-zero whenever it finds anything, so the report decides, not the status.
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise SlitherError(
            f"slither printed no report (exit status {proc.returncode}):\n{tail}"
        ) from None
    return [f for f in parse_findings(report) if not f.in_dependencies]


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The high and medium findings outside dependencies: each one fails the gate."""
    return [f for f in findings if f.blocking]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    target = args[0] if args else "contracts"
    try:
        findings = run_slither(target)
    except SlitherError as exc:
        print(f"slither gate: {exc}", file=sys.stderr)
        return 2
    bad = blocking(findings)
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.impact] = counts.get(f.impact, 0) + 1
    summary = ", ".join(f"{n} {impact.lower()}" for impact, n in sorted(counts.items())) or "none"
    for f in bad:
        print(f.render())
    verdict = "FAILED" if bad else "passed"
    print(f"slither gate {verdict} on {target}: {len(bad)} high/medium finding(s); all: {summary}")
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
