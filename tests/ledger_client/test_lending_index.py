"""The lending projections: registrations per asset and pledgor, facilities and exposure
by lender per enterprise, flagged joint agreements, folded from the events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger_client import Chain, Keyring, connect
from ledger_client.index.lending import LendingLog, agreements_not_ended
from ledger_client.lending import CollateralKind, asset_id
from tests.lending_world import MILLION, PATENT, build_lending_world, contract


@pytest.fixture
def chain() -> Iterator[Chain]:
    chain = connect("embedded")
    yield chain
    chain.close()


def test_the_lending_log_follows_pledges_facilities_and_flags(
    chain: Chain, keyring: Keyring
) -> None:
    w = build_lending_world(chain, keyring)
    subject = w.subject(w.firm)
    first = w.pledge(w.bank_a, w.terms(days=10))
    w.cr.amend(w.bank_a, first.pledge_id, 3 * MILLION, w.chain.now() + 20 * 86_400)
    w.cr.release(w.bank_a, first.pledge_id)
    second = w.pledge(w.bank_b)
    w.facility(w.bank_b, "B", pledges=(second.pledge_id,))
    w.facility(w.bank_a, "A")
    no = w.joint(10 * MILLION, (w.bank_a, w.bank_b), (5_000, 5_000))
    w.cf.draw(w.bank_a, subject, contract("A"), 2 * MILLION)
    w.cf.draw(w.bank_b, subject, contract("B"), 3 * MILLION)
    w.cf.repay(w.bank_b, subject, contract("B"), MILLION)
    w.cf.report_overdue(w.bank_b, subject, contract("B"), MILLION, 40)

    log = LendingLog(w.ledger)
    try:
        log.follow()
        regs = log.pledges_of_asset(asset_id(CollateralKind.PATENT, PATENT))
        assert [(p.pledgee, p.released, p.secured_amount) for p in regs] == [
            (w.bank_a.address, True, 3 * MILLION),
            (w.bank_b.address, False, MILLION),
        ]
        assert len(log.pledges_of_pledgor(subject)) == 2
        facilities = log.facilities_of_subject(subject)
        assert [f.pledge_ids for f in facilities] == [(second.pledge_id,), ()]
        assert log.exposure_by_lender(subject) == {
            w.bank_a.address: 2 * MILLION,
            w.bank_b.address: 2 * MILLION,
        }
        flagged = log.flagged_agreements()
        assert [(a.agreement, a.status, a.lead) for a in flagged] == [
            (no, "active", w.bank_a.address)
        ]
        # The joint exposure is the chain's own count: 2m + 3m drawn, 1m repaid.
        (agreement,) = log.read(agreements_not_ended)
        assert (agreement.joint_limit, agreement.joint_exposure) == (10 * MILLION, 4 * MILLION)
        assert agreement.joint_exposure == w.cf.exposure(w.regulator.address, subject).joint
        assert agreement.participants == (w.bank_a.address, w.bank_b.address)
        w.cf.clear_flag(w.bank_a, no)
        log.follow()
        assert log.flagged_agreements() == []
    finally:
        log.close()
