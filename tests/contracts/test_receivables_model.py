"""Random sequences of receivable operations against a small Python reference model.

Each step is predicted by the model (success, or the name of the error the
contract must raise), run on the embedded chain, and compared; after every step
the chain's parts must match the model's, the parts of every receivable must
add up to its face value, and no part may be financed while already financed.
At the end of each run the event projection must agree with the model as well.

Bounded for ``make test``; ``RECEIVABLES_MODEL_EXAMPLES=500`` runs it harder
(``MODEL_EXAMPLES`` / ``MODEL_STEPS`` set every model machine's budget).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ledger_client import Keyring, connect
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.receivables import DEFAULT_GRACE_PERIOD, MAX_PARTS
from ledger_client.index.receivables import ReceivablesLog
from ledger_client.types import Hash32
from ledger_client.types import ReceivableStatus as S
from tests.model_support import (
    FINISHED,
    STEP_COUNTS,
    Refused,
    budget,
    count_step,
    expect,
    machine_settings,
)
from tests.receivables_world import CONTRACT_HASH, DAY, HALF_DAY, World, build_world

MACHINE = "receivables"
EXAMPLES, STEPS = budget(
    60, 20, examples_env=("RECEIVABLES_MODEL_EXAMPLES",), steps_env=("RECEIVABLES_MODEL_STEPS",)
)
INVOICES = [keccak256(f"model-invoice-{i}".encode()) for i in range(40)]
N_ENTERPRISES = 5  # actors 0..4 are enterprises, 5..7 banks (7 has no financier role)
ACTORS = range(8)
BANKS = (5, 6, 7)
NO_ROLE_BANK = 7
#: Who acts: 0..7 name an actor, anything above means "the party entitled to", so that
#: about half the steps get past the permission checks to the rules behind them.
WHO = st.sampled_from([len(ACTORS)] * len(ACTORS) + list(ACTORS))
# Hypothesis favours a one_of's first branches: the refusals come last.
AMOUNTS = st.one_of(st.integers(0, 10**9), st.integers(1, 20))


@dataclass
class MPart:
    """The model of one part."""

    holder: int  # actor number of the enterprise holding it
    amount: int
    parent: int | None  # part number it was split from
    status: S
    financier: int | None = None  # actor number of the bank with a financing on it
    #: bank -> (holder who asked, least advance, highest discount bps, expiry)
    requests: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)

    def request_of(self, bank: int) -> tuple[int, int, int, int] | None:
        """The terms this part's current holder asked ``bank`` for, or None."""
        req = self.requests.get(bank)
        return req if req is not None and req[0] == self.holder else None


def _active(p: MPart) -> bool:
    return p.status == S.ACTIVE


def _asked(p: MPart) -> bool:
    # a financed part another bank was asked to finance too: the second bank's attempt
    return p.status in (S.ACTIVE, S.FINANCED) and any(
        req[0] == p.holder for req in p.requests.values()
    )


def _financed(p: MPart) -> bool:
    return p.financier is not None


def _unpaid_unmarked(p: MPart) -> bool:
    return p.status in (S.ACTIVE, S.FINANCED)


def _outstanding(p: MPart) -> bool:
    return p.status.outstanding


@dataclass
class MReceivable:
    """The model of one issued receivable and its parts."""

    rid: bytes
    debtor: int
    face: int
    due: int
    invoices: list[Hash32]
    parts: list[MPart]

    def part_id(self, n: int) -> bytes:
        return (int.from_bytes(self.rid, "big") | n).to_bytes(32, "big")


