"""Merkle trees whose proofs OpenZeppelin's ``MerkleProof.verify`` (v5) accepts.

Batch anchoring puts one root on chain for many off-chain credit records; each
record then carries an inclusion proof that a contract checks with
``MerkleProof.verify(proof, root, leaf)``.

Hashing
    * A **leaf** is ``keccak256(keccak256(data))`` (:func:`leaf_hash`), as in
      OpenZeppelin's ``StandardMerkleTree``: the double hash keeps a leaf from
      ever equalling an internal node (no second-preimage forgery with 64-byte
      data). In Solidity: ``keccak256(bytes.concat(keccak256(data)))``.
    * An **internal node** is ``keccak256(min(a, b) ‖ max(a, b))`` over its two
      32-byte children compared as unsigned 256-bit integers: OpenZeppelin's
      ``Hashes.commutativeKeccak256``. Proofs therefore carry no left/right flags.

Layout (level 0 is the leaves, the last level is the root)
    * Leaves stay in the order given: leaf *i* is record *i* of the batch. They
      are **not** sorted, so positions are stable.
    * Node *j* of level *k + 1* hashes nodes *2j* and *2j + 1* of level *k*.
    * When a level has an odd count, its last node has no sibling and is
      **promoted unchanged** to the next level (no duplication, no hashing).
    * A proof lists, bottom-up, the sibling at each level where one exists; a
      level where the node was promoted contributes nothing. A one-leaf tree has
      the leaf as its root and an empty proof.

  For leaves ``a b c d e``: level 1 is ``H(a,b) H(c,d) e``, level 2 is
  ``H(H(a,b),H(c,d)) e``, the root is ``H(H(H(a,b),H(c,d)), e)``, and the proof
  of ``e`` is the single node ``H(H(a,b),H(c,d))``.

  This is not the array layout of the ``@openzeppelin/merkle-tree`` JavaScript
  library (which sorts leaves), so roots differ from that library's; the proofs
  still verify with ``MerkleProof.verify`` because only the hashing matters there.

keccak256 comes from the fastest backend installed: ``safe-pysha3``, else
pycryptodome (:data:`KECCAK_BACKEND` names the one in use). These are the two
backends ``eth-hash`` itself can use, and give identical digests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from ledger_client.errors import LedgerValueError
from ledger_client.types import Hash32

__all__ = [
    "KECCAK_BACKEND",
    "EmptyMerkleTree",
    "InvalidMerkleNode",
    "MalformedMerkleLevels",
    "MerkleError",
    "MerkleIndexError",
    "MerkleTree",
    "anchored_batch_id",
    "batch_id_of",
    "keccak256",
    "leaf_hash",
    "pair_leaves",
    "process_proof",
    "verify_proof",
]

NODE_BYTES = 32


class MerkleError(LedgerValueError):
    """A Merkle tree or proof was given something it cannot use."""


class InvalidMerkleNode(MerkleError):
    """A leaf, root or proof element is not exactly 32 bytes."""

    def __init__(self, what: str, value: object) -> None:
        self.what = what
        self.value = value
        if isinstance(value, bytes | bytearray | memoryview):
            given = f"{len(value)} bytes"
        else:
            given = f"a {type(value).__name__}"
        super().__init__(f"{what} must be {NODE_BYTES} bytes, got {given}")


class EmptyMerkleTree(MerkleError):
    """A tree needs at least one leaf."""

    def __init__(self) -> None:
        super().__init__("a Merkle tree needs at least one leaf")


class MerkleIndexError(MerkleError, IndexError):
    """A leaf index is outside the tree."""

    def __init__(self, index: object, size: int) -> None:
        self.index = index
        self.size = size
        super().__init__(f"leaf index {index!r} is out of range for a tree of {size} leaves")


class MalformedMerkleLevels(MerkleError):
    """Stored levels do not form a tree of this module's layout."""


class _Hasher(Protocol):
    def digest(self) -> bytes: ...


def _load_keccak() -> tuple[str, Callable[[bytes], _Hasher]]:
    # Measured on 64-byte inputs: safe-pysha3 ~0.6 µs, pycryptodome ~3 µs, eth-hash
    # (over pycryptodome) ~3.5 µs per hash; the hot loops call the constructor directly.
    try:
        sha3 = importlib.import_module("sha3")
    except ImportError:
        pass
    else:
        pysha3_new: Callable[[bytes], _Hasher] = sha3.keccak_256
        return "safe-pysha3", pysha3_new
    try:
        cryptodome = importlib.import_module("Crypto.Hash.keccak")
    except ImportError:
        pass
    else:
        cryptodome_new = cryptodome.new

        def cryptodome_keccak(data: bytes) -> _Hasher:
            hasher: _Hasher = cryptodome_new(data=data, digest_bits=256)
            return hasher

        return "pycryptodome", cryptodome_keccak
    # eth-hash is no third option: its backends are these same two packages.
    raise ImportError("keccak256 needs safe-pysha3 or pycryptodome; install either")


