"""The committed compiler output: ABIs and bytecode, read without node.js."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from ledger_client.chain.abi import ContractABI
from ledger_client.errors import ArtifactsError

ARTIFACTS_PATH = Path(__file__).resolve().parent.parent / "artifacts" / "contracts.json"


@dataclass(frozen=True)
class ContractArtifact:
    """One deployable contract's compiled form."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes  # creation code
    deployed_bytecode: bytes  # runtime code, with zeros where immutables go
    immutable_references: dict[str, list[dict[str, int]]]
    immutable_names: dict[str, str]  # AST id (the key above) -> "Declarer._variable"

    @property
    def abi_hash(self) -> str:
        """keccak256 of the canonical ABI JSON, as a manifest records it."""
        return "0x" + keccak(json.dumps(self.abi, sort_keys=True).encode()).hex()

    @property
    def code_hash(self) -> str:
        """keccak256 of the runtime code with immutables zeroed."""
        return "0x" + keccak(self.deployed_bytecode).hex()

    def runtime_code_hash(self, code: bytes) -> str:
        """keccak256 of deployed ``code`` with its immutables zeroed, comparable to code_hash."""
        masked = bytearray(code)
        for refs in self.immutable_references.values():
            for ref in refs:
                start, length = ref["start"], ref["length"]
                masked[start : start + length] = bytes(length)
        return "0x" + keccak(bytes(masked)).hex()

    def immutables(self, code: bytes) -> dict[str, list[bytes]]:
        """The 32-byte words ``code`` holds where this build's immutables go, by name.

        A name maps to every place the value is written, as found: code crafted by hand
        (rather than by the constructor) may hold different words in different places.
        """
        words: dict[str, list[bytes]] = {}
        for ast_id, refs in self.immutable_references.items():
            name = self.immutable_names.get(ast_id, ast_id)
            words[name] = [code[r["start"] : r["start"] + r["length"]] for r in refs]
        return words

    @property
    def codec(self) -> ContractABI:
        """The ABI codec of this contract."""
        return _codec(self.name, json.dumps(self.abi))


@cache
def _codec(name: str, abi_json: str) -> ContractABI:
    return ContractABI(name, json.loads(abi_json))


@dataclass(frozen=True)
class Artifacts:
    """Every contract of one compilation."""

    compiler: str
    sources_hash: str
    sources: list[str]
    contracts: dict[str, ContractArtifact]

    def contract(self, name: str) -> ContractArtifact:
        """The artifact of contract ``name``."""
        try:
            return self.contracts[name]
        except KeyError:
            raise ArtifactsError(
                f"no artifact for contract {name!r}; known: {', '.join(sorted(self.contracts))}"
            ) from None


@cache
def load_artifacts(path: Path = ARTIFACTS_PATH) -> Artifacts:
    """Read the artifacts file written by ``credit-chain compile``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactsError(f"{path} is missing: run `make compile`") from None
    except json.JSONDecodeError as exc:
        raise ArtifactsError(f"{path} is not valid JSON: {exc}") from exc
    try:
        contracts = {
            name: ContractArtifact(
                name=name,
                abi=art["abi"],
                bytecode=bytes.fromhex(art["bytecode"][2:]),
                deployed_bytecode=bytes.fromhex(art["deployed_bytecode"][2:]),
                immutable_references=art.get("immutable_references", {}),
                immutable_names=art.get("immutable_names", {}),
            )
            for name, art in doc["contracts"].items()
        }
        return Artifacts(
            compiler=doc["compiler"],
            sources_hash=doc["sources_hash"],
            sources=list(doc["sources"]),
            contracts=contracts,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactsError(f"{path} is malformed: {exc}") from exc
