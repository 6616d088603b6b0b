"""Turning revert data into named exceptions.

web3.py does not decode Solidity custom errors, and each backend reports a
revert differently (eth-tester raises ``TransactionFailed`` with the raw bytes,
sometimes rendered into a string; a JSON-RPC node answers with hex data that
web3 wraps in ``ContractCustomError``). Both backends hand the bytes to
:func:`decode_revert`, which looks the 4-byte selector up among the classes
generated from the ABIs and returns e.g. ``ConsortiumMemberSuspended(account=…)``.
"""

from __future__ import annotations

import ast
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from ledger_client.addresses import to_checksum_address
from ledger_client.errors import ContractRevert, UnknownRevert
from ledger_client.errors.contract import ERRORS

_BY_SELECTOR: dict[bytes, type[ContractRevert]] = {cls.selector: cls for cls in ERRORS}
_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string), from require/revert with a message
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256), from assert, overflow, bad index
_PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x31: "pop from an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


def error_class(name: str) -> type[ContractRevert]:
    """The exception class of the custom error called ``name``."""
    for cls in ERRORS:
        if cls.__name__ == name:
            return cls
    raise KeyError(name)


def decode_revert(data: bytes, tx_hash: str | None = None) -> ContractRevert:
    """The exception a revert with ``data`` stands for."""
    selector, payload = data[:4], data[4:]
    cls = _BY_SELECTOR.get(selector)
    if cls is not None:
        try:
            values = abi_decode(cls.param_types, payload)
        except (DecodingError, ValueError, OverflowError):
            return UnknownRevert(data, tx_hash)
        fields = {
            name: _python_value(typ, value)
            for name, typ, value in zip(cls.param_names, cls.param_types, values, strict=True)
        }
        return cls(tx_hash=tx_hash, **fields)
    if selector == _ERROR_STRING:
        try:
            (message,) = abi_decode(("string",), payload)
        except (DecodingError, ValueError):
            return UnknownRevert(data, tx_hash)
        return UnknownRevert(data, tx_hash, reason=str(message))
    if selector == _PANIC:
        try:
            (code,) = abi_decode(("uint256",), payload)
        except (DecodingError, ValueError):
            return UnknownRevert(data, tx_hash)
        return UnknownRevert(data, tx_hash, reason=f"panic: {_PANIC_CODES.get(code, hex(code))}")
    return UnknownRevert(data, tx_hash)


def revert_data_from(exc: BaseException) -> bytes | None:
    """The raw revert data carried by a backend's exception, or None when it has none.

    Handles eth-tester's ``TransactionFailed`` (bytes, a ``Revert`` wrapping bytes,
    or a string rendering of either) and web3's ``ContractLogicError`` family
    (hex ``data``).
    """
    data = getattr(exc, "data", None)
    if isinstance(data, bytes):
        return data
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            pass
    for arg in exc.args:
        found = _bytes_in(arg)
        if found is not None:
            return found
    return None


def _bytes_in(arg: Any) -> bytes | None:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, BaseException):
        return revert_data_from(arg)
    if isinstance(arg, str):
        text = arg.removeprefix("execution reverted: ").strip()
        if text.startswith("0x"):
            try:
                return bytes.fromhex(text[2:])
            except ValueError:
                return None
        if text.startswith(("b'", 'b"')):
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return None
            return value if isinstance(value, bytes) else None
    return None


def _python_value(typ: str, value: Any) -> Any:
    if typ == "address":
        return to_checksum_address(value)
    return value
