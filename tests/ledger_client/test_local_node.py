"""Local anvil nodes for tests and benchmarks: started on loopback, refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_client import LedgerConnectionError, connect
from ledger_client.chain import local_node
from ledger_client.chain.local_node import AnvilNotStarted, free_port, running_anvil


def test_a_missing_binary_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(local_node, "ANVIL", tmp_path / "anvil")
    with pytest.raises(AnvilNotStarted, match="run `make setup`"), running_anvil():
        pass


def test_a_node_that_never_answers_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "anvil"
    fake.write_text("#!/bin/sh\necho 'no such chain' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(local_node, "ANVIL", fake)
    with pytest.raises(AnvilNotStarted, match="no such chain"), running_anvil(timeout_s=5):
        pass


@pytest.mark.anvil
def test_a_node_runs_on_loopback_and_stops() -> None:
    with running_anvil() as url:
        assert url.startswith("http://127.0.0.1:")
        chain = connect(url)
        assert chain.backend.block_number() >= 0
        chain.close()
    with pytest.raises(LedgerConnectionError):  # the node is gone: its port no longer answers
        connect(url)


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
