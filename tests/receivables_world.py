"""A small supply chain on a fresh deployment, shared by the receivables tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from ledger_client import Chain, Keyring, Ledger, Role
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.base import TxResult
from ledger_client.contracts.receivables import ReceivablesContract
from ledger_client.types import ReceivableId
from tests.conftest import deploy_for_tests

DAY = 86_400
#: Due dates fall half a day off the whole days the tests move the clock by, so a few
#: seconds of block time never decide which side of a deadline a step lands on.
HALF_DAY = DAY // 2
#: Ether each account of the world gets: plenty for gas, and a node's faucet account
#: (10,000 ether on anvil) covers the whole cast.
FUNDING_WEI = 10 * 10**18

_invoice_numbers = itertools.count(1)


def invoice(label: str | None = None) -> bytes:
    """A fresh invoice commitment (or the commitment to a named invoice): any 32 bytes the
    debtor issues against."""
    return keccak256(f"invoice:{label or next(_invoice_numbers)}".encode())


CONTRACT_HASH = keccak256(b"framework purchase contract HF-2025-017")


@dataclass
class World:
    """A core enterprise, its suppliers' tiers, two banks and the rest of the cast."""

    ledger: Ledger
    regulator: LocalAccount
    registrar: LocalAccount
    bank_a: LocalAccount  # financier, Shanghai
    bank_b: LocalAccount  # financier, Nanjing
    bureau: LocalAccount  # attester only: no financier role
    core: LocalAccount  # Hefei core enterprise: the debtor
    tier1: LocalAccount  # Nanjing
    tier2: LocalAccount  # Jiaxing
    tier3: LocalAccount  # Hangzhou
    other_core: LocalAccount  # a second core enterprise
    stranger: LocalAccount  # funded, bound to nothing
    subjects: dict[str, bytes] = field(default_factory=dict)  # account -> subject id

    @property
    def chain(self) -> Chain:
        return self.ledger.chain

    @property
    def rc(self) -> ReceivablesContract:
        return self.ledger.receivables

    @property
    def enterprises(self) -> list[LocalAccount]:
        return [self.core, self.tier1, self.tier2, self.tier3, self.other_core]

    def subject(self, account: LocalAccount) -> bytes:
        return self.subjects[account.address]

    def due_in(self, days: int) -> int:
        """A due date ``days`` (and half a day) from now."""
        return self.chain.now() + days * DAY + HALF_DAY

    def issue(
        self,
        amount: int = 1_000_000_00,
        *,
        days: int = 60,
        supplier: LocalAccount | None = None,
        debtor: LocalAccount | None = None,
        invoices: list[bytes] | None = None,
        accept: bool = True,
    ) -> ReceivableId:
        """Issue (and by default accept) a receivable from the core enterprise to tier 1."""
        supplier = supplier or self.tier1
        result = self.rc.issue_receivable(
            debtor or self.core,
            supplier.address,
            amount,
            self.due_in(days),
            contract_hash=CONTRACT_HASH,
            invoice_commitments=invoices or [invoice()],
        )
        if accept:
            self.rc.accept(supplier, result.receivable_id)
        return result.receivable_id

    def request_financing(
        self,
        holder: LocalAccount,
        receivable_id: bytes,
        bank: str,
        *,
        min_advance: int = 1,
        max_discount_bps: int = 10_000,
        days: int = 30,
    ) -> TxResult:
        """The holder asks ``bank`` to finance a part; by default on any terms (at least 1 fen,
        at most a 100 % discount) for ``days`` days."""
        return self.rc.request_financing(
            holder,
            receivable_id,
            bank,
            min_advance_fen=min_advance,
            max_discount_bps=max_discount_bps,
            expires_at=self.chain.now() + days * DAY,
        )


def build_world(chain: Chain, keyring: Keyring) -> World:
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
    world = World(
        ledger=ledger,
        regulator=regulator,
        registrar=registrar,
        bank_a=member("bank-a", "Shanghai", Role.FINANCIER | Role.ATTESTER),
        bank_b=member("bank-b", "Nanjing", Role.FINANCIER),
        bureau=member("bureau", "Hangzhou", Role.ATTESTER),
        core=keyring.account("core"),
        tier1=keyring.account("tier1"),
        tier2=keyring.account("tier2"),
        tier3=keyring.account("tier3"),
        other_core=keyring.account("other-core"),
        stranger=keyring.account("stranger"),
    )
    chain.fund(world.stranger.address, FUNDING_WEI)
    for n, ent in enumerate(world.enterprises, start=1):
        chain.fund(ent.address, FUNDING_WEI)
        subject = keccak256(f"subject-{n}".encode())
        c.bind_enterprise(registrar, ent.address, subject)
        world.subjects[ent.address] = subject
    return world
