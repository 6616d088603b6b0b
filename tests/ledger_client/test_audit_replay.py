"""The audit's invariants on synthetic event streams: each breach found, with its event.

The contracts refuse every one of these; the streams are built by hand
(``tests/audit_streams.py``) to show that the replay would catch them if a
contract, a node or a copy of the events ever let one through.
"""

from __future__ import annotations

import pytest

from ledger_client.attestations.signed_records import batch_claim
from ledger_client.audit import Breach, Replay, audit_events
from ledger_client.index import IndexedEvent
from ledger_client.types import Role
from tests.audit_streams import (
    BANK,
    BUREAU,
    DAY,
    ENT_A,
    ENT_B,
    OTHER_BANK,
    OUTSIDER,
    RECEIVABLES,
    REGULATOR,
    RELAYER,
    SUBJ_A,
    SUBJ_B,
    SUBJ_C,
    ZERO32,
    CleanWorld,
    World,
    h,
)


def replay(world: World, *, now: int | None = None) -> list[Breach]:
    r = Replay(receivables_address=RECEIVABLES)
    return r.run(world.events, now=now)


def only(breaches: list[Breach], name: str) -> Breach:
    named = [b for b in breaches if b.name == name]
    assert len(named) == 1, breaches
    return named[0]


def caused_by(breach: Breach, event: IndexedEvent) -> None:
    assert (breach.tx_hash, breach.block, breach.log_index) == (
        event.tx_hash,
        event.block_number,
        event.log_index,
    )
    assert breach.event == f"{event.contract}.{event.name}"


@pytest.fixture
def world() -> CleanWorld:
    return CleanWorld()


def test_a_clean_stream_has_no_breach(world: CleanWorld) -> None:
    assert replay(world) == []
    state, breaches = audit_events(world.events)
    assert breaches == []
    assert state.records == 2 + 1_000
    assert state.parts[world.part].financier == BANK
    assert state.parts[world.part].tier == 2


# -- every query log had a valid authorisation at its block --------------------------------


def test_query_under_no_authorisation(world: CleanWorld) -> None:
    world.log_query(BANK, h("no such authorisation"), SUBJ_A)
    b = only(replay(world), "QueryWithoutAuthorisation")
    caused_by(b, world.last)
    assert "no such authorisation was ever granted" in b.detail


def test_query_after_the_withdrawal(world: CleanWorld) -> None:
    world.withdraw(world.auth, SUBJ_A, BANK)
    world.log_query(BANK, world.auth, SUBJ_A, schema=world.loan, label="late")
    b = only(replay(world), "QueryWithoutAuthorisation")
    caused_by(b, world.last)
    assert "withdrew" in b.detail


def test_query_after_the_expiry(world: CleanWorld) -> None:
    world.advance(91 * DAY)
    world.log_query(BANK, world.auth, SUBJ_A, schema=world.loan, label="lapsed")
    b = only(replay(world), "QueryWithoutAuthorisation")
    caused_by(b, world.last)
    assert "lapsed" in b.detail


def test_query_by_another_member(world: CleanWorld) -> None:
    world.log_query(OTHER_BANK, world.auth, SUBJ_A, schema=world.loan, label="other")
    b = only(replay(world), "QueryWithoutAuthorisation")
    caused_by(b, world.last)
    assert "granted to Bank of Shanghai" in b.detail


def test_query_for_another_purpose_or_schema(world: CleanWorld) -> None:
    world.log_query(BANK, world.auth, SUBJ_A, purpose=3, schema=world.loan, label="purpose")
    purpose = world.last
    world.log_query(BANK, world.auth, SUBJ_A, schema=world.grades, label="schema")
    schema = world.last
    world.log_query(BANK, world.auth, SUBJ_A, schema=ZERO32, label="full report")
    full = world.last
    found = [b for b in replay(world) if b.name == "QueryWithoutAuthorisation"]
    assert len(found) == 3
    for b, event, words in zip(
        found,
        (purpose, schema, full),
        ("purpose", "does not cover schema", "full report"),
        strict=True,
    ):
        caused_by(b, event)
        assert words in b.detail


