"""The API under what banks and enterprises would send: ``credit-chain bench api --mix``.

``bench api`` measures one bank posting signed attestations with the per-key rate limit
lifted. This one measures a consortium: several banks and enterprises, each with its own
key at the default limits, posting a mix of single and batched attestations,
authorisations, credit queries, disputes and receivables, every write signed up front by
its own party through the SDK (the one place request bodies are built) and posted from
``clients`` concurrent connections, bounded in count and time. The setup the writes stand
on (members, bound enterprises, records to dispute, authorisations to query under) is
made on the chain before the server starts, as a running consortium would have it.

Two ways to load it. A closed loop (the default): ``clients`` connections each send the
next request as soon as the last is answered, which measures saturation: the accepted
rate is the most the server does, and the latency is mostly queueing (with every client
always waiting, mean latency = clients / throughput). An open loop (``rate``): requests
offered at a stated rate, evenly spaced, whether or not earlier ones were answered, each
timed from when it was due (wrk2's way), which measures the latency a client sees at
that load.

Figures: accepted per second over all writes and per operation, p50/p99 accept latency
per operation, p99 accepted → anchored from the server's journal per operation, and what
was refused or rejected by name. The mode, the mix and every size are in the output.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .loadgen import MAX_CLIENTS, Item, run_items, run_items_paced, serve_load_and_drain

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from pipeline.service import Service

#: Relative weights of each operation in the load: what a consortium's day looks like,
#: records first, then consent, queries, receivables and the rare dispute.
DEFAULT_MIX: Mapping[str, int] = {
    "attestations.attest": 40,
    "attestations.batch": 10,  # one request of BATCH_SIZE signed records
    "authorisations.create": 15,
    "queries.log": 15,
    "receivables.issue": 15,
    "disputes.raise": 5,
}
BATCH_SIZE = 20
#: An open loop's figures are also given for what was due after the server's first
#: seconds (its first requests pay for lazy imports and caches filling), beside, never
#: instead of, the figures of the whole run.
WARMUP_S = 2.0
BANKS = ("shanghai", "nanjing", "hangzhou", "hefei", "jiaxing")
ENTERPRISES = 10
SEED = "bench-api-mix"
DAY = 86_400


@dataclass(frozen=True)
class _Cast:
    banks: list[LocalAccount]
    enterprises: list[LocalAccount]
    subjects: Sequence[bytes]
    keys: Mapping[str, str]  # address -> API key
    auths: Sequence[tuple[bytes, LocalAccount]]  # warm-up authorisation id, the bank it names
    disputable: list[tuple[bytes, Any, LocalAccount]]  # uid, its fields, the subject's account


def _cast(service: Service, warm_records: int) -> _Cast:
    """Members, bound enterprises with keys, and the chain state the mix stands on."""
    from ledger_client import Keyring
    from ledger_client.attestations.merkle import keccak256
    from ledger_client.contracts.authorisations import AuthorisationRequest
    from ledger_client.types import AttestationFields, QueryPurpose, Role
    from pipeline.service import development_regulator

    ledger, chain = service.ledger, service.chain
    regulator = development_regulator(service.settings)
    ring = Keyring(SEED)
    banks = []
    for city in BANKS:
        bank = ring.account(f"bank:{city}")
        chain.fund(bank.address)
        ledger.consortium.admit_member(
            regulator,
            bank.address,
            f"Bench bank {city}",
            city.capitalize(),
            Role.ATTESTER | Role.FINANCIER | Role.REGISTRAR,
        )
        banks.append(bank)
    enterprises, subjects = [], []
    for n in range(ENTERPRISES):
        ent = ring.account(f"enterprise:{n}")
        subject = keccak256(f"{SEED} subject {n}".encode())
        ledger.consortium.bind_enterprise(banks[n % len(banks)], ent.address, subject)
        enterprises.append(ent)
        subjects.append(subject)
    keys: dict[str, str] = {
        acct.address: service.keys.issue(acct.address, label="bench-mix", roles_of=service.roles_of)
        for acct in (*banks, *enterprises)
    }
    loan = ledger.schemas["loan-repayment"]
    disputable = []
    for n in range(warm_records):
        subject, ent = subjects[n % ENTERPRISES], enterprises[n % ENTERPRISES]
        data_hash = keccak256(f"{SEED} warm record {n}".encode())
        uid = ledger.attestations.attest(banks[n % len(banks)], loan, subject, data_hash).uid
        disputable.append((uid, AttestationFields(subject, data_hash), ent))
    auths = []
    for n, ent in enumerate(enterprises):
        bank = banks[n % len(banks)]
        request = AuthorisationRequest(
            bank.address, QueryPurpose.LOAN_APPROVAL, chain.now() + DAY * 365
        )
        signed = ledger.authorisations.sign_authorisation(ent, request)
        auths.append((ledger.authorisations.authorise(bank, signed).auth_id, bank))
    return _Cast(banks, enterprises, subjects, keys, auths, disputable)


def _items(service: Service, cast: _Cast, counts: Mapping[str, int]) -> list[Item]:
    """Every write of the load, signed up front by its own party, in a seeded order."""
    import sdk
    from ledger_client.attestations.merkle import keccak256
    from ledger_client.types import QueryPurpose

    rng = random.Random(SEED)
    client = sdk.Client(
        deployment=sdk.Deployment.from_manifest(service.ledger.manifest),
        clock=service.chain.now,
        lifetime_s=DAY,
    )
    loan = service.ledger.schemas["loan-repayment"]
    out: list[Item] = []

    def keep(op: str, party: LocalAccount, writes: list[Any]) -> None:
        for w in writes:
            out.append(Item(w.path, f"mix-{len(out)}", w.body, cast.keys[party.address], op))

    expiry = service.chain.now() + 365 * DAY
    due = service.chain.now() + 90 * DAY
    for n in range(counts.get("attestations.attest", 0)):
        bank = cast.banks[n % len(cast.banks)]
        with client.prepared() as writes:
            client.attest(loan, rng.choice(cast.subjects), rng.randbytes(32), party=bank)
        keep("attestations.attest", bank, writes)
    for n in range(counts.get("attestations.batch", 0)):
        bank = cast.banks[n % len(cast.banks)]
        with client.prepared() as writes:
            client.submit_attestations(
                [
                    client.attestation_body(
                        loan, rng.choice(cast.subjects), rng.randbytes(32), party=bank
                    )
                    for _ in range(BATCH_SIZE)
                ]
            )
        keep("attestations.batch", bank, writes)
    for n in range(counts.get("authorisations.create", 0)):
        ent = cast.enterprises[n % len(cast.enterprises)]
        bank = cast.banks[rng.randrange(len(cast.banks))]
        with client.prepared() as writes:
            client.authorise(bank.address, QueryPurpose.LOAN_APPROVAL, expiry, party=ent)
        keep("authorisations.create", ent, writes)
    for n in range(counts.get("queries.log", 0)):
        auth_id, bank = cast.auths[n % len(cast.auths)]
        with client.prepared() as writes:
            client.log_query(
                auth_id, QueryPurpose.LOAN_APPROVAL, keccak256(f"query {n}".encode()), party=bank
            )
        keep("queries.log", bank, writes)
    for n in range(counts.get("receivables.issue", 0)):
        debtor = cast.enterprises[n % len(cast.enterprises)]
        supplier = cast.enterprises[(n + 1) % len(cast.enterprises)]
        with client.prepared() as writes:
            client.issue_receivable(
                supplier.address,
                10_000 + n,
                due,
                contract_hash=keccak256(b"framework contract"),
                invoice_commitments=[keccak256(f"mix invoice {n}".encode())],
                party=debtor,
            )
        keep("receivables.issue", debtor, writes)
    for n in range(counts.get("disputes.raise", 0)):
        uid, fields, ent = cast.disputable[n]
        with client.prepared() as writes:
            client.raise_dispute(uid, fields, keccak256(f"reason {n}".encode()), party=ent)
        keep("disputes.raise", ent, writes)
    rng.shuffle(out)
    return out


def _counts(writes: int, mix: Mapping[str, int]) -> dict[str, int]:
    total = sum(mix.values())
    return {op: max(1, writes * w // total) for op, w in mix.items()}


def _p(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)


def bench_api_mix(
    seconds: float = 20.0, clients: int = 32, writes: int = 6_000, rate: float | None = None
) -> dict[str, Any]:
    """The API under the mix: ``writes`` signed writes (at most) posted for at most
    ``seconds``, each party's key at the default rate limits: by ``clients`` connections
    in a closed loop, or, given ``rate``, offered at ``rate`` requests per second in an
    open loop (over as many keep-alive connections as it needs, up to the load
    generator's bound, ``clients`` is then unused)."""
    from pipeline.config import Settings
    from pipeline.db import ApiDatabase
    from pipeline.service import Service

    counts = _counts(writes, DEFAULT_MIX)
    data_dir = Path(tempfile.mkdtemp(prefix="credit-chain-bench-api-mix-")) / "api"
    try:
        service = Service.open(Settings(data_dir=data_dir), start_worker=False)
        try:
            cast = _cast(service, warm_records=counts.get("disputes.raise", 0))
            items = _items(service, cast, counts)
        finally:
            service.close()
        if rate is None:
            load = serve_load_and_drain(
                data_dir, lambda url: run_items(url, items, clients=clients, duration_s=seconds)
            )
        else:
            load = serve_load_and_drain(
                data_dir,
                lambda url: run_items_paced(url, items, rate=rate, duration_s=seconds),
            )
        db = ApiDatabase(data_dir / "api.sqlite")
        rows = db.query("SELECT id, status, updated_at - created_at AS s, result FROM submissions")
        db.close()
    finally:
        shutil.rmtree(data_dir.parent, ignore_errors=True)
    anchor_ms: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    # Each submission's label is its request's: a batch's records are journaled as
    # attestations, but their latency is the batch route's.
    label_of_key = {item.key: item.label for item in items}
    for r in rows:
        statuses[r["status"]] += 1
        if r["status"] == "anchored":
            # A write journaled whose answer the load never read has no label of its own.
            key = load.accepted.get(r["id"], "")
            anchor_ms[label_of_key.get(key, "unacknowledged")].append(r["s"] * 1000)
        elif r["status"] == "rejected":
            rejected[_error_name(r["result"])] += 1
    all_anchor = [ms for v in anchor_ms.values() for ms in v]
    by_op: dict[str, Any] = {}
    for op in counts:
        lat = load.latencies_by_label.get(op, [])
        by_op[op] = {
            "signed": counts[op] * (BATCH_SIZE if op == "attestations.batch" else 1),
            "requests": counts[op],
            "accepted_requests": len(lat),
            "p50_accept_ms": _p(lat, 50),
            "p99_accept_ms": _p(lat, 99),
            "refused": dict(load.refused_by_label.get(op, {})),
        }
    for op, values in anchor_ms.items():
        by_op.setdefault(op, {})["p99_anchor_ms"] = _p(values, 99)
        by_op[op]["anchored"] = len(values)
    latencies = [ms for v in load.latencies_by_label.values() for ms in v]
    if rate is None:
        mode: dict[str, Any] = {"mode": "closed loop", "clients": clients}
    else:
        offered = items[: load.offered]
        per_request = sum(_submissions_of(x) for x in offered) / len(offered) if offered else 0
        mode = {
            "mode": "open loop",
            "max_connections": MAX_CLIENTS,
            "offered_requests_per_s": rate,
            "offered_submissions_per_s": round(rate * per_request),
            "offered_requests": load.offered,
            # How late the generator itself sent a request at worst: the offered rate is
            # what the server met only while this stays small.
            "generator_max_lag_ms": round(load.max_lag_ms, 1),
            "warmup_s": WARMUP_S,
            "p50_accept_ms_after_warmup": _p([ms for t, ms in load.timeline if t >= WARMUP_S], 50),
            "p99_accept_ms_after_warmup": _p([ms for t, ms in load.timeline if t >= WARMUP_S], 99),
        }
    return {
        **mode,
        "keys": len(cast.keys),
        "mix": dict(DEFAULT_MIX),
        "batch_size": BATCH_SIZE,
        "seconds": round(load.seconds, 2),
        "requests_accepted": len(latencies),
        "submissions_accepted": len(load.accepted),
        "accepted_per_s": round(load.accepted_per_s),
        "requests_per_s": round(len(latencies) / load.seconds) if load.seconds else 0,
        "p50_accept_ms": _p(latencies, 50),
        "p99_accept_ms": _p(latencies, 99),
        "p99_anchor_ms": _p(all_anchor, 99),
        "anchored": statuses.get("anchored", 0),
        "rejected": dict(rejected),
        "pending_after_drain": statuses.get("pending", 0),
        "refused": load.refused,
        "errors": load.errors,
        "operations": by_op,
    }


def _submissions_of(item: Item) -> int:
    """How many submissions a request makes when accepted: a batch's records, else one."""
    return BATCH_SIZE if item.label == "attestations.batch" else 1


def _error_name(result: str | None) -> str:
    import json

    try:
        return str(json.loads(result or "{}").get("error", "unknown"))
    except ValueError:
        return "unknown"


#: Seconds between the curve's runs: the last run's server is gone, its files deleted and
#: the load average back down before the next one starts.
CURVE_PAUSE_S = 15.0


def bench_api_curve(
    rates: Sequence[float],
    seconds: float = 8.0,
    clients: int = 32,
    writes: int = 6_000,
    pause_s: float = CURVE_PAUSE_S,
) -> dict[str, Any]:
    """The mix's throughput-latency curve, one document: the closed loop's ceiling first,
    then an open loop at each offered rate, lowest first, each on a fresh server and
    ledger, ``pause_s`` apart. Quote a latency with its offered rate, and the closed
    loop's accepted rate as the ceiling."""
    import os
    import time

    from ledger_client.chain.backends import default_engine

    from .machine import machine_info

    if not rates:
        raise ValueError("a curve needs at least one offered rate (--rate)")
    from pipeline.config import Settings

    bound = Settings().admission_bound_s
    doc: dict[str, Any] = {
        # What reproduces this run (the bound set apart, as the environment sets it).
        "command": ("CREDIT_CHAIN_ADMISSION_BOUND_S=0 " if bound == 0 else "")
        + "credit-chain bench api --mix --curve "
        + " ".join(f"--rate {r:g}" for r in sorted(rates))
        + f" --seconds {seconds:g} --clients {clients} --records {writes} --json",
        "machine": machine_info(),
        "engine": default_engine(),
        # The server reads the same environment: CREDIT_CHAIN_ADMISSION_BOUND_S=0 is a run
        # without the bound, the comparison that shows what the bound buys.
        "admission_bound_s": bound,
    }
    doc["closed_loop"] = bench_api_mix(seconds, clients, writes)
    doc["open_loops"] = []
    for rate in sorted(rates):
        time.sleep(pause_s)
        run = bench_api_mix(seconds, clients, writes, rate=rate)
        run["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
        doc["open_loops"].append(run)
    return doc
