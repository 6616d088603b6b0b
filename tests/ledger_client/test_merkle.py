"""Merkle trees: layout, proofs as OpenZeppelin's MerkleProof.verify checks them, errors."""

from __future__ import annotations

import importlib
import sys

import pytest
from eth_hash.auto import keccak as reference_keccak
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger_client.attestations import merkle
from ledger_client.attestations.merkle import (
    EmptyMerkleTree,
    InvalidMerkleNode,
    MalformedMerkleLevels,
    MerkleError,
    MerkleIndexError,
    MerkleTree,
    keccak256,
    leaf_hash,
    process_proof,
    verify_proof,
)
from ledger_client.errors import LedgerValueError


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(32, "big")) for i in range(n)]


def _commutative(a: bytes, b: bytes) -> bytes:
    # OpenZeppelin Hashes.commutativeKeccak256, written out with an independent keccak.
    return reference_keccak(a + b if a < b else b + a)


def _flip(node: bytes) -> bytes:
    return bytes([node[0] ^ 1]) + node[1:]


# --- pinned vectors: the layout must never change silently ---------------------------------


def test_keccak256_is_ethereum_keccak() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert leaf_hash(b"abc") == reference_keccak(reference_keccak(b"abc"))


def test_three_leaves_pinned_by_hand() -> None:
    a, b, c = (reference_keccak(reference_keccak(bytes([i]))) for i in range(3))
    tree = MerkleTree.from_data([b"\x00", b"\x01", b"\x02"])
    ab = _commutative(a, b)
    assert tree.leaves == (a, b, c)  # batch order, not sorted
    assert tree.levels == ((a, b, c), (ab, c), (_commutative(ab, c),))
    assert tree.root == _commutative(ab, c)
    assert tree.root.hex() == "9de6f324b6088da9a2d1a9ea862e1108c451c704bae4f4ed6f8dbd30ab4996b0"
    assert tree.proof(0) == [b, c]
    assert tree.proof(1) == [a, c]
    assert tree.proof(2) == [ab]  # c was promoted at level 0: only real siblings


def test_five_leaves_promote_twice() -> None:
    a, b, c, d, e = _leaves(5)
    tree = MerkleTree([a, b, c, d, e])
    ab, cd = _commutative(a, b), _commutative(c, d)
    abcd = _commutative(ab, cd)
    assert tree.levels == ((a, b, c, d, e), (ab, cd, e), (abcd, e), (_commutative(abcd, e),))
    assert tree.proof(4) == [abcd]
    assert tree.proof(2) == [d, ab, e]
    assert tree.depth == 3


def test_one_leaf_is_its_own_root() -> None:
    (leaf,) = _leaves(1)
    tree = MerkleTree([leaf])
    assert tree.root == leaf
    assert tree.proof(0) == []
    assert tree.depth == 0
    assert len(tree) == 1
    assert verify_proof(leaf, [], tree.root)


def test_two_leaves() -> None:
    a, b = _leaves(2)
    tree = MerkleTree([a, b])
    assert tree.root == _commutative(a, b)
    assert tree.proof(0) == [b]
    assert tree.proof(1) == [a]


# --- round trip ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=1, max_value=300))
@example(n=1)
@example(n=2)
@example(n=3)
@example(n=7)
@example(n=257)
@example(n=10_000)
def test_every_proof_verifies(n: int) -> None:
    leaves = _leaves(n)
    tree = MerkleTree(leaves)
    assert len(tree) == n
    assert tree.depth == (n - 1).bit_length()
    root = tree.root
    for i, leaf in enumerate(leaves):
        proof = tree.proof(i)
        assert len(proof) <= tree.depth
        assert verify_proof(leaf, proof, root)
    reloaded = MerkleTree.from_levels(tree.levels)
    assert reloaded.root == root
    assert reloaded.proof(n - 1) == tree.proof(n - 1)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(min_value=2, max_value=200))
def test_tampering_fails(data: st.DataObject, n: int) -> None:
    leaves = _leaves(n)
    tree = MerkleTree(leaves)
    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="index")
    proof = tree.proof(i)
    j = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
    tampered = [*proof[:j], _flip(proof[j]), *proof[j + 1 :]]
    assert not verify_proof(leaves[i], tampered, tree.root)
    assert not verify_proof(_flip(leaves[i]), proof, tree.root)
    assert not verify_proof(leaves[i], proof, _flip(tree.root))
    assert not verify_proof(leaves[i], proof[:-1], tree.root)
    assert not verify_proof(leaves[i], [*proof, proof[-1]], tree.root)
    # Another leaf's proof proves nothing for this leaf (distinct leaves here).
    other = (i + 1) % n
    assert not verify_proof(leaves[i], tree.proof(other), tree.root)


def test_internal_node_is_not_a_leaf() -> None:
    # The double-hashed leaf is what makes this hold: a level-1 node with its
    # remaining path verifies under process_proof, but no data hashes to it as a leaf.
    leaves = _leaves(4)
    tree = MerkleTree(leaves)
    node = tree.levels[1][0]
    assert process_proof(node, [tree.levels[1][1]]) == tree.root
    assert leaf_hash(leaves[0] + leaves[1]) != node


