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

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.merkle import keccak256
from ledger_client.attestations.records import Schema, load_schemas
from ledger_client.chain.artifacts import Artifacts, ContractArtifact, load_artifacts
from ledger_client.chain.connection import Chain
from ledger_client.contracts import (
    AttestationsContract,
    AuthorisationsContract,
    ConsortiumContract,
    DisputesContract,
    ForwarderContract,
    ReceivablesContract,
)
from ledger_client.contracts import attestations as _attestations
from ledger_client.contracts import authorisations as _authorisations
from ledger_client.contracts import disputes as _disputes
from ledger_client.contracts import forwarder as _forwarder
from ledger_client.contracts.attestations import schema_id
from ledger_client.contracts.receivables import DEFAULT_GRACE_PERIOD
from ledger_client.errors import (
    ArtifactsError,
    ManifestError,
    ManifestWiringMismatch,
    TransactionError,
)
from ledger_client.lending import CollateralRegistryContract, CreditFacilitiesContract
from ledger_client.lending import collateral as _collateral
from ledger_client.lending import facilities as _facilities
from ledger_client.types import City, Role

MANIFEST_FORMAT = 1
#: Contracts in deployment order: the Forwarder first, which every later one trusts to relay
#: its callers' signed requests (ERC-2771); each after the Consortium takes its address.
CONTRACTS = (
    "Forwarder",
    "Consortium",
    "Attestations",
    "Disputes",
    "Authorisations",
    "CollateralRegistry",
    "Receivables",
    "CreditFacilities",
)


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
        self._wired: Manifest | None = None  # the manifest check_wiring last passed
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
        # -- lending: one collateral registry, credit facilities and joint agreements --
        self.collateral = CollateralRegistryContract(
            chain, c["CollateralRegistry"].address, artifacts.contract("CollateralRegistry")
        )
        self.facilities = CreditFacilitiesContract(
            chain, c["CreditFacilities"].address, artifacts.contract("CreditFacilities")
        )
        # -- relayed writes: any party's signed call, relayed by anyone (ERC-2771) --
        self.forwarder = ForwarderContract(
            chain, c["Forwarder"].address, artifacts.contract("Forwarder")
        )

    def ensure_wired(self) -> None:
        """Raise ManifestWiringMismatch unless every contract is wired as the manifest says.

        Checked once per manifest (``attach`` already did): code, and so the wiring it
        holds, cannot change at an address.
        """
        if self._wired is not self.manifest:
            check_wiring(self.chain, self.manifest, self.artifacts)
            self._wired = self.manifest


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
    # -- relayed writes: the Forwarder every contract trusts (ERC-2771), the Consortium too,
    # so a regulator's signed admission reaches it through the API's relay --------------
    forwarder = _deploy_one(chain, regulator, arts.contract("Forwarder"))
    deployed["Forwarder"] = forwarder
    consortium = _deploy_one(
        chain, regulator, arts.contract("Consortium"), regulator_name, city, forwarder.address
    )
    deployed["Consortium"] = consortium
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
    # -- receivables (supply-chain finance) and the collateral registry they share --
    deployed.update(
        _deploy_receivables(
            chain,
            regulator,
            arts,
            consortium=consortium.address,
            attestations=deployed["Attestations"].address,
            city=city,
            forwarder=forwarder.address,
        )
    )
    # -- lending: facilities check pledges in the registry, consent in Authorisations --
    deployed["CreditFacilities"] = _deploy_one(
        chain,
        regulator,
        arts.contract("CreditFacilities"),
        consortium.address,
        deployed["CollateralRegistry"].address,
        deployed["Authorisations"].address,
        forwarder.address,
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
) -> dict[str, DeployedContract]:
    """Deploy the collateral registry, then Receivables, and admit Receivables to the
    consortium as an attester.

    Receivables attests a ``receivable-default`` about the debtor when a part is marked
    overdue, so the schema must be registered and the contract a member in good
    standing with the attester role, in the regulator's city. The registry and
    Receivables each ask the other (a pledged part is not financed, a financed part is
    not pledged): the registry is given the address Receivables gets next.
    """
    receivables_at = create_address(regulator.address, chain.backend.nonce(regulator.address) + 1)
    registry = _deploy_one(
        chain, regulator, arts.contract("CollateralRegistry"), consortium, receivables_at, forwarder
    )
    receivables = _deploy_one(
        chain,
        regulator,
        arts.contract("Receivables"),
        consortium,
        attestations,
        schema_id(load_schemas()["receivable-default"]),
        DEFAULT_GRACE_PERIOD,
        registry.address,
        forwarder,
    )
    if receivables.address != receivables_at:
        raise TransactionError(
            f"Receivables was deployed at {receivables.address}, not at {receivables_at} "
            f"where CollateralRegistry expects it: did {regulator.address} send another "
            "transaction during the deployment? Deploy again."
        )
    admit = arts.contract("Consortium").codec.fn("admitMember")
    member = [receivables.address, RECEIVABLES_MEMBER_NAME, int(city), int(Role.ATTESTER)]
    chain.transact(regulator, consortium, admit.encode(member))
    return {"CollateralRegistry": registry, "Receivables": receivables}