# -- receivable parts add up to face value ------------------------------------------------


def test_a_split_that_does_not_add_up(world: CleanWorld) -> None:
    world.split(world.rid, SUBJ_B, SUBJ_C, 100_000, 600_000)  # leaves 500k, says 600k
    breaches = replay(world)
    first = [b for b in breaches if b.name == "PartsDoNotAddUp"]
    assert first, breaches
    for b in first:
        caused_by(b, world.last)
    assert any(
        "add up to 1,100,000 fen, its face value is 1,000,000 fen" in b.detail for b in first
    )


def test_a_transfer_of_another_amount(world: CleanWorld) -> None:
    world.transfer(world.rid, SUBJ_B, SUBJ_C, 1_000_000)
    b = only(replay(world), "PartsDoNotAddUp")
    caused_by(b, world.last)
    assert "the part holds 600,000 fen" in b.detail


# -- no receivable financed twice ----------------------------------------------------------


def test_a_part_financed_twice(world: CleanWorld) -> None:
    financed = next(e for e in world.events if e.name == "ReceivableFinanced")
    world.finance(world.part, SUBJ_C, OTHER_BANK, 380_000)
    b = only(replay(world), "DoubleFinancing")
    caused_by(b, world.last)
    assert financed.tx_hash in b.detail


@pytest.mark.parametrize(
    ("advance", "days_later", "why"),
    [(1, 0, "at least 300,000 fen"), (300_000, 31, "until")],
    ids=["below the least advance", "after the request expired"],
)
def test_a_financing_outside_the_holders_terms(
    world: CleanWorld, advance: int, days_later: int, why: str
) -> None:
    world.request_financing(world.rid, SUBJ_B, OTHER_BANK, min_advance=300_000)
    world.advance(days_later * DAY)
    world.finance(world.rid, SUBJ_B, OTHER_BANK, advance)
    b = only(replay(world), "IllegalTransition")
    caused_by(b, world.last)
    assert "outside the holder's terms" in b.detail
    assert why in b.detail


def test_a_split_beyond_the_most_parts(world: CleanWorld) -> None:
    rid = world.issue(SUBJ_A, SUBJ_B, 1_000_000, (h("invoice of many parts"),))
    world.accept(rid, SUBJ_B)
    for n in range(1, 256):  # the issue and 255 splits: the most a receivable may have
        world.split(rid, SUBJ_B, SUBJ_C, 1, 1_000_000 - n)
    assert replay(world) == []
    world.split(rid, SUBJ_B, SUBJ_C, 1, 1_000_000 - 256)
    b = only(replay(world), "IllegalTransition")
    caused_by(b, world.last)
    assert "the most a receivable may have is 256" in b.detail


def test_refinancing_after_a_release_is_no_breach(world: CleanWorld) -> None:
    world.emit("Receivables", "FinancingReleased", id=world.part, financier=BANK, holder=SUBJ_C)
    world.finance(world.part, SUBJ_C, OTHER_BANK, 380_000)
    assert replay(world) == []


# -- no invoice hash used twice ------------------------------------------------------------


def test_an_invoice_backing_two_receivables(world: CleanWorld) -> None:
    world.issue(SUBJ_A, SUBJ_C, 50_000, (h("invoice 2"), world.invoice))
    b = only(replay(world), "InvoiceReused")
    caused_by(b, world.last)
    assert "already backs R1" in b.detail


def test_another_debtor_issuing_against_the_same_commitment_is_no_breach(
    world: CleanWorld,
) -> None:
    # The chain keys a commitment by its debtor: a squatter's issue occupies only its own key.
    world.issue(SUBJ_B, SUBJ_C, 50_000, (world.invoice,))
    assert replay(world) == []


