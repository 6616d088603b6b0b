"""What a bank integrating from the docs alone meets: a real ``credit-chain serve`` whose
``/docs`` (Swagger UI) and ``/redoc`` render in a headless Chromium that may reach nothing but
127.0.0.1, an OpenAPI document that declares how to authenticate, and a server that says
where it is and logs each request.

The browser is Debian's ``chromium`` driven by Playwright (``executable_path``; no browser is
downloaded). Every request the pages make off loopback is aborted and recorded: the test
fails if Swagger UI or ReDoc needed any.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from api.docs_ui import DocsAssetsMissing, check_assets
from harness.api_process import start_server, stop_server
from harness.browser import launch_chromium, loopback_only
from tests.api_world import open_world

#: The name the browser opens the API by, mapped to 127.0.0.1 inside Chromium: a page
#: behaves off localhost as it would at a bank (Swagger UI asks validator.swagger.io for a
#: badge for any host but localhost, unless told not to).
API_HOST = "credit-api.bank.test"
LOOPBACK = frozenset({"127.0.0.1", "localhost", API_HOST})
#: What ReDoc 2.5.2 draws from a CDN, hard-coded: the page's policy keeps it from being asked.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
PAGE_TIMEOUT_MS = 60_000
TITLE = "Yangtze River Delta credit chain API"


@dataclass
class Served:
    url: str
    port: int
    key: str  # the bank's API key
    log: Path
    data_dir: Path
    consortium: str
    chain_id: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("docs")
    with open_world(data_dir) as w:
        key = w.keys["bank-a"]
        consortium = w.ledger.consortium.address
        chain_id = w.ledger.manifest.chain_id
    log = data_dir / "server.log"
    proc, port = start_server(data_dir, log=log)
    try:
        yield Served(f"http://127.0.0.1:{port}", port, key, log, data_dir, consortium, chain_id)
    finally:
        stop_server(proc)


@dataclass
class Visit:
    title: str
    aborted: list[str]  # every URL off loopback the page sent a request for
    page_errors: list[str]
    refused: list[str]  # what the page's Content-Security-Policy kept it from asking for
    found: dict[str, Any]


def _open_offline(url: str, probe: Any) -> Visit:
    """Open ``url`` in headless Chromium with every request off loopback aborted; ``probe``
    waits for what should render and returns what it found."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: `make setup` installs it (Debian package)"
    aborted: list[str] = []
    errors: list[str] = []
    refused: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    with sync_playwright() as p:
        browser = launch_chromium(
            p, f"--host-resolver-rules=MAP {API_HOST} 127.0.0.1", timeout_ms=PAGE_TIMEOUT_MS
        )
        try:
            context = browser.new_context()
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            context.route("**/*", loopback_only(aborted, LOOPBACK))
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", on_console)
            page.goto(url, wait_until="load")
            found = probe(page)
            page.wait_for_load_state("networkidle")
            return Visit(page.title(), aborted, errors, refused, found)
        finally:
            browser.close()


def test_the_assets_are_installed_by_npm_ci() -> None:
    check_assets()  # raises DocsAssetsMissing naming `npm ci` otherwise
    assert issubclass(DocsAssetsMissing, FileNotFoundError)


def test_swagger_ui_renders_offline_with_every_operation(served: Served) -> None:
    def probe(page: Any) -> dict[str, Any]:
        page.wait_for_selector(".swagger-ui .opblock")
        return {
            "operations": page.locator(".swagger-ui .opblock").count(),
            "authorize": page.locator(".swagger-ui .auth-wrapper .authorize").count(),
            "heading": page.locator(".swagger-ui .info .title").first.inner_text(),
        }

    visit = _open_offline(f"http://{API_HOST}:{served.port}/docs", probe)
    assert visit.aborted == [], visit.aborted
    assert visit.page_errors == [], visit.page_errors
    assert visit.refused == [], visit.refused
    assert visit.title == f"{TITLE} - Swagger UI"
    assert TITLE in visit.found["heading"]
    paths = requests.get(f"{served.url}/openapi.json", timeout=10).json()["paths"]
    operations = sum(len(ops) for ops in paths.values())
    assert visit.found["operations"] == operations
    assert visit.found["authorize"] == 1  # the declared security schemes


