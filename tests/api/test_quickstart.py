"""The README's bank quick start, run as written: it cannot rot.

The blocks fenced ``sh quickstart`` and ``python quickstart`` are taken from the
README in order. The one shell block is the ``serve`` command: the test starts it
as a child process (on a free port of 127.0.0.1, in a fresh working directory) and
stops it by its pid. The Python blocks then run in that directory, in one
namespace, with only the port changed.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ledger_client.chain.local_node import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^```(sh|python) quickstart\n(.*?)^```$", re.MULTILINE | re.DOTALL)
READY_TIMEOUT_S = 60.0


def quickstart_blocks() -> list[tuple[str, str]]:
    """The quick start's blocks, ``(language, code)``, in README order."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Bank quick start") :]
    section = section[: section.index("\n## ", 1)]
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(section)]


def test_the_quick_start_has_a_serve_command_then_python() -> None:
    blocks = quickstart_blocks()
    assert [lang for lang, _ in blocks][:1] == ["sh"]
    assert shlex.split(blocks[0][1])[:2] == ["credit-chain", "serve"]
    assert len(blocks) >= 3
    assert all(lang == "python" for lang, _ in blocks[1:])


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"serve was not ready in {READY_TIMEOUT_S:.0f} s:\n{log.read_text()}")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_readme_bank_quick_start_runs_against_a_fresh_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (serve, *python) = quickstart_blocks()
    port = free_port()
    args = shlex.split(serve[1])
    args[args.index("--port") + 1] = str(port)
    # ``credit-chain`` is this interpreter's console script; the README's commands find it
    # on PATH, as in a shell with the virtual environment active.
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.cli", *args[1:]],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(README.parent)},
            stdout=err,
            stderr=err,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(proc, url, log)
        namespace: dict[str, object] = {"__name__": "quickstart"}
        for _, code in python:
            exec(
                compile(code.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), "README", "exec"),
                namespace,
            )
        verdict = namespace["verdict"]
        assert isinstance(verdict, dict)
        assert verdict["ok"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
