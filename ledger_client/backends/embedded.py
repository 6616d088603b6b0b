"""The embedded chain: eth-tester with the py-evm backend, in this process."""

from __future__ import annotations

from typing import Any, ClassVar

from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import (
    BlockNotFound,
    TransactionFailed,
    TransactionNotFound,
    ValidationError,
)

from ..abi import Log
from ..errors import decode_revert, revert_data_from
from ..exceptions import LedgerValueError, TransactionError
from .base import Backend, BlockInfo, Receipt

#: The chain id py-evm's tester chain signs for.
EMBEDDED_CHAIN_ID = 131277322940537


class EmbeddedBackend(Backend):
    """eth-tester with py-evm, mining one block per transaction.

    Transactions go to eth-tester directly rather than through web3's
    provider, which is about a fifth faster on this hot path. ``get_logs`` is
    never used: on eth-tester it grows quadratically with the chain's length,
    so the event index is fed from receipts instead.
    """

    kind: ClassVar[str] = "embedded"

    def __init__(self, genesis_timestamp: int | None = None) -> None:
        overrides = {"timestamp": genesis_timestamp} if genesis_timestamp is not None else None
        genesis = PyEVMBackend.generate_genesis_params(overrides=overrides)
        self._pyevm = PyEVMBackend(genesis_parameters=genesis)
        self.tester = EthereumTester(self._pyevm)
        self._faucet = self.tester.get_accounts()[0]

    @property
    def chain_id(self) -> int:
        return EMBEDDED_CHAIN_ID

    def describe(self) -> str:
        return "embedded"

    # -- transactions -------------------------------------------------------------
    def send_raw_transaction(self, raw: bytes) -> str:
        try:
            return str(self.tester.send_raw_transaction("0x" + raw.hex()))
        except TransactionFailed as exc:  # only with explicit gas too low to start
            raise TransactionError(f"the embedded chain refused the transaction: {exc}") from exc
        except ValidationError as exc:
            raise TransactionError(f"the embedded chain refused the transaction: {exc}") from exc

    def wait_for_receipt(self, tx_hash: str, timeout: float = 30.0) -> Receipt:
        # Auto-mining: the receipt exists as soon as send_raw_transaction returns.
        try:
            r = self.tester.get_transaction_receipt(tx_hash)
        except TransactionNotFound as exc:
            raise TransactionError(f"no receipt for {tx_hash}") from exc
        return _receipt(r)

    def call(self, tx: dict[str, Any], block: int | str = "latest") -> bytes:
        try:
            out = self.tester.call(_tester_tx(tx, self._faucet), block)
        except TransactionFailed as exc:
            data = revert_data_from(exc)
            raise decode_revert(data or b"") from None
        except BlockNotFound as exc:
            raise LedgerValueError(f"no block {block!r} on the embedded chain") from exc
        return bytes.fromhex(str(out).removeprefix("0x"))

    def nonce(self, address: str) -> int:
        return int(self.tester.get_nonce(address))

    # -- chain data ---------------------------------------------------------------
    def block_number(self) -> int:
        return int(self.tester.get_block_by_number("latest", False)["number"])

    def block(self, number: int | str = "latest") -> BlockInfo:
        try:
            b = self.tester.get_block_by_number(number, False)
        except BlockNotFound as exc:
            raise LedgerValueError(f"no block {number!r} on the embedded chain") from exc
        return BlockInfo(
            number=int(b["number"]),
            hash=str(b["hash"]),
            timestamp=int(b["timestamp"]),
            transactions=tuple(str(t) for t in b["transactions"]),
            base_fee=int(b.get("base_fee_per_gas") or 0),
        )

    def code(self, address: str, block: int | str = "latest") -> bytes:
        return bytes.fromhex(str(self.tester.get_code(address, block)).removeprefix("0x"))

    def balance(self, address: str) -> int:
        return int(self.tester.get_balance(address))

    def receipts_in_block(self, number: int) -> list[Receipt]:
        return [self.wait_for_receipt(h) for h in self.block(number).transactions]

    # -- development controls -----------------------------------------------------
    def time_travel(self, to_timestamp: int) -> None:
        latest = self.block().timestamp
        if to_timestamp <= latest:
            raise LedgerValueError(
                f"cannot travel to {to_timestamp}: the latest block is at {latest}"
            )
        # eth-tester's own time_travel mines the block one second short of the
        # target in this version; setting the pending header's time is exact.
        chain = self._pyevm.chain
        chain.header = chain.header.copy(timestamp=to_timestamp)
        self.tester.mine_blocks()

    def mine(self, blocks: int = 1) -> None:
        self.tester.mine_blocks(blocks)

    def set_automine(self, enabled: bool) -> None:
        if enabled:
            self.tester.enable_auto_mine_transactions()
        else:
            self.tester.disable_auto_mine_transactions()

    def snapshot(self) -> Any:
        return self.tester.take_snapshot()

    def revert(self, snapshot: Any) -> None:
        self.tester.revert_to_snapshot(snapshot)

    def fund(self, address: str, wei: int) -> None:
        tx_hash = self.tester.send_transaction(
            {"from": self._faucet, "to": address, "value": wei, "gas": 21_000}
        )
        if self.tester.get_transaction_receipt(tx_hash)["status"] != 1:
            raise TransactionError(f"funding {address} failed")


def _tester_tx(tx: dict[str, Any], sender: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "data": "0x" + bytes(tx.get("data", b"")).hex(),
        # eth-tester insists on a sender that can pay for the call's gas, even for a
        # read; a node assumes the zero address and free gas.
        "from": tx.get("from") or sender,
    }
    if tx.get("to"):  # absent for a contract creation
        out["to"] = tx["to"]
    if tx.get("value"):
        out["value"] = int(tx["value"])
    return out


def _receipt(r: dict[str, Any]) -> Receipt:
    logs = tuple(
        Log(
            address=str(lg["address"]),
            topics=tuple(bytes.fromhex(t[2:]) for t in lg["topics"]),
            data=bytes.fromhex(str(lg["data"])[2:]),
            block_number=int(lg["block_number"]),
            tx_hash=str(lg["transaction_hash"]),
            log_index=int(lg["log_index"]),
        )
        for lg in r["logs"]
    )
    return Receipt(
        tx_hash=str(r["transaction_hash"]),
        block_number=int(r["block_number"]),
        block_hash=str(r["block_hash"]),
        status=int(r["status"]),
        gas_used=int(r["gas_used"]),
        effective_gas_price=int(r.get("effective_gas_price") or 0),
        contract_address=r.get("contract_address") or None,
        logs=logs,
    )