def test_subclass_of_bytes_is_normalised() -> None:
    class Hex(bytes):
        pass

    leaves = [Hex(leaf) for leaf in _leaves(3)]
    tree = MerkleTree(leaves)
    assert all(type(node) is bytes for level in tree.levels for node in level)
    assert verify_proof(leaves[2], [Hex(n) for n in tree.proof(2)], Hex(tree.root))


# --- stored levels -------------------------------------------------------------------------


def test_from_levels_checks_shape() -> None:
    tree = MerkleTree(_leaves(5))
    levels: list[list[bytes]] = [list(level) for level in tree.levels]
    with pytest.raises(MalformedMerkleLevels, match="no levels"):
        MerkleTree.from_levels([])
    with pytest.raises(EmptyMerkleTree):
        MerkleTree.from_levels([[]])
    with pytest.raises(MalformedMerkleLevels, match="stop short"):
        MerkleTree.from_levels(levels[:-1])
    with pytest.raises(MalformedMerkleLevels, match="expected 3"):
        MerkleTree.from_levels([levels[0], levels[1][:2], *levels[2:]])
    with pytest.raises(MalformedMerkleLevels, match="promoted"):
        MerkleTree.from_levels([levels[0], [*levels[1][:2], _flip(levels[1][2])], *levels[2:]])
    with pytest.raises(MalformedMerkleLevels, match="not the last level"):
        MerkleTree.from_levels([*levels, levels[-1]])
    with pytest.raises(InvalidMerkleNode, match="level 1 node 0"):
        MerkleTree.from_levels([levels[0], [b"short", *levels[1][1:]], *levels[2:]])


def test_from_levels_check_rehashes() -> None:
    tree = MerkleTree(_leaves(6))
    levels: list[list[bytes]] = [list(level) for level in tree.levels]
    levels[1][0] = _flip(levels[1][0])
    forged = MerkleTree.from_levels(levels)  # the shape alone is fine
    assert forged.root == tree.root
    with pytest.raises(MalformedMerkleLevels, match="level 1 does not hash from level 0"):
        MerkleTree.from_levels(levels, check=True)
    assert MerkleTree.from_levels(tree.levels, check=True).root == tree.root


# --- errors --------------------------------------------------------------------------------


def test_errors_are_ledger_value_errors() -> None:
    for cls in (EmptyMerkleTree, InvalidMerkleNode, MalformedMerkleLevels, MerkleIndexError):
        assert issubclass(cls, MerkleError)
        assert issubclass(cls, LedgerValueError)
        assert issubclass(cls, ValueError)
    assert issubclass(MerkleIndexError, IndexError)


def test_empty_tree() -> None:
    with pytest.raises(EmptyMerkleTree):
        MerkleTree([])
    with pytest.raises(EmptyMerkleTree):
        MerkleTree.from_data([])


@pytest.mark.parametrize("bad", [b"", b"\x00" * 31, b"\x00" * 33, "0x" + "00" * 32, None])
def test_bad_leaf_length(bad: object) -> None:
    # Wrong types on purpose (hence the type: ignores): the runtime check is under test.
    good = _leaves(2)
    with pytest.raises(InvalidMerkleNode, match="leaf 1 must be 32 bytes"):
        MerkleTree([good[0], bad, good[1]])  # type: ignore[list-item]
    with pytest.raises(InvalidMerkleNode, match="leaf must be 32 bytes"):
        verify_proof(bad, [], good[0])  # type: ignore[arg-type]
    with pytest.raises(InvalidMerkleNode, match="root must be 32 bytes"):
        verify_proof(good[0], [], bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidMerkleNode, match="proof element must be 32 bytes"):
        verify_proof(good[0], [good[1], bad], good[0])  # type: ignore[list-item]


@pytest.mark.parametrize("index", [-1, 3, 100, True, 1.0, "0"])
def test_index_out_of_range(index: object) -> None:
    # Wrong types on purpose (hence the type: ignores): the runtime check is under test.
    tree = MerkleTree(_leaves(3))
    with pytest.raises(MerkleIndexError, match="out of range for a tree of 3 leaves"):
        tree.proof(index)  # type: ignore[arg-type]
    with pytest.raises(MerkleIndexError):
        tree.leaf(index)  # type: ignore[arg-type]


# --- backends ------------------------------------------------------------------------------


def test_fallback_backend_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sha3", None)  # makes `import sha3` fail
    name, new = merkle._load_keccak()
    assert name == "pycryptodome"
    assert new(b"credit").digest() == reference_keccak(b"credit")
    monkeypatch.setitem(sys.modules, "Crypto.Hash.keccak", None)
    with pytest.raises(ImportError, match="safe-pysha3 or pycryptodome"):
        merkle._load_keccak()


def test_the_fast_backend_is_used() -> None:
    # safe-pysha3 is a pinned dependency: the C keccak must be the one in use.
    importlib.import_module("sha3")
    assert merkle.KECCAK_BACKEND == "safe-pysha3"
