"""Headless Chromium for the browser tests and the console's benchmark: Debian's ``chromium``
driven by Playwright (``executable_path``; Playwright downloads no browser here), started
with everything that would reach out on its own switched off."""

from __future__ import annotations

import shutil
from typing import Any

from ledger_client.errors import LedgerError

__all__ = ["CHROMIUM_ARGS", "ChromiumMissing", "launch_chromium"]

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
