"""The event index: ingestion from receipts and blocks, projections, queries, batch trees.

One conformance class, run on the embedded chain and on anvil; the batch-tree
storage and thread tests need no node and run once.
"""

from __future__ import annotations

import dataclasses
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import pytest
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from ledger_client import Chain, Keyring, Ledger, LedgerValueError, Manifest, Role, connect
from ledger_client.attestations.batches import batch_leaf
from ledger_client.attestations.merkle import (
    MerkleIndexError,
    MerkleTree,
    anchored_batch_id,
    batch_id_of,
    verify_proof,
)
from ledger_client.chain.artifacts import load_artifacts
from ledger_client.contracts.base import ContractFacade
from ledger_client.deployment import DeployedContract
from ledger_client.index import (
    BatchTreeMismatch,
    BatchTreeNotStored,
    EventIndex,
    EventIndexClosed,
    EventIndexError,
    IndexDeploymentMismatch,
    IndexedEvent,
    IndexFormatError,
    Projection,
    ProjectionError,
)
from ledger_client.types import BatchEntry, City, Validity
from tests.conformance import AnvilChain, EmbeddedChain, LedgerFixtures, RevmChain, RevmOnDiskChain
from tests.conftest import deploy_for_tests

ZERO32 = bytes(32)
SUBJECT_A = keccak(b"subject A")
SUBJECT_B = keccak(b"subject B")


def record_hash(n: int) -> bytes:
    """A distinct 32-byte record hash per ``n``."""
    return keccak(f"record {n}".encode())


def deploy_with_attestations(chain: Chain, keyring: Keyring) -> Ledger:
    """A deployment holding the Attestations contract, whether or not ``deploy()`` adds it."""
    ledger = deploy_for_tests(chain, keyring)
    if "Attestations" in ledger.manifest.contracts:
        return ledger
    art = load_artifacts().contract("Attestations")
    receipt = chain.transact(
        keyring.account("regulator"),
        None,
        art.bytecode + art.codec.encode_constructor([ledger.consortium.address]),
    )
    assert receipt.contract_address is not None
    deployed = DeployedContract(
        receipt.contract_address, art.abi_hash, art.code_hash, receipt.tx_hash
    )
    manifest = dataclasses.replace(
        ledger.manifest, contracts={**ledger.manifest.contracts, "Attestations": deployed}
    )
    return Ledger(chain, manifest, ledger.artifacts)


def attestations_of(ledger: Ledger, chain: Chain | None = None) -> ContractFacade:
    """The Attestations contract called through ``chain`` (the ledger's own by default)."""
    return ContractFacade(
        chain or ledger.chain,
        ledger.manifest.contracts["Attestations"].address,
        ledger.artifacts.contract("Attestations"),
    )


def attest(
    facade: ContractFacade,
    attester: LocalAccount,
    schema: bytes,
    subject: bytes,
    n: int,
    *,
    expiry: int = 0,
) -> bytes:
    """Attest to record ``n`` about ``subject``; return the UID."""
    result = facade._send(attester, "attest", schema, subject, record_hash(n), expiry, ZERO32)
    uid: bytes = result.event("Attested").args["uid"]
    return uid


class AttestedPerAttester(Projection):
    """A projection as another contract's author would write one: counts per attester."""

    name: ClassVar[str] = "test_attested_per_attester"
    contract: ClassVar[str] = "Attestations"
    handles: ClassVar[frozenset[str]] = frozenset({"Attested"})
    tables: ClassVar[tuple[str, ...]] = ("test_attested_counts",)
    tables_sql: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE test_attested_counts (attester TEXT PRIMARY KEY, n INTEGER NOT NULL)",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        db.execute(
            "INSERT INTO test_attested_counts VALUES (?, 1)"
            " ON CONFLICT (attester) DO UPDATE SET n = n + 1",
            (event.args["attester"],),
        )

    @staticmethod
    def counts(index: EventIndex) -> dict[str, int]:
        with index.reading() as db:
            return dict(db.execute("SELECT attester, n FROM test_attested_counts").fetchall())


