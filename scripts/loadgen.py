"""A bounded load of pre-signed writes against a running API on loopback.

Used by ``credit-chain bench api`` (in process: :func:`run_load`) and by the crash
test, as a process of its own::

    python -m scripts.loadgen --url http://127.0.0.1:8000 --bodies bodies.jsonl \
        --clients 16 --duration 20 --out accepted.jsonl --retry

``clients`` concurrent connections post the bodies (each with its own nonce and
Idempotency-Key, signed up front) until they run out, ``duration`` passes or the
process is told to stop (SIGTERM or SIGINT). Every submission the server
acknowledges is appended to ``--out`` as one JSON line (id, idempotency key,
status, route), flushed as it comes, so the record of what the server accepted
survives the server being killed mid-run. With ``--retry`` a request that got no
answer (the server went away) or a 429/5xx is sent again with the same
Idempotency-Key, as a careful client would. The API key comes from
``CREDIT_CHAIN_API_KEY`` (or ``--key``, which other users of the machine can see).
Only loopback URLs are accepted: this is a test tool, not a way to load someone
else's server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # signing needs these; the command-line load does not (it starts faster)
    from eth_account.signers.local import LocalAccount

    from ledger_client.attestations.records import Schema

#: The route attestations are posted to; other writes name theirs in the body file.
ATTESTATIONS = "/v1/attestations"
#: Bounds of the command-line load.
MAX_CLIENTS = 256
MAX_DURATION_S = 600.0
#: A request without an answer after this long counts as failed.
REQUEST_TIMEOUT_S = 30.0
#: Pause before a retry (``--retry``) or the next request after a failure.
RETRY_PAUSE_S = 0.05
#: What ``--retry`` sends again: no answer (status 0), too many requests, server errors.
RETRIED = frozenset({0, 429, 500, 502, 503, 504})
#: An open loop reuses an idle keep-alive connection only this recently used: uvicorn
#: closes one idle for 5 s, and a request sent on a closed one would fail (the
#: generator's fault, not the server's).
IDLE_REUSE_S = 4.0


@dataclass(frozen=True)
class Item:
    """One write to post: its route, its Idempotency-Key and its JSON body; the API key to
    send it with (the load's own when empty) and a label the figures are grouped by."""

    path: str
    key: str
    body: dict[str, Any]
    api_key: str = ""
    label: str = ""

    def to_json(self) -> str:
        """One line of a body file."""
        return json.dumps({"path": self.path, "key": self.key, "body": self.body})


@dataclass
class LoadResult:
    """What the load saw."""

    accepted: dict[str, str] = field(default_factory=dict)  # submission id -> idempotency key
    latencies_ms: list[float] = field(default_factory=list)  # of accepted requests
    refused: dict[int, int] = field(default_factory=dict)  # status -> count
    errors: int = 0  # connection failures (e.g. the server was killed)
    seconds: float = 0.0
    #: Accept latencies and refusals per item label (a mixed load's operations).
    latencies_by_label: dict[str, list[float]] = field(default_factory=dict)
    refused_by_label: dict[str, dict[int, int]] = field(default_factory=dict)
    #: An open-loop load only: requests offered per second, how many were offered, and
    #: how late the generator itself started one at worst (it must stay near 0 for the
    #: offered rate to be what the server met).
    offered_per_s: float = 0.0
    offered: int = 0
    max_lag_ms: float = 0.0
    #: An open-loop load only: (seconds after the start it was due, accept latency ms) of
    #: each accepted request, to tell the server's first seconds from the rest.
    timeline: list[tuple[float, float]] = field(default_factory=list)

    def note(self, item: Item, status: int, body: bytes, ms: float) -> list[str]:
        """Count one answer; return the submission ids it acknowledged."""
        if status in (200, 202):
            self.latencies_ms.append(ms)
            self.latencies_by_label.setdefault(item.label, []).append(ms)
            ids = _submission_ids(json.loads(body))
            for sub_id in ids:
                self.accepted[sub_id] = item.key
            return ids
        if status:
            self.refused[status] = self.refused.get(status, 0) + 1
            by = self.refused_by_label.setdefault(item.label, {})
            by[status] = by.get(status, 0) + 1
        return []

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
    """``count`` signed attestation bodies, ready to post (signing is done up front; the
    bodies are the SDK's)."""
    from ledger_client.attestations.records import record_hash, sample_record
    from ledger_client.attestations.signed_records import SignedRecord
    from ledger_client.types import AttestRequest
    from sdk import bodies as sdk_bodies

    rng = random.Random(seed)
    out = []
    for i in range(count):
        record = sample_record(schema, rng, overrides={"subject": "0x" + rng.randbytes(32).hex()})
        request = AttestRequest(
            schema_id, bytes.fromhex(str(record["subject"])[2:]), record_hash(schema, record)
        )
        signed = SignedRecord.sign(signer, separator, request, first_nonce + i, deadline)
        out.append(sdk_bodies.attestation(schema.name, signed))
    return out


def attestation_items(bodies: Iterable[dict[str, object]]) -> list[Item]:
    """Attestation bodies as items to post, each keyed by its nonce (``load-<nonce>``)."""
    return [Item(ATTESTATIONS, f"load-{b['nonce']}", dict(b)) for b in bodies]


def write_items(path: Path, items: Iterable[Item]) -> None:
    """A body file: one item a line."""
    with path.open("w") as f:
        for item in items:
            f.write(item.to_json() + "\n")


def read_items(path: Path) -> list[Item]:
    """The items of a body file; a route or key that would bend the request line or its
    headers (a space, a control character) is refused."""
    out = []
    with path.open() as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                doc = json.loads(line)
                item = Item(str(doc["path"]), str(doc["key"]), dict(doc["body"]))
                if not item.path.startswith("/") or not all(
                    x.isprintable() and " " not in x for x in (item.path, item.key)
                ):
                    raise ValueError(f"{path}:{n}: not a plain route and key")
                out.append(item)
    return out


def read_accepted(path: Path) -> list[dict[str, Any]]:
    """The lines ``--out`` holds: what the server acknowledged (a torn last line is skipped)."""
    if not path.exists():
        return []
    out = []
    with path.open() as f:
        for line in f:
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
    return out


def run_items(
    base_url: str,
    items: Sequence[Item],
    *,
    clients: int = 32,
    duration_s: float = 5.0,
    api_key: str = "",
) -> LoadResult:
    """Post ``items``, each with its own API key (or ``api_key``), from ``clients``
    concurrent connections until they run out or time passes (a mixed load)."""
    return asyncio.run(
        _load(base_url, api_key, items, clients=clients, duration_s=duration_s, stop=None)
    )


def run_load(
    base_url: str,
    api_key: str,
    bodies: list[dict[str, object]],
    *,
    clients: int = 32,
    duration_s: float = 5.0,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Post attestation ``bodies`` from ``clients`` concurrent connections until they run
    out, time passes or ``stop`` is set.

    The clients are asyncio tasks in one thread: threads would spend the load
    generator's time fighting over the GIL and inflate the latencies it measures.
    """
    items = attestation_items(bodies)
    return asyncio.run(
        _load(base_url, api_key, items, clients=clients, duration_s=duration_s, stop=stop)
    )


def serve_load_and_drain(
    data_dir: Path,
    load: Callable[[str], LoadResult],
    env: dict[str, str] | None = None,
    drain_s: float = 120.0,
) -> LoadResult:
    """``serve`` on ``data_dir``, ``load`` against its URL, then wait (at most ``drain_s``)
    until nothing is pending, and stop the server by its pid."""
    import httpx

    from harness.api_process import start_server

    server, port = start_server(data_dir, env=env, ready_timeout_s=120)
    url = f"http://127.0.0.1:{port}"
    try:
        result = load(url)
        drain_deadline = time.monotonic() + drain_s
        while time.monotonic() < drain_deadline:
            try:
                if httpx.get(f"{url}/ready", timeout=5).json().get("pending") == 0:
                    break
            except httpx.TimeoutException:
                pass  # busy anchoring what the load left: ask again until the deadline
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return result


async def _load(
    base_url: str,
    api_key: str,
    items: Sequence[Item],
    *,
    clients: int,
    duration_s: float,
    stop: threading.Event | None,
    retry: bool = False,
    on_accept: Callable[[Item, str, int], None] | None = None,
) -> LoadResult:
    result = LoadResult()
    cursor = iter(range(len(items)))
    deadline = time.monotonic() + duration_s
    halt = stop or threading.Event()
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80

    def request(item: Item) -> bytes:
        return _request_bytes(item, host, port, api_key)

    def running() -> bool:
        return not halt.is_set() and time.monotonic() < deadline

    async def client() -> None:
        # A bare HTTP/1.1 keep-alive client: httpx spends more CPU per request than
        # the server it measures, and this runs beside it on the same cores.
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        i: int | None = None
        while running():
            if i is None:
                i = next(cursor, None)
                if i is None:
                    break
            item = items[i]
            t0 = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(request(item))
                await writer.drain()
                status, body = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                result.errors += 1
                if writer is not None:
                    writer.close()
                writer = None
                status, body = 0, b""
            ms = (time.perf_counter() - t0) * 1000
            for sub_id in result.note(item, status, body, ms):
                if on_accept is not None:
                    on_accept(item, sub_id, status)
            again = retry and status in RETRIED
            told = _retry_after_s(status, body)
            if told:
                # A refusal that says when to come back (RateLimited, Backlogged): this
                # client, as a bank's would, sends nothing before then.
                await asyncio.sleep(min(told, max(0.0, deadline - time.monotonic())))
            elif again or status == 0:
                await asyncio.sleep(RETRY_PAUSE_S)
            if not again:
                i = None  # on to the next item (without --retry, a failed one is dropped)
        if writer is not None:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = time.monotonic() - started
    return result


def run_items_paced(
    base_url: str,
    items: Sequence[Item],
    *,
    rate: float,
    duration_s: float,
    max_connections: int = MAX_CLIENTS,
    api_key: str = "",
) -> LoadResult:
    """Offer ``items`` at ``rate`` requests per second, evenly spaced, for ``duration_s``
    (at most ``rate × duration_s`` requests, at most ``len(items)``): an open loop.

    A closed loop (:func:`run_items`: each client sends its next request when the last
    is answered) measures saturation, and its latency is queueing behind the other
    clients. Here each request is sent when it is due, whether or not earlier ones were
    answered, over at most ``max_connections`` keep-alive connections, and its latency
    counts from when it was due, not from when it could be sent (as wrk2 does: a
    request held back by a busy server or a busy generator counts its wait, so the
    percentiles are not flattered by the server slowing the load down).
    """
    if rate <= 0 or duration_s <= 0:
        raise ValueError("rate and duration_s must be positive")
    return asyncio.run(
        _paced(
            base_url,
            api_key,
            items,
            rate=rate,
            duration_s=duration_s,
            max_connections=max_connections,
        )
    )


async def _paced(
    base_url: str,
    api_key: str,
    items: Sequence[Item],
    *,
    rate: float,
    duration_s: float,
    max_connections: int,
) -> LoadResult:
    result = LoadResult()
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    count = min(len(items), int(rate * duration_s))
    result.offered_per_s, result.offered = rate, count
    # Idle connections, with when each was last answered on; the newest is reused first.
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
    slots = asyncio.Semaphore(max_connections)

    async def send(item: Item, due: float) -> None:
        async with slots:
            conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
            if idle:
                reader, writer, used = idle.pop()
                if time.perf_counter() - used < IDLE_REUSE_S:
                    conn = reader, writer
                else:  # the server may have closed it: every older one too
                    for _, stale, _ in (*idle, (reader, writer, used)):
                        stale.close()
                    idle.clear()
            try:
                if conn is None:
                    conn = await asyncio.open_connection(host, port)
                reader, writer = conn
                writer.write(_request_bytes(item, host, port, api_key))
                await writer.drain()
                status, body = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT_S)
                idle.append((reader, writer, time.perf_counter()))
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                result.errors += 1
                if conn is not None:
                    conn[1].close()
                status, body = 0, b""
        ms = (time.perf_counter() - due) * 1000
        if result.note(item, status, body, ms):
            result.timeline.append((due - started, ms))

    started = time.perf_counter()
    sent: list[asyncio.Task[None]] = []
    for i in range(count):
        due = started + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        result.max_lag_ms = max(result.max_lag_ms, (time.perf_counter() - due) * 1000)
        sent.append(asyncio.create_task(send(items[i], due)))
    await asyncio.gather(*sent)
    result.seconds = time.perf_counter() - started
    for _, writer, _ in idle:
        writer.close()
    return result


def _request_bytes(item: Item, host: str, port: int, api_key: str) -> bytes:
    """One HTTP/1.1 POST of ``item`` (keep-alive)."""
    payload = json.dumps(item.body, separators=(",", ":")).encode()
    head = (
        f"POST {item.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"X-API-Key: {item.api_key or api_key}\r\nIdempotency-Key: {item.key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    return head + payload


def _submission_ids(doc: dict[str, Any]) -> list[str]:
    """The submissions an accepted request made: one, or a batch route's list."""
    if "id" in doc:
        return [str(doc["id"])]
    return [str(d["id"]) for d in doc["data"]]


def _retry_after_s(status: int, body: bytes) -> float:
    """The seconds a 429 or 503 answer asks the client to wait (its ``retry_after_s``,
    which the server also sends as ``Retry-After``); 0 for any other answer."""
    if status not in (429, 503):
        return 0.0
    try:
        doc = json.loads(body)
    except ValueError:
        return 0.0
    told = doc.get("retry_after_s") if isinstance(doc, dict) else None
    return float(told) if isinstance(told, int | float) else 0.0


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


def _loopback_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "http" or not loopback or parts.port is None:
        raise argparse.ArgumentTypeError(
            f"{url!r}: only http://127.0.0.1:PORT (a loopback address and a port) is accepted"
        )
    return url


def _bounded(low: float, high: float, kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text}: must be from {low:g} to {high:g}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m scripts.loadgen",
        description="Post pre-signed writes to an API on loopback; note each one accepted.",
    )
    p.add_argument("--url", type=_loopback_url, required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--key", help="the API key (default: $CREDIT_CHAIN_API_KEY)")
    p.add_argument(
        "--bodies", type=Path, required=True, help="JSON lines of {path, key, body} to post"
    )
    p.add_argument("--out", type=Path, required=True, help="append each accepted id here")
    p.add_argument("--clients", type=_bounded(1, MAX_CLIENTS, int), default=16)
    p.add_argument(
        "--duration", type=_bounded(0.1, MAX_DURATION_S, float), default=20.0, help="seconds"
    )
    p.add_argument(
        "--max-requests", type=_bounded(1, 10**6, int), default=None, help="items posted at most"
    )
    p.add_argument(
        "--retry",
        action="store_true",
        help="send an unanswered (or 429/5xx) request again, with the same Idempotency-Key",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: post the body file's items, append accepted ones to ``--out``."""
    args = _parser().parse_args(argv)
    key = args.key or os.environ.get("CREDIT_CHAIN_API_KEY", "")
    if not key:
        print("no API key: pass --key or set CREDIT_CHAIN_API_KEY", file=sys.stderr)
        return 2
    items = read_items(args.bodies)
    if args.max_requests is not None:
        items = items[: int(args.max_requests)]
    with args.out.open("a") as out:
        result = asyncio.run(_main(args, key, items, out))
    summary = {
        "accepted": len(result.accepted),
        "refused": result.refused,
        "errors": result.errors,
        "seconds": round(result.seconds, 2),
    }
    print(json.dumps(summary), flush=True)
    return 0


async def _main(args: argparse.Namespace, key: str, items: list[Item], out: IO[str]) -> LoadResult:
    halt = threading.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, halt.set)

    def note(item: Item, sub_id: str, status: int) -> None:
        line = {"id": sub_id, "key": item.key, "status": status, "path": item.path}
        out.write(json.dumps(line) + "\n")
        out.flush()  # line by line: the record survives whatever happens next

    return await _load(
        args.url,
        key,
        items,
        clients=int(args.clients),
        duration_s=float(args.duration),
        stop=halt,
        retry=bool(args.retry),
        on_accept=note,
    )


if __name__ == "__main__":
    sys.exit(main())
