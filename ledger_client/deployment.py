"""Deploying the contracts, the deployment manifest, and attaching to a deployment.

A manifest names a deployment so that the API, the simulator and an auditor
can attach to the same one: chain id, contract addresses, the hashes of the
ABIs and runtime code they were built from, and the block it was deployed at.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from .artifacts import Artifacts, ContractArtifact, load_artifacts
from .chain import Chain
from .contracts import (
    AttestationsContract,
    AuthorisationsContract,
    ConsortiumContract,
    DisputesContract,
    ForwarderContract,
    ReceivablesContract,
)
from .contracts.attestations import schema_id
from .contracts.receivables import DEFAULT_GRACE_PERIOD
from .exceptions import ManifestError, TransactionError
from .merkle import keccak256
from .records import Schema, load_schemas
from .types import City, Role

MANIFEST_FORMAT = 1
#: Contracts in deployment order; each later one takes the consortium's address, and those
#: after the Forwarder trust it to relay their callers' signed requests (ERC-2771).
CONTRACTS = ("Consortium", "Forwarder", "Attestations", "Disputes", "Authorisations", "Receivables")


@dataclass(frozen=True)
class DeployedContract:
    """One contract of a deployment."""

    address: str  # checksum address
    abi_hash: str  # keccak256 of the canonical ABI JSON
    code_hash: str  # keccak256 of the runtime code, immutables zeroed
    deploy_tx: str  # the creating transaction


@dataclass(frozen=True)
class Manifest:
    """Everything needed to attach to a deployment."""

    chain_id: int
    network: str  # "embedded" or the node URL used at deployment
    deploy_block: int  # first block an event index needs to read
    deployed_at: int  # UNIX seconds
    deployer: str  # the first regulator's account
    compiler: str  # solc version the code was built with
    sources_hash: str  # hash of the Solidity sources
    contracts: dict[str, DeployedContract] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT

    def to_json(self) -> str:
        """The manifest as pretty JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def save(self, path: Path | str) -> Path:
        """Write the manifest to ``path``."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.to_json() + "\n", encoding="utf-8")
        return p

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Manifest:
        """A manifest from its JSON object; malformed input raises ManifestError."""
        try:
            if doc.get("format") != MANIFEST_FORMAT:
                raise ManifestError(
                    f"manifest format {doc.get('format')!r} is not {MANIFEST_FORMAT}"
                )
            contracts = {k: DeployedContract(**v) for k, v in doc["contracts"].items()}
            return cls(
                chain_id=int(doc["chain_id"]),
                network=str(doc["network"]),
                deploy_block=int(doc["deploy_block"]),
                deployed_at=int(doc["deployed_at"]),
                deployer=str(doc["deployer"]),
                compiler=str(doc["compiler"]),
                sources_hash=str(doc["sources_hash"]),
                contracts=contracts,
            )
        except ManifestError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"malformed manifest: {exc!r}") from exc

    @classmethod
    def load(cls, path: Path | str) -> Manifest:
        """Read a manifest file."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ManifestError(f"no manifest at {path}") from None
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{path} is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise ManifestError(f"{path} does not hold a JSON object")
        return cls.from_dict(doc)


class Ledger:
    """A deployment on a chain, with a typed facade per contract."""

    def __init__(self, chain: Chain, manifest: Manifest, artifacts: Artifacts) -> None:
        self.chain = chain
        self.manifest = manifest
        self.artifacts = artifacts
        c = manifest.contracts
        self.consortium = ConsortiumContract(
            chain, c["Consortium"].address, artifacts.contract("Consortium")
        )
        self.attestations = AttestationsContract(
            chain, c["Attestations"].address, artifacts.contract("Attestations")
        )
        #: The shipped schemas of the Yangtze Delta credit standard, by name.
        self.schemas: dict[str, Schema] = load_schemas()
        # -- consent: disputes over attestations, query authorisations ---------------
        self.disputes = DisputesContract(
            chain, c["Disputes"].address, artifacts.contract("Disputes")
        )
        self.authorisations = AuthorisationsContract(
            chain, c["Authorisations"].address, artifacts.contract("Authorisations")
        )
        # -- receivables (supply-chain finance) --
        self.receivables = ReceivablesContract(
            chain, c["Receivables"].address, artifacts.contract("Receivables")
        )
        # -- relayed writes: any party's signed call, relayed by anyone (ERC-2771) --
        self.forwarder = ForwarderContract(
            chain, c["Forwarder"].address, artifacts.contract("Forwarder")
        )


