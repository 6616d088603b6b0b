"""Three attacks on receivables, each performed through the client (both backends)
and through the HTTP API (both backends), each refused by name.

1. A bank finances on terms the holder never agreed (1 fen for a ¥1m part, a 100 % discount),
   or on a request that expired: ``ReceivablesTermsNotAgreed``,
   ``ReceivablesFinancingRequestExpired``.
2. A squatter issues first against another debtor's invoice, with everything it can know:
   the debtor's issue still succeeds.
3. A receivable split without bound: the split past ``MAX_PARTS`` is refused with
   ``ReceivablesTooManyParts``, and every view of the parts stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger_client import Chain, Keyring
from ledger_client.attestations.merkle import keccak256
from ledger_client.chain.backends import ENGINE_VARIABLE
from ledger_client.contracts.receivables import (
    MAX_PARTS,
    invoice_commitment,
    invoice_key,
    new_invoice_salt,
)
from ledger_client.errors import (
    ReceivablesDuplicateInvoice,
    ReceivablesFinancingRequestExpired,
    ReceivablesNoFinancingRequest,
    ReceivablesTermsNotAgreed,
    ReceivablesTooManyParts,
)
from ledger_client.types import ReceivableStatus as S
from tests.api_world import ApiWorld, error, open_world
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain
from tests.receivables_world import CONTRACT_HASH, DAY, World, build_world

MILLION = 1_000_000_00  # ¥1m in fen
AGREED_ADVANCE = 970_000_00  # what the holder asks for at least
AGREED_BPS = 300  # the most discount it accepts


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def _squatter_guesses(plain: bytes, debtor: bytes, commitment: bytes) -> list[bytes]:
    """Everything a squatter can issue against: the invoice's plain hash, it keyed with the
    debtor's subject id every obvious way, and (front-running) the debtor's very commitment
    read off its pending issue, also keyed with the debtor."""
    return [
        plain,
        keccak256(plain + debtor),
        invoice_key(debtor, plain),  # keccak256(debtor ‖ plain)
        commitment,
        invoice_key(debtor, commitment),
    ]


class ReceivablesAttacksThroughTheClient:
    """The attacks as a client (or a raw call) performs them, on every backend."""

    @pytest.fixture
    def w(self, chain: Chain, keyring: Keyring) -> World:
        return build_world(chain, keyring)

    # -- 5: financing terms ------------------------------------------------------------
    def test_a_bank_cannot_finance_on_terms_the_holder_never_agreed(self, w: World) -> None:
        rid = w.issue(MILLION)
        w.request_financing(
            w.tier1,
            rid,
            w.bank_a.address,
            min_advance=AGREED_ADVANCE,
            max_discount_bps=AGREED_BPS,
            days=7,
        )
        attempts = [
            (1, AGREED_BPS),  # 1 fen for a ¥1m part
            (AGREED_ADVANCE, 10_000),  # a 100 % discount
            (1, 10_000),
            (AGREED_ADVANCE - 1, AGREED_BPS),  # just below the least advance
            (AGREED_ADVANCE, AGREED_BPS + 1),  # just above the highest discount
        ]
        for advance, bps in attempts:
            with pytest.raises(ReceivablesTermsNotAgreed) as info:
                w.rc.finance(w.bank_a, rid, advance, bps)
            assert (info.value.id, info.value.financier) == (rid, w.bank_a.address)
            assert (info.value.advance, info.value.discountBps) == (advance, bps)
            assert info.value.kind == "forbidden"
        # The same attempt as a raw call, not through the client's method: the same refusal.
        data = w.rc.codec.fn("finance").encode([rid, 1, 10_000])
        with pytest.raises(ReceivablesTermsNotAgreed):
            w.chain.call(w.rc.address, data, sender=w.bank_a.address)
        # Another bank, not asked, on the holder's very terms: no request of it.
        with pytest.raises(ReceivablesNoFinancingRequest):
            w.rc.finance(w.bank_b, rid, AGREED_ADVANCE, AGREED_BPS)
        r = w.rc.receivable(rid)
        assert r is not None
        assert (r.status, r.financier) == (S.ACTIVE, None)
        assert w.rc.financing_requested(rid, w.bank_a.address)  # the request stands
        # Within the terms (better for the holder than asked): financed.
        w.rc.finance(w.bank_a, rid, AGREED_ADVANCE + 1, AGREED_BPS - 1)
        r = w.rc.receivable(rid)
        assert r is not None
        assert (r.status, r.advance_fen, r.discount_bps) == (
            S.FINANCED,
            AGREED_ADVANCE + 1,
            AGREED_BPS - 1,
        )

    def test_new_terms_replace_the_old_for_that_bank(self, w: World) -> None:
        rid = w.issue(MILLION)
        w.request_financing(w.tier1, rid, w.bank_a.address, min_advance=1, max_discount_bps=10_000)
        w.request_financing(
            w.tier1,
            rid,
            w.bank_a.address,
            min_advance=AGREED_ADVANCE,
            max_discount_bps=AGREED_BPS,
        )
        with pytest.raises(ReceivablesTermsNotAgreed):
            w.rc.finance(w.bank_a, rid, 1, 10_000)  # what the first, replaced, terms allowed

    def test_an_expired_request_is_refused_by_name(self, w: World) -> None:
        rid = w.issue(MILLION, days=60)
        asked = w.request_financing(
            w.tier1,
            rid,
            w.bank_a.address,
            min_advance=AGREED_ADVANCE,
            max_discount_bps=AGREED_BPS,
            days=7,
        )
        expires = asked.event("FinancingRequested").args["expiresAt"]
        w.chain.advance_time(7 * DAY + 3_600)
        assert not w.rc.financing_requested(rid, w.bank_a.address)
        terms = w.rc.financing_request(rid, w.bank_a.address)
        assert terms is not None
        assert terms.expires_at == expires
        with pytest.raises(ReceivablesFinancingRequestExpired) as info:
            w.rc.finance(w.bank_a, rid, AGREED_ADVANCE, AGREED_BPS)  # on the agreed terms
        assert (info.value.id, info.value.financier, info.value.expiresAt) == (
            rid,
            w.bank_a.address,
            expires,
        )
        assert info.value.kind == "conflict"
        # The holder asks again: the bank may finance on the new request.
        w.request_financing(
            w.tier1, rid, w.bank_a.address, min_advance=AGREED_ADVANCE, max_discount_bps=AGREED_BPS
        )
        w.rc.finance(w.bank_a, rid, AGREED_ADVANCE, AGREED_BPS)

    # -- 7: invoice squatting ----------------------------------------------------------
    def test_a_squatter_cannot_block_the_debtors_invoice(self, w: World) -> None:
        plain = keccak256(b"VAT invoice 3400231101 HF-2025-017")
        salt = new_invoice_salt()
        commitment = invoice_commitment(plain, salt)
        debtor = w.subject(w.core)
        guesses = _squatter_guesses(plain, debtor, commitment)
        # The squatter, an enterprise in good standing, issues first against all of them.
        squatted = w.rc.issue_receivable(
            w.other_core,
            w.tier2.address,
            MILLION,
            w.due_in(30),
            contract_hash=CONTRACT_HASH,
            invoice_commitments=guesses,
        ).receivable_id
        # The real debtor's issue still succeeds, and its invoice is its own.
        real = w.rc.issue_receivable(
            w.core,
            w.tier1.address,
            MILLION,
            w.due_in(30),
            contract_hash=CONTRACT_HASH,
            invoice_commitments=[commitment],
        ).receivable_id
        assert w.rc.receivable_of_invoice(debtor, commitment) == real
        assert w.rc.receivable_of_invoice(w.subject(w.other_core), commitment) == squatted
        # The rule still holds for the real debtor: its commitment backs one receivable ever.
        with pytest.raises(ReceivablesDuplicateInvoice) as again:
            w.issue(invoices=[commitment], supplier=w.tier2, accept=False)
        assert (again.value.invoiceCommitment, again.value.receivableId) == (commitment, real)

    # -- 10: bounded parts -------------------------------------------------------------
    def test_a_receivable_splits_to_the_bound_and_no_further(self, w: World) -> None:
        assert w.rc.max_parts() == MAX_PARTS
        rid = w.issue(MILLION)
        first = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 1_000).receivable_id
        for _ in range(MAX_PARTS - 2):  # the issue and its first part are two parts already
            w.rc.transfer_part(w.tier1, rid, w.tier2.address, 1)
        t = w.rc.terms(rid)
        assert t is not None
        assert t.part_count == MAX_PARTS
        for holder, part, to in ((w.tier1, rid, w.tier2), (w.tier2, first, w.tier3)):
            with pytest.raises(ReceivablesTooManyParts) as info:
                w.rc.transfer_part(holder, part, to.address, 1)
            assert (info.value.id, info.value.maxParts) == (rid, MAX_PARTS)
            assert info.value.kind == "conflict"
        # Every view of the parts is bounded: by the page asked for, and by MAX_PARTS.
        assert len(w.rc.parts(rid)) == MAX_PARTS
        assert w.rc.parts(rid, 0, 3) == w.rc.parts(rid)[:3]
        assert len(w.rc.parts(rid, MAX_PARTS - 6, 100)) == 6
        assert w.rc.parts(rid, 0, 2**256 - 1) == w.rc.parts(rid)
        assert len(w.rc.parts_of(rid)) == MAX_PARTS
        b = w.rc.balance(rid)
        assert b.face_value_fen == b.parts_total_fen == b.outstanding_fen == MILLION


class TestReceivablesAttacksEmbedded(EmbeddedChain, ReceivablesAttacksThroughTheClient):
    """The embedded chain."""


class TestReceivablesAttacksRevm(RevmChain, ReceivablesAttacksThroughTheClient):
    """On the embedded chain's revm engine."""


