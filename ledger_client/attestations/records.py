"""Off-chain credit records, their schemas and the hash that goes on chain.

A credit record (a loan repayment, a tax credit grade, ...) stays in the
member institution's own database (数据不出库); only its hash is attested on
chain. Any party holding the record must be able to recompute that hash, in
any language, so the form is fixed here.

Schemas
    A schema has a ``name`` (``loan-repayment``), a title, a description, a
    ``revocable`` flag and a *layout*: an ordered list of typed fields, written
    ``"<type> <name>"`` joined by commas, e.g.
    ``"bytes32 subject,string(64) loanId,fen dueFen,date dueDate"``. The
    canonical layout string (:attr:`Schema.layout`: single commas, one space,
    ``string(256)`` written ``string``) is what is registered on chain, and its
    keccak256 (:attr:`Schema.layout_hash`) is part of the on-chain schema id.

Field types and the value each takes (nothing is ever coerced: ``True`` is not
an int, ``"100"`` is not an amount, ``1.0`` is not anything)
    ================  ============================================================
    ``string``        non-empty ``str`` of at most 256 code points (``string(N)``:
                      at most N); any Unicode except lone surrogates
    ``uint``          ``int``, 0 <= n < 2**256
    ``int``           ``int``, -2**255 <= n < 2**255
    ``fen``           ``int`` CNY cents, 0 <= n < 2**256
    ``bool``          ``True`` or ``False``
    ``date``          ``"YYYY-MM-DD"``, a real Gregorian calendar date
    ``timestamp``     ``int`` UNIX seconds, 0 <= n < 2**64
    ``bytes32``       ``"0x"`` + 64 hex digits (normalised to lower case), or 32
                      raw ``bytes`` (rendered the same way)
    ``enum(A|B|C)``   exactly one of the listed strings (case-sensitive)
    ================  ============================================================

The record hash (:func:`record_hash`), step by step
    1. Validate the record against its schema: exactly the schema's fields,
       each of its type; ``bytes32`` values become lower-case ``0x`` hex.
    2. Build a JSON object of the fields. Integers (``uint``, ``int``, ``fen``,
       ``timestamp``) with ``|n| <= 2**53 - 1`` are JSON numbers; integers beyond
       that are JSON **strings** of their decimal digits (``"-"`` first when
       negative), because JSON numbers are IEEE doubles and RFC 8785 refuses
       them. A field's type is fixed by its schema, so this is never ambiguous.
    3. Serialise it with RFC 8785 (JSON Canonicalization Scheme): keys sorted
       by UTF-16 code units, no whitespace, minimal string escapes, UTF-8.
    4. The hash is Ethereum's keccak256 of those bytes (:func:`canonical_json`
       gives them). The schema is not part of the hashed bytes: the attestation
       on chain names its schema.

    Example: the ``tax-credit-grade`` record ``{"subject": "0x11…11",
    "taxYear": 2023, "grade": "A", "taxAuthority": "国家税务总局上海市税务局",
    "assessedDate": "2024-04-15"}`` canonicalises to ``{"assessedDate":
    "2024-04-15","grade":"A","subject":"0x11…11","taxAuthority":"国家…",
    "taxYear":2023}`` (the Chinese characters as raw UTF-8, not ``\\u`` escapes),
    whose keccak256 is ``0x5a93734e5dfca35ef082f9a7b12f8948519ffc8a678a9f9ddb04d57a7096b80c``
    (``0x11…11`` being ``"0x"`` and 64 ``1`` digits).
"""

from __future__ import annotations

import datetime
import enum
import json
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import rfc8785

from ledger_client.attestations.merkle import keccak256
from ledger_client.errors import LedgerValueError
from ledger_client.types import Hash32

