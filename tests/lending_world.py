"""Banks of three cities, enterprises and a supply chain on a fresh deployment, shared by
the collateral registry and credit facilities tests."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from ledger_client import Chain, Keyring, Ledger, Role
from ledger_client.attestations.merkle import keccak256
from ledger_client.lending import (
    CollateralKind,
    CollateralRegistryContract,
    CreditFacilitiesContract,
    FacilityKind,
    PledgeTerms,
    ip_key,
)
from ledger_client.lending.collateral import Pledged
from ledger_client.types import Hash32, ReceivableId
from tests.conftest import deploy_for_tests
from tests.receivables_world import FUNDING_WEI, invoice

DAY = 86_400
YEAR = 365 * DAY
MILLION = 1_000_000_00  # ¥1m in fen
PATENT = ip_key("CNIPA", "ZL202310001234.5")


def contract(label: str) -> Hash32:
    """The hash of a credit contract named ``label``."""
    return keccak256(f"credit contract {label}".encode())


@dataclass
class LendingWorld:
    """Three banks (Shanghai, Nanjing, Hangzhou), a bureau, enterprises and a core enterprise."""

    ledger: Ledger
    regulator: LocalAccount
    registrar: LocalAccount
    bank_a: LocalAccount
    bank_b: LocalAccount
    bank_c: LocalAccount
    bureau: LocalAccount  # attester only: no financier role
    firm: LocalAccount  # the borrower and pledgor
    other: LocalAccount  # another enterprise
    core: LocalAccount  # a core enterprise issuing receivables to ``firm``

    @property
    def chain(self) -> Chain:
        return self.ledger.chain

    @property
    def cr(self) -> CollateralRegistryContract:
        return self.ledger.collateral

    @property
    def cf(self) -> CreditFacilitiesContract:
        return self.ledger.facilities

    def subject(self, account: LocalAccount) -> bytes:
        member = self.ledger.consortium.enterprise(account.address)
        assert member is not None, f"{account.address} is not a bound enterprise"
        return member.subject

    def terms(
        self,
        kind: CollateralKind = CollateralKind.PATENT,
        key: bytes = PATENT,
        amount: int = MILLION,
        days: int = 365,
    ) -> PledgeTerms:
        return PledgeTerms(kind, Hash32(key), amount, self.chain.now() + days * DAY)

    def pledge(
        self,
        bank: LocalAccount,
        terms: PledgeTerms | None = None,
        pledgor: LocalAccount | None = None,
    ) -> Pledged:
        """``pledgor`` (the firm) consents and ``bank`` registers the pledge."""
        terms = terms or self.terms()
        signed = self.cr.sign_pledge(pledgor or self.firm, terms, pledgee=bank.address)
        return self.cr.pledge(bank, signed)

    def receivable(self, amount: int = MILLION) -> ReceivableId:
        """A receivable the core owes the firm, accepted."""
        rc = self.ledger.receivables
        issued = rc.issue_receivable(
            self.core,
            self.firm.address,
            amount,
            self.chain.now() + 90 * DAY,
            contract_hash=keccak256(b"purchase contract"),
            invoice_commitments=[invoice()],
        )
        rc.accept(self.firm, issued.receivable_id)
        return issued.receivable_id

    def facility(
        self,
        bank: LocalAccount,
        label: str,
        limit: int = 10 * MILLION,
        *,
        pledges: tuple[bytes, ...] = (),
    ) -> Hash32:
        return self.cf.register_facility(
            bank,
            self.subject(self.firm),
            contract(label),
            kind=FacilityKind.LOAN,
            limit=limit,
            expiry=self.chain.now() + YEAR,
            pledge_ids=pledges,
        ).facility_id

    def joint(self, limit: int, banks: tuple[LocalAccount, ...], shares: tuple[int, ...]) -> int:
        """A joint agreement for the firm led by ``banks[0]``, joined by all and accepted."""
        lead = banks[0]
        no, _ = self.cf.propose_agreement(
            lead, self.subject(self.firm), limit, [b.address for b in banks], shares
        )
        for bank in banks[1:]:
            self.cf.join_agreement(bank, no)
        self.cf.accept_agreement(lead, self.cf.sign_acceptance(self.firm, no))
        return no


def build_lending_world(chain: Chain, keyring: Keyring) -> LendingWorld:
    """Deploy and populate the world on ``chain``."""
    ledger = deploy_for_tests(chain, keyring)
    regulator = keyring.account("regulator")
    c = ledger.consortium

    def member(label: str, city: str, roles: Role) -> LocalAccount:
        acct = keyring.account(label)
        chain.fund(acct.address, FUNDING_WEI)
        c.admit_member(regulator, acct.address, label, city, roles)
        return acct

    registrar = member("registrar", "Hefei", Role.REGISTRAR)
    world = LendingWorld(
        ledger=ledger,
        regulator=regulator,
        registrar=registrar,
        bank_a=member("bank-a", "Shanghai", Role.FINANCIER),
        bank_b=member("bank-b", "Nanjing", Role.FINANCIER),
        bank_c=member("bank-c", "Hangzhou", Role.FINANCIER),
        bureau=member("bureau", "Hefei", Role.ATTESTER),
        firm=keyring.account("firm"),
        other=keyring.account("other"),
        core=keyring.account("core"),
    )
    for n, ent in enumerate((world.firm, world.other, world.core), start=1):
        chain.fund(ent.address, FUNDING_WEI)
        c.bind_enterprise(registrar, ent.address, keccak256(f"lending-subject-{n}".encode()))
    return world
