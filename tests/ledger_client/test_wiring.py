"""A manifest that names a contract with the right code but the wrong wiring.

The attacker deploys a copy of a contract (identical runtime code, so the manifest's code
hash still holds) built with other references: its own consortium, itself as ERC-2771
trusted forwarder, ... It forges a record through the copy in a real bank's name and
swaps the copy's address into the deployment's manifest file. ``attach``, the CLI's
``verify`` and ``audit`` and the API server must each refuse it, naming the contract,
the reference, and both values (ManifestWiringMismatch).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import pytest
from eth_account.signers.local import LocalAccount

from harness.api_process import start_server
from ledger_client import (
    Chain,
    City,
    Keyring,
    Ledger,
    ManifestWiringMismatch,
    Role,
    attach,
    check_wiring,
    connect,
)
from ledger_client.attestations.records import record_hash, sample_record
from ledger_client.audit import audit_ledger
from ledger_client.chain.artifacts import load_artifacts
from ledger_client.chain.backends import ENGINE_VARIABLE
from ledger_client.chain.backends._store import CACHE_VARIABLE
from ledger_client.chain.backends.revm import RevmBackend
from ledger_client.contracts import AttestationsContract, ConsortiumContract
from ledger_client.contracts.attestations import schema_id
from ledger_client.contracts.receivables import DEFAULT_GRACE_PERIOD
from ledger_client.deployment import (
    CONTRACTS,
    DeployedContract,
    Manifest,
    create_address,
    expected_wiring,
    wiring_mismatches,
)
from ledger_client.errors import LedgerConnectionError
from ledger_client.types import Validity
from tests.conformance import AnvilChain, EmbeddedChain, LedgerFixtures

SUBJECT = "0x" + "5a" * 32
ARTS = load_artifacts()


@dataclass
class World:
    """A real deployment kept in an API data directory, a real bank, and an attacker."""

    ledger: Ledger
    bank: LocalAccount
    attacker: LocalAccount
    home: Path  # holds manifest.json (and, on the embedded chain, chain/)

    @property
    def manifest_path(self) -> Path:
        return self.home / "manifest.json"


@dataclass
class Forgery:
    """What the attacker made: a copy of Attestations, and a record in the bank's name."""

    attestations: str  # the copy's address
    consortium: str  # the attacker's consortium, where the attacker is regulator
    uid: bytes
    record: dict[str, object]


def _deploy(chain: Chain, sender: LocalAccount, name: str, *args: object) -> str:
    """Deploy this build's ``name`` with constructor ``args`` by a raw transaction."""
    art = ARTS.contract(name)
    receipt = chain.transact(sender, None, art.bytecode + art.codec.encode_constructor(args))
    assert receipt.contract_address is not None
    return receipt.contract_address


def _deploy_runtime(chain: Chain, sender: LocalAccount, runtime: bytes) -> str:
    """Deploy ``runtime`` as it is: init code that returns it, no constructor run."""
    init = (
        bytes.fromhex("61") + len(runtime).to_bytes(2, "big") + bytes.fromhex("80600c6000396000f3")
    )
    receipt = chain.transact(sender, None, init + runtime)
    assert receipt.contract_address is not None
    return receipt.contract_address


def _swap(world: World, **addresses: str) -> Manifest:
    """Write the manifest with ``Name=address`` swapped in, as the attacker does; return it."""
    m = world.ledger.manifest
    contracts = dict(m.contracts)
    for name, address in addresses.items():
        contracts[name] = replace(contracts[name], address=address)
    swapped = replace(m, contracts=contracts)
    swapped.save(world.manifest_path)
    return swapped


