"""``credit-chain bench console``: first render of the console's overview and risk pages on a
ledger of at least 100,000 records.

The ledger is real: a fresh embedded deployment where banks of the five cities anchor the
records as Merkle batches (1,000 records a batch, one transaction each), core enterprises
issue receivables that their suppliers accept and split down a tier, and the clock then
passes some due dates. The index follows every block, as the API's does. Measured: each
page's read (``/v1/console/overview``, ``/v1/console/risk``) the first time it is asked for
and again, and, with Debian's chromium present, the page itself from navigation until every
chart is drawn, in a headless browser that may reach nothing off loopback.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from harness.browser import launch_chromium
from ledger_client import Keyring, Role
from ledger_client.attestations.batches import anchor_records
from ledger_client.attestations.merkle import keccak256
from ledger_client.attestations.records import sample_record
from ledger_client.chain.local_node import free_port
from ledger_client.contracts.receivables import invoice_commitment

DAY = 86_400
CITIES = ("Shanghai", "Nanjing", "Hangzhou", "Hefei", "Jiaxing")
#: The issue's targets (seconds): first render of the overview and of the risk page.
TARGETS = {"overview_first_render_s": 1.0, "risk_first_render_s": 2.0}


def bench_console(
    records: int = 100_000, batch: int = 1_000, receivables: int = 60
) -> dict[str, Any]:
    """Build the ledger, then time the two pages; figures in seconds."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from pipeline.config import Settings
    from pipeline.service import Service, development_regulator

    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", regulator_keys=Path(tmp) / "reg.json")
        service = Service.open(settings, start_worker=False)
        try:
            built = time.perf_counter()
            regulator = development_regulator(settings)
            _populate(service, regulator, records, batch, receivables)
            service.index.sync()
            build_s = time.perf_counter() - built
            key = service.keys.issue(regulator.address, label="bench", roles_of=service.roles_of)
            with TestClient(create_app(service=service)) as client:
                reads = _time_reads(client, key)
                browser = _time_browser(service, key)
            with service.index.reading() as db:
                counted = {
                    "batch_records": db.execute("SELECT sum(count) FROM batches").fetchone()[0],
                    "receivable_parts": db.execute(
                        "SELECT count(*) FROM receivable_parts"
                    ).fetchone()[0],
                    "events": db.execute("SELECT count(*) FROM events").fetchone()[0],
                }
        finally:
            service.close()
    figures: dict[str, Any] = {
        "ledger": counted,
        "build_s": round(build_s, 1),
        **reads,
        **browser,
    }
    first = {
        "overview_first_render_s": browser.get("overview_page_s", reads["overview_read_first_s"]),
        "risk_first_render_s": browser.get("risk_page_s", reads["risk_read_first_s"]),
    }
    figures.update({k: round(v, 3) for k, v in first.items()})
    figures["targets"] = TARGETS
    figures["met"] = {k: first[k] <= TARGETS[k] for k in TARGETS}
    figures["measured_in"] = "browser" if browser else "API reads only (no chromium)"
    return figures


