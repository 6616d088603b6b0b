"""Views read many to an ``eth_call`` (ledger_client/chain/batch_read.py), and the audit's
comparison built on them.

The reader is never deployed: its creation code runs as an ``eth_call`` with no ``to``.
One conformance class holds what must hold on every backend (py-evm, revm, anvil):
the batched values are the single views' values, a view that reverts comes back as
its own named error among the others' values, a doctored view is caught by the
comparison naming its entity, and the comparison reads a ledger in a handful of
calls where it used to make one per view.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ledger_client import Chain, Keyring, Ledger, attach, connect
from ledger_client.audit import compare_with_chain
from ledger_client.audit.replay import Replay
from ledger_client.chain.artifacts import load_artifacts
from ledger_client.chain.backends.base import Backend
from ledger_client.chain.backends.rpc import RpcBackend
from ledger_client.chain.batch_read import BatchReader, ViewCall
from ledger_client.contracts.attestations import schema_id
from ledger_client.errors import (
    FacilityExposureNotAuthorised,
    TransactionError,
    ViewUndecodable,
)
from ledger_client.index import EventIndex
from tests.audit_world import small_ledger
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain


def _views(ledger: Ledger, ring: Keyring) -> list[ViewCall]:
    """Every member, schema and attestation view of ``ledger``, and its totals."""
    cons, att = ledger.consortium, ledger.attestations
    members = ("regulator", "bank", "bureau")
    calls = [ViewCall(cons.address, cons.codec.fn("memberCount"))]
    calls += [
        ViewCall(cons.address, cons.codec.fn("member"), (ring.account(m).address,)) for m in members
    ]
    calls += [
        ViewCall(att.address, att.codec.fn("schema"), (schema_id(s),))
        for s in ledger.schemas.values()
    ]
    calls.append(ViewCall(att.address, att.codec.fn("schemaCount")))
    return calls


def _audited(ledger: Ledger) -> tuple[Replay, int]:
    """The replay of ``ledger``'s events, and the block they were read to."""
    with EventIndex(":memory:", ledger) as index:
        index.sync()
        replay = Replay()
        assert replay.run(index.events()) == []
        return replay, index.cursor


