"""Compile ``contracts/`` with solc-js and write the committed artifacts.

No native solc can be downloaded on the project's machines, so py-solc-x
drives ``scripts/solc``, a small node program that speaks native solc's
``--version`` / ``--standard-json`` interface over the npm package ``solc``.
Compiling is the only step that needs node.js: everything else reads the
artifacts this module writes (``ledger_client/artifacts/contracts.json``) and the
exception classes it generates (``ledger_client/errors/contract.py``).
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from ledger_client.errors import CompilerError

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
SOLC_WRAPPER = REPO_ROOT / "scripts" / "solc"
ARTIFACTS_PATH = Path(__file__).resolve().parent.parent / "artifacts" / "contracts.json"
ERRORS_MODULE_PATH = Path(__file__).resolve().parent.parent / "errors" / "contract.py"

#: Compiler settings. Paris is the newest EVM every backend runs: py-evm, anvil,
#: Besu, and the five-city geth Clique network (geth v1.13.15 seals Clique only
#: before Shanghai), so one artifact set serves them all. A high optimizer run
#: count favours cheap calls over cheap deployment: the contracts deploy once.
SOLC_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "evmVersion": "paris",
    "viaIR": False,
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
    "metadata": {"bytecodeHash": "none", "appendCBOR": False},
    "outputSelection": {
        "*": {
            "": ["ast"],  # only to name the immutables (immutable_names)
            "*": [
                "abi",
                "devdoc",
                "userdoc",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.deployedBytecode.immutableReferences",
                "evm.methodIdentifiers",
            ],
        }
    },
}
#: OpenZeppelin 5.7's utils/Bytes.sol (imported through Strings) copies memory with
#: Cancun's ``mcopy``, which solc refuses for Paris even in functions no contract
#: calls. For a Paris build those statements are stood in for: none of them reaches
#: a contract's bytecode (tests/scripts/test_network.py compiles with two different stand-ins
#: and finds the bytecode identical), and ``invalid()`` would fail loudly if one did.
MCOPY_SOURCE = "node_modules/@openzeppelin/contracts/utils/Bytes.sol"
MCOPY_STAND_IN = "invalid()"
_MCOPY_LINE = re.compile(r"^(\s*)mcopy\(.*\)$", re.MULTILINE)


def paris_sources(stand_in: str = MCOPY_STAND_IN) -> dict[str, str]:
    """Library sources rewritten for a Paris build: ``mcopy`` statements stood in for."""
    path = REPO_ROOT / MCOPY_SOURCE
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    return {MCOPY_SOURCE: _MCOPY_LINE.sub(lambda m: m.group(1) + stand_in, text)}


GENERATED_BY = (
    "credit-chain compile (ledger_client/chain/compiler.py); do not edit, run `make compile`"
)


@dataclass(frozen=True)
class CompileResult:
    """What one compilation produced."""

    compiler: str  # full solc version string
    sources: list[str]  # every source unit the compiler read, imports included
    sources_hash: str  # 0x keccak256 over those units' paths and contents
    contracts: dict[str, dict[str, Any]]  # contract name -> artifact


def contract_sources(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, str]:
    """The project's Solidity sources, keyed by their path relative to the repository."""
    files = sorted(contracts_dir.glob("*.sol"))
    if not files:
        raise CompilerError(f"no Solidity sources in {contracts_dir}")
    return {f"contracts/{f.name}": f.read_text(encoding="utf-8") for f in files}


def sources_hash(paths: Iterable[str], root: Path = REPO_ROOT) -> str:
    """keccak256 over (path, content) of every listed source, in path order."""
    h = b""
    for rel in sorted(paths):
        content = (root / rel).read_bytes()
        h = keccak(h + keccak(rel.encode()) + keccak(content))
    return "0x" + h.hex()