__all__ = [
    "DEFAULT_STRING_LENGTH",
    "Field",
    "FieldKind",
    "FieldType",
    "RecordError",
    "RecordFieldInvalid",
    "RecordFieldMissing",
    "RecordFieldUnexpected",
    "Schema",
    "SchemaError",
    "canonical_json",
    "load_schemas",
    "parse_layout",
    "record_hash",
    "sample_record",
    "validate_record",
]

#: Longest ``string`` value when a layout says plain ``string``.
DEFAULT_STRING_LENGTH = 256
#: Longest ``string(N)`` a layout may declare.
MAX_STRING_LENGTH = 4096
#: The largest integer that is still a JSON number in the canonical form.
JSON_SAFE_INTEGER = 2**53 - 1

_UINT_LIMIT = 2**256
_INT_LIMIT = 2**255
_TIMESTAMP_LIMIT = 2**64


# --- errors ----------------------------------------------------------------------------------


class SchemaError(LedgerValueError):
    """A schema or its layout string is malformed."""


class RecordError(LedgerValueError):
    """A credit record does not fit its schema.

    ``schema`` is the schema's name and ``field`` the offending field, when known.
    """

    def __init__(
        self, message: str, *, schema: str | None = None, field: str | None = None
    ) -> None:
        self.schema = schema
        self.field = field
        super().__init__(message)


class RecordFieldMissing(RecordError):
    """A field the schema requires is absent from the record."""

    def __init__(self, schema: str, field: str, expected: str, unexpected: tuple[str, ...]) -> None:
        self.expected = expected
        hint = (
            f"; the record has unexpected {', '.join(map(repr, unexpected))}" if unexpected else ""
        )
        super().__init__(
            f"record for schema {schema!r} is missing field {field!r} (expected {expected}){hint}",
            schema=schema,
            field=field,
        )


class RecordFieldUnexpected(RecordError):
    """The record has a field its schema does not define."""

    def __init__(self, schema: str, field: str, given: object, known: tuple[str, ...]) -> None:
        self.given = given
        super().__init__(
            f"record for schema {schema!r} has unexpected field {field!r} (given {given!r}); "
            f"the schema's fields are {', '.join(known)}",
            schema=schema,
            field=field if isinstance(field, str) else repr(field),
        )


class RecordFieldInvalid(RecordError):
    """A field's value is not of its declared type (or not an allowed value of it)."""

    def __init__(self, schema: str, field: str, expected: str, given: object, reason: str) -> None:
        self.expected = expected
        self.given = given
        self.reason = reason
        super().__init__(
            f"field {field!r} of schema {schema!r} expects {expected}, "
            f"got {given!r} ({type(given).__name__}): {reason}",
            schema=schema,
            field=field,
        )


class _RefusedValueError(Exception):
    # Raised by a value checker; validate_record adds the schema and field names.
    def __init__(self, reason: str) -> None:
        self.reason = reason


# --- field types ---------------------------------------------------------------------------


class FieldKind(enum.StrEnum):
    """The kinds of value a record field can hold."""

    STRING = "string"
    UINT = "uint"
    INT = "int"
    FEN = "fen"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BYTES32 = "bytes32"
    ENUM = "enum"


_DESCRIPTIONS = {
    FieldKind.UINT: "uint (an int, 0 <= n < 2**256)",
    FieldKind.INT: "int (an int, -2**255 <= n < 2**255)",
    FieldKind.FEN: "fen (an int of CNY cents >= 0)",
    FieldKind.BOOL: "bool (True or False)",
    FieldKind.DATE: "date (a 'YYYY-MM-DD' calendar date)",
    FieldKind.TIMESTAMP: "timestamp (an int of UNIX seconds, 0 <= n < 2**64)",
    FieldKind.BYTES32: "bytes32 ('0x' + 64 hex digits, or 32 bytes)",
}


