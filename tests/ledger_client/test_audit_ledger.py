"""``credit-chain audit`` on real ledgers: the demo is clean, every tampered copy is not.

The contracts never let a breach happen, so a tampered ledger is made the way
an auditor could be fooled: the events the audit reads are altered in a copy
of its own event index (a changed field, a deleted or an extra event), which
the replay must catch by the rule it breaks, and the comparison with the
chain by ``StateMismatch``. A manifest naming another deployment's contract
is refused by its wiring (ManifestWiringMismatch, tests/ledger_client/test_wiring.py), and
gives a chain whose state disagrees with the events.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from demos.consortium import DEMO_SEED
from harness.browser import CHROMIUM_ARGS
from ledger_client import Keyring, Manifest, ManifestWiringMismatch, Role, attach, connect
from ledger_client.audit import audit_ledger, compare_with_chain
from ledger_client.audit.replay import Replay
from ledger_client.index import EventIndex
from scripts.cli import app
from tests.audit_world import small_ledger
from tests.conftest import deploy_for_tests

runner = CliRunner()


def make_demo_ledger(home: Path) -> Path:
    """``credit-chain demo --data-dir HOME``: the demo's chain and manifest kept in ``home``."""
    result = runner.invoke(app, ["demo", "--data-dir", str(home), "--json"])
    assert result.exit_code == 0, result.output
    return home / "manifest.json"


