"""A small ABI codec over ``eth_abi``: encode calls, decode results and logs.

The client encodes and decodes with ``eth_abi`` directly rather than through
web3's contract objects: it is several times faster on the hot path (every
simulated transaction goes through here), and it works the same whichever
backend carries the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak

from ledger_client.addresses import to_checksum_address
from ledger_client.errors import LedgerValueError


def abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type string of an ABI parameter (tuples spelled out)."""
    t = str(param["type"])
    if t.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param["components"])
        return f"({inner}){t[5:]}"
    return t


@dataclass(frozen=True, slots=True)
class Log:
    """A log entry as the chain returned it, independent of the backend."""

    address: str  # checksum address of the emitting contract
    topics: tuple[bytes, ...]  # topic0 is the event signature hash
    data: bytes
    block_number: int
    tx_hash: str  # 0x-prefixed
    log_index: int


@dataclass(frozen=True, slots=True)
class Event:
    """A decoded event."""

    name: str  # the Solidity event name, e.g. "MemberAdmitted"
    args: dict[str, Any]  # decoded arguments by name
    address: str  # emitting contract
    block_number: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True, slots=True)
class FunctionABI:
    """One function of a contract."""

    name: str
    selector: bytes
    input_types: tuple[str, ...]
    input_names: tuple[str, ...]
    output_types: tuple[str, ...]
    mutability: str

    def encode(self, args: Sequence[Any]) -> bytes:
        """Calldata for a call with ``args``."""
        if len(args) != len(self.input_types):
            raise LedgerValueError(
                f"{self.name} takes {len(self.input_types)} arguments, got {len(args)}"
            )
        return self.selector + abi_encode(self.input_types, _normalise(self.input_types, args))

    def decode_output(self, data: bytes) -> tuple[Any, ...]:
        """The decoded return values."""
        return _postprocess(self.output_types, abi_decode(self.output_types, data))


@dataclass(frozen=True, slots=True)
class EventABI:
    """One event of a contract."""

    name: str
    topic0: bytes
    names: tuple[str, ...]  # every parameter in declaration order
    indexed: tuple[bool, ...]
    types: tuple[str, ...]
    data_types: tuple[str, ...] = field(default=())

    def decode(self, log: Log) -> Event:
        """Decode ``log``, which must carry this event's topic0."""
        data_values = iter(abi_decode(self.data_types, log.data)) if self.data_types else iter(())
        topics = iter(log.topics[1:])
        args: dict[str, Any] = {}
        for name, is_indexed, typ in zip(self.names, self.indexed, self.types, strict=True):
            if is_indexed:
                topic = next(topics)
                if typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("("):
                    args[name] = topic  # dynamic indexed values are stored as their hash
                else:
                    args[name] = _postprocess((typ,), abi_decode((typ,), topic))[0]
            else:
                args[name] = _postprocess((typ,), (next(data_values),))[0]
        return Event(self.name, args, log.address, log.block_number, log.tx_hash, log.log_index)


class ContractABI:
    """Functions, events and errors of one contract's ABI."""

    def __init__(self, name: str, abi: Sequence[Mapping[str, Any]]) -> None:
        self.name = name
        self.abi = list(abi)
        self.functions: dict[str, FunctionABI] = {}
        self.events: dict[str, EventABI] = {}
        self.events_by_topic: dict[bytes, EventABI] = {}
        self.constructor_types: tuple[str, ...] = ()
        for item in abi:
            kind = item.get("type")
            if kind == "constructor":
                self.constructor_types = tuple(abi_type(i) for i in item["inputs"])
            elif kind == "function":
                types = tuple(abi_type(i) for i in item["inputs"])
                sig = f"{item['name']}({','.join(types)})"
                if item["name"] in self.functions:
                    raise LedgerValueError(f"{name}.{item['name']} is overloaded; not supported")
                self.functions[item["name"]] = FunctionABI(
                    name=item["name"],
                    selector=keccak(sig.encode())[:4],
                    input_types=types,
                    input_names=tuple(i["name"] for i in item["inputs"]),
                    output_types=tuple(abi_type(o) for o in item.get("outputs", [])),
                    mutability=item.get("stateMutability", "nonpayable"),
                )
            elif kind == "event":
                types = tuple(abi_type(i) for i in item["inputs"])
                sig = f"{item['name']}({','.join(types)})"
                ev = EventABI(
                    name=item["name"],
                    topic0=keccak(sig.encode()),
                    names=tuple(i["name"] for i in item["inputs"]),
                    indexed=tuple(bool(i.get("indexed")) for i in item["inputs"]),
                    types=types,
                    data_types=tuple(abi_type(i) for i in item["inputs"] if not i.get("indexed")),
                )
                self.events[ev.name] = ev
                self.events_by_topic[ev.topic0] = ev

    def encode_constructor(self, args: Sequence[Any]) -> bytes:
        """The ABI-encoded constructor arguments, to append to the creation code."""
        if len(args) != len(self.constructor_types):
            raise LedgerValueError(
                f"{self.name}'s constructor takes {len(self.constructor_types)} arguments, "
                f"got {len(args)}"
            )
        return abi_encode(self.constructor_types, _normalise(self.constructor_types, args))

    def fn(self, name: str) -> FunctionABI:
        """The function called ``name``."""
        try:
            return self.functions[name]
        except KeyError:
            raise LedgerValueError(f"{self.name} has no function {name!r}") from None

    def decode_log(self, log: Log) -> Event | None:
        """The decoded event, or None when the log is not one of this contract's events."""
        if not log.topics:
            return None
        ev = self.events_by_topic.get(log.topics[0])
        return ev.decode(log) if ev else None


def _normalise(types: Sequence[str], values: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for t, v in zip(types, values, strict=True):
        if t == "address" and isinstance(v, str):
            out.append(to_checksum_address(v))
        elif t.startswith("bytes") and t != "bytes" and isinstance(v, str):
            out.append(bytes.fromhex(v.removeprefix("0x")))
        else:
            out.append(v)
    return out


def _postprocess(types: Sequence[str], values: Sequence[Any]) -> tuple[Any, ...]:
    # eth_abi returns lower-case addresses; the client hands out checksum ones,
    # inside structs and arrays too.
    return tuple(_checksummed(t, v) for t, v in zip(types, values, strict=True))


def _checksummed(t: str, v: Any) -> Any:
    if t == "address":
        return to_checksum_address(v)
    if t.endswith("]"):
        inner = t[: t.rindex("[")]
        return tuple(_checksummed(inner, x) for x in v)
    if t.startswith("("):
        return tuple(_checksummed(ct, x) for ct, x in zip(split_tuple_type(t), v, strict=True))
    return v


def split_tuple_type(t: str) -> list[str]:
    """The component types of a tuple type string: ``"(a,(b,c)[],d)"`` → ``[a, (b,c)[], d]``."""
    body = t[1 : t.rindex(")")]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    if body:
        parts.append(body[start:])
    return parts
