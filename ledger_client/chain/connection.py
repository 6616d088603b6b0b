"""A connection to one chain: transactions signed locally, reverts decoded by name.

Every transaction is signed in this process with the acting party's own key
(``eth_account``) and sent raw, so the same code runs on the embedded chain,
on anvil and on a consortium network where nodes hold no keys.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger_client.chain.backends import Backend, KnownTransaction, Receipt, open_backend
from ledger_client.chain.backends._txcodec import sign_dynamic_fee_tx
from ledger_client.errors import ContractRevert, LedgerValueError, TransactionError

#: Gas limit of a transaction unless the caller says otherwise. A limit is
#: always given, so the node never runs a second execution to estimate gas;
#: a revert is then mined with status 0 and decoded by replaying the call.
DEFAULT_GAS = 5_000_000
#: Fee caps of a development chain: 100 gwei covers any base fee eth-tester or
#: anvil reaches, and only the effective price is charged.
DEFAULT_MAX_FEE = 100 * 10**9
DEFAULT_PRIORITY_FEE = 1
#: Ether a newly created development account is given.
DEV_FUNDING_WEI = 100 * 10**18

ReceiptListener = Callable[[Receipt], None]


@dataclass(frozen=True)
class PreparedTx:
    """A signed transaction not yet sent: what a journal keeps to send it exactly once."""

    raw: bytes  # the signed transaction
    tx_hash: str  # its hash, known before sending
    sender: str
    to: str | None
    data: bytes
    value: int
    nonce: int
    # The gas and fee caps signed; None in a transaction read back from a journal,
    # which is then sent raw and decoded by the node.
    gas: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None

    def known(self) -> KnownTransaction | None:
        """The transaction with every signed field, when all of them are here."""
        if (
            self.gas is None
            or self.max_fee_per_gas is None
            or self.max_priority_fee_per_gas is None
        ):
            return None
        return KnownTransaction(
            raw=self.raw,
            tx_hash=bytes.fromhex(self.tx_hash[2:]),
            sender=self.sender,
            nonce=self.nonce,
            to=self.to,
            data=self.data,
            value=self.value,
            gas=self.gas,
            max_fee_per_gas=self.max_fee_per_gas,
            max_priority_fee_per_gas=self.max_priority_fee_per_gas,
        )


@dataclass(frozen=True)
class FeePolicy:
    """EIP-1559 fee caps of every transaction this client signs."""

    max_fee_per_gas: int = DEFAULT_MAX_FEE
    max_priority_fee_per_gas: int = DEFAULT_PRIORITY_FEE


class Chain:
    """A backend plus what every transaction needs: nonces, fees, revert decoding."""

    def __init__(self, backend: Backend, fees: FeePolicy | None = None) -> None:
        self.backend = backend
        self.fees = fees or FeePolicy()
        self.chain_id = backend.chain_id
        self._nonces: dict[str, int] = {}
        self._lock = threading.RLock()
        self._listeners: list[ReceiptListener] = []
        # Transactions sent since the last take_sent(), when a caller asked to keep them:
        # a client on a network settles them N deep later, sending again what a reorg took.
        self._sent: list[PreparedTx] | None = None
        # Answers of read-only calls at a fixed block, read already many to an eth_call
        # (ledger_client.chain.batch_read), handed out by call() until discarded.
        self._preloaded: dict[tuple[str, bytes, int], bytes | ContractRevert] = {}

    # -- transactions -------------------------------------------------------------
    def transact(
        self,
        signer: LocalAccount,
        to: str | None,
        data: bytes,
        *,
        gas: int | None = None,
        value: int = 0,
    ) -> Receipt:
        """Sign and send a transaction and return its receipt.

        A revert raises the named :class:`ContractRevert` (with ``tx_hash`` set
        when the failed transaction was mined).
        """
        with self._lock:
            return self.send_prepared(self.prepare(signer, to, data, gas=gas, value=value))

    def prepare(
        self,
        signer: LocalAccount,
        to: str | None,
        data: bytes,
        *,
        gas: int | None = None,
        value: int = 0,
    ) -> PreparedTx:
        """Sign a transaction with the signer's next nonce, without sending it.

        The nonce is taken: prepared transactions must be sent in the order prepared.
        """
        with self._lock:
            address = signer.address
            nonce = self._nonces.get(address)
            if nonce is None:
                nonce = self.backend.nonce(address)
            gas = gas or DEFAULT_GAS
            fees = self.fees
            if isinstance(signer, LocalAccount):
                # A key in this process: signed by the lean EIP-1559 encoder, the same
                # bytes as eth-account's at a fraction of its time.
                raw, tx_hash = sign_dynamic_fee_tx(
                    bytes(signer.key),
                    chain_id=self.chain_id,
                    nonce=nonce,
                    max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
                    max_fee_per_gas=fees.max_fee_per_gas,
                    gas=gas,
                    to=to,
                    value=value,
                    data=bytes(data),
                )
            else:
                tx: dict[str, Any] = {
                    "type": 2,
                    "chainId": self.chain_id,
                    "nonce": nonce,
                    "gas": gas,
                    "maxFeePerGas": fees.max_fee_per_gas,
                    "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
                    "value": value,
                    "data": data,
                }
                if to is not None:
                    tx["to"] = to
                signed = signer.sign_transaction(tx)
                raw, tx_hash = bytes(signed.raw_transaction), bytes(signed.hash)
            self._nonces[address] = nonce + 1
            return PreparedTx(
                raw=raw,
                tx_hash="0x" + tx_hash.hex(),
                sender=address,
                to=to,
                data=data,
                value=value,
                nonce=nonce,
                gas=gas,
                max_fee_per_gas=fees.max_fee_per_gas,
                max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
            )

    def send_prepared(self, tx: PreparedTx) -> Receipt:
        """Send a prepared transaction (again, after a crash) and return its receipt.

        Sending the same prepared transaction twice mines it once: its nonce is spent.
        A revert raises the named :class:`ContractRevert`.
        """
        with self._lock:
            receipt = self.backend.receipt_if_mined(tx.tx_hash)
            if receipt is None:
                try:
                    known = tx.known()
                    if known is not None:
                        # Signed here: an in-process chain need not decode it again.
                        self.backend.send_known_transaction(known)
                    else:
                        self.backend.send_raw_transaction(tx.raw)
                except TransactionError:
                    receipt = self.backend.receipt_if_mined(tx.tx_hash)
                    if receipt is None:
                        self._nonces.pop(tx.sender, None)  # resynchronise from the node
                        raise
                if receipt is None:
                    receipt = self.backend.wait_for_receipt(tx.tx_hash)
            self._noted(tx, receipt)
        if receipt.status != 1:
            raise self._explain_failure(tx.sender, tx.to, tx.data, tx.value, receipt)
        return receipt

    def send_prepared_together(self, txs: Sequence[PreparedTx]) -> list[Receipt | Exception]:
        """Send prepared transactions (in the order prepared) together; each one's outcome.

        An in-process chain mines them in one block, a node gets them all before any
        receipt is awaited. Each outcome is the transaction's own, as
        :meth:`send_prepared` would have given it: its receipt, the named
        :class:`ContractRevert` it was mined with, or the :class:`TransactionError` of
        one the node refused (a refused one's successors from the same sender are
        refused too: their nonces no longer follow). One mined already (a journal sent
        again after a crash) is found, not sent twice.
        """
        with self._lock:
            outcomes: list[Receipt | Exception | None] = [
                self.backend.receipt_if_mined(tx.tx_hash) for tx in txs
            ]
            unsent = [i for i, found in enumerate(outcomes) if found is None]
            sent = self.backend.send_transactions([txs[i].known() or txs[i].raw for i in unsent])
            for i, result in zip(unsent, sent, strict=True):
                tx = txs[i]
                try:
                    if isinstance(result, TransactionError):
                        # Refused, or mined already by a node this client did not ask.
                        found = self.backend.receipt_if_mined(tx.tx_hash)
                        if found is None:
                            raise result
                        outcomes[i] = found
                    else:
                        outcomes[i] = self.backend.wait_for_receipt(tx.tx_hash)
                except TransactionError as exc:
                    self._nonces.pop(tx.sender, None)  # resynchronise from the node
                    outcomes[i] = exc
            results: list[Receipt | Exception] = []
            for tx, outcome in zip(txs, outcomes, strict=True):
                assert outcome is not None  # every index was found, sent or refused
                if isinstance(outcome, Receipt):
                    self._noted(tx, outcome)
                    if outcome.status != 1:
                        # Replayed on the state after its block: exact when it was alone,
                        # and what the later ones in its block left otherwise.
                        results.append(
                            self._explain_failure(tx.sender, tx.to, tx.data, tx.value, outcome)
                        )
                        continue
                results.append(outcome)
            return results

    def _noted(self, tx: PreparedTx, receipt: Receipt) -> None:
        if self._sent is not None:
            self._sent.append(tx)  # reverted too: a reorg can take those as well
        for listener in self._listeners:
            listener(receipt)

    def keep_sent(self) -> None:
        """From now on, keep every transaction this chain sends until :meth:`take_sent`."""
        with self._lock:
            if self._sent is None:
                self._sent = []

    def take_sent(self) -> list[PreparedTx]:
        """The transactions sent since the last call (in the order sent), forgotten here."""
        with self._lock:
            if self._sent is None:
                return []
            sent, self._sent = self._sent, []
            return sent

    def _explain_failure(
        self, sender: str, to: str | None, data: bytes, value: int, receipt: Receipt
    ) -> Exception:
        # Replaying the call on the state the transaction met gives its revert data.
        try:
            self.backend.call(
                {"from": sender, "to": to, "data": data, "value": value}, receipt.block_number
            )
        except ContractRevert as exc:
            exc.tx_hash = receipt.tx_hash
            return exc
        return TransactionError(
            f"transaction {receipt.tx_hash} failed without revert data after using "
            f"{receipt.gas_used} gas (out of gas?)"
        )

    def call(
        self, to: str | None, data: bytes, *, sender: str | None = None, block: int | str = "latest"
    ) -> bytes:
        """Run a read-only call and return its output; a revert raises the named error.

        A call :meth:`preload` answered already is answered from there, without a node
        round trip.
        """
        if to is not None and sender is None and isinstance(block, int) and self._preloaded:
            answer = self._preloaded.get((to.lower(), data, block))
            if isinstance(answer, ContractRevert):
                raise answer
            if answer is not None:
                return answer
        tx: dict[str, Any] = {"to": to, "data": data}
        if sender:
            tx["from"] = sender
        return self.backend.call(tx, block)

    def preload(
        self, block: int, answers: Iterable[tuple[str, bytes, bytes | ContractRevert]]
    ) -> None:
        """Keep the answers of read-only calls (``to``, ``data``, output or revert) at
        ``block``, read many to an ``eth_call``, for :meth:`call` to hand out until
        :meth:`discard_preloaded`.

        The views are still asked for one by one, so every reader of a view (and every
        check on what a node answered) sees each answer on its own; only the round trips
        are shared. Answers at a fixed block never go stale.
        """
        for to, data, answer in answers:
            self._preloaded[(to.lower(), data, block)] = answer

    def discard_preloaded(self) -> None:
        """Forget the answers :meth:`preload` kept."""
        self._preloaded.clear()

    def add_receipt_listener(self, listener: ReceiptListener) -> None:
        """Call ``listener`` with the receipt of every transaction this client sends."""
        self._listeners.append(listener)

    # -- time and state -----------------------------------------------------------
    def now(self) -> int:
        """The latest block's timestamp (UNIX seconds): the chain's clock."""
        return self.backend.block().timestamp

    def advance_time(self, seconds: int) -> int:
        """Move the chain's clock forward by ``seconds`` (mining a block); return the new time."""
        if seconds <= 0:
            raise LedgerValueError(f"time moves forward only; got {seconds} s")
        target = self.now() + seconds
        self.backend.time_travel(target)
        return target

    def snapshot(self) -> Any:
        """Save the chain's state (development chains)."""
        return self.backend.snapshot()

    def revert(self, snapshot: Any) -> None:
        """Return to a snapshot; nonces are read from the chain again afterwards."""
        with self._lock:
            self.backend.revert(snapshot)
            self._nonces.clear()

    def fund(self, address: str, wei: int = DEV_FUNDING_WEI) -> None:
        """Give ``address`` ether from the development faucet."""
        self.backend.fund(address, wei)

    def close(self) -> None:
        """Release the backend."""
        self.backend.close()


def connect(target: str = "embedded", **options: Any) -> Chain:
    """Connect to ``"embedded"`` (in process: ``"pyevm"`` or ``"revm"``) or a JSON-RPC node URL."""
    return Chain(open_backend(target, **options))