@dataclass(frozen=True, slots=True)
class FieldType:
    """A field's type: its kind, plus the length limit of a string or the options of an enum."""

    kind: FieldKind
    max_length: int = DEFAULT_STRING_LENGTH  # longest string, in code points; strings only
    options: tuple[str, ...] = ()  # allowed values, in declared order; enums only

    @property
    def spec(self) -> str:
        """The type as a layout writes it: ``fen``, ``string(64)``, ``enum(A|B)``."""
        if self.kind is FieldKind.ENUM:
            return f"enum({'|'.join(self.options)})"
        if self.kind is FieldKind.STRING and self.max_length != DEFAULT_STRING_LENGTH:
            return f"string({self.max_length})"
        return self.kind.value

    def describe(self) -> str:
        """What a value of this type is, in words, for error messages."""
        if self.kind is FieldKind.STRING:
            return f"{self.spec} (a non-empty str of at most {self.max_length} characters)"
        if self.kind is FieldKind.ENUM:
            return f"{self.spec} (one of {', '.join(map(repr, self.options))})"
        return _DESCRIPTIONS[self.kind]


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a schema's layout."""

    name: str  # the record key, lowerCamelCase by convention
    type: FieldType

    @property
    def spec(self) -> str:
        """The field as a layout writes it: ``fen dueFen``."""
        return f"{self.type.spec} {self.name}"


_FIELD_RE = re.compile(
    r"(?P<type>enum\([^()]*\)|string\([0-9]+\)|[a-z0-9]+)\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)",
    re.ASCII,
)
_ENUM_OPTION_RE = re.compile(r"[A-Za-z0-9_.+\-]+", re.ASCII)
_SCHEMA_NAME_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", re.ASCII)
_MAX_FIELD_NAME = 64


def _parse_type(text: str) -> FieldType:
    if text.startswith("enum("):
        options = tuple(text[5:-1].split("|"))
        for option in options:
            if not _ENUM_OPTION_RE.fullmatch(option):
                raise SchemaError(
                    f"enum option {option!r} in {text!r} is not letters, digits or _ . + -"
                )
        if len(set(options)) != len(options):
            raise SchemaError(f"{text!r} lists an option twice")
        return FieldType(FieldKind.ENUM, options=options)
    if text.startswith("string("):
        length = int(text[7:-1])
        if not 1 <= length <= MAX_STRING_LENGTH:
            raise SchemaError(f"{text!r}: a string's length limit must be 1..{MAX_STRING_LENGTH}")
        return FieldType(FieldKind.STRING, max_length=length)
    try:
        kind = FieldKind(text)
    except ValueError:
        raise SchemaError(
            f"unknown field type {text!r}; known are "
            f"{', '.join(k.value for k in FieldKind if k is not FieldKind.ENUM)}, "
            "string(N) and enum(A|B|...)"
        ) from None
    if kind is FieldKind.ENUM:
        raise SchemaError("an enum type lists its options: enum(A|B|...)")
    return FieldType(kind)


def parse_layout(text: str) -> tuple[Field, ...]:
    """The fields of a layout string such as ``"string loanId,fen dueFen,date dueDate"``.

    Spaces around commas are tolerated; :attr:`Schema.layout` renders the
    canonical form. Raises :class:`SchemaError` for an empty layout, an unknown
    type, a bad or repeated field name, or a bad enum or string length.
    """
    if not isinstance(text, str) or not text.strip():
        raise SchemaError(f"a layout is a non-empty string of typed fields, got {text!r}")
    fields: list[Field] = []
    seen: set[str] = set()
    for part in text.split(","):
        match = _FIELD_RE.fullmatch(part.strip())
        if match is None:
            raise SchemaError(
                f"layout part {part.strip()!r} is not '<type> <name>' "
                "(a name is letters, digits and _, not starting with a digit)"
            )
        name = match["name"]
        if len(name) > _MAX_FIELD_NAME:
            raise SchemaError(f"field name {name!r} is longer than {_MAX_FIELD_NAME} characters")
        if name in seen:
            raise SchemaError(f"field {name!r} appears twice in layout {text!r}")
        seen.add(name)
        fields.append(Field(name, _parse_type(match["type"])))
    return tuple(fields)