def test_redoc_renders_offline(served: Served) -> None:
    def probe(page: Any) -> dict[str, Any]:
        page.wait_for_selector("redoc .api-content h1")
        return {
            "heading": page.locator("redoc .api-content h1").first.inner_text(),
            "menu": page.locator("redoc [data-item-id]").count(),
        }

    visit = _open_offline(f"http://{API_HOST}:{served.port}/redoc", probe)
    assert visit.aborted == [], visit.aborted
    assert visit.page_errors == [], visit.page_errors
    # Only the attribution logo, and the browser never sent a request for it.
    assert all(REDOC_LOGO in line for line in visit.refused), visit.refused
    assert visit.title == f"{TITLE} - ReDoc"
    assert TITLE in visit.found["heading"]
    assert visit.found["menu"] > 10


def test_the_openapi_document_declares_the_api_key_and_bearer(served: Served) -> None:
    doc = requests.get(f"{served.url}/openapi.json", timeout=10).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["ApiKeyHeader"]["description"],
    }
    assert schemes["BearerApiKey"]["type"] == "http"
    assert schemes["BearerApiKey"]["scheme"] == "bearer"
    either: list[dict[str, list[str]]] = [{"ApiKeyHeader": []}, {"BearerApiKey": []}]
    protected = doc["paths"]["/v1/attestations/{uid}"]["get"]
    assert sorted(protected["security"], key=str) == either
    # The key is not a plain header parameter any more: it is the security scheme.
    names = {p["name"].lower() for p in protected.get("parameters", [])}
    assert not names & {"x-api-key", "authorization"}
    # Every route that reads a key says so; the public ones do not.
    assert "security" not in doc["paths"]["/ready"]["get"]
    secured = [op for ops in doc["paths"].values() for op in ops.values() if "security" in op]
    assert len(secured) > 20


def test_a_bearer_key_works_like_the_header(served: Served) -> None:
    url = f"{served.url}/v1/attestations/0x" + "ab" * 32
    by_header = requests.get(url, headers={"X-API-Key": served.key}, timeout=10)
    by_bearer = requests.get(url, headers={"Authorization": f"Bearer {served.key}"}, timeout=10)
    anonymous = requests.get(url, timeout=10)
    wrong = requests.get(url, headers={"Authorization": "Bearer not-a-key"}, timeout=10)
    basic = requests.get(url, headers={"Authorization": f"Basic {served.key}"}, timeout=10)
    assert by_header.status_code == by_bearer.status_code == 404, by_bearer.text
    assert by_header.json()["error"] == by_bearer.json()["error"] == "NotFound"
    for refused in (anonymous, wrong, basic):
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "Unauthenticated"


def test_serve_says_where_it_is_and_logs_each_request_without_keys(served: Served) -> None:
    marker = "/v1/attestations/0x" + "cd" * 32
    requests.get(served.url + marker, headers={"Authorization": f"Bearer {served.key}"}, timeout=10)
    # The access log is written from a thread of its own, just after the answer: wait for it.
    deadline = time.monotonic() + 10
    while True:
        lines = served.log.read_text(encoding="utf-8").splitlines()
        if any(marker in entry for entry in lines) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    startup = [line for line in lines if line.startswith("credit-chain API on ")]
    assert len(startup) == 1, lines
    line = startup[0]
    assert f"http://127.0.0.1:{served.port}" in line
    assert "chain: embedded" in line
    assert f"consortium {served.consortium} on chain id {served.chain_id}" in line
    assert f"data dir: {served.data_dir.resolve()}" in line
    assert any(f'"GET {marker} HTTP/1.1" 404' in entry for entry in lines), lines[-5:]
    assert any('"GET /ready HTTP/1.1" 200' in entry for entry in lines)
    assert served.key not in "\n".join(lines)
