"""The embedded chain's two engines, py-evm and revm: the same gas, blocks and rules."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from eth_account.types import TransactionDictType
from eth_typing import ChecksumAddress

from ledger_client import Keyring, LedgerConnectionError, Role, connect, deploy
from ledger_client.chain.backends import ENGINE_VARIABLE, default_engine, stored_engine
from ledger_client.chain.backends._txcodec import rlp_encode, sign_dynamic_fee_tx
from ledger_client.errors import LedgerValueError, TransactionError
from scripts.bench import bench_gas


def test_every_operation_bench_gas_measures_costs_the_same_gas_on_both_engines() -> None:
    # Each engine on a fresh chain with the pinned clock: the same calldata byte for
    # byte, so any difference is the engine's. pyrevm left alone keeps accounts and
    # slots warm across transactions (51,158 gas for an attest instead of 57,6xx):
    # every steady-state figure below would then be lower on revm.
    on_pyevm = bench_gas(batch_size=64, engine="pyevm")
    on_revm = bench_gas(batch_size=64, engine="revm")
    assert on_revm == on_pyevm
    assert on_revm["attest_gas"] > 57_000  # a cold attest, not the warm 51,158


def test_the_client_signs_the_bytes_eth_account_signs() -> None:
    key = Keyring("codec").account("bank")
    for to, value, data in (
        ("0x" + "ab" * 20, 0, b""),
        (None, 0, bytes(range(256)) * 3),  # a creation with calldata longer than 55 bytes
        ("0x" + "01" * 20, 10**21, b"\x00\x7f\x80"),
    ):
        tx: TransactionDictType = {
            "type": 2,
            "chainId": 131277322940537,
            "nonce": 7,
            "gas": 5_000_000,
            "maxFeePerGas": 100 * 10**9,
            "maxPriorityFeePerGas": 1,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = _checksum(to)
        expected = key.sign_transaction(tx)
        raw, tx_hash = sign_dynamic_fee_tx(
            bytes(key.key),
            chain_id=131277322940537,
            nonce=7,
            max_priority_fee_per_gas=1,
            max_fee_per_gas=100 * 10**9,
            gas=5_000_000,
            to=to,
            value=value,
            data=data,
        )
        assert raw == bytes(expected.raw_transaction)
        assert tx_hash == bytes(expected.hash)


def test_rlp_of_long_lists_and_refusal_of_negatives() -> None:
    import rlp

    item = [b"x" * 60, [1, 2, [b""]], 2**70, 0]
    assert rlp_encode(item) == rlp.encode(item)
    with pytest.raises(ValueError, match="negative"):
        rlp_encode(-1)


def _checksum(address: str) -> ChecksumAddress:
    from eth_utils.address import to_checksum_address

    return to_checksum_address(address)


def test_a_raw_transaction_from_outside_is_decoded_and_its_signature_checked() -> None:
    chain = connect("revm")
    ring = Keyring("raw")
    payer, payee = ring.account("payer"), ring.account("payee")
    chain.fund(payer.address, 10**18)
    signed = payer.sign_transaction(
        {
            "type": 2,
            "chainId": chain.chain_id,
            "nonce": 0,
            "gas": 21_000,
            "maxFeePerGas": 100 * 10**9,
            "maxPriorityFeePerGas": 1,
            "to": payee.address,
            "value": 12_345,
            "data": b"",
        }
    )
    tx_hash = chain.backend.send_raw_transaction(bytes(signed.raw_transaction))
    receipt = chain.backend.wait_for_receipt(tx_hash)
    assert receipt.status == 1
    assert receipt.gas_used == 21_000
    assert chain.backend.balance(payee.address) == 12_345
    assert chain.backend.nonce(payer.address) == 1
    # A flipped bit in the signature recovers another sender, who has no funds.
    forged = bytearray(signed.raw_transaction)
    forged[-5] ^= 1
    with pytest.raises(TransactionError, match="refused"):
        chain.backend.send_raw_transaction(bytes(forged))
    other_chain = payer.sign_transaction(
        {
            "type": 2,
            "chainId": 1,
            "nonce": 1,
            "gas": 21_000,
            "maxFeePerGas": 100 * 10**9,
            "maxPriorityFeePerGas": 1,
            "to": payee.address,
            "value": 1,
            "data": b"",
        }
    )
    with pytest.raises(TransactionError, match="signed for chain 1"):
        chain.backend.send_raw_transaction(bytes(other_chain.raw_transaction))
    chain.close()


@pytest.mark.parametrize("cache_bytes", [None, 4096], ids=["in-memory", "on-demand"])
def test_revm_reads_old_blocks_reverts_snapshots_and_keeps_both_on_disk(
    tmp_path: Path, cache_bytes: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On demand, the bound is so small the EVM is recreated after nearly every block,
    # and only the last two blocks stay in memory: the rest are read from the file.
    from ledger_client.chain.backends import revm

    monkeypatch.setattr(revm, "HELD_BLOCKS", 2)
    ring = Keyring("revm-store")
    regulator, bank = ring.account("regulator"), ring.account("bank")
    chain = connect("revm", data_dir=tmp_path, cache_bytes=cache_bytes)
    chain.fund(regulator.address)
    chain.fund(bank.address)
    ledger = deploy(chain, regulator)
    before = chain.backend.block_number()
    ledger.consortium.admit_member(regulator, bank.address, "Bank", "Hefei", Role.ATTESTER)
    admitted = chain.backend.block_number()
    assert ledger.consortium.has_role(bank.address, Role.ATTESTER)
    # A call at an old block sees that block's state, and leaves today's untouched.
    assert not ledger.consortium.has_role(bank.address, Role.ATTESTER, block=before)
    assert ledger.consortium.has_role(bank.address, Role.ATTESTER, block=admitted)
    assert chain.backend.code(ledger.consortium.address, before)
    assert chain.backend.code(ledger.consortium.address, 0) == b""
    snap = chain.snapshot()
    loan = ledger.schemas["loan-repayment"]
    made = ledger.attestations.attest(bank, loan, b"\x01" * 32, b"\x02" * 32)
    chain.revert(snap)
    assert chain.backend.block_number() == admitted
    assert chain.backend.receipt_if_mined(made.tx.tx_hash) is None
    with pytest.raises(LedgerValueError, match="no snapshot"):
        chain.revert(12345)
    kept = ledger.attestations.attest(bank, loan, b"\x01" * 32, b"\x03" * 32)
    head = chain.backend.block()
    ledger.manifest.save(tmp_path / "manifest.json")
    chain.close()

    again = connect("revm", data_dir=tmp_path, cache_bytes=cache_bytes)
    assert again.backend.block() == head
    assert again.backend.receipt_if_mined(kept.tx.tx_hash) == kept.tx.receipt
    assert again.backend.receipt_if_mined(made.tx.tx_hash) is None
    from ledger_client import Manifest, attach

    reopened = attach(again, Manifest.load(tmp_path / "manifest.json"))
    assert not reopened.consortium.has_role(bank.address, Role.ATTESTER, block=before)
    more = reopened.attestations.attest(bank, loan, b"\x01" * 32, b"\x04" * 32)
    assert more.tx.block_number == head.number + 1
    assert more.tx.gas_used == kept.tx.gas_used
    again.close()


def test_an_engine_refuses_the_other_engines_store(tmp_path: Path) -> None:
    connect("pyevm", data_dir=tmp_path / "py").close()
    connect("revm", data_dir=tmp_path / "rs").close()
    with pytest.raises(LedgerConnectionError, match="revm engine reads"):
        connect("revm", data_dir=tmp_path / "py")
    with pytest.raises(LedgerConnectionError, match="format 'revm-1'"):
        connect("pyevm", data_dir=tmp_path / "rs")
    # Refused before anything was written: py-evm's store is as it was, and opens.
    with sqlite3.connect(tmp_path / "py" / "chain.sqlite") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert not any(name.startswith("revm_") for name in tables)
    connect("pyevm", data_dir=tmp_path / "py").close()


def test_embedded_opens_a_kept_chain_on_the_engine_that_wrote_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The setting picks the engine of a new chain; a kept one says which engine reads it."""
    ring = Keyring("engines")
    kind = {"pyevm": "embedded", "revm": "revm"}  # each backend's kind
    for written_by, setting in (("revm", "pyevm"), ("pyevm", "revm")):
        home = tmp_path / written_by
        chain = connect(written_by, data_dir=home)
        chain.fund(ring.account("bank").address)
        head = chain.backend.block()
        chain.close()
        assert stored_engine(home) == written_by
        monkeypatch.setenv(ENGINE_VARIABLE, setting)
        again = connect("embedded", data_dir=home)
        assert again.backend.kind == kind[written_by]
        assert again.backend.block() == head
        again.close()
        # A new directory takes the setting's engine.
        fresh = connect("embedded", data_dir=tmp_path / f"new-{setting}")
        assert fresh.backend.kind == kind[setting]
        fresh.close()
    assert stored_engine(tmp_path / "nothing-here") is None


def test_the_engine_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENGINE_VARIABLE, raising=False)
    assert default_engine() == "revm"
    assert connect("embedded").backend.kind == "revm"
    monkeypatch.setenv(ENGINE_VARIABLE, "pyevm")
    assert connect("embedded").backend.kind == "embedded"
    monkeypatch.setenv(ENGINE_VARIABLE, "geth")
    with pytest.raises(LedgerConnectionError, match="names no embedded engine"):
        connect("embedded")


def test_bench_engines_measures_each_engine_at_one_gas() -> None:
    from scripts.bench import bench_engines

    figures = bench_engines(count=5, rounds=1, anvil=False)
    assert set(figures["tx_per_s"]) == {"pyevm", "revm"}
    assert all(rate > 0 for rate in figures["tx_per_s"].values())
    assert figures["attest_gas"]["pyevm"] == figures["attest_gas"]["revm"]
