"""The collateral registry and credit facilities against a reference model of their rules
(hypothesis stateful).

Random sequences of pledges (by banks and by a member without the financier role, on two
patents that take one pledge at a time and on movable goods that take several), releases
and amendments (by the pledgee and by others, of unknown, released and lapsed pledges),
facilities registered, drawn, repaid, closed and reported overdue by three banks for two
enterprises, joint agreements formed (proposed, joined, accepted; refused while another is
in force), flagged, cleared and ended (by the lead and by others), and moves of the clock
across pledge terms. Every refusal the model predicts is the chain's named error with its
arguments (``CollateralAlreadyPledged(assetId, pledgee)``, ``JointLimitExceeded(subject,
limit, exposure)``, ...). After every step the chain's facilities, exposures and assets
equal the model's. The chain's clock is pinned (one second per block).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ledger_client import Chain, Keyring, Ledger, Role, connect, deploy
from ledger_client.attestations.merkle import keccak256
from ledger_client.lending import (
    CollateralKind,
    FacilityKind,
    PledgeTerms,
    asset_id,
    facility_id,
    ip_key,
    movable_key,
    pledge_id,
)
from ledger_client.types import Hash32
from tests.model_support import FINISHED, Refused, budget, count_step, expect, machine_settings

MACHINE = "lending"
EXAMPLES, STEPS = budget(
    15, 40, examples_env=("LENDING_MODEL_EXAMPLES",), steps_env=("LENDING_MODEL_STEPS",)
)
DAY = 86_400
GENESIS = 1_767_225_600
FACILITY_DAYS = 5_000  # facilities outlive every run: expiry is the unit tests' business
BANKS = ("bank_sh", "bank_nj", "bank_hz")
MEMBERS = {"bank_sh": "Shanghai", "bank_nj": "Nanjing", "bank_hz": "Hangzhou", "bureau": "Hefei"}
ENTERPRISES = {"firm": bytes([0xF1]) * 32, "other": bytes([0xF2]) * 32}
ASSETS: dict[str, tuple[CollateralKind, bytes]] = {
    "patent_1": (CollateralKind.PATENT, ip_key("CNIPA", "ZL1")),
    "patent_2": (CollateralKind.PATENT, ip_key("CNIPA", "ZL2")),
    "goods": (CollateralKind.MOVABLE, movable_key(keccak256(b"400 t copper"))),
}
LABELS = ("x", "y")
AMOUNTS = st.sampled_from([0, 1, 3, 5, 8, 13])  # in units of ¥10,000
UNIT = 10_000_00


@dataclass
class MPledge:
    pledgee: str
    expiry: int
    released: bool = False


@dataclass
class MFacility:
    limit: int
    drawn: int = 0
    closed: bool = False


@dataclass
class MExposure:
    total: int = 0
    joint: int = 0
    limit: int = 0
    agreement: int = 0
    flagged: bool = False


@dataclass
class MAgreement:
    subject: str
    lead: str
    participants: tuple[str, ...]
    active: bool = True


@dataclass
class Model:
    now: int = 0
    pledges: dict[str, list[MPledge]] = field(default_factory=lambda: {a: [] for a in ASSETS})
    facilities: dict[tuple[str, str, str], MFacility] = field(default_factory=dict)
    exposures: dict[str, MExposure] = field(
        default_factory=lambda: {e: MExposure() for e in ENTERPRISES}
    )
    agreements: dict[int, MAgreement] = field(default_factory=dict)


class LendingMachine(RuleBasedStateMachine):
    chain: ClassVar[Chain]
    ledger: ClassVar[Ledger]
    ring: ClassVar[Keyring]
    snapshot: ClassVar[Any]

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        cls.chain.revert(cls.snapshot)
        cls.snapshot = cls.chain.snapshot()
        self.m = Model()

    # -- helpers -------------------------------------------------------------------------
    def acct(self, label: str) -> LocalAccount:
        return self.ring.account(label)

    def show(self, value: Any) -> Any:
        if isinstance(value, str) and value in (*MEMBERS, *ENTERPRISES):
            return self.acct(value).address
        return value

    def next_block(self) -> int:
        return self.chain.now() + 1

    def active(self, asset: str) -> MPledge | None:
        kind = ASSETS[asset][0]
        regs = self.m.pledges[asset]
        if kind is CollateralKind.MOVABLE or not regs:
            return None
        last = regs[-1]
        return None if last.released or last.expiry <= self.next_block() else last

    # -- collateral ------------------------------------------------------------------------
    @rule(
        bank=st.sampled_from((*BANKS, "bureau")),
        asset=st.sampled_from(sorted(ASSETS)),
        days=st.integers(1, 60),
    )
    def pledge(self, bank: str, asset: str, days: int) -> None:
        kind, key = ASSETS[asset]
        expiry = self.chain.now() + days * DAY
        terms = PledgeTerms(kind, Hash32(key), UNIT, expiry)
        cr = self.ledger.collateral
        signed = cr.sign_pledge(self.acct("firm"), terms, pledgee=self.acct(bank).address)

        def predict() -> None:
            if bank == "bureau":
                raise Refused("ConsortiumUnauthorized", account=bank)
            held = self.active(asset)
            if held is not None:
                raise Refused(
                    "CollateralAlreadyPledged", assetId=asset_id(kind, key), pledgee=held.pledgee
                )

        if expect(MACHINE, predict, lambda: cr.pledge(self.acct(bank), signed), show=self.show):
            self.m.pledges[asset].append(MPledge(bank, expiry))

    def _pledge_step(self, actor: str, asset: str, rank: int, amend_days: int | None) -> None:
        kind, key = ASSETS[asset]
        pid = pledge_id(asset_id(kind, key), rank)
        regs = self.m.pledges[asset]
        cr = self.ledger.collateral

        def predict() -> None:
            if rank >= len(regs):
                raise Refused("CollateralUnknownPledge", pledgeId=pid)
            p = regs[rank]
            if actor != p.pledgee:
                raise Refused(
                    "CollateralNotPledgee", pledgeId=pid, account=actor, pledgee=p.pledgee
                )
            if p.released:
                raise Refused("CollateralAlreadyReleased", pledgeId=pid)
            if amend_days is not None and p.expiry <= self.next_block():
                raise Refused("CollateralPledgeLapsed", pledgeId=pid, expiry=p.expiry)

        expiry = self.chain.now() + (amend_days or 1) * DAY
        if amend_days is None:
            act = lambda: cr.release(self.acct(actor), pid)  # noqa: E731
        else:
            act = lambda: cr.amend(self.acct(actor), pid, UNIT, expiry)  # noqa: E731
        if expect(MACHINE, predict, act, show=self.show):
            if amend_days is None:
                regs[rank].released = True
            else:
                regs[rank].expiry = expiry

    @rule(
        actor=st.sampled_from((*BANKS, "firm")),
        asset=st.sampled_from(sorted(ASSETS)),
        rank=st.integers(0, 3),
    )
    def release(self, actor: str, asset: str, rank: int) -> None:
        self._pledge_step(actor, asset, rank, None)

    @rule(
        actor=st.sampled_from(BANKS),
        asset=st.sampled_from(sorted(ASSETS)),
        rank=st.integers(0, 3),
        days=st.integers(1, 90),
    )
    def amend(self, actor: str, asset: str, rank: int, days: int) -> None:
        self._pledge_step(actor, asset, rank, days)

    @rule(days=st.integers(1, 40))
    def time_passes(self, days: int) -> None:
        count_step(MACHINE)
        self.chain.advance_time(days * DAY)

    # -- facilities --------------------------------------------------------------------------
    def subject(self, enterprise: str) -> bytes:
        return ENTERPRISES[enterprise]

    def contract(self, label: str) -> bytes:
        return keccak256(label.encode())

    @rule(
        bank=st.sampled_from((*BANKS, "bureau")),
        ent=st.sampled_from(sorted(ENTERPRISES)),
        label=st.sampled_from(LABELS),
        limit=st.integers(1, 20),
    )
    def register(self, bank: str, ent: str, label: str, limit: int) -> None:
        subject, ch = self.subject(ent), self.contract(label)
        fid = facility_id(subject, self.acct(bank).address, ch)

        def predict() -> None:
            if bank == "bureau":
                raise Refused("ConsortiumUnauthorized", account=bank)
            if (bank, ent, label) in self.m.facilities:
                raise Refused("FacilityExists", facilityId=fid)

        def act() -> Any:
            return self.ledger.facilities.register_facility(
                self.acct(bank),
                subject,
                ch,
                kind=FacilityKind.LOAN,
                limit=limit * UNIT,
                expiry=self.chain.now() + FACILITY_DAYS * DAY,
            )

        if expect(MACHINE, predict, act, show=self.show):
            self.m.facilities[bank, ent, label] = MFacility(limit * UNIT)

    def _known(self, bank: str, ent: str, label: str, *, open_: bool = True) -> MFacility:
        fid = facility_id(self.subject(ent), self.acct(bank).address, self.contract(label))
        f = self.m.facilities.get((bank, ent, label))
        if f is None:
            raise Refused("FacilityUnknown", facilityId=fid)
        if open_ and f.closed:
            raise Refused("FacilityNotOpen", facilityId=fid)
        return f

    def participant(self, bank: str, e: MExposure) -> bool:
        return e.agreement != 0 and bank in self.m.agreements[e.agreement].participants

    @rule(
        bank=st.sampled_from((*BANKS, "bureau")),
        ent=st.sampled_from(sorted(ENTERPRISES)),
        label=st.sampled_from(LABELS),
        amount=AMOUNTS,
    )
    def draw(self, bank: str, ent: str, label: str, amount: int) -> None:
        amount *= UNIT
        e = self.m.exposures[ent]
        fid = facility_id(self.subject(ent), self.acct(bank).address, self.contract(label))

        def predict() -> tuple[int, bool]:
            if bank == "bureau":
                raise Refused("ConsortiumUnauthorized", account=bank)
            f = self._known(bank, ent, label)
            if amount == 0:
                raise Refused("FacilityInvalidAmount", amount=0, bound=f.limit - f.drawn)
            if f.drawn + amount > f.limit:
                raise Refused(
                    "FacilityLimitExceeded", facilityId=fid, limit=f.limit, drawn=f.drawn + amount
                )
            joint = e.joint
            counted = self.participant(bank, e)
            if counted:
                if e.flagged:
                    raise Refused(
                        "JointAgreementOnHold", agreement=e.agreement, subject=self.subject(ent)
                    )
                joint += amount  # every participant balance counts from the agreement's start
                if joint > e.limit:
                    raise Refused(
                        "JointLimitExceeded",
                        subject=self.subject(ent),
                        limit=e.limit,
                        exposure=joint,
                    )
            return joint, counted

        def act() -> Any:
            return self.ledger.facilities.draw(
                self.acct(bank), self.subject(ent), self.contract(label), amount
            )

        done = expect(MACHINE, predict, act, show=self.show)
        if done:
            (joint, counted), _ = done
            f = self.m.facilities[bank, ent, label]
            f.drawn += amount
            e.total += amount
            if counted:
                e.joint = joint

    @rule(
        bank=st.sampled_from(BANKS),
        ent=st.sampled_from(sorted(ENTERPRISES)),
        label=st.sampled_from(LABELS),
        amount=AMOUNTS,
    )
    def repay(self, bank: str, ent: str, label: str, amount: int) -> None:
        amount *= UNIT
        e = self.m.exposures[ent]

        def predict() -> None:
            f = self._known(bank, ent, label)
            if amount == 0 or amount > f.drawn:
                raise Refused("FacilityInvalidAmount", amount=amount, bound=f.drawn)

        def act() -> Any:
            return self.ledger.facilities.repay(
                self.acct(bank), self.subject(ent), self.contract(label), amount
            )

        if expect(MACHINE, predict, act, show=self.show):
            f = self.m.facilities[bank, ent, label]
            f.drawn -= amount
            e.total -= amount
            if self.participant(bank, e):
                e.joint -= amount

    @rule(
        bank=st.sampled_from(BANKS),
        ent=st.sampled_from(sorted(ENTERPRISES)),
        label=st.sampled_from(LABELS),
    )
    def close(self, bank: str, ent: str, label: str) -> None:
        fid = facility_id(self.subject(ent), self.acct(bank).address, self.contract(label))

        def predict() -> None:
            f = self._known(bank, ent, label)
            if f.drawn:
                raise Refused("FacilityOutstanding", facilityId=fid, drawn=f.drawn)

        def act() -> Any:
            return self.ledger.facilities.close(
                self.acct(bank), self.subject(ent), self.contract(label)
            )

        if expect(MACHINE, predict, act, show=self.show):
            self.m.facilities[bank, ent, label].closed = True

    @rule(
        bank=st.sampled_from(BANKS),
        ent=st.sampled_from(sorted(ENTERPRISES)),
        label=st.sampled_from(LABELS),
        amount=AMOUNTS,
    )
    def report_overdue(self, bank: str, ent: str, label: str, amount: int) -> None:
        amount *= UNIT
        e = self.m.exposures[ent]

        def predict() -> None:
            f = self._known(bank, ent, label, open_=False)
            if amount == 0 or amount > f.drawn:
                raise Refused("FacilityInvalidAmount", amount=amount, bound=f.drawn)

        def act() -> Any:
            return self.ledger.facilities.report_overdue(
                self.acct(bank), self.subject(ent), self.contract(label), amount, 30
            )

        if expect(MACHINE, predict, act, show=self.show) and self.participant(bank, e):
            e.flagged = True

    # -- joint agreements --------------------------------------------------------------------
    @rule(
        lead=st.sampled_from(BANKS),
        others=st.sets(st.sampled_from(BANKS), min_size=1, max_size=2),
        ent=st.sampled_from(sorted(ENTERPRISES)),
        limit=st.integers(1, 30),
    )
    def form_agreement(self, lead: str, others: set[str], ent: str, limit: int) -> None:
        banks = (lead, *sorted(others - {lead}))
        if len(banks) < 2:
            return
        cf = self.ledger.facilities
        subject = self.subject(ent)
        shares = [10_000 // len(banks)] * len(banks)
        shares[0] += 10_000 - sum(shares)
        got = expect(
            MACHINE,
            lambda: None,
            lambda: cf.propose_agreement(
                self.acct(lead),
                subject,
                limit * UNIT,
                [self.acct(b).address for b in banks],
                shares,
            ),
        )
        assert got is not None
        no = got[1][0]
        assert no == len(self.m.agreements) + 1
        for bank in banks[1:]:
            expect(MACHINE, lambda: None, partial(cf.join_agreement, self.acct(bank), no))
        e = self.m.exposures[ent]

        def predict() -> None:
            if e.agreement:
                raise Refused("JointAgreementExists", subject=subject, agreement=e.agreement)

        accepted = expect(
            MACHINE,
            predict,
            lambda: cf.accept_agreement(self.acct(lead), cf.sign_acceptance(self.acct(ent), no)),
        )
        self.m.agreements[no] = MAgreement(ent, lead, banks, active=accepted is not None)
        if accepted:
            # It opens at what the participants already lent the enterprise, on any facility.
            lent = sum(
                f.drawn for (b, en, _), f in self.m.facilities.items() if en == ent and b in banks
            )
            e.agreement, e.limit, e.joint, e.flagged = no, limit * UNIT, lent, False

    def _lead_step(self, actor: str, no: int, end: bool) -> None:
        cf = self.ledger.facilities

        def predict() -> None:
            a = self.m.agreements.get(no)
            if a is None:
                raise Refused("JointAgreementUnknown", agreement=no)
            if actor != a.lead:
                raise Refused("JointAgreementNotLead", agreement=no, account=actor)
            e = self.m.exposures[a.subject]
            if not a.active or e.agreement != no:
                raise Refused("JointAgreementWrongStatus", agreement=no)
            if end and e.flagged:
                raise Refused("JointAgreementOnHold", agreement=no, subject=self.subject(a.subject))
            if not end and not e.flagged:
                raise Refused("JointAgreementWrongStatus", agreement=no)

        act = (
            (lambda: cf.end_agreement(self.acct(actor), no))
            if end
            else (lambda: cf.clear_flag(self.acct(actor), no))
        )
        if expect(MACHINE, predict, act, show=self.show):
            a = self.m.agreements[no]
            e = self.m.exposures[a.subject]
            if end:
                a.active = False
                e.agreement, e.joint, e.limit = 0, 0, 0
            else:
                e.flagged = False

    @rule(actor=st.sampled_from(BANKS), no=st.integers(1, 4), end=st.booleans())
    def lead_acts(self, actor: str, no: int, end: bool) -> None:
        self._lead_step(actor, no, end)

    # -- what the chain shows ----------------------------------------------------------------
    @invariant()
    def views_match(self) -> None:
        cf, cr = self.ledger.facilities, self.ledger.collateral
        regulator = self.acct("regulator").address
        for ent, want in self.m.exposures.items():
            got = cf.exposure(regulator, self.subject(ent))
            assert (got.total, got.joint, got.joint_limit, got.agreement, got.flagged) == (
                want.total,
                want.joint,
                want.limit,
                want.agreement,
                want.flagged,
            ), ent
        for (bank, ent, label), want_f in self.m.facilities.items():
            got_f = cf.facility(
                facility_id(self.subject(ent), self.acct(bank).address, self.contract(label))
            )
            assert got_f is not None
            assert (got_f.limit, got_f.drawn, got_f.status == 2) == (
                want_f.limit,
                want_f.drawn,
                want_f.closed,
            )
        for asset, regs in self.m.pledges.items():
            kind, key = ASSETS[asset]
            aid = asset_id(kind, key)
            assert cr.asset(aid).registrations == len(regs)
            held = self.active(asset)
            now_held = cr.active_pledgee(aid)
            # The model looks at the next block; a view runs at the latest one.
            if held is not None and held.expiry > self.chain.now() + 1:
                assert now_held == self.acct(held.pledgee).address


@pytest.mark.slow
def test_collateral_and_facilities_match_their_model() -> None:
    chain = connect("embedded", genesis_timestamp=GENESIS, block_time=1)
    ring = Keyring("model-lending")
    regulator = ring.account("regulator")
    chain.fund(regulator.address)
    ledger = deploy(chain, regulator)
    c = ledger.consortium
    registrar = ring.account("registrar")
    chain.fund(registrar.address)
    c.admit_member(regulator, registrar.address, "registrar", "Hefei", Role.REGISTRAR)
    for label, city in MEMBERS.items():
        chain.fund(ring.account(label).address)
        roles = Role.ATTESTER if label == "bureau" else Role.FINANCIER
        c.admit_member(regulator, ring.account(label).address, label, city, roles)
    for label, subject in ENTERPRISES.items():
        chain.fund(ring.account(label).address)
        c.bind_enterprise(registrar, ring.account(label).address, subject)
    LendingMachine.chain, LendingMachine.ledger, LendingMachine.ring = chain, ledger, ring
    LendingMachine.snapshot = chain.snapshot()
    try:
        run_state_machine_as_test(LendingMachine, settings=machine_settings(EXAMPLES, STEPS))
    finally:
        chain.close()
    FINISHED.add(MACHINE)
