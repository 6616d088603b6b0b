"""Many view calls in one ``eth_call``: the ``BatchReader`` creation code, never deployed.

::

    reader = BatchReader(chain, block=head)
    values = reader.read([ViewCall(address, codec.fn("member"), (account,)), ...])
    # each item: the decoded outputs, or the ContractRevert (or ViewUndecodable) of that call
    reader.eth_calls  # node calls made so far

An ``eth_call`` with no ``to`` runs ``contracts/BatchReader.sol``'s constructor with
the calls as its arguments; the constructor ``staticcall``s each target and returns
the results packed as the would-be contract's code (the layout is in
``contracts/IBatchReader.sol``). So it needs no deployment and reads any deployment,
at any block, on every backend that answers ``eth_call``: py-evm, revm, anvil, geth.

Returned code is capped by EIP-170 and paid for at 200 gas a byte, and the creation
code by EIP-3860 on Shanghai nodes: calls go in chunks estimated to stay within all
three. Should a chunk fail anyway (a view far larger than its ABI suggests, a node's
lower gas cap), it is split in halves until it passes; a lone call that still fails
is made on its own with an ordinary ``eth_call``. A call that reverts inside a chunk
comes back as its own error and leaves the others' results alone.

Every call is made with the reader as ``msg.sender``: a view that answers only some
callers (an exposure, for the regulator) is read with an ordinary ``eth_call`` from
that caller instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.exceptions import DecodingError

from ledger_client.chain.abi import FunctionABI, split_tuple_type
from ledger_client.chain.artifacts import ContractArtifact, load_artifacts
from ledger_client.chain.connection import Chain
from ledger_client.chain.reverts import decode_revert
from ledger_client.errors import (
    ContractRevert,
    LedgerConnectionError,
    LedgerError,
    ViewUndecodable,
)

__all__ = ["BatchReader", "ViewCall", "ViewResult", "decode_view"]

#: EIP-170's cap on a contract's code, which the returned results count against.
MAX_OUTPUT_BYTES = 24_576
#: EIP-3860's cap on creation code (Shanghai and later nodes): reader code plus the calls.
MAX_INPUT_BYTES = 49_152
#: Calls per chunk at most, whatever their size: a chunk's gas grows with its calls
#: (a cold account and a few cold slots each, some 10,000 to 30,000 gas), and 200 of
#: them plus the returned code's deposit stay far below the 30M a node gives a call.
MAX_CALLS = 200
#: What a dynamic output (a string, bytes, an array) is guessed to take; a chunk that
#: guessed too little is split (see the module's docstring).
_DYNAMIC_GUESS = 192
_WORD = 32


ViewResult = tuple[Any, ...] | ContractRevert | ViewUndecodable


@dataclass(frozen=True, slots=True)
class ViewCall:
    """One view to read: a contract, one of its functions, the arguments."""

    to: str  # the contract's address
    fn: FunctionABI  # the view, from the contract's codec
    args: tuple[Any, ...] = ()  # its arguments, as the codec takes them

    def calldata(self) -> bytes:
        """Selector and encoded arguments."""
        return self.fn.encode(self.args)


def _static_size(t: str) -> int | None:
    """Bytes an ABI value of type ``t`` takes in place, or None when it is dynamic."""
    if t.endswith("]"):
        inner, count = t[: t.rindex("[")], t[t.rindex("[") + 1 : -1]
        if not count:
            return None
        size = _static_size(inner)
        return None if size is None else size * int(count)
    if t.startswith("("):
        total = 0
        for part in split_tuple_type(t):
            size = _static_size(part)
            if size is None:
                return None
            total += size
        return total
    if t in ("string", "bytes"):
        return None
    return _WORD


def output_estimate(fn: FunctionABI) -> int:
    """Bytes the reader is expected to return for one call of ``fn``, header included."""
    total = _WORD
    for t in fn.output_types:
        size = _static_size(t)
        total += _WORD + _DYNAMIC_GUESS if size is None else size
    return total


def _input_size(data: bytes) -> int:
    # An address word, an offset word, a length word, the calldata padded to words.
    return 3 * _WORD + -(-len(data) // _WORD) * _WORD


class BatchReader:
    """Reads views at one block, many to an ``eth_call``; counts the node calls it makes."""

    def __init__(
        self,
        chain: Chain,
        *,
        block: int | str = "latest",
        max_calls: int = MAX_CALLS,
        artifact: ContractArtifact | None = None,
    ) -> None:
        self.chain, self.block, self.max_calls = chain, block, max(1, max_calls)
        art = artifact or load_artifacts().contract("BatchReader")
        self._code, self._codec = art.bytecode, art.codec
        self.eth_calls = 0  # node calls made: one per chunk, and one per call read alone

    def read(self, calls: Sequence[ViewCall]) -> list[ViewResult]:
        """Each call's decoded outputs, or the error it ended in, in the order given."""
        return [
            answer if isinstance(answer, ContractRevert) else decode_view(call, answer)
            for call, answer in zip(calls, self.read_raw(calls), strict=True)
        ]

    def read_raw(
        self, calls: Sequence[ViewCall], encoded: Sequence[bytes] | None = None
    ) -> list[bytes | ContractRevert]:
        """Each call's output bytes, or its revert, in order; ``encoded`` is the calls'
        calldata when the caller has it already."""
        data = list(encoded) if encoded is not None else [c.calldata() for c in calls]
        answers: list[bytes | ContractRevert] = []
        for start, stop in self._chunks(calls, data):
            answers.extend(self._read_chunk(calls[start:stop], data[start:stop]))
        return answers

    def read_one(self, call: ViewCall, *, sender: str | None = None) -> ViewResult:
        """One view with an ordinary ``eth_call`` (from ``sender``, if given)."""
        answer = self._call_one(call.to, call.calldata(), sender)
        return answer if isinstance(answer, ContractRevert) else decode_view(call, answer)

    def _call_one(self, to: str, data: bytes, sender: str | None) -> bytes | ContractRevert:
        self.eth_calls += 1
        try:
            return self.chain.call(to, data, sender=sender, block=self.block)
        except ContractRevert as exc:
            return exc

    def _chunks(self, calls: Sequence[ViewCall], encoded: Sequence[bytes]) -> list[tuple[int, int]]:
        chunks: list[tuple[int, int]] = []
        start, out, into = 0, 0, len(self._code) + 4 * _WORD
        for i, (call, data) in enumerate(zip(calls, encoded, strict=True)):
            more_out, more_in = output_estimate(call.fn), _input_size(data)
            if i > start and (
                i - start >= self.max_calls
                or out + more_out > MAX_OUTPUT_BYTES
                or into + more_in > MAX_INPUT_BYTES
            ):
                chunks.append((start, i))
                start, out, into = i, 0, len(self._code) + 4 * _WORD
            out += more_out
            into += more_in
        if start < len(calls):
            chunks.append((start, len(calls)))
        return chunks

    def _read_chunk(
        self, calls: Sequence[ViewCall], encoded: Sequence[bytes]
    ) -> list[bytes | ContractRevert]:
        if len(calls) == 1:
            return [self._call_one(calls[0].to, encoded[0], None)]
        init = self._code + self._codec.encode_constructor([[c.to for c in calls], list(encoded)])
        self.eth_calls += 1
        try:
            packed = self.chain.call(None, init, block=self.block)
            return self._unpack(calls, encoded, packed)
        except LedgerConnectionError:
            raise
        except (LedgerError, _Malformed):
            # Over a cap after all (returned code, gas): halve until it fits.
            half = len(calls) // 2
            return [
                *self._read_chunk(calls[:half], encoded[:half]),
                *self._read_chunk(calls[half:], encoded[half:]),
            ]

    def _unpack(
        self, calls: Sequence[ViewCall], encoded: Sequence[bytes], packed: bytes
    ) -> list[bytes | ContractRevert]:
        results: list[bytes | ContractRevert] = []
        at = 0
        for call, data_in in zip(calls, encoded, strict=True):
            if at + _WORD > len(packed):
                raise _Malformed(f"{len(packed)} bytes end before call {len(results)}")
            header = int.from_bytes(packed[at : at + _WORD], "big")
            ok, size = header & 1, header >> 1
            at += _WORD
            data = packed[at : at + size]
            if len(data) != size:
                raise _Malformed(f"call {len(results)} claims {size} bytes past the end")
            at += -(-size // _WORD) * _WORD
            if ok:
                results.append(data)
            elif data:
                results.append(decode_revert(data))
            else:
                # No revert data: a bare revert, or a view the chunk starved of gas
                # (the EVM keeps 1/64 back, not enough for what follows): read it alone.
                results.append(self._call_one(call.to, data_in, None))
        if at != len(packed):
            raise _Malformed(f"{len(packed) - at} bytes left after {len(calls)} calls")
        return results


class _Malformed(Exception):
    """The reader's output does not parse: never expected, so the chunk is read again split."""


def decode_view(call: ViewCall, raw: bytes) -> ViewResult:
    """The view's decoded outputs, or ViewUndecodable when its ABI does not fit ``raw``."""
    try:
        return call.fn.decode_output(raw)
    except (DecodingError, ValueError, OverflowError) as exc:
        return ViewUndecodable(
            f"{call.fn.name} at {call.to} returned {len(raw)} byte(s) its ABI cannot decode: {exc}"
        )