#: The keccak256 implementation in use: ``"safe-pysha3"`` or ``"pycryptodome"``.
KECCAK_BACKEND, _keccak_new = _load_keccak()


def keccak256(data: bytes) -> Hash32:
    """Ethereum's keccak256 of ``data`` (original Keccak padding, not NIST SHA3-256)."""
    return Hash32(_keccak_new(data).digest())


def leaf_hash(data: bytes) -> Hash32:
    """The leaf for ``data``: ``keccak256(keccak256(data))``.

    ``data`` is the record's committed bytes, e.g. ``abi.encode(...)`` of its
    values or its 32-byte record hash.
    """
    new = _keccak_new
    return Hash32(new(new(data).digest()).digest())


def pair_leaves(prefixes: Sequence[bytes], documents: Sequence[bytes]) -> list[Hash32]:
    """``leaf_hash(prefixes[i] + keccak256(documents[i]))`` for every ``i``.

    A batch's leaf commits to a record's subject and the keccak256 of its canonical
    JSON; this computes a whole batch's leaves in one loop over the hash constructor
    (about three times faster than calling :func:`leaf_hash` and :func:`keccak256`
    per record, which matters at millions of records). No length is checked here.
    """
    new = _keccak_new
    return [
        Hash32(new(new(p + new(d).digest()).digest()).digest())
        for p, d in zip(prefixes, documents, strict=True)
    ]