def _forge(world: World) -> Forgery:
    """Attack (a)+(b): a copy of Attestations on the attacker's consortium, trusting the
    attacker as forwarder; a loan record attested through it as the real bank."""
    chain, attacker, bank = world.ledger.chain, world.attacker, world.bank
    real = world.ledger.manifest.contracts
    consortium = _deploy(
        chain,
        attacker,
        "Consortium",
        "Attacker regulator",
        int(City.SHANGHAI),
        real["Forwarder"].address,
    )
    # In its own consortium the attacker is regulator: it admits the real bank's account
    # under the real bank's name, and registers the schema.
    ConsortiumContract(chain, consortium, ARTS.contract("Consortium")).admit_member(
        attacker, bank.address, "Qiantang Bank", "Hangzhou", Role.ATTESTER
    )
    copy = _deploy(
        chain, attacker, "Attestations", consortium, real["Disputes"].address, attacker.address
    )
    fake = AttestationsContract(chain, copy, ARTS.contract("Attestations"))
    loan = world.ledger.schemas["loan-repayment"]
    fake.register_schema(attacker, loan)
    record = sample_record(loan, random.Random(7), overrides={"subject": SUBJECT})
    call = fake.codec.fn("attest").encode(
        [
            bytes(schema_id(loan)),
            bytes.fromhex(SUBJECT[2:]),
            record_hash(loan, record),
            0,
            b"\0" * 32,
        ]
    )
    # As the trusted forwarder, the attacker appends the bank's address: _msgSender() = bank.
    receipt = chain.transact(attacker, copy, call + bytes.fromhex(bank.address[2:]))
    (attested,) = [e for e in fake.decode_events(receipt) if e.name == "Attested"]
    uid = bytes(attested.args["uid"])
    # The forgery is real: the copy says the bank attested it, the bank is an attester in
    # good standing of the real consortium, and the record is in force.
    info = fake.attestation(uid)
    assert info is not None
    assert info.attester == bank.address
    assert world.ledger.consortium.has_role(bank.address, Role.ATTESTER)
    assert fake.validity(uid) == Validity.VALID
    return Forgery(copy, consortium, uid, record)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


