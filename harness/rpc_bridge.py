"""The embedded chain served over JSON-RPC on loopback, for a second process to share.

A run through the API starts ``credit-chain serve`` as its own process, yet the
embedded chain lives in the simulator's process (it moves the chain's clock,
and its data directory is what the auditor opens afterwards). This bridge
answers the JSON-RPC methods the client's :class:`~ledger_client.chain.backends.RpcBackend`
uses by calling the embedded backend, so the server attaches to the very same
chain with ``--rpc``. It is a development aid for one machine, bound to
127.0.0.1, and not a node: there is no mempool, no filters, no signing.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_abi.abi import encode as abi_encode

from ledger_client.chain.backends import Backend, BlockInfo, Receipt
from ledger_client.errors import ContractRevert, LedgerError, UnknownRevert

__all__ = ["EmbeddedRpcBridge", "revert_bytes"]

_EXECUTION_REVERTED = 3
_SERVER_ERROR = -32000
_METHOD_NOT_FOUND = -32601
#: Longest a held send waits: a test that forgets to release never hangs the worker.
HOLD_MAX_S = 120.0


def revert_bytes(exc: ContractRevert) -> bytes:
    """The revert data a named error was decoded from (selector and ABI-encoded arguments)."""
    if isinstance(exc, UnknownRevert):
        return exc.data
    values = [exc.fields[name] for name in exc.param_names]
    return type(exc).selector + abi_encode(list(exc.param_types), values)


def _block_param(value: Any) -> int | str:
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    return str(value) if value is not None else "latest"


def _block_json(b: BlockInfo) -> dict[str, Any]:
    return {
        "number": hex(b.number),
        "hash": b.hash,
        "timestamp": hex(b.timestamp),
        "transactions": list(b.transactions),
        "baseFeePerGas": hex(b.base_fee),
    }


def _receipt_json(r: Receipt) -> dict[str, Any]:
    return {
        "transactionHash": r.tx_hash,
        "blockNumber": hex(r.block_number),
        "blockHash": r.block_hash,
        "status": hex(r.status),
        "gasUsed": hex(r.gas_used),
        "effectiveGasPrice": hex(r.effective_gas_price),
        "contractAddress": r.contract_address,
        "logs": [
            {
                "address": lg.address,
                "topics": ["0x" + t.hex() for t in lg.topics],
                "data": "0x" + lg.data.hex(),
                "blockNumber": hex(lg.block_number),
                "transactionHash": lg.tx_hash,
                "logIndex": hex(lg.log_index),
            }
            for lg in r.logs
        ],
    }


class _RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class EmbeddedRpcBridge:
    """Serve ``backend`` at ``http://127.0.0.1:<port>`` from a background thread."""

    def __init__(self, backend: Backend, port: int = 0) -> None:
        self.backend = backend
        self.relayed: list[str] = []  # hashes of the transactions sent through the bridge
        # Open unless :meth:`hold_sends`: a node slower than the load (its pool full, say)
        # answers reads while a sent transaction waits.
        self._sends_open = threading.Event()
        self._sends_open.set()
        self.sends_held = 0  # sends that found the bridge holding them
        self._refusing: str | None = None  # a node's refusal every send gets, if set
        self._methods: dict[str, Callable[[list[Any]], Any]] = {
            "eth_chainId": lambda _: hex(backend.chain_id),
            "net_version": lambda _: str(backend.chain_id),
            "web3_clientVersion": lambda _: "credit-chain-embedded-bridge/1",
            "eth_blockNumber": lambda _: hex(backend.block_number()),
            "eth_getBlockByNumber": self._block,
            "eth_getTransactionCount": lambda p: hex(backend.nonce(p[0])),
            "eth_getCode": lambda p: (
                "0x" + backend.code(p[0], _block_param(p[1] if len(p) > 1 else None)).hex()
            ),
            "eth_getBalance": lambda p: hex(backend.balance(p[0])),
            "eth_sendRawTransaction": self._send_raw,
            "eth_getTransactionReceipt": self._receipt,
            "eth_getBlockReceipts": lambda p: [
                _receipt_json(r) for r in backend.receipts_in_block(int(_block_param(p[0])))
            ],
            "eth_call": self._call,
            "eth_accounts": lambda _: [],
        }
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: web3's session reuses connections

            def handle(self) -> None:
                # The API server may be stopped mid-request (the restart fault).
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    super().handle()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    request = json.loads(self.rfile.read(length))
                except ValueError:
                    request = None
                if isinstance(request, list):
                    body: Any = [bridge.answer(r) for r in request]
                else:
                    body = bridge.answer(request)
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the simulation has its own progress bar

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="rpc-bridge", daemon=True
        )

    @property
    def url(self) -> str:
        """Where the bridge listens."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmbeddedRpcBridge:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def answer(self, request: Any) -> dict[str, Any]:
        """The JSON-RPC response to one request object."""
        if not isinstance(request, dict) or "method" not in request:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "bad"}}
        rid = request.get("id")
        try:
            method = self._methods.get(str(request["method"]))
            if method is None:
                raise _RpcError(_METHOD_NOT_FOUND, f"method {request['method']} not supported")
            return {"jsonrpc": "2.0", "id": rid, "result": method(list(request.get("params", [])))}
        except _RpcError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            return {"jsonrpc": "2.0", "id": rid, "error": error}
        except (LedgerError, ValueError, KeyError, IndexError, TypeError) as exc:
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {"code": _SERVER_ERROR, "message": str(exc)},
            }

    # -- methods ------------------------------------------------------------------
    def _block(self, params: list[Any]) -> dict[str, Any] | None:
        try:
            return _block_json(self.backend.block(_block_param(params[0])))
        except LedgerError:
            return None

    @contextlib.contextmanager
    def hold_sends(self) -> Iterator[None]:
        """While inside, ``eth_sendRawTransaction`` waits (at most :data:`HOLD_MAX_S`);
        every read still answers: the chain behind the load, not gone."""
        self._sends_open.clear()
        try:
            yield
        finally:
            self._sends_open.set()

    @contextlib.contextmanager
    def refuse_sends(self, message: str = "txpool is full") -> Iterator[None]:
        """While inside, ``eth_sendRawTransaction`` is refused with ``message`` (a node's
        error, -32000) and reads answer: a node that takes no more transactions."""
        self._refusing = message
        try:
            yield
        finally:
            self._refusing = None

    def _send_raw(self, params: list[Any]) -> str:
        if self._refusing is not None:
            raise _RpcError(_SERVER_ERROR, self._refusing)
        if not self._sends_open.is_set():
            self.sends_held += 1
            self._sends_open.wait(HOLD_MAX_S)
        raw = bytes.fromhex(str(params[0]).removeprefix("0x"))
        tx_hash = self.backend.send_raw_transaction(raw)
        self.relayed.append(tx_hash)
        return tx_hash

    def _receipt(self, params: list[Any]) -> dict[str, Any] | None:
        receipt = self.backend.receipt_if_mined(str(params[0]))
        return _receipt_json(receipt) if receipt is not None else None

    def _call(self, params: list[Any]) -> str:
        tx = dict(params[0])
        call: dict[str, Any] = {"data": bytes.fromhex(str(tx.get("data", "0x"))[2:])}
        if tx.get("to"):
            call["to"] = tx["to"]
        if tx.get("from"):
            call["from"] = tx["from"]
        if tx.get("value"):
            call["value"] = int(str(tx["value"]), 16)
        block = _block_param(params[1] if len(params) > 1 else None)
        try:
            return "0x" + self.backend.call(call, block).hex()
        except ContractRevert as exc:
            raise _RpcError(
                _EXECUTION_REVERTED, "execution reverted", "0x" + revert_bytes(exc).hex()
            ) from exc
