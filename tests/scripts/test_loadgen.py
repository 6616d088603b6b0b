"""The load generator's command line, against a stub server: bounded, loopback only, and
every acknowledged submission noted in the output file, a retry keeping its key."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts.loadgen import Item, main, read_accepted, read_items, run_items_paced, write_items


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str]]  # (path, Idempotency-Key) of every request
    ids: dict[str, str]
    fail_once: set[str]  # keys answered 503 the first time
    arrived: list[float]  # when each request arrived (monotonic)
    delay_s: float = 0.0  # how long each answer takes
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        json.loads(self.rfile.read(length))
        key = self.headers["Idempotency-Key"]
        assert self.headers["X-API-Key"] == "secret"
        with self.lock:
            self.arrived.append(time.monotonic())
        time.sleep(self.delay_s)
        with self.lock:
            self.seen.append((self.path, key))
            if key in self.fail_once:
                self.fail_once.discard(key)
                status, doc = 503, {"error": "Unavailable"}
            else:
                replay = key in self.ids
                sub_id = self.ids.setdefault(key, f"sub_{len(self.ids)}")
                status, doc = (200 if replay else 202), {"id": sub_id}
        payload = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[tuple[str, type[_Stub]]]:
    handler = type("Handler", (_Stub,), {"seen": [], "ids": {}, "fail_once": set(), "arrived": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _items(n: int) -> list[Item]:
    return [Item("/v1/attestations", f"load-{i}", {"nonce": i}) for i in range(n)]


def test_every_acknowledged_write_is_noted_and_a_retry_keeps_its_key(
    tmp_path: Path, stub: tuple[str, type[_Stub]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, handler = stub
    handler.fail_once.update({"load-3", "load-7"})
    handler.ids["load-0"] = "sub_earlier"  # accepted in an earlier run: a replay
    bodies, out = tmp_path / "bodies.jsonl", tmp_path / "out.jsonl"
    write_items(bodies, [*_items(10), Item("/v1/receivables", "i0", {"nonce": 1})])
    assert read_items(bodies)[-1] == Item("/v1/receivables", "i0", {"nonce": 1})
    monkeypatch.setenv("CREDIT_CHAIN_API_KEY", "secret")
    args = ["--url", url, "--bodies", str(bodies), "--out", str(out), "--clients", "3"]
    assert main([*args, "--duration", "10", "--retry"]) == 0
    lines = read_accepted(out)
    assert sorted(x["key"] for x in lines) == sorted([f"load-{i}" for i in range(10)] + ["i0"])
    by_key = {x["key"]: x for x in lines}
    assert by_key["load-0"] == {
        "id": "sub_earlier",
        "key": "load-0",
        "status": 200,
        "path": "/v1/attestations",
    }
    assert by_key["i0"]["path"] == "/v1/receivables"
    assert by_key["load-3"]["status"] == 202
    assert [k for _, k in handler.seen].count("load-3") == 2  # retried, with the same key

    # Bounded by count; appended, line by line, to the same file.
    assert main([*args, "--max-requests", "2", "--duration", "10"]) == 0
    assert len(read_accepted(out)) == 13
    # A torn last line (a writer killed mid-line) is skipped.
    with out.open("a") as f:
        f.write('{"id": "sub_')
    assert len(read_accepted(out)) == 13


def test_without_retry_a_refused_write_is_dropped(
    tmp_path: Path, stub: tuple[str, type[_Stub]]
) -> None:
    url, handler = stub
    handler.fail_once.add("load-1")
    bodies, out = tmp_path / "bodies.jsonl", tmp_path / "out.jsonl"
    write_items(bodies, _items(3))
    argv = ["--url", url, "--key", "secret", "--bodies", str(bodies), "--out", str(out)]
    assert main([*argv, "--clients", "1"]) == 0
    assert [x["key"] for x in read_accepted(out)] == ["load-0", "load-2"]


def test_loopback_only_bounded_and_a_key_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDIT_CHAIN_API_KEY", raising=False)
    bodies, out = tmp_path / "bodies.jsonl", tmp_path / "out.jsonl"
    write_items(bodies, _items(1))
    common = ["--bodies", str(bodies), "--out", str(out)]
    for url in ("http://10.0.0.1:8000", "http://example.com:80", "https://127.0.0.1:1", "x"):
        with pytest.raises(SystemExit):
            main(["--url", url, "--key", "k", *common])
    for bad in (["--clients", "0"], ["--clients", "1000"], ["--duration", "3600"]):
        with pytest.raises(SystemExit):
            main(["--url", "http://127.0.0.1:9", "--key", "k", *common, *bad])
    assert main(["--url", "http://localhost:9", "--key", "", *common]) == 2
    assert not out.exists()
    for bad_item in (Item("v1/x", "k", {}), Item("/v1/x", "k\r\nX-Evil: 1", {})):
        write_items(bodies, [bad_item])
        with pytest.raises(ValueError, match="not a plain route and key"):
            read_items(bodies)


def test_an_open_loop_sends_each_request_when_due_and_times_it_from_then(
    stub: tuple[str, type[_Stub]],
) -> None:
    url, handler = stub
    handler.delay_s = 0.3  # every answer takes 0.3 s: one client in a closed loop does 3/s
    started = time.monotonic()
    result = run_items_paced(url, _items(40), rate=20, duration_s=1.0, api_key="secret")
    elapsed = time.monotonic() - started
    # Bounded by rate x duration (20 of the 40 items), each sent when due, not when the
    # last was answered: the 20 arrive spread over about 19/20 s, and all are answered
    # well before the 6 s a closed loop of one connection would take.
    assert (result.offered, result.offered_per_s) == (20, 20)
    assert sorted(k for _, k in handler.seen) == sorted(f"load-{i}" for i in range(20))
    assert len(result.accepted) == 20
    assert 0.85 <= max(handler.arrived) - min(handler.arrived) < 2.0
    assert 0.95 + 0.3 <= elapsed < 4.0
    # Timed from when each was due: never less than the server's 0.3 s.
    assert min(result.latencies_ms) >= 300
    assert result.max_lag_ms < 500
    with pytest.raises(ValueError, match="positive"):
        run_items_paced(url, _items(1), rate=0, duration_s=1.0)
