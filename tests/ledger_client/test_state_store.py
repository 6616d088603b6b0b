"""The py-evm chain on disk reads state on demand: a bounded cache, a restart that reads little."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_client import Keyring, Ledger, LedgerConnectionError, Manifest, attach
from ledger_client.chain.backends._store import (
    CACHE_VARIABLE,
    ChainStore,
    StoreDB,
    cache_bytes_from_env,
    entry_size,
)
from ledger_client.chain.backends.embedded import EmbeddedBackend
from ledger_client.chain.connection import Chain
from ledger_client.errors import LedgerValueError
from ledger_client.types import Validity
from tests.conftest import connect_pinned, deploy_with_bank

#: A cache that holds a handful of entries: almost every read goes to the file.
TINY = 4 * 2**10


def _open(data_dir: Path | None, cache_bytes: int | None = TINY) -> Chain:
    return connect_pinned("pyevm", data_dir, cache_bytes)


def _state_db(chain: Chain) -> StoreDB:
    backend = chain.backend
    assert isinstance(backend, EmbeddedBackend)
    assert backend.state_db is not None
    return backend.state_db


def _roots(chain: Chain) -> tuple[object, ...]:
    backend = chain.backend
    assert isinstance(backend, EmbeddedBackend)
    head = backend._pyevm.chain.get_canonical_head()
    return (
        head.block_number,
        head.timestamp,
        head.state_root,
        head.receipt_root,
        head.transaction_root,
    )


def _ledger(chain: Chain) -> Ledger:
    return deploy_with_bank(chain, Keyring("state-store"))


def _attest(ledger: Ledger, n: int, first: int = 1) -> list[bytes]:
    bank = Keyring("state-store").account("bank")
    loan = ledger.schemas["loan-repayment"]
    return [
        ledger.attestations.attest(bank, loan, b"\x01" * 32, i.to_bytes(32, "big")).uid
        for i in range(first, first + n)
    ]


def _assert_within_bound(db: StoreDB) -> None:
    # Recounted from the entries themselves, not taken from the cache's own tally.
    held = sum(entry_size(k, v) for k, v in db.cached())
    assert held == db.cache_bytes
    assert held <= db.cache_limit


def test_state_is_read_back_after_a_restart_through_a_tiny_cache(tmp_path: Path) -> None:
    chain = _open(tmp_path)
    ledger = _ledger(chain)
    uids = _attest(ledger, 12)
    head = chain.backend.block()
    ledger.manifest.save(tmp_path / "manifest.json")
    chain.close()

    again = _open(tmp_path)
    db = _state_db(again)
    assert again.backend.block() == head
    reopened = attach(again, Manifest.load(tmp_path / "manifest.json"))
    assert [reopened.attestations.validity(uid) for uid in uids] == [Validity.VALID] * 12
    assert [m.name for m in reopened.consortium.members()][-1] == "Bank"
    more = _attest(reopened, 1, first=100)
    assert reopened.attestations.validity(more[0]) is Validity.VALID
    assert again.backend.block().number == head.number + 1
    # The cache could not hold the state: it was read from the file, and stayed small.
    assert db.store.reads > 100
    _assert_within_bound(db)
    again.close()


def test_snapshot_and_revert_through_a_tiny_cache_match_a_chain_in_memory(
    tmp_path: Path,
) -> None:
    heads, roots = [], []
    for data_dir in (tmp_path, None):
        chain = _open(data_dir)
        ledger = _ledger(chain)
        kept = _attest(ledger, 3)
        snap = chain.snapshot()
        dropped = _attest(ledger, 4, first=10)
        assert ledger.attestations.validity(dropped[-1]) is Validity.VALID
        chain.revert(snap)
        # Written and cached before the revert, gone after it.
        assert [ledger.attestations.validity(u) for u in dropped] == [Validity.UNKNOWN] * 4
        assert [ledger.attestations.validity(u) for u in kept] == [Validity.VALID] * 3
        after = _attest(ledger, 2, first=20)
        chain.advance_time(86_400)
        heads.append(chain.backend.block())
        roots.append(_roots(chain))
        if data_dir is not None:
            _assert_within_bound(_state_db(chain))
            ledger.manifest.save(tmp_path / "manifest.json")
            chain.close()
            again = _open(tmp_path)
            reopened = attach(again, Manifest.load(tmp_path / "manifest.json"))
            assert again.backend.block() == heads[0]
            assert [reopened.attestations.validity(u) for u in dropped] == [Validity.UNKNOWN] * 4
            assert [reopened.attestations.validity(u) for u in kept + after] == [Validity.VALID] * 5
            again.close()
        else:
            chain.close()
    # The same state, receipts and transactions: the store changed nothing py-evm
    # computed (block hashes differ: eth-tester draws each block's mix hash at random).
    assert roots[0] == roots[1]


def test_the_cache_stays_within_its_bound_while_the_chain_grows(tmp_path: Path) -> None:
    limit = 64 * 2**10
    chain = _open(tmp_path, cache_bytes=limit)
    db = _state_db(chain)
    ledger = _ledger(chain)
    bank = Keyring("state-store").account("bank")
    loan = ledger.schemas["loan-repayment"]
    most_entries = 0
    for i in range(1, 151):
        ledger.attestations.attest(bank, loan, b"\x01" * 32, i.to_bytes(32, "big"))
        assert not db.pending  # each block's writes went to the file with it
        _assert_within_bound(db)
        most_entries = max(most_entries, len(list(db.cached())))
    # The store outgrew the cache many times over; memory held only the bound.
    assert db.store.key_count() > 10 * most_entries
    assert db.cache_bytes > limit // 2  # and the cache is used, not bypassed
    chain.close()


def test_a_restart_reads_a_few_keys_not_the_store(tmp_path: Path) -> None:
    chain = _open(tmp_path, cache_bytes=None)
    ledger = _ledger(chain)
    _attest(ledger, 60)
    head = chain.backend.block()
    chain.close()

    again = _open(tmp_path, cache_bytes=None)
    db = _state_db(again)
    assert again.backend.block() == head
    assert again.backend.nonce(Keyring("state-store").account("bank").address) == 60
    keys = db.store.key_count()
    assert keys > 1_000
    # Opening and reading the head took a few dozen lookups, whatever the chain's length.
    assert db.store.reads < 60
    assert len(list(db.cached())) < 60
    again.close()


def test_a_failed_flush_keeps_the_writes_pending_and_visible(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "kv.sqlite")
    db = StoreDB(store, cache_bytes=TINY)
    db[b"a"] = b"1"
    db.flush()
    db[b"b"] = b"2"
    del db[b"a"]

    def broken(changes: dict[bytes, bytes | None], meta: dict[str, str] | None = None) -> None:
        raise OSError("disk full")

    with pytest.MonkeyPatch.context() as patch:  # the disk is full until the block ends
        patch.setattr(store, "write", broken)
        with pytest.raises(OSError, match="disk full"):
            db.flush()
        assert db[b"b"] == b"2"
        assert b"a" not in db
    assert db.flush() == 2
    fresh = StoreDB(store, cache_bytes=TINY)
    assert fresh[b"b"] == b"2"
    assert b"a" not in fresh
    with pytest.raises(KeyError):
        del fresh[b"a"]
    store.close()


def test_an_absent_key_once_written_is_found(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "kv.sqlite")
    db = StoreDB(store, cache_bytes=TINY)
    assert b"k" not in db  # now cached as absent
    db[b"k"] = b"v"
    assert db[b"k"] == b"v"
    db.flush()
    assert db[b"k"] == b"v"
    assert store.get(b"k") == b"v"
    store.close()


def test_the_cache_bound_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_VARIABLE, "1.5")
    assert cache_bytes_from_env() == 3 * 2**19
    monkeypatch.setenv(CACHE_VARIABLE, "lots")
    with pytest.raises(LedgerConnectionError, match=CACHE_VARIABLE):
        cache_bytes_from_env()
    store = ChainStore(tmp_path / "kv.sqlite")
    with pytest.raises(LedgerValueError):
        StoreDB(store, cache_bytes=-1)
    store.close()