def _node(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != NODE_BYTES:
        raise InvalidMerkleNode(what, value)
    # Subclasses such as HexBytes would otherwise leak into stored levels and proofs.
    return value if type(value) is bytes else bytes(value)


def _nodes(values: Iterable[bytes], what: str) -> tuple[bytes, ...]:
    nodes = tuple(values)
    if all(type(v) is bytes and len(v) == NODE_BYTES for v in nodes):
        return nodes
    return tuple(_node(v, f"{what} {i}") for i, v in enumerate(nodes))


def _parent_level(level: Sequence[bytes]) -> tuple[bytes, ...]:
    new = _keccak_new
    parents = [
        new(a + b).digest() if a < b else new(b + a).digest()
        for a, b in zip(level[0::2], level[1::2], strict=False)
    ]
    if len(level) % 2:
        parents.append(level[-1])
    return tuple(parents)


class MerkleTree:
    """A Merkle tree over 32-byte leaves, in the layout the module docstring describes.

    Build it from leaf hashes (``MerkleTree(leaves)``) or from raw record bytes
    (:meth:`from_data`); store :attr:`levels` and reload them with
    :meth:`from_levels` without rehashing.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaves: Sequence[bytes]) -> None:
        """Build the tree over ``leaves`` (each already a :func:`leaf_hash`), in order.

        Raises :class:`EmptyMerkleTree` for no leaves and
        :class:`InvalidMerkleNode` for a leaf that is not 32 bytes.
        """
        level = _nodes(leaves, "leaf")
        if not level:
            raise EmptyMerkleTree
        levels = [level]
        while len(level) > 1:
            level = _parent_level(level)
            levels.append(level)
        self._levels: tuple[tuple[bytes, ...], ...] = tuple(levels)

    @classmethod
    def from_data(cls, items: Iterable[bytes]) -> MerkleTree:
        """Build the tree whose leaf *i* is :func:`leaf_hash` of ``items[i]``."""
        return cls([leaf_hash(item) for item in items])

    @classmethod
    def from_levels(cls, levels: Sequence[Sequence[bytes]], *, check: bool = False) -> MerkleTree:
        """Reload a tree from its :attr:`levels`, without rehashing unless ``check``.

        The shape is always checked (level sizes halve, rounding up; promoted
        nodes equal their child; one root); ``check=True`` also recomputes every
        internal node. Raises :class:`MalformedMerkleLevels` when either fails.
        """
        if not levels:
            raise MalformedMerkleLevels("no levels: a tree has at least its leaf level")
        loaded = tuple(_nodes(level, f"level {k} node") for k, level in enumerate(levels))
        if not loaded[0]:
            raise EmptyMerkleTree
        for k in range(len(loaded) - 1):
            below, above = loaded[k], loaded[k + 1]
            if len(below) == 1:
                raise MalformedMerkleLevels(f"level {k} has one node but is not the last level")
            if len(above) != (len(below) + 1) // 2:
                raise MalformedMerkleLevels(
                    f"level {k + 1} has {len(above)} nodes, expected {(len(below) + 1) // 2} "
                    f"above {len(below)}"
                )
            if len(below) % 2 and above[-1] != below[-1]:
                raise MalformedMerkleLevels(f"the last node of level {k} was not promoted intact")
            if check and _parent_level(below) != above:
                raise MalformedMerkleLevels(f"level {k + 1} does not hash from level {k}")
        if len(loaded[-1]) != 1:
            raise MalformedMerkleLevels(
                f"the last level has {len(loaded[-1])} nodes; the levels stop short of the root"
            )
        tree = cls.__new__(cls)
        tree._levels = loaded
        return tree

    @property
    def root(self) -> Hash32:
        """The root, as ``MerkleProof.verify`` expects it."""
        return Hash32(self._levels[-1][0])

    @property
    def leaves(self) -> tuple[Hash32, ...]:
        """The leaves, in batch order."""
        return self._levels[0]  # type: ignore[return-value]  # Hash32 is bytes at run time

    @property
    def levels(self) -> tuple[tuple[Hash32, ...], ...]:
        """Every level, leaves first and the one-node root level last."""
        return self._levels  # type: ignore[return-value]  # Hash32 is bytes at run time

    @property
    def depth(self) -> int:
        """The number of levels above the leaves (0 for a one-leaf tree)."""
        return len(self._levels) - 1

    def __len__(self) -> int:
        return len(self._levels[0])

    def __repr__(self) -> str:
        return f"MerkleTree(leaves={len(self)}, root=0x{self._levels[-1][0].hex()})"

    def leaf(self, index: int) -> Hash32:
        """Leaf ``index``. Raises :class:`MerkleIndexError` outside ``0 <= index < len``."""
        self._check_index(index)
        return Hash32(self._levels[0][index])

    def proof(self, index: int) -> list[Hash32]:
        """The inclusion proof of leaf ``index``: its real siblings, leaf level first.

        Raises :class:`MerkleIndexError` outside ``0 <= index < len`` (negative
        indices are refused, not counted from the end).
        """
        self._check_index(index)
        siblings: list[Hash32] = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                siblings.append(Hash32(level[sibling]))
            index >>= 1
        return siblings

    def _check_index(self, index: int) -> None:
        if (
            not isinstance(index, int)
            or isinstance(index, bool)
            or not 0 <= index < len(self._levels[0])
        ):
            raise MerkleIndexError(index, len(self._levels[0]))


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> Hash32:
    """The root that ``proof`` leads to from ``leaf`` (OpenZeppelin ``processProof``).

    Raises :class:`InvalidMerkleNode` when the leaf or a proof element is not 32 bytes.
    """
    if type(leaf) is not bytes or len(leaf) != NODE_BYTES:
        leaf = _node(leaf, "leaf")
    new = _keccak_new
    computed = leaf
    for element in proof:
        sibling = element
        if type(sibling) is not bytes or len(sibling) != NODE_BYTES:
            sibling = _node(sibling, "proof element")
        computed = new(computed + sibling if computed < sibling else sibling + computed).digest()
    return Hash32(computed)


def verify_proof(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True when ``proof`` proves ``leaf`` under ``root``, exactly as ``MerkleProof.verify``.

    ``leaf`` is the :func:`leaf_hash` of the record. A wrong proof gives
    ``False``; a leaf, root or proof element that is not 32 bytes raises
    :class:`InvalidMerkleNode`, since no ``bytes32`` could carry it.
    """
    if type(root) is not bytes or len(root) != NODE_BYTES:
        root = _node(root, "root")
    return process_proof(leaf, proof) == root


def batch_id_of(root: bytes, anchorer: str) -> bytes:
    """A batch's id: keccak256(abi.encode(root, anchorer)). The id binds who anchored the
    root, so a member copying a rival's root anchors a batch of its own, not the rival's."""
    return keccak256(bytes(root) + bytes(12) + bytes.fromhex(anchorer.removeprefix("0x")))


def anchored_batch_id(args: Mapping[str, Any]) -> bytes:
    """The id of the batch a ``BatchAnchored`` event announces (the event carries the root
    and the anchorer; the id is theirs to compute, a word the chain need not log)."""
    return batch_id_of(bytes(args["root"]), str(args["anchorer"]))
