"""Credit facilities and joint credit agreements: the lender's writes, the joint limit the
chain enforces across banks, the overdue flag, who may read exposure. Every refusal by
name, and the attacks end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger_client import Chain, Keyring, connect
from ledger_client.contracts.authorisations import AuthorisationRequest
from ledger_client.errors import (
    ConsortiumUnauthorized,
    FacilityCollateralNotHeld,
    FacilityExists,
    FacilityExpired,
    FacilityExposureNotAuthorised,
    FacilityInvalidAmount,
    FacilityInvalidExpiry,
    FacilityLimitExceeded,
    FacilityNotOpen,
    FacilityOutstanding,
    FacilityUnknown,
    FacilityUnknownSubject,
    JointAgreementAlreadyJoined,
    JointAgreementExists,
    JointAgreementInvalidParticipants,
    JointAgreementNotLead,
    JointAgreementNotParticipant,
    JointAgreementOnHold,
    JointAgreementSignatureExpired,
    JointAgreementUnknown,
    JointAgreementWrongSigner,
    JointAgreementWrongStatus,
    JointLimitExceeded,
)
from ledger_client.lending import AgreementStatus, FacilityKind, FacilityStatus, facility_id
from ledger_client.types import QueryPurpose
from tests.lending_world import DAY, MILLION, YEAR, LendingWorld, build_lending_world, contract


@pytest.fixture
def chain() -> Iterator[Chain]:
    chain = connect("embedded")
    yield chain
    chain.close()


@pytest.fixture
def w(chain: Chain, keyring: Keyring) -> LendingWorld:
    return build_lending_world(chain, keyring)


def _exposure(w: LendingWorld) -> tuple[int, int, int, bool]:
    e = w.cf.exposure(w.regulator.address, w.subject(w.firm))
    return e.total, e.joint, e.joint_limit, e.flagged


# -- a facility's life ---------------------------------------------------------------------
def test_a_facility_is_registered_drawn_repaid_amended_and_closed(w: LendingWorld) -> None:
    pledge = w.pledge(w.bank_a).pledge_id
    fid = w.facility(w.bank_a, "A-1", 5 * MILLION, pledges=(pledge,))
    subject = w.subject(w.firm)
    assert fid == facility_id(subject, w.bank_a.address, contract("A-1"))
    w.cf.draw(w.bank_a, subject, contract("A-1"), 3 * MILLION)
    w.cf.repay(w.bank_a, subject, contract("A-1"), MILLION)
    f = w.cf.facility(fid)
    assert f is not None
    assert (f.limit, f.drawn, f.kind, f.status) == (
        5 * MILLION,
        2 * MILLION,
        FacilityKind.LOAN,
        FacilityStatus.OPEN,
    )
    w.cf.amend(w.bank_a, subject, contract("A-1"), 2 * MILLION, w.chain.now() + YEAR)
    with pytest.raises(FacilityLimitExceeded):
        w.cf.draw(w.bank_a, subject, contract("A-1"), 1)
    with pytest.raises(FacilityOutstanding):
        w.cf.close(w.bank_a, subject, contract("A-1"))
    w.cf.repay(w.bank_a, subject, contract("A-1"), 2 * MILLION)
    w.cf.close(w.bank_a, subject, contract("A-1"))
    with pytest.raises(FacilityNotOpen):
        w.cf.draw(w.bank_a, subject, contract("A-1"), 1)
    assert _exposure(w)[0] == 0


def test_facility_refusals_by_name(w: LendingWorld) -> None:
    subject = w.subject(w.firm)
    expiry = w.chain.now() + YEAR
    with pytest.raises(ConsortiumUnauthorized):
        w.cf.register_facility(w.bureau, subject, contract("x"), kind=1, limit=1, expiry=expiry)
    with pytest.raises(FacilityUnknownSubject):
        w.cf.register_facility(
            w.bank_a, b"\x01" * 32, contract("x"), kind=1, limit=1, expiry=expiry
        )
    with pytest.raises(FacilityInvalidAmount):
        w.cf.register_facility(w.bank_a, subject, contract("x"), kind=1, limit=0, expiry=expiry)
    with pytest.raises(FacilityInvalidExpiry):
        w.cf.register_facility(
            w.bank_a, subject, contract("x"), kind=1, limit=1, expiry=w.chain.now() - 1
        )
    w.facility(w.bank_a, "x", 10 * MILLION)
    with pytest.raises(FacilityExists):
        w.facility(w.bank_a, "x")
    with pytest.raises(FacilityUnknown):  # another bank's id for the same contract is its own
        w.cf.draw(w.bank_b, subject, contract("x"), 1)
    with pytest.raises(FacilityInvalidAmount):
        w.cf.draw(w.bank_a, subject, contract("x"), 0)
    with pytest.raises(FacilityInvalidAmount):
        w.cf.repay(w.bank_a, subject, contract("x"), 1)
    with pytest.raises(FacilityLimitExceeded):
        w.cf.draw(w.bank_a, subject, contract("x"), 10 * MILLION + 1)
    w.chain.advance_time(YEAR + DAY)
    with pytest.raises(FacilityExpired):
        w.cf.draw(w.bank_a, subject, contract("x"), 1)


def test_a_facility_is_secured_only_by_pledges_its_lender_holds(w: LendingWorld) -> None:
    theirs = w.pledge(w.bank_b).pledge_id
    with pytest.raises(FacilityCollateralNotHeld):
        w.facility(w.bank_a, "A-2", pledges=(theirs,))
    w.cr.release(w.bank_b, theirs)
    with pytest.raises(FacilityCollateralNotHeld):
        w.facility(w.bank_b, "B-2", pledges=(theirs,))


# -- joint agreements ---------------------------------------------------------------------
def test_a_joint_agreement_comes_into_force_when_all_joined_and_the_enterprise_signed(
    w: LendingWorld,
) -> None:
    subject = w.subject(w.firm)
    no, _ = w.cf.propose_agreement(
        w.bank_a, subject, 8 * MILLION, [w.bank_a.address, w.bank_b.address], [6_000, 4_000]
    )
    w.cf.accept_agreement(w.bank_a, w.cf.sign_acceptance(w.firm, no))
    a = w.cf.agreement(no)
    assert a is not None
    assert a.status is AgreementStatus.PROPOSED
    activated = w.cf.join_agreement(w.bank_b, no)
    assert activated.event("JointAgreementActivated").args["jointLimit"] == 8 * MILLION
    assert _exposure(w)[2] == 8 * MILLION
    assert w.cf.share_bps(no, w.bank_b.address) == 4_000


def test_joint_agreement_refusals_by_name(w: LendingWorld) -> None:
    subject = w.subject(w.firm)
    banks = [w.bank_a.address, w.bank_b.address]
    with pytest.raises(JointAgreementInvalidParticipants):
        w.cf.propose_agreement(w.bank_a, subject, MILLION, banks, [5_000, 4_000])
    with pytest.raises(JointAgreementInvalidParticipants):  # the lead must take part
        w.cf.propose_agreement(
            w.bank_a, subject, MILLION, [w.bank_b.address, w.bank_c.address], [5_000, 5_000]
        )
    with pytest.raises(JointAgreementInvalidParticipants):
        w.cf.propose_agreement(w.bank_a, subject, MILLION, [w.bank_a.address] * 2, [5_000, 5_000])
    with pytest.raises(ConsortiumUnauthorized):
        w.cf.propose_agreement(
            w.bank_a, subject, MILLION, [w.bank_a.address, w.bureau.address], [5_000, 5_000]
        )
    with pytest.raises(JointAgreementUnknown):
        w.cf.join_agreement(w.bank_b, 99)
    no, _ = w.cf.propose_agreement(w.bank_a, subject, MILLION, banks, [5_000, 5_000])
    with pytest.raises(JointAgreementNotParticipant):
        w.cf.join_agreement(w.bank_c, no)
    with pytest.raises(JointAgreementAlreadyJoined):
        w.cf.join_agreement(w.bank_a, no)
    late = w.cf.sign_acceptance(w.firm, no, deadline=w.chain.now() - 1)
    with pytest.raises(JointAgreementSignatureExpired):
        w.cf.accept_agreement(w.bank_a, late)
    with pytest.raises(JointAgreementWrongSigner):
        w.cf.accept_agreement(w.bank_a, w.cf.sign_acceptance(w.other, no))
    with pytest.raises(JointAgreementWrongStatus):
        w.cf.clear_flag(w.bank_a, no)
    w.cf.join_agreement(w.bank_b, no)
    w.cf.accept_agreement(w.bank_a, w.cf.sign_acceptance(w.firm, no))
    with pytest.raises(JointAgreementWrongStatus):
        w.cf.join_agreement(w.bank_b, no)
    with pytest.raises(JointAgreementNotLead):
        w.cf.end_agreement(w.bank_b, no)
    # One agreement in force per enterprise.
    second, _ = w.cf.propose_agreement(
        w.bank_c, subject, MILLION, [w.bank_c.address, w.bank_b.address], [5_000, 5_000]
    )
    w.cf.join_agreement(w.bank_b, second)
    with pytest.raises(JointAgreementExists):
        w.cf.accept_agreement(w.bank_c, w.cf.sign_acceptance(w.firm, second))
    w.cf.end_agreement(w.bank_a, no)
    w.cf.accept_agreement(w.bank_c, w.cf.sign_acceptance(w.firm, second))
    assert _exposure(w)[2] == MILLION


def test_an_overdue_flags_the_agreement_and_stops_draws_until_the_lead_clears_it(
    w: LendingWorld,
) -> None:
    subject = w.subject(w.firm)
    for bank, label in ((w.bank_a, "A"), (w.bank_b, "B")):
        w.facility(bank, label)
    no = w.joint(10 * MILLION, (w.bank_a, w.bank_b), (5_000, 5_000))
    w.cf.draw(w.bank_b, subject, contract("B"), MILLION)
    flagged = w.cf.report_overdue(w.bank_b, subject, contract("B"), MILLION, 31)
    assert flagged.event("JointAgreementFlagged").args["reporter"] == w.bank_b.address
    with pytest.raises(JointAgreementOnHold):
        w.cf.draw(w.bank_a, subject, contract("A"), 1)
    with pytest.raises(JointAgreementOnHold):
        w.cf.end_agreement(w.bank_a, no)
    with pytest.raises(JointAgreementNotLead):
        w.cf.clear_flag(w.bank_b, no)
    w.cf.clear_flag(w.bank_a, no)
    w.cf.draw(w.bank_a, subject, contract("A"), 1)
    with pytest.raises(FacilityInvalidAmount):  # more overdue than drawn
        w.cf.report_overdue(w.bank_a, subject, contract("A"), 2, 1)


def test_exposure_is_read_by_regulators_and_by_members_the_enterprise_authorised(
    w: LendingWorld,
) -> None:
    subject = w.subject(w.firm)
    w.facility(w.bank_a, "A")
    w.cf.draw(w.bank_a, subject, contract("A"), MILLION)
    assert w.cf.exposure(w.regulator.address, subject).total == MILLION
    with pytest.raises(FacilityExposureNotAuthorised):
        w.cf.exposure(w.bank_b.address, subject)
    request = AuthorisationRequest(
        w.bank_b.address, QueryPurpose.LOAN_APPROVAL, w.chain.now() + DAY
    )
    auth = w.ledger.authorisations.authorise(
        w.bank_b, w.ledger.authorisations.sign_authorisation(w.firm, request)
    ).auth_id
    assert w.cf.exposure(w.bank_b.address, subject, auth).total == MILLION
    with pytest.raises(FacilityExposureNotAuthorised):  # the authorisation is bank B's
        w.cf.exposure(w.bank_c.address, subject, auth)
    with pytest.raises(FacilityExposureNotAuthorised):  # and about this enterprise only
        w.cf.exposure(w.bank_b.address, w.subject(w.other), auth)
    w.ledger.authorisations.withdraw(w.firm, auth)
    with pytest.raises(FacilityExposureNotAuthorised):
        w.cf.exposure(w.bank_b.address, subject, auth)


# -- attacks, end to end -------------------------------------------------------------------
def test_attack_a_draw_over_the_joint_limit_is_refused(w: LendingWorld) -> None:
    subject = w.subject(w.firm)
    w.facility(w.bank_a, "A", 20 * MILLION)
    w.joint(8 * MILLION, (w.bank_a, w.bank_b), (5_000, 5_000))
    w.cf.draw(w.bank_a, subject, contract("A"), 8 * MILLION)
    with pytest.raises(JointLimitExceeded) as refused:
        w.cf.draw(w.bank_a, subject, contract("A"), 1)
    assert refused.value.fields == {
        "subject": subject,
        "limit": 8 * MILLION,
        "exposure": 8 * MILLION + 1,
    }


def test_attack_splitting_draws_across_participant_banks_cannot_pass_the_joint_limit(
    w: LendingWorld,
) -> None:
    subject = w.subject(w.firm)
    # Each bank's own facility is well within its limit; a second facility at bank C,
    # and a balance drawn at bank B before the agreement, are counted too.
    w.facility(w.bank_b, "B-old")
    w.cf.draw(w.bank_b, subject, contract("B-old"), 2 * MILLION)
    for bank, label in ((w.bank_a, "A"), (w.bank_b, "B"), (w.bank_c, "C1"), (w.bank_c, "C2")):
        w.facility(bank, label)
    w.joint(9 * MILLION, (w.bank_a, w.bank_b, w.bank_c), (4_000, 3_000, 3_000))
    w.cf.draw(w.bank_a, subject, contract("A"), 3 * MILLION)
    w.cf.draw(w.bank_c, subject, contract("C1"), 2 * MILLION)
    w.cf.draw(w.bank_c, subject, contract("C2"), 2 * MILLION)
    with pytest.raises(JointLimitExceeded) as refused:  # 2m from before + 7m since + 1 fen
        w.cf.draw(w.bank_b, subject, contract("B-old"), 1)
    assert refused.value.fields["exposure"] == 9 * MILLION + 1
    # Nor on a fresh facility: bank B's old balance counted from the agreement's start.
    with pytest.raises(JointLimitExceeded):
        w.cf.draw(w.bank_b, subject, contract("B"), 1)
    total, joint, limit, _ = _exposure(w)
    assert (total, joint, limit) == (9 * MILLION, 9 * MILLION, 9 * MILLION)


def test_attack_a_balance_drawn_before_the_agreement_cannot_sit_outside_the_joint_limit(
    w: LendingWorld,
) -> None:
    """The strongest form of the pre-agreement bypass: a participant lends the whole joint
    limit before the agreement comes into force, then the others draw on fresh facilities
    (and the participant itself on a facility it never drew before)."""
    subject = w.subject(w.firm)
    w.facility(w.bank_b, "B-before")
    w.cf.draw(w.bank_b, subject, contract("B-before"), 9 * MILLION)
    for bank, label in ((w.bank_a, "A"), (w.bank_b, "B-fresh"), (w.bank_c, "C")):
        w.facility(bank, label)
    w.joint(9 * MILLION, (w.bank_a, w.bank_b, w.bank_c), (4_000, 3_000, 3_000))
    # The agreement opens at the participants' 9m already lent: the limit is used up.
    total, joint, limit, _ = _exposure(w)
    assert (total, joint, limit) == (9 * MILLION, 9 * MILLION, 9 * MILLION)
    for bank, label in ((w.bank_a, "A"), (w.bank_c, "C"), (w.bank_b, "B-fresh")):
        with pytest.raises(JointLimitExceeded) as refused:
            w.cf.draw(bank, subject, contract(label), 1)
        assert refused.value.fields == {
            "subject": subject,
            "limit": 9 * MILLION,
            "exposure": 9 * MILLION + 1,
        }
    # A repayment of the old balance makes room, for any participant.
    w.cf.repay(w.bank_b, subject, contract("B-before"), 2 * MILLION)
    w.cf.draw(w.bank_a, subject, contract("A"), 2 * MILLION)
    total, joint, limit, _ = _exposure(w)
    assert (total, joint, limit) == (9 * MILLION, 9 * MILLION, 9 * MILLION)
