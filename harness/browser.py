"""Headless Chromium for the browser tests and the console's benchmark: Debian's ``chromium``
driven by Playwright (``executable_path``; Playwright downloads no browser here), started
with everything that would reach out on its own switched off."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

from ledger_client.errors import LedgerError

__all__ = ["CHROMIUM_ARGS", "ChromiumMissing", "launch_chromium", "loopback_only"]

#: No sandbox (containers), no GPU, and none of the browser's own calls home.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class ChromiumMissing(LedgerError, FileNotFoundError):
    """Debian's chromium is not installed: ``make chromium`` installs it."""


def launch_chromium(playwright: Any, *extra_args: str, timeout_ms: int = 60_000) -> Any:
    """A headless Chromium browser from ``playwright`` (a started ``sync_playwright()``)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        raise ChromiumMissing("chromium is missing: `make chromium` installs it (Debian package)")
    return playwright.chromium.launch(
        executable_path=chromium,
        headless=True,
        timeout=timeout_ms,
        args=[*CHROMIUM_ARGS, *extra_args],
    )


def loopback_only(
    aborted: list[str], hosts: Collection[str] = ("127.0.0.1",)
) -> Callable[[Any], None]:
    """A route handler (``context.route("**/*", ...)``) that lets a request through to
    ``hosts`` (and ``data:``/``blob:`` URLs) and aborts any other, recording its URL in
    ``aborted``: a test asserts that list stayed empty."""

    def handle(route: Any) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("data", "blob") or parts.hostname in hosts:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort("internetdisconnected")

    return handle