def deploy(
    chain: Chain,
    regulator: LocalAccount,
    *,
    regulator_name: str = "People's Bank of China, Shanghai Head Office",
    regulator_city: City | str = City.SHANGHAI,
    artifacts: Artifacts | None = None,
) -> Ledger:
    """Deploy every contract with ``regulator`` as the consortium's first regulator.

    The shipped schemas of the credit standard (``ledger_client/data/schemas.json``)
    are registered as part of the deployment.
    """
    arts = artifacts or load_artifacts()
    city = City.parse(regulator_city)
    start_block = chain.backend.block_number() + 1
    deployed: dict[str, DeployedContract] = {}
    consortium = _deploy_one(chain, regulator, arts.contract("Consortium"), regulator_name, city)
    deployed["Consortium"] = consortium
    # -- relayed writes: the Forwarder every later contract trusts (ERC-2771) ----------
    forwarder = _deploy_one(chain, regulator, arts.contract("Forwarder"))
    deployed["Forwarder"] = forwarder
    # -- consent: Attestations takes the address Disputes will have -----------------
    disputes_at = create_address(regulator.address, chain.backend.nonce(regulator.address) + 1)
    deployed["Attestations"] = _deploy_one(
        chain,
        regulator,
        arts.contract("Attestations"),
        consortium.address,
        disputes_at,
        forwarder.address,
    )
    deployed.update(
        _deploy_consent(
            chain,
            regulator,
            arts,
            consortium.address,
            deployed["Attestations"],
            forwarder=forwarder.address,
        )
    )
    if deployed["Disputes"].address != disputes_at:
        raise TransactionError(
            f"Disputes was deployed at {deployed['Disputes'].address}, not at {disputes_at} "
            f"where Attestations expects it: did {regulator.address} send another "
            "transaction during the deployment? Deploy again."
        )
    attestations = AttestationsContract(
        chain, deployed["Attestations"].address, arts.contract("Attestations")
    )
    for schema in load_schemas().values():
        attestations.register_schema(regulator, schema)
    # -- receivables (supply-chain finance) --
    deployed["Receivables"] = _deploy_receivables(
        chain,
        regulator,
        arts,
        consortium=consortium.address,
        attestations=deployed["Attestations"].address,
        city=city,
        forwarder=forwarder.address,
    )
    last_block = chain.backend.block_number()
    manifest = Manifest(
        chain_id=chain.chain_id,
        network=chain.backend.describe(),
        deploy_block=start_block,
        deployed_at=chain.backend.block(last_block).timestamp,
        deployer=regulator.address,
        compiler=arts.compiler,
        sources_hash=arts.sources_hash,
        contracts=deployed,
    )
    return Ledger(chain, manifest, arts)


def _deploy_one(
    chain: Chain, deployer: LocalAccount, art: ContractArtifact, *ctor_args: Any
) -> DeployedContract:
    code = art.bytecode + art.codec.encode_constructor(ctor_args)
    receipt = chain.transact(deployer, None, code)
    if receipt.contract_address is None:
        raise TransactionError(f"deploying {art.name} ({receipt.tx_hash}) created no contract")
    return DeployedContract(
        address=receipt.contract_address,
        abi_hash=art.abi_hash,
        code_hash=art.code_hash,
        deploy_tx=receipt.tx_hash,
    )


def _deploy_consent(
    chain: Chain,
    regulator: LocalAccount,
    arts: Artifacts,
    consortium: str,
    attestations: DeployedContract,
    *,
    forwarder: str,
) -> dict[str, DeployedContract]:
    # Attestations and Disputes each need the other's address. Attestations was given
    # the address Disputes gets now (the regulator's next CREATE address) as an
    # immutable, which keeps its dispute hook out of attest's way (Attestations.sol).
    disputes = _deploy_one(
        chain, regulator, arts.contract("Disputes"), consortium, attestations.address, forwarder
    )
    authorisations = _deploy_one(
        chain, regulator, arts.contract("Authorisations"), consortium, forwarder
    )
    return {"Disputes": disputes, "Authorisations": authorisations}


def create_address(sender: str, nonce: int) -> str:
    """The checksum address of the contract ``sender`` creates with transaction ``nonce``."""
    payload = _rlp_bytes(bytes.fromhex(sender.removeprefix("0x"))) + _rlp_bytes(
        nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
    )
    return to_checksum_address(keccak256(_rlp_length(len(payload), 0xC0) + payload)[12:])


def _rlp_bytes(data: bytes) -> bytes:
    if len(data) == 1 and data[0] < 0x80:
        return data
    return _rlp_length(len(data), 0x80) + data


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


# --- receivables (supply-chain finance) ----------------------------------------------------------
#: The contract's own consortium membership, so that it may attest defaults.
RECEIVABLES_MEMBER_NAME = "Receivables registry (contract)"


def _deploy_receivables(
    chain: Chain,
    regulator: LocalAccount,
    arts: Artifacts,
    *,
    consortium: str,
    attestations: str,
    city: City,
    forwarder: str,
) -> DeployedContract:
    """Deploy Receivables and admit it to the consortium as an attester.

    It attests a ``receivable-default`` about the debtor when a part is marked
    overdue, so the schema must be registered and the contract a member in good
    standing with the attester role, in the regulator's city.
    """
    receivables = _deploy_one(
        chain,
        regulator,
        arts.contract("Receivables"),
        consortium,
        attestations,
        schema_id(load_schemas()["receivable-default"]),
        DEFAULT_GRACE_PERIOD,
        forwarder,
    )
    admit = arts.contract("Consortium").codec.fn("admitMember")
    member = [receivables.address, RECEIVABLES_MEMBER_NAME, int(city), int(Role.ATTESTER)]
    chain.transact(regulator, consortium, admit.encode(member))
    return receivables


def attach(chain: Chain, manifest: Manifest, artifacts: Artifacts | None = None) -> Ledger:
    """Attach to an existing deployment, checking that the chain holds what it names.

    Raises ManifestError when the chain id differs, a contract is missing, or the
    code at an address is not the code these artifacts build.
    """
    arts = artifacts or load_artifacts()
    if manifest.chain_id != chain.chain_id:
        raise ManifestError(
            f"the manifest is for chain {manifest.chain_id}, connected to chain {chain.chain_id}"
        )
    for name in CONTRACTS:
        entry = manifest.contracts.get(name)
        if entry is None:
            raise ManifestError(f"the manifest names no {name} contract")
        art = arts.contract(name)
        code = chain.backend.code(entry.address)
        if not code:
            raise ManifestError(f"no contract at {entry.address} ({name}) on this chain")
        if art.runtime_code_hash(code) != art.code_hash:
            raise ManifestError(
                f"the code at {entry.address} is not this build's {name} "
                "(deployed from other sources? recompile or redeploy)"
            )
    return Ledger(chain, manifest, arts)
