"""Storage of batch Merkle trees: every level in fixed-size chunks, every record by hash.

A batch's levels are stored as chunks of :data:`CHUNK_NODES` concatenated
32-byte nodes, so an inclusion proof reads one small row per level (about 17
for 100,000 records) instead of whole levels: its cost grows with the tree's
depth, not its size. Records are indexed by subject and record hash; a
record's leaf is read from the leaf level rather than stored twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ledger_client.attestations.merkle import NODE_BYTES, MerkleIndexError, MerkleTree, leaf_hash
from ledger_client.index.base import BatchTreeMismatch, BatchTreeNotStored

#: Nodes per stored chunk: 2 KiB rows, two to a default 4 KiB page.
CHUNK_NODES = 64
_CHUNK_BYTES = CHUNK_NODES * NODE_BYTES

TABLES_SQL = (
    """CREATE TABLE IF NOT EXISTS batch_trees (
        tree_key INTEGER PRIMARY KEY,
        batch_id BLOB NOT NULL UNIQUE,
        root BLOB NOT NULL,
        size INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS batch_nodes (
        tree_key INTEGER NOT NULL,
        level INTEGER NOT NULL,
        chunk INTEGER NOT NULL,
        nodes BLOB NOT NULL,
        PRIMARY KEY (tree_key, level, chunk)
    )""",
    """CREATE TABLE IF NOT EXISTS batch_records (
        tree_key INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        subject BLOB NOT NULL,
        data_hash BLOB NOT NULL,
        PRIMARY KEY (tree_key, idx)
    ) WITHOUT ROWID""",
    # Indexed by an 8-byte prefix: a third smaller and faster to fill than the whole
    # hashes, and as selective. A query names the same expression (see :func:`prefix`).
    "CREATE INDEX IF NOT EXISTS batch_records_subject ON batch_records (substr(subject, 1, 8))",
    "CREATE INDEX IF NOT EXISTS batch_records_data_hash ON batch_records (substr(data_hash, 1, 8))",
)


def prefix_match(column: str) -> str:
    """A condition on ``column`` that the prefix index serves; bind (prefix, value) to it."""
    return f"substr({column}, 1, 8) = ? AND {column} = ?"


def prefix(value: bytes) -> bytes:
    """The 8-byte key of a hash in the prefix indexes."""
    return value[:8]


def level_sizes(leaves: int) -> list[int]:
    """The node count of every level of a tree over ``leaves`` leaves, leaves first."""
    sizes = [leaves]
    while sizes[-1] > 1:
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def store(
    db: sqlite3.Connection,
    batch_id: bytes,
    tree: MerkleTree,
    records: Sequence[tuple[bytes, bytes]],
    *,
    check: bool,
    anchored: tuple[bytes, int] | None,
) -> bool:
    """Store ``tree`` and ``records`` under ``batch_id``; False when already stored alike.

    ``anchored`` is the (root, count) of the batch on chain when the index has
    seen it. Raises :class:`BatchTreeMismatch` when the records, the anchored
    batch or an earlier stored tree disagree with ``tree``.
    """
    root, size = bytes(tree.root), len(tree)
    if len(records) != size:
        raise BatchTreeMismatch(batch_id, f"{len(records)} records for a tree of {size} leaves")
    if anchored is not None and anchored != (root, size):
        raise BatchTreeMismatch(
            batch_id,
            f"the tree (root 0x{root.hex()}, {size} leaves) is not the batch anchored on chain "
            f"(root 0x{anchored[0].hex()}, {anchored[1]} records)",
        )
    row = db.execute(
        "SELECT root, size FROM batch_trees WHERE batch_id = ?", (batch_id,)
    ).fetchone()
    if row is not None:
        if (row[0], row[1]) == (root, size):
            return False
        raise BatchTreeMismatch(batch_id, f"another tree (root 0x{row[0].hex()}) is stored")
    leaves = tree.leaves
    for i, (subject, data_hash) in enumerate(records):
        if len(subject) != NODE_BYTES or len(data_hash) != NODE_BYTES:
            raise BatchTreeMismatch(batch_id, f"record {i} needs a 32-byte subject and hash")
        # The leaf of a batch record is batches.batch_leaf: the double hash of subject ‖ hash.
        if check and leaf_hash(subject + data_hash) != leaves[i]:
            raise BatchTreeMismatch(batch_id, f"record {i} does not hash to leaf {i} of the tree")
    cur = db.execute(
        "INSERT INTO batch_trees (batch_id, root, size) VALUES (?, ?, ?)", (batch_id, root, size)
    )
    key = cur.lastrowid
    chunks: list[tuple[int | None, int, int, bytes]] = []
    for level_no, level in enumerate(tree.levels):
        blob = b"".join(level)
        chunks.extend(
            (key, level_no, c, blob[c * _CHUNK_BYTES : (c + 1) * _CHUNK_BYTES])
            for c in range((len(blob) + _CHUNK_BYTES - 1) // _CHUNK_BYTES)
        )
    db.executemany("INSERT INTO batch_nodes VALUES (?, ?, ?, ?)", chunks)
    db.executemany(
        "INSERT INTO batch_records VALUES (?, ?, ?, ?)",
        ((key, i, bytes(s), bytes(h)) for i, (s, h) in enumerate(records)),
    )
    return True


def _tree_key(db: sqlite3.Connection, batch_id: bytes) -> tuple[int, int]:
    row = db.execute("SELECT tree_key, size FROM batch_trees WHERE batch_id = ?", (batch_id,))
    found = row.fetchone()
    if found is None:
        raise BatchTreeNotStored(batch_id)
    return int(found[0]), int(found[1])


def _node(db: sqlite3.Connection, key: int, level: int, position: int) -> bytes:
    chunk, offset = divmod(position, CHUNK_NODES)
    (blob,) = db.execute(
        "SELECT nodes FROM batch_nodes WHERE tree_key = ? AND level = ? AND chunk = ?",
        (key, level, chunk),
    ).fetchone()
    start = offset * NODE_BYTES
    return bytes(blob[start : start + NODE_BYTES])


def _check_index(index: int, size: int) -> None:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
        raise MerkleIndexError(index, size)


def proof(db: sqlite3.Connection, batch_id: bytes, index: int) -> list[bytes]:
    """The inclusion proof of record ``index``: one query, one small chunk per level."""
    key, size = _tree_key(db, batch_id)
    _check_index(index, size)
    wanted: list[tuple[int, int, int]] = []  # (level, chunk, byte offset) of each sibling
    for level, count in enumerate(level_sizes(size)[:-1]):
        sibling = index ^ 1
        if sibling < count:
            chunk, offset = divmod(sibling, CHUNK_NODES)
            wanted.append((level, chunk, offset * NODE_BYTES + 1))
        index >>= 1
    if not wanted:
        return []
    values = ", ".join("(?, ?, ?)" for _ in wanted)
    rows = db.execute(
        f"WITH wanted (level, chunk, start) AS (VALUES {values})"
        " SELECT substr(n.nodes, w.start, 32) FROM wanted w JOIN batch_nodes n"
        " ON n.tree_key = ? AND n.level = w.level AND n.chunk = w.chunk ORDER BY w.level",
        [*(x for triple in wanted for x in triple), key],
    ).fetchall()
    return [bytes(row[0]) for row in rows]


def leaf(db: sqlite3.Connection, batch_id: bytes, index: int) -> bytes:
    """Leaf ``index`` of a stored batch tree."""
    key, size = _tree_key(db, batch_id)
    _check_index(index, size)
    return _node(db, key, 0, index)


def load(db: sqlite3.Connection, batch_id: bytes) -> MerkleTree:
    """The whole stored tree of ``batch_id``."""
    key, size = _tree_key(db, batch_id)
    sizes = level_sizes(size)
    blobs: list[list[bytes]] = [[] for _ in sizes]
    for level, blob in db.execute(
        "SELECT level, nodes FROM batch_nodes WHERE tree_key = ? ORDER BY level, chunk", (key,)
    ):
        blobs[level].append(blob)
    levels = []
    for count, parts in zip(sizes, blobs, strict=True):
        blob = b"".join(parts)
        levels.append([blob[i : i + NODE_BYTES] for i in range(0, count * NODE_BYTES, NODE_BYTES)])
    return MerkleTree.from_levels(levels)