class WiringConformance(LedgerFixtures):
    """The attacks, and the honest deployment they must not disturb."""

    rpc: str | None = None  # the node a subprocess reaches the chain through

    @pytest.fixture
    def world(self, ledger: Ledger, keyring: Keyring, tmp_path: Path) -> World:
        bank, attacker = keyring.account("bank"), keyring.account("attacker")
        for acct in (bank, attacker):
            ledger.chain.fund(acct.address)
        ledger.consortium.admit_member(
            keyring.account("regulator"), bank.address, "Qiantang Bank", "Hangzhou", Role.ATTESTER
        )
        home = self.home(tmp_path)
        ledger.manifest.save(home / "manifest.json")
        return World(ledger, bank, attacker, home)

    def home(self, tmp_path: Path) -> Path:
        return tmp_path / "api"

    # -- the honest deployment ---------------------------------------------------------

    def test_an_honest_deployment_is_wired_as_its_manifest_says(self, world: World) -> None:
        ledger = world.ledger
        check_wiring(ledger.chain, ledger.manifest)
        c = {name: e.address for name, e in ledger.manifest.contracts.items()}
        assert ledger.attestations.wired_to("consortium") == c["Consortium"]
        assert ledger.attestations.wired_to("disputes") == c["Disputes"]
        assert ledger.attestations.wired_to("trustedForwarder") == c["Forwarder"]
        assert ledger.disputes.wired_to("consortium") == c["Consortium"]
        assert ledger.disputes.wired_to("attestations") == c["Attestations"]
        assert ledger.authorisations.wired_to("consortium") == c["Consortium"]
        assert ledger.receivables.wired_to("attestations") == c["Attestations"]
        for facade in (ledger.disputes, ledger.authorisations, ledger.receivables):
            assert facade.wired_to("trustedForwarder") == c["Forwarder"]
        attach(ledger.chain, Manifest.load(world.manifest_path))

    # -- the attack of the issue, through every door ---------------------------------------

    def test_a_copy_of_attestations_on_the_attackers_consortium_and_forwarder_is_refused(
        self, world: World, tmp_path: Path
    ) -> None:
        ledger = world.ledger
        forged = _forge(world)
        swapped = _swap(world, Attestations=forged.attestations)
        real = ledger.manifest.contracts

        # attach (the SDK, the simulator, every CLI command)
        with pytest.raises(ManifestWiringMismatch) as refused:
            attach(ledger.chain, Manifest.load(world.manifest_path))
        assert refused.value.fields == {
            "contract": "Attestations",
            "reference": "consortium",
            "manifest": real["Consortium"].address,
            "onchain": forged.consortium,
        }
        found = {(m.contract, m.reference): m for m in wiring_mismatches(ledger.chain, swapped)}
        forwarder = found[("Attestations", "trustedForwarder")]
        assert (forwarder.manifest, forwarder.onchain) == (
            real["Forwarder"].address,
            world.attacker.address,
        )
        # The other contracts still name the real Attestations.
        assert found[("Disputes", "attestations")].onchain == real["Attestations"].address
        assert found[("Receivables", "attestations")].onchain == real["Attestations"].address

        # credit-chain verify, as an auditor runs it
        record = tmp_path / "record.json"
        record.write_text(json.dumps(forged.record), encoding="utf-8")
        done = _cli(
            "verify",
            "--manifest",
            str(world.manifest_path),
            "--record",
            str(record),
            "--uid",
            "0x" + forged.uid.hex(),
        )
        assert done.returncode != 0
        assert "ManifestWiringMismatch(contract=Attestations, reference=consortium" in (
            done.stdout + done.stderr
        )
        assert "verified" not in done.stdout

        # credit-chain audit: each mismatch a breach by name, nothing vouched for
        out = tmp_path / "audit"
        done = _cli("audit", "--manifest", str(world.manifest_path), "--out", str(out), "--json")
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout)
        assert not report["ok"]
        assert report["verdict"].startswith("refused:")
        names = {(b["event"], b["name"]) for b in report["breaches"]}
        assert ("Attestations.consortium", "ManifestWiringMismatch") in names
        assert ("Attestations.trustedForwarder", "ManifestWiringMismatch") in names
        assert report["totals"]["records"] == 0

        # the API server on a data directory holding the swapped manifest does not start
        with pytest.raises(LedgerConnectionError, match="ManifestWiringMismatch") as dead:
            start_server(world.home, rpc=self.rpc, log=tmp_path / "serve.log")
        assert "reference=consortium" in str(dead.value)

    def test_a_copy_whose_views_name_the_real_contracts_is_refused_by_its_code(
        self, world: World
    ) -> None:
        """The strongest copy: hand-made code whose consortium() and trustedForwarder()
        answer with the real contracts, while every other use holds the attacker's."""
        ledger, attacker = world.ledger, world.attacker
        chain = ledger.chain
        real = ledger.manifest.contracts
        forged = _forge(world)
        art = ARTS.contract("Attestations")
        code = bytearray(chain.backend.code(forged.attestations))
        words = art.immutables(bytes(code))
        names = {v: k for k, v in art.immutable_names.items()}
        for immutable, view, honest in (
            ("SchemaRegistry._consortium", "consortium", real["Consortium"].address),
            ("ERC2771Context._trustedForwarder", "trustedForwarder", real["Forwarder"].address),
        ):
            refs = art.immutable_references[names[immutable]]
            assert len(words[immutable]) == len(refs)
            for ref in refs:  # bounded: the few places the compiler wrote the value
                probe = bytearray(code)
                probe[ref["start"] : ref["start"] + 32] = bytes(12) + bytes.fromhex("ee" * 20)
                at = _deploy_runtime(chain, attacker, bytes(probe))
                if AttestationsContract(chain, at, art).wired_to(view).lower() == "0x" + "ee" * 20:
                    code[ref["start"] : ref["start"] + 32] = bytes(12) + bytes.fromhex(honest[2:])
        crafted = _deploy_runtime(chain, attacker, bytes(code))
        lying = AttestationsContract(chain, crafted, art)
        assert art.runtime_code_hash(bytes(code)) == art.code_hash
        assert lying.wired_to("consortium") == real["Consortium"].address
        assert lying.wired_to("trustedForwarder") == real["Forwarder"].address
        # ... yet it takes the attacker's schema registration and forged sender.
        loan = ledger.schemas["loan-repayment"]
        lying.register_schema(attacker, loan)
        call = lying.codec.fn("attest").encode(
            [bytes(schema_id(loan)), b"\x5a" * 32, b"\x11" * 32, 0, b"\0" * 32]
        )
        receipt = chain.transact(attacker, crafted, call + bytes.fromhex(world.bank.address[2:]))
        (attested,) = [e for e in lying.decode_events(receipt) if e.name == "Attested"]
        assert attested.args["attester"] == world.bank.address

        swapped = _swap(world, Attestations=crafted)
        with pytest.raises(ManifestWiringMismatch) as refused:
            attach(chain, swapped)
        assert (refused.value.contract, refused.value.reference) == ("Attestations", "consortium")
        assert refused.value.onchain == forged.consortium
        found = {(m.contract, m.reference, m.onchain) for m in wiring_mismatches(chain, swapped)}
        assert ("Attestations", "trustedForwarder", attacker.address) in found

    # -- every other contract swapped ------------------------------------------------------

    def test_another_consortium_with_another_regulator_is_refused(self, world: World) -> None:
        chain, attacker = world.ledger.chain, world.attacker
        forwarder = world.ledger.manifest.contracts["Forwarder"].address
        other = _deploy(
            chain, attacker, "Consortium", "People's Bank of China", int(City.SHANGHAI), forwarder
        )
        ConsortiumContract(chain, other, ARTS.contract("Consortium")).admit_member(
            attacker, world.bank.address, "Qiantang Bank", "Hangzhou", Role.ATTESTER
        )
        swapped = _swap(world, Consortium=other)
        real = world.ledger.manifest.contracts["Consortium"].address
        with pytest.raises(ManifestWiringMismatch) as refused:
            attach(chain, Manifest.load(world.manifest_path))
        assert refused.value.fields == {
            "contract": "Attestations",
            "reference": "consortium",
            "manifest": other,
            "onchain": real,
        }
        found = {(m.contract, m.reference) for m in wiring_mismatches(chain, swapped)}
        assert found == {
            (name, "consortium")
            for name in (
                "Attestations",
                "Disputes",
                "Authorisations",
                "CollateralRegistry",
                "Receivables",
                "CreditFacilities",
            )
        } | {("Consortium", "creator")}

    def test_another_forwarder_is_refused(self, world: World) -> None:
        chain = world.ledger.chain
        other = _deploy(chain, world.attacker, "Forwarder")
        swapped = _swap(world, Forwarder=other)
        real = world.ledger.manifest.contracts["Forwarder"].address
        found = wiring_mismatches(chain, swapped)
        assert {(m.contract, m.reference, m.manifest, m.onchain) for m in found} == {
            (name, "trustedForwarder", other, real)
            for name in (
                "Consortium",
                "Attestations",
                "Disputes",
                "Authorisations",
                "CollateralRegistry",
                "Receivables",
                "CreditFacilities",
            )
        } | {("Forwarder", "creator", world.ledger.manifest.deployer, "another account")}
        with pytest.raises(ManifestWiringMismatch, match="reference=trustedForwarder"):
            attach(chain, swapped)

    def test_a_forwarder_copy_with_the_real_domain_is_refused(self, world: World) -> None:
        """A hand-made Forwarder copy that answers with the real Forwarder's EIP-712 domain
        separator: requests signed for the real one would replay on it."""
        chain, attacker = world.ledger.chain, world.attacker
        real = world.ledger.manifest.contracts["Forwarder"].address
        art = ARTS.contract("Forwarder")
        code = bytearray(chain.backend.code(real))  # its cached separator is the real one
        at = create_address(attacker.address, chain.backend.nonce(attacker.address))
        names = {v: k for k, v in art.immutable_names.items()}
        for ref in art.immutable_references[names["EIP712._cachedThis"]]:
            code[ref["start"] : ref["start"] + 32] = bytes(12) + bytes.fromhex(at[2:])
        copy = _deploy_runtime(chain, attacker, bytes(code))
        assert copy == at
        separator = world.ledger.forwarder._read("domainSeparator")[0]
        assert type(world.ledger.forwarder)(chain, copy, art)._read("domainSeparator")[0] == (
            separator
        )
        found = {
            (m.contract, m.reference)
            for m in wiring_mismatches(chain, _swap(world, Forwarder=copy))
        }
        assert ("Forwarder", "domainSeparator") in found
        assert ("Attestations", "trustedForwarder") in found

    @pytest.mark.parametrize(
        ("name", "reference"),
        [
            ("Consortium", "trustedForwarder"),
            ("Disputes", "trustedForwarder"),
            ("Authorisations", "consortium"),
            ("Receivables", "gracePeriod"),
            ("Receivables", "attestations"),
            ("Authorisations", "creator"),
            ("Receivables", "creator"),
            ("CreditFacilities", "creator"),
        ],
    )
    def test_a_copy_of_another_contract_is_refused(
        self, world: World, name: str, reference: str
    ) -> None:
        ledger, attacker = world.ledger, world.attacker
        chain = ledger.chain
        c = {n: e.address for n, e in ledger.manifest.contracts.items()}
        fake_consortium = _deploy(
            chain, attacker, "Consortium", "Attacker", int(City.SHANGHAI), c["Forwarder"]
        )
        fake_attestations = _deploy(
            chain, attacker, "Attestations", c["Consortium"], c["Disputes"], c["Forwarder"]
        )
        grace = DEFAULT_GRACE_PERIOD
        rc = ledger.receivables
        args: dict[tuple[str, str], tuple[object, ...]] = {
            # The regulator's onboarding relayed through the attacker as forwarder.
            ("Consortium", "trustedForwarder"): (
                "People's Bank of China",
                int(City.SHANGHAI),
                attacker.address,
            ),
            ("Disputes", "trustedForwarder"): (
                c["Consortium"],
                c["Attestations"],
                attacker.address,
            ),
            ("Authorisations", "consortium"): (fake_consortium, c["Forwarder"]),
            ("Receivables", "gracePeriod"): (
                c["Consortium"],
                c["Attestations"],
                bytes(rc.default_schema()),
                0,
                c["CollateralRegistry"],
                c["Forwarder"],
            ),
            # Wired exactly like the originals: only who created them differs (nothing
            # refers to CreditFacilities; the contracts that refer to the other two show it).
            ("Authorisations", "creator"): (c["Consortium"], c["Forwarder"]),
            ("Receivables", "creator"): (
                c["Consortium"],
                c["Attestations"],
                bytes(rc.default_schema()),
                grace,
                c["CollateralRegistry"],
                c["Forwarder"],
            ),
            ("Receivables", "attestations"): (
                c["Consortium"],
                fake_attestations,
                bytes(rc.default_schema()),
                grace,
                c["CollateralRegistry"],
                c["Forwarder"],
            ),
            ("CreditFacilities", "creator"): (
                c["Consortium"],
                c["CollateralRegistry"],
                c["Authorisations"],
                c["Forwarder"],
            ),
        }
        copy = _deploy(chain, attacker, name, *args[(name, reference)])
        swapped = _swap(world, **{name: copy})
        found = {(m.contract, m.reference): m for m in wiring_mismatches(chain, swapped)}
        assert (name, reference) in found
        if name == "Disputes":  # Attestations names the real Disputes
            assert found[("Attestations", "disputes")].onchain == c["Disputes"]
        if reference == "creator":
            # Contracts that name the copied one show the copy too.
            others = {
                "Receivables": {("CollateralRegistry", "receivables")},
                "Authorisations": {("CreditFacilities", "authorisations")},
            }.get(name, set())
            assert set(found) == {(name, "creator")} | others
            assert (found[(name, "creator")].manifest, found[(name, "creator")].onchain) == (
                ledger.manifest.deployer,
                "another account",
            )
        if (name, reference) == ("Receivables", "gracePeriod"):
            assert (found[(name, reference)].manifest, found[(name, reference)].onchain) == (
                str(grace),
                "0",
            )
        with pytest.raises(ManifestWiringMismatch):
            attach(chain, Manifest.load(world.manifest_path))

    def test_the_audit_refuses_to_vouch_for_a_miswired_deployment(
        self, world: World, tmp_path: Path
    ) -> None:
        ledger = world.ledger
        forged = _forge(world)
        swapped = _swap(world, Attestations=forged.attestations)
        miswired = attach(ledger.chain, swapped, wiring=False)
        result = audit_ledger(miswired, tmp_path / "audit")
        assert not result.ok
        assert {b.name for b in result.breaches} == {"ManifestWiringMismatch"}
        assert result.state is not None
        assert result.state.records == 0
        # ... while the honest manifest of the same chain audits clean.
        assert audit_ledger(ledger, tmp_path / "honest").ok