def attach(
    chain: Chain,
    manifest: Manifest,
    artifacts: Artifacts | None = None,
    *,
    wiring: bool = True,
) -> Ledger:
    """Attach to an existing deployment, checking that the chain holds what it names.

    Raises ManifestError when the chain id differs, a contract is missing, or the
    code at an address is not the code these artifacts build; and
    ManifestWiringMismatch when a contract was built with other references (its
    consortium, trusted forwarder, ...) than the manifest names, or was not created
    by the manifest's deployer (:func:`check_wiring`).
    ``wiring=False`` skips that last check, for the audit, which reports a
    mis-wired deployment itself instead of stopping at the first mismatch.
    """
    arts = artifacts or load_artifacts()
    codes = _deployed_code(chain, manifest, arts)
    ledger = Ledger(chain, manifest, arts)
    if wiring:
        mismatches = _wiring_mismatches(chain, manifest, arts, codes)
        if mismatches:
            raise mismatches[0]
        ledger._wired = manifest
    return ledger


def _deployed_code(chain: Chain, manifest: Manifest, arts: Artifacts) -> dict[str, bytes]:
    """The runtime code of every contract the manifest names, once it is this build's."""
    if manifest.chain_id != chain.chain_id:
        raise ManifestError(
            f"the manifest is for chain {manifest.chain_id}, connected to chain {chain.chain_id}"
        )
    codes: dict[str, bytes] = {}
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
        codes[name] = code
    return codes


# --- wiring: what each contract was built with ---------------------------------------------------
# A manifest's code hashes say each address holds this build's code, with its immutables
# zeroed; the immutables are what the constructor was given (the consortium, the trusted
# forwarder, ...), so they are checked too, word by word in the code itself rather than
# through the contracts' views: code crafted by hand (not by the constructor) may hold one
# value where a view reads it and another where a write does.

_EIP712_DOMAIN_TYPEHASH = keccak256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
#: (name, version) of the EIP-712 domain of each contract that has one.
EIP712_DOMAINS: dict[str, tuple[str, str]] = {
    "Forwarder": (_forwarder.EIP712_NAME, _forwarder.EIP712_VERSION),
    "Attestations": (_attestations.EIP712_NAME, _attestations.EIP712_VERSION),
    "Disputes": (_disputes.EIP712_NAME, _disputes.EIP712_VERSION),
    "Authorisations": (_authorisations.EIP712_NAME, _authorisations.EIP712_VERSION),
    "CollateralRegistry": (_collateral.EIP712_NAME, _collateral.EIP712_VERSION),
    "CreditFacilities": (_facilities.EIP712_NAME, _facilities.EIP712_VERSION),
}
#: Contracts that take the Forwarder as their ERC-2771 trusted forwarder.
_RELAYED = (
    "Consortium",
    "Attestations",
    "Disputes",
    "Authorisations",
    "Receivables",
    "CollateralRegistry",
    "CreditFacilities",
)


