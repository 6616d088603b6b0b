"""Reference figures for ``credit-chain bench all``, measured, never quoted.

* EAS: the Ethereum Attestation Service's own ``EAS.sol`` and ``SchemaRegistry.sol``
  (npm ``@ethereum-attestation-service/eas-contracts``, a pinned devDependency),
  compiled with the project's solc wrapper and deployed on a fresh embedded chain:
  the gas of ``attest`` and of ``multiTimestamp`` per item. The bytecode EAS
  publishes in the same package (its own compiler and settings) is measured too.
* A minimal contract (a counter's ``increment()``): signed transactions per second
  through plain web3.py on ``EthereumTesterProvider`` (the naive path), and through
  this project's client on the embedded chain and on anvil.
* anvil: the minimal contract and our ``attest`` on a real node, and the gas of both
  ``attest`` functions there (equal to eth-tester's: the same EVM rules).

Nothing here is committed as an artifact: the EAS compile is cached under the
git-ignored ``.bench-cache/`` directory, keyed by its sources, settings and compiler.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_hash.auto import keccak

REPO_ROOT = Path(__file__).resolve().parent.parent
EAS_PACKAGE = REPO_ROOT / "node_modules" / "@ethereum-attestation-service" / "eas-contracts"
CACHE_DIR = REPO_ROOT / ".bench-cache"

#: The figures the hardening issue quotes for EAS, shown beside what is measured here.
QUOTED_EAS_ATTEST_GAS = 201_043
QUOTED_EAS_MULTI_TIMESTAMP_GAS_PER_ITEM = 24_775
QUOTED_ETH_TESTER_TX_PER_S = 36

#: EAS's own build settings (its hardhat.config.ts: optimizer on, 1,000,000 runs, no
#: metadata hash), on the fork the project's chains run (Cancun, also solc 0.8.29's
#: default). EAS pins ``pragma solidity 0.8.29``; the pragma is relaxed to ``^0.8.29``
#: in memory so the project's solc 0.8.37 compiles the unmodified code. OpenZeppelin
#: is the project's 5.7.0 (EAS builds with 5.3.0): EAS uses its ECDSA, EIP712 and Address.
EAS_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 1_000_000},
    "evmVersion": "cancun",
    "viaIR": False,
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
    "metadata": {"bytecodeHash": "none"},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
}
EAS_PRAGMA = "pragma solidity 0.8.29;"

#: The minimal contract of the eth-tester throughput reference.
COUNTER_SOURCE = """// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The minimal contract of the throughput reference: one storage write per call.
contract Counter {
    uint256 public count;

    function increment() external {
        count += 1;
    }
}
"""

#: The EAS schema measured: our record's two words, a subject and a record hash.
EAS_SCHEMA = "bytes32 subject,bytes32 dataHash"
#: A schema of one word (32 bytes of data), to show what the payload's size costs.
EAS_SCHEMA_ONE_WORD = "bytes32 dataHash"
ZERO_ADDRESS = "0x" + "00" * 20
BENCH_SEED = "credit-chain-bench"


def selector(signature: str) -> bytes:
    """The 4-byte function selector of ``signature``."""
    return keccak(signature.encode())[:4]


# -- compiling ------------------------------------------------------------------------


def _eas_sources() -> dict[str, str]:
    """EAS, SchemaRegistry and what they import, under ``eas/``, with the pragma relaxed."""
    base = EAS_PACKAGE / "contracts"
    if not (base / "EAS.sol").exists():
        from ledger_client.errors import CompilerError

        raise CompilerError(f"{base / 'EAS.sol'} is missing: run `make setup` (npm ci)")
    sources = {}
    for path in sorted(base.rglob("*.sol")):
        rel = path.relative_to(base).as_posix()
        if rel.startswith(("resolver/examples/", "eip712/proxy/")) or rel == "Indexer.sol":
            continue  # not imported by EAS or SchemaRegistry
        text = path.read_text(encoding="utf-8")
        sources[f"eas/{rel}"] = text.replace(EAS_PRAGMA, "pragma solidity ^0.8.29;")
    sources["bench/Counter.sol"] = COUNTER_SOURCE
    return sources


def compile_reference() -> dict[str, Any]:
    """ABI and bytecode of EAS, SchemaRegistry and Counter, compiled (or from the cache)."""
    import solcx

    from ledger_client.chain.compiler import SOLC_WRAPPER, _compiler_version

    sources = _eas_sources()
    compiler = _compiler_version(SOLC_WRAPPER)
    oz = json.loads(
        (REPO_ROOT / "node_modules" / "@openzeppelin" / "contracts" / "package.json").read_text()
    )["version"]
    key = keccak(json.dumps([sources, EAS_SETTINGS, compiler, oz], sort_keys=True).encode()).hex()[
        :16
    ]
    cached = CACHE_DIR / f"reference-{key}.json"
    if cached.exists():
        doc: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
        doc["cached"] = True
        return doc
    t0 = time.perf_counter()
    output = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {p: {"content": s} for p, s in sources.items()},
            "settings": EAS_SETTINGS,
        },
        base_path=str(REPO_ROOT),
        solc_binary=str(SOLC_WRAPPER),
    )
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        from ledger_client.errors import CompilerError

        raise CompilerError("\n".join(e.get("formattedMessage", str(e)) for e in errors))
    units = {
        "EAS": output["contracts"]["eas/EAS.sol"]["EAS"],
        "SchemaRegistry": output["contracts"]["eas/SchemaRegistry.sol"]["SchemaRegistry"],
        "Counter": output["contracts"]["bench/Counter.sol"]["Counter"],
    }
    doc = {
        "compiler": compiler,
        "openzeppelin": oz,
        "settings": {k: v for k, v in EAS_SETTINGS.items() if k != "outputSelection"},
        "compile_seconds": round(time.perf_counter() - t0, 1),
        "contracts": {
            name: {"abi": u["abi"], "bytecode": "0x" + u["evm"]["bytecode"]["object"]}
            for name, u in units.items()
        },
    }
    CACHE_DIR.mkdir(exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")  # renamed whole: runs may race
    partial.write_text(json.dumps(doc), encoding="utf-8")
    partial.replace(cached)
    doc["cached"] = False
    return doc


def published_eas() -> dict[str, str]:
    """The creation bytecode EAS publishes in its npm package (built with its own solc)."""
    out = {}
    for name in ("EAS", "SchemaRegistry"):
        path = EAS_PACKAGE / "artifacts" / "contracts" / f"{name}.sol" / f"{name}.json"
        out[name] = json.loads(path.read_text(encoding="utf-8"))["bytecode"]
    return out


def eas_version() -> str:
    """The EAS package's version."""
    doc = json.loads((EAS_PACKAGE / "package.json").read_text(encoding="utf-8"))
    return str(doc["version"])


