"""The audit's lending rules on synthetic event streams: ``DoublePledge`` and
``ExposureAboveJointLimit``, each found with the event that caused it.

The contracts refuse both; the streams are built by hand to show that the replay would
catch them if a contract, a node or a copy of the events ever let one through.
"""

from __future__ import annotations

import pytest

from ledger_client.audit import Breach, Replay
from ledger_client.lending import (
    CollateralKind,
    asset_id,
    facility_id,
    ip_key,
    movable_key,
    pledge_id,
)
from tests.audit_streams import BANK, DAY, OTHER_BANK, RECEIVABLES, SUBJ_A, SUBJ_B, CleanWorld, h

THIRD_BANK = "0x" + "33" * 20

PATENT = ip_key("CNIPA", "ZL1")


def replay(world: CleanWorld) -> list[Breach]:
    return Replay(receivables_address=RECEIVABLES).run(world.events)


def named(breaches: list[Breach], name: str) -> list[Breach]:
    return [b for b in breaches if b.name == name]


def pledge(world: CleanWorld, kind: CollateralKind, key: bytes, bank: str, rank: int) -> None:
    aid = asset_id(kind, key)
    world.emit(
        "CollateralRegistry",
        "CollateralPledged",
        pledgeId=pledge_id(aid, rank),
        assetId=aid,
        pledgor=SUBJ_B,
        pledgee=bank,
        kind=int(kind),
        key=key,
        securedAmount=1_000,
        expiry=world.time + 30 * DAY,
    )


@pytest.fixture
def world() -> CleanWorld:
    return CleanWorld()


def test_a_patent_pledged_twice_while_the_first_is_in_force(world: CleanWorld) -> None:
    pledge(world, CollateralKind.PATENT, PATENT, BANK, 0)
    pledge(world, CollateralKind.PATENT, PATENT, OTHER_BANK, 1)
    (b,) = named(replay(world), "DoublePledge")
    assert (b.tx_hash, b.event) == (world.last.tx_hash, "CollateralRegistry.CollateralPledged")


def test_a_second_pledge_after_a_release_or_lapse_and_ranked_movables_are_no_breach(
    world: CleanWorld,
) -> None:
    pledge(world, CollateralKind.PATENT, PATENT, BANK, 0)
    aid = asset_id(CollateralKind.PATENT, PATENT)
    world.emit(
        "CollateralRegistry",
        "PledgeReleased",
        pledgeId=pledge_id(aid, 0),
        assetId=aid,
        pledgee=BANK,
    )
    pledge(world, CollateralKind.PATENT, PATENT, OTHER_BANK, 1)
    world.advance(31 * DAY)
    pledge(world, CollateralKind.PATENT, PATENT, BANK, 2)
    goods = movable_key(h("copper"))
    pledge(world, CollateralKind.MOVABLE, goods, BANK, 0)
    pledge(world, CollateralKind.MOVABLE, goods, OTHER_BANK, 1)
    assert named(replay(world), "DoublePledge") == []


def test_a_financed_receivable_pledged(world: CleanWorld) -> None:
    pledge(world, CollateralKind.RECEIVABLE, world.part, OTHER_BANK, 0)
    (b,) = named(replay(world), "DoublePledge")
    assert "while financed" in b.detail


def test_a_pledged_receivable_financed(world: CleanWorld) -> None:
    pledge(world, CollateralKind.RECEIVABLE, world.rid, OTHER_BANK, 0)
    world.request_financing(world.rid, SUBJ_B, BANK)
    world.finance(world.rid, SUBJ_B, BANK, 500_000)
    (b,) = named(replay(world), "DoublePledge")
    assert (b.tx_hash, b.event) == (world.last.tx_hash, "Receivables.ReceivableFinanced")


def test_a_draw_past_the_joint_limit_counting_balances_from_before_the_agreement(
    world: CleanWorld,
) -> None:
    """The auditor recomputes the joint exposure from every participant's draws and
    repayments: a stream whose events under-report it (a balance drawn before the agreement
    left out, as a faulty contract would) is still caught."""

    def flow(event: str, lender: str, amount: int, reported_joint: int) -> None:
        world.emit(
            "CreditFacilities",
            event,
            facilityId=h(f"facility {lender}"),
            subject=SUBJ_A,
            lender=lender,
            amount=amount,
            drawn=amount,
            total=amount,
            joint=reported_joint,
        )

    flow("FacilityDrawn", OTHER_BANK, 600, 0)  # before the agreement: no limit yet
    world.emit(
        "CreditFacilities",
        "JointAgreementProposed",
        agreement=1,
        subject=SUBJ_A,
        lead=BANK,
        jointLimit=900,
        participants=[BANK, OTHER_BANK],
        sharesBps=[5_000, 5_000],
    )
    world.emit(
        "CreditFacilities",
        "JointAgreementActivated",
        agreement=1,
        subject=SUBJ_A,
        jointLimit=900,
        joint=600,
    )
    flow("FacilityDrawn", BANK, 300, 300)  # 900 with the 600 from before: at the limit
    assert named(replay(world), "ExposureAboveJointLimit") == []
    flow("FacilityDrawn", BANK, 1, 301)  # the event under-reports; the auditor does not
    (b,) = named(replay(world), "ExposureAboveJointLimit")
    assert (b.tx_hash, b.event) == (world.last.tx_hash, "CreditFacilities.FacilityDrawn")
    assert "901 fen" in b.detail
    flow("FacilityRepaid", OTHER_BANK, 101, 200)
    flow("FacilityDrawn", OTHER_BANK, 100, 300)  # back to 900
    assert len(named(replay(world), "ExposureAboveJointLimit")) == 1
    flow("FacilityDrawn", THIRD_BANK, 5_000, 0)
    assert len(named(replay(world), "ExposureAboveJointLimit")) == 1  # not bound by it
    world.emit("CreditFacilities", "JointAgreementEnded", agreement=1, subject=SUBJ_A, lead=BANK)
    flow("FacilityDrawn", BANK, 5_000, 0)  # no agreement in force: no joint limit
    assert len(named(replay(world), "ExposureAboveJointLimit")) == 1