def compile_contracts(
    contracts_dir: Path = CONTRACTS_DIR,
    solc_binary: Path = SOLC_WRAPPER,
    mcopy_stand_in: str = MCOPY_STAND_IN,
) -> CompileResult:
    """Compile every contract and return artifacts for those that have bytecode."""
    import solcx  # imported here: only compiling needs py-solc-x and node.js

    if not solc_binary.exists():
        raise CompilerError(f"the solc wrapper {solc_binary} is missing")
    if not (REPO_ROOT / "node_modules" / "solc").is_dir():
        raise CompilerError("node_modules/solc is missing: run `npm ci` (or `make setup`) first")
    sources = contract_sources(contracts_dir)
    std_input = {
        "language": "Solidity",
        "sources": {
            path: {"content": text}
            for path, text in {**sources, **paris_sources(mcopy_stand_in)}.items()
        },
        "settings": SOLC_SETTINGS,
    }
    try:
        output = solcx.compile_standard(
            std_input, base_path=str(REPO_ROOT), solc_binary=str(solc_binary)
        )
    except solcx.exceptions.SolcError as exc:
        raise CompilerError(f"solc failed: {exc}") from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilerError("\n".join(e.get("formattedMessage", str(e)) for e in errors))
    compiler = _compiler_version(solc_binary)
    immutables = immutable_names(output.get("sources", {}))
    contracts: dict[str, dict[str, Any]] = {}
    for path, units in sorted(output["contracts"].items()):
        if not path.startswith("contracts/"):
            continue
        for name, unit in sorted(units.items()):
            bytecode = unit["evm"]["bytecode"]["object"]
            if not bytecode:
                continue  # interfaces and abstract contracts
            refs = unit["evm"]["deployedBytecode"].get("immutableReferences", {})
            contracts[name] = {
                "source": path,
                "abi": unit["abi"],
                "bytecode": "0x" + bytecode,
                "deployed_bytecode": "0x" + unit["evm"]["deployedBytecode"]["object"],
                "immutable_references": refs,
                "immutable_names": {ast_id: immutables[ast_id] for ast_id in refs},
                "method_identifiers": unit["evm"].get("methodIdentifiers", {}),
                "devdoc": unit.get("devdoc", {}),
                "userdoc": unit.get("userdoc", {}),
            }
    used = sorted(output.get("sources", {}).keys())
    if not used:
        raise CompilerError("the compiler reported no source units")
    return CompileResult(
        compiler=compiler, sources=used, sources_hash=sources_hash(used), contracts=contracts
    )


def immutable_names(sources: Mapping[str, Any]) -> dict[str, str]:
    """``"Declarer._variable"`` of every immutable, by the AST id immutableReferences use."""
    names: dict[str, str] = {}
    for unit in sources.values():
        for node in unit.get("ast", {}).get("nodes", []):
            if node.get("nodeType") != "ContractDefinition":
                continue
            for member in node.get("nodes", []):
                if (
                    member.get("nodeType") == "VariableDeclaration"
                    and member.get("mutability") == "immutable"
                ):
                    names[str(member["id"])] = f"{node['name']}.{member['name']}"
    return names


def _compiler_version(solc_binary: Path) -> str:
    import subprocess

    out = subprocess.run(
        [str(solc_binary), "--version"], capture_output=True, text=True, check=False
    ).stdout
    m = re.search(r"Version:\s*(\S+)", out)
    return m.group(1) if m else ""


def artifacts_document(result: CompileResult) -> dict[str, Any]:
    """The JSON document written to the artifacts file."""
    return {
        "generated_by": GENERATED_BY,
        "compiler": result.compiler,
        "settings": SOLC_SETTINGS,
        "sources": result.sources,
        "sources_hash": result.sources_hash,
        "contracts": result.contracts,
    }


def write_artifacts(result: CompileResult) -> list[Path]:
    """Write the artifacts JSON and the generated error classes; return the paths written."""
    ARTIFACTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    doc = artifacts_document(result)
    ARTIFACTS_PATH.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    ERRORS_MODULE_PATH.write_text(render_errors_module(result), encoding="utf-8")
    return [ARTIFACTS_PATH, ERRORS_MODULE_PATH]


def compile_and_write() -> tuple[CompileResult, list[Path]]:
    """Compile ``contracts/`` and write the artifacts: what ``credit-chain compile`` does."""
    result = compile_contracts()
    return result, write_artifacts(result)


# --- generated exception classes -------------------------------------------------


def _py_type(abi_type: str) -> str:
    if abi_type.endswith("]"):
        return "tuple[Any, ...]"
    if abi_type in ("address", "string"):
        return "str"
    if abi_type == "bool":
        return "bool"
    if abi_type.startswith(("uint", "int")):
        return "int"
    if abi_type.startswith("bytes"):
        return "bytes"
    return "Any"