class ReceivablesMachine(RuleBasedStateMachine):
    """Drives the contract and the model side by side."""

    world: ClassVar[World]
    snapshot: ClassVar[Any]

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        w.chain.revert(type(self).snapshot)
        type(self).snapshot = w.chain.snapshot()
        self.actors: list[LocalAccount] = [
            w.core,
            w.tier1,
            w.tier2,
            w.tier3,
            w.other_core,
            w.bank_a,
            w.bank_b,
            w.bureau,
        ]
        self.receivables: list[MReceivable] = []
        self.invoice_owner: dict[tuple[int, bytes], bytes] = {}  # (debtor, commitment) -> rid
        self.live_financings: dict[bytes, str] = {}  # from the chain's own events

    # -- helpers ----------------------------------------------------------------------
    def now(self) -> int:
        # The next block's time: a few seconds at most after the latest; due dates sit
        # half a day off whole days, so the difference never decides a comparison.
        return self.world.chain.now() + 1

    def pick(
        self, n: int, likely: Callable[[MPart], bool]
    ) -> tuple[MReceivable, int, MPart] | None:
        """A part: for an even ``n`` a ``likely`` one when there is one, else any."""
        refs = [(r, i, p) for r in self.receivables for i, p in enumerate(r.parts)]
        if n % 2 == 0:
            refs = [ref for ref in refs if likely(ref[2])] or refs
        return refs[n // 2 % len(refs)] if refs else None

    def run(self, predict: Callable[[], Callable[[], None]], act: Callable[[], Any]) -> Any:
        """Predict, act, compare; on success apply the model's change."""
        outcome = expect(MACHINE, predict, act)
        if outcome is None:
            return None
        apply, result = outcome
        apply()
        for ev in result.events:
            if ev.name == "ReceivableFinanced":
                assert ev.args["id"] not in self.live_financings, "financed twice"
                self.live_financings[ev.args["id"]] = ev.args["financier"]
            elif ev.name == "FinancingReleased":
                del self.live_financings[ev.args["id"]]
        return result

    def require_enterprise(self, actor: int) -> None:
        if actor >= N_ENTERPRISES:
            raise Refused("ConsortiumNotEnterprise")

    def require_holder(self, actor: int, part: MPart) -> None:
        self.require_enterprise(actor)
        if actor != part.holder:
            raise Refused("ReceivablesNotHolder")

    def require_movable(self, r: MReceivable, part: MPart) -> None:
        if part.status == S.FINANCED:
            raise Refused("ReceivablesAlreadyFinanced", financier=self.addr(part.financier))
        if part.status != S.ACTIVE:
            raise Refused("ReceivablesWrongStatus", status=int(part.status))
        if self.now() >= r.due:
            raise Refused("ReceivablesMatured")

    def require_financier(self, bank: int) -> None:
        if bank not in BANKS or bank == NO_ROLE_BANK:
            raise Refused("ConsortiumUnauthorized")

    @staticmethod
    def actor(who: int, right: int) -> int:
        """``who`` when it names an actor (0..7), else the party entitled to act."""
        return who if who < len(ACTORS) else right

    def addr(self, actor: int | None) -> str:
        assert actor is not None
        return self.actors[actor].address

    # -- rules ------------------------------------------------------------------------
    @initialize(amounts=st.lists(st.integers(2, 10**9), min_size=1, max_size=2))
    def accepted_receivables(self, amounts: list[int]) -> None:
        """Start from accepted receivables, so that short runs reach the later rules."""
        for n, amount in enumerate(amounts):
            debtor, offset = (0, 1) if n == 0 else (4, 3)  # core -> tier 1, other core -> tier 2
            self.issue(debtor, offset, amount, days=10 + 20 * n, invoices=[30 + n])
            self.accept_or_reject(len(self.receivables) - 1, len(ACTORS), accept=1, keep=0)
        # the first holder shops its receivable around both banks: they may race
        for bank in BANKS[:2]:
            self.request_financing(0, len(ACTORS), bank, least=1, most_bps=10_000, days=30)

    @rule(
        debtor=st.integers(0, N_ENTERPRISES - 1),
        offset=st.integers(1, N_ENTERPRISES),
        amount=AMOUNTS,
        days=st.integers(1, 120),
        invoices=st.lists(st.integers(0, len(INVOICES) - 1), min_size=1, max_size=2),
    )
    def issue(self, debtor: int, offset: int, amount: int, days: int, invoices: list[int]) -> None:
        supplier = (debtor + offset) % N_ENTERPRISES  # offset 5: the debtor itself
        hashes = [INVOICES[i] for i in invoices]
        due = self.world.chain.now() + days * DAY + HALF_DAY
        rid = ((len(self.receivables) + 1) << 24).to_bytes(32, "big")

        def predict() -> Callable[[], None]:
            if supplier == debtor:
                raise Refused("ReceivablesInvalidRecipient")
            if amount == 0:
                raise Refused("ReceivablesInvalidAmount")
            # a commitment is keyed by its debtor: another debtor's use of it blocks nothing
            seen = dict(self.invoice_owner)
            for h in hashes:
                if (debtor, h) in seen:
                    raise Refused(
                        "ReceivablesDuplicateInvoice",
                        invoiceCommitment=h,
                        receivableId=seen[debtor, h],
                    )
                seen[debtor, h] = rid

            def apply() -> None:
                self.invoice_owner = seen
                part = MPart(holder=supplier, amount=amount, parent=None, status=S.PENDING)
                self.receivables.append(MReceivable(rid, debtor, amount, due, hashes, [part]))

            return apply

        self.run(
            predict,
            lambda: self.world.rc.issue_receivable(
                self.actors[debtor],
                self.actors[supplier].address,
                amount,
                due,
                contract_hash=CONTRACT_HASH,
                invoice_commitments=hashes,
            ),
        )

    # three accepts to one reject
    @rule(n=st.integers(0, 1000), who=WHO, accept=st.integers(0, 3), keep=st.integers())
    def accept_or_reject(self, n: int, who: int, accept: int, keep: int) -> None:
        if not self.receivables:
            return
        r = self.receivables[n % len(self.receivables)]
        part = r.parts[0]
        actor = self.actor(who, part.holder)
        release = [h for i, h in enumerate(r.invoices) if keep >> i & 1]
        if keep < 0:
            release.append(INVOICES[n % len(INVOICES)])  # perhaps someone else's

        def predict() -> Callable[[], None]:
            self.require_holder(actor, part)
            if part.status != S.PENDING:
                raise Refused("ReceivablesWrongStatus", status=int(part.status))
            if accept:
                return lambda: setattr(part, "status", S.ACTIVE)
            owner = dict(self.invoice_owner)
            for h in release:
                if owner.get((r.debtor, h)) != r.rid:
                    raise Refused("ReceivablesInvoiceMismatch", invoiceCommitment=h)
                del owner[r.debtor, h]

            def apply() -> None:
                part.status = S.REJECTED
                self.invoice_owner = owner

            return apply

        signer = self.actors[actor]
        if accept:
            self.run(predict, lambda: self.world.rc.accept(signer, r.rid))
        else:
            self.run(predict, lambda: self.world.rc.reject(signer, r.rid, release))

    @rule(
        n=st.integers(0, 1000),
        who=WHO,
        to=st.integers(0, N_ENTERPRISES - 1),
        amount=st.one_of(st.none(), AMOUNTS),
    )
    def transfer_or_split(self, n: int, who: int, to: int, amount: int | None) -> None:
        ref = self.pick(n, _active)
        if ref is None:
            return
        r, index, part = ref
        actor = self.actor(who, part.holder)
        if amount is not None and amount > 20:
            amount %= part.amount + 1  # mostly a real part of it

        def predict() -> Callable[[], None]:
            self.require_holder(actor, part)
            self.require_movable(r, part)
            if amount is not None and not 0 < amount < part.amount:
                raise Refused("ReceivablesInvalidAmount", amount=amount, limit=part.amount - 1)
            if to in (r.debtor, part.holder):
                raise Refused("ReceivablesInvalidRecipient")
            if amount is None:
                return lambda: setattr(part, "holder", to)
            if len(r.parts) >= MAX_PARTS:
                raise Refused("ReceivablesTooManyParts", maxParts=MAX_PARTS)

            def apply() -> None:
                part.amount -= amount
                r.parts.append(MPart(holder=to, amount=amount, parent=index, status=S.ACTIVE))

            return apply

        signer, dest, pid = self.actors[actor], self.actors[to].address, r.part_id(index)
        if amount is None:
            self.run(predict, lambda: self.world.rc.transfer(signer, pid, dest))
        else:
            self.run(predict, lambda: self.world.rc.transfer_part(signer, pid, dest, amount))

    @rule(
        n=st.integers(0, 1000),
        who=WHO,
        bank=st.sampled_from(BANKS),
        least=AMOUNTS,
        most_bps=st.integers(0, 10_050),
        days=st.integers(-1, 20),
    )
    def request_financing(
        self, n: int, who: int, bank: int, *, least: int, most_bps: int, days: int
    ) -> None:
        ref = self.pick(n, _active)
        if ref is None:
            return
        r, index, part = ref
        actor = self.actor(who, part.holder)
        if least > 20:
            least %= part.amount + 2  # mostly at most the part's amount
        expires = self.world.chain.now() + days * DAY + HALF_DAY  # -1: half a day ago

        def predict() -> Callable[[], None]:
            self.require_holder(actor, part)
            self.require_movable(r, part)
            self.require_financier(bank)
            if not 0 < least <= part.amount:
                raise Refused("ReceivablesInvalidAmount", amount=least, limit=part.amount)
            if most_bps > 10_000:
                raise Refused("ReceivablesInvalidDiscount", discountBps=most_bps)
            if expires <= self.now():
                raise Refused("ReceivablesInvalidExpiry", expiresAt=expires)
            terms = (part.holder, least, most_bps, expires)
            return lambda: part.requests.__setitem__(bank, terms)

        self.run(
            predict,
            lambda: self.world.rc.request_financing(
                self.actors[actor],
                r.part_id(index),
                self.addr(bank),
                min_advance_fen=least,
                max_discount_bps=most_bps,
                expires_at=expires,
            ),
        )

    @rule(
        n=st.integers(0, 1000),
        who=WHO,
        advance=AMOUNTS,
        bps=st.integers(0, 10_050),
        on_terms=st.booleans(),
    )
    def finance(self, n: int, who: int, advance: int, bps: int, on_terms: bool) -> None:
        ref = self.pick(n, _asked)
        if ref is None:
            return
        r, index, part = ref
        asked = [bank for bank in part.requests if part.request_of(bank) is not None]
        bank = self.actor(who, asked[0] if asked else BANKS[0])
        request = part.request_of(bank)
        if on_terms and request is not None:
            advance, bps = request[1], request[2]  # exactly what the holder asked for
        elif advance > 20:
            advance %= part.amount + 2  # mostly at most the part's amount

        def predict() -> Callable[[], None]:
            self.require_financier(bank)
            self.require_movable(r, part)
            if request is None:
                raise Refused("ReceivablesNoFinancingRequest")
            _, least, most_bps, expires = request
            if self.now() > expires:
                raise Refused("ReceivablesFinancingRequestExpired", expiresAt=expires)
            if advance > part.amount:
                raise Refused("ReceivablesInvalidAmount", amount=advance, limit=part.amount)
            if advance < least or bps > most_bps:
                raise Refused(
                    "ReceivablesTermsNotAgreed",
                    financier=self.addr(bank),
                    advance=advance,
                    discountBps=bps,
                )

            def apply() -> None:
                del part.requests[bank]
                part.status = S.FINANCED
                part.financier = bank

            return apply

        self.run(
            predict,
            lambda: self.world.rc.finance(self.actors[bank], r.part_id(index), advance, bps),
        )

    @rule(n=st.integers(0, 1000), who=WHO)
    def release_financing(self, n: int, who: int) -> None:
        ref = self.pick(n, _financed)
        if ref is None:
            return
        r, index, part = ref
        bank = self.actor(who, BANKS[0] if part.financier is None else part.financier)

        def predict() -> Callable[[], None]:
            if part.financier is None:
                raise Refused("ReceivablesNotFinanced")
            if bank != part.financier:
                raise Refused("ReceivablesNotFinancier")
            if part.status == S.PAID:
                raise Refused("ReceivablesWrongStatus")

            def apply() -> None:
                part.financier = None
                if part.status == S.FINANCED:
                    part.status = S.ACTIVE

            return apply

        self.run(
            predict,
            lambda: self.world.rc.release_financing(self.actors[bank], r.part_id(index)),
        )

    @rule(picks=st.lists(st.integers(0, 1000), min_size=1, max_size=3), who=WHO)
    def settle(self, picks: list[int], who: int) -> None:
        refs = [ref for ref in (self.pick(n, _outstanding) for n in picks) if ref is not None]
        if not refs:
            return
        actor = self.actor(who, refs[0][0].debtor)

        def predict() -> Callable[[], None]:
            self.require_enterprise(actor)
            paid: set[int] = set()
            for r, _, part in refs:
                if actor != r.debtor:
                    raise Refused("ReceivablesNotDebtor")
                if id(part) in paid or not part.status.outstanding:
                    raise Refused("ReceivablesWrongStatus")
                if self.now() < r.due:
                    raise Refused("ReceivablesNotDue")
                paid.add(id(part))

            def apply() -> None:
                for _, _, part in refs:
                    part.status = S.PAID

            return apply

        ids = [r.part_id(i) for r, i, _ in refs]
        self.run(predict, lambda: self.world.rc.settle(self.actors[actor], ids))

    @rule(n=st.integers(0, 1000), who=WHO)
    def mark_overdue(self, n: int, who: int) -> None:
        ref = self.pick(n, _unpaid_unmarked)
        if ref is None:
            return
        r, index, part = ref
        actor = self.actor(who, part.holder if part.financier is None else part.financier)

        def predict() -> Callable[[], None]:
            if part.financier is not None:
                if actor != part.financier:
                    raise Refused("ReceivablesNotPayee")
            else:
                self.require_enterprise(actor)
                if actor != part.holder:
                    raise Refused("ReceivablesNotPayee")
            if part.status not in (S.ACTIVE, S.FINANCED):
                raise Refused("ReceivablesWrongStatus")
            if self.now() <= r.due + DEFAULT_GRACE_PERIOD:
                raise Refused("ReceivablesNotOverdue")
            return lambda: setattr(part, "status", S.OVERDUE)

        self.run(predict, lambda: self.world.rc.mark_overdue(self.actors[actor], r.part_id(index)))

    @rule(days=st.integers(1, 40))
    def time_passes(self, days: int) -> None:
        self.world.chain.advance_time(days * DAY)
        count_step(MACHINE)

    # -- invariants -------------------------------------------------------------------
    @invariant()
    def chain_matches_the_model(self) -> None:
        rc = self.world.rc
        for r in self.receivables:
            assert sum(p.amount for p in r.parts) == r.face  # the model's own sum
            balance = rc.balance(r.rid)
            assert balance.parts_total_fen == balance.face_value_fen == r.face
            assert balance.outstanding_fen == sum(p.amount for p in r.parts if p.status.outstanding)
            assert balance.paid_fen == sum(p.amount for p in r.parts if p.status == S.PAID)
            ids = [r.part_id(i) for i in range(len(r.parts))]
            assert rc.parts(r.rid) == ids
            assert rc.parts(r.rid, 1, 2) == ids[1:3]  # a page
            for i, p in enumerate(r.parts):
                on_chain = rc.receivable(r.part_id(i))
                assert on_chain is not None
                holder = self.world.subject(self.actors[p.holder])
                financier = None if p.financier is None else self.addr(p.financier)
                assert (on_chain.holder, on_chain.amount_fen, on_chain.status) == (
                    holder,
                    p.amount,
                    p.status,
                )
                assert on_chain.financier == financier
                parent = None if p.parent is None else r.part_id(p.parent)
                assert on_chain.parent == parent
        for (debtor, h), rid in self.invoice_owner.items():
            assert rc.receivable_of_invoice(self.world.subject(self.actors[debtor]), h) == rid

    @invariant()
    def one_financing_per_part(self) -> None:
        financed = {
            r.part_id(i): self.addr(p.financier)
            for r in self.receivables
            for i, p in enumerate(r.parts)
            if p.financier is not None
        }
        assert financed == self.live_financings

    def teardown(self) -> None:
        """The event projection, fed the whole run, agrees with the model too."""
        log = ReceivablesLog(self.world.ledger)
        log.follow()
        for r in self.receivables:
            for i, p in enumerate(r.parts):
                indexed = log.part(r.part_id(i))
                assert indexed is not None
                financier = None if p.financier is None else self.addr(p.financier)
                assert (indexed.holder, indexed.amount_fen, indexed.status, indexed.financier) == (
                    self.world.subject(self.actors[p.holder]),
                    p.amount,
                    p.status,
                    financier,
                )
        for n, account in enumerate(self.actors[:N_ENTERPRISES]):
            owed = sum(
                p.amount
                for r in self.receivables
                if r.debtor == n
                for p in r.parts
                if p.status.outstanding
            )
            assert sum(e.amount_fen for e in log.payables(self.world.subject(account))) == owed


@pytest.mark.slow
def test_random_sequences_keep_the_sum_and_never_finance_twice() -> None:
    chain = connect("embedded")
    try:
        ReceivablesMachine.world = build_world(chain, Keyring("receivables-model"))
        ReceivablesMachine.snapshot = chain.snapshot()
        before = STEP_COUNTS[MACHINE]
        run_state_machine_as_test(ReceivablesMachine, settings=machine_settings(EXAMPLES, STEPS))
        assert STEP_COUNTS[MACHINE] - before > EXAMPLES
    finally:
        chain.close()
    FINISHED.add(MACHINE)
