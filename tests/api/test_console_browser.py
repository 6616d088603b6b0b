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
from harness.browser import launch_chromium, loopback_only
from ledger_client.attestations.merkle import keccak256
from ledger_client.attestations.records import sample_record
from ledger_client.chain.local_node import free_port
from tests.api_world import DAY, ApiWorld, open_world

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "test-artifacts" / "console"
LOOPBACK = frozenset({"127.0.0.1"})
TIMEOUT_MS = 30_000
#: A warning must show within this long of the receivable falling overdue (the page polls
#: every 2 s).
WARNING_WITHIN_MS = 8_000
DUE_IN_DAYS = 30

#: A browser and a served ledger: minutes, not seconds; still in `make test`.
pytestmark = pytest.mark.slow


@dataclass
class Console:
    url: str
    world: ApiWorld
    batch_id: str
    receivable_id: str
    off_loopback: list[str] = field(default_factory=list)


def _seed(w: ApiWorld) -> tuple[str, str]:
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
    return batch_id, rid


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
        batch_id, rid = _seed(w)
        with _serving(create_app(service=w.service)) as url:
            yield Console(url, w, batch_id, rid)


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
    assert page.locator("#risk-page .chart").count() == 4  # drawn: see the test after overdue
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
    console.world.advance((DUE_IN_DAYS + 1) * DAY)  # the chain's clock passes the due date
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
    _login(page, console, "regulator")
    _open(page, "overview")
    _charts_drawn(page, "overview-page", 2)
    assert page.locator("#overview-page tr.warning").count() >= 1
    _shot(page, "overview")
    _open(page, "risk")
    _charts_drawn(page, "risk-page", 4)
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
                _charts_drawn(pg, "risk-page", 4)
                _open(pg, "overview")
                _charts_drawn(pg, "overview-page", 2)
                head = int(pg.locator("#overview-page [data-card=head] b").inner_text())
                assert head == console.world.service.chain.backend.block_number()
            finally:
                context.close()
            assert off == []
    finally:
        source.close()
