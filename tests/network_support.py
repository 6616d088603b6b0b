"""What the tests on the five cities' geth network share: a bounded wait, the CLI, geth."""

from __future__ import annotations

import contextlib
import json
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from ledger_client.chain.network import Network

T = TypeVar("T")

#: Bound of a wait for the network to reach a state, seconds.
WAIT_S = 60.0


def wait_for(
    predicate: Callable[[], T | None],
    what: str,
    timeout_s: float = WAIT_S,
    state: Callable[[], object] | None = None,
) -> T:
    """Poll ``predicate`` twice a second until it returns something true; return it.

    On a timeout the failure names ``what`` and, given ``state``, what it shows then:
    a wait on a network that timed out is diagnosed from the message alone."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = f"; at the end: {state()}" if state is not None else ""
            raise AssertionError(f"{what} not within {timeout_s:.0f} s{seen}")
        time.sleep(0.5)


def cli_json(*args: str) -> Any:
    """``credit-chain ARGS`` in this process; its exit code 0 and its JSON output."""
    from typer.testing import CliRunner

    from scripts.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exit_code != 0:
        # The output alone can be empty (an exception the command did not turn into a
        # message): name the exception and where it was raised too.
        where = "".join(traceback.format_exception(result.exception)) if result.exception else ""
        raise AssertionError(
            f"credit-chain {' '.join(args)} exited {result.exit_code}: {result.output}{where}"
        )
    return json.loads(result.stdout)


@contextlib.contextmanager
def five_city_network(directory: Path) -> Iterator[Network]:
    """The five cities' sealers (period 1 s) in ``directory``, stopped by their pids after."""
    from ledger_client.chain.network import Network

    require_geth()
    network = Network(directory)
    try:
        network.up(nodes=5, period=1)
        yield network
    finally:
        network.down()


def require_geth() -> None:
    """Fail the test when geth is not built: `make test` builds it first, so a missing binary
    is a broken set-up, never a reason to pass quietly."""
    from ledger_client.chain.network import GETH

    if not GETH.exists():
        pytest.fail(f"geth is not built ({GETH} is missing): run `make geth` (needs go and gcc)")
