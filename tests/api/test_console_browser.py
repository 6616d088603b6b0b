"""The regulator's console in a real browser: Debian's ``chromium`` driven by Playwright
(``executable_path``; no browser is downloaded), on a served API whose ledger the test
drives through the SDK: a signed batch of credit records, a core enterprise's receivable
split down two tiers, an enterprise's authorisation and a bank's query.

Every request a page makes off loopback is aborted and fails the test. Screenshots of each
page are kept under ``test-artifacts/console/`` (git-ignored); with
``CONSOLE_DOCS_SCREENSHOTS=1`` the overview and risk pages are also written to ``docs/``
for the README.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from api.console.source import ManifestSource
from api.main import create_app, create_console_app
from api.routes import console as console_routes
from harness.browser import launch_chromium, loopback_only
from ledger_client.attestations.merkle import keccak256
from ledger_client.attestations.records import record_hash, sample_record
from ledger_client.chain.local_node import free_port
from ledger_client.lending import CollateralKind, FacilityKind, PledgeTerms, ip_key
from tests.api_world import DAY, ApiWorld, open_world

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "test-artifacts" / "console"
LOOPBACK = frozenset({"127.0.0.1"})
TIMEOUT_MS = 30_000
#: A warning must show within this long of the receivable falling overdue (the page polls
#: every 2 s). A bound for a correct page on a shared machine, not a speed target: with
#: the suite in two processes the other one's load slowed it past 8 s on a clean clone.
WARNING_WITHIN_MS = 20_000
DUE_IN_DAYS = 30
MILLION = 1_000_000_00  # ¥1m in fen
REASONS = "loan_late_share,overdue_records"

#: A browser and a served ledger: minutes, not seconds; still in `make test`.
pytestmark = pytest.mark.slow


@dataclass
class Lending:
    """What the seed lent tier1: a joint agreement (80 % used, flagged), a pledge, a score."""

    agreement: int
    pledge_id: str
    score_uid: str
    score_record: dict[str, Any]


@dataclass
class Console:
    url: str
    world: ApiWorld
    batch_id: str
    receivable_id: str
    lending: Lending
    due: int  # the core receivable's due date, chain time
    off_loopback: list[str] = field(default_factory=list)


def _seed(w: ApiWorld) -> tuple[str, str, int]:
    """A batch of records, a split receivable, an authorisation and a query, through the API."""
    bank = w.sdk_client("bank-a")
    loan = bank.schema("loan-repayment")
    subjects = [w.subject(s) for s in ("core", "tier1", "tier2")]
    records = [
        sample_record(loan, random.Random(i), overrides={"subject": subjects[i % 3]})
        for i in range(10)
    ]
    done = [bank.wait(s) for s in bank.attest_records(loan, records)]
    assert {d.status for d in done} == {"anchored"}, [d.doc for d in done]
    batch_id = done[0].made("batch_id")

    core = w.sdk_client("core")
    due = w.service.chain_time() + DUE_IN_DAYS * DAY
    issued = core.wait(
        core.issue_receivable(
            w["tier1"].address,
            1_000_000_00,
            due,
            contract_hash=keccak256(b"console contract"),
            invoice_commitments=[keccak256(b"console invoice 1")],
        )
    )
    rid = issued.made("receivable_id")
    tier1 = w.sdk_client("tier1")
    assert tier1.wait(tier1.accept_receivable(rid)).status == "anchored"
    assert tier1.wait(tier1.split_receivable(rid, w["tier2"].address, 400_000_00)).status == (
        "anchored"
    )
    auth = bank.wait(
        bank.authorise(
            w["bank-a"].address,
            "LOAN_APPROVAL",
            w.service.chain_time() + 365 * DAY,
            party=w["tier1"],
        )
    )
    auth_id = auth.made("auth_id")
    assert bank.wait(bank.log_query(auth_id, "LOAN_APPROVAL", keccak256(b"q1"))).status == (
        "anchored"
    )
    return batch_id, rid, due


def _seed_lending(w: ApiWorld) -> Lending:
    """Through the client library (the API relays no lending write): bank-a and bank-b lend
    tier1 under a ¥10m joint agreement, draw ¥8m of it, and bank-b reports an overdue that
    flags it; tier1 pledges a patent to bank-a; bank-a attests a credit score of tier1."""
    ledger, now = w.ledger, w.service.chain_time()
    cf, cr = ledger.facilities, ledger.collateral
    tier1 = w.subjects["tier1"]
    a, b = w["bank-a"], w["bank-b"]
    terms = PledgeTerms(
        CollateralKind.PATENT, ip_key("CNIPA", "ZL2024-console"), MILLION, now + 365 * DAY
    )
    pledged = cr.pledge(a, cr.sign_pledge(w["tier1"], terms, pledgee=a.address))
    for bank, label in ((a, b"A"), (b, b"B")):
        cf.register_facility(
            bank,
            tier1,
            keccak256(b"console facility " + label),
            kind=FacilityKind.LOAN,
            limit=10 * MILLION,
            expiry=now + 365 * DAY,
            pledge_ids=(pledged.pledge_id,) if bank is a else (),
        )
    no, _ = cf.propose_agreement(a, tier1, 10 * MILLION, [a.address, b.address], [5_000, 5_000])
    cf.join_agreement(b, no)
    cf.accept_agreement(a, cf.sign_acceptance(w["tier1"], no))
    cf.draw(a, tier1, keccak256(b"console facility A"), 6 * MILLION)
    cf.draw(b, tier1, keccak256(b"console facility B"), 2 * MILLION)
    cf.report_overdue(b, tier1, keccak256(b"console facility B"), MILLION, 40)
    schema = ledger.schemas["credit-score"]
    record = sample_record(
        schema, random.Random(3), overrides={"subject": w.subject("tier1"), "reasonCodes": REASONS}
    )
    scored = ledger.attestations.attest(a, schema, tier1, record_hash(schema, record))
    w.service.refresh()
    return Lending(
        no, "0x" + bytes(pledged.pledge_id).hex(), "0x" + bytes(scored.uid).hex(), record
    )


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free 127.0.0.1 port, in a thread stopped on exit."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not server.started:
        time.sleep(0.05)
    assert server.started, "the console's server did not start"
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    assert shutil.which("chromium"), "chromium is missing: `make chromium` installs it"
    with open_world(tmp_path_factory.mktemp("console")) as w:
        batch_id, rid, due = _seed(w)
        lending = _seed_lending(w)
        with _serving(create_app(service=w.service)) as url:
            yield Console(url, w, batch_id, rid, lending, due)


def _fall_overdue(console: Console) -> None:
    """The chain's clock past the core receivable's due date (once): a test of the overdue
    risk runs alone as well as after the test that watches the receivable fall overdue."""
    now = console.world.service.chain_time()
    if now <= console.due:
        console.world.advance(console.due - now + DAY)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(console: Console, browser: Any) -> Iterator[Any]:
    """A fresh browser context whose every request off 127.0.0.1 is aborted and recorded."""
    aborted: list[str] = []
    errors: list[str] = []

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", loopback_only(aborted, LOOPBACK))
    pg = context.new_page()
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(console.url + "/console/")
    try:
        yield pg
    finally:
        context.close()
    assert aborted == [], f"requests left loopback: {aborted}"
    assert errors == [], errors


def _login(page: Any, console: Console, who: str) -> None:
    page.fill("#api-key", console.world.keys[who])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#nav:not([hidden])")


def _open(page: Any, where: str) -> Any:
    """Go to a page (``name`` or ``name/arg``) and wait until it rendered afresh."""
    page.evaluate(
        """(where) => {
            for (const p of document.querySelectorAll('.page')) delete p.dataset.rendered;
            if (location.hash !== '#' + where) location.hash = where;
            else window.dispatchEvent(new HashChangeEvent('hashchange'));
        }""",
        where,
    )
    name = where.split("/", maxsplit=1)[0]
    section = page.locator(f"#{name}-page")
    page.wait_for_function(f"() => document.querySelector('#{name}-page').dataset.rendered")
    return section


def _shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
    if os.environ.get("CONSOLE_DOCS_SCREENSHOTS") == "1" and name in ("overview", "risk"):
        page.screenshot(path=str(ROOT / "docs" / f"console-{name}.png"), full_page=True)


def _charts_drawn(page: Any, section: Any, count: int) -> None:
    """Each chart of the section is an SVG with drawn shapes."""
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#{section} .chart')].length === {count} && "
        f"[...document.querySelectorAll('#{section} .chart')].every("
        "c => c.querySelectorAll('svg path, svg rect, svg circle').length > 3)"
    )


def test_the_regulator_sees_every_page_and_the_bank_is_refused_the_overseers(
    page: Any, console: Console
) -> None:
    _login(page, console, "regulator")
    assert page.locator("#who").inner_text().startswith("regulator")
    _open(page, "overview")
    _charts_drawn(page, "overview-page", 2)
    assert page.locator("#overview-page [data-card=head] b").inner_text().isdigit()
    risk = _open(page, "risk")
    assert "NotPermitted" not in risk.inner_text()
    assert page.locator("#risk-page .chart").count() == 5  # drawn: see the test after overdue
    page.click("#logout")

    _login(page, console, "bank-a")
    assert page.locator("#who").inner_text().startswith("bank")
    risk = _open(page, "risk")
    assert "NotPermitted" in risk.inner_text()
    assert page.locator("#risk-page .chart").count() == 0


def test_a_bank_opens_only_the_enterprises_that_authorised_it(page: Any, console: Console) -> None:
    w = console.world
    _login(page, console, "bank-a")
    _open(page, "enterprise/" + w.subject("core"))
    error = page.locator("#enterprise-error")
    page.wait_for_function("() => document.querySelector('#enterprise-error').textContent")
    assert "NotPermitted" in error.inner_text()
    assert "not authorised" in error.inner_text()
    assert page.locator("#enterprise-body table").count() == 0

    page.fill("#subject", w.subject("tier1"))
    page.click("#enterprise-form button[type=submit]")
    page.wait_for_selector("#profile-title")
    assert page.locator("#profile-title").inner_text() == w.subject("tier1")
    assert w["bank-a"].address in page.locator("#enterprise-body table.queries").inner_text()
    _shot(page, "enterprise-bank")


def test_an_enterprise_sees_its_own_profile_and_no_other(page: Any, console: Console) -> None:
    w = console.world
    _login(page, console, "core")
    assert page.locator("#who").inner_text().startswith("enterprise")
    _open(page, "enterprise/" + w.subject("core"))
    page.wait_for_selector("#profile-title")
    assert page.locator("#enterprise-body table.receivables tr").count() >= 2
    page.fill("#subject", w.subject("tier2"))
    page.click("#enterprise-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#enterprise-error').textContent")
    assert "NotPermitted" in page.locator("#enterprise-error").inner_text()
    risk = _open(page, "risk")
    assert "NotPermitted" in risk.inner_text()


def test_the_explorer_verifies_a_batch_proof_in_the_page(page: Any, console: Console) -> None:
    _login(page, console, "auditor")
    _open(page, "explorer")
    page.fill("#ref", f"{console.batch_id}:5")
    page.click("#explorer-form button[type=submit]")
    page.wait_for_selector("#proof-verdict")
    assert page.locator("#proof-verdict").get_attribute("data-verified") == "true"
    # The page's own check fails a proof that does not lead to the root.
    record = requests.get(
        f"{console.url}/v1/console/explorer/{console.batch_id}:5",
        headers={"X-API-Key": console.world.keys["auditor"]},
        timeout=10,
    ).json()
    forged = [("0x" + "11" * 32), *record["proof"][1:]]
    assert (
        page.evaluate("([l, p]) => processProof(l, p)", [record["leaf"], record["proof"]])
        == (record["root"])
    )
    assert (
        page.evaluate("([l, p]) => processProof(l, p)", [record["leaf"], forged])
        != (record["root"])
    )
    _shot(page, "explorer-batch-record")

    page.fill("#ref", console.receivable_id)
    page.click("#explorer-form button[type=submit]")
    page.wait_for_selector("#explored-kind")
    assert page.locator("#explored-kind").inner_text() == "receivable"
    assert page.locator("#explorer-body table.lineage tr").count() == 3  # header, root, split


def test_a_warning_appears_within_seconds_of_a_core_receivable_falling_overdue(
    page: Any, console: Console
) -> None:
    _login(page, console, "regulator")
    _open(page, "warnings")
    rows = page.locator("#warnings-page tr.warning[data-rule=receivable-overdue]")
    assert rows.count() == 0
    _fall_overdue(console)
    started = time.monotonic()
    rows.first.wait_for(timeout=WARNING_WITHIN_MS)
    assert time.monotonic() - started < WARNING_WITHIN_MS / 1000
    text = rows.first.inner_text()
    assert console.world.subject("core")[:8] in text  # the debtor, then the tiers exposed
    assert console.world.subject("tier2")[:8] in text
    _shot(page, "warnings")
    # The transaction that issued it links into the explorer.
    rows.first.locator("a.ref").last.click()
    page.wait_for_selector("#explored-kind")
    assert page.locator("#explored-kind").inner_text() == "transaction"


def test_every_chart_is_drawn_in_both_languages(page: Any, console: Console) -> None:
    _fall_overdue(console)
    _login(page, console, "regulator")
    _open(page, "overview")
    _charts_drawn(page, "overview-page", 2)
    assert page.locator("#overview-page tr.warning").count() >= 1
    _shot(page, "overview")
    _open(page, "risk")
    _charts_drawn(page, "risk-page", 5)
    # The contagion graph holds the overdue core enterprise and both tiers it exposes.
    nodes = page.evaluate(
        "echarts.getInstanceByDom(document.querySelector('#chart-contagion'))"
        ".getOption().series[0].data.length"
    )
    assert nodes == 3
    _shot(page, "risk")
    page.click("#lang")
    page.wait_for_function(
        "() => document.querySelector('#nav a[data-page=overview]').textContent === '总览'"
    )
    _open(page, "overview")
    _charts_drawn(page, "overview-page", 2)
    assert "各城市成员机构" in page.evaluate(
        "echarts.getInstanceByDom(document.querySelector('#chart-cities')).getOption().title[0].text"
    )
    _shot(page, "overview-zh")


def test_the_audit_runs_in_the_page(page: Any, console: Console) -> None:
    _login(page, console, "auditor")
    _open(page, "audit")
    page.click("#run-audit")
    page.wait_for_selector("#audit-verdict", timeout=120_000)
    assert page.locator("#audit-verdict").get_attribute("class") == "verified"
    _shot(page, "audit")


@pytest.mark.parametrize(
    "case",
    [
        ("login", "#api-key", "", "Type your API key."),
        ("login", "#api-key", "not-a-key", "Unauthenticated: unknown API key"),
        ("enterprise", "#subject", "acme", "A subject id is 0x followed by 64"),
        ("enterprise", "#subject", "0x" + "ab" * 32, "NotFound"),
        ("explorer", "#ref", "<script>alert(1)</script>", "Type a 0x-prefixed 32-byte id"),
        ("explorer", "#ref", "0x" + "cd" * 32, "NotFound: nothing is known by"),
        ("explorer", "#ref", "0x" + "cd" * 32 + ":999999", "NotFound: no batch"),
    ],
)
def test_bad_input_in_every_form_gets_a_clear_message(
    page: Any, console: Console, case: tuple[str, str, str, str]
) -> None:
    form, field, value, expected = case
    if form != "login":
        _login(page, console, "regulator")
        _open(page, form)
    page.fill(field, value)
    page.click(f"#{form}-form button[type=submit]")
    error = page.locator(f"#{form}-error")
    page.wait_for_function(
        f"() => document.querySelector('#{form}-error').textContent.includes({expected!r})"
    )
    assert "Traceback" not in page.content()
    assert error.inner_text().strip()


def test_bad_input_to_the_reads_gets_a_named_error_never_a_trace(console: Console) -> None:
    h = {"X-API-Key": console.world.keys["regulator"]}
    for path, status, name in (
        ("/v1/console/explorer/zzz", 422, "ConsoleRefInvalid"),
        (f"/v1/console/explorer/{console.batch_id}:99999", 422, "ConsoleRefInvalid"),
        ("/v1/console/enterprises/0x12", 422, "ConsoleRefInvalid"),
        ("/v1/console/enterprises/" + "0x" + "00" * 32, 404, "NotFound"),
    ):
        r = requests.get(console.url + path, headers=h, timeout=10)
        assert r.status_code == status, r.text
        assert r.json()["error"] == name
        assert r.json()["detail"]
    r = requests.get(console.url + "/v1/console/overview", timeout=10)
    assert r.status_code == 401
    assert r.json()["error"] == "Unauthenticated"


def test_the_read_only_console_shows_an_auditor_everything_without_a_key(
    console: Console, browser: Any, tmp_path: Path
) -> None:
    """``credit-chain console --manifest``'s app: the deployment read into an index of its
    own, no key asked for, no write route."""
    _fall_overdue(console)
    source = ManifestSource(console.world.ledger, tmp_path / "console-index.sqlite")
    try:
        with _serving(create_console_app(source, "auditor on call")) as url:
            assert requests.post(url + "/v1/attestations", json={}, timeout=10).status_code in (
                404,
                405,
            )
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            off: list[str] = []
            context.route("**/*", loopback_only(off, LOOPBACK))
            try:
                pg = context.new_page()
                pg.goto(url + "/console/")
                pg.wait_for_selector("#nav:not([hidden])")
                assert pg.locator("#who").inner_text().startswith("auditor")
                assert pg.locator("#logout").is_hidden()
                _open(pg, "risk")
                _charts_drawn(pg, "risk-page", 5)
                _open(pg, "overview")
                _charts_drawn(pg, "overview-page", 2)
                head = int(pg.locator("#overview-page [data-card=head] b").inner_text())
                assert head == console.world.service.chain.backend.block_number()
                # The read-only console follows the chain too: its stream reads new blocks.
                pg.wait_for_selector("body[data-live=sse]")
                pg.wait_for_function("() => state.lastHead !== null")
                console.world.advance(60)
                pg.wait_for_function(
                    "() => Number(document.querySelector('#overview-page [data-card=head] b')"
                    f".textContent) > {head}",
                    timeout=8_000,
                )
                assert pg.evaluate("state.polledRefreshes") == 0
            finally:
                context.close()
            assert off == []
    finally:
        source.close()


# -- joint limits, the profile's lending and score sections, live updates ---------------------


def test_the_risk_page_shows_joint_limit_utilisation_and_the_flagged_agreement(
    page: Any, console: Console
) -> None:
    no = console.lending.agreement
    _fall_overdue(console)
    _login(page, console, "regulator")
    _open(page, "risk")
    _charts_drawn(page, "risk-page", 5)
    row = page.locator(f"#risk-page table.joint tr[data-agreement='{no}']")
    text = row.inner_text()
    assert "80.0%" in text  # ¥8m drawn of ¥10m
    assert "10,000,000" in text  # the limit in yuan
    assert "8,000,000" in text  # the exposure
    assert row.locator("[data-flagged]").get_attribute("data-flagged") == "true"
    assert page.locator("#joint-flagged").inner_text() == "1"
    bars = page.evaluate(
        "echarts.getInstanceByDom(document.querySelector('#chart-joint'))"
        ".getOption().series[0].data.map(d => d.value)"
    )
    assert bars == [0.8]
    assert "industry" in page.locator("#industry-note").inner_text()
    page.click("#lang")
    _open(page, "risk")
    _charts_drawn(page, "risk-page", 5)
    assert (
        "已标记" in page.locator(f"#risk-page table.joint tr[data-agreement='{no}']").inner_text()
    )
    _shot(page, "risk-joint")


def test_the_profile_shows_scores_pledges_and_facilities_and_opens_a_score(
    page: Any, console: Console
) -> None:
    w, lending = console.world, console.lending
    _login(page, console, "bank-a")  # tier1 authorised bank-a
    _open(page, "enterprise/" + w.subject("tier1"))
    page.wait_for_selector("#profile-title")
    body = page.locator("#enterprise-body")
    assert lending.score_uid[:8] in body.locator("table.scores").inner_text()
    assert lending.pledge_id[:8] in body.locator("table.pledges").inner_text()
    assert "patent" in body.locator("table.pledges").inner_text()
    assert body.locator("table.facilities tr").count() == 3  # header, bank-a's, bank-b's
    assert (
        "80.0%"
        in body.locator(f"table.joint tr[data-agreement='{lending.agreement}']").inner_text()
    )
    page.fill("#score-record", json.dumps(lending.score_record))
    page.click("#score-form button[type=submit]")
    page.wait_for_selector("#score-verdict")
    assert page.locator("#reason-codes li").all_inner_texts() == REASONS.split(",")
    assert (
        page.locator("#score-body [data-card=grade] b").inner_text()
        == lending.score_record["grade"]
    )
    _shot(page, "enterprise-scores")


def test_bad_input_in_the_score_form_gets_a_clear_message(page: Any, console: Console) -> None:
    w, lending = console.world, console.lending
    altered = {**lending.score_record, "points": int(lending.score_record["points"]) + 1}
    other = {**lending.score_record, "subject": w.subject("core")}
    _login(page, console, "regulator")
    _open(page, "enterprise/" + w.subject("tier1"))
    page.wait_for_selector("#score-form")
    for value, expected in (
        ("", "Paste the score record"),
        ("{not json", "The score record is not valid JSON"),
        ("[1, 2]", "The score record must be a JSON object"),
        ('{"grade": "A"}', "ScoreRecordMismatch: this is no credit-score record"),
        (json.dumps(other), "ScoreRecordMismatch: the record names another enterprise"),
        (json.dumps(altered), "ScoreRecordMismatch: the record hashes to"),
    ):
        page.fill("#score-record", value)
        page.click("#score-form button[type=submit]")
        page.wait_for_function(
            f"() => document.querySelector('#score-error').textContent.includes({expected!r})"
        )
        assert page.locator("#score-verdict").count() == 0
    assert "Traceback" not in page.content()


def test_opening_a_score_is_refused_by_name_to_whoever_may_not_see_it(console: Console) -> None:
    lending, url = console.lending, console.url + "/v1/console/scores/"
    body = {"record": lending.score_record}
    for key_of, ref, status, name in (
        ("bank-b", lending.score_uid, 403, "NotPermitted"),  # tier1 authorised bank-a only
        ("regulator", "0x12", 422, "ConsoleRefInvalid"),
        ("regulator", "0x" + "00" * 32, 404, "NotFound"),
        ("regulator", lending.pledge_id, 404, "NotFound"),  # no attestation
    ):
        h = {"X-API-Key": console.world.keys[key_of]}
        r = requests.post(url + ref, json=body, headers=h, timeout=10)
        assert r.status_code == status, r.text
        assert r.json()["error"] == name
    h = {"X-API-Key": console.world.keys["regulator"]}
    r = requests.post(url + lending.score_uid, json={"record": [1]}, headers=h, timeout=10)
    assert r.status_code == 422
    assert r.json()["error"] == "RequestValidationError"


def _head_events(lines: Iterator[str | bytes], count: int) -> list[dict[str, Any]]:
    """The next ``count`` head events of an event stream's lines (decoded)."""
    found, event = [], None
    for raw in lines:
        line = raw.decode() if isinstance(raw, bytes) else raw
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event == "head":
            found.append(json.loads(line[5:]))
            if len(found) == count:
                return found
    raise AssertionError(f"the stream ended after {len(found)} head events")