@dataclass(frozen=True)
class Wire:
    """One immutable of one contract, and the value the manifest implies for it."""

    contract: str  # the manifest's name, e.g. "Attestations"
    reference: str  # what it is, as its view (or the EIP-712 domain) calls it
    immutable: str  # "Declarer._variable", as the artifacts name it
    kind: str  # "address", "bytes32" or "uint": how to show the word
    expected: bytes  # the 32-byte word the code must hold, everywhere it holds it


def expected_wiring(chain_id: int, manifest: Manifest) -> list[Wire]:
    """Every immutable of every contract, with the value this manifest implies for it."""
    addr = {name: manifest.contracts[name].address for name in CONTRACTS}

    def address(contract: str, reference: str, immutable: str, target: str) -> Wire:
        return Wire(contract, reference, immutable, "address", _word(int(target, 16)))

    wires = [
        address("Attestations", "consortium", "SchemaRegistry._consortium", addr["Consortium"]),
        address("Attestations", "disputes", "Attestations._disputesWord", addr["Disputes"]),
        address("Disputes", "consortium", "Disputes._consortium", addr["Consortium"]),
        address("Disputes", "attestations", "Disputes._attestations", addr["Attestations"]),
        address("Authorisations", "consortium", "Authorisations._consortium", addr["Consortium"]),
        address("Receivables", "consortium", "Receivables._consortium", addr["Consortium"]),
        address("Receivables", "attestations", "Receivables._attestations", addr["Attestations"]),
        address("Receivables", "collateral", "Receivables._collateral", addr["CollateralRegistry"]),
        address(
            "CollateralRegistry", "consortium", "CollateralRegistry._consortium", addr["Consortium"]
        ),
        address(
            "CollateralRegistry",
            "receivables",
            "CollateralRegistry._receivables",
            addr["Receivables"],
        ),
        address(
            "CreditFacilities", "consortium", "CreditFacilities._consortium", addr["Consortium"]
        ),
        address(
            "CreditFacilities",
            "collateral",
            "CreditFacilities._collateral",
            addr["CollateralRegistry"],
        ),
        address(
            "CreditFacilities",
            "authorisations",
            "CreditFacilities._authorisations",
            addr["Authorisations"],
        ),
        Wire(
            "Receivables",
            "defaultSchema",
            "Receivables._defaultSchema",
            "bytes32",
            schema_id(load_schemas()["receivable-default"]),
        ),
        Wire(
            "Receivables",
            "gracePeriod",
            "Receivables._gracePeriod",
            "uint",
            _word(DEFAULT_GRACE_PERIOD),
        ),
    ]
    wires += [
        address(c, "trustedForwarder", "ERC2771Context._trustedForwarder", addr["Forwarder"])
        for c in _RELAYED
    ]
    for contract, (name, version) in EIP712_DOMAINS.items():
        this = addr[contract]
        separator = keccak256(
            _EIP712_DOMAIN_TYPEHASH
            + keccak256(name.encode())
            + keccak256(version.encode())
            + _word(chain_id)
            + _word(int(this, 16))
        )
        wires += [
            Wire(
                contract, "domainSeparator", "EIP712._cachedDomainSeparator", "bytes32", separator
            ),
            Wire(contract, "eip712ChainId", "EIP712._cachedChainId", "uint", _word(chain_id)),
            address(contract, "eip712VerifyingContract", "EIP712._cachedThis", this),
            Wire(contract, "eip712Name", "EIP712._hashedName", "bytes32", keccak256(name.encode())),
            Wire(
                contract,
                "eip712Version",
                "EIP712._hashedVersion",
                "bytes32",
                keccak256(version.encode()),
            ),
            Wire(contract, "eip712Name", "EIP712._name", "bytes32", _short_string(name)),
            Wire(contract, "eip712Version", "EIP712._version", "bytes32", _short_string(version)),
        ]
    return wires


