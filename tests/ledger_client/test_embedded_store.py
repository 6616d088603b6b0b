"""The embedded chain kept on disk: a restart, or a killed process, loses nothing mined."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ledger_client import Keyring, LedgerConnectionError, Manifest, Role, attach, connect, deploy
from ledger_client.types import Validity


def test_restart_keeps_blocks_state_and_uids(tmp_path: Path) -> None:
    ring = Keyring("store")
    regulator, bank = ring.account("regulator"), ring.account("bank")
    chain = connect("embedded", data_dir=tmp_path)
    chain.fund(regulator.address)
    chain.fund(bank.address)
    ledger = deploy(chain, regulator)
    ledger.consortium.admit_member(regulator, bank.address, "Bank", "Hefei", Role.ATTESTER)
    loan = ledger.schemas["loan-repayment"]
    made = ledger.attestations.attest(bank, loan, b"\x01" * 32, b"\x02" * 32)
    chain.advance_time(86_400)
    head = chain.backend.block()
    ledger.manifest.save(tmp_path / "manifest.json")
    chain.close()

    again = connect("embedded", data_dir=tmp_path)
    assert again.backend.block() == head
    reopened = attach(again, Manifest.load(tmp_path / "manifest.json"))
    assert reopened.attestations.validity(made.uid) is Validity.VALID
    assert [m.name for m in reopened.consortium.members()][-1] == "Bank"
    # The chain goes on from its last block, with nonces read from it.
    more = reopened.attestations.attest(bank, loan, b"\x01" * 32, b"\x03" * 32)
    assert more.tx.block_number == head.number + 1
    again.close()


def test_a_store_of_another_format_is_refused(tmp_path: Path) -> None:
    connect("embedded", data_dir=tmp_path).close()
    with sqlite3.connect(tmp_path / "chain.sqlite") as db:
        db.execute("UPDATE meta SET v = '99' WHERE k = 'format'")
    with pytest.raises(LedgerConnectionError, match="format '99'"):
        connect("embedded", data_dir=tmp_path)


WRITER = textwrap.dedent(
    """
    import sys
    from ledger_client import Keyring, Role, connect, deploy
    chain = connect("embedded", data_dir=sys.argv[1])
    ring = Keyring("killed")
    regulator, bank = ring.account("regulator"), ring.account("bank")
    chain.fund(regulator.address)
    chain.fund(bank.address)
    ledger = deploy(chain, regulator)
    ledger.manifest.save(sys.argv[1] + "/manifest.json")
    ledger.consortium.admit_member(regulator, bank.address, "Bank", "Hefei", Role.ATTESTER)
    loan = ledger.schemas["loan-repayment"]
    print("ready", flush=True)
    for i in range(1, 2000):
        made = ledger.attestations.attest(bank, loan, b"\\x01" * 32, i.to_bytes(32, "big"))
        print(made.uid.hex(), flush=True)
    """
)


def test_a_killed_writer_loses_no_mined_transaction(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    try:
        while len(seen) < 60 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.strip() != "ready":
                seen.append(line.strip())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(seen) >= 60, proc.stderr.read() if proc.stderr else ""
    chain = connect("embedded", data_dir=tmp_path)
    ledger = attach(chain, Manifest.load(tmp_path / "manifest.json"))
    for uid in seen:
        assert ledger.attestations.validity(bytes.fromhex(uid)) is Validity.VALID
    chain.close()


def test_block_time_makes_the_clock_repeatable() -> None:
    genesis = 1_767_225_600  # 2026-01-01T00:00:00Z, in the past: the wall clock is ignored
    for _ in range(2):
        chain = connect("embedded", genesis_timestamp=genesis, block_time=2)
        ring = Keyring("clock")
        chain.fund(ring.account("a").address)
        chain.fund(ring.account("b").address)
        assert [chain.backend.block(n).timestamp for n in (0, 1, 2)] == [
            genesis,
            genesis + 2,
            genesis + 4,
        ]
        chain.advance_time(86_400)
        chain.fund(ring.account("c").address)
        assert chain.now() == genesis + 4 + 86_400 + 2