class BatchReadConformance:
    """What every backend must do with the reader and the comparison built on it."""

    @pytest.fixture
    def world(self, chain: Chain) -> tuple[Ledger, Keyring]:
        ring = Keyring("batched-views")
        return small_ledger(chain, ring), ring

    def test_batched_values_are_the_single_views(self, world: tuple[Ledger, Keyring]) -> None:
        ledger, ring = world
        calls = _views(ledger, ring) * 5
        # A chunk of seven calls at most, so the read spans several eth_calls.
        reader = BatchReader(ledger.chain, block=ledger.chain.backend.block_number(), max_calls=7)
        batched = reader.read(calls)
        assert reader.eth_calls == -(-len(calls) // 7)
        single = [reader.read_one(c) for c in calls]
        assert batched == single
        assert all(isinstance(v, tuple) for v in batched)
        member = batched[2]
        assert isinstance(member, tuple)
        assert member[0][-1] == ring.account("bank").address[:10]  # the member's name

    def test_a_reverting_view_is_reported_for_its_call_alone(
        self, world: tuple[Ledger, Keyring]
    ) -> None:
        ledger, ring = world
        fac, cons = ledger.facilities, ledger.consortium
        exposure = ViewCall(fac.address, fac.codec.fn("exposure"), (b"\x33" * 32, bytes(32)))
        nowhere = ViewCall(ring.account("enterprise").address, cons.codec.fn("memberCount"))
        count = ViewCall(cons.address, cons.codec.fn("memberCount"))
        reader = BatchReader(ledger.chain)
        got = reader.read([count, exposure, count, nowhere, count])
        assert reader.eth_calls == 1
        assert got[0] == got[2] == got[4] == reader.read_one(count)
        # The exposure answers a regulator only: the reader is refused, by name.
        refused = got[1]
        assert isinstance(refused, FacilityExposureNotAuthorised)
        assert refused.subject == b"\x33" * 32
        # No contract at the address: nothing to decode.
        assert isinstance(got[3], ViewUndecodable)
        # Read alone as the regulator, the exposure answers.
        alone = reader.read_one(exposure, sender=ring.account("regulator").address)
        assert isinstance(alone, tuple)

    def test_the_comparison_reads_the_ledger_in_a_few_calls(
        self, world: tuple[Ledger, Keyring]
    ) -> None:
        ledger, _ = world
        replay, head = _audited(ledger)
        comparison = compare_with_chain(ledger, replay.state, head)
        assert comparison.mismatches == []
        entities = sum(comparison.compared.values())
        for kind in ("members", "schemas", "attestations", "batches", "disputes", "queries"):
            assert comparison.compared[kind] > 0, kind
        assert comparison.views > entities  # an entity's view, its totals, its extras
        # One call per step that reads anything (13 steps), where it was one per view.
        assert comparison.calls <= 13 < comparison.views

    def test_a_doctored_view_is_caught_naming_its_entity(
        self, world: tuple[Ledger, Keyring]
    ) -> None:
        ledger, ring = world
        replay, head = _audited(ledger)
        # The chain's views doctored: the Consortium the manifest names is another
        # deployment's, whose bank and bureau were never admitted.
        other = small_ledger(ledger.chain, Keyring("another deployment"))
        contracts = {
            **ledger.manifest.contracts,
            "Consortium": other.manifest.contracts["Consortium"],
        }
        doctored = attach(
            ledger.chain, dataclasses.replace(ledger.manifest, contracts=contracts), wiring=False
        )
        # Read at the head: at the replayed block the other deployment did not exist yet.
        now = ledger.chain.backend.block_number()
        assert now > head
        mismatches = compare_with_chain(doctored, replay.state, now).mismatches
        bank = ring.account("bank").address
        named = [m for m in mismatches if f"({bank.lower()})" in m.detail.lower()]
        assert len(named) == 1, mismatches
        assert named[0].name == "StateMismatch"
        assert named[0].detail.lower().startswith(f"member {bank[:10]} ({bank}): city: ".lower())
        assert named[0].tx_hash.startswith("0x")

    def test_a_node_lying_about_one_view_is_caught_naming_its_entity(
        self, world: tuple[Ledger, Keyring], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """As tests/node_sim/test_lending.py doctors ``activePledgee``: a node that answers
        one query's ``queryAuthorisation`` with another authorisation. The view is read in
        a batch, and still answered through ``Chain.call`` one view at a time."""
        ledger, _ = world
        replay, head = _audited(ledger)
        auths = ledger.authorisations
        select = auths.codec.fn("queryAuthorisation").selector
        forged = b"\x07" * 32
        real_call = type(ledger.chain).call

        def lying(self: Any, to: Any, data: bytes, **kw: Any) -> bytes:
            out: bytes = real_call(self, to, data, **kw)
            return forged if to == auths.address and data[:4] == select else out

        monkeypatch.setattr(type(ledger.chain), "call", lying)
        comparison = compare_with_chain(ledger, replay.state, head)
        (qid,) = replay.state.queries
        (lie,) = comparison.mismatches
        assert lie.name == "StateMismatch"
        assert lie.detail.startswith(f"query 0x{qid.hex()}: authId: chain 0x{forged.hex()}")
        assert comparison.mismatched_keys == [f"query:0x{qid.hex()}"]
        assert comparison.calls <= 13 < comparison.views  # still batched

    def test_a_reverting_view_is_a_mismatch_of_its_entity(
        self, world: tuple[Ledger, Keyring]
    ) -> None:
        ledger, _ = world
        replay, head = _audited(ledger)
        # Disputes pointed at the Consortium: every dispute view reverts (no such function).
        contracts = {
            **ledger.manifest.contracts,
            "Disputes": ledger.manifest.contracts["Consortium"],
        }
        # Not attach(): it refuses code that is not the named contract's, as it should.
        broken = Ledger(
            ledger.chain,
            dataclasses.replace(ledger.manifest, contracts=contracts),
            ledger.artifacts,
        )
        comparison = compare_with_chain(broken, replay.state, head)
        (dispute,) = [m for m in comparison.mismatches if m.detail.startswith("dispute #1:")]
        assert "the chain's Disputes.dispute failed" in dispute.detail
        assert "dispute:1" in comparison.mismatched_keys
        # The other entities were read in the same calls and still agree.
        assert not [m for m in comparison.mismatches if m.detail.startswith("member ")]
        assert comparison.compared["members"] == len(replay.state.member_order)

    def test_a_range_of_blocks_reads_as_block_by_block(
        self, world: tuple[Ledger, Keyring], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ledger, _ = world
        backend = ledger.chain.backend
        head = backend.block_number()
        single = Backend.blocks_with_receipts(backend, 1, head)
        assert sum(len(receipts) for _, receipts in single) > 10
        if isinstance(backend, RpcBackend):
            # A node's backend sends JSON-RPC batches, never a request per block.
            one_by_one: list[str] = []
            real = backend._raw

            def counted(method: str, params: list[Any]) -> dict[str, Any]:
                one_by_one.append(method)
                return real(method, params)

            monkeypatch.setattr(backend, "_raw", counted)
            assert backend.blocks_with_receipts(1, head) == single
            assert one_by_one == []
        else:
            assert backend.blocks_with_receipts(1, head) == single


class TestBatchReadPyEvm(EmbeddedChain, BatchReadConformance):
    pass


class TestBatchReadRevm(RevmChain, BatchReadConformance):
    pass


class TestBatchReadAnvil(AnvilChain, BatchReadConformance):
    pass


class _RefusingBigChunks(Chain):
    """A chain whose node refuses a creation call longer than ``limit`` bytes (a node's
    lower cap on gas or code): the reader must split its chunks, not fail."""

    def __init__(self, chain: Chain, limit: int) -> None:
        super().__init__(chain.backend)
        self.limit, self.sizes = limit, list[int]()

    def call(
        self, to: str | None, data: bytes, *, sender: str | None = None, block: Any = "latest"
    ) -> bytes:
        self.sizes.append(len(data))
        if to is None and len(data) > self.limit:
            raise TransactionError(f"creation of {len(data)} bytes refused")
        return super().call(to, data, sender=sender, block=block)


def test_a_chunk_the_node_refuses_is_split_until_it_passes(keyring: Keyring) -> None:
    chain = connect("revm")
    try:
        ledger = small_ledger(chain, keyring)
        calls = _views(ledger, keyring) * 3
        reader = BatchReader(ledger.chain)
        expected = reader.read(calls)
        code = load_artifacts().contract("BatchReader").bytecode
        small = BatchReader(_RefusingBigChunks(chain, limit=len(code) + 1_200))
        assert small.read(calls) == expected
        assert small.eth_calls > reader.eth_calls
    finally:
        chain.close()
