"""Subject ids from USCCs: the documented vectors, and ``credit-chain subject`` that a member
runs with its own copy of the consortium's subject key (docs/subject-ids.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger_client.errors import InvalidUSCC
from ledger_client.identity.uscc import InvalidSubjectKey, parse_subject_key, subject_id
from scripts.cli import SUBJECT_KEY_ENV, app
from tests.conftest import REPO_ROOT

VECTORS: dict[str, Any] = json.loads(
    (REPO_ROOT / "docs" / "subject-id-vectors.json").read_text("utf-8")
)
runner = CliRunner()


@pytest.mark.parametrize("vector", VECTORS["accepted"], ids=lambda v: repr(v["uscc"]))
def test_a_vector_gives_its_subject_id(vector: dict[str, str]) -> None:
    key = parse_subject_key(vector["subject_key"])
    assert "0x" + subject_id(vector["uscc"], key).hex() == vector["subject"]


@pytest.mark.parametrize("vector", VECTORS["refused"], ids=lambda v: v["uscc"])
def test_a_refused_code_has_no_subject_id(vector: dict[str, str]) -> None:
    with pytest.raises(InvalidUSCC) as raised:
        subject_id(vector["uscc"], bytes(32))
    assert vector["reason"] in raised.value.reason


def test_the_vectors_show_normalisation_and_the_key_mattering() -> None:
    by = [(v["normalised"], v["subject_key"], v["subject"]) for v in VECTORS["accepted"]]
    same_code = [v for v in by if v[0] == "91350100M000100Y43"]
    assert len({(k, s) for _, k, s in same_code}) == 2  # spelling differs, one id; key differs
    assert len({s for _, _, s in by}) == len({(c, k) for c, k, _ in by})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0x" + "ab" * 31, "got 62 characters"),
        ("zz" * 32, "hex digits only"),
        ("", "got 0 characters"),
    ],
)
def test_a_malformed_key_is_refused_without_quoting_it(text: str, says: str) -> None:
    with pytest.raises(InvalidSubjectKey, match=says) as raised:
        parse_subject_key(text)
    assert not text or text not in str(raised.value)


def test_a_key_is_read_with_or_without_0x_and_whitespace() -> None:
    key = bytes(range(32))
    assert parse_subject_key(f"  0X{key.hex().upper()}\n") == key
    assert parse_subject_key(key.hex()) == key


def test_the_cli_derives_ids_from_a_key_file_or_the_environment(tmp_path: Path) -> None:
    first, other = VECTORS["accepted"][0], VECTORS["accepted"][1]
    key_file = tmp_path / "subject-key.hex"
    key_file.write_text(first["subject_key"] + "\n")
    args = ["subject", "--uscc", first["uscc"], "--uscc", other["uscc"].lower(), "--json"]
    by_file = runner.invoke(app, [*args, "--subject-key-file", str(key_file)])
    assert by_file.exit_code == 0, by_file.output
    expected = [
        {"uscc": first["normalised"], "subject": first["subject"]},
        {"uscc": other["normalised"], "subject": other["subject"]},
    ]
    assert json.loads(by_file.stdout) == expected
    by_env = runner.invoke(app, args, env={SUBJECT_KEY_ENV: first["subject_key"]})
    assert by_env.exit_code == 0, by_env.output
    assert json.loads(by_env.stdout) == expected
    plain = runner.invoke(app, args[:3], env={SUBJECT_KEY_ENV: first["subject_key"]})
    assert plain.stdout.split() == [first["normalised"], first["subject"]]


def test_the_cli_refuses_by_name(tmp_path: Path) -> None:
    code = VECTORS["accepted"][0]["uscc"]
    none = runner.invoke(app, ["subject", "--uscc", code], env={SUBJECT_KEY_ENV: None})
    assert none.exit_code == 2
    assert "no subject key" in none.output
    bad_key = runner.invoke(app, ["subject", "--uscc", code], env={SUBJECT_KEY_ENV: "ab" * 31})
    assert bad_key.exit_code == 1
    assert "64 hex digits" in bad_key.output
    assert "ab" * 31 not in bad_key.output
    bad_code = runner.invoke(
        app, ["subject", "--uscc", "91350100M000100Y44"], env={SUBJECT_KEY_ENV: "00" * 32}
    )
    assert bad_code.exit_code == 1
    assert "check character" in bad_code.output
    missing = runner.invoke(
        app, ["subject", "--uscc", code, "--subject-key-file", str(tmp_path / "absent")]
    )
    assert missing.exit_code == 1
    assert "cannot read the subject key file" in missing.output