# --- value checkers --------------------------------------------------------------------------

_Checker = Callable[[object], object]
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_BYTES32_RE = re.compile(r"0x[0-9a-fA-F]{64}", re.ASCII)


def _integer(value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float | str):
            raise _RefusedValueError(f"a {type(value).__name__} is not converted; pass an int")
        raise _RefusedValueError(f"{what} must be an int")
    if not low <= value < high:
        raise _RefusedValueError(f"out of range for {what}")
    return int(value)


def _checker(ftype: FieldType) -> _Checker:
    kind = ftype.kind
    if kind is FieldKind.STRING:
        limit = ftype.max_length

        def check_string(value: object) -> object:
            if not isinstance(value, str):
                raise _RefusedValueError("only a str is accepted")
            if not value:
                raise _RefusedValueError("empty")
            if len(value) > limit:
                raise _RefusedValueError(f"{len(value)} characters, longer than {limit}")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _RefusedValueError(
                    "contains a lone surrogate, which UTF-8 cannot encode"
                ) from None
            return str.__str__(value)

        return check_string
    if kind is FieldKind.UINT:
        return lambda value: _integer(value, 0, _UINT_LIMIT, "a uint")
    if kind is FieldKind.INT:
        return lambda value: _integer(value, -_INT_LIMIT, _INT_LIMIT, "an int256")
    if kind is FieldKind.FEN:
        return lambda value: _integer(value, 0, _UINT_LIMIT, "an amount in fen")
    if kind is FieldKind.TIMESTAMP:
        return lambda value: _integer(value, 0, _TIMESTAMP_LIMIT, "a timestamp")
    if kind is FieldKind.BOOL:

        def check_bool(value: object) -> object:
            if not isinstance(value, bool):
                raise _RefusedValueError("only True or False is accepted")
            return value

        return check_bool
    if kind is FieldKind.DATE:

        def check_date(value: object) -> object:
            if not isinstance(value, str):
                raise _RefusedValueError("only a 'YYYY-MM-DD' str is accepted")
            if not _DATE_RE.fullmatch(value):
                raise _RefusedValueError("not in the form YYYY-MM-DD")
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                raise _RefusedValueError("no such calendar date") from None
            return str.__str__(value)

        return check_date
    if kind is FieldKind.BYTES32:

        def check_bytes32(value: object) -> object:
            if isinstance(value, bytes):
                if len(value) != 32:
                    raise _RefusedValueError(f"{len(value)} bytes, not 32")
                return "0x" + value.hex()
            if not isinstance(value, str):
                raise _RefusedValueError("only a '0x' hex str or 32 bytes are accepted")
            if not _BYTES32_RE.fullmatch(value):
                raise _RefusedValueError("not '0x' followed by 64 hex digits")
            return value.lower()

        return check_bytes32
    options = frozenset(ftype.options)

    def check_enum(value: object) -> object:
        if not isinstance(value, str):
            raise _RefusedValueError("only a str is accepted")
        if value not in options:
            raise _RefusedValueError("not one of the listed options")
        return str.__str__(value)

    return check_enum