def test_an_invoice_released_by_a_rejection_may_back_another(world: CleanWorld) -> None:
    spare = h("invoice 3")
    rejected = world.issue(SUBJ_A, SUBJ_C, 50_000, (spare,))
    world.reject(rejected, SUBJ_C, (spare,))
    world.issue(SUBJ_A, SUBJ_C, 50_000, (spare,))
    assert replay(world) == []


# -- disputes resolved within 20 days or flagged --------------------------------------------


def test_a_dispute_answered_late(world: CleanWorld) -> None:
    did = world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_A)
    world.advance(21 * DAY)
    world.reject_dispute(did, world.uid, BANK, late=True)
    b = only(replay(world), "DisputeOverdue")
    caused_by(b, world.last)
    assert "past its 20-day deadline" in b.detail


def test_a_dispute_rejected_after_its_record_was_revoked(world: CleanWorld) -> None:
    did = world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_A)
    world.revoke(world.uid, BANK)
    world.reject_dispute(did, world.uid, BANK, late=False)
    b = only(replay(world), "IllegalTransition")
    caused_by(b, world.last)
    assert "rejected, but" in b.detail
    assert "revoked" in b.detail


def test_a_dispute_still_open_past_its_deadline(world: CleanWorld) -> None:
    did = world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_A)
    raised = world.last
    deadline = raised.args["deadline"]
    assert replay(world, now=deadline - 1) == []  # due, not overdue
    world2 = CleanWorld()
    world2.raise_dispute(world2.uid, BANK, SUBJ_A, ENT_A)
    b = only(replay(world2, now=deadline + 5 * DAY), "DisputeOverdue")
    caused_by(b, world2.last)
    assert f"dispute #{did}" in b.detail
    assert "still open" in b.detail


def test_a_dispute_raised_again_after_its_rejection(world: CleanWorld) -> None:
    did = world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_A)
    world.reject_dispute(did, world.uid, BANK, late=False)
    world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_A)
    b = only(replay(world), "DisputeReraised")
    caused_by(b, world.last)
    assert f"#{did}" in b.detail
    assert "complaint" in b.detail


def test_a_complaint_resolved_by_the_regulator_is_clean(world: CleanWorld) -> None:
    did = world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_A)
    world.reject_dispute(did, world.uid, BANK, late=False)
    cid = world.file_complaint(did, world.uid, SUBJ_A, ENT_A)
    world.revoke(world.uid, REGULATOR)
    world.resolve_complaint(cid, did, REGULATOR, upheld=True)
    assert replay(world) == []


def test_a_complaint_resolved_by_a_non_regulator(world: CleanWorld) -> None:
    did = world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_A)
    world.reject_dispute(did, world.uid, BANK, late=False)
    cid = world.file_complaint(did, world.uid, SUBJ_A, ENT_A)
    world.resolve_complaint(cid, did, BANK, upheld=False)  # the attester judging itself
    b = only(replay(world), "WriteWithoutRole")
    caused_by(b, world.last)
    assert f"resolving complaint #{cid}" in b.detail
    assert "regulator" in b.detail


def test_a_complaint_filed_by_a_stranger_or_too_early(world: CleanWorld) -> None:
    did = world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_A)
    world.file_complaint(did, world.uid, SUBJ_A, ENT_A)  # open, not yet overdue
    early = world.last
    world.reject_dispute(did, world.uid, BANK, late=False)
    world.file_complaint(did, world.uid, SUBJ_A, ENT_B)  # another enterprise's account
    stranger = world.last
    breaches = replay(world)
    b = only(breaches, "WriteWithoutRole")
    caused_by(b, stranger)
    transitions = [b for b in breaches if b.name == "IllegalTransition"]
    caused_by(transitions[0], early)
    assert "not yet overdue" in transitions[0].detail
    caused_by(transitions[1], stranger)  # and a second complaint of the same dispute
    assert "complained of" in transitions[1].detail