class AttestedPerAttesterV2(AttestedPerAttester):
    version: ClassVar[int] = 2


class World(NamedTuple):
    """A deployment, an index of it, and a bank that attests under a test schema."""

    ledger: Ledger
    event_index: EventIndex  # (not `index`: that is tuple.index)
    facade: ContractFacade  # the Attestations contract
    bank: LocalAccount  # an attester
    schema: bytes  # a revocable schema registered for the test

    def attest(self, subject: bytes, n: int, *, expiry: int = 0) -> bytes:
        """The bank attests to record ``n`` about ``subject``."""
        return attest(self.facade, self.bank, self.schema, subject, n, expiry=expiry)


class EventIndexConformance(LedgerFixtures):
    """The event index as every backend must feed it."""

    @pytest.fixture
    def ledger(self, chain: Chain, keyring: Keyring) -> Ledger:
        return deploy_with_attestations(chain, keyring)

    @pytest.fixture
    def facade(self, ledger: Ledger) -> ContractFacade:
        return attestations_of(ledger)

    @pytest.fixture
    def bank(self, ledger: Ledger, keyring: Keyring) -> LocalAccount:
        return self._member(ledger, keyring, "bank", Role.ATTESTER)

    @pytest.fixture
    def schema(self, facade: ContractFacade, regulator: LocalAccount) -> bytes:
        result = facade._send(
            regulator, "registerSchema", "index-test", "bytes32 subject,fen amountFen", True
        )
        schema_id: bytes = result.event("SchemaRegistered").args["schema"]
        return schema_id

    @pytest.fixture
    def index(self, ledger: Ledger, tmp_path: Path) -> Iterator[EventIndex]:
        index = EventIndex(tmp_path / "index.sqlite", ledger)
        yield index
        index.close()

    @pytest.fixture
    def world(self, ledger: Ledger, index: EventIndex, bank: LocalAccount, schema: bytes) -> World:
        return World(ledger, index, attestations_of(ledger), bank, schema)

    # -- feeding ------------------------------------------------------------------
    def test_sync_reads_the_deployment(
        self, ledger: Ledger, index: EventIndex, regulator: LocalAccount
    ) -> None:
        assert index.cursor == ledger.manifest.deploy_block - 1
        head = ledger.chain.backend.block_number()
        assert index.sync() == head - ledger.manifest.deploy_block + 1
        assert index.cursor == head
        assert index.sync() == 0
        members = index.members()
        # The regulator, and the receivables contract (a member so it may attest defaults).
        assert [(m.account, m.roles, m.city) for m in members] == [
            (regulator.address, Role.REGULATOR, City.SHANGHAI),
            (ledger.receivables.address, Role.ATTESTER, City.SHANGHAI),
        ]
        (count,) = attestations_of(ledger)._read("schemaCount")
        schemas = index.schemas()
        assert len(schemas) == count
        assert [s.index for s in schemas] == list(range(1, count + 1))
        for s in schemas:
            (on_chain,) = attestations_of(ledger)._read("schema", s.schema_id)
            fields = (s.revocable, s.index, s.registered_at, s.regulator, s.name, s.layout)
            assert fields == tuple(on_chain)
        assert index.schema(schemas[0].name) == schemas[0]
        assert index.schema("0x" + schemas[0].schema_id.hex()) == schemas[0]

    def test_listener_ingests_own_transactions(self, world: World) -> None:
        ledger, index, facade, bank, schema = world
        index.sync()
        index.follow()
        index.follow()  # once is enough; twice does no harm
        uid = attest(facade, bank, schema, SUBJECT_A, 1)
        block = ledger.chain.backend.block_number()
        assert index.cursor == block  # no sync needed
        got = index.attestation(uid)
        assert got is not None
        assert (got.subject, got.attester, got.data_hash, got.schema) == (
            SUBJECT_A,
            bank.address,
            record_hash(1),
            schema,
        )
        assert got.block_number == block
        assert got.attested_at == ledger.chain.backend.block(block).timestamp
        assert got.validity(got.attested_at) is Validity.VALID
        assert index.sync() == 0
        assert index.count_attestations() == 1

    def test_sync_sees_other_writers(self, world: World, keyring: Keyring) -> None:
        ledger, index = world.ledger, world.event_index
        other_bank = self._member(ledger, keyring, "other-bank", Role.ATTESTER)
        index.sync()
        index.follow()
        other = self.reconnect(ledger.chain)
        theirs_facade = attestations_of(ledger, other)
        try:
            theirs = attest(theirs_facade, other_bank, world.schema, SUBJECT_B, 2)
            assert index.attestation(theirs) is None  # not this client's transaction
            ours = world.attest(SUBJECT_A, 1)  # the listener reads every block up to its own
            assert index.attestation(theirs) is not None
            assert index.attestation(ours) is not None
            theirs_too = attest(theirs_facade, other_bank, world.schema, SUBJECT_B, 3)
            assert index.attestation(theirs_too) is None
            assert index.sync() == 1
        finally:
            if other.backend is not ledger.chain.backend:
                other.close()
        assert [a.uid for a in index.attestations(attester=other_bank.address)] == [
            theirs,
            theirs_too,
        ]

    def test_ingestion_is_idempotent(self, world: World, tmp_path: Path) -> None:
        index = world.event_index
        index.sync()
        index.follow()
        # A second index on the same file, as another process would open it.
        twin = EventIndex(tmp_path / "index.sqlite", world.ledger)
        twin.follow()
        try:
            uids = [world.attest(SUBJECT_A, n) for n in range(3)]
            for ix in (index, twin):
                ix.sync()
                assert [a.uid for a in ix.attestations()] == uids
                assert ix.count_events(name="Attested") == 3
            # Forget the last block and read it again: stored once, projected once.
            before = list(index.events())
            index.rewind(index.cursor - 1)
            assert index.attestation(uids[-1]) is None
            assert index.sync() == 1
            assert [e.args for e in index.events()] == [e.args for e in before]
            assert [a.uid for a in index.attestations()] == uids
        finally:
            twin.close()

    def test_reopening_resumes_from_the_cursor(
        self,
        ledger: Ledger,
        facade: ContractFacade,
        bank: LocalAccount,
        schema: bytes,
        tmp_path: Path,
    ) -> None:
        path = tmp_path / "resume.sqlite"
        with EventIndex(path, ledger) as first:
            first.sync()
            attest(facade, bank, schema, SUBJECT_A, 1)
            first.sync()
            cursor, events = first.cursor, first.count_events()
        with pytest.raises(EventIndexClosed):
            first.attestations()
        attest(facade, bank, schema, SUBJECT_A, 2)
        ledger.chain.backend.mine(2)
        with EventIndex(path, ledger) as again:
            assert again.cursor == cursor
            assert again.sync() == 3
            assert again.count_events() == events + 1
            assert again.count_attestations(subject=SUBJECT_A) == 2

    def test_a_different_deployment_is_refused(
        self, ledger: Ledger, tmp_path: Path, keyring: Keyring
    ) -> None:
        path = tmp_path / "one-deployment.sqlite"
        EventIndex(path, ledger).close()
        moved = dataclasses.replace(
            ledger.manifest.contracts["Consortium"], address="0x" + "11" * 20
        )
        other = dataclasses.replace(
            ledger.manifest, contracts={**ledger.manifest.contracts, "Consortium": moved}
        )
        with pytest.raises(IndexDeploymentMismatch, match="Consortium at 0x"):
            EventIndex.open(path, other)
        with pytest.raises(IndexDeploymentMismatch, match="chain_id"):
            EventIndex.open(path, dataclasses.replace(ledger.manifest, chain_id=1))
        second = deploy_with_attestations(ledger.chain, keyring)
        with pytest.raises(IndexDeploymentMismatch):
            EventIndex(path, second)
        with pytest.raises(IndexDeploymentMismatch, match="chain 1"):
            EventIndex(
                ":memory:", Ledger(ledger.chain, other_chain(ledger.manifest), ledger.artifacts)
            )
        EventIndex(path, ledger).close()  # the right one still opens

    def test_a_reverted_chain_is_rewound(self, world: World) -> None:
        ledger, index, facade, bank, schema = world
        chain = ledger.chain
        index.sync()
        kept = attest(facade, bank, schema, SUBJECT_A, 1)
        index.sync()
        snap = chain.snapshot()
        lost = attest(facade, bank, schema, SUBJECT_A, 2)
        index.sync()
        assert index.attestation(lost) is not None
        chain.revert(snap)
        # Sync path: the chain grows past the old tip on other blocks.
        new = [attest(facade, bank, schema, SUBJECT_B, n) for n in (3, 4)]
        index.sync()
        assert index.attestation(lost) is None
        assert [a.uid for a in index.attestations()] == [kept, *new]
        # Listener path: a receipt for a block the index read, with another hash.
        index.follow()
        snap = chain.snapshot()
        gone = attest(facade, bank, schema, SUBJECT_A, 5)
        assert index.attestation(gone) is not None
        chain.revert(snap)
        replacement = attest(facade, bank, schema, SUBJECT_A, 6)
        assert index.attestation(gone) is None
        assert [a.uid for a in index.attestations()] == [kept, *new, replacement]
        assert index.count_events(name="Attested") == 4

    # -- projections and queries --------------------------------------------------
    def test_attestation_queries(
        self, world: World, keyring: Keyring, regulator: LocalAccount
    ) -> None:
        ledger, index, facade, bank, schema = (
            world.ledger,
            world.event_index,
            world.facade,
            world.bank,
            world.schema,
        )
        other_bank = self._member(ledger, keyring, "other-bank", Role.ATTESTER)
        second_schema: bytes = (
            facade._send(regulator, "registerSchema", "index-test-2", "bytes32 subject", False)
            .event("SchemaRegistered")
            .args["schema"]
        )
        index.follow()
        index.sync()
        chain = ledger.chain
        t0 = chain.advance_time(100)
        a1 = attest(facade, bank, schema, SUBJECT_A, 1)
        a2 = attest(facade, bank, second_schema, SUBJECT_B, 2)
        t1 = chain.advance_time(100)
        a3 = attest(facade, other_bank, schema, SUBJECT_A, 3)
        a4 = attest(facade, other_bank, schema, SUBJECT_B, 4, expiry=t1 + 10_000)
        t2 = chain.advance_time(100)
        a5 = attest(facade, bank, schema, SUBJECT_A, 5)

        def uids(**filters: Any) -> list[bytes]:
            return [a.uid for a in index.attestations(**filters)]

        assert uids() == [a1, a2, a3, a4, a5]
        assert uids(subject=SUBJECT_A) == [a1, a3, a5]
        assert uids(subject="0x" + SUBJECT_B.hex()) == [a2, a4]
        assert uids(attester=bank.address) == [a1, a2, a5]
        assert uids(attester=other_bank.address.lower()) == [a3, a4]
        assert uids(schema=second_schema) == [a2]
        assert uids(data_hash=record_hash(4)) == [a4]
        assert uids(since=t1) == [a3, a4, a5]
        assert uids(until=t1) == [a1, a2]
        assert uids(since=t1, until=t2) == [a3, a4]
        assert uids(subject=SUBJECT_A, attester=bank.address, since=t0) == [a1, a5]
        assert uids(limit=2) == [a1, a2]
        assert uids(limit=2, offset=2) == [a3, a4]
        assert uids(limit=2, offset=4) == [a5]
        assert uids(limit=None, offset=1) == [a2, a3, a4, a5]
        assert uids(newest_first=True, limit=2) == [a5, a4]
        assert uids(subject=keccak(b"nobody")) == []
        assert index.count_attestations() == 5
        assert index.count_attestations(subject=SUBJECT_A) == 3
        assert index.count_attestations(attester=other_bank.address, since=t1, until=t2) == 2
        assert index.count_attestations(schema=second_schema) == 1
        got = index.attestation(a4)
        assert got is not None
        assert got.expiry == t1 + 10_000
        assert got.validity(t2) is Validity.VALID
        assert got.validity(t1 + 10_000) is Validity.EXPIRED
        assert index.attestation(keccak(b"unknown")) is None
        with pytest.raises(LedgerValueError):
            index.attestations(subject=b"short")
        with pytest.raises(LedgerValueError):
            index.attestations(subject="0xzz")
        with pytest.raises(LedgerValueError):
            index.attestations(attester="not an address")
        with pytest.raises(LedgerValueError):
            index.attestations(limit=-1)
        with pytest.raises(LedgerValueError):
            index.attestations(offset=-1)

    def test_revocation_and_replacement(self, world: World) -> None:
        ledger, index, facade, bank, schema = world
        index.follow()
        revoked = attest(facade, bank, schema, SUBJECT_A, 1)
        replaced = attest(facade, bank, schema, SUBJECT_A, 2)
        reason = keccak(b"wrong amount")
        result = facade._send(bank, "revoke", revoked, reason)
        got = index.attestation(revoked)
        assert got is not None
        revoked_at = ledger.chain.backend.block(result.block_number).timestamp
        assert (got.revoked_at, got.revoker, got.revocation_reason) == (
            revoked_at,
            bank.address,
            reason,
        )
        assert got.validity(revoked_at) is Validity.REVOKED
        result = facade._send(
            bank, "replace", replaced, (SUBJECT_A, record_hash(2), ZERO32), record_hash(3), 0
        )
        new_uid = result.event("Attested").args["uid"]
        old, new = index.attestation(replaced), index.attestation(new_uid)
        assert old is not None
        assert new is not None
        assert old.replaced_by == new_uid
        assert old.validity(new.attested_at) is Validity.REPLACED
        assert (new.ref_uid, new.data_hash, new.replaced_by) == (replaced, record_hash(3), None)
        assert [
            e.name for e in index.events(contract="Attestations", from_block=result.block_number)
        ] == [
            "Attested",
            "Replaced",
        ]

    def test_members_and_enterprises(
        self, ledger: Ledger, index: EventIndex, keyring: Keyring, regulator: LocalAccount
    ) -> None:
        index.follow()
        index.sync()
        consortium = ledger.consortium
        bank = self._member(ledger, keyring, "bank", Role.ATTESTER, "Nanjing")
        registrar = self._member(ledger, keyring, "registrar", Role.REGISTRAR, "Hangzhou")
        consortium.set_roles(regulator, bank.address, Role.ATTESTER | Role.FINANCIER)
        reason = keccak(b"decision 7")
        consortium.suspend_member(regulator, registrar.address, reason)
        m = index.member(registrar.address)
        assert m is not None
        assert (m.suspended, m.suspension_reason, m.in_good_standing) == (True, reason, False)
        consortium.reinstate_member(regulator, registrar.address)
        key = keccak(b"x25519 public key")
        consortium.publish_encryption_key(bank, key)
        m = index.member(bank.address)
        assert m is not None
        assert (m.name, m.city, m.roles, m.encryption_key, m.admitted_by) == (
            "bank",
            City.NANJING,
            Role.ATTESTER | Role.FINANCIER,
            key,
            regulator.address,
        )
        assert m.changed_at >= m.admitted_at
        r = index.member(registrar.address.lower())
        assert r is not None
        assert (r.suspended, r.suspension_reason) == (False, None)
        assert [x.account for x in index.members()] == [
            regulator.address,
            ledger.receivables.address,
            bank.address,
            registrar.address,
        ]
        assert [x.account for x in index.members(role=Role.FINANCIER)] == [bank.address]
        assert [x.account for x in index.members(city="Hangzhou")] == [registrar.address]
        assert [x.account for x in index.members(limit=1, offset=2)] == [bank.address]
        assert index.member("0x" + "22" * 20) is None
        first, second = keyring.account("enterprise"), keyring.account("enterprise-new-key")
        consortium.bind_enterprise(registrar, first.address, SUBJECT_A)
        e = index.enterprise(SUBJECT_A)
        assert e is not None
        assert (e.account, e.registrar) == (first.address, registrar.address)
        consortium.rebind_enterprise(registrar, SUBJECT_A, second.address)
        assert index.enterprise(account=first.address) is None
        e = index.enterprise(account=second.address)
        assert e is not None
        assert e.subject == SUBJECT_A
        assert [x.subject for x in index.enterprises()] == [SUBJECT_A]
        with pytest.raises(LedgerValueError):
            index.enterprise()

    def test_batches_and_their_trees(self, world: World) -> None:
        ledger, index, facade, bank, schema = world
        index.follow()
        records = [(SUBJECT_A if i % 3 else SUBJECT_B, record_hash(i)) for i in range(37)]
        tree = MerkleTree([batch_leaf(s, h) for s, h in records])
        result = facade._send(bank, "anchorBatch", schema, tree.root, len(records), 0)
        batch_id = anchored_batch_id(result.event("BatchAnchored").args)
        assert batch_id == batch_id_of(tree.root, bank.address)
        batch = index.batch(batch_id)
        assert batch is not None
        assert (batch.root, batch.count, batch.attester, batch.schema, batch.tree_stored) == (
            tree.root,
            37,
            bank.address,
            schema,
            False,
        )
        with pytest.raises(BatchTreeNotStored):
            index.batch_proof(batch_id, 0)
        wrong = MerkleTree([batch_leaf(SUBJECT_A, record_hash(1000 + i)) for i in range(37)])
        with pytest.raises(BatchTreeMismatch, match="not the batch anchored"):
            index.store_batch_tree(batch_id, wrong, records)
        with pytest.raises(BatchTreeMismatch, match="does not hash"):
            index.store_batch_tree(batch_id, tree, [records[1], *records[1:]])
        assert index.store_batch_tree(batch_id, tree, records)
        assert not index.store_batch_tree(batch_id, tree, records)  # stored already
        for i in (0, 1, 17, 35, 36):
            proof = index.batch_proof(batch_id, i)
            assert proof == tree.proof(i)
            assert verify_proof(batch_leaf(*records[i]), proof, batch.root)
            (validity,) = facade._read(
                "batchRecordValidity", batch_id, BatchEntry(*records[i]).as_tuple(), proof
            )
            assert validity == Validity.VALID
        with pytest.raises(MerkleIndexError):
            index.batch_proof(batch_id, 37)
        assert index.batch_tree(batch_id).levels == tree.levels
        assert index.batch_proof(batch_id, 5) == tree.proof(5)  # from the cached tree
        found = index.find_batch_record(record_hash(17))
        assert found is not None
        assert (found.batch_id, found.index, found.subject, found.leaf, found.revoked_at) == (
            batch_id,
            17,
            SUBJECT_A,
            tree.leaf(17),
            0,
        )
        assert index.find_batch_record(record_hash(17), subject=SUBJECT_B) is None
        assert index.find_batch_record(keccak(b"never")) is None
        assert [r.index for r in index.batch_records(subject=SUBJECT_B)] == list(range(0, 37, 3))
        assert [r.index for r in index.batch_records(batch_id=batch_id, limit=3, offset=2)] == [
            2,
            3,
            4,
        ]
        # Revoking one record shows on it and on its batch.
        reason = keccak(b"duplicate")
        result = facade._send(
            bank,
            "revokeBatchRecord",
            batch_id,
            BatchEntry(*records[17]).as_tuple(),
            tree.proof(17),
            reason,
        )
        revoked_at = ledger.chain.backend.block(result.block_number).timestamp
        assert index.batch_record(batch_id, 17).revoked_at == revoked_at
        assert index.batch_record(batch_id, 16).revoked_at == 0
        batch = index.batch(batch_id)
        assert batch is not None
        assert (batch.revoked_records, batch.tree_stored) == (1, True)
        assert [b.batch_id for b in index.batches(attester=bank.address, schema=schema)] == [
            batch_id
        ]
        assert index.batches(attester=ledger.manifest.deployer) == []
        assert index.batches(since=batch.anchored_at + 1) == []

    def test_raw_events_in_chain_order(self, world: World) -> None:
        ledger, index, facade, bank, schema = world
        index.sync()
        uid = attest(facade, bank, schema, SUBJECT_A, 1)
        index.sync()
        events = list(index.events())
        # The index reads from the deployment's first block (the Forwarder's, which logs
        # nothing); the first event is the Consortium's constructor admitting the regulator.
        assert events[0].block_number >= ledger.manifest.deploy_block
        assert (events[0].name, events[0].tx_hash) == (
            "MemberAdmitted",
            ledger.manifest.contracts["Consortium"].deploy_tx,
        )
        assert [(e.block_number, e.tx_index, e.log_index) for e in events] == sorted(
            (e.block_number, e.tx_index, e.log_index) for e in events
        )
        assert [e.seq for e in events] == sorted(e.seq for e in events)
        assert {e.contract for e in events} == {"Consortium", "Attestations"}
        (attested,) = index.events(name="Attested")
        assert attested.args == {
            "uid": uid,
            "schema": schema,
            "subject": SUBJECT_A,
            "attester": bank.address,
            "dataHash": record_hash(1),
            "expiry": 0,
            "refUID": ZERO32,
        }
        assert attested.address == ledger.manifest.contracts["Attestations"].address
        assert attested.block_timestamp == index.block_timestamp(attested.block_number)
        assert list(index.events(to_block=ledger.manifest.deploy_block - 1)) == []
        assert list(index.events(from_block=attested.block_number)) == [attested]
        admitted = list(index.events(contract="Consortium", name="MemberAdmitted"))
        assert [e.args["account"] for e in admitted] == [
            ledger.manifest.deployer,
            ledger.receivables.address,
            bank.address,
        ]

    def test_a_projection_registered_late_catches_up(
        self,
        ledger: Ledger,
        facade: ContractFacade,
        bank: LocalAccount,
        schema: bytes,
        tmp_path: Path,
    ) -> None:
        path = tmp_path / "projections.sqlite"
        with EventIndex(path, ledger) as index:
            index.sync()
            attest(facade, bank, schema, SUBJECT_A, 1)
            index.sync()
            index.register(AttestedPerAttester())
            assert AttestedPerAttester.counts(index) == {bank.address: 1}
            attest(facade, bank, schema, SUBJECT_A, 2)
            index.sync()
            assert AttestedPerAttester.counts(index) == {bank.address: 2}
            with pytest.raises(ProjectionError, match="already registered"):
                index.register(AttestedPerAttester())
        # Events stored while it was not registered are folded in when it is again.
        with EventIndex(path, ledger) as index:
            attest(facade, bank, schema, SUBJECT_A, 3)
            index.sync()
        with EventIndex(path, ledger, projections=[AttestedPerAttester()]) as index:
            assert AttestedPerAttester.counts(index) == {bank.address: 3}
        with EventIndex(path, ledger, projections=[AttestedPerAttesterV2()]) as index:
            assert AttestedPerAttester.counts(index) == {bank.address: 3}  # rebuilt

        class Misspelt(AttestedPerAttester):
            name: ClassVar[str] = "misspelt"
            handles: ClassVar[frozenset[str]] = frozenset({"Atested"})

        with (
            EventIndex(":memory:", ledger) as index,
            pytest.raises(ProjectionError, match="Atested"),
        ):
            index.register(Misspelt())


