"""A bounded load of signed attestations against a running API, from this process.

Used by ``credit-chain bench api`` and by the crash test: ``clients`` threads
each post signed records with their own nonces until ``duration_s`` passes or
``max_requests`` are sent, and note every submission the server accepted.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from eth_account.signers.local import LocalAccount

from ledger_client.records import Schema, record_hash, sample_record
from ledger_client.signed_records import SignedRecord
from ledger_client.types import AttestRequest


@dataclass
class LoadResult:
    """What the load saw."""

    accepted: dict[str, str] = field(default_factory=dict)  # submission id -> idempotency key
    latencies_ms: list[float] = field(default_factory=list)  # of accepted requests
    refused: dict[int, int] = field(default_factory=dict)  # status -> count
    errors: int = 0  # connection failures (e.g. the server was killed)
    seconds: float = 0.0

    @property
    def accepted_per_s(self) -> float:
        """Accepted submissions per second over the run."""
        return len(self.accepted) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: float) -> float:
        """The p-th percentile accept latency in milliseconds."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def make_bodies(
    signer: LocalAccount,
    separator: bytes,
    schema: Schema,
    schema_id: bytes,
    count: int,
    *,
    first_nonce: int,
    deadline: int,
    seed: int = 1,
) -> list[dict[str, object]]:
    """``count`` signed attestation bodies, ready to post (signing is done up front)."""
    rng = random.Random(seed)
    bodies = []
    for i in range(count):
        record = sample_record(schema, rng, overrides={"subject": "0x" + rng.randbytes(32).hex()})
        request = AttestRequest(
            schema_id, bytes.fromhex(str(record["subject"])[2:]), record_hash(schema, record)
        )
        nonce = first_nonce + i
        signed = SignedRecord.sign(signer, separator, request, nonce, deadline)
        bodies.append(
            {
                "schema": schema.name,
                "subject": record["subject"],
                "data_hash": "0x" + bytes(request.data_hash).hex(),
                "signer": signer.address,
                "nonce": nonce,
                "deadline": deadline,
                "signature": "0x" + signed.signature.hex(),
            }
        )
    return bodies


def run_load(
    base_url: str,
    api_key: str,
    bodies: list[dict[str, object]],
    *,
    clients: int = 32,
    duration_s: float = 5.0,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Post ``bodies`` from ``clients`` concurrent connections until they run out, time
    passes or ``stop`` is set.

    The clients are asyncio tasks in one thread: threads would spend the load
    generator's time fighting over the GIL and inflate the latencies it measures.
    """
    return asyncio.run(
        _load(base_url, api_key, bodies, clients=clients, duration_s=duration_s, stop=stop)
    )


async def _load(
    base_url: str,
    api_key: str,
    bodies: list[dict[str, object]],
    *,
    clients: int,
    duration_s: float,
    stop: threading.Event | None,
) -> LoadResult:
    result = LoadResult()
    cursor = iter(range(len(bodies)))
    deadline = time.monotonic() + duration_s
    halt = stop or threading.Event()
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80

    def request(i: int) -> tuple[bytes, str]:
        key = f"load-{bodies[i]['nonce']}"
        payload = json.dumps(bodies[i], separators=(",", ":")).encode()
        head = (
            f"POST /v1/attestations HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"X-API-Key: {api_key}\r\nIdempotency-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        return head + payload, key

    async def client() -> None:
        # A bare HTTP/1.1 keep-alive client: httpx spends more CPU per request than
        # the server it measures, and this runs beside it on the same cores.
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while not halt.is_set() and time.monotonic() < deadline:
            i = next(cursor, None)
            if i is None:
                break
            raw, key = request(i)
            t0 = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(raw)
                await writer.drain()
                status, body = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                result.errors += 1
                writer = None
                if halt.is_set():
                    return
                await asyncio.sleep(0.01)
                continue
            ms = (time.perf_counter() - t0) * 1000
            if status in (200, 202):
                result.accepted[json.loads(body)["id"]] = key
                result.latencies_ms.append(ms)
            else:
                result.refused[status] = result.refused.get(status, 0) + 1
        if writer is not None:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = time.monotonic() - started
    return result


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length)