def test_facilities_and_agreements_are_rebuilt_from_their_events(world: CleanWorld) -> None:
    """The replay keeps each facility, agreement and exposure as its events left them (what
    the comparison checks against the contract's views); a facility id that is not the hash
    of its subject, lender and contract, and an event naming a facility or agreement never
    made, are named."""
    contract = h("credit contract")
    fid = facility_id(SUBJ_A, BANK, contract)
    world.emit(
        "CreditFacilities",
        "FacilityRegistered",
        facilityId=fid,
        subject=SUBJ_A,
        lender=BANK,
        contractHash=contract,
        kind=1,
        limit=1_000,
        expiry=world.time + 30 * DAY,
        pledgeIds=[],
    )
    world.emit(
        "CreditFacilities",
        "FacilityRegistered",
        facilityId=h("not the hash"),
        subject=SUBJ_A,
        lender=OTHER_BANK,
        contractHash=contract,
        kind=1,
        limit=1_000,
        expiry=world.time + 30 * DAY,
        pledgeIds=[],
    )
    world.emit(
        "CreditFacilities",
        "JointAgreementProposed",
        agreement=1,
        subject=SUBJ_A,
        lead=BANK,
        jointLimit=900,
        participants=[BANK, OTHER_BANK],
        sharesBps=[5_000, 5_000],
    )
    world.emit("CreditFacilities", "JointAgreementJoined", agreement=1, participant=OTHER_BANK)
    world.emit(
        "CreditFacilities", "JointAgreementAccepted", agreement=1, subject=SUBJ_A, enterprise=BANK
    )
    world.emit(
        "CreditFacilities",
        "JointAgreementActivated",
        agreement=1,
        subject=SUBJ_A,
        jointLimit=900,
        joint=0,
    )
    world.emit(
        "CreditFacilities",
        "FacilityDrawn",
        facilityId=fid,
        subject=SUBJ_A,
        lender=BANK,
        amount=400,
        drawn=400,
        total=400,
        joint=400,
    )
    world.emit(
        "CreditFacilities", "JointAgreementFlagged", agreement=1, subject=SUBJ_A, reporter=BANK
    )
    world.emit(
        "CreditFacilities",
        "FacilityAmended",
        facilityId=fid,
        lender=BANK,
        limit=2_000,
        expiry=world.time + 60 * DAY,
    )
    world.emit("CreditFacilities", "JointAgreementJoined", agreement=7, participant=BANK)
    world.emit(
        "CreditFacilities",
        "FacilityRepaid",
        facilityId=h("no such facility"),
        subject=SUBJ_B,
        lender=BANK,
        amount=1,
        drawn=0,
        total=0,
        joint=0,
    )
    r = Replay(receivables_address=RECEIVABLES)
    breaches = r.run(world.events)
    assert [b.name for b in breaches] == ["IdMismatch", "UnknownReference", "UnknownReference"]
    s = r.state
    f = s.facilities[bytes(fid)]
    assert (f.limit, f.drawn, f.status) == (2_000, 400, 1)
    a = s.agreements[1]
    assert (a.joined, a.participants, a.accepted, a.status) == (2, 2, True, 2)
    e = s.exposures[SUBJ_A]
    assert (e.total, e.joint, e.joint_limit, e.agreement, e.flagged) == (400, 400, 900, 1, True)
    world.emit(
        "CreditFacilities", "JointAgreementFlagCleared", agreement=1, subject=SUBJ_A, lead=BANK
    )
    world.emit("CreditFacilities", "JointAgreementEnded", agreement=1, subject=SUBJ_A, lead=BANK)
    world.emit("CreditFacilities", "FacilityClosed", facilityId=fid, subject=SUBJ_A, lender=BANK)
    r = Replay(receivables_address=RECEIVABLES)
    r.run(world.events)
    e = r.state.exposures[SUBJ_A]
    assert (e.total, e.joint, e.joint_limit, e.agreement, e.flagged) == (400, 0, 0, 0, False)
    assert r.state.agreements[1].status == 3
    assert r.state.facilities[bytes(fid)].status == 2
