"""The revm chain's state server, seen from the chain: started, asked, stopped by pid.

The server (``_revm_state_server.py``) is a child process that reads the chain's
SQLite store; the chain's EVM reads every state key it has not cached from it,
through pyrevm's ``fork_url``. A child process rather than a thread because
pyrevm holds the GIL while it waits for the answer.
"""

from __future__ import annotations

import http.client
import json
import os
import selectors
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any, Final

from ledger_client.errors import LedgerConnectionError

_SERVER: Final = Path(__file__).with_name("_revm_state_server.py")
#: How long the server may take to start and say its port.
START_TIMEOUT_S: Final = 15.0
#: How long it may take to exit on SIGTERM before it is killed.
STOP_TIMEOUT_S: Final = 5.0


def _stop(process: subprocess.Popen[bytes]) -> None:
    # By pid, this process's own child only: SIGTERM, then SIGKILL if it lingers.
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)
    finally:
        if process.stdout is not None:
            process.stdout.close()


class StateServer:
    """A running state server for the store at ``path``, bound to 127.0.0.1 on a free port."""

    def __init__(self, path: Path) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(_SERVER), str(path), str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        # Stopped when the chain is closed, collected, or at exit, whichever is first;
        # the server itself exits when this process dies.
        self._finalizer = weakref.finalize(self, _stop, self._process)
        self.port = self._read_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._conn: http.client.HTTPConnection | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._process.pid

    def _read_port(self) -> int:
        assert self._process.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._process.stdout, selectors.EVENT_READ)
            ready = sel.select(START_TIMEOUT_S)
        line = self._process.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self._finalizer()
            raise LedgerConnectionError(
                f"the revm state server did not start within {START_TIMEOUT_S} s "
                f"(exit code {self._process.poll()})"
            )
        return int(line)

    def _call(self, method: str) -> Any:
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []})
        try:
            self._conn.request("POST", "/", body, {"Content-Type": "application/json"})
            reply = json.loads(self._conn.getresponse().read())
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            self._conn = None
            raise LedgerConnectionError(f"the revm state server did not answer: {exc}") from exc
        if "error" in reply:
            raise LedgerConnectionError(f"the revm state server refused {method}: {reply['error']}")
        return reply["result"]

    def fetched(self) -> tuple[int, int, int]:
        """Distinct accounts and slots served since the last reset, and their code's bytes."""
        accounts, slots, code_bytes = self._call("credit_fetched")
        return int(accounts), int(slots), int(code_bytes)

    def reset(self) -> None:
        """Start counting again: the chain's EVM was recreated, its cache empty."""
        self._call("credit_reset")

    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process.poll() is None

    def stop(self) -> None:
        """Stop the server (by its pid) and wait for it."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._finalizer()