def test_a_late_flag_that_does_not_follow_from_the_time(world: CleanWorld) -> None:
    did = world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_A)
    world.reject_dispute(did, world.uid, BANK, late=True)
    b = only(replay(world), "IllegalTransition")
    caused_by(b, world.last)


# -- no write by a suspended member --------------------------------------------------------


def test_an_attestation_by_a_suspended_member(world: CleanWorld) -> None:
    world.suspend(BANK)
    world.attest(BANK, world.loan, SUBJ_B, h("while suspended"))
    b = only(replay(world), "WriteBySuspendedMember")
    caused_by(b, world.last)
    assert "Bank of Shanghai" in b.detail
    world.reinstate(BANK)
    world.attest(BANK, world.loan, SUBJ_B, h("after reinstatement"))
    assert [x.name for x in replay(world)] == ["WriteBySuspendedMember"]


@pytest.mark.parametrize("write", ["query", "finance", "anchor", "revoke", "bind"])
def test_other_writes_by_a_suspended_member(world: CleanWorld, write: str) -> None:
    actor = BUREAU if write in ("anchor", "bind") else BANK
    world.suspend(actor)
    if write == "query":
        world.log_query(BANK, world.auth, SUBJ_A, schema=world.loan, label="suspended")
    elif write == "finance":
        world.request_financing(world.rid, SUBJ_B, OTHER_BANK)
        world.suspend(OTHER_BANK)
        world.finance(world.rid, SUBJ_B, OTHER_BANK, 500_000)
    elif write == "anchor":
        world.anchor(BUREAU, world.grades, h("root 2"), 10)
    elif write == "revoke":
        world.revoke(world.uid, BANK)
    else:
        world.bind(h("subject D"), "0x" + "dd" * 20, by=BUREAU)
    found = [b for b in replay(world) if b.name == "WriteBySuspendedMember"]
    assert found, replay(world)
    caused_by(found[-1], world.last)


# -- the replay's other rules ----------------------------------------------------------------


def test_a_write_without_the_role(world: CleanWorld) -> None:
    world.attest(OUTSIDER, world.loan, SUBJ_A, h("outsider"))
    b = only(replay(world), "WriteWithoutRole")
    caused_by(b, world.last)
    world.admit(OUTSIDER, "Not a bank", 2, Role.AUDITOR)
    world.finance(world.part, SUBJ_C, OUTSIDER, 1)
    assert "WriteWithoutRole" in [b.name for b in replay(world)][1:]


def test_a_dispute_raised_by_another_enterprise(world: CleanWorld) -> None:
    world.raise_dispute(world.uid, BANK, SUBJ_A, ENT_B)
    b = only(replay(world), "WriteWithoutRole")
    caused_by(b, world.last)
    assert "not the account bound" in b.detail


def test_an_attestation_whose_uid_is_not_its_hash(world: CleanWorld) -> None:
    world.attest(BANK, world.loan, SUBJ_A, h("record 9"), uid=h("made up"))
    b = only(replay(world), "IdMismatch")
    caused_by(b, world.last)


def test_references_to_what_was_never_made(world: CleanWorld) -> None:
    world.revoke(h("never attested"), BANK)
    b = only(replay(world), "UnknownReference")
    caused_by(b, world.last)


def test_revoking_twice_and_revoking_the_unrevocable(world: CleanWorld) -> None:
    world.revoke(world.uid, BANK)
    world.revoke(world.uid, BANK)
    b = only(replay(world), "IllegalTransition")
    caused_by(b, world.last)
    world2 = CleanWorld()
    uid = world2.attest(BANK, world2.defaults, SUBJ_A, h("default"))
    world2.revoke(uid, BANK)
    assert "not revocable" in only(replay(world2), "IllegalTransition").detail


def test_a_regulator_may_revoke_and_an_attester_may_not_revoke_others(world: CleanWorld) -> None:
    world.revoke(world.other_uid, BANK)
    b = only(replay(world), "WriteWithoutRole")
    caused_by(b, world.last)
    world2 = CleanWorld()
    world2.revoke(world2.other_uid, world2.events[0].args["account"])
    assert replay(world2) == []