def run_audit(manifest: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(
        app, ["audit", "--manifest", str(manifest), "--out", str(out), "--json", *extra]
    )
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_ledger(tmp_path_factory.mktemp("demo-ledger"))


@pytest.fixture(scope="module")
def audited(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit")
    code, report = run_audit(demo, out)
    assert code == 0, report["breaches"]
    return out


def test_the_demo_ledger_audits_clean(audited: Path) -> None:
    report = json.loads((audited / "report.json").read_text())
    assert report["ok"] is True
    assert report["breaches"] == []
    t = report["totals"]
    assert t["queries"] >= 2
    assert t["disputes_upheld"] == 1
    assert t["report_shares"] == 1
    assert t["receivables"] == 2
    assert t["receivable_parts"] == 3
    assert t["batch_records"] >= 100
    compared = report["comparison"]["compared"]
    for kind in ("members", "schemas", "attestations", "batches", "authorisations", "queries"):
        assert compared[kind] > 0, kind
    for kind in ("report shares", "disputes", "receivables", "receivable parts"):
        assert compared[kind] > 0, kind
    assert report["comparison"]["incremental_since"] is None
    charts = report["charts"]
    assert charts["queries_per_member"]
    assert charts["disputes"][0]["status"] == "upheld"
    assert charts["receivables_by_tier"]["2"]["financed"] == 1
    assert charts["receivables_by_tier"]["1"]["overdue"] == 1
    html = (audited / "report.html").read_text()
    assert html.count("<svg") >= 5


def test_the_summary_names_the_verdict(demo: Path, tmp_path: Path) -> None:
    # A path longer than the terminal is printed whole (soft wrap), so it can be copied.
    out = tmp_path / ("audit-of-the-five-cities-ledger-" * 3)
    result = runner.invoke(app, ["audit", "--manifest", str(demo), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "clean" in result.output
    assert str(out / "report.html") in result.output


def test_a_reaudit_reads_and_compares_only_what_is_new(demo: Path, tmp_path: Path) -> None:
    home = tmp_path / "ledger"
    shutil.copytree(demo.parent, home)
    manifest = home / "manifest.json"
    out = tmp_path / "audit"
    code, first = run_audit(manifest, out)
    assert code == 0
    chain = connect("embedded", data_dir=home)
    ledger = attach(chain, Manifest.load(manifest))
    bank = Keyring(DEMO_SEED).account("bank:shanghai")
    loan = ledger.schemas["loan-repayment"]
    ledger.attestations.attest(bank, loan, b"\x07" * 32, b"\x08" * 32)
    chain.close()
    code, second = run_audit(manifest, out)
    assert code == 0, second["breaches"]
    assert second["index"]["blocks_read"] == 1
    assert second["comparison"]["incremental_since"] == first["audited"]["block"]
    assert second["comparison"]["compared"] == {"attestations": 1}
    assert second["totals"]["attestations"] == first["totals"]["attestations"] + 1
    code, full = run_audit(manifest, out, "--full")
    assert code == 0
    assert full["comparison"]["incremental_since"] is None


# -- tampered ledgers ---------------------------------------------------------------------------

_FIRST = "(SELECT min(seq) FROM events WHERE name = '{0}')"

TAMPERING = {
    "a query's authorisation swapped": (
        "UPDATE events SET args = json_set(args, '$.authId', '0x' || printf('%064d', 7))"
        f" WHERE seq = {_FIRST.format('QueryLogged')}",
        {"QueryWithoutAuthorisation", "IdMismatch", "StateMismatch"},
    ),
    "a split that leaves a fen too many": (
        "UPDATE events SET args = json_set(args, '$.remaining',"
        " json_extract(args, '$.remaining') + 1) WHERE name = 'ReceivableSplit'",
        {"PartsDoNotAddUp", "StateMismatch"},
    ),
    "a financing recorded twice": (
        "INSERT INTO events (block_number, tx_index, log_index, tx_hash, contract, name, args,"
        " block_timestamp) SELECT block_number, tx_index, log_index + 1000, tx_hash, contract,"
        " name, args, block_timestamp FROM events WHERE name = 'ReceivableFinanced'",
        {"DoubleFinancing"},
    ),
    "the second receivable issued against the first one's invoices": (
        "UPDATE events SET args = json_set(args, '$.invoiceCommitments', json_extract((SELECT args"
        f" FROM events WHERE seq = {_FIRST.format('ReceivableIssued')}), '$.invoiceCommitments'))"
        " WHERE name = 'ReceivableIssued' AND seq > " + _FIRST.format("ReceivableIssued"),
        {"InvoiceReused", "StateMismatch"},
    ),
    "a dispute's answer deleted": (
        "DELETE FROM events WHERE name = 'DisputeUpheld'",
        {"DisputeOverdue", "StateMismatch"},
    ),
    "a member's reinstatement deleted": (
        "DELETE FROM events WHERE name = 'MemberReinstated'",
        {"WriteBySuspendedMember", "StateMismatch"},
    ),
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_each_tampered_ledger_fails_naming_its_breach(
    demo: Path, audited: Path, tmp_path: Path, tampering: str
) -> None:
    sql, expected = TAMPERING[tampering]
    copy = tmp_path / "audit"
    shutil.copytree(audited, copy)
    with sqlite3.connect(copy / "index.sqlite") as db:
        assert db.execute(sql).rowcount >= 1
    code, report = run_audit(demo, copy, "--full")
    assert code == 1
    assert report["ok"] is False
    names = {b["name"] for b in report["breaches"]}
    assert expected <= names, report["breaches"]
    for b in report["breaches"]:
        assert b["tx_hash"].startswith("0x")
        assert len(b["tx_hash"]) == 66
        assert b["block"] > 0
        assert b["detail"]


def test_a_manifest_naming_another_deployments_contract_is_a_state_mismatch(
    keyring: Keyring,
) -> None:
    chain = connect("embedded")
    audited_ledger = deploy_for_tests(chain, keyring)
    bank = keyring.account("bank")
    chain.fund(bank.address)
    audited_ledger.consortium.admit_member(
        keyring.account("regulator"), bank.address, "B", "Hefei", Role.ATTESTER
    )
    loan = audited_ledger.schemas["loan-repayment"]
    made = audited_ledger.attestations.attest(bank, loan, b"\x01" * 32, b"\x02" * 32)
    other = deploy_for_tests(chain, keyring)  # the same code, another state
    contracts = {**audited_ledger.manifest.contracts}
    contracts["Attestations"] = other.manifest.contracts["Attestations"]
    miswired = dataclasses.replace(audited_ledger.manifest, contracts=contracts)
    with pytest.raises(ManifestWiringMismatch, match=r"\(contract=Attestations, reference="):
        attach(chain, miswired)  # built on the other deployment's consortium
    swapped = attach(chain, miswired, wiring=False)  # the comparison, on its own, also sees it
    with EventIndex(":memory:", audited_ledger) as index:
        index.sync()
        replay = Replay()
        assert replay.run(index.events()) == []
        head = index.cursor
    assert compare_with_chain(audited_ledger, replay.state, head).mismatches == []
    mismatches = compare_with_chain(swapped, replay.state, head).mismatches
    assert mismatches
    assert {m.name for m in mismatches} == {"StateMismatch"}
    named = [m for m in mismatches if made.uid.hex() in m.detail]
    assert named
    assert named[0].tx_hash == made.tx.tx_hash.lower()
    assert "the chain has none" in named[0].detail


# -- the report in a browser --------------------------------------------------------------------


def test_the_report_opens_in_a_headless_browser_with_its_charts(audited: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: `make setup` installs it (Debian package)"
    page = (audited / "report.html").resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        flags = [
            chromium,
            "--headless",
            *CHROMIUM_ARGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
        ]
        dom = subprocess.run(
            [*flags, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True
        )
        shot = Path(profile) / "report.png"
        subprocess.run(
            [*flags, "--window-size=1100,3000", f"--screenshot={shot}", page],
            capture_output=True,
            timeout=120,
            check=True,
        )
        # Chromium logs every console message and script error as "CONSOLE" on stderr.
        assert "Uncaught" not in dom.stderr, dom.stderr
        assert "CONSOLE" not in dom.stderr, dom.stderr
        # The browser parsed five inline SVG charts, each with drawn paths.
        body = dom.stdout
        assert "Audit of the Yangtze Delta credit chain" in body
        assert body.count("<svg") >= 5
        for title in ("by city", "by schema", "Queries logged per member", "how long they took"):
            assert title in body, title
        assert body.count("<path") > 50
        # And it painted them: the screenshot is far from blank.
        import matplotlib.image

        pixels = matplotlib.image.imread(str(shot))
        coloured = ((pixels[..., :3].max(axis=2) - pixels[..., :3].min(axis=2)) > 0.2).mean()
        assert coloured > 0.01, coloured


# -- a real node --------------------------------------------------------------------------------


@pytest.fixture
def anvil_snapshot(anvil_url: str) -> Iterator[str]:
    chain = connect(anvil_url)
    snap = chain.snapshot()
    yield anvil_url
    chain.revert(snap)
    chain.close()


def make_small_ledger(target: str, home: Path) -> Path:
    """A deployment with a little of everything that needs no enterprise gas, on ``target``."""
    chain = connect(target)
    ledger = small_ledger(chain, Keyring("audit-on-a-node"))
    chain.close()
    return ledger.manifest.save(home / "manifest.json")


@pytest.mark.anvil
def test_audit_on_a_real_node(anvil_snapshot: str, tmp_path: Path) -> None:
    manifest = make_small_ledger(anvil_snapshot, tmp_path)
    code, report = run_audit(manifest, tmp_path / "audit", "--rpc", anvil_snapshot)
    assert code == 0, report["breaches"]
    assert report["deployment"]["network"] == anvil_snapshot
    t = report["totals"]
    assert (t["disputes_rejected"], t["queries"], t["batch_records"]) == (1, 1, 20)
    assert (t["complaints"], t["complaints_open"]) == (1, 0)
    result = audit_ledger(
        attach(connect(anvil_snapshot), Manifest.load(manifest)), tmp_path / "audit"
    )
    assert result.ok
    assert result.report["index"]["blocks_read"] == 0