class TestReceivablesAttacksAnvil(AnvilChain, ReceivablesAttacksThroughTheClient):
    """A real anvil node."""


# -- the same attacks through the HTTP API --------------------------------------------------


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


def _issue(w: ApiWorld, debtor: str, supplier: str, commitments: list[bytes]) -> Any:
    r = w.ledger.receivables
    due = w.service.chain.now() + 60 * DAY
    args = (w[supplier].address, MILLION, due, CONTRACT_HASH, commitments)
    return w.post(
        "/v1/receivables",
        debtor,
        {
            "supplier": w[supplier].address,
            "amount_fen": MILLION,
            "due_date": due,
            "contract_hash": _hex(CONTRACT_HASH),
            "invoice_commitments": [_hex(c) for c in commitments],
            **w.signed(debtor, r, "issue", *args),
        },
    )


def _issued(w: ApiWorld, debtor: str, supplier: str, commitments: list[bytes]) -> str:
    r = w.ledger.receivables
    posted = _issue(w, debtor, supplier, commitments)
    assert posted.status_code == 202, posted.text
    done = w.wait(posted.json()["id"], debtor)
    assert done["status"] == "anchored", done
    rid: str = done["result"]["receivable_id"]
    w.write(f"/v1/receivables/{rid}/accept", supplier, w.signed(supplier, r, "accept", _b(rid)))
    return rid


