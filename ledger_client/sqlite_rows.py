"""Many rows written by one SQLite statement each time, not one statement a row.

``executemany`` steps its statement once a row, and Python's sqlite3 hands the GIL away
around every step: in a server whose event loop is busy, the thread writing then waits
for the GIL back once a row, while it holds the database's write lock (measured on the
embedded chain's block store under the API's mix: 21 ms to write one block of about 25
transactions). One ``INSERT ... VALUES (...), (...), ...`` of bound parameters is one
step: the GIL is handed away once a chunk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

#: Bound parameters one statement takes at most (SQLite's own limit is 32,766).
PARAMETERS_MAX = 32_000


def insert_rows(conn: sqlite3.Connection, into: str, rows: Sequence[Sequence[object]]) -> None:
    """Run ``{into} VALUES (?, ...), (?, ...), ...`` for ``rows`` (all of one width), as
    few statements as the parameter limit allows. ``into`` is the statement's head, e.g.
    ``INSERT OR REPLACE INTO kv (k, v)``."""
    if not rows:
        return
    width = len(rows[0])
    per = max(1, PARAMETERS_MAX // width)
    one = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        params = [value for row in chunk for value in row]
        conn.execute(f"{into} VALUES {', '.join([one] * len(chunk))}", params)


def delete_keys(conn: sqlite3.Connection, table: str, column: str, keys: Sequence[object]) -> None:
    """``DELETE FROM {table} WHERE {column} IN (...)`` for ``keys``, in as few statements."""
    for start in range(0, len(keys), PARAMETERS_MAX):
        chunk = keys[start : start + PARAMETERS_MAX]
        marks = ", ".join("?" * len(chunk))
        conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", list(chunk))
