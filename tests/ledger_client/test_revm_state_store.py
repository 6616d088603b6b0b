"""The revm chain on disk reads state on demand through its state server, bounded."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ledger_client import Keyring, Ledger, Manifest, Role, attach, connect
from ledger_client.chain.backends._store import CACHE_VARIABLE
from ledger_client.chain.backends.revm import RevmBackend
from ledger_client.chain.connection import Chain
from ledger_client.errors import LedgerConnectionError, LedgerValueError
from ledger_client.types import Validity
from tests.conftest import connect_pinned, deploy_with_bank

#: A bound below a deployment's state (~150 KiB, mostly code) and above what one
#: attestation works on (~55 KiB, the code it runs): past it every ~130 attestations.
SMALL = 96 * 2**10


def _open(data_dir: Path | None, cache_bytes: int | None = SMALL) -> Chain:
    return connect_pinned("revm", data_dir, cache_bytes)


def _backend(chain: Chain) -> RevmBackend:
    assert isinstance(chain.backend, RevmBackend)
    return chain.backend


def _ledger(chain: Chain) -> Ledger:
    return deploy_with_bank(chain, Keyring("revm-state-store"))


def _attest(ledger: Ledger, start: int, count: int) -> list[int]:
    bank = Keyring("revm-state-store").account("bank")
    loan = ledger.schemas["loan-repayment"]
    return [
        ledger.attestations.attest(
            bank, loan, b"\x01" * 32, (i + 1).to_bytes(32, "big")
        ).tx.gas_used
        for i in range(start, start + count)
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet waited for) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_the_cache_stays_bounded_as_the_chain_grows_past_it(tmp_path: Path) -> None:
    chain = _open(tmp_path)
    backend = _backend(chain)
    assert backend.state_server is not None
    assert backend.cache_limit == SMALL
    ledger = _ledger(chain)
    peak = 0
    for i in range(500):
        _attest(ledger, i, 1)
        peak = max(peak, backend.cached_state_bytes())
    # Recreated as it went: what it holds after each block is under the bound, while
    # the chain's state (the contracts' code, every attestation's slots) is well past it.
    assert backend.evm_recreations >= 3
    assert peak <= SMALL
    chain.close()


def test_a_restart_reads_only_what_it_needs(tmp_path: Path) -> None:
    chain = _open(tmp_path, cache_bytes=None)  # built in memory: the whole state
    ledger = _ledger(chain)
    _attest(ledger, 0, 150)
    ledger.manifest.save(tmp_path / "manifest.json")
    chain.close()

    again = _open(tmp_path, cache_bytes=2**20)
    server = _backend(again).state_server
    assert server is not None
    assert server.fetched() == (0, 0, 0)  # opening reads no state
    reopened = attach(again, Manifest.load(tmp_path / "manifest.json"))
    gas = _attest(reopened, 150, 1)
    accounts, slots, _ = server.fetched()
    with sqlite3.connect(tmp_path / "chain.sqlite") as db:
        (stored_slots,) = db.execute("SELECT COUNT(*) FROM revm_storage").fetchone()
    # One attestation reads a handful of accounts and slots (3 and 3 when written);
    # the store holds 150 attestations' slots, none of the others read.
    assert accounts <= 6, accounts
    assert slots <= 12, slots
    assert stored_slots > 40 * slots
    assert gas[0] > 57_000  # cold, as every transaction is
    again.close()


def test_gas_blocks_and_state_are_the_same_with_and_without_reading_on_demand(
    tmp_path: Path,
) -> None:
    in_memory, on_demand = _open(None), _open(tmp_path)
    ledgers = [_ledger(in_memory), _ledger(on_demand)]
    before_admission = in_memory.backend.block_number() - 1
    gas = [_attest(ledger, 0, 30) for ledger in ledgers]
    assert gas[0] == gas[1]
    assert _backend(on_demand).evm_recreations > 0
    assert in_memory.backend.block() == on_demand.backend.block()
    bank = Keyring("revm-state-store").account("bank").address
    assert in_memory.backend.balance(bank) == on_demand.backend.balance(bank)
    # Old-block calls and code read the same on both.
    for chain in (in_memory, on_demand):
        ledger = ledgers[0] if chain is in_memory else ledgers[1]
        assert not ledger.consortium.has_role(bank, Role.ATTESTER, block=before_admission)
        assert chain.backend.code(ledger.consortium.address) == in_memory.backend.code(
            ledgers[0].consortium.address
        )
    in_memory.close()
    on_demand.close()


def test_a_revert_on_demand_undoes_state_the_evm_no_longer_caches(tmp_path: Path) -> None:
    chain = _open(tmp_path)
    backend = _backend(chain)
    ledger = _ledger(chain)
    snap = chain.snapshot()
    head = backend.block()
    made = ledger.attestations.attest(
        Keyring("revm-state-store").account("bank"),
        ledger.schemas["loan-repayment"],
        b"\x01" * 32,
        b"\x07" * 32,
    )
    _attest(ledger, 0, 10)  # the EVM is recreated: the attestation is only on disk
    chain.revert(snap)
    assert backend.block() == head
    assert ledger.attestations.validity(made.uid) is not Validity.VALID
    ledger.manifest.save(tmp_path / "manifest.json")
    chain.close()
    again = _open(tmp_path)
    reopened = attach(again, Manifest.load(tmp_path / "manifest.json"))
    assert reopened.attestations.validity(made.uid) is not Validity.VALID
    # The same attestation again costs what it cost the first time: cold, as before.
    redo = reopened.attestations.attest(
        Keyring("revm-state-store").account("bank"),
        reopened.schemas["loan-repayment"],
        b"\x01" * 32,
        b"\x07" * 32,
    )
    assert redo.tx.gas_used == made.tx.gas_used
    again.close()


def test_the_state_server_is_stopped_by_pid_on_close(tmp_path: Path) -> None:
    chain = _open(tmp_path)
    server = _backend(chain).state_server
    assert server is not None
    assert _alive(server.pid)
    chain.close()
    assert not _alive(server.pid)


def test_the_state_server_exits_when_the_chain_process_dies(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from ledger_client import connect\n"
        f"chain = connect('revm', data_dir={str(tmp_path)!r}, cache_bytes=2**20)\n"
        "print(chain.backend.state_server.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert _alive(pid)
        parent.kill()  # SIGKILL: no close, no atexit
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)


def test_the_setting_turns_reading_on_demand_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_VARIABLE, "2")
    chain = connect("revm", data_dir=tmp_path)
    assert _backend(chain).cache_limit == 2 * 2**20
    assert _backend(chain).state_server is not None
    chain.close()
    monkeypatch.delenv(CACHE_VARIABLE)
    in_memory = connect("revm")  # no data directory: nothing to read from
    assert _backend(in_memory).state_server is None
    in_memory.close()
    with pytest.raises(LedgerValueError, match="not a size"):
        connect("revm", data_dir=tmp_path / "other", cache_bytes=-1)


def test_every_operation_bench_gas_measures_costs_the_same_gas_on_demand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every chain bench gas opens on revm, opened instead in a data directory of its
    # own with a 4 KiB bound: revm recreated after nearly every block, so most
    # transactions run on state read back from the file, and must cost what they
    # cost in memory (which test_engines holds equal to py-evm).
    from scripts.bench import bench_gas

    in_memory = bench_gas(batch_size=64, engine="revm")
    opened = itertools.count()
    original = RevmBackend.__init__

    def on_disk(self: RevmBackend, genesis_timestamp: int | None = None, **options: Any) -> None:
        options.setdefault("data_dir", tmp_path / f"chain-{next(opened)}")
        options.setdefault("cache_bytes", 4096)
        original(self, genesis_timestamp, **options)

    monkeypatch.setattr(RevmBackend, "__init__", on_disk)
    assert bench_gas(batch_size=64, engine="revm") == in_memory
    assert next(opened) > 1


def test_a_chain_opened_in_a_thread_that_ends_keeps_its_state_server(tmp_path: Path) -> None:
    # The server watches its parent process, not the thread that started it.
    opened: list[Chain] = []
    worker = threading.Thread(target=lambda: opened.append(_open(tmp_path)))
    worker.start()
    worker.join(30)
    chain = opened[0]
    time.sleep(1.0)  # longer than the server's look at its parent
    server = _backend(chain).state_server
    assert server is not None
    assert _alive(server.pid)
    chain.fund(Keyring("revm-state-store").account("bank").address)  # revm reads through it
    chain.close()


def test_a_lost_state_server_is_a_connection_error(tmp_path: Path) -> None:
    chain = _open(tmp_path)
    ledger = _ledger(chain)
    backend = _backend(chain)
    server = backend.state_server
    assert server is not None
    os.kill(server.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    # The attestation's new slot is read through the server (as is the cache's size
    # after the block): a connection error, not a refused transaction; closing works.
    with pytest.raises(LedgerConnectionError, match="state server"):
        _attest(ledger, 0, 1)
    chain.close()