# --- schemas ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schema:
    """A credit-record schema: its name, what it is for, and its field layout."""

    name: str  # kebab-case id, e.g. "loan-repayment"
    title: str  # short human title, e.g. "Loan repayment (贷款还款)"
    fields: tuple[Field, ...]  # the layout, in order
    revocable: bool = True  # whether an attester may revoke a record of this schema
    description: str = ""  # one line: what a record states and why it is (not) revocable
    _checkers: tuple[tuple[str, FieldType, _Checker], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _SCHEMA_NAME_RE.fullmatch(self.name):
            raise SchemaError(f"schema name {self.name!r} is not kebab-case (e.g. loan-repayment)")
        # A list would make the schema unhashable and mutable behind the frozen dataclass.
        object.__setattr__(self, "fields", tuple(self.fields))
        if not self.fields:
            raise SchemaError(f"schema {self.name!r} has no fields")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise SchemaError(f"schema {self.name!r} repeats a field name")
        # Checkers are built once per schema, so validating a record is a loop of calls.
        checkers = tuple((f.name, f.type, _checker(f.type)) for f in self.fields)
        object.__setattr__(self, "_checkers", checkers)

    @classmethod
    def from_layout(
        cls,
        name: str,
        layout: str,
        *,
        title: str = "",
        revocable: bool = True,
        description: str = "",
    ) -> Schema:
        """A schema from a layout string (see :func:`parse_layout`)."""
        return cls(name, title or name, parse_layout(layout), revocable, description)

    @property
    def layout(self) -> str:
        """The canonical layout string, as registered on chain."""
        return ",".join(f.spec for f in self.fields)

    @property
    def layout_hash(self) -> Hash32:
        """keccak256 of the UTF-8 canonical layout string."""
        return keccak256(self.layout.encode("utf-8"))

    @property
    def field_names(self) -> tuple[str, ...]:
        """The field names, in layout order."""
        return tuple(f.name for f in self.fields)


def validate_record(schema: Schema, record: Mapping[str, object]) -> dict[str, object]:
    """``record`` checked against ``schema``, as a new dict in layout order.

    Values come back normalised (``bytes32`` as lower-case ``0x`` hex; ``str``
    and ``int`` subclasses as plain values) and otherwise unchanged. Raises
    :class:`RecordFieldMissing`, :class:`RecordFieldUnexpected` or
    :class:`RecordFieldInvalid`, each naming the schema, the field, the
    expected type and what was given; :class:`RecordError` when ``record`` is
    not a mapping at all.
    """
    if not isinstance(record, Mapping):
        raise RecordError(
            f"a record for schema {schema.name!r} is a mapping of field names to values, "
            f"got {type(record).__name__}",
            schema=schema.name,
        )
    checked: dict[str, object] = {}
    for name, ftype, check in schema._checkers:
        try:
            value = record[name]
        except KeyError:
            extra = tuple(str(k) for k in record if k not in schema.field_names)
            raise RecordFieldMissing(schema.name, name, ftype.describe(), extra) from None
        try:
            checked[name] = check(value)
        except _RefusedValueError as refused:
            raise RecordFieldInvalid(
                schema.name, name, ftype.describe(), value, refused.reason
            ) from None
    if len(record) != len(checked):
        known = schema.field_names
        for key, value in record.items():
            if key not in checked:
                raise RecordFieldUnexpected(schema.name, key, value, known)
    return checked


def _json_value(value: object) -> object:
    if type(value) is int and not -JSON_SAFE_INTEGER <= value <= JSON_SAFE_INTEGER:
        return str(value)
    return value


def canonical_json(record: Mapping[str, object]) -> bytes:
    """The RFC 8785 bytes of a validated record (steps 2 and 3 of the module docstring).

    Integers beyond ±(2**53 - 1) become decimal strings. Pass the output of
    :func:`validate_record`; raises :class:`RecordError` for values JSON
    cannot carry canonically.
    """
    document: dict[str, Any] = {key: _json_value(value) for key, value in record.items()}
    try:
        return rfc8785.dumps(document)
    except rfc8785.CanonicalizationError as exc:
        raise RecordError(f"record cannot be canonicalised: {exc}") from exc


def record_hash(schema: Schema, record: Mapping[str, object]) -> Hash32:
    """keccak256 of the canonical JSON of ``record`` after validating it against ``schema``.

    The same record gives the same hash whatever its key order. Raises what
    :func:`validate_record` raises.
    """
    return keccak256(canonical_json(validate_record(schema, record)))


# --- shipped schemas ---------------------------------------------------------------------------

_SCHEMA_KEYS = frozenset({"name", "title", "description", "revocable", "layout"})


def _schema_from_json(entry: Mapping[str, Any]) -> Schema:
    if not isinstance(entry, Mapping) or set(entry) != _SCHEMA_KEYS:
        raise SchemaError(f"a schema entry has exactly the keys {sorted(_SCHEMA_KEYS)}: {entry!r}")
    if not isinstance(entry["revocable"], bool):
        raise SchemaError(f"schema {entry['name']!r}: 'revocable' must be true or false")
    return Schema.from_layout(
        entry["name"],
        entry["layout"],
        title=entry["title"],
        revocable=entry["revocable"],
        description=entry["description"],
    )


@cache
def _shipped_schemas() -> tuple[Schema, ...]:
    # Beside this module rather than importlib.resources: an editable install made
    # before the package had its __init__ resolves it as a namespace package there.
    text = (Path(__file__).parent.parent / "data" / "schemas.json").read_text("utf-8")
    document = json.loads(text)
    schemas = tuple(_schema_from_json(entry) for entry in document["schemas"])
    names = [s.name for s in schemas]
    if len(set(names)) != len(names):
        raise SchemaError("schemas.json defines a schema name twice")
    return schemas


def load_schemas() -> dict[str, Schema]:
    """The schemas shipped in ``ledger_client/data/schemas.json``, by name, in file order."""
    return {schema.name: schema for schema in _shipped_schemas()}


# --- sample records for simulations ------------------------------------------------------------

_EPOCH_2015 = datetime.date(2015, 1, 1)
_CJK = "长三角上海南京杭州合肥嘉兴科技金融制造有限公司集团"
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _sample_value(ftype: FieldType, name: str, rng: random.Random) -> object:
    kind = ftype.kind
    if kind is FieldKind.STRING:
        alphabet = _CJK if rng.random() < 0.3 else _ALNUM
        length = rng.randint(1, min(ftype.max_length, 24))
        return "".join(rng.choice(alphabet) for _ in range(length))
    if kind is FieldKind.UINT:
        # A year field gets a plausible year, so samples read naturally in reports.
        return rng.randint(2015, 2025) if name.endswith("Year") else rng.randrange(10_000)
    if kind is FieldKind.INT:
        return rng.randint(-1_000_000, 1_000_000)
    if kind is FieldKind.FEN:
        return rng.randrange(10**10)  # up to 100 million yuan
    if kind is FieldKind.BOOL:
        return rng.random() < 0.5
    if kind is FieldKind.DATE:
        return (_EPOCH_2015 + datetime.timedelta(days=rng.randrange(15 * 365))).isoformat()
    if kind is FieldKind.TIMESTAMP:
        return 1_420_070_400 + rng.randrange(15 * 365 * 86_400)  # 2015 .. 2030
    if kind is FieldKind.BYTES32:
        return "0x" + rng.randbytes(32).hex()
    return rng.choice(ftype.options)


def sample_record(
    schema: Schema, rng: random.Random, overrides: Mapping[str, object] | None = None
) -> dict[str, object]:
    """A random valid record of ``schema`` drawn from ``rng`` (for simulations and tests).

    ``overrides`` fixes some fields (e.g. the ``subject``); the result is
    validated, so a bad override raises as :func:`validate_record` does.
    Fields are independent: no cross-field consistency (e.g. paid <= due).
    """
    record = {f.name: _sample_value(f.type, f.name, rng) for f in schema.fields}
    if overrides:
        record.update(overrides)
    return validate_record(schema, record)


def record_subject(record: Mapping[str, object]) -> bytes:
    """The 32-byte subject id a record is about: its ``subject`` field (hex or bytes)."""
    value = record.get("subject")
    if isinstance(value, bytes | bytearray) and len(value) == 32:
        return bytes(value)
    if isinstance(value, str) and value.startswith("0x") and len(value) == 66:
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise RecordError(
        "the record has no bytes32 'subject' field naming the enterprise", field="subject"
    )