def check_wiring(chain: Chain, manifest: Manifest, artifacts: Artifacts | None = None) -> None:
    """Raise ManifestWiringMismatch unless every contract holds the wiring the manifest implies.

    Each contract's consortium, trusted forwarder, disputes or attestations contract,
    default schema, grace period and EIP-712 domain are read from its code and compared
    with the manifest's addresses (so with each other's too: every contract's consortium
    is the manifest's Consortium); and each must have been created by the manifest's
    deployer (reference ``creator``). Raises ManifestError first if the code itself is
    not what the manifest names.
    """
    mismatches = wiring_mismatches(chain, manifest, artifacts)
    if mismatches:
        raise mismatches[0]


def wiring_mismatches(
    chain: Chain, manifest: Manifest, artifacts: Artifacts | None = None
) -> list[ManifestWiringMismatch]:
    """Every way the deployment's wiring differs from the manifest (empty when it does not)."""
    arts = artifacts or load_artifacts()
    codes = _deployed_code(chain, manifest, arts)
    return _wiring_mismatches(chain, manifest, arts, codes)


def _wiring_mismatches(
    chain: Chain, manifest: Manifest, arts: Artifacts, codes: dict[str, bytes]
) -> list[ManifestWiringMismatch]:
    wires = expected_wiring(chain.chain_id, manifest)
    found: list[ManifestWiringMismatch] = []
    for name in CONTRACTS:
        words = arts.contract(name).immutables(codes[name])
        mine = {w.immutable: w for w in wires if w.contract == name}
        unchecked = sorted(set(words) - set(mine))
        if unchecked:
            # Fail closed: an immutable nobody checks could be any attacker's value.
            raise ArtifactsError(
                f"{name} holds immutables the wiring check does not know: {unchecked} "
                "(add them to ledger_client.deployment.expected_wiring)"
            )
        for immutable, wire in mine.items():
            wrong = next((w for w in words.get(immutable, []) if w != wire.expected), None)
            if wrong is not None:
                found.append(
                    ManifestWiringMismatch(
                        name,
                        wire.reference,
                        _show(wire.kind, wire.expected),
                        _show(wire.kind, wrong),
                    )
                )
    return found + _not_created_by_deployer(chain, manifest)


def _not_created_by_deployer(chain: Chain, manifest: Manifest) -> list[ManifestWiringMismatch]:
    """The contracts the manifest's deployer did not create.

    Nothing refers to CreditFacilities, so a copy wired exactly like the original would
    pass the immutables check (and a copy of another contract fails it only where a
    contract refers to it): what no copy can have is the original's
    address, one of the deployer's CREATE addresses (and the deployer is the consortium's
    first regulator, which the Consortium's constructor makes of whoever creates it).
    """
    try:
        deployer = to_checksum_address(manifest.deployer)
    except ValueError as exc:
        raise ManifestError(f"the manifest's deployer {manifest.deployer!r}: {exc}") from exc
    missing = {manifest.contracts[name].address.lower(): name for name in CONTRACTS}
    for nonce in range(chain.backend.nonce(deployer)):  # bounded by its transaction count
        missing.pop(create_address(deployer, nonce).lower(), None)
        if not missing:
            return []
    return [
        ManifestWiringMismatch(name, "creator", deployer, "another account")
        for name in CONTRACTS
        if name in missing.values()
    ]


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _short_string(text: str) -> bytes:
    """OpenZeppelin's ShortString: the UTF-8 bytes left-aligned, their length in the last byte."""
    raw = text.encode()
    if len(raw) > 31:
        raise ArtifactsError(f"EIP-712 name or version {text!r} is longer than a ShortString")
    return raw.ljust(31, b"\0") + bytes([len(raw)])


def _show(kind: str, word: bytes) -> str:
    if kind == "address" and not any(word[:12]):
        return to_checksum_address(word[12:])
    if kind == "uint":
        return str(int.from_bytes(word, "big"))
    return "0x" + word.hex()
