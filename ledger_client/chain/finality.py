"""When a write counts as anchored: its block is N blocks deep on the chain a node follows now.

On one node (the embedded chain, anvil) a mined block is final: N = 1. On a
Clique network a block may still be reorged away by a heavier branch, so a write
counts only when its block is buried under enough blocks that no minority of
sealers can out-grow it (:func:`clique_safe_depth`). The depth is a setting:
``CREDIT_CHAIN_CONFIRMATIONS`` or ``Finality(chain, depth=N)``.

A transaction a reorg dropped is sent again from the same signed bytes
(:meth:`Finality.send_anchored`): its nonce is the same, so it is mined at most
once whatever the chain did meanwhile.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from web3.providers.rpc import HTTPProvider

from ledger_client.chain.backends import Receipt
from ledger_client.chain.connection import Chain, PreparedTx
from ledger_client.errors import (
    ContractRevert,
    LedgerValueError,
    TransactionError,
    TransactionTimeout,
)

__all__ = [
    "CONFIRMATIONS_ENV",
    "Finality",
    "Settled",
    "TransactionDropped",
    "clique_safe_depth",
    "confirmation_depth",
]

#: Environment variable overriding the confirmation depth.
CONFIRMATIONS_ENV = "CREDIT_CHAIN_CONFIRMATIONS"
#: How long to wait for a write to become anchored, seconds.
ANCHOR_TIMEOUT_S = 120.0
#: How many times a dropped transaction is sent again before giving up.
MAX_RESENDS = 5
_log = logging.getLogger("credit_chain.finality")


class TransactionDropped(TransactionError):
    """A reorg took a transaction's block away and no node holds the transaction any more."""

    def __init__(self, tx_hash: str, block_number: int) -> None:
        self.tx_hash = tx_hash
        self.block_number = block_number
        super().__init__(
            f"transaction {tx_hash} was in block {block_number}, which a reorg dropped"
        )


def clique_safe_depth(signers: int) -> int:
    """Blocks (the block itself counted) after which a Clique block needs a majority to undo.

    A sealer may seal only one of any ``signers // 2 + 1`` consecutive blocks, so
    a minority of sealers cut off from the others extends its branch by at most
    ``signers // 2`` blocks before it stalls: a block ``signers // 2 + 1`` deep
    has been sealed over by a majority, which no partition's minority can out-grow.
    """
    if signers < 1:
        raise LedgerValueError(f"a Clique network has at least one sealer; got {signers}")
    return signers // 2 + 1


def _clique_signers(chain: Chain) -> int | None:
    if chain.backend.kind != "rpc":
        return None
    provider = HTTPProvider(chain.backend.describe(), request_kwargs={"timeout": 10})
    try:
        response: Any = provider.make_request("clique_getSigners", ["latest"])
    except Exception:  # any transport failure: not a Clique node this client can ask
        return None
    result = response.get("result") if isinstance(response, dict) else None
    return len(result) if isinstance(result, list) and result else None


def confirmation_depth(chain: Chain) -> int:
    """The depth at which a write on ``chain`` counts as anchored.

    ``CREDIT_CHAIN_CONFIRMATIONS`` if set; on a Clique network the safe depth of its
    sealers; otherwise 1 (one node: a mined block is final).
    """
    raw = os.environ.get(CONFIRMATIONS_ENV)
    if raw is not None and raw.strip():
        try:
            depth = int(raw)
        except ValueError:
            raise LedgerValueError(f"{CONFIRMATIONS_ENV}={raw!r} is not a whole number") from None
        if depth < 1:
            raise LedgerValueError(f"{CONFIRMATIONS_ENV} must be 1 or more; got {depth}")
        return depth
    signers = _clique_signers(chain)
    return 1 if signers is None else clique_safe_depth(signers)


@dataclass(frozen=True)
class Settled:
    """What :meth:`Finality.settle` did: transactions settled N deep, and how many of them
    a reorg had dropped and were sent again."""

    settled: int
    resent: int


