"""Revert data from every backend's exceptions, decoded into named errors."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from eth_tester.exceptions import TransactionFailed
from web3.exceptions import ContractCustomError

from ledger_client.chain.reverts import decode_revert, error_class, revert_data_from
from ledger_client.errors import (
    ConsortiumMemberSuspended,
    ConsortiumUnauthorized,
    ContractRevert,
    LedgerError,
    UnknownRevert,
)

ACCOUNT = "0x6f71E6019704eB549a43f25d1a893083f2BbC01D"
DATA = ConsortiumUnauthorized.selector + encode(["address", "uint8"], [ACCOUNT, 16])


def test_decodes_a_custom_error_with_its_arguments() -> None:
    exc = decode_revert(DATA, tx_hash="0xabc")
    assert isinstance(exc, ConsortiumUnauthorized)
    assert isinstance(exc, ContractRevert)
    assert isinstance(exc, LedgerError)
    assert exc.fields == {"account": ACCOUNT, "role": 16}
    assert exc.account == ACCOUNT
    assert exc.tx_hash == "0xabc"
    assert str(exc) == f"ConsortiumUnauthorized(account={ACCOUNT}, role=16)"
    assert exc.kind == "forbidden"


def test_error_string_and_panic_and_unknown() -> None:
    msg = decode_revert(bytes.fromhex("08c379a0") + encode(["string"], ["nope"]))
    assert isinstance(msg, UnknownRevert)
    assert str(msg) == "reverted: nope"
    panic = decode_revert(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11]))
    assert "arithmetic overflow" in str(panic)
    unknown = decode_revert(bytes.fromhex("deadbeef"))
    assert isinstance(unknown, UnknownRevert)
    assert "0xdeadbeef" in str(unknown)
    assert isinstance(decode_revert(b""), UnknownRevert)


def test_truncated_arguments_do_not_crash() -> None:
    assert isinstance(decode_revert(DATA[:20]), UnknownRevert)


@pytest.mark.parametrize(
    "exc",
    [
        TransactionFailed(DATA),
        TransactionFailed(repr(DATA)),
        TransactionFailed("execution reverted: " + repr(DATA)),
        TransactionFailed(TransactionFailed(DATA)),
        ContractCustomError("0x" + DATA.hex(), data="0x" + DATA.hex()),
    ],
)
def test_revert_data_from_each_backend_form(exc: BaseException) -> None:
    assert revert_data_from(exc) == DATA


def test_no_revert_data() -> None:
    assert revert_data_from(TransactionFailed("out of gas")) is None


def test_error_class_lookup() -> None:
    assert error_class("ConsortiumMemberSuspended") is ConsortiumMemberSuspended
    with pytest.raises(KeyError):
        error_class("NoSuchError")


def test_each_error_names_the_contract_that_declares_it() -> None:
    """An error prefixed with a contract's whole name belongs to it, even a name of two words
    (BatchReaderLengthMismatch is BatchReader's, not a contract called Batch)."""
    from ledger_client.chain.artifacts import load_artifacts
    from ledger_client.errors.contract import ERRORS

    names = set(load_artifacts().contracts)
    assert "BatchReader" in names
    checked = 0
    for error in ERRORS:
        owners = [n for n in names if error.__name__.startswith(n) and error.__name__ != n]
        if owners:
            assert error.contract == max(owners, key=len), error.__name__
            checked += 1
    assert checked > 20