def test_every_immutable_of_every_contract_is_checked() -> None:
    """A new constructor argument with no wiring check fails here, not in production."""
    placeholder = DeployedContract("0x" + "11" * 20, "", "", "")
    manifest = Manifest(
        chain_id=1,
        network="embedded",
        deploy_block=0,
        deployed_at=0,
        deployer="0x" + "22" * 20,
        compiler="",
        sources_hash="",
        contracts=dict.fromkeys(CONTRACTS, placeholder),
    )
    wires = {(w.contract, w.immutable) for w in expected_wiring(1, manifest)}
    for name in CONTRACTS:
        art = ARTS.contract(name)
        assert set(art.immutable_names) == set(art.immutable_references)
        for immutable in art.immutable_names.values():
            assert (name, immutable) in wires, f"{name}.{immutable} is not checked"


class PersistentEmbeddedChain(EmbeddedChain):
    """The embedded chain on py-evm kept on disk, where the CLI and the server can open it
    too: they run on the engine the environment names, so the test names this one there."""

    @pytest.fixture
    def chain(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chain]:
        monkeypatch.setenv(ENGINE_VARIABLE, self.engine)
        chain = connect(self.engine, data_dir=tmp_path / "api" / "chain")
        yield chain
        chain.close()


class PersistentRevmChain(PersistentEmbeddedChain):
    """The same on revm."""

    engine: ClassVar[str] = "revm"


class PersistentRevmOnDiskChain(PersistentRevmChain):
    """The same on revm reading its state on demand: the setting, in this process and
    the CLI's and server's it starts, bounds the cache at 1 MiB."""

    @pytest.fixture
    def chain(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chain]:
        monkeypatch.setenv(CACHE_VARIABLE, "1")
        monkeypatch.setenv(ENGINE_VARIABLE, self.engine)
        chain = connect(self.engine, data_dir=tmp_path / "api" / "chain")
        assert isinstance(chain.backend, RevmBackend)
        assert chain.backend.state_server is not None
        yield chain
        chain.close()


class TestWiringEmbedded(PersistentEmbeddedChain, WiringConformance):
    pass


class TestWiringRevm(PersistentRevmChain, WiringConformance):
    pass


class TestWiringRevmOnDisk(PersistentRevmOnDiskChain, WiringConformance):
    pass


class TestWiringAnvil(AnvilChain, WiringConformance):
    @pytest.fixture(autouse=True)
    def _rpc(self, anvil_url: str) -> None:
        self.rpc = anvil_url