def _populate(service: Any, regulator: Any, records: int, batch: int, receivables: int) -> None:
    ledger, chain = service.ledger, service.chain
    c, rc = ledger.consortium, ledger.receivables
    ring = Keyring("bench-console")
    banks, registrars = [], []
    for city in CITIES:
        bank, bureau = ring.account(f"bank-{city}"), ring.account(f"bureau-{city}")
        for acct, roles, name in (
            (bank, Role.ATTESTER | Role.FINANCIER, f"{city} bank"),
            (bureau, Role.ATTESTER | Role.REGISTRAR, f"{city} credit bureau"),
        ):
            chain.fund(acct.address)
            c.admit_member(regulator, acct.address, name, city, roles)
        banks.append(bank)
        registrars.append(bureau)
    enterprises = []
    for n in range(3 * len(CITIES) * 4):
        ent = ring.account(f"enterprise-{n}")
        chain.fund(ent.address)
        subject = keccak256(f"bench-console-subject-{n}".encode())
        c.bind_enterprise(registrars[n % len(CITIES)], ent.address, subject)
        enterprises.append((ent, subject))
    schema = ledger.schemas["loan-repayment"]
    rng = random.Random(7)
    subjects = ["0x" + s.hex() for _, s in enterprises]
    for b in range(-(-records // batch)):
        chunk = [
            sample_record(schema, rng, overrides={"subject": subjects[i % len(subjects)]})
            for i in range(min(batch, records - b * batch))
        ]
        anchor_records(ledger.attestations, banks[b % len(banks)], schema, chunk)
    invoices = (
        invoice_commitment(keccak256(f"bench-console-invoice-{n}".encode()), keccak256(b"salt"))
        for n in range(receivables)
    )
    for n in range(receivables):
        core, _ = enterprises[n % 15]
        tier1, _ = enterprises[15 + n % 15]
        tier2, _ = enterprises[30 + n % 30]
        due = chain.now() + (10 if n % 3 == 0 else 90) * DAY
        issued = rc.issue_receivable(
            core,
            tier1.address,
            1_000_000_00 + n,
            due,
            contract_hash=keccak256(f"bench-console-contract-{n}".encode()),
            invoice_commitments=[next(invoices)],
        )
        rc.accept(tier1, issued.receivable_id)
        rc.transfer_part(tier1, issued.receivable_id, tier2.address, 300_000_00)
    chain.advance_time(30 * DAY)  # a third of them past due
    service.refresh()


def _time_reads(client: Any, key: str) -> dict[str, float]:
    # The log-in comes before any page (and is the server's first request: its own warm-up).
    client.get("/v1/console/me", headers={"X-API-Key": key})
    out: dict[str, float] = {}
    for page in ("overview", "risk"):
        for run in ("first", "again"):
            started = time.perf_counter()
            r = client.get(f"/v1/console/{page}", headers={"X-API-Key": key})
            out[f"{page}_read_{run}_s"] = round(time.perf_counter() - started, 3)
            if r.status_code != 200:
                raise RuntimeError(f"/v1/console/{page} answered {r.status_code}: {r.text}")
    return out


def _time_browser(service: Any, key: str) -> dict[str, float]:
    """Navigation to every chart drawn, per page, in headless chromium; {} without it."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return {}
    import uvicorn
    from playwright.sync_api import sync_playwright

    from api.main import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service=service), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/console/"
    # A running server has answered before: its first request ever (about a second, the
    # app's own start-up, whatever the page) is not the page's.
    urllib.request.urlopen(
        urllib.request.Request(
            url.replace("/console/", "/v1/console/me"), headers={"X-API-Key": key}
        ),
        timeout=30,
    ).close()
    out: dict[str, float] = {}
    try:
        with sync_playwright() as p:
            # Nothing off loopback resolves, and every request is watched: a route handler
            # would hold each request for a round trip to this process, which a user's
            # browser never pays (it cost the overview about 0.2 s of its first render).
            browser = launch_chromium(p, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
            off_loopback: list[str] = []
            try:
                context = browser.new_context()
                context.on(
                    "request",
                    lambda request: (
                        None
                        if request.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                        else off_loopback.append(request.url)
                    ),
                )
                # Logged in already (the key in the session), as a returning user opens it;
                # the browser is running (a first blank page starts its renderer).
                context.add_init_script(f"sessionStorage.setItem('console.key', {key!r});")
                context.new_page().goto("about:blank")
                for page_name, charts in (("overview", 2), ("risk", 5)):
                    page = context.new_page()
                    started = time.perf_counter()
                    # From the first response on: waiting for the load event first would
                    # see the charts only after it, whenever they were drawn.
                    page.goto(f"{url}#{page_name}", wait_until="commit")
                    # The browser's own clock when every chart is first seen drawn, read in
                    # the page by the check itself (no round trip to this process after it).
                    drawn_ms = page.wait_for_function(
                        f"() => [...document.querySelectorAll('#{page_name}-page .chart')]"
                        f".filter(c => c.querySelector('svg path')).length === {charts}"
                        " && performance.now()",
                        timeout=60_000,
                        polling=10,
                    ).json_value()
                    wall = time.perf_counter() - started
                    out[f"{page_name}_page_s"] = round(drawn_ms / 1000, 3)
                    out[f"{page_name}_page_wall_s"] = round(wall, 3)
                    out[f"{page_name}_dom_ready_s"] = round(
                        page.evaluate(
                            "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
                        )
                        / 1000,
                        3,
                    )
                    page.close()
                context.close()
            finally:
                browser.close()
            if off_loopback:
                raise RuntimeError(f"the console asked for something off loopback: {off_loopback}")
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    return out
