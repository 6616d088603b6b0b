"""A real ``credit-chain serve`` process for a run through the API, and a small client of it.

The server is started as its own process on a free loopback port, with the
run's data directory (manifest, keys, and its own ``api.sqlite``) and the
chain it should use (``--rpc``): a node, or the simulator's embedded chain
through :class:`~harness.rpc_bridge.EmbeddedRpcBridge`. API keys are issued
with ``credit-chain keys issue``, as an operator would. Only the standard
library speaks HTTP here: the simulator needs no HTTP client package.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger_client import LedgerConnectionError
from ledger_client.chain.local_node import free_port

__all__ = ["ApiClient", "ApiResponse", "ApiServer", "free_port", "start_server", "stop_server"]

#: How long a server may take to answer /ready after it was started, seconds.
READY_TIMEOUT_S = 60.0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "scripts.cli", *args]


@dataclass(frozen=True)
class ApiResponse:
    """One HTTP answer: its status, JSON body and headers (names in lower case)."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        """The stable error body's name (``{"error": "<Name>", ...}``), if any."""
        if isinstance(self.body, dict) and self.status >= 400:
            return str(self.body.get("error"))
        return None


class ApiClient:
    """JSON over one keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """Send a request; one reconnect when the kept-alive connection was closed."""
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, self.timeout)
            try:
                self._conn.request(method, path, body=payload, headers=hdrs)
                response = self._conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 1:
                    raise LedgerConnectionError(f"{method} {path}: {exc}") from exc
                continue
            return ApiResponse(
                response.status,
                json.loads(raw) if raw else None,
                {k.lower(): v for k, v in response.getheaders()},
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Drop the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class ApiServer:
    """``credit-chain serve`` in a child process; started, stopped, restarted by its pid."""

    def __init__(self, data_dir: Path, rpc: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.rpc = rpc
        self.env = env or {}
        self.port = 0
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = data_dir / "api-server.log"

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def issue_key(self, member: str, label: str) -> str:
        """An API key for ``member``, issued into the data directory's key store."""
        out = subprocess.run(
            _cli(
                "keys",
                "issue",
                member,
                "--data-dir",
                str(self.data_dir),
                "--label",
                label,
                "--json",
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )
        return str(json.loads(out.stdout)["key"])

    def issue_keys(self, parties: dict[str, str]) -> dict[str, str]:
        """API keys for many parties (label -> account) in one ``keys issue-many``."""
        lines = "".join(f"{account} {label}\n" for label, account in parties.items())
        out = subprocess.run(
            _cli("keys", "issue-many", "--data-dir", str(self.data_dir), "--json"),
            input=lines.encode(),
            check=True,
            capture_output=True,
            timeout=120,
        )
        issued = json.loads(out.stdout)
        return {doc["label"]: str(doc["key"]) for doc in issued}

    def revoke_key(self, key: str) -> None:
        """Revoke ``key`` as the operator does (``credit-chain keys revoke``)."""
        subprocess.run(
            _cli("keys", "revoke", key, "--data-dir", str(self.data_dir)),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> ApiClient:
        """Start the server on a free port and wait until it is ready."""
        self._proc, self.port = start_server(
            self.data_dir, rpc=self.rpc, env=self.env, log=self._log
        )
        self.starts += 1
        return ApiClient(self.port)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """Send ``sig`` to the server and wait for it to exit; return its exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        return stop_server(proc, sig)


def start_server(
    data_dir: Path,
    *,
    port: int | None = None,
    rpc: str | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
    manifest: Path | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    """``credit-chain serve`` on ``data_dir`` in a child process on 127.0.0.1.

    Returns the process and its port once ``/ready`` answers 200. The server's
    stderr goes to ``log`` (a file, not a pipe nobody reads: a chatty server never
    blocks); a server that exits or is not ready in time is named with the log's end.
    ``manifest`` is the deployment a fresh data directory attaches to (``serve --manifest``).
    """
    port = port or free_port()
    log = log or data_dir / "api-server.log"
    args = ["serve", "--data-dir", str(data_dir), "--port", str(port)]
    if rpc is not None:
        args += ["--rpc", rpc]
    if manifest is not None:
        args += ["--manifest", str(manifest)]
    with log.open("ab") as err:
        proc = subprocess.Popen(
            _cli(*args),
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    client = ApiClient(port, timeout=5)
    try:
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LedgerConnectionError(
                    f"the API server exited with {proc.returncode}; {log}:\n{_tail(log)}"
                )
            try:
                if client.request("GET", "/ready").status == 200:
                    return proc, port
            except LedgerConnectionError:
                pass
            time.sleep(0.05)
    finally:
        client.close()
    proc.kill()
    proc.wait(timeout=10)
    raise LedgerConnectionError(
        f"the API server was not ready in {ready_timeout_s:.0f} s; {log}:\n{_tail(log)}"
    )


def stop_server(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> int:
    """Send ``sig`` to a server :func:`start_server` started, by its pid, and wait for it to
    exit (killed after 30 s); return its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def _tail(log: Path, limit: int = 4000) -> str:
    return log.read_text(errors="replace")[-limit:]