def test_a_default_marked_overdue_in_time_is_clean(world: CleanWorld) -> None:
    world.advance(120 * DAY)
    world.mark_overdue(world.rid, SUBJ_A, ENT_B, 600_000, due=world.due, schema=world.defaults)
    assert replay(world) == []
    world.settle(world.rid, SUBJ_A, SUBJ_B, 600_000)
    world.settle(world.part, SUBJ_A, SUBJ_C, 400_000, financier=BANK)
    assert replay(world) == []


def test_settling_before_the_due_date(world: CleanWorld) -> None:
    world.settle(world.rid, SUBJ_A, SUBJ_B, 600_000)
    b = only(replay(world), "IllegalTransition")
    caused_by(b, world.last)
    assert "before its due date" in b.detail


def test_the_engine_takes_any_iterable_and_sorts_breaches_by_chain_order() -> None:
    w = CleanWorld()
    w.attest(OUTSIDER, w.loan, SUBJ_A, h("x"))
    w.log_query(BANK, h("none"), SUBJ_A)
    state, breaches = audit_events(iter(w.events))
    assert [b.name for b in breaches] == ["WriteWithoutRole", "QueryWithoutAuthorisation"]
    assert [b.block for b in breaches] == sorted(b.block for b in breaches)
    assert state.events == len(w.events)


# -- signed batches: a signed record anchored once, before its deadline ----------------------


def _signed_batch(world: CleanWorld, nonces: list[int], *, deadline: int | None = None) -> bytes:
    until = world.time + DAY if deadline is None else deadline
    hashes = [h(f"signed record {n}") for n in nonces]
    return world.anchor_signed(
        RELAYER, world.loan, hashes, [batch_claim(BANK, n, until) for n in nonces]
    )


def test_a_signed_batch_is_clean(world: CleanWorld) -> None:
    _signed_batch(world, [1, 2, 3])
    _signed_batch(world, [4, 5])
    assert replay(world) == []


def test_a_signed_record_anchored_twice(world: CleanWorld) -> None:
    _signed_batch(world, [1, 2, 3])
    _signed_batch(world, [4, 2])
    b = only(replay(world), "SignedRecordReanchored")
    caused_by(b, world.last)
    assert "nonce 2" in b.detail


def test_a_signed_record_anchored_late(world: CleanWorld) -> None:
    _signed_batch(world, [1], deadline=world.time - 10)
    b = only(replay(world), "SignedRecordLate")
    caused_by(b, world.last)


def test_a_signed_record_of_a_suspended_signer(world: CleanWorld) -> None:
    world.suspend(BANK)
    _signed_batch(world, [1])
    caused_by(only(replay(world), "WriteBySuspendedMember"), world.last)


def test_a_signed_batch_record_revoked_by_its_relayer(world: CleanWorld) -> None:
    # The relayer also holds the attester role: it is still not the record's attester.
    world.admit(RELAYER, "Relay", 1, Role.RELAYER | Role.ATTESTER)
    bid = _signed_batch(world, [1, 2])
    state = Replay(receivables_address=RECEIVABLES)
    state.run(world.events)
    (record_id, _) = sorted(state.state.batch_records.items())[0]
    world.emit(
        "Attestations",
        "BatchRecordRevoked",
        batchId=bid,
        recordId=record_id,
        revoker=RELAYER,
        reason=ZERO32,
    )
    b = only(replay(world), "WriteWithoutRole")
    caused_by(b, world.last)
    # By its signer: clean. A record id the chain never checked into the batch: named.
    world.emit(
        "Attestations",
        "BatchRecordRevoked",
        batchId=bid,
        recordId=h("an inner node"),
        revoker=BANK,
        reason=ZERO32,
    )
    caused_by(only(replay(world), "UnknownReference"), world.last)