def _abi_type(param: Mapping[str, Any]) -> str:
    t = str(param["type"])
    if t.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){t[5:]}"
    return t


def collect_errors(contracts: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every custom error in the ABIs, once each, with its NatSpec notice and kind."""
    seen: dict[str, dict[str, Any]] = {}
    for cname, art in contracts.items():
        userdoc = art.get("userdoc", {}).get("errors", {})
        devdoc = art.get("devdoc", {}).get("errors", {})
        for item in art["abi"]:
            if item.get("type") != "error":
                continue
            types = [_abi_type(i) for i in item["inputs"]]
            sig = f"{item['name']}({','.join(types)})"
            if sig in seen:
                continue
            notice = (userdoc.get(sig) or [{}])[0].get("notice", "")
            kind = (devdoc.get(sig) or [{}])[0].get("custom:kind", "invalid")
            names = [i["name"] or f"arg{n}" for n, i in enumerate(item["inputs"])]
            seen[sig] = {
                "name": item["name"],
                "signature": sig,
                "selector": keccak(sig.encode())[:4].hex(),
                "contract": _owner(item["name"], cname),
                "notice": notice.strip(),
                "kind": kind.strip(),
                "names": [n + "_" if keyword.iskeyword(n) else n for n in names],
                "types": types,
            }
    return sorted(seen.values(), key=lambda e: e["name"])


def _owner(error_name: str, fallback: str) -> str:
    # Errors are prefixed with the contract that declares them (ConsortiumNotMember);
    # library errors (OpenZeppelin's ECDSAInvalidSignature) keep their own prefix. A contract
    # named in more than one word (BatchReader) is the whole prefix when it declares the error.
    if error_name.startswith(fallback) and error_name != fallback:
        return fallback
    m = re.match(r"[A-Z][a-z0-9]+", error_name)
    return m.group(0) if m else fallback


def render_errors_module(result: CompileResult) -> str:
    """Python source of ``errors/contract.py``: one exception class per custom error."""
    errors = collect_errors(result.contracts)
    lines = [
        '"""Exception classes for the contracts\' custom errors.',
        "",
        f"Generated by {GENERATED_BY}.",
        f"Compiler: solc {result.compiler}; sources hash {result.sources_hash}.",
        '"""',
        "",
        "# ruff: noqa: E501",
        "from __future__ import annotations",
        "",
        "from typing import Any, ClassVar" if _needs_any(errors) else "from typing import ClassVar",
        "",
        "from .base import ContractRevert",
        "",
        "__all__ = [",
        *[f'    "{e["name"]}",' for e in errors],
        '    "ERRORS",',
        "]",
        "",
    ]
    for e in errors:
        doc = e["notice"] or f"Solidity error {e['signature']}."
        lines += [
            "",
            f"class {e['name']}(ContractRevert):",
            f'    """{doc}"""',
            "",
            f'    signature: ClassVar[str] = "{e["signature"]}"',
            f'    selector: ClassVar[bytes] = bytes.fromhex("{e["selector"]}")',
            f'    contract: ClassVar[str] = "{e["contract"]}"',
            f'    kind: ClassVar[str] = "{e["kind"]}"',
            f"    param_names: ClassVar[tuple[str, ...]] = {_tuple_literal(e['names'])}",
            f"    param_types: ClassVar[tuple[str, ...]] = {_tuple_literal(e['types'])}",
        ]
        for n, t in zip(e["names"], e["types"], strict=True):
            lines.append(f"    {n}: {_py_type(t)}")
        lines.append("")
    lines += [
        "",
        "ERRORS: tuple[type[ContractRevert], ...] = (",
        *[f"    {e['name']}," for e in errors],
        ")",
        "",
    ]
    return "\n".join(lines)


def _needs_any(errors: list[dict[str, Any]]) -> bool:
    return any("Any" in _py_type(t) for e in errors for t in e["types"])


def _tuple_literal(items: list[str]) -> str:
    if not items:
        return "()"
    inner = ", ".join(f'"{i}"' for i in items)
    # The form ruff format leaves alone, so the generated file stays byte-stable.
    return f"({inner},)" if len(items) == 1 else f"({inner})"
