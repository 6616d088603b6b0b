"""Credit records: layouts, validation, the canonical form and its hash, shipped schemas."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from types import MappingProxyType

import pytest
from eth_hash.auto import keccak as reference_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_client.attestations.records import (
    Field,
    FieldKind,
    FieldType,
    RecordError,
    RecordFieldInvalid,
    RecordFieldMissing,
    RecordFieldUnexpected,
    Schema,
    SchemaError,
    canonical_json,
    load_schemas,
    parse_layout,
    record_hash,
    sample_record,
    validate_record,
)
from ledger_client.errors import LedgerValueError

SCHEMAS = load_schemas()

LOAN = Schema.from_layout(
    "loan-test",
    "string loanId,fen principalFen,date dueDate,enum(A|B|M|C|D) grade,bool secured,"
    "uint instalments,int adjustmentFen,timestamp postedAt,bytes32 subject,string(8) branch",
)


def _loan(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "loanId": "JS-2024-000123",
        "principalFen": 1_250_000_00,
        "dueDate": "2024-12-31",
        "grade": "A",
        "secured": False,
        "instalments": 12,
        "adjustmentFen": -1500,
        "postedAt": 1_717_200_000,
        "subject": "0x" + "ab" * 32,
        "branch": "南京分行",
    }
    record.update(changes)
    return record


# --- layouts -------------------------------------------------------------------------------


def test_parse_layout_and_render() -> None:
    fields = parse_layout("string loanId , fen principalFen,date dueDate,enum(A|B|M|C|D) grade")
    assert fields == (
        Field("loanId", FieldType(FieldKind.STRING)),
        Field("principalFen", FieldType(FieldKind.FEN)),
        Field("dueDate", FieldType(FieldKind.DATE)),
        Field("grade", FieldType(FieldKind.ENUM, options=("A", "B", "M", "C", "D"))),
    )
    schema = Schema("x", "X", fields)
    assert schema.layout == "string loanId,fen principalFen,date dueDate,enum(A|B|M|C|D) grade"
    assert schema.layout_hash == reference_keccak(schema.layout.encode())


def test_string_length_in_layout() -> None:
    (short,) = parse_layout("string(64) caseNo")
    assert short.type.max_length == 64
    assert short.spec == "string(64) caseNo"
    # The default limit is written as plain `string`, so one layout has one spelling.
    assert Schema("x", "X", parse_layout("string(256) a")).layout == "string a"


@pytest.mark.parametrize(
    ("layout", "match"),
    [
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("fen", "not '<type> <name>'"),
        ("fen a,", "not '<type> <name>'"),
        ("fen 1a", "not '<type> <name>'"),
        ("money a", "unknown field type 'money'"),
        ("uint256 a", "unknown field type 'uint256'"),
        ("enum a", "lists its options"),
        ("enum() a", "enum option ''"),
        ("enum(A|A) a", "lists an option twice"),
        ("enum(A|b c) a", "enum option 'b c'"),
        ("string(0) a", "1..4096"),
        ("string(5000) a", "1..4096"),
        ("fen a,date a", "appears twice"),
        ("fen " + "a" * 65, "longer than 64"),
    ],
)
def test_bad_layouts(layout: str, match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        parse_layout(layout)


def test_bad_schema_names() -> None:
    fields = parse_layout("fen a")
    for name in ("Loan", "loan_repayment", "-loan", "loan-", ""):
        with pytest.raises(SchemaError, match="kebab-case"):
            Schema(name, "t", fields)
    with pytest.raises(SchemaError, match="no fields"):
        Schema("empty", "t", ())


# --- validation ------------------------------------------------------------------------------


def test_valid_record_is_normalised_in_layout_order() -> None:
    given_record = _loan(subject="0x" + "AB" * 32)
    checked = validate_record(LOAN, dict(reversed(given_record.items())))
    assert list(checked) == list(LOAN.field_names)
    assert checked["subject"] == "0x" + "ab" * 32
    assert validate_record(LOAN, _loan(subject=bytes.fromhex("ab" * 32))) == checked
    assert validate_record(LOAN, MappingProxyType(given_record)) == checked


def test_missing_field() -> None:
    record = _loan()
    del record["dueDate"]
    record["dueDat"] = "2024-12-31"
    with pytest.raises(RecordFieldMissing) as info:
        validate_record(LOAN, record)
    err = info.value
    assert (err.schema, err.field) == ("loan-test", "dueDate")
    assert "missing field 'dueDate'" in str(err)
    assert "'YYYY-MM-DD'" in str(err)
    assert "unexpected 'dueDat'" in str(err)


def test_unexpected_field() -> None:
    with pytest.raises(RecordFieldUnexpected) as info:
        validate_record(LOAN, _loan(uscc="91310000MA1FL8XQ2A"))
    err = info.value
    assert (err.schema, err.field, err.given) == ("loan-test", "uscc", "91310000MA1FL8XQ2A")
    assert "unexpected field 'uscc'" in str(err)
    assert "loanId, principalFen" in str(err)


def test_not_a_mapping() -> None:
    # A wrong type on purpose (hence the type: ignore): the runtime check is under test.
    with pytest.raises(RecordError, match="mapping of field names"):
        validate_record(LOAN, [("loanId", "x")])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("loanId", "", "empty"),
        ("loanId", 123, "only a str"),
        ("loanId", "x" * 257, "257 characters, longer than 256"),
        ("loanId", "bad\ud800", "lone surrogate"),
        ("branch", "上海浦东新区支行营业部", "longer than 8"),
        ("principalFen", "100", "a str is not converted"),
        ("principalFen", 100.0, "a float is not converted"),
        ("principalFen", Decimal(100), "must be an int"),
        ("principalFen", True, "must be an int"),
        ("principalFen", -1, "out of range"),
        ("principalFen", 2**256, "out of range"),
        ("instalments", -1, "out of range"),
        ("instalments", False, "must be an int"),
        ("instalments", 2**256, "out of range"),
        ("adjustmentFen", 2**255, "out of range"),
        ("adjustmentFen", -(2**255) - 1, "out of range"),
        ("adjustmentFen", 1.5, "a float is not converted"),
        ("postedAt", -1, "out of range"),
        ("postedAt", 2**64, "out of range"),
        ("postedAt", "1717200000", "a str is not converted"),
        ("secured", 1, "only True or False"),
        ("secured", "true", "only True or False"),
        ("dueDate", "2023-02-29", "no such calendar date"),
        ("dueDate", "2024-13-01", "no such calendar date"),
        ("dueDate", "0000-01-01", "no such calendar date"),
        ("dueDate", "2024-1-31", "not in the form YYYY-MM-DD"),
        ("dueDate", "20240131", "not in the form YYYY-MM-DD"),
        ("dueDate", "2024-01-31T00:00", "not in the form YYYY-MM-DD"),
        ("dueDate", "２０２４-01-31", "not in the form YYYY-MM-DD"),
        ("dueDate", 20240131, "only a 'YYYY-MM-DD' str"),
        ("grade", "a", "not one of the listed options"),
        ("grade", "AA", "not one of the listed options"),
        ("grade", 1, "only a str"),
        ("subject", "ab" * 32, "not '0x' followed by 64 hex digits"),
        ("subject", "0x" + "ab" * 31, "not '0x' followed by 64 hex digits"),
        ("subject", "0x" + "zz" * 32, "not '0x' followed by 64 hex digits"),
        ("subject", "0X" + "ab" * 32, "not '0x' followed by 64 hex digits"),
        ("subject", b"\x00" * 31, "31 bytes, not 32"),
        ("subject", 0, "only a '0x' hex str or 32 bytes"),
    ],
)
def test_invalid_field(field: str, value: object, reason: str) -> None:
    with pytest.raises(RecordFieldInvalid) as info:
        validate_record(LOAN, _loan(**{field: value}))
    err = info.value
    assert (err.schema, err.field, err.given) == ("loan-test", field, value)
    assert reason in err.reason
    message = str(err)
    assert f"field {field!r} of schema 'loan-test'" in message
    assert err.expected in message
    assert repr(value) in message
    assert isinstance(err, LedgerValueError)
    assert isinstance(err, ValueError)


def test_enum_error_lists_options() -> None:
    with pytest.raises(RecordFieldInvalid, match=r"one of 'A', 'B', 'M', 'C', 'D'"):
        validate_record(LOAN, _loan(grade="E"))


def test_error_hierarchy() -> None:
    for cls in (RecordFieldMissing, RecordFieldUnexpected, RecordFieldInvalid):
        assert issubclass(cls, RecordError)
    assert issubclass(RecordError, LedgerValueError)
    assert issubclass(SchemaError, LedgerValueError)


# --- canonical form and hash -----------------------------------------------------------------


def test_pinned_vector() -> None:
    # The example of the module docstring: a bank in any language must reproduce it.
    schema = SCHEMAS["tax-credit-grade"]
    record = {
        "subject": "0x" + "11" * 32,
        "taxYear": 2023,
        "grade": "A",
        "taxAuthority": "国家税务总局上海市税务局",
        "assessedDate": "2024-04-15",
    }
    expected = (
        '{"assessedDate":"2024-04-15","grade":"A","subject":"0x' + "11" * 32 + '",'
        '"taxAuthority":"国家税务总局上海市税务局","taxYear":2023}'
    ).encode()
    assert canonical_json(validate_record(schema, record)) == expected
    digest = record_hash(schema, record)
    assert digest == reference_keccak(expected)
    assert digest.hex() == "5a93734e5dfca35ef082f9a7b12f8948519ffc8a678a9f9ddb04d57a7096b80c"


def test_escapes_follow_rfc8785() -> None:
    schema = Schema.from_layout("notes", "string note")
    assert canonical_json(validate_record(schema, {"note": 'a"b\\c\n\x01é€'})) == (
        '{"note":"a\\"b\\\\c\\n\\u0001é€"}'.encode()
    )


def test_big_integers_become_decimal_strings() -> None:
    schema = Schema.from_layout("big", "uint a,int b,fen c,timestamp d,int e")
    record = {"a": 2**256 - 1, "b": -(2**255), "c": 2**53 - 1, "d": 2**53, "e": -(2**53) + 1}
    canonical = canonical_json(validate_record(schema, record))
    decoded = json.loads(canonical)
    assert decoded == {
        "a": str(2**256 - 1),
        "b": str(-(2**255)),
        "c": 2**53 - 1,  # the largest safe integer stays a number
        "d": str(2**53),
        "e": -(2**53) + 1,
    }
    assert {k: int(v) for k, v in decoded.items()} == record  # exact round trip
    assert record_hash(schema, record).hex() == (
        "af65148be817255d23f6543660ee42b0358c20b4d4f74259e6769c9a0ab072b4"
    )


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False), st.data())
def test_key_order_does_not_change_the_hash(rng: random.Random, data: st.DataObject) -> None:
    record = sample_record(LOAN, rng)
    order = data.draw(st.permutations(list(record)), label="key order")
    shuffled = {key: record[key] for key in order}
    assert record_hash(LOAN, shuffled) == record_hash(LOAN, record)
    assert canonical_json(shuffled) == canonical_json(record)


def test_any_change_changes_the_hash() -> None:
    base = record_hash(LOAN, _loan())
    assert record_hash(LOAN, _loan(principalFen=1_250_000_01)) != base
    assert record_hash(LOAN, _loan(secured=True)) != base
    assert record_hash(LOAN, _loan(subject="0x" + "AB" * 32)) == base  # same bytes32, normalised


def test_canonical_json_refuses_what_json_cannot_carry() -> None:
    with pytest.raises(RecordError, match="cannot be canonicalised"):
        canonical_json({"x": float("nan")})


# --- shipped schemas and samples -----------------------------------------------------------


EXPECTED_SCHEMAS = {
    "enterprise-basics",
    "loan-repayment",
    "overdue-record",
    "tax-credit-grade",
    "utility-payments",
    "social-insurance",
    "ip-pledge",
    "court-judgment",
    "credit-rating",
    "receivable-default",
    "sci-tech-indicators",
    "credit-score",
}


def test_shipped_schemas() -> None:
    assert set(SCHEMAS) == EXPECTED_SCHEMAS
    for name, schema in SCHEMAS.items():
        assert schema.name == name
        assert schema.title
        assert schema.description
        assert "\n" not in schema.description
        assert parse_layout(schema.layout) == schema.fields
        assert schema.fields[0] == Field("subject", FieldType(FieldKind.BYTES32))
    assert SCHEMAS["tax-credit-grade"].fields[2].type.options == ("A", "B", "M", "C", "D")
    assert SCHEMAS["receivable-default"].layout == (
        "bytes32 subject,bytes32 receivableId,fen amountFen,date dueDate,uint daysOverdue"
    )
    assert not SCHEMAS["receivable-default"].revocable
    assert load_schemas() == SCHEMAS  # a fresh dict of the same schemas


def test_shipped_layouts_are_distinct() -> None:
    hashes = {schema.layout_hash for schema in SCHEMAS.values()}
    assert len(hashes) == len(SCHEMAS)


@pytest.mark.parametrize("name", sorted(EXPECTED_SCHEMAS))
def test_sample_record_of_each_shipped_schema(name: str) -> None:
    schema = SCHEMAS[name]
    record = sample_record(schema, random.Random(name))
    assert validate_record(schema, record) == record
    assert len(record_hash(schema, record)) == 32


@settings(max_examples=100, deadline=None)
@given(rng=st.randoms(use_true_random=False), name=st.sampled_from(sorted(EXPECTED_SCHEMAS)))
def test_sample_records_validate(rng: random.Random, name: str) -> None:
    schema = SCHEMAS[name]
    record = sample_record(schema, rng)
    assert validate_record(schema, record) == record
    assert json.loads(canonical_json(record)) == record


def test_sample_record_overrides() -> None:
    schema = SCHEMAS["receivable-default"]
    subject = "0x" + "cd" * 32
    record = sample_record(schema, random.Random(1), {"subject": subject, "daysOverdue": 45})
    assert record["subject"] == subject
    assert record["daysOverdue"] == 45
    with pytest.raises(RecordFieldInvalid):
        sample_record(schema, random.Random(1), {"amountFen": 12.5})
    with pytest.raises(RecordFieldUnexpected):
        sample_record(schema, random.Random(1), {"uscc": "x"})


def test_sample_year_fields_look_like_years() -> None:
    rng = random.Random(3)
    years = {sample_record(SCHEMAS["tax-credit-grade"], rng)["taxYear"] for _ in range(50)}
    assert all(isinstance(y, int) and 2015 <= y <= 2025 for y in years)