# -- EAS gas --------------------------------------------------------------------------


def _deploy(chain: Any, signer: Any, bytecode: str, args: bytes = b"") -> str:
    receipt = chain.transact(signer, None, bytes.fromhex(bytecode[2:]) + args, gas=15_000_000)
    assert receipt.contract_address is not None
    return str(receipt.contract_address)


def eas_gas(
    chain: Any, signer: Any, registry_code: str, eas_code: str, items: int
) -> dict[str, Any]:
    """Gas of EAS's ``attest`` and ``multiTimestamp`` on ``chain``.

    ``attest`` is one attestation of our record's two words (subject and record hash,
    64 bytes of data) to a nonzero recipient, with no resolver, no expiry, no value:
    revocable, as our attestations are, and also irrevocable. The first attestation
    of a schema and the second (the steady state, as ``bench gas``'s ``attest_gas``)
    are both reported, and an attestation of one word (32 bytes of data) to show what
    each stored word costs. ``multiTimestamp`` stamps ``items`` fresh words in one call;
    its gas is divided by ``items`` (the 21,000 base and calldata included).
    """
    registry = _deploy(chain, signer, registry_code)
    eas = _deploy(chain, signer, eas_code, encode(["address"], [registry]))
    schemas = {}
    for name, schema, revocable in (
        ("revocable", EAS_SCHEMA, True),
        ("irrevocable", EAS_SCHEMA, False),
        ("one_word", EAS_SCHEMA_ONE_WORD, True),
    ):
        data = selector("register(string,address,bool)") + encode(
            ["string", "address", "bool"], [schema, ZERO_ADDRESS, revocable]
        )
        receipt = chain.transact(signer, registry, data, gas=1_000_000)
        schemas[name] = receipt.logs[0].topics[1]  # Registered(bytes32 indexed uid, ...)
    recipient = "0x" + keccak(b"credit-chain-bench-recipient")[:20].hex()
    attest_sig = selector("attest((bytes32,(address,uint64,bool,bytes32,bytes,uint256)))")

    def attest(schema: str, n: int) -> int:
        words = (
            [keccak(bytes([n]))]
            if schema == "one_word"
            else [keccak(b"subject"), keccak(bytes([n]))]
        )
        payload = encode(["bytes32"] * len(words), words)
        fields = (recipient, 0, schema != "irrevocable", bytes(32), payload, 0)
        call = attest_sig + encode(
            ["(bytes32,(address,uint64,bool,bytes32,bytes,uint256))"], [(schemas[schema], fields)]
        )
        return int(chain.transact(signer, eas, call, gas=1_000_000).gas_used)

    first, second = attest("revocable", 1), attest("revocable", 2)
    irrevocable = (attest("irrevocable", 3), attest("irrevocable", 4))[1]
    one_word = (attest("one_word", 5), attest("one_word", 6))[1]
    words = [keccak(f"bench-timestamp-{n}".encode()) for n in range(items)]
    multi = chain.transact(
        signer,
        eas,
        selector("multiTimestamp(bytes32[])") + encode(["bytes32[]"], [words]),
        gas=15_000_000,
    ).gas_used
    single = chain.transact(
        signer, eas, selector("timestamp(bytes32)") + keccak(b"bench-one"), gas=200_000
    ).gas_used
    return {
        "attest_gas": second,
        "attest_first_gas": first,
        "attest_irrevocable_gas": irrevocable,
        "attest_one_word_gas": one_word,
        "multi_timestamp_items": items,
        "multi_timestamp_gas": multi,
        "multi_timestamp_gas_per_item": round(multi / items, 1),
        "timestamp_one_gas": single,
    }


