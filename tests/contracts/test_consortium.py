"""Consortium membership, one conformance class run on the embedded chain and on anvil."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client import (
    City,
    InvalidCity,
    Keyring,
    Ledger,
    Manifest,
    ManifestError,
    Role,
    attach,
)
from ledger_client.chain.connection import DEFAULT_GAS
from ledger_client.errors import (
    ConsortiumAccountAlreadyBound,
    ConsortiumAccountIsMember,
    ConsortiumAlreadyMember,
    ConsortiumAlreadySuspended,
    ConsortiumInvalidCity,
    ConsortiumInvalidMember,
    ConsortiumInvalidRoles,
    ConsortiumInvalidSubject,
    ConsortiumLengthMismatch,
    ConsortiumMemberSuspended,
    ConsortiumNotEnterprise,
    ConsortiumNotMember,
    ConsortiumNotSuspended,
    ConsortiumSelfLockout,
    ConsortiumSubjectAlreadyBound,
    ConsortiumSubjectNotBound,
    ConsortiumUnauthorized,
)
from tests.conformance import AnvilChain, EmbeddedChain, LedgerFixtures, RevmChain

SUBJECT_A = bytes.fromhex("aa" * 32)
SUBJECT_B = bytes.fromhex("bb" * 32)


class ConsortiumConformance(LedgerFixtures):
    """The consortium's rules as every backend must show them."""

    def _admit(
        self, ledger: Ledger, keyring: Keyring, label: str, city: str, roles: Role
    ) -> LocalAccount:
        """:meth:`_member` with the city named before the roles, as these tests read."""
        return self._member(ledger, keyring, label, roles, city)

    # -- admission ----------------------------------------------------------------
    def test_deployer_is_the_first_regulator(self, ledger: Ledger, regulator: LocalAccount) -> None:
        m = ledger.consortium.member(regulator.address)
        assert m is not None
        assert m.roles == Role.REGULATOR
        assert m.city == City.SHANGHAI
        assert ledger.consortium.has_role(regulator.address, Role.REGULATOR)

    def test_regulator_admits_a_member(
        self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount
    ) -> None:
        bank = keyring.account("bank")
        result = ledger.consortium.admit_member(
            regulator, bank.address, "Jinling Commercial Bank", "Nanjing", "attester,financier"
        )
        ev = result.event("MemberAdmitted")
        assert ev.args == {
            "account": bank.address,
            "city": int(City.NANJING),
            "roles": int(Role.ATTESTER | Role.FINANCIER),
            "name": "Jinling Commercial Bank",
            "regulator": regulator.address,
        }
        m = ledger.consortium.member(bank.address)
        assert m is not None
        assert (m.name, m.city, m.roles, m.suspended) == (
            "Jinling Commercial Bank",
            City.NANJING,
            Role.ATTESTER | Role.FINANCIER,
            False,
        )
        assert m.admitted_at == ledger.chain.backend.block(result.block_number).timestamp
        accounts = [x.account for x in ledger.consortium.members()]
        # deploy() may admit contracts of its own (the receivables registry) after the regulator.
        assert (accounts[0], accounts[-1]) == (regulator.address, bank.address)

    def test_non_regulator_admit_is_refused_by_name(self, ledger: Ledger, keyring: Keyring) -> None:
        bank = self._admit(ledger, keyring, "bank", "Hefei", Role.ATTESTER | Role.FINANCIER)
        stranger = keyring.account("stranger")
        with pytest.raises(ConsortiumUnauthorized) as info:
            ledger.consortium.admit_member(bank, stranger.address, "X", "Hefei", Role.ATTESTER)
        assert info.value.account == bank.address
        assert info.value.role == int(Role.REGULATOR)
        assert info.value.kind == "forbidden"
        assert info.value.tx_hash is not None  # it was mined, with status 0
        assert ledger.consortium.member(stranger.address) is None

    def test_duplicate_member(
        self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount
    ) -> None:
        bank = self._admit(ledger, keyring, "bank", "Hefei", Role.FINANCIER)
        with pytest.raises(ConsortiumAlreadyMember) as info:
            ledger.consortium.admit_member(
                regulator, bank.address, "Again", "Hefei", Role.FINANCIER
            )
        assert info.value.account == bank.address
        assert info.value.kind == "conflict"

    def test_bad_city(self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount) -> None:
        acct = keyring.account("bank")
        with pytest.raises(ConsortiumInvalidCity) as info:
            ledger.consortium.admit_member(regulator, acct.address, "Bank", 6, Role.ATTESTER)
        assert info.value.city == 6
        with pytest.raises(ConsortiumInvalidCity):
            ledger.consortium.admit_member(regulator, acct.address, "Bank", 0, Role.ATTESTER)
        with pytest.raises(InvalidCity, match="Beijing"):
            ledger.consortium.admit_member(regulator, acct.address, "Bank", "Beijing", 1)

    @pytest.mark.parametrize("roles", [0, 64, 255])
    def test_bad_roles(
        self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount, roles: int
    ) -> None:
        with pytest.raises(ConsortiumInvalidRoles) as info:
            ledger.consortium.admit_member(
                regulator, keyring.account("bank").address, "Bank", "Hefei", roles
            )
        assert info.value.roles == roles

    def test_empty_name_and_zero_account(
        self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount
    ) -> None:
        with pytest.raises(ConsortiumInvalidMember):
            ledger.consortium.admit_member(
                regulator, keyring.account("bank").address, "", "Hefei", Role.ATTESTER
            )
        with pytest.raises(ConsortiumInvalidMember):
            ledger.consortium.admit_member(regulator, "0x" + "00" * 20, "Bank", "Hefei", 1)

    # -- standing -----------------------------------------------------------------
    def test_suspended_member_is_refused_from_that_block_on(
        self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount
    ) -> None:
        bureau = self._admit(ledger, keyring, "bureau", "Jiaxing", Role.REGISTRAR)
        ent = keyring.account("enterprise")
        suspended = ledger.consortium.suspend_member(
            regulator, bureau.address, b"r".ljust(32, b"\0")
        )
        assert suspended.event("MemberSuspended").args["account"] == bureau.address
        block = suspended.block_number
        assert ledger.consortium.has_role(bureau.address, Role.REGISTRAR, block=block - 1)
        assert not ledger.consortium.has_role(bureau.address, Role.REGISTRAR, block=block)
        with pytest.raises(ConsortiumMemberSuspended) as info:
            ledger.consortium.bind_enterprise(bureau, ent.address, SUBJECT_A)
        assert info.value.account == bureau.address
        with pytest.raises(ConsortiumMemberSuspended):
            ledger.consortium.require_role(bureau.address, Role.REGISTRAR)
        with pytest.raises(ConsortiumMemberSuspended):
            ledger.consortium.publish_encryption_key(bureau, b"k" * 32)
        ledger.consortium.reinstate_member(regulator, bureau.address)
        ledger.consortium.bind_enterprise(bureau, ent.address, SUBJECT_A)
        assert ledger.consortium.account_of(SUBJECT_A) == ent.address

    def test_suspension_rules(
        self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount
    ) -> None:
        bank = self._admit(ledger, keyring, "bank", "Hangzhou", Role.ATTESTER)
        with pytest.raises(ConsortiumNotSuspended):
            ledger.consortium.reinstate_member(regulator, bank.address)
        ledger.consortium.suspend_member(regulator, bank.address)
        with pytest.raises(ConsortiumAlreadySuspended):
            ledger.consortium.suspend_member(regulator, bank.address)
        with pytest.raises(ConsortiumNotMember):
            ledger.consortium.suspend_member(regulator, keyring.account("nobody").address)
        with pytest.raises(ConsortiumSelfLockout):
            ledger.consortium.suspend_member(regulator, regulator.address)
        with pytest.raises(ConsortiumSelfLockout):
            ledger.consortium.set_roles(regulator, regulator.address, Role.AUDITOR)

    def test_set_roles(self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount) -> None:
        bank = self._admit(ledger, keyring, "bank", "Hangzhou", Role.ATTESTER)
        result = ledger.consortium.set_roles(regulator, bank.address, "attester,financier")
        assert result.event("MemberRolesChanged").args["roles"] == 3
        assert ledger.consortium.has_role(bank.address, Role.FINANCIER)
        with pytest.raises(ConsortiumUnauthorized):
            ledger.consortium.set_roles(bank, bank.address, Role.REGULATOR)

    def test_require_role_names_the_missing_role(self, ledger: Ledger, keyring: Keyring) -> None:
        bank = self._admit(ledger, keyring, "bank", "Hefei", Role.ATTESTER)
        ledger.consortium.require_role(bank.address, Role.ATTESTER)  # no refusal: a check only
        member = ledger.consortium.member(bank.address)
        assert member is not None
        assert member.city == City.HEFEI
        with pytest.raises(ConsortiumUnauthorized) as info:
            ledger.consortium.require_role(bank.address, Role.FINANCIER)
        assert (info.value.account, info.value.role) == (bank.address, int(Role.FINANCIER))
        assert info.value.tx_hash is None  # a read: nothing was mined

    # -- enterprises --------------------------------------------------------------
    def test_bind_and_rebind_enterprise(self, ledger: Ledger, keyring: Keyring) -> None:
        bureau = self._admit(ledger, keyring, "bureau", "Hangzhou", Role.REGISTRAR)
        ent, ent2 = keyring.account("ent"), keyring.account("ent-new-key")
        result = ledger.consortium.bind_enterprise(bureau, ent.address, SUBJECT_A)
        assert result.event("EnterpriseBound").args == {
            "subject": SUBJECT_A,
            "account": ent.address,
            "registrar": bureau.address,
        }
        e = ledger.consortium.enterprise(ent.address)
        assert e is not None
        assert (e.subject, e.registrar) == (SUBJECT_A, bureau.address)
        ledger.consortium.rebind_enterprise(bureau, SUBJECT_A, ent2.address)
        assert ledger.consortium.enterprise(ent.address) is None
        assert ledger.consortium.account_of(SUBJECT_A) == ent2.address
        assert ledger.consortium.account_of(SUBJECT_B) is None

    def test_binding_refusals(
        self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount
    ) -> None:
        bureau = self._admit(ledger, keyring, "bureau", "Hefei", Role.REGISTRAR)
        bank = self._admit(ledger, keyring, "bank", "Hefei", Role.ATTESTER)
        ent, other = keyring.account("ent"), keyring.account("other")
        ledger.consortium.bind_enterprise(bureau, ent.address, SUBJECT_A)
        with pytest.raises(ConsortiumSubjectAlreadyBound) as info:
            ledger.consortium.bind_enterprise(bureau, other.address, SUBJECT_A)
        assert (info.value.subject, info.value.account) == (SUBJECT_A, ent.address)
        with pytest.raises(ConsortiumAccountAlreadyBound):
            ledger.consortium.bind_enterprise(bureau, ent.address, SUBJECT_B)
        with pytest.raises(ConsortiumAccountIsMember):
            ledger.consortium.bind_enterprise(bureau, bank.address, SUBJECT_B)
        with pytest.raises(ConsortiumInvalidSubject):
            ledger.consortium.bind_enterprise(bureau, other.address, bytes(32))
        with pytest.raises(ConsortiumUnauthorized):
            ledger.consortium.bind_enterprise(bank, other.address, SUBJECT_B)
        with pytest.raises(ConsortiumSubjectNotBound):
            ledger.consortium.rebind_enterprise(bureau, SUBJECT_B, other.address)
        with pytest.raises(ConsortiumAccountAlreadyBound):
            ledger.consortium.admit_member(regulator, ent.address, "Ent", "Hefei", Role.ATTESTER)

    def test_bind_many_enterprises_at_once(self, ledger: Ledger, keyring: Keyring) -> None:
        bureau = self._admit(ledger, keyring, "bureau", "Hefei", Role.REGISTRAR)
        pairs = [(keyring.account(f"ent{i}").address, bytes([i + 1]) * 32) for i in range(5)]
        result = ledger.consortium.bind_enterprises(bureau, pairs)
        assert [e.args["account"] for e in result.events] == [a for a, _ in pairs]
        for account, subject in pairs:
            assert ledger.consortium.account_of(subject) == account
        clash = [(keyring.account("ent-x").address, b"\x09" * 32), (pairs[0][0], b"\x0a" * 32)]
        with pytest.raises(ConsortiumAccountAlreadyBound):
            ledger.consortium.bind_enterprises(bureau, clash)
        assert ledger.consortium.account_of(b"\x09" * 32) is None  # all or nothing
        codec = ledger.consortium.codec.fn("bindEnterprises")
        with pytest.raises(ConsortiumLengthMismatch):
            ledger.chain.transact(
                bureau, ledger.consortium.address, codec.encode([[pairs[0][0]], []])
            )

    def test_require_enterprise(self, ledger: Ledger, keyring: Keyring) -> None:
        bureau = self._admit(ledger, keyring, "bureau", "Hefei", Role.REGISTRAR)
        ent = keyring.account("ent")
        codec = ledger.consortium.codec.fn("requireEnterprise")
        with pytest.raises(ConsortiumNotEnterprise):
            ledger.chain.call(ledger.consortium.address, codec.encode([ent.address]))
        ledger.consortium.bind_enterprise(bureau, ent.address, SUBJECT_A)
        out = ledger.chain.call(ledger.consortium.address, codec.encode([ent.address]))
        assert codec.decode_output(out) == (SUBJECT_A,)

    def test_publish_encryption_key(self, ledger: Ledger, keyring: Keyring) -> None:
        bank = self._admit(ledger, keyring, "bank", "Shanghai", Role.ATTESTER)
        ledger.consortium.publish_encryption_key(bank, b"\x01" * 32)
        m = ledger.consortium.member(bank.address)
        assert m is not None
        assert m.encryption_key == b"\x01" * 32
        stranger = keyring.account("stranger")
        ledger.chain.fund(stranger.address)
        with pytest.raises(ConsortiumNotMember):
            ledger.consortium.publish_encryption_key(stranger, b"\x02" * 32)

    # -- the chain and the manifest -------------------------------------------------
    def test_reconnect_via_manifest(self, ledger: Ledger, keyring: Keyring, tmp_path: Path) -> None:
        self._admit(ledger, keyring, "bank", "Nanjing", Role.ATTESTER)
        path = ledger.manifest.save(tmp_path / "manifest.json")
        manifest = Manifest.load(path)
        assert manifest == ledger.manifest
        again = attach(self.reconnect(ledger.chain), manifest)
        assert [m.name for m in again.consortium.members()] == [
            m.name for m in ledger.consortium.members()
        ]

    def test_attach_refuses_a_manifest_that_does_not_match(self, ledger: Ledger) -> None:
        wrong_chain = dataclasses.replace(ledger.manifest, chain_id=ledger.chain.chain_id + 1)
        with pytest.raises(ManifestError, match="chain"):
            attach(ledger.chain, wrong_chain)
        entry = dataclasses.replace(
            ledger.manifest.contracts["Consortium"], address="0x" + "12" * 20
        )
        contracts = {**ledger.manifest.contracts, "Consortium": entry}
        no_code = dataclasses.replace(ledger.manifest, contracts=contracts)
        with pytest.raises(ManifestError, match="no contract"):
            attach(ledger.chain, no_code)

    def test_time_travel(self, ledger: Ledger) -> None:
        before = ledger.chain.now()
        after = ledger.chain.advance_time(20 * 86_400)
        assert after == before + 20 * 86_400
        assert ledger.chain.now() == after

    def test_explicit_gas_revert_is_decoded_from_a_mined_failure(
        self, ledger: Ledger, keyring: Keyring
    ) -> None:
        stranger = keyring.account("stranger")
        ledger.chain.fund(stranger.address)
        data = ledger.consortium.codec.fn("suspendMember").encode([stranger.address, bytes(32)])
        before = ledger.chain.backend.block_number()
        with pytest.raises(ConsortiumUnauthorized) as info:
            ledger.chain.transact(stranger, ledger.consortium.address, data, gas=DEFAULT_GAS)
        assert ledger.chain.backend.block_number() == before + 1  # mined, status 0
        assert info.value.tx_hash is not None


class TestConsortiumEmbedded(EmbeddedChain, ConsortiumConformance):
    """The consortium's rules on the embedded chain."""


class TestConsortiumRevm(RevmChain, ConsortiumConformance):
    """On the embedded chain's revm engine."""


class TestConsortiumAnvil(AnvilChain, ConsortiumConformance):
    """The consortium's rules on a real anvil node."""
