"""The collateral registry: pledges with the pledgor's signed consent, priority by
registration order, amendment and release by the pledgee only, search, one pledge in force
per receivable, patent, trademark or equity share, and the receivables it shares with
Receivables financing. Every refusal by name, and the attacks end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger_client import Chain, Keyring, connect
from ledger_client.attestations.merkle import keccak256
from ledger_client.errors import (
    CollateralAlreadyPledged,
    CollateralAlreadyReleased,
    CollateralInvalidAmount,
    CollateralInvalidExpiry,
    CollateralInvalidKey,
    CollateralInvalidKind,
    CollateralNotHolder,
    CollateralNotPledgeable,
    CollateralNotPledgee,
    CollateralPledgeLapsed,
    CollateralSignatureExpired,
    CollateralUnknownPledge,
    CollateralWrongSigner,
    ConsortiumUnauthorized,
)
from ledger_client.lending import (
    CollateralKind,
    PledgeTerms,
    asset_id,
    equity_key,
    ip_key,
    movable_key,
    pledge_id,
)
from ledger_client.types import Hash32
from tests.lending_world import DAY, MILLION, PATENT, LendingWorld, build_lending_world


@pytest.fixture
def chain() -> Iterator[Chain]:
    chain = connect("embedded")
    yield chain
    chain.close()


@pytest.fixture
def w(chain: Chain, keyring: Keyring) -> LendingWorld:
    return build_lending_world(chain, keyring)


# -- registration, priority, search --------------------------------------------------------
def test_a_pledge_is_registered_with_the_pledgors_consent_and_found_by_search(
    w: LendingWorld,
) -> None:
    pledged = w.pledge(w.bank_a)
    aid = asset_id(CollateralKind.PATENT, PATENT)
    assert pledged.asset_id == aid
    assert pledged.pledge_id == pledge_id(aid, 0)
    assert pledged.pledgor == w.subject(w.firm)
    found = w.cr.pledge_of(pledged.pledge_id)
    assert found is not None
    assert (found.pledgee, found.rank, found.kind, found.in_force) == (
        w.bank_a.address,
        0,
        CollateralKind.PATENT,
        True,
    )
    assert w.cr.active_pledgee(aid) == w.bank_a.address
    assert [p.pledge_id for p in w.cr.registrations(aid)] == [pledged.pledge_id]


def test_movables_carry_several_pledges_ranked_by_registration_order(w: LendingWorld) -> None:
    key = movable_key(keccak256(b"warehouse receipt WH-2026-88: 400 t copper cathode"))
    terms = w.terms(CollateralKind.MOVABLE, key)
    first = w.pledge(w.bank_a, terms)
    second = w.pledge(w.bank_b, terms)
    ranks = [(p.rank, p.pledgee) for p in w.cr.registrations(first.asset_id)]
    assert ranks == [(0, w.bank_a.address), (1, w.bank_b.address)]
    assert w.cr.active_pledgee(first.asset_id) is None  # no single pledgee for movables
    assert second.pledge_id == pledge_id(first.asset_id, 1)


def test_ip_and_equity_keys_tell_authorities_and_shares_apart(w: LendingWorld) -> None:
    assert ip_key("CNIPA", "ZL1") != ip_key("Shanghai IP Office", "ZL1")
    assert ip_key("cnipa", " zl1 ") == ip_key("CNIPA", "ZL1")
    company = w.subject(w.other)
    a = equity_key(company, keccak256(b"share register entry 1"))
    b = equity_key(company, keccak256(b"share register entry 2"))
    w.pledge(w.bank_a, w.terms(CollateralKind.EQUITY, a))
    w.pledge(w.bank_b, w.terms(CollateralKind.EQUITY, b))  # another share: no conflict
    with pytest.raises(CollateralAlreadyPledged):
        w.pledge(w.bank_b, w.terms(CollateralKind.EQUITY, a))


def test_a_released_or_lapsed_pledge_frees_the_asset_for_the_next_rank(
    w: LendingWorld,
) -> None:
    first = w.pledge(w.bank_a, w.terms(days=10))
    w.cr.release(w.bank_a, first.pledge_id)
    assert w.cr.active_pledgee(first.asset_id) is None
    second = w.pledge(w.bank_b, w.terms(days=10))
    assert second.pledge_id == pledge_id(first.asset_id, 1)
    w.chain.advance_time(11 * DAY)
    third = w.pledge(w.bank_c)  # the second lapsed
    assert w.cr.active_pledgee(third.asset_id) == w.bank_c.address
    # Releasing the lapsed second does not free the asset of the third.
    w.cr.release(w.bank_b, second.pledge_id)
    assert w.cr.active_pledgee(third.asset_id) == w.bank_c.address


def test_the_pledgee_amends_the_amount_and_term(w: LendingWorld) -> None:
    pledged = w.pledge(w.bank_a, w.terms(days=10))
    expiry = w.chain.now() + 400 * DAY
    event = w.cr.amend(w.bank_a, pledged.pledge_id, 2 * MILLION, expiry).event("PledgeAmended")
    assert (event.args["securedAmount"], event.args["expiry"]) == (2 * MILLION, expiry)
    assert w.cr.asset(pledged.asset_id).expiry == expiry
    w.chain.advance_time(30 * DAY)
    with pytest.raises(CollateralAlreadyPledged):  # still in force thanks to the amendment
        w.pledge(w.bank_b)


# -- every refusal -----------------------------------------------------------------------
def test_malformed_terms_are_refused_by_name(w: LendingWorld) -> None:
    good = w.terms()
    raw = (0, bytes(PATENT), MILLION, good.expiry)
    sig = bytes(65)
    with pytest.raises(CollateralInvalidKind) as kind:
        w.cr.send_call(w.bank_a, w.cr._call("pledge", raw, w.firm.address, 2**40, sig))
    assert kind.value.fields["code"] == 0
    with pytest.raises(CollateralInvalidKey):
        w.pledge(w.bank_a, PledgeTerms(CollateralKind.PATENT, Hash32(bytes(32)), 1, good.expiry))
    with pytest.raises(CollateralInvalidAmount):
        w.pledge(w.bank_a, PledgeTerms(CollateralKind.PATENT, PATENT, 0, good.expiry))
    with pytest.raises(CollateralInvalidExpiry):
        w.pledge(w.bank_a, PledgeTerms(CollateralKind.PATENT, PATENT, 1, w.chain.now() - 1))


def test_only_a_bank_may_be_a_pledgee(w: LendingWorld) -> None:
    with pytest.raises(ConsortiumUnauthorized):
        w.pledge(w.bureau)


def test_a_consent_past_its_deadline_signed_by_another_or_replayed_is_refused(
    w: LendingWorld,
) -> None:
    terms = w.terms()
    late = w.cr.sign_pledge(w.firm, terms, pledgee=w.bank_a.address, deadline=w.chain.now() - 1)
    with pytest.raises(CollateralSignatureExpired):
        w.cr.pledge(w.bank_a, late)
    forged = w.cr.sign_pledge(w.other, terms, pledgee=w.bank_a.address)
    forged = type(forged)(
        forged.terms, forged.pledgee, forged.rank, w.firm.address, forged.deadline, forged.signature
    )
    with pytest.raises(CollateralWrongSigner) as wrong:
        w.cr.pledge(w.bank_a, forged)
    assert wrong.value.fields["signer"] == w.other.address
    # A consent names its pledgee: another bank cannot register it.
    signed = w.cr.sign_pledge(w.firm, terms, pledgee=w.bank_a.address)
    with pytest.raises(CollateralWrongSigner):
        w.cr.pledge(w.bank_b, signed)
    # A consent registers once: after a release it is for a rank already taken.
    first = w.cr.pledge(w.bank_a, signed)
    w.cr.release(w.bank_a, first.pledge_id)
    with pytest.raises(CollateralWrongSigner):
        w.cr.pledge(w.bank_a, signed)


def test_unknown_released_and_lapsed_pledges_are_refused(w: LendingWorld) -> None:
    missing = pledge_id(asset_id(CollateralKind.PATENT, PATENT), 5)
    with pytest.raises(CollateralUnknownPledge):
        w.cr.release(w.bank_a, missing)
    pledged = w.pledge(w.bank_a, w.terms(days=5))
    w.chain.advance_time(6 * DAY)
    with pytest.raises(CollateralPledgeLapsed):
        w.cr.amend(w.bank_a, pledged.pledge_id, MILLION, w.chain.now() + DAY)
    w.cr.release(w.bank_a, pledged.pledge_id)
    with pytest.raises(CollateralAlreadyReleased):
        w.cr.release(w.bank_a, pledged.pledge_id)


# -- attacks, end to end -------------------------------------------------------------------
def test_attack_a_double_pledge_of_one_patent_is_refused(w: LendingWorld) -> None:
    w.pledge(w.bank_a)
    # The firm consents again, to another bank in another city: the chain refuses.
    with pytest.raises(CollateralAlreadyPledged) as refused:
        w.pledge(w.bank_b)
    assert refused.value.fields["assetId"] == asset_id(CollateralKind.PATENT, PATENT)
    assert refused.value.fields["pledgee"] == w.bank_a.address


def test_attack_a_release_by_someone_not_the_pledgee_is_refused(w: LendingWorld) -> None:
    pledged = w.pledge(w.bank_a)
    for intruder in (w.bank_b, w.firm, w.regulator):
        with pytest.raises(CollateralNotPledgee) as refused:
            w.cr.release(intruder, pledged.pledge_id)
        assert refused.value.fields["pledgee"] == w.bank_a.address
        with pytest.raises(CollateralNotPledgee):
            w.cr.amend(intruder, pledged.pledge_id, 1, w.chain.now() + DAY)
    assert w.cr.active_pledgee(pledged.asset_id) == w.bank_a.address


def test_attack_pledging_a_financed_receivable_is_refused(w: LendingWorld) -> None:
    rc = w.ledger.receivables
    rid = w.receivable()
    rc.request_financing(
        w.firm,
        rid,
        w.bank_a.address,
        min_advance_fen=1,
        max_discount_bps=10_000,
        expires_at=w.chain.now() + DAY,
    )
    rc.finance(w.bank_a, rid, MILLION // 2, 100)
    with pytest.raises(CollateralAlreadyPledged) as refused:
        w.pledge(w.bank_b, w.terms(CollateralKind.RECEIVABLE, rid))
    assert refused.value.fields["pledgee"] == w.bank_a.address


def test_attack_financing_moving_or_splitting_a_pledged_receivable_is_refused(
    w: LendingWorld,
) -> None:
    rc = w.ledger.receivables
    rid = w.receivable()
    pledged = w.pledge(w.bank_a, w.terms(CollateralKind.RECEIVABLE, rid))
    with pytest.raises(CollateralAlreadyPledged):
        rc.request_financing(
            w.firm,
            rid,
            w.bank_b.address,
            min_advance_fen=1,
            max_discount_bps=10_000,
            expires_at=w.chain.now() + DAY,
        )
    with pytest.raises(CollateralAlreadyPledged):
        rc.split(w.firm, rid, w.other.address, MILLION // 2)
    with pytest.raises(CollateralAlreadyPledged):
        rc.transfer(w.firm, rid, w.other.address)
    w.cr.release(w.bank_a, pledged.pledge_id)
    rc.transfer(w.firm, rid, w.other.address)  # free again


def test_a_receivable_is_pledged_only_by_its_holder_and_only_when_active(
    w: LendingWorld,
) -> None:
    rid = w.receivable()
    with pytest.raises(CollateralNotHolder):
        w.pledge(w.bank_a, w.terms(CollateralKind.RECEIVABLE, rid), pledgor=w.other)
    pending = w.ledger.receivables.issue_receivable(
        w.core,
        w.firm.address,
        MILLION,
        w.chain.now() + 90 * DAY,
        contract_hash=keccak256(b"another contract"),
        invoice_commitments=[keccak256(b"another invoice")],
    ).receivable_id
    with pytest.raises(CollateralNotPledgeable) as refused:
        w.pledge(w.bank_a, w.terms(CollateralKind.RECEIVABLE, pending))
    assert refused.value.fields["status"] == 1  # Pending