class Finality:
    """Confirmation depth of a chain: how deep a receipt's block is, and waiting for it."""

    def __init__(self, chain: Chain, depth: int | None = None) -> None:
        if depth is not None and depth < 1:
            raise LedgerValueError(f"confirmation depth must be 1 or more; got {depth}")
        self.chain = chain
        self.depth = confirmation_depth(chain) if depth is None else depth

    def confirmations(self, receipt: Receipt) -> int:
        """Blocks from the receipt's block to the head, both counted; 0 if a reorg took it."""
        backend = self.chain.backend
        try:
            at_height = backend.block(receipt.block_number)
        except LedgerValueError:
            return 0  # the chain is now shorter than the receipt's block
        if at_height.hash.lower() != receipt.block_hash.lower():
            return 0
        return backend.block_number() - receipt.block_number + 1

    def is_anchored(self, receipt: Receipt) -> bool:
        """Whether the receipt's block is on the chain and ``depth`` blocks deep."""
        return self.confirmations(receipt) >= self.depth

    def wait_anchored(self, receipt: Receipt, timeout_s: float = ANCHOR_TIMEOUT_S) -> Receipt:
        """Wait until the transaction's block is ``depth`` deep; return its current receipt.

        A reorg that moved the transaction into another block is followed (the
        receipt returned names the new block); one that dropped it raises
        :class:`TransactionDropped`.
        """
        deadline = time.monotonic() + timeout_s
        current = receipt
        while True:
            if self.confirmations(current) >= self.depth:
                return current
            if self.confirmations(current) == 0:
                again = self.chain.backend.receipt_if_mined(current.tx_hash)
                if again is None:
                    raise TransactionDropped(current.tx_hash, current.block_number)
                current = again
                continue
            if time.monotonic() > deadline:
                raise TransactionError(
                    f"transaction {current.tx_hash} is {self.confirmations(current)} of "
                    f"{self.depth} blocks deep after {timeout_s:.0f} s"
                )
            time.sleep(0.05)

    def send_anchored(self, tx: PreparedTx, timeout_s: float = ANCHOR_TIMEOUT_S) -> Receipt:
        """Send a prepared transaction and wait until it is anchored, sending it again
        (the same signed bytes, so never twice mined) whenever a reorg drops it."""
        receipt = self._send(tx, timeout_s)
        for _ in range(MAX_RESENDS):
            try:
                return self.wait_anchored(receipt, timeout_s)
            except TransactionDropped as dropped:
                _log.warning("%s; sending it again", dropped)
                receipt = self._send(tx, timeout_s)
        return self.wait_anchored(receipt, timeout_s)

    def settle(self, txs: Sequence[PreparedTx], timeout_s: float = ANCHOR_TIMEOUT_S) -> Settled:
        """Wait until every transaction of ``txs`` (sent earlier, in this order) is anchored,
        sending again, from its own signed bytes, each one a reorg dropped: never lost (a
        dropped transaction is back on the chain), never doubled (its nonce is spent once).

        A reverted transaction stays reverted when mined again; it is settled all the same.
        """
        resent = 0
        for tx in txs:
            receipt = self.chain.backend.receipt_if_mined(tx.tx_hash)
            for _ in range(MAX_RESENDS + 1):
                if receipt is None:
                    resent += 1
                    _log.warning(
                        "transaction %s was dropped by a reorg; sending it again", tx.tx_hash
                    )
                    receipt = self._send_settled(tx, timeout_s)
                try:
                    self.wait_anchored(receipt, timeout_s)
                    break
                except TransactionDropped:
                    receipt = None
            else:
                raise TransactionError(
                    f"transaction {tx.tx_hash} was dropped {MAX_RESENDS + 1} times by reorgs"
                )
        return Settled(len(txs), resent)

    def _send_settled(self, tx: PreparedTx, timeout_s: float) -> Receipt:
        try:
            return self._send(tx, timeout_s)
        except ContractRevert:
            # Mined, and reverted as the first time: its receipt is what settles.
            receipt = self.chain.backend.receipt_if_mined(tx.tx_hash)
            if receipt is None:
                raise
            return receipt

    def _send(self, tx: PreparedTx, timeout_s: float) -> Receipt:
        try:
            return self.chain.send_prepared(tx)
        except TransactionTimeout:
            raise
        except TransactionError as exc:
            # After a reorg the node puts the dropped block's transactions back in its
            # pool: the same bytes sent again are "already known", and will be mined.
            if "already known" not in str(exc):
                raise
            return self.chain.backend.wait_for_receipt(tx.tx_hash, timeout_s)
