"""Unified Social Credit Codes (统一社会信用代码, GB 32100-2015) and subject ids.

A USCC has 18 characters: a registration-authority code, an entity-type code,
a six-digit administrative-division code, the nine-character organisation code
(GB 11714, with its own check character) and a check character over the first
seventeen. The code never goes on chain: an enterprise appears there only as
its *subject id*, a keyed hash of the code (HMAC-SHA256 under the consortium's
subject key), so that nobody without the key can test a guessed code.

Who holds the subject key: the consortium's member institutions (the registrar
that binds an enterprise's account to its subject id, and every bank or bureau
that attests about enterprises it knows by their code). They share it off
chain; the chain, the API's operator and the enterprises do not need it
(``docs/subject-ids.md`` says why, and how a member derives an id:
``credit-chain subject --uscc CODE``).
"""

from __future__ import annotations

import hashlib
import hmac
import random

from ledger_client.errors import InvalidUSCC, LedgerValueError
from ledger_client.types import SubjectId


class InvalidSubjectKey(LedgerValueError):
    """A subject key is not 32 bytes (64 hex digits)."""


#: The 31 characters GB 32100 allows: digits and capitals without I, O, S, V, Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
#: Weights of positions 1..17 for the final check character: 3^(i-1) mod 31.
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
#: Weights of the organisation code's first eight characters (GB 11714).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
#: Registration-authority codes GB 32100 assigns (机构编制, 外交, 司法, 文化, 民政,
#: 旅游, 宗教, 工会, 工商, 中央军委改革和编制办公室, 农业, 其他).
AUTHORITIES = "123456789ANY"
USCC_LENGTH = 18
SUBJECT_KEY_BYTES = 32


def _org_char_value(ch: str) -> int:
    # GB 11714 values letters A..Z as 10..35 (unlike GB 32100's own alphabet).
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def check_character(first17: str) -> str:
    """The GB 32100 check character for the first seventeen characters."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_character(first8: str) -> str:
    """The GB 11714 check character of an organisation code's first eight characters."""
    total = sum(_org_char_value(ch) * w for ch, w in zip(first8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def validate_uscc(code: str) -> str:
    """Return ``code`` normalised (stripped, upper case) if it is a valid USCC.

    Raises :class:`InvalidUSCC` naming the code and the first rule it breaks:
    length, characters, registration authority, division code, the organisation
    code's check character, or the final check character.
    """
    if not isinstance(code, str):
        raise InvalidUSCC(repr(code), "a USCC is a string of 18 characters")
    norm = code.strip().upper()
    if len(norm) != USCC_LENGTH:
        raise InvalidUSCC(code, f"has {len(norm)} characters, a USCC has 18")
    bad = sorted({ch for ch in norm if ch not in _VALUE})
    if bad:
        raise InvalidUSCC(
            code, f"contains {', '.join(repr(c) for c in bad)}; allowed are 0-9 and {ALPHABET[10:]}"
        )
    if norm[0] not in AUTHORITIES:
        raise InvalidUSCC(code, f"registration-authority code {norm[0]!r} is not assigned")
    if not norm[2:8].isdigit():
        raise InvalidUSCC(code, f"administrative-division code {norm[2:8]!r} is not six digits")
    org = norm[8:17]
    if org_check_character(org[:8]) != org[8]:
        raise InvalidUSCC(
            code,
            f"organisation code {org!r} has check character {org[8]!r}, "
            f"expected {org_check_character(org[:8])!r}",
        )
    expected = check_character(norm[:17])
    if norm[17] != expected:
        raise InvalidUSCC(code, f"check character is {norm[17]!r}, expected {expected!r}")
    return norm


def is_valid_uscc(code: str) -> bool:
    """True when :func:`validate_uscc` accepts the code."""
    try:
        validate_uscc(code)
    except InvalidUSCC:
        return False
    return True


def subject_id(code: str, subject_key: bytes) -> SubjectId:
    """The pseudonymous subject id of an enterprise: HMAC-SHA256(subject_key, USCC).

    HMAC-SHA256 is chosen because it is the standard keyed hash every bank's
    HSM offers; the 32-byte result fits a ``bytes32``. The code is validated
    first, so a typo never produces a subject id of a non-existent enterprise.
    """
    if len(subject_key) != SUBJECT_KEY_BYTES:
        raise InvalidSubjectKey(
            f"the subject key must be {SUBJECT_KEY_BYTES} bytes, got {len(subject_key)}"
        )
    norm = validate_uscc(code)
    return SubjectId(hmac.new(subject_key, norm.encode("ascii"), hashlib.sha256).digest())


def parse_subject_key(text: str) -> bytes:
    """A subject key written as 64 hex digits (``0x`` first or not; surrounding whitespace,
    such as a key file's final newline, ignored). Raises :class:`InvalidSubjectKey`,
    which never quotes the text: it may be the key itself, nearly right."""
    digits = text.strip()
    digits = digits[2:] if digits[:2].lower() == "0x" else digits
    if len(digits) != 2 * SUBJECT_KEY_BYTES:
        raise InvalidSubjectKey(
            f"a subject key is {2 * SUBJECT_KEY_BYTES} hex digits ({SUBJECT_KEY_BYTES} bytes), "
            f"got {len(digits)} characters"
        )
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise InvalidSubjectKey("a subject key is hex digits only (0-9, a-f)") from None


def generate_uscc(rng: random.Random, division: str = "310000", authority: str = "9") -> str:
    """A random but valid USCC in ``division`` (for simulations and tests).

    Entity type 1 (enterprise) under authority 9 (工商), as most enterprises are.
    """
    if len(division) != 6 or not division.isdigit():
        raise LedgerValueError(f"division code {division!r} is not six digits")
    org_alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    org8 = "".join(rng.choice(org_alphabet) for _ in range(8))
    org = org8 + org_check_character(org8)
    first17 = authority + "1" + division + org
    return first17 + check_character(first17)
