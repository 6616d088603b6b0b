"""The simulator at scale: the vectorised world's records, anchored in batches, provable."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ledger_client.attestations.batches import MAX_BATCH, batch_leaf
from ledger_client.attestations.merkle import keccak256, pair_leaves
from ledger_client.attestations.records import canonical_json, load_schemas, validate_record
from ledger_client.audit import verify_record
from ledger_client.chain.backends import ENGINE_VARIABLE
from ledger_client.scoring.records import MEMBERS, RecordKind
from node_sim.scale import (
    ScaleConfig,
    ScaleStore,
    canonical_records,
    report_days,
    row_to_record,
    run_scale,
    subject_ids,
    world_rows,
)
from node_sim.simulation import SimulationResult
from scripts.cli import app

ENTERPRISES, DAYS, SEED = 300, 40, 11


@pytest.fixture(scope="module")
def scale_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path]:
    out = tmp_path_factory.mktemp("scale-run")
    config = ScaleConfig(enterprises=ENTERPRISES, days=DAYS, seed=SEED, out=out, flow_sample=20)
    return run_scale(config), out


def kept_summary(home: Path) -> list[tuple[str, str, int, int, bytes, bytes]]:
    return [
        (b.schema, b.member, b.day, b.count, b.root, b.batch_id) for b in ScaleStore(home).batches
    ]


def test_records_anchored_are_the_worlds_reported_within_the_days(
    scale_run: tuple[SimulationResult, Path],
) -> None:
    result, out = scale_run
    rows = world_rows(SEED, ENTERPRISES)
    due = rows[report_days(rows) < DAYS]
    expected = Counter(RecordKind(int(k)).schema for k in due["kind"])
    store = ScaleStore(out)
    anchored: Counter[str] = Counter()
    for batch in store.batches:
        anchored[batch.schema] += batch.count
        assert 1 <= batch.count <= MAX_BATCH
    assert anchored == expected
    scale = result.summary["scale"]
    assert scale["records_anchored"] == due.shape[0] == store.rows.shape[0]
    assert scale["records_still_held"] == 0
    # The member suspended a third of the way in held its rows, then anchored them.
    assert result.summary["records"]["deferred_while_suspended"] > 0
    # Every batch is one holder's records of one schema, and a holder of that kind.
    for batch in store.batches:
        rows_b = store.batch_rows(batch.number)
        assert {MEMBERS[h] for h in rows_b["holder"].tolist()} == {batch.member}
        assert {RecordKind(k).schema for k in rows_b["kind"].tolist()} == {batch.schema}
    # The other flows ran as transactions beside the anchors.
    assert result.summary["transactions"] > len(store.batches)
    assert result.summary["consent"]["queries"] > 0


def test_canonical_json_is_the_projects_for_every_kind() -> None:
    rows = world_rows(SEED, 120)
    subjects = subject_ids(b"k" * 32, 120)
    schemas = load_schemas()
    seen = set()
    key = rows["holder"].astype(np.int64) * 256 + rows["kind"]
    for k in np.unique(key).tolist():
        group = rows[key == k]
        for row, encoded in zip(group, canonical_records(group, subjects), strict=True):
            name, record = row_to_record(row, subjects)
            assert canonical_json(validate_record(schemas[name], record)) == encoded
            seen.add(name)
    assert seen == {kind.schema for kind in RecordKind}


def test_a_sample_of_records_verifies_with_its_proof_and_a_doctored_one_fails(
    scale_run: tuple[SimulationResult, Path],
) -> None:
    result, out = scale_run
    assert result.ledger is not None
    store = ScaleStore(out)
    rng = np.random.default_rng(0)
    by_schema: dict[str, list[int]] = {}
    for batch in store.batches:
        by_schema.setdefault(batch.schema, []).append(batch.number)
    for numbers in by_schema.values():
        number = numbers[int(rng.integers(len(numbers)))]
        index = int(rng.integers(store.batches[number].count))
        record = store.record(number, index)
        proof = store.proof(number, index)
        verdict = verify_record(result.ledger, b"", record, proof)
        assert verdict.ok, verdict.to_dict()
    number = by_schema["loan-repayment"][0]
    record = store.record(number, 0)
    doctored = {**record, "repaidFen": int(str(record["repaidFen"])) + 1}
    verdict = verify_record(result.ledger, b"", doctored, store.proof(number, 0))
    assert not verdict.ok
    assert [c.name for c in verdict.failures] == ["merkle-proof"]


def test_the_run_is_reproducible_from_the_seed_and_splits_large_groups(
    scale_run: tuple[SimulationResult, Path], tmp_path: Path
) -> None:
    _, out = scale_run
    first = kept_summary(out)
    again = tmp_path / "again"
    again.mkdir()
    config = ScaleConfig(enterprises=ENTERPRISES, days=DAYS, seed=SEED, out=again, flow_sample=20)
    result = run_scale(config)
    assert result.ledger is not None
    result.ledger.chain.close()
    assert kept_summary(again) == first
    assert (again / "records.bin").read_bytes() == (out / "records.bin").read_bytes()
    # The same records, in batches of at most 40: every group larger is split.
    small = tmp_path / "small"
    small.mkdir()
    split = ScaleConfig(
        enterprises=ENTERPRISES, days=DAYS, seed=SEED, out=small, flows=False, max_batch=40
    )
    result = run_scale(split)
    assert result.ledger is not None
    result.ledger.chain.close()
    batches = ScaleStore(small).batches
    assert max(b.count for b in batches) == 40
    assert sum(b.count for b in batches) == sum(b[3] for b in first)


def test_a_record_proven_from_the_cli_verifies_with_credit_chain_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--engine` sets the engine for the process: put it back as it was after the test.
    monkeypatch.delenv(ENGINE_VARIABLE, raising=False)
    out = tmp_path / "run"
    runner = CliRunner()
    ran = runner.invoke(
        app,
        ["simulate-scale", "--enterprises", "60", "--days", "20", "--flow-sample", "5",
         "--out", str(out), "--json"],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["scale"]["records_anchored"] > 0
    record, proof = tmp_path / "record.json", tmp_path / "proof.json"
    args = ["--out", str(out), "--batch", "0", "--index", "0"]
    made = runner.invoke(
        app, ["scale-proof", *args, "--record", str(record), "--proof", str(proof)]
    )
    assert made.exit_code == 0, made.output
    verify = ["--engine", "revm", "verify", "--manifest", str(out / "manifest.json")]
    checked = runner.invoke(
        app, [*verify, "--record", str(record), "--proof", str(proof), "--json"]
    )
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["ok"] is True
    doc = json.loads(record.read_text(encoding="utf-8"))
    key = next(k for k, v in doc.items() if isinstance(v, int) and k != "instalment")
    doc[key] += 1
    record.write_text(json.dumps(doc), encoding="utf-8")
    refused = runner.invoke(
        app, [*verify, "--record", str(record), "--proof", str(proof), "--json"]
    )
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["ok"] is False


def test_pair_leaves_are_batch_leaves_of_the_records_hashes() -> None:
    subjects = subject_ids(b"s" * 32, 5)
    docs = [b'{"n":%d}' % i for i in range(5)]
    assert pair_leaves(subjects, docs) == [
        batch_leaf(s, keccak256(d)) for s, d in zip(subjects, docs, strict=True)
    ]
