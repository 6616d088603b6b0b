"""Any Ethereum JSON-RPC node: anvil locally, Besu or geth in a consortium."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any, ClassVar

from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ledger_client.chain.abi import Log
from ledger_client.chain.backends.base import Backend, BlockInfo, Receipt
from ledger_client.chain.reverts import decode_revert
from ledger_client.errors import (
    LedgerConnectionError,
    LedgerValueError,
    TransactionError,
    TransactionTimeout,
)

#: JSON-RPC error code a node uses for "execution reverted" with revert data.
_EXECUTION_REVERTED = 3
#: ``web3_clientVersion`` prefixes of development nodes that move their clock on request
#: (``evm_setNextBlockTimestamp``); geth and Besu seal at wall-clock time and refuse it.
_CLOCK_CONTROLLING_CLIENTS = ("anvil", "hardhat", "ganache")
#: Unmined transactions remembered for a fail-over, at most (the oldest are forgotten).
_UNCONFIRMED_MAX = 4_096
#: Requests in one JSON-RPC batch, at most: well under geth's limit (1,000 items) and
#: its response cap, for blocks full of receipts too.
_BATCH_MAX = 100
_log = logging.getLogger("credit_chain.rpc")


class RpcBackend(Backend):
    """A JSON-RPC node reached over HTTP; or several nodes of one network, failed over.

    ``url`` may be a comma list of the nodes of one network (the cities' nodes):
    the client uses the first that answers and, when it stops answering, the next
    one with the same chain id, sending it the transactions it has not seen mined
    (the dead node's transaction pool died with it).

    Requests go through web3's HTTP provider as raw JSON-RPC calls, skipping
    web3's formatting middleware: the client decodes everything itself, and
    a node's error payloads are translated here in one place. Receipts are
    polled every millisecond at first, since web3's default 0.1 s poll caps a
    node at about nine transactions a second, and anvil mines asynchronously
    so a receipt may not exist right after the transaction is accepted.
    """

    kind: ClassVar[str] = "rpc"

    def __init__(self, url: str, request_timeout: float = 30.0) -> None:
        # A comma list names several nodes of one network (the cities' nodes): the
        # first that answers is used, and the next when it stops answering.
        self.urls = [u.strip() for u in url.split(",") if u.strip()]
        if not self.urls:
            raise LedgerConnectionError(f"no JSON-RPC URL in {url!r}")
        self._timeout = request_timeout
        self._ids = itertools.count(1)
        self._switch = threading.Lock()
        # Signed transactions sent and not yet seen mined: a node that dies takes its
        # pool with it, so they are sent again to the node failed over to.
        self._unconfirmed: dict[str, bytes] = {}
        self._dev_accounts: list[str] | None = None
        self._controls_clock: bool | None = None
        self._chain_id = 0
        errors: list[str] = []
        for candidate in self.urls:
            try:
                self._chain_id = self._open(candidate)
                break
            except LedgerConnectionError as exc:
                errors.append(str(exc))
        else:
            raise LedgerConnectionError(
                f"cannot reach a JSON-RPC node at {url}: {'; '.join(errors)}"
            )

    def _open(self, url: str) -> int:
        """Use the node at ``url``; return its chain id."""
        provider = HTTPProvider(url, request_kwargs={"timeout": self._timeout})
        try:
            response = provider.make_request("eth_chainId", [])
            chain_id = int(response["result"], 16)
        except Exception as exc:  # any transport or payload failure: this node is not usable
            raise LedgerConnectionError(f"cannot reach a JSON-RPC node at {url}: {exc}") from exc
        self.url, self._provider = url, provider
        self.web3 = Web3(provider)
        return chain_id

    def _fail_over(self, failed: str, cause: Exception) -> None:
        """The node at ``failed`` stopped answering: move to the next one of the list that
        answers with the same chain id, and send it the transactions not yet mined."""
        with self._switch:
            if self.url != failed:
                return  # another thread has moved on already
            start = self.urls.index(failed) if failed in self.urls else -1
            for step in range(1, len(self.urls)):
                candidate = self.urls[(start + step) % len(self.urls)]
                try:
                    chain_id = self._open(candidate)
                except LedgerConnectionError:
                    continue
                if chain_id != self._chain_id:
                    raise LedgerConnectionError(
                        f"{candidate} is chain {chain_id}, not chain {self._chain_id} "
                        f"of {failed}: not a node of the same network"
                    ) from cause
                _log.warning(
                    "%s stopped answering (%s); failed over to %s", failed, cause, candidate
                )
                for raw in list(self._unconfirmed.values()):
                    # Already known or already mined there: the node says so, harmlessly.
                    try:
                        self._provider.make_request("eth_sendRawTransaction", ["0x" + raw.hex()])
                    except Exception as exc:  # the next request finds out whether it answers
                        _log.warning("re-sending to %s failed: %s", candidate, exc)
                        break
                return
            raise LedgerConnectionError(f"no node of {', '.join(self.urls)} answers: {cause}")

    def _raw(self, method: str, params: list[Any]) -> dict[str, Any]:
        for _ in range(len(self.urls)):
            url, provider = self.url, self._provider
            try:
                return dict(provider.make_request(method, params))
            except Exception as exc:
                if len(self.urls) == 1:
                    raise LedgerConnectionError(f"{method} to {url} failed: {exc}") from exc
                self._fail_over(url, exc)
        raise LedgerConnectionError(f"{method} failed at every node of {', '.join(self.urls)}")

    def _request(self, method: str, params: list[Any]) -> Any:
        response = self._raw(method, params)
        if "error" in response:
            err = response["error"]
            raise LedgerConnectionError(f"{method} failed at {self.url}: {err.get('message', err)}")
        return response.get("result")

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def describe(self) -> str:
        return self.url

    # -- transactions -------------------------------------------------------------
    def send_raw_transaction(self, raw: bytes) -> str:
        response = self._raw("eth_sendRawTransaction", ["0x" + raw.hex()])
        if "error" in response:
            err = response["error"]
            raise TransactionError(f"the node refused the transaction: {err.get('message', err)}")
        tx_hash = str(response["result"])
        if len(self.urls) > 1:
            if len(self._unconfirmed) >= _UNCONFIRMED_MAX:
                self._unconfirmed.pop(next(iter(self._unconfirmed)))
            self._unconfirmed[tx_hash.lower()] = raw
        return tx_hash

    def wait_for_receipt(self, tx_hash: str, timeout: float = 30.0) -> Receipt:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            r = self._request("eth_getTransactionReceipt", [tx_hash])
            if r:
                self._unconfirmed.pop(tx_hash.lower(), None)
                return _receipt(r)
            if time.monotonic() > deadline:
                raise TransactionTimeout(tx_hash, timeout)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def receipt_if_mined(self, tx_hash: str) -> Receipt | None:
        r = self._request("eth_getTransactionReceipt", [tx_hash])
        if not r:
            return None
        self._unconfirmed.pop(tx_hash.lower(), None)
        return _receipt(r)

    def call(self, tx: dict[str, Any], block: int | str = "latest") -> bytes:
        params: dict[str, Any] = {"data": "0x" + bytes(tx.get("data", b"")).hex()}
        if tx.get("to"):  # absent for a contract creation
            params["to"] = tx["to"]
        if tx.get("from"):
            params["from"] = tx["from"]
        if tx.get("value"):
            params["value"] = hex(int(tx["value"]))
        response = self._raw("eth_call", [params, _block_param(block)])
        if "error" in response:
            err = response["error"]
            data = err.get("data")
            if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
                data = data.get("data")
            if isinstance(data, str) and data.startswith("0x"):
                raise decode_revert(bytes.fromhex(data[2:]))
            if err.get("code") == _EXECUTION_REVERTED or "revert" in str(err.get("message", "")):
                raise decode_revert(b"")
            raise LedgerConnectionError(f"eth_call failed at {self.url}: {err.get('message')}")
        return bytes.fromhex(str(response["result"])[2:])

    def nonce(self, address: str) -> int:
        return int(self._request("eth_getTransactionCount", [address, "pending"]), 16)

    # -- chain data ---------------------------------------------------------------
    def block_number(self) -> int:
        return int(self._request("eth_blockNumber", []), 16)

    def block(self, number: int | str = "latest") -> BlockInfo:
        b = self._request("eth_getBlockByNumber", [_block_param(number), False])
        if b is None:
            raise LedgerValueError(f"no block {number!r} at {self.url}")
        return _block_info(b)

    def blocks_with_receipts(self, start: int, stop: int) -> list[tuple[BlockInfo, list[Receipt]]]:
        """The range in JSON-RPC batches (two round trips for up to ``_BATCH_MAX`` blocks):
        the blocks, then the receipts of those with transactions. A node that refuses a
        batch, or any item of one, is read block by block instead."""
        found: list[tuple[BlockInfo, list[Receipt]]] = []
        for first in range(start, stop + 1, _BATCH_MAX):
            last = min(stop, first + _BATCH_MAX - 1)
            numbers = range(first, last + 1)
            blocks = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
            if blocks is None or any(b is None for b in blocks):
                found += super().blocks_with_receipts(first, last)
                continue
            infos = [_block_info(b) for b in blocks]
            busy = [i.number for i in infos if i.transactions]
            receipts = (
                self._batch([("eth_getBlockReceipts", [hex(n)]) for n in busy]) if busy else []
            )
            if receipts is None or any(r is None for r in receipts):
                found += super().blocks_with_receipts(first, last)
                continue
            by_number = {n: [_receipt(r) for r in rs] for n, rs in zip(busy, receipts, strict=True)}
            found += [(i, by_number.get(i.number, [])) for i in infos]
        return found

    def _batch(self, requests: list[tuple[str, list[Any]]]) -> list[Any] | None:
        """The results of one JSON-RPC batch, in order; None when the node refused it."""
        try:
            responses = self._provider.make_batch_request(requests)  # type: ignore[arg-type]
        except Exception as exc:  # transport, or a node without batches: the caller falls back
            _log.debug("batch of %d requests to %s failed: %s", len(requests), self.url, exc)
            return None
        if not isinstance(responses, list) or len(responses) != len(requests):
            return None
        if any("error" in r for r in responses):
            return None
        return [r.get("result") for r in responses]

    def code(self, address: str, block: int | str = "latest") -> bytes:
        return bytes.fromhex(str(self._request("eth_getCode", [address, _block_param(block)]))[2:])

    def balance(self, address: str) -> int:
        return int(self._request("eth_getBalance", [address, "latest"]), 16)

    def receipts_in_block(self, number: int) -> list[Receipt]:
        response = self._raw("eth_getBlockReceipts", [hex(number)])
        if "error" not in response and response.get("result") is not None:
            return [_receipt(r) for r in response["result"]]
        return [self.wait_for_receipt(h) for h in self.block(number).transactions]

    def transaction_input(self, tx_hash: str) -> bytes:
        tx = self._request("eth_getTransactionByHash", [tx_hash])
        if not tx:
            raise LedgerValueError(f"no transaction {tx_hash} at {self.url}")
        return bytes.fromhex(str(tx.get("input") or tx.get("data") or "0x")[2:])

    # -- development controls -----------------------------------------------------
    def controls_clock(self) -> bool:
        if self._controls_clock is None:
            response = self._raw("web3_clientVersion", [])
            version = str(response.get("result") or "").lower()
            self._controls_clock = version.startswith(_CLOCK_CONTROLLING_CLIENTS)
        return self._controls_clock

    def time_travel(self, to_timestamp: int) -> None:
        latest = self.block().timestamp
        if to_timestamp <= latest:
            raise LedgerValueError(
                f"cannot travel to {to_timestamp}: the latest block is at {latest}"
            )
        self._request("evm_setNextBlockTimestamp", [to_timestamp])
        self._request("evm_mine", [])

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self._request("evm_mine", [])

    def set_automine(self, enabled: bool) -> None:
        self._request("evm_setAutomine", [enabled])

    def snapshot(self) -> Any:
        return self._request("evm_snapshot", [])

    def revert(self, snapshot: Any) -> None:
        if not self._request("evm_revert", [snapshot]):
            raise LedgerValueError(f"the node has no snapshot {snapshot!r}")

    def fund(self, address: str, wei: int) -> None:
        # A development node pays from one of its unlocked accounts; a consortium
        # network funds members through its own operator, not through this client.
        if self._dev_accounts is None:
            self._dev_accounts = list(self._request("eth_accounts", []) or [])
        if not self._dev_accounts:
            raise TransactionError(
                f"{self.url} has no unlocked development account to fund {address} from"
            )
        tx_hash = self._request(
            "eth_sendTransaction",
            [{"from": self._dev_accounts[0], "to": address, "value": hex(wei), "gas": hex(21_000)}],
        )
        if self.wait_for_receipt(str(tx_hash)).status != 1:
            raise TransactionError(f"funding {address} failed")

    def close(self) -> None:
        session = getattr(self._provider, "_request_session", None)
        if session is not None:
            session.close()


def _block_info(b: dict[str, Any]) -> BlockInfo:
    return BlockInfo(
        number=int(b["number"], 16),
        hash=str(b["hash"]),
        timestamp=int(b["timestamp"], 16),
        transactions=tuple(str(t) for t in b["transactions"]),
        base_fee=int(b.get("baseFeePerGas") or "0x0", 16),
    )


def _block_param(block: int | str) -> str:
    return hex(block) if isinstance(block, int) else block


def _receipt(r: dict[str, Any]) -> Receipt:
    logs = tuple(
        Log(
            address=Web3.to_checksum_address(lg["address"]),
            topics=tuple(bytes.fromhex(t[2:]) for t in lg["topics"]),
            data=bytes.fromhex(str(lg["data"])[2:]),
            block_number=int(lg["blockNumber"], 16),
            tx_hash=str(lg["transactionHash"]),
            log_index=int(lg["logIndex"], 16),
        )
        for lg in r["logs"]
    )
    contract = r.get("contractAddress")
    return Receipt(
        tx_hash=str(r["transactionHash"]),
        block_number=int(r["blockNumber"], 16),
        block_hash=str(r["blockHash"]),
        status=int(r["status"], 16),
        gas_used=int(r["gasUsed"], 16),
        effective_gas_price=int(r.get("effectiveGasPrice") or "0x0", 16),
        contract_address=Web3.to_checksum_address(contract) if contract else None,
        logs=logs,
    )