def _finance(w: ApiWorld, bank: str, rid: str, advance: int, bps: int) -> Any:
    r = w.ledger.receivables
    body = {
        "advance_fen": advance,
        "discount_bps": bps,
        **w.signed(bank, r, "finance", _b(rid), advance, bps),
    }
    return w.post(f"/v1/receivables/{rid}/finance", bank, body)


class ReceivablesAttacksThroughTheApi:
    """The attacks through the HTTP API, relayed onto the chain the ``rpc`` fixture names."""

    @pytest.fixture
    def rpc(self) -> str | None:
        raise NotImplementedError

    @pytest.fixture
    def w(self, tmp_path: Path, rpc: str | None) -> Iterator[ApiWorld]:
        with open_world(tmp_path, rpc) as world:
            yield world

    def test_financing_terms(self, w: ApiWorld) -> None:
        r = w.ledger.receivables
        rid = _issued(w, "core", "tier1", [new_invoice_salt()])
        expires = w.service.chain.now() + 7 * DAY
        terms = (AGREED_ADVANCE, AGREED_BPS, expires)
        ask = {
            "financier": w["bank-a"].address,
            "min_advance_fen": AGREED_ADVANCE,
            "max_discount_bps": AGREED_BPS,
            "expires_at": expires,
            **w.signed("tier1", r, "requestFinancing", _b(rid), w["bank-a"].address, *terms),
        }
        # The bank hands in the holder's signed request: it cannot loosen the signed terms.
        for loosened in ({"min_advance_fen": 1}, {"max_discount_bps": 10_000}):
            error(
                w.post(f"/v1/receivables/{rid}/financing-requests", "bank-a", {**ask, **loosened}),
                403,
                "SignatureMismatch",
            )
        w.write(f"/v1/receivables/{rid}/financing-requests", "bank-a", ask)
        for advance, bps in ((1, AGREED_BPS), (AGREED_ADVANCE, 10_000)):
            e = error(_finance(w, "bank-a", rid, advance, bps), 403, "ReceivablesTermsNotAgreed")
            assert (e["id"], e["financier"]) == (rid, w["bank-a"].address)
            assert (e["advance"], e["discountBps"]) == (advance, bps)
        assert w.get(f"/v1/receivables/{rid}", "bank-a").json()["status"] == "active"
        # Past its expiry the request is refused by name, even on the agreed terms.
        w.advance(8 * DAY)
        e = error(
            _finance(w, "bank-a", rid, AGREED_ADVANCE, AGREED_BPS),
            409,
            "ReceivablesFinancingRequestExpired",
        )
        assert (e["id"], e["expiresAt"]) == (rid, expires)
        # Asked anew, the bank finances within the terms.
        expires = w.service.chain.now() + 7 * DAY
        terms = (AGREED_ADVANCE, AGREED_BPS, expires)
        ask = {
            **ask,
            "expires_at": expires,
            **w.signed("tier1", r, "requestFinancing", _b(rid), w["bank-a"].address, *terms),
        }
        w.write(f"/v1/receivables/{rid}/financing-requests", "tier1", ask)
        posted = _finance(w, "bank-a", rid, AGREED_ADVANCE, AGREED_BPS)
        assert posted.status_code == 202, posted.text
        assert w.wait(posted.json()["id"], "bank-a")["status"] == "anchored"
        got = w.get(f"/v1/receivables/{rid}", "tier1").json()
        assert (got["status"], got["advance_fen"]) == ("financed", AGREED_ADVANCE)

    def test_invoice_squatting(self, w: ApiWorld) -> None:
        plain = keccak256(b"VAT invoice 3400231102 HF-2025-017")
        commitment = invoice_commitment(plain, new_invoice_salt())
        debtor = w.subjects["core"]
        # tier2 squats first on everything it can know, the core's commitment included.
        squatted = _issued(w, "tier2", "tier1", _squatter_guesses(plain, debtor, commitment))
        real = _issued(w, "core", "tier1", [commitment])
        assert real != squatted
        rc = w.ledger.receivables
        assert rc.receivable_of_invoice(debtor, commitment) == _b(real)
        # The debtor's own second use of its commitment is still refused by name.
        e = error(_issue(w, "core", "tier2", [commitment]), 409, "ReceivablesDuplicateInvoice")
        assert (e["invoiceCommitment"], e["receivableId"]) == (_hex(commitment), real)

    def test_parts_are_bounded_and_paged(self, w: ApiWorld) -> None:
        r = w.ledger.receivables
        rid = _issued(w, "core", "tier1", [new_invoice_salt()])
        # tier1 splits up to the bound with its own key and gas (the same chain)...
        w.service.chain.fund(w["tier1"].address)
        for _ in range(MAX_PARTS - 1):
            r.transfer_part(w["tier1"], _b(rid), w["tier2"].address, 1)
        # ... and once more through the API: refused by name.
        body = {
            "to": w["tier2"].address,
            "amount_fen": 1,
            **w.signed("tier1", r, "split", _b(rid), w["tier2"].address, 1),
        }
        e = error(
            w.post(f"/v1/receivables/{rid}/split", "tier1", body), 409, "ReceivablesTooManyParts"
        )
        assert (e["id"], e["maxParts"]) == (rid, MAX_PARTS)
        # The parts read a page at a time, never more than MAX_PARTS in all.
        page = w.get(f"/v1/receivables/{rid}/parts", "auditor", offset=250, limit=64).json()
        assert (page["count"], page["max_parts"], page["root"]) == (MAX_PARTS, MAX_PARTS, rid)
        assert [p["label"] for p in page["data"]] == [f"R1.{n}" for n in range(250, 256)]
        first = w.get(f"/v1/receivables/{rid}/parts", "auditor").json()
        assert len(first["data"]) == first["limit"] == 64
        assert first["data"][0]["id"] == rid
        error(
            w.get(f"/v1/receivables/{rid}/parts", "auditor", limit=MAX_PARTS + 1),
            422,
            "RequestValidationError",
        )
        error(w.get("/v1/receivables/0x" + "66" * 32 + "/parts", "auditor"), 404, "NotFound")


class TestReceivablesAttacksApiEmbedded(ReceivablesAttacksThroughTheApi):
    """The API on its embedded chain, on py-evm."""

    engine = "pyevm"

    @pytest.fixture
    def rpc(self, monkeypatch: pytest.MonkeyPatch) -> str | None:
        # The API opens its own embedded chain, on the engine the environment names.
        monkeypatch.setenv(ENGINE_VARIABLE, self.engine)
        return None


class TestReceivablesAttacksApiRevm(TestReceivablesAttacksApiEmbedded):
    """The API on its embedded chain, on revm."""

    engine = "revm"


@pytest.mark.anvil
class TestReceivablesAttacksApiAnvil(ReceivablesAttacksThroughTheApi):
    """The API relaying to a real anvil node."""

    @pytest.fixture
    def rpc(self, anvil_url: str) -> str | None:
        return anvil_url