def other_chain(manifest: Manifest) -> Manifest:
    """``manifest`` as if it were for chain 1."""
    return dataclasses.replace(manifest, chain_id=1)


class TestEventIndexEmbedded(EmbeddedChain, EventIndexConformance):
    """The event index on the embedded chain."""


class TestEventIndexRevm(RevmChain, EventIndexConformance):
    """On the embedded chain's revm engine."""


class TestEventIndexRevmOnDisk(RevmOnDiskChain, EventIndexConformance):
    """On the revm engine reading its state from disk on demand."""


class TestEventIndexAnvil(AnvilChain, EventIndexConformance):
    """The event index on a real anvil node."""


# -- without a node ---------------------------------------------------------------------


def bare_manifest() -> Manifest:
    """A manifest naming no contracts: enough for batch trees."""
    return Manifest(
        chain_id=1,
        network="none",
        deploy_block=1,
        deployed_at=0,
        deployer="0x" + "00" * 20,
        compiler="",
        sources_hash="",
    )


def test_a_large_batch_tree_round_trips(tmp_path: Path) -> None:
    n = 100_000
    rng = random.Random(7)
    subjects = [rng.randbytes(32) for _ in range(1_000)]
    records = [(subjects[i % 1_000], rng.randbytes(32)) for i in range(n)]
    tree = MerkleTree([batch_leaf(s, h) for s, h in records])
    batch_id = keccak(b"a large batch")
    with EventIndex.open(tmp_path / "trees.sqlite", bare_manifest()) as index:
        assert index.store_batch_tree(batch_id, tree, records)
    with EventIndex.open(tmp_path / "trees.sqlite", bare_manifest()) as index:
        for i in (0, 1, 65_535, 65_536, n - 2, n - 1):
            proof = index.batch_proof(batch_id, i)
            assert proof == tree.proof(i)
            assert verify_proof(batch_leaf(*records[i]), proof, tree.root)
        found = index.find_batch_record(records[77_777][1])
        assert found is not None
        assert (found.index, found.leaf) == (77_777, tree.leaf(77_777))
        assert len(index.batch_records(subject=subjects[3], limit=None)) == n // 1_000
        assert index.batch_tree(batch_id).root == tree.root
        with pytest.raises(BatchTreeMismatch, match="another tree"):
            index.store_batch_tree(batch_id, MerkleTree(tree.leaves[:-1]), records[:-1])


