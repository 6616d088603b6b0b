"""The auditor's off-chain check of invoices behind salted commitments: a debtor that
re-issues one invoice under a fresh salt passes the chain, and is caught here."""

from __future__ import annotations

from ledger_client.audit import InvoiceOpening, Replay, check_invoice_openings
from ledger_client.contracts.receivables import invoice_commitment
from tests.audit_streams import RECEIVABLES, SUBJ_A, SUBJ_B, SUBJ_C, CleanWorld, h

PLAIN = h("VAT invoice 3400231103")


def _replayed(world: CleanWorld) -> Replay:
    r = Replay(receivables_address=RECEIVABLES)
    assert r.run(world.events) == []  # the chain's rules all hold
    return r


def test_one_invoice_under_two_salts_is_found() -> None:
    world = CleanWorld()
    salts = (h("salt 1"), h("salt 2"))
    first, second = (invoice_commitment(PLAIN, s) for s in salts)
    r1 = world.issue(SUBJ_A, SUBJ_C, 50_000, (first,))
    r2 = world.issue(SUBJ_A, SUBJ_C, 50_000, (second,))
    state = _replayed(world).state
    openings = [
        InvoiceOpening(SUBJ_A, c, PLAIN, s) for c, s in zip((first, second), salts, strict=True)
    ]
    (found,) = check_invoice_openings(state, openings)
    assert found.name == "InvoiceReused"
    assert found.receivables == (r1, r2)
    assert check_invoice_openings(state, openings[:1]) == []


def test_a_released_commitment_backs_nothing() -> None:
    world = CleanWorld()
    salts = (h("salt 1"), h("salt 2"))
    first, second = (invoice_commitment(PLAIN, s) for s in salts)
    rejected = world.issue(SUBJ_A, SUBJ_C, 50_000, (first,))
    world.reject(rejected, SUBJ_C, (first,))
    world.issue(SUBJ_A, SUBJ_C, 50_000, (second,))
    openings = [
        InvoiceOpening(SUBJ_A, c, PLAIN, s) for c, s in zip((first, second), salts, strict=True)
    ]
    assert check_invoice_openings(_replayed(world).state, openings) == []


def test_a_wrong_opening_and_a_commitment_never_issued() -> None:
    world = CleanWorld()
    salt = h("salt 1")
    c = invoice_commitment(PLAIN, salt)
    rid = world.issue(SUBJ_A, SUBJ_C, 50_000, (c,))
    state = _replayed(world).state
    wrong = check_invoice_openings(state, [InvoiceOpening(SUBJ_A, c, PLAIN, h("other salt"))])
    assert [(f.name, f.receivables) for f in wrong] == [("OpeningMismatch", (rid,))]
    # The same commitment, claimed for another debtor: that debtor never issued against it.
    other = check_invoice_openings(state, [InvoiceOpening(SUBJ_B, c, PLAIN, salt)])
    assert [f.name for f in other] == ["NotIssued"]
