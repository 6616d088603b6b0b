"""USCC validation (GB 32100-2015) and subject ids."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.errors import InvalidUSCC, LedgerValueError
from ledger_client.identity.uscc import (
    ALPHABET,
    generate_uscc,
    is_valid_uscc,
    subject_id,
    validate_uscc,
)

# Published codes of well-known enterprises, and the standard's own example.
REAL_CODES = ["91350100M000100Y43", "91330100716105852F", "9144030071526726XG"]
KEY = bytes(range(32))


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert validate_uscc(code) == code


def test_normalises_case_and_whitespace() -> None:
    assert validate_uscc("  91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4", "has 17 characters"),
        ("91350100M000100Y433", "has 19 characters"),
        ("", "has 0 characters"),
        ("91350100M000100I43", "contains 'I'"),
        ("91350100M000100O43", "contains 'O'"),
        ("9135010-M000100Y43", "contains '-'"),
        ("Z1350100M000100Y43", "contains 'Z'"),
        ("C1350100M000100Y43", "registration-authority code 'C'"),
        ("9135A100M000100Y43", "administrative-division code '35A100'"),
        ("91350100M000100Y53", "organisation code 'M000100Y5'"),
        ("91350100M000100Y44", "check character is '4', expected '3'"),
    ],
)
def test_bad_codes_name_the_code_and_reason(code: str, reason: str) -> None:
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(code)
    assert reason in str(info.value)
    assert info.value.code == code
    assert isinstance(info.value, ValueError)


def test_non_string_is_refused() -> None:
    # A wrong type on purpose (hence the type: ignore): the runtime check is under test.
    with pytest.raises(InvalidUSCC):
        validate_uscc(91350100)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_codes_are_valid_and_any_single_change_is_caught(seed: int) -> None:
    rng = random.Random(seed)
    code = generate_uscc(rng)
    assert is_valid_uscc(code)
    pos = rng.randrange(8, 18)  # the organisation code and the final check character
    replacement = rng.choice([c for c in ALPHABET if c != code[pos]])
    assert not is_valid_uscc(code[:pos] + replacement + code[pos + 1 :])


def test_subject_id_is_keyed_and_stable() -> None:
    a = subject_id(REAL_CODES[0], KEY)
    assert a == subject_id(REAL_CODES[0].lower(), KEY)
    assert len(a) == 32
    assert a != subject_id(REAL_CODES[0], bytes(32))
    assert a != subject_id(REAL_CODES[1], KEY)
    assert a.find(REAL_CODES[0].encode()) == -1


def test_subject_id_validates_the_code_and_the_key() -> None:
    with pytest.raises(InvalidUSCC):
        subject_id("91350100M000100Y44", KEY)
    with pytest.raises(LedgerValueError, match="32 bytes"):
        subject_id(REAL_CODES[0], b"short")


def test_generate_rejects_bad_division() -> None:
    with pytest.raises(LedgerValueError, match="division"):
        generate_uscc(random.Random(1), division="31A000")
