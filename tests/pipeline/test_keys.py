"""API key lookups remembered, and every change by any store seen on the next lookup.

Two stores on one data directory stand for two processes (the server's and the command
line's): they share nothing but the files, as processes do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import keys as keys_module
from pipeline.db import ApiDatabase
from pipeline.keys import KeyGeneration, KeyStore

BANK = "0x" + "1a" * 20


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[KeyStore, KeyStore]]:
    server = KeyStore(ApiDatabase(tmp_path / "api.sqlite"))
    command_line = KeyStore(ApiDatabase(tmp_path / "api.sqlite"))
    yield server, command_line
    server.close()
    command_line.close()


def test_a_remembered_key_revoked_by_another_store_is_refused_on_the_next_lookup(
    stores: tuple[KeyStore, KeyStore],
) -> None:
    server, command_line = stores
    key = command_line.issue(BANK)
    for _ in range(3):  # remembered after the first
        found = server.lookup(key)
        assert found is not None
        assert found.revoked_at is None
    assert command_line.revoke(key)
    found = server.lookup(key)
    assert found is not None
    assert found.revoked_at is not None


def test_a_key_looked_up_while_unknown_is_found_once_issued_elsewhere(
    stores: tuple[KeyStore, KeyStore],
) -> None:
    server, command_line = stores
    assert server.lookup("ccak_not-yet") is None
    key = command_line.issue(BANK)
    assert server.lookup(key) is not None


def test_a_row_edited_by_hand_is_seen_once_the_remembered_lookup_lapses(
    stores: tuple[KeyStore, KeyStore], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys_module, "REMEMBER_S", 0.2)
    server, command_line = stores
    key = command_line.issue(BANK)
    assert server.lookup(key) is not None
    db = ApiDatabase(tmp_path / "api.sqlite")
    with db.transaction() as conn:  # not through a store: the generation does not move
        conn.execute("UPDATE api_keys SET revoked_at = 1")
    db.close()
    time.sleep(0.3)
    found = server.lookup(key)
    assert found is not None
    assert found.revoked_at == 1


def test_changes_at_once_from_many_stores_each_move_the_generation(tmp_path: Path) -> None:
    path = tmp_path / "generation"
    counters = [KeyGeneration(path) for _ in range(4)]
    start = counters[0].read()

    def bump(counter: KeyGeneration) -> None:
        for _ in range(250):
            counter.bump()

    threads = [threading.Thread(target=bump, args=(c,)) for c in counters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert all(c.read() == start + 1000 for c in counters)
    for c in counters:
        c.close()