# -- transactions per second ------------------------------------------------------------


def counter_tx_per_s(chain: Any, signer: Any, counter_code: str, count: int) -> dict[str, Any]:
    """``increment()`` sent ``count`` times through this project's client: signed here,
    sent raw, one block each, receipt awaited."""
    counter = _deploy(chain, signer, counter_code)
    call = selector("increment()")
    chain.transact(signer, counter, call, gas=100_000)  # warm: the slot is written once
    t0 = time.perf_counter()
    for _ in range(count):
        chain.transact(signer, counter, call, gas=100_000)
    seconds = time.perf_counter() - t0
    got = int.from_bytes(chain.call(counter, selector("count()")), "big")
    if got != count + 1:
        raise AssertionError(f"the counter reads {got}, expected {count + 1}")
    return {"tx": count, "seconds": round(seconds, 3), "tx_per_s": round(count / seconds, 1)}


def naive_tx_per_s(abi: list[Any], bytecode: str, count: int) -> dict[str, Any]:
    """The naive path: plain web3.py on ``EthereumTesterProvider``, as a tutorial writes it.

    Each ``increment()`` is built by web3 (nonce from the node, gas estimated, fees looked
    up), signed locally, sent raw, and its receipt awaited. Run in a fresh interpreter
    (``python -m scripts.bench_reference naive``), so the environment picks the
    secp256k1 and keccak backends.
    """
    from eth_account import Account
    from web3 import EthereumTesterProvider, Web3
    from web3.types import Wei

    w3 = Web3(EthereumTesterProvider())
    acct = Account.from_key(keccak(BENCH_SEED.encode()))
    faucet = w3.eth.accounts[0]
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": faucet, "to": acct.address, "value": Wei(10**20)})
    )

    def send(tx: Any) -> Any:
        signed = acct.sign_transaction(tx)
        return w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction)
        )

    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    nonce = w3.eth.get_transaction_count(acct.address)
    created = send(factory.constructor().build_transaction({"from": acct.address, "nonce": nonce}))
    counter = w3.eth.contract(address=created["contractAddress"], abi=abi)
    t0 = time.perf_counter()
    for _ in range(count):
        nonce = w3.eth.get_transaction_count(acct.address)
        send(
            counter.functions.increment().build_transaction({"from": acct.address, "nonce": nonce})
        )
    seconds = time.perf_counter() - t0
    if counter.functions.count().call() != count:
        raise AssertionError("the counter did not reach the count sent")
    from eth_hash.utils import auto_choose_backend
    from eth_keys.backends import get_backend_class

    return {
        "tx": count,
        "seconds": round(seconds, 3),
        "tx_per_s": round(count / seconds, 1),
        "secp256k1": get_backend_class().__name__,
        "keccak": auto_choose_backend().__module__.rsplit(".", 1)[-1],
    }


