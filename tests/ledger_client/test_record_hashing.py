"""Every vector of ``docs/record-hashing-vectors.json`` against
``ledger_client.attestations.records``.

The vectors are the record-hashing spec's (``docs/record-hashing.md``) worked
cases: a record another language hashes must give these bytes and this hash;
a refused record must be refused, for the named reason and field. The JS bank
example (``examples/bank-ts``) checks the same file with its own code.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from eth_hash.auto import keccak

from ledger_client.attestations import records
from ledger_client.attestations.records import Schema, canonical_json, record_hash, validate_record
from tests.conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
VECTORS: dict[str, Any] = json.loads((DOCS / "record-hashing-vectors.json").read_text("utf-8"))


def _schema(doc: dict[str, str]) -> Schema:
    return Schema.from_layout(doc["name"], doc["layout"])


@pytest.mark.parametrize("vector", VECTORS["accepted"], ids=lambda v: v["name"])
def test_an_accepted_vector_gives_its_bytes_and_hash(vector: dict[str, Any]) -> None:
    schema = _schema(vector["schema"])
    canonical = canonical_json(validate_record(schema, vector["record"]))
    assert canonical == vector["canonical"].encode("utf-8")
    assert canonical.hex() == vector["canonical_hex"]
    assert "0x" + keccak(canonical).hex() == vector["hash"]
    assert "0x" + record_hash(schema, vector["record"]).hex() == vector["hash"]
    # A shipped schema's vector is hashed under the shipped layout, not a look-alike.
    shipped = records.load_schemas().get(schema.name)
    if shipped is not None:
        assert shipped.layout == schema.layout


@pytest.mark.parametrize("vector", VECTORS["refused"], ids=lambda v: v["name"])
def test_a_refused_vector_is_refused_by_name(vector: dict[str, Any]) -> None:
    schema = _schema(vector["schema"])
    error = getattr(records, vector["error"])
    with pytest.raises(error) as raised:
        record_hash(schema, vector["record"])
    assert type(raised.value) is error
    assert raised.value.field == vector["field"]


def test_the_vectors_cover_the_tricky_cases() -> None:
    by_name = {v["name"]: v for v in VECTORS["accepted"]}
    nfc = by_name["Unicode: precomposed é (NFC)"]
    nfd = by_name["Unicode: decomposed e + U+0301 (NFD) is another record"]
    assert nfc["hash"] != nfd["hash"]  # no Unicode normalisation
    hashes = [v["hash"] for v in VECTORS["accepted"]]
    assert len(set(hashes)) == len(hashes)
    given = [type(v["record"].get(v["field"])) for v in VECTORS["refused"]]
    assert {float, bool, str, dict, list, type(None)} <= set(given)
    assert 2**256 in [v["record"].get(v["field"]) for v in VECTORS["refused"]]


def test_every_hash_the_spec_quotes_is_a_vector() -> None:
    spec = (DOCS / "record-hashing.md").read_text("utf-8")
    quoted = set(re.findall(r"0x[0-9a-f]{64}\b", spec)) - {"0x" + "11" * 32}
    assert quoted
    assert quoted <= {v["hash"] for v in VECTORS["accepted"]}
    # ...and the module docstring's worked example is the first vector.
    assert VECTORS["accepted"][0]["hash"] in (records.__doc__ or "")
