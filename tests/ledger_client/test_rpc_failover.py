"""A comma list of a network's nodes: the first that answers is used, the next when it dies."""

from __future__ import annotations

import pytest

from ledger_client import LedgerConnectionError, connect
from ledger_client.chain.local_node import free_port, running_anvil

pytestmark = pytest.mark.anvil


def test_a_node_that_does_not_answer_is_passed_over() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with running_anvil() as url:
        chain = connect(f"{dead}, {url}")
        assert chain.backend.describe() == url
        assert chain.backend.block_number() >= 0
        chain.close()


def test_the_client_fails_over_when_its_node_dies() -> None:
    with running_anvil() as second:
        with running_anvil() as first:
            chain = connect(f"{first},{second}")
            assert chain.backend.describe() == first
        # ``first`` is stopped (by pid): the next request moves to ``second``.
        assert chain.backend.block_number() >= 0
        assert chain.backend.describe() == second
        chain.close()


def test_no_node_answering_is_a_named_error_naming_them() -> None:
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    with pytest.raises(LedgerConnectionError, match="cannot reach") as raised:
        connect(",".join(dead))
    assert all(url in str(raised.value) for url in dead)
