"""A loopback JSON-RPC server of a revm chain's latest state, read from its SQLite store.

pyrevm 0.3.7 reads state only from its own memory or from a ``fork_url``, and
blocks while holding the GIL when it does, so the server cannot be a thread of
the chain's process: the chain starts this file as a child process (by path, so
it imports nothing of the client) and points its EVM's ``fork_url`` at it.

It answers what revm 8's ``EthersDB`` asks (crates/revm/src/db/ethersdb.rs at
v35): ``eth_getTransactionCount``, ``eth_getBalance`` and ``eth_getCode`` for an
account, ``eth_getStorageAt`` for a slot, ``eth_getBlockByNumber`` for BLOCKHASH
and ``eth_blockNumber``; block tags are ignored, because the chain asks only
for keys its EVM has not cached since it was created, and for those the store,
written after every block, holds the latest value. The hash it gives a block
number is the one pyrevm's in-memory database gives (revm's ``EmptyDB``:
keccak of the number's decimal text), so BLOCKHASH reads the same in both modes.

It counts the distinct accounts and slots it served: with the keys the chain
wrote, that is what the EVM caches. ``credit_fetched`` returns the counts and
``credit_reset`` zeroes them when the chain recreates its EVM.

Usage: ``python _revm_state_server.py STORE PARENT_PID``; it prints its port on
stdout, and exits when its parent dies or on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from typing import Any

_ZERO_WORD = "0x" + "00" * 32
_PARENT_POLL_S = 0.5


class StateReader:
    """Reads accounts and slots from the store, counting the distinct keys served."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.accounts: set[bytes] = set()
        self.slots: set[tuple[bytes, bytes]] = set()
        self.code_bytes = 0

    def _account(self, address: bytes) -> tuple[int, int, bytes]:
        row = self._conn.execute(
            "SELECT balance, nonce, code FROM revm_accounts WHERE address = ?", (address,)
        ).fetchone()
        if address not in self.accounts:
            self.accounts.add(address)
            self.code_bytes += len(row[2] or b"") if row else 0
        return (int(row[0]), int(row[1]), bytes(row[2] or b"")) if row else (0, 0, b"")

    def _slot(self, address: bytes, slot: bytes) -> bytes | None:
        self.slots.add((address, slot))
        row = self._conn.execute(
            "SELECT value FROM revm_storage WHERE address = ? AND slot = ?", (address, slot)
        ).fetchone()
        return bytes(row[0]) if row else None

    def answer(self, method: str, params: list[Any]) -> Any:
        """The result of one JSON-RPC call."""
        if method == "eth_getBalance":
            return hex(self._account(_address(params[0]))[0])
        if method == "eth_getTransactionCount":
            return hex(self._account(_address(params[0]))[1])
        if method == "eth_getCode":
            return "0x" + self._account(_address(params[0]))[2].hex()
        if method == "eth_getStorageAt":
            value = self._slot(_address(params[0]), int(params[1], 16).to_bytes(32, "big"))
            return _ZERO_WORD if value is None else "0x" + value.hex()
        if method == "eth_blockNumber":
            row = self._conn.execute("SELECT MAX(number) FROM revm_blocks").fetchone()
            return hex(int(row[0] or 0))
        if method == "eth_getBlockByNumber":
            return _block(int(params[0], 16) if params[0].startswith("0x") else 0)
        if method == "credit_fetched":
            return [len(self.accounts), len(self.slots), self.code_bytes]
        if method == "credit_reset":
            self.accounts.clear()
            self.slots.clear()
            self.code_bytes = 0
            return True
        raise KeyError(method)


def _address(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x").lower())


def _keccak(data: bytes) -> bytes:
    # The only hash this server needs, for the BLOCKHASH answer: imported here so the
    # rest of the server starts without it.
    from eth_hash.auto import keccak

    return bytes(keccak(data))


def _block(number: int) -> dict[str, Any]:
    # Every field ethers' Block<TxHash> may require, so it deserialises.
    zero32 = "0x" + "00" * 32
    return {
        "hash": "0x" + _keccak(str(number).encode()).hex(),
        "parentHash": zero32,
        "sha3Uncles": zero32,
        "miner": "0x" + "00" * 20,
        "stateRoot": zero32,
        "transactionsRoot": zero32,
        "receiptsRoot": zero32,
        "logsBloom": "0x" + "00" * 256,
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "number": hex(number),
        "gasLimit": "0x0",
        "gasUsed": "0x0",
        "timestamp": "0x0",
        "extraData": "0x",
        "mixHash": zero32,
        "nonce": "0x0000000000000000",
        "baseFeePerGas": "0x0",
        "size": "0x0",
        "uncles": [],
        "transactions": [],
    }


def _respond(reader: StateReader, body: bytes) -> bytes:
    request = json.loads(body)
    try:
        reply = {
            "jsonrpc": "2.0",
            "id": request.get("id"),
            "result": reader.answer(request["method"], request.get("params") or []),
        }
    except Exception as exc:  # one bad request is answered, not fatal to the server
        reply = {
            "jsonrpc": "2.0",
            "id": request.get("id"),
            "error": {"code": -32601, "message": f"{type(exc).__name__}: {exc}"},
        }
    return json.dumps(reply).encode()


async def _serve_connection(
    reader: StateReader, stream_in: asyncio.StreamReader, stream_out: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                head = await stream_in.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await stream_in.readexactly(length)
            payload = _respond(reader, body)
            stream_out.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
            )
            await stream_out.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    except asyncio.CancelledError:
        # Shutting down with revm's connection still open: end quietly (a cancelled
        # connection task would be logged as an error).
        return
    finally:
        stream_out.close()


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    # Orphaned (the chain's process died without closing it): re-parented, so exit.
    # Polled rather than PR_SET_PDEATHSIG, which fires when the *thread* that started
    # this process ends: a chain opened in a worker thread would lose its server.
    while os.getppid() == parent:
        await asyncio.sleep(_PARENT_POLL_S)
    stop.set()


async def _main(path: str, parent: int) -> None:
    reader = StateReader(path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(
        lambda i, o: _serve_connection(reader, i, o), host="127.0.0.1", port=0
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    watcher = asyncio.create_task(_watch_parent(parent, stop))
    async with server:
        await stop.wait()
    watcher.cancel()


if __name__ == "__main__":
    store_path, parent_pid = sys.argv[1], int(sys.argv[2])
    if os.getppid() != parent_pid:
        sys.exit(0)
    asyncio.run(_main(store_path, parent_pid))
