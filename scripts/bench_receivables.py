"""Gas per receivables operation, each run once on a fresh embedded chain.

The figures are for the steady state: the debtor and suppliers have appeared
on the receivables contract before, as they have in a running consortium. An
enterprise's first appearance costs two more storage slots once (its party
number); ``receivable_issue_first_parties_gas`` shows an issue that registers
both its parties.
"""

from __future__ import annotations

from ledger_client import Chain, Keyring, Role, connect, deploy
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.receivables import invoice_commitment

DAY = 86_400


def receivable_gas(chain: Chain | None = None) -> dict[str, int]:
    """Gas used by each receivables operation, by key (``receivable_<operation>_gas``)."""
    own = chain is None
    chain = chain or connect("embedded")
    try:
        return _measure(chain)
    finally:
        if own:
            chain.close()


def _measure(chain: Chain) -> dict[str, int]:
    ring = Keyring("bench-receivables")
    regulator = ring.account("regulator")
    chain.fund(regulator.address)
    ledger = deploy(chain, regulator)
    c, rc = ledger.consortium, ledger.receivables
    registrar, bank = ring.account("registrar"), ring.account("bank")
    for acct, roles in ((registrar, Role.REGISTRAR), (bank, Role.FINANCIER)):
        chain.fund(acct.address)
        c.admit_member(regulator, acct.address, acct.address[:10], "Shanghai", roles)
    core, tier1, tier2 = (ring.account(n) for n in ("core", "tier1", "tier2"))
    for n, ent in enumerate((core, tier1, tier2)):
        chain.fund(ent.address)
        c.bind_enterprise(registrar, ent.address, keccak256(f"bench-subject-{n}".encode()))
    invoices = (
        invoice_commitment(keccak256(f"bench-invoice-{n}".encode()), keccak256(b"bench salt"))
        for n in range(100)
    )
    contract = keccak256(b"bench contract")

    gas: dict[str, int] = {}
    first = rc.issue_receivable(
        core,
        tier1.address,
        1_000_000_00,
        chain.now() + 30 * DAY,
        contract_hash=contract,
        invoice_commitments=[next(invoices)],
    )
    gas["receivable_issue_first_parties_gas"] = first.gas_used
    rc.accept(tier1, first.receivable_id)
    # tier 2 appears; this part is later left unpaid
    unpaid = rc.transfer_part(tier1, first.receivable_id, tier2.address, 1_000).receivable_id

    issued = rc.issue_receivable(
        core,
        tier1.address,
        1_000_000_00,
        chain.now() + 30 * DAY,
        contract_hash=contract,
        invoice_commitments=[next(invoices)],
    )
    rid = issued.receivable_id
    gas["receivable_issue_gas"] = issued.gas_used
    gas["receivable_accept_gas"] = rc.accept(tier1, rid).gas_used
    split = rc.transfer_part(tier1, rid, tier2.address, 400_000_00)
    gas["receivable_split_gas"] = split.gas_used
    part = split.receivable_id
    gas["receivable_transfer_gas"] = rc.transfer(tier2, part, tier1.address).gas_used
    week = chain.now() + 7 * DAY
    gas["receivable_finance_request_gas"] = rc.request_financing(
        tier1, part, bank.address, min_advance_fen=390_000_00, max_discount_bps=400, expires_at=week
    ).gas_used
    gas["receivable_finance_gas"] = rc.finance(bank, part, 390_000_00, 400).gas_used
    gas["receivable_release_gas"] = rc.release_financing(bank, part).gas_used
    rc.request_financing(
        tier1, rid, bank.address, min_advance_fen=590_000_00, max_discount_bps=400, expires_at=week
    )
    rc.finance(bank, rid, 590_000_00, 400)

    chain.advance_time(31 * DAY)
    gas["receivable_settle_gas"] = rc.settle(core, [part]).gas_used
    gas["receivable_settle_financed_gas"] = rc.settle(core, [rid]).gas_used
    chain.advance_time(15 * DAY)
    gas["receivable_mark_overdue_gas"] = rc.mark_overdue(tier2, unpaid).gas_used
    return gas
