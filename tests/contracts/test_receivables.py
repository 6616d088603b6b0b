"""Supply-chain receivables, one conformance class run on the embedded chain and on anvil."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from eth_account.signers.local import LocalAccount
from eth_account.types import TransactionDictType
from eth_typing import HexStr

from ledger_client import Chain, Keyring, LedgerValueError
from ledger_client.attestations.records import load_schemas, record_hash, validate_record
from ledger_client.chain.connection import DEFAULT_GAS
from ledger_client.contracts.receivables import (
    DEFAULT_GRACE_PERIOD,
    default_data_hash,
    default_record,
    receivable_label,
    root_of,
    schema_id,
)
from ledger_client.errors import (
    ConsortiumMemberSuspended,
    ConsortiumNotEnterprise,
    ConsortiumUnauthorized,
    ReceivablesAlreadyFinanced,
    ReceivablesDuplicateInvoice,
    ReceivablesInvalidAmount,
    ReceivablesInvalidDiscount,
    ReceivablesInvalidDueDate,
    ReceivablesInvalidExpiry,
    ReceivablesInvalidHash,
    ReceivablesInvalidInvoices,
    ReceivablesInvalidRecipient,
    ReceivablesInvoiceMismatch,
    ReceivablesMatured,
    ReceivablesNoFinancingRequest,
    ReceivablesNotDebtor,
    ReceivablesNotDue,
    ReceivablesNotFinanced,
    ReceivablesNotFinancier,
    ReceivablesNotHolder,
    ReceivablesNotOverdue,
    ReceivablesNotPayee,
    ReceivablesUnknown,
    ReceivablesWrongStatus,
)
from ledger_client.types import FinancingTerms
from ledger_client.types import ReceivableStatus as S
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain, RevmOnDiskChain
from tests.receivables_world import CONTRACT_HASH, DAY, World, build_world, invoice

#: A call a test expects the contract to refuse.
Attempt = Callable[[], object]

AMOUNT = 1_000_000_00  # one million yuan, in fen


class ReceivablesConformance:
    """The receivables rules as every backend must show them."""

    @pytest.fixture
    def w(self, chain: Chain, keyring: Keyring) -> World:
        return build_world(chain, keyring)

    # -- issue --------------------------------------------------------------------
    def test_issue_records_terms_and_the_supplier_as_holder(self, w: World) -> None:
        inv = [invoice(), invoice()]
        due = w.due_in(90)
        result = w.rc.issue_receivable(
            w.core,
            w.tier1.address,
            AMOUNT,
            due,
            contract_hash=CONTRACT_HASH,
            invoice_commitments=inv,
        )
        rid = result.receivable_id
        assert result.event("ReceivableIssued").args == {
            "id": rid,
            "debtor": w.subject(w.core),
            "supplier": w.subject(w.tier1),
            "amount": AMOUNT,
            "dueDate": due,
            "contractHash": CONTRACT_HASH,
            "invoiceCommitments": tuple(inv),
        }
        assert receivable_label(rid) == "R1"
        r = w.rc.receivable(rid)
        assert r is not None
        assert (r.root, r.parent, r.debtor, r.holder) == (
            rid,
            None,
            w.subject(w.core),
            w.subject(w.tier1),
        )
        assert (r.amount_fen, r.due_date, r.status, r.financier) == (AMOUNT, due, S.PENDING, None)
        t = w.rc.terms(rid)
        assert t is not None
        assert (t.face_value_fen, t.part_count, t.invoice_count, t.contract_hash) == (
            AMOUNT,
            1,
            2,
            CONTRACT_HASH,
        )
        assert t.issued_at == w.chain.backend.block(result.block_number).timestamp
        debtor = w.subject(w.core)
        assert [w.rc.receivable_of_invoice(debtor, h) for h in inv] == [rid, rid]
        assert w.rc.receivable_of_invoice(debtor, invoice()) is None
        assert w.rc.receivable_of_invoice(w.subject(w.other_core), inv[0]) is None
        assert w.rc.receivable_count() == 1
        assert w.rc.receivable(bytes(32)) is None
        assert w.rc.terms(bytes(32)) is None

    def test_a_commitment_backs_one_receivable_of_its_debtor_ever(self, w: World) -> None:
        shared = invoice()
        first = w.issue(invoices=[shared])
        with pytest.raises(ReceivablesDuplicateInvoice) as info:
            # the same debtor, another supplier: the invoice is still spent
            w.issue(supplier=w.tier2, invoices=[invoice(), shared], accept=False)
        assert (info.value.invoiceCommitment, info.value.receivableId) == (shared, first)
        assert info.value.kind == "conflict"
        twice = invoice()
        with pytest.raises(ReceivablesDuplicateInvoice) as again:
            w.issue(invoices=[twice, twice], accept=False)
        assert again.value.invoiceCommitment == twice
        assert w.rc.receivable_count() == 1
        # another debtor's issue against the same 32 bytes is its own, and blocks nothing
        theirs = w.issue(debtor=w.other_core, supplier=w.tier2, invoices=[shared])
        assert w.rc.receivable_of_invoice(w.subject(w.other_core), shared) == theirs
        assert w.rc.receivable_of_invoice(w.subject(w.core), shared) == first

    def test_issue_refusals(self, w: World) -> None:
        due = w.due_in(30)

        def issue(
            *,
            debtor: LocalAccount | None = None,
            supplier: str | None = None,
            amount_fen: int = AMOUNT,
            due_date: int = due,
            contract_hash: bytes = CONTRACT_HASH,
            invoice_commitments: Sequence[bytes] | None = None,
        ) -> None:
            """A valid issue by the core to tier 1 but for the arguments given."""
            w.rc.issue_receivable(
                w.core if debtor is None else debtor,
                w.tier1.address if supplier is None else supplier,
                amount_fen,
                due_date,
                contract_hash=contract_hash,
                invoice_commitments=[invoice()]
                if invoice_commitments is None
                else invoice_commitments,
            )

        with pytest.raises(ConsortiumNotEnterprise):
            issue(debtor=w.stranger)
        with pytest.raises(ConsortiumNotEnterprise):
            issue(debtor=w.bank_a)
        with pytest.raises(ConsortiumNotEnterprise):
            issue(supplier=w.stranger.address)
        with pytest.raises(ReceivablesInvalidRecipient):
            issue(supplier=w.core.address)
        with pytest.raises(ReceivablesInvalidAmount) as amount:
            issue(amount_fen=0)
        assert amount.value.amount == 0
        with pytest.raises(ReceivablesInvalidDueDate) as date:
            issue(due_date=w.chain.now() - 1)
        assert date.value.kind == "invalid"
        with pytest.raises(ReceivablesInvalidHash):
            issue(contract_hash=bytes(32))
        with pytest.raises(ReceivablesInvalidHash):
            issue(invoice_commitments=[invoice(), bytes(32)])
        with pytest.raises(ReceivablesInvalidInvoices) as none:
            issue(invoice_commitments=[])
        assert none.value.count == 0
        with pytest.raises(ReceivablesInvalidInvoices):
            issue(invoice_commitments=[invoice() for _ in range(33)])
        with pytest.raises(LedgerValueError, match="fen"):
            issue(amount_fen=2**64)
        with pytest.raises(LedgerValueError, match="32 bytes"):
            issue(contract_hash=b"short")
        issue(invoice_commitments=[invoice() for _ in range(32)])  # the most a receivable can carry
        assert w.rc.receivable_count() == 1

    # -- accept and reject ----------------------------------------------------------
    def test_only_the_supplier_accepts_and_only_once(self, w: World) -> None:
        rid = w.issue(accept=False)
        with pytest.raises(ReceivablesNotHolder) as info:
            w.rc.accept(w.tier2, rid)
        assert (info.value.id, info.value.account) == (rid, w.tier2.address)
        assert info.value.kind == "forbidden"
        with pytest.raises(ReceivablesNotHolder):
            w.rc.accept(w.core, rid)  # the debtor cannot accept for its supplier
        result = w.rc.accept(w.tier1, rid)
        assert result.event("ReceivableAccepted").args == {
            "id": rid,
            "supplier": w.subject(w.tier1),
        }
        with pytest.raises(ReceivablesWrongStatus) as again:
            w.rc.accept(w.tier1, rid)
        assert again.value.status == S.ACTIVE
        with pytest.raises(ReceivablesWrongStatus):
            w.rc.reject(w.tier1, rid)
        with pytest.raises(ReceivablesUnknown):
            w.rc.accept(w.tier1, (7 << 24).to_bytes(32, "big"))  # no 7th receivable

    def test_only_accepted_receivables_move(self, w: World) -> None:
        rid = w.issue(accept=False)
        attempts: tuple[Attempt, ...] = (
            lambda: w.rc.transfer(w.tier1, rid, w.tier2.address),
            lambda: w.rc.transfer_part(w.tier1, rid, w.tier2.address, 1),
            lambda: w.request_financing(w.tier1, rid, w.bank_a.address),
        )
        for attempt in attempts:
            with pytest.raises(ReceivablesWrongStatus) as info:
                attempt()
            assert info.value.status == S.PENDING

    def test_reject_releases_the_invoices_listed(self, w: World) -> None:
        released, kept = invoice(), invoice()
        rid = w.issue(invoices=[released, kept], accept=False)
        with pytest.raises(ReceivablesNotHolder):
            w.rc.reject(w.tier2, rid)
        stray = invoice()
        with pytest.raises(ReceivablesInvoiceMismatch) as info:
            w.rc.reject(w.tier1, rid, [released, stray])
        assert (info.value.id, info.value.invoiceCommitment) == (rid, stray)
        result = w.rc.reject(w.tier1, rid, [released])
        assert result.event("ReceivableRejected").args["releasedInvoices"] == (released,)
        r = w.rc.receivable(rid)
        assert r is not None
        assert r.status == S.REJECTED
        debtor = w.subject(w.core)
        assert w.rc.receivable_of_invoice(debtor, released) is None
        assert w.rc.receivable_of_invoice(debtor, kept) == rid
        with pytest.raises(ReceivablesWrongStatus):
            w.rc.accept(w.tier1, rid)
        with pytest.raises(ReceivablesWrongStatus) as moving:
            w.rc.transfer(w.tier1, rid, w.tier2.address)
        assert moving.value.status == S.REJECTED
        again = w.issue(invoices=[released])  # the debtor issues anew against it
        with pytest.raises(ReceivablesDuplicateInvoice) as spent:
            w.issue(invoices=[kept])
        assert spent.value.receivableId == rid
        assert w.rc.receivable_of_invoice(debtor, released) == again

    # -- transfer and split ---------------------------------------------------------
    def test_transfer_of_a_whole_receivable_moves_holdership(self, w: World) -> None:
        rid = w.issue()
        result = w.rc.transfer(w.tier1, rid, w.tier2.address)
        assert result.receivable_id == rid
        assert result.event("ReceivableTransferred").args == {
            "id": rid,
            "from": w.subject(w.tier1),
            "to": w.subject(w.tier2),
            "amount": AMOUNT,
        }
        r = w.rc.receivable(rid)
        assert r is not None
        assert r.holder == w.subject(w.tier2)
        with pytest.raises(ReceivablesNotHolder):
            w.rc.transfer(w.tier1, rid, w.tier3.address)
        with pytest.raises(ReceivablesInvalidRecipient) as to_debtor:
            w.rc.transfer(w.tier2, rid, w.core.address)
        assert to_debtor.value.account == w.core.address
        with pytest.raises(ReceivablesInvalidRecipient):
            w.rc.transfer(w.tier2, rid, w.tier2.address)
        with pytest.raises(ConsortiumNotEnterprise):
            w.rc.transfer(w.tier2, rid, w.stranger.address)
        with pytest.raises(ConsortiumNotEnterprise):
            w.rc.transfer(w.stranger, rid, w.tier3.address)
        assert w.rc.lineage(rid) == [rid]

    def test_split_passes_parts_down_the_tiers_and_keeps_the_sum(self, w: World) -> None:
        rid = w.issue(AMOUNT)
        r1 = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 400_000_00)
        part1 = r1.receivable_id
        assert r1.event("ReceivableSplit").args == {
            "id": rid,
            "child": part1,
            "to": w.subject(w.tier2),
            "from": w.subject(w.tier1),
            "amount": 400_000_00,
            "remaining": 600_000_00,
        }
        part2 = w.rc.transfer_part(w.tier2, part1, w.tier3.address, 150_000_00).receivable_id
        part3 = w.rc.transfer_part(w.tier1, rid, w.tier3.address, 100_000_00).receivable_id
        assert [receivable_label(p) for p in (part1, part2, part3)] == ["R1.1", "R1.2", "R1.3"]
        assert w.rc.lineage(part2) == [part2, part1, rid]
        assert root_of(part2) == rid
        assert w.rc.lineage(part3) == [part3, rid]
        assert w.rc.parts(part2) == [rid, part1, part2, part3]
        assert w.rc.parts(rid, 1, 2) == [part1, part2]
        assert w.rc.parts(rid, 3, 10) == [part3]
        assert w.rc.parts(rid, 4, 10) == w.rc.parts(rid, 2**255, 2**255) == []
        amounts = {p.id: (p.holder, p.amount_fen, p.parent, p.status) for p in w.rc.parts_of(rid)}
        assert amounts == {
            rid: (w.subject(w.tier1), 500_000_00, None, S.ACTIVE),
            part1: (w.subject(w.tier2), 250_000_00, rid, S.ACTIVE),
            part2: (w.subject(w.tier3), 150_000_00, part1, S.ACTIVE),
            part3: (w.subject(w.tier3), 100_000_00, rid, S.ACTIVE),
        }
        b = w.rc.balance(part3)
        assert b.face_value_fen == b.parts_total_fen == b.outstanding_fen == AMOUNT
        t = w.rc.terms(part2)
        assert t is not None
        assert (t.id, t.part_count) == (rid, 4)
        # a part moves whole too
        w.rc.transfer(w.tier3, part2, w.tier1.address)
        p2 = w.rc.receivable(part2)
        assert p2 is not None
        assert p2.holder == w.subject(w.tier1)

    def test_split_refusals(self, w: World) -> None:
        rid = w.issue(1_000)
        with pytest.raises(ReceivablesInvalidAmount) as zero:
            w.rc.transfer_part(w.tier1, rid, w.tier2.address, 0)
        assert (zero.value.amount, zero.value.limit) == (0, 999)
        with pytest.raises(ReceivablesInvalidAmount):
            w.rc.transfer_part(w.tier1, rid, w.tier2.address, 1_000)  # all of it: transfer
        with pytest.raises(ReceivablesNotHolder):
            w.rc.transfer_part(w.tier2, rid, w.tier3.address, 10)
        with pytest.raises(ReceivablesInvalidRecipient):
            w.rc.transfer_part(w.tier1, rid, w.core.address, 10)
        with pytest.raises(ReceivablesUnknown):
            w.rc.transfer_part(w.tier1, _part_id(rid, 5), w.tier2.address, 10)  # no such part
        assert w.rc.transfer_part(w.tier1, rid, w.tier2.address, 999).receivable_id != rid
        with pytest.raises(ReceivablesInvalidAmount):
            w.rc.transfer_part(w.tier1, rid, w.tier2.address, 1)  # 1 fen left: cannot split

    def test_a_rebound_enterprise_keeps_its_receivables(self, w: World, keyring: Keyring) -> None:
        rid = w.issue()
        part = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 1_000).receivable_id
        new_key = keyring.account("tier2-new-key")
        w.chain.fund(new_key.address, 10**18)
        w.ledger.consortium.rebind_enterprise(w.registrar, w.subject(w.tier2), new_key.address)
        with pytest.raises(ConsortiumNotEnterprise):
            w.rc.transfer(w.tier2, part, w.tier3.address)  # the lost key is refused
        w.rc.transfer(new_key, part, w.tier3.address)
        moved = w.rc.receivable(part)
        assert moved is not None
        assert moved.holder == w.subject(w.tier3)

    # -- financing ------------------------------------------------------------------
    def test_finance_with_a_bank_the_holder_asked(self, w: World) -> None:
        rid = w.issue()
        part = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 300_000_00).receivable_id
        with pytest.raises(ReceivablesNoFinancingRequest) as unasked:
            w.rc.finance(w.bank_a, part, 290_000_00, 450)
        assert (unasked.value.id, unasked.value.financier) == (part, w.bank_a.address)
        with pytest.raises(ReceivablesNotHolder):
            w.request_financing(w.tier1, part, w.bank_a.address)
        with pytest.raises(ConsortiumUnauthorized) as no_role:
            w.request_financing(w.tier2, part, w.bureau.address)
        assert no_role.value.account == w.bureau.address
        with pytest.raises(ReceivablesInvalidAmount) as least:
            w.request_financing(w.tier2, part, w.bank_a.address, min_advance=300_000_01)
        assert (least.value.amount, least.value.limit) == (300_000_01, 300_000_00)
        with pytest.raises(ReceivablesInvalidAmount):
            w.request_financing(w.tier2, part, w.bank_a.address, min_advance=0)
        with pytest.raises(ReceivablesInvalidDiscount) as rate:
            w.request_financing(w.tier2, part, w.bank_a.address, max_discount_bps=10_001)
        assert rate.value.discountBps == 10_001
        with pytest.raises(ReceivablesInvalidExpiry):
            w.request_financing(w.tier2, part, w.bank_a.address, days=-1)
        req = w.request_financing(
            w.tier2, part, w.bank_a.address, min_advance=290_000_00, max_discount_bps=450
        )
        expires = req.event("FinancingRequested").args["expiresAt"]
        assert req.event("FinancingRequested").args == {
            "id": part,
            "holder": w.subject(w.tier2),
            "financier": w.bank_a.address,
            "minAdvance": 290_000_00,
            "maxDiscountBps": 450,
            "expiresAt": expires,
        }
        assert w.rc.financing_requested(part, w.bank_a.address)
        assert not w.rc.financing_requested(part, w.bank_b.address)
        assert w.rc.financing_request(part, w.bank_a.address) == FinancingTerms(
            290_000_00, 450, expires
        )
        assert w.rc.financing_request(part, w.bank_b.address) is None
        with pytest.raises(ReceivablesInvalidAmount) as too_much:
            w.rc.finance(w.bank_a, part, 300_000_01, 450)
        assert too_much.value.limit == 300_000_00
        result = w.rc.finance(w.bank_a, part, 290_000_00, 450)
        assert result.event("ReceivableFinanced").args == {
            "id": part,
            "financier": w.bank_a.address,
            "holder": w.subject(w.tier2),
            "advance": 290_000_00,
            "discountBps": 450,
        }
        r = w.rc.receivable(part)
        assert r is not None
        assert (r.status, r.financier, r.advance_fen, r.discount_bps) == (
            S.FINANCED,
            w.bank_a.address,
            290_000_00,
            450,
        )
        assert r.is_financed
        assert not w.rc.financing_requested(part, w.bank_a.address)  # used up
        # the rest of the receivable is a separate claim and can be financed on its own
        w.request_financing(w.tier1, rid, w.bank_b.address)
        w.rc.finance(w.bank_b, rid, 690_000_00, 0)

    def test_a_financed_part_cannot_be_financed_again_nor_moved(self, w: World) -> None:
        rid = w.issue()
        w.request_financing(w.tier1, rid, w.bank_a.address)
        w.request_financing(w.tier1, rid, w.bank_b.address)
        w.rc.finance(w.bank_a, rid, 900_000_00, 300)
        attempts: tuple[Attempt, ...] = (
            lambda: w.rc.finance(w.bank_b, rid, 900_000_00, 300),
            lambda: w.rc.finance(w.bank_a, rid, 900_000_00, 300),
            lambda: w.rc.transfer(w.tier1, rid, w.tier2.address),
            lambda: w.rc.transfer_part(w.tier1, rid, w.tier2.address, 1),
            lambda: w.request_financing(w.tier1, rid, w.bank_b.address),
        )
        for attempt in attempts:
            with pytest.raises(ReceivablesAlreadyFinanced) as info:
                attempt()
            assert (info.value.id, info.value.financier) == (rid, w.bank_a.address)
            assert info.value.kind == "conflict"
        with pytest.raises(ConsortiumUnauthorized):
            w.rc.finance(w.bureau, rid, 1, 0)  # an attester that is no bank

    def test_a_request_lapses_when_the_part_changes_hands(self, w: World) -> None:
        rid = w.issue()
        w.request_financing(w.tier1, rid, w.bank_a.address)
        w.rc.transfer(w.tier1, rid, w.tier2.address)
        assert not w.rc.financing_requested(rid, w.bank_a.address)
        with pytest.raises(ReceivablesNoFinancingRequest):
            w.rc.finance(w.bank_a, rid, 1_000, 0)
        w.request_financing(w.tier2, rid, w.bank_b.address)
        with pytest.raises(ReceivablesNoFinancingRequest):
            w.rc.withdraw_financing_request(w.tier2, rid, w.bank_a.address)
        result = w.rc.withdraw_financing_request(w.tier2, rid, w.bank_b.address)
        assert result.event("FinancingRequestWithdrawn").args["financier"] == w.bank_b.address
        with pytest.raises(ReceivablesNoFinancingRequest):
            w.rc.finance(w.bank_b, rid, 1_000, 0)

    def test_release_financing(self, w: World) -> None:
        rid = w.issue()
        with pytest.raises(ReceivablesNotFinanced):
            w.rc.release_financing(w.bank_a, rid)
        w.request_financing(w.tier1, rid, w.bank_a.address)
        w.rc.finance(w.bank_a, rid, 800_000_00, 500)
        with pytest.raises(ReceivablesNotFinancier) as other:
            w.rc.release_financing(w.bank_b, rid)
        assert (other.value.account, other.value.financier) == (w.bank_b.address, w.bank_a.address)
        result = w.rc.release_financing(w.bank_a, rid)
        assert result.event("FinancingReleased").args == {
            "id": rid,
            "financier": w.bank_a.address,
            "holder": w.subject(w.tier1),
        }
        r = w.rc.receivable(rid)
        assert r is not None
        assert (r.status, r.financier, r.advance_fen) == (S.ACTIVE, None, 0)
        # free again: it moves, and can be financed anew, by another bank
        part = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 1_000).receivable_id
        w.request_financing(w.tier1, rid, w.bank_b.address)
        w.rc.finance(w.bank_b, rid, 100, 0)
        assert w.rc.balance(part).parts_total_fen == AMOUNT

    def test_a_suspended_bank_cannot_finance_or_release(self, w: World) -> None:
        rid = w.issue()
        w.request_financing(w.tier1, rid, w.bank_a.address)
        w.ledger.consortium.suspend_member(w.regulator, w.bank_a.address)
        with pytest.raises(ConsortiumMemberSuspended):
            w.rc.finance(w.bank_a, rid, 1_000, 0)
        w.ledger.consortium.reinstate_member(w.regulator, w.bank_a.address)
        w.rc.finance(w.bank_a, rid, 1_000, 0)
        w.ledger.consortium.suspend_member(w.regulator, w.bank_a.address)
        with pytest.raises(ConsortiumMemberSuspended):
            w.rc.release_financing(w.bank_a, rid)

    # -- maturity and settlement ----------------------------------------------------
    def test_nothing_moves_or_is_financed_after_maturity(self, w: World) -> None:
        rid = w.issue(days=10)
        w.request_financing(w.tier1, rid, w.bank_a.address)
        w.chain.advance_time(11 * DAY)
        due = w.rc.terms(rid)
        assert due is not None
        attempts: tuple[Attempt, ...] = (
            lambda: w.rc.transfer(w.tier1, rid, w.tier2.address),
            lambda: w.rc.transfer_part(w.tier1, rid, w.tier2.address, 5),
            lambda: w.request_financing(w.tier1, rid, w.bank_b.address),
            lambda: w.rc.finance(w.bank_a, rid, 5, 0),
        )
        for attempt in attempts:
            with pytest.raises(ReceivablesMatured) as info:
                attempt()
            assert (info.value.id, info.value.dueDate) == (rid, due.due_date)

    def test_settlement_pays_each_part_to_its_payee(self, w: World) -> None:
        rid = w.issue(AMOUNT, days=30)
        part = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 400_000_00).receivable_id
        w.request_financing(w.tier2, part, w.bank_a.address)
        w.rc.finance(w.bank_a, part, 380_000_00, 400)
        with pytest.raises(ReceivablesNotDue) as early:
            w.rc.settle(w.core, [rid])
        assert early.value.id == rid
        w.chain.advance_time(31 * DAY)
        with pytest.raises(ReceivablesNotDebtor) as not_debtor:
            w.rc.settle(w.other_core, [rid])
        assert not_debtor.value.account == w.other_core.address
        with pytest.raises(ReceivablesNotDebtor):
            w.rc.settle(w.tier1, [rid])
        with pytest.raises(ConsortiumNotEnterprise):
            w.rc.settle(w.bank_a, [rid])
        result = w.rc.settle(w.core, [rid, part])
        settled = [e.args for e in result.events if e.name == "ReceivableSettled"]
        assert settled == [
            {
                "id": rid,
                "debtor": w.subject(w.core),
                "holder": w.subject(w.tier1),
                "financier": "0x" + "00" * 20,
                "amount": 600_000_00,
            },
            {
                "id": part,
                "debtor": w.subject(w.core),
                "holder": w.subject(w.tier2),
                "financier": w.bank_a.address,  # financed: paid to the bank
                "amount": 400_000_00,
            },
        ]
        b = w.rc.balance(rid)
        assert (b.outstanding_fen, b.paid_fen, b.parts_total_fen) == (0, AMOUNT, AMOUNT)
        with pytest.raises(ReceivablesWrongStatus) as twice:
            w.rc.settle(w.core, [part])
        assert twice.value.status == S.PAID
        with pytest.raises(ReceivablesWrongStatus):
            w.rc.release_financing(w.bank_a, part)  # paid: nothing left to release
        paid = w.rc.receivable(part)
        assert paid is not None
        assert (paid.status, paid.financier) == (S.PAID, w.bank_a.address)

    def test_partial_settlement_leaves_the_rest_outstanding(self, w: World) -> None:
        rid = w.issue(AMOUNT, days=5)
        p1 = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 300_000_00).receivable_id
        p2 = w.rc.transfer_part(w.tier2, p1, w.tier3.address, 100_000_00).receivable_id
        w.chain.advance_time(6 * DAY)
        w.rc.settle(w.core, [p1])
        b = w.rc.balance(rid)
        assert (b.paid_fen, b.outstanding_fen) == (200_000_00, 800_000_00)
        assert b.parts_total_fen == b.face_value_fen == AMOUNT
        w.rc.settle_all(w.core, rid)
        statuses = {p.id: p.status for p in w.rc.parts_of(rid)}
        assert statuses == {rid: S.PAID, p1: S.PAID, p2: S.PAID}
        assert w.rc.balance(rid).outstanding_fen == 0

    def test_a_pending_receivable_is_not_settled(self, w: World) -> None:
        rid = w.issue(days=1, accept=False)
        w.chain.advance_time(2 * DAY)
        with pytest.raises(ReceivablesWrongStatus) as info:
            w.rc.settle(w.core, [rid])
        assert info.value.status == S.PENDING

    # -- default --------------------------------------------------------------------
    def test_default_writes_a_credit_record_about_the_debtor(self, w: World) -> None:
        rid = w.issue(AMOUNT, days=30)
        part = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 250_000_00).receivable_id
        terms = w.rc.terms(rid)
        assert terms is not None
        assert w.rc.grace_period() == DEFAULT_GRACE_PERIOD == 15 * DAY
        w.chain.advance_time(40 * DAY)  # past due, but within the grace period
        with pytest.raises(ReceivablesNotOverdue) as early:
            w.rc.mark_overdue(w.tier2, part)
        assert early.value.overdueFrom == terms.due_date + DEFAULT_GRACE_PERIOD
        w.chain.advance_time(8 * DAY)  # 48 days after issue: 17.5 days overdue
        with pytest.raises(ReceivablesNotPayee):
            w.rc.mark_overdue(w.tier1, part)  # not its holder
        with pytest.raises(ConsortiumNotEnterprise):
            w.rc.mark_overdue(w.bank_a, part)  # not financed: the bank is nobody here
        result = w.rc.mark_overdue(w.tier2, part)
        assert result.days_overdue == 17
        debtor = w.subject(w.core)
        data_hash = default_data_hash(debtor, part, 250_000_00, terms.due_date, 17)
        assert result.event("ReceivableMarkedOverdue").args == {
            "id": part,
            "debtor": debtor,
            "attestation": result.attestation,
            "payee": w.tier2.address,
            "amount": 250_000_00,
            "dueDate": terms.due_date,
            "daysOverdue": 17,
        }
        # the attestation contract recorded a receivable-default about the debtor, by this contract
        atts = w.ledger.artifacts.contract("Attestations").codec
        attested = [
            atts.decode_log(log)
            for log in result.receipt.logs
            if log.address.lower() == w.rc.attestations_address().lower()
        ]
        assert len(attested) == 1
        assert attested[0] is not None
        assert attested[0].args == {
            "uid": result.attestation,
            "schema": schema_id(load_schemas()["receivable-default"]),
            "subject": debtor,
            "attester": w.rc.address,
            "dataHash": data_hash,
            "expiry": 0,
            "refUID": bytes(32),
        }
        assert w.rc.default_schema() == attested[0].args["schema"]
        addr = w.rc.attestations_address()
        validity = atts.fn("validity")
        (state,) = validity.decode_output(w.chain.call(addr, validity.encode([result.attestation])))
        assert state == 1  # Valid
        r = w.rc.receivable(part)
        assert r is not None
        assert (r.status, r.default_attestation) == (S.OVERDUE, result.attestation)
        # the off-chain record fits the schema; its dueDate is the due day in China
        record = default_record(debtor, part, 250_000_00, terms.due_date, 17)
        schema = load_schemas()["receivable-default"]
        assert validate_record(schema, record) == record
        assert record_hash(schema, record) != data_hash  # the chain commits to the ABI form
        with pytest.raises(ReceivablesWrongStatus) as twice:
            w.rc.mark_overdue(w.tier2, part)
        assert twice.value.status == S.OVERDUE
        attempts: tuple[Attempt, ...] = (
            lambda: w.rc.transfer(w.tier2, part, w.tier3.address),
            lambda: w.request_financing(w.tier2, part, w.bank_a.address),
        )
        for attempt in attempts:
            with pytest.raises(ReceivablesWrongStatus):
                attempt()
        # a late settlement still pays it; the default stays on the record
        w.rc.settle(w.core, [part])
        late = w.rc.receivable(part)
        assert late is not None
        assert (late.status, late.default_attestation) == (S.PAID, result.attestation)
        assert w.rc.balance(rid).outstanding_fen == 750_000_00

    def test_a_financed_part_is_marked_overdue_by_its_bank(self, w: World) -> None:
        rid = w.issue(days=10)
        w.request_financing(w.tier1, rid, w.bank_b.address)
        w.rc.finance(w.bank_b, rid, 900_000_00, 600)
        w.chain.advance_time(30 * DAY)
        with pytest.raises(ReceivablesNotPayee) as holder:
            w.rc.mark_overdue(w.tier1, rid)
        assert holder.value.account == w.tier1.address
        with pytest.raises(ReceivablesNotPayee):
            w.rc.mark_overdue(w.bank_a, rid)
        result = w.rc.mark_overdue(w.bank_b, rid)
        assert result.event("ReceivableMarkedOverdue").args["payee"] == w.bank_b.address
        settled = w.rc.settle(w.core, [rid]).event("ReceivableSettled")
        assert settled.args["financier"] == w.bank_b.address

    def test_release_after_default_makes_the_holder_the_payee(self, w: World) -> None:
        rid = w.issue(days=10)
        w.request_financing(w.tier1, rid, w.bank_a.address)
        w.rc.finance(w.bank_a, rid, 1_000, 0)
        w.chain.advance_time(30 * DAY)
        w.rc.mark_overdue(w.bank_a, rid)
        w.rc.release_financing(w.bank_a, rid)  # the supplier bought the claim back
        r = w.rc.receivable(rid)
        assert r is not None
        assert (r.status, r.financier) == (S.OVERDUE, None)
        settled = w.rc.settle(w.core, [rid]).event("ReceivableSettled")
        assert settled.args["financier"] == "0x" + "00" * 20

    # -- the race -------------------------------------------------------------------
    def test_two_banks_racing_in_one_block_exactly_one_wins(self, w: World) -> None:
        rid = w.issue()
        w.request_financing(w.tier1, rid, w.bank_a.address)
        w.request_financing(w.tier1, rid, w.bank_b.address)
        fn = w.rc.codec.fn("finance")
        data = {
            w.bank_a.address: fn.encode([rid, 950_000_00, 300]),
            w.bank_b.address: fn.encode([rid, 960_000_00, 280]),
        }
        backend = w.chain.backend
        backend.set_automine(False)
        try:
            hashes = {
                bank.address: _send_unmined(w.chain, bank, w.rc.address, data[bank.address])
                for bank in (w.bank_a, w.bank_b)
            }
            backend.mine()
        finally:
            backend.set_automine(True)
        receipts = {a: backend.wait_for_receipt(h) for a, h in hashes.items()}
        assert len({r.block_number for r in receipts.values()}) == 1  # one block
        winners = [a for a, r in receipts.items() if r.status == 1]
        losers = [a for a, r in receipts.items() if r.status == 0]
        assert len(winners) == 1
        assert len(losers) == 1
        (winner,), (loser,) = winners, losers
        block = receipts[loser].block_number
        with pytest.raises(ReceivablesAlreadyFinanced) as info:
            w.chain.call(w.rc.address, data[loser], sender=loser, block=block)
        assert (info.value.id, info.value.financier) == (rid, winner)
        r = w.rc.receivable(rid)
        assert r is not None
        assert (r.status, r.financier) == (S.FINANCED, winner)


def _part_id(rid: bytes, part: int) -> bytes:
    return (int.from_bytes(rid, "big") | part).to_bytes(32, "big")


def _send_unmined(chain: Chain, signer: LocalAccount, to: str, data: bytes) -> str:
    """Sign and send a transaction without waiting for a receipt (automine is off).

    The signer must not have sent through ``chain`` before: its nonce comes from the node.
    """
    tx: TransactionDictType = {
        "type": 2,
        "chainId": chain.chain_id,
        "nonce": chain.backend.nonce(signer.address),
        "gas": DEFAULT_GAS,
        "maxFeePerGas": chain.fees.max_fee_per_gas,
        "maxPriorityFeePerGas": chain.fees.max_priority_fee_per_gas,
        "to": HexStr(to),  # a contract address, 0x-hex
        "value": 0,
        "data": data,
    }
    return chain.backend.send_raw_transaction(bytes(signer.sign_transaction(tx).raw_transaction))


class TestReceivablesEmbedded(EmbeddedChain, ReceivablesConformance):
    """The embedded chain: a fresh eth-tester chain per test."""


class TestReceivablesRevm(RevmChain, ReceivablesConformance):
    """On the embedded chain's revm engine."""


class TestReceivablesRevmOnDisk(RevmOnDiskChain, ReceivablesConformance):
    """On the revm engine reading its state from disk on demand."""


class TestReceivablesAnvil(AnvilChain, ReceivablesConformance):
    """A real anvil node: one per session, reverted to a snapshot after each test."""