def _naive_in_subprocess(compiled: dict[str, Any], count: int, env: dict[str, str]) -> Any:
    counter = compiled["contracts"]["Counter"]
    spec = json.dumps({"abi": counter["abi"], "bytecode": counter["bytecode"], "count": count})
    out = subprocess.run(
        [sys.executable, "-m", "scripts.bench_reference", "naive"],
        input=spec,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=False,
        timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the naive web3 benchmark failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


# -- anvil --------------------------------------------------------------------------------


def bench_ledger(chain: Any) -> tuple[Any, Any]:
    """A fresh deployment on ``chain`` and its one bank (an attester), both funded."""
    from ledger_client import Keyring, Role, deploy

    ring = Keyring(BENCH_SEED)
    regulator, bank = ring.account("regulator"), ring.account("bank")
    chain.fund(regulator.address)
    chain.fund(bank.address)
    ledger = deploy(chain, regulator)
    ledger.consortium.admit_member(regulator, bank.address, "Bench Bank", "Shanghai", Role.ATTESTER)
    return ledger, bank


def attest_tx_per_s(chain: Any, count: int) -> dict[str, Any]:
    """Our ``attest`` sent ``count`` times by one bank on a fresh deployment on ``chain``."""
    ledger, bank = bench_ledger(chain)
    loan = ledger.schemas["loan-repayment"]
    subject = b"\x5a" * 32
    a = ledger.attestations
    a.attest(bank, loan, subject, b"\x01" * 32)
    steady = a.attest(bank, loan, subject, b"\x02" * 32).gas_used
    t0 = time.perf_counter()
    for n in range(count):
        a.attest(bank, loan, subject, keccak(n.to_bytes(8, "big")))
    seconds = time.perf_counter() - t0
    return {
        "tx": count,
        "seconds": round(seconds, 3),
        "tx_per_s": round(count / seconds, 1),
        "attest_gas": steady,
    }


def anvil_version() -> str:
    """The anvil binary's version line."""
    from ledger_client.chain.local_node import ANVIL

    if not ANVIL.exists():
        return "not installed"
    out = subprocess.run([str(ANVIL), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else "unknown"


def bench_reference(
    tx_count: int = 200, items: int = 100, naive_count: int | None = None
) -> dict[str, Any]:
    """Every reference figure: EAS gas, tx/s of a minimal contract, and anvil."""
    from ledger_client import Keyring, connect

    compiled = compile_reference()
    contracts = compiled["contracts"]
    signer = Keyring(BENCH_SEED).account("reference")

    def on(chain: Any) -> dict[str, Any]:
        chain.fund(signer.address)
        ours = eas_gas(
            chain,
            signer,
            contracts["SchemaRegistry"]["bytecode"],
            contracts["EAS"]["bytecode"],
            items,
        )
        pub = published_eas()
        published = eas_gas(chain, signer, pub["SchemaRegistry"], pub["EAS"], items)
        return {"compiled_here": ours, "published_bytecode": published}

    embedded = connect("embedded")
    eas_embedded = on(embedded)
    ours_counter = counter_tx_per_s(embedded, signer, contracts["Counter"]["bytecode"], tx_count)
    embedded.close()
    embedded = connect("embedded")
    ours_attest = attest_tx_per_s(embedded, tx_count)
    embedded.close()

    naive_n = naive_count if naive_count is not None else tx_count
    env = {
        k: v for k, v in os.environ.items() if k not in ("ETH_HASH_BACKEND", "ECC_BACKEND_CLASS")
    }
    naive_installed = _naive_in_subprocess(compiled, naive_n, env)
    naive_stock = _naive_in_subprocess(
        compiled,
        naive_n,
        {
            **env,
            "ECC_BACKEND_CLASS": "eth_keys.backends.NativeECCBackend",
            "ETH_HASH_BACKEND": "pycryptodome",
        },
    )

    from ledger_client.chain.local_node import running_anvil

    with running_anvil() as url:
        node = connect(url)
        eas_anvil = on(node)
        anvil_counter = counter_tx_per_s(node, signer, contracts["Counter"]["bytecode"], tx_count)
        anvil_attest = attest_tx_per_s(node, tx_count)
        node.close()
    return {
        "eas": {
            "package": f"@ethereum-attestation-service/eas-contracts@{eas_version()}",
            "schema": EAS_SCHEMA,
            "compiled_here": {
                "compiler": compiled["compiler"],
                "openzeppelin": compiled["openzeppelin"],
                "settings": compiled["settings"],
                "pragma": "0.8.29 relaxed to ^0.8.29 in memory; sources otherwise unmodified",
                "cached": compiled["cached"],
            },
            "published_bytecode": "artifacts/contracts/{EAS,SchemaRegistry}.sol in the package",
            "eth_tester": eas_embedded,
            "anvil": eas_anvil,
            "quoted_in_issue": {
                "attest_gas": QUOTED_EAS_ATTEST_GAS,
                "multi_timestamp_gas_per_item": QUOTED_EAS_MULTI_TIMESTAMP_GAS_PER_ITEM,
            },
        },
        "minimal_contract_tx_per_s": {
            "contract": "Counter.increment() (one storage write)",
            "eth_tester_naive_web3": naive_installed,
            "eth_tester_naive_web3_pure_python": naive_stock,
            "eth_tester_ours": ours_counter,
            "anvil_ours": anvil_counter,
            "quoted_in_issue_eth_tester": QUOTED_ETH_TESTER_TX_PER_S,
        },
        "attest_tx_per_s": {"eth_tester_ours": ours_attest, "anvil_ours": anvil_attest},
        "versions": {"anvil": anvil_version(), "eas-contracts": eas_version()},
    }


def _main(argv: list[str]) -> None:
    if argv[:1] == ["naive"]:
        spec = json.loads(sys.stdin.read())
        result = naive_tx_per_s(spec["abi"], spec["bytecode"], int(spec["count"]))
        sys.stdout.write(json.dumps(result) + "\n")
        return
    raise SystemExit("usage: python -m scripts.bench_reference naive < spec.json")


if __name__ == "__main__":
    _main(sys.argv[1:])
