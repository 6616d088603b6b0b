"""Rows written a statement a chunk: the same table as a statement a row would leave."""

from __future__ import annotations

import sqlite3

import pytest

from ledger_client import sqlite_rows
from ledger_client.sqlite_rows import delete_keys, insert_rows


@pytest.mark.parametrize("limit", [3, 7, 32_000])
def test_chunks_leave_what_a_statement_a_row_leaves(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_rows, "PARAMETERS_MAX", limit)
    # Later rows of a key replace earlier ones, across chunks too; blobs and NULLs kept.
    rows = [(bytes([i % 5]), i, None if i % 3 else f"v{i}") for i in range(23)]
    tables = []
    for write in ("each", "chunked"):
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t (k BLOB PRIMARY KEY, n INTEGER, s TEXT)")
        if write == "each":
            conn.executemany("INSERT OR REPLACE INTO t VALUES (?, ?, ?)", rows)
            conn.executemany("DELETE FROM t WHERE k = ?", [(b"\x01",), (b"\x03",)])
        else:
            insert_rows(conn, "INSERT OR REPLACE INTO t", rows)
            delete_keys(conn, "t", "k", [b"\x01", b"\x03"])
        tables.append(conn.execute("SELECT * FROM t ORDER BY k").fetchall())
        conn.close()
    assert tables[0] == tables[1]
    assert [r[0] for r in tables[1]] == [b"\x00", b"\x02", b"\x04"]


def test_nothing_to_write_runs_nothing() -> None:
    conn = sqlite3.connect(":memory:")
    insert_rows(conn, "INSERT INTO missing_table", [])
    delete_keys(conn, "missing_table", "k", [])
    conn.close()