def test_a_one_record_batch_has_an_empty_proof() -> None:
    records = [(SUBJECT_A, record_hash(0))]
    tree = MerkleTree([batch_leaf(*records[0])])
    with EventIndex.open(":memory:", bare_manifest()) as index:
        index.store_batch_tree(b"\x01" * 32, tree, records)
        assert index.batch_proof(b"\x01" * 32, 0) == []
        with pytest.raises(BatchTreeMismatch, match="2 records"):
            index.store_batch_tree(b"\x02" * 32, tree, records * 2)


def test_a_file_that_is_no_index_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(IndexFormatError):
        EventIndex.open(garbage, bare_manifest())
    future = tmp_path / "future.sqlite"
    EventIndex.open(future, bare_manifest()).close()
    with sqlite3.connect(future) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
    db.close()
    with pytest.raises(IndexFormatError, match="format '99'"):
        EventIndex.open(future, bare_manifest())


def test_an_index_without_a_chain_cannot_be_fed() -> None:
    with EventIndex.open(":memory:", bare_manifest()) as index:
        with pytest.raises(EventIndexError, match="without a chain"):
            index.sync()
        assert index.attestations() == []


def test_threads_query_while_transactions_are_ingested(tmp_path: Path, keyring: Keyring) -> None:
    chain = connect("embedded")
    try:
        ledger = deploy_with_attestations(chain, keyring)
        facade = attestations_of(ledger)
        bank = LedgerFixtures()._member(ledger, keyring, "bank", Role.ATTESTER)
        schema: bytes = (
            facade._send(keyring.account("regulator"), "registerSchema", "t", "bytes32 s", True)
            .event("SchemaRegistered")
            .args["schema"]
        )
        with EventIndex(tmp_path / "threads.sqlite", ledger) as index:
            index.sync()
            index.follow()
            stop = threading.Event()
            errors: list[BaseException] = []

            def reader() -> None:
                try:
                    while not stop.is_set():
                        index.attestations(subject=SUBJECT_A, limit=5, newest_first=True)
                        index.count_attestations()
                        list(index.events(name="Attested"))
                        time.sleep(0.001)
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            readers = [threading.Thread(target=reader) for _ in range(2)]
            for t in readers:
                t.start()
            syncer = threading.Thread(target=lambda: [index.sync() for _ in range(20)])
            syncer.start()
            uids = [attest(facade, bank, schema, SUBJECT_A, n) for n in range(20)]
            syncer.join()
            stop.set()
            for t in readers:
                t.join()
            assert errors == []
            assert [a.uid for a in index.attestations(limit=None)] == uids
    finally:
        chain.close()
