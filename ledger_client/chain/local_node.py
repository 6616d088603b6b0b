"""Local processes on loopback: a free port, and a real anvil node for tests and benchmarks.

The npm package ``@foundry-rs/anvil-linux-amd64`` (installed by ``make setup``) ships
the binary. A node started here listens on 127.0.0.1 only and is stopped by its pid.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger_client.chain.connection import connect
from ledger_client.errors import LedgerConnectionError, LedgerError

__all__ = ["ANVIL", "AnvilNotStarted", "free_port", "running_anvil"]

ANVIL = (
    Path(__file__).resolve().parent.parent.parent
    / "node_modules"
    / "@foundry-rs"
    / "anvil-linux-amd64"
    / "bin"
    / "anvil"
)
#: How long anvil may take to answer its first call, seconds.
ANVIL_START_TIMEOUT_S = 20.0


class AnvilNotStarted(LedgerError, RuntimeError):
    """The anvil binary is missing, or the node did not answer in time."""


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_anvil(timeout_s: float = ANVIL_START_TIMEOUT_S) -> Iterator[str]:
    """A fresh anvil on a free loopback port, yielding its URL; stopped afterwards."""
    if not ANVIL.exists():
        raise AnvilNotStarted(f"anvil is missing at {ANVIL}: run `make setup` (npm ci)")
    port = free_port()
    proc = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                connect(url).close()
                break
            except LedgerConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise AnvilNotStarted(f"anvil did not start on port {port}: {err}") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
