"""Nothing personally identifying goes on chain: a whole demo run, scanned byte by byte.

Every transaction's input and every log of a demo run on the embedded chain
is searched for USCC-shaped strings and for the simulated enterprises' names
and codes, in UTF-8, UTF-16 (both byte orders, both alignments) and as ASCII
hex. Member institutions' public names are on chain by design; enterprises
appear only as subject ids (keyed hashes), and records, queries and reports
only as hashes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from demos.consortium import DEMO_SEED, run_demo
from demos.report import DemoReport
from ledger_client import Chain, Keyring, Manifest, Role, attach, connect

#: 18 characters of GB 32100's alphabet, the division code six digits (as the issue states it).
USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")


@dataclass(frozen=True)
class Blob:
    """One piece of on-chain data and where it came from."""

    where: str  # e.g. "tx 0x… input" or "tx 0x… log 2"
    data: bytes


def _renderings(data: bytes) -> Iterator[str]:
    """The texts a reader could see in ``data``: byte-wise, UTF-8, UTF-16 either way round."""
    yield data.decode("latin-1")
    yield data.decode("utf-8", errors="replace")
    for offset in (0, 1):
        for codec in ("utf-16-le", "utf-16-be"):
            chunk = data[offset:]
            yield chunk[: len(chunk) // 2 * 2].decode(codec, errors="replace")


def find_pii(blob: Blob, words: list[str]) -> list[str]:
    """What in ``blob`` looks like a USCC or contains one of ``words`` (names, codes)."""
    found = []
    for text in _renderings(blob.data):
        found += [f"{blob.where}: USCC-shaped {m!r}" for m in USCC_SHAPE.findall(text)]
        found += [f"{blob.where}: {w!r}" for w in words if w in text]
    hexed = blob.data.decode("latin-1").lower()
    found += [f"{blob.where}: {w!r} as hex" for w in words if w.encode().hex() in hexed]
    return sorted(set(found))


def chain_blobs(chain: Chain) -> list[Blob]:
    """Every transaction input and every log (topics and data) on the embedded chain."""
    backend = chain.backend
    assert backend.in_process
    blobs = []
    for number in range(backend.block_number() + 1):
        for receipt in backend.receipts_in_block(number):
            data = backend.transaction_input(receipt.tx_hash)
            blobs.append(Blob(f"tx {receipt.tx_hash} input", data))
            for i, log in enumerate(receipt.logs):
                blobs.append(Blob(f"tx {receipt.tx_hash} log {i}", b"".join(log.topics) + log.data))
    return blobs


@pytest.fixture(scope="module")
def demo_run() -> Iterator[tuple[Chain, DemoReport]]:
    chain = connect("embedded")
    report = run_demo(chain)
    yield chain, report
    chain.close()


def _sensitive_words(report: DemoReport) -> list[str]:
    words = []
    for e in report.enterprises:
        words += [e["name"], e["uscc"]]
    # The off-chain record the demo shares, and a part of each name on its own.
    words += ["国家税务总局杭州市西湖区税务局", "PDSTB-2025-HZ-0042"]
    words += [e["name"].split()[1] + " " + e["name"].split()[2] for e in report.enterprises]
    return sorted(set(words))


def test_the_demo_ran_the_consent_flow(demo_run: tuple[Chain, DemoReport]) -> None:
    _chain, report = demo_run
    consent = report.consent
    assert consent["report_verified"] is True
    assert [q["city"] for q in consent["queries_of_enterprise"]] == ["Shanghai", "Hangzhou"]
    errors = {r["error"] for r in consent["refusals"]}
    assert {
        "AuthorisationsNotGrantee",
        "AuthorisationsWrongPurpose",
        "AuthorisationsNonceUsed",
        "AuthorisationsWithdrawn",
        "ReportNotRecorded",
    } <= errors
    assert consent["dispute"]["outcome"] == "upheld"


def test_no_uscc_and_no_enterprise_name_on_chain(demo_run: tuple[Chain, DemoReport]) -> None:
    chain, report = demo_run
    words = _sensitive_words(report)
    blobs = chain_blobs(chain)
    assert len(blobs) > 100  # every transaction and log of the run
    leaks = [leak for blob in blobs for leak in find_pii(blob, words)]
    assert leaks == []


def test_the_scan_would_see_a_leak() -> None:
    # The scanner itself: a USCC in each encoding, and a name, are all found.
    code, name = "91330106MA2B0AX81L", "Hangzhou Xinyuan Biotech Co., Ltd."
    for data in (
        b"\x00" * 7 + code.encode(),
        code.encode("utf-16-le"),
        b"\x01" + code.encode("utf-16-be"),
        b"junk" + code.encode().hex().encode(),
    ):
        assert find_pii(Blob("probe", data), [code]), data
    assert find_pii(Blob("probe", b"\x00" + name.encode("utf-16-be")), [name])
    assert not find_pii(Blob("probe", bytes(range(256)) * 4), [code, name])


def test_a_real_leak_on_chain_is_caught() -> None:
    # A member named after an enterprise's code would put it on chain; the scan sees it.
    chain = connect("embedded")
    try:
        report = run_demo(chain)
        code = report.enterprises[0]["uscc"]
        ring = Keyring(DEMO_SEED)
        regulator = ring.account("regulator")
        ledger = attach(chain, Manifest.from_dict(report.manifest))
        ledger.consortium.admit_member(
            regulator, ring.account("leaky").address, code, "Hefei", Role.AUDITOR
        )
        leaks = [leak for blob in chain_blobs(chain) for leak in find_pii(blob, [code])]
        assert leaks
    finally:
        chain.close()