def _until(check: Any, within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def test_the_head_stream_announces_each_new_block_and_ends_on_its_own(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = {"X-API-Key": console.world.keys["bank-a"], "Accept": "text/event-stream"}
    assert requests.get(console.url + "/v1/console/heads", timeout=10).status_code == 401
    with requests.get(console.url + "/v1/console/heads", headers=h, stream=True, timeout=10) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines(decode_unicode=True)
        (first,) = _head_events(lines, 1)
        assert first["indexed"] == first["head"]
        console.world.advance(60)  # mines a block
        (second,) = _head_events(lines, 1)
        assert second["head"] > first["head"]
    _until(lambda: console_routes.OPEN_STREAMS["heads"] == 0)  # the client went: the stream ended
    # A quiet stream beats; a stream's life is bounded: it ends, and the page reconnects.
    monkeypatch.setattr(console_routes, "HEARTBEAT_S", 0.3)
    with requests.get(console.url + "/v1/console/heads", headers=h, stream=True, timeout=10) as r:
        lines = r.iter_lines(decode_unicode=True)
        _head_events(lines, 1)
        assert ": heartbeat" in (next(lines), next(lines), next(lines))
    monkeypatch.setattr(console_routes, "STREAM_LIFETIME_S", 1.0)
    started = time.monotonic()
    with requests.get(console.url + "/v1/console/heads", headers=h, stream=True, timeout=10) as r:
        assert "retry:" in r.text  # read to the end: the server closed it
    assert time.monotonic() - started < 5


def test_a_page_updates_on_a_new_block_by_server_sent_events(page: Any, console: Console) -> None:
    _login(page, console, "regulator")
    _open(page, "overview")
    page.wait_for_selector("body[data-live=sse]")
    page.wait_for_function("() => state.lastHead !== null")  # the stream's first event
    head = int(page.locator("#overview-page [data-card=head] b").inner_text())
    console.world.advance(60)
    page.wait_for_function(
        f"() => Number(document.querySelector('#overview-page [data-card=head] b')"
        f".textContent) > {head}",
        timeout=5_000,
    )
    # The stream refreshed it: the fallback poll runs only while the stream is down.
    assert page.evaluate("state.liveRefreshes") >= 1
    assert page.evaluate("state.polledRefreshes") == 0
    assert "announced by the server" in page.locator("#live").inner_text()


def test_without_the_stream_the_page_falls_back_to_polling(page: Any, console: Console) -> None:
    page.route("**/v1/console/heads", lambda route: route.abort("connectionrefused"))
    _login(page, console, "regulator")
    _open(page, "overview")
    page.wait_for_selector("body[data-live=polling]")
    head = int(page.locator("#overview-page [data-card=head] b").inner_text())
    console.world.advance(60)
    page.wait_for_function(
        f"() => Number(document.querySelector('#overview-page [data-card=head] b')"
        f".textContent) > {head}",
        timeout=8_000,
    )
    assert page.evaluate("state.polledRefreshes") >= 1
    assert page.evaluate("state.liveRefreshes") == 0
