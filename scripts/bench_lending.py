"""Gas per lending operation (collateral registry, credit facilities), once each on a
fresh embedded chain with a pinned clock.

``pledge_gas`` is a patent's first registration (both its slots new), sent by the pledgee
with the pledgor's signature. ``facility_register_gas`` secures the facility by one pledge.
``facility_draw_first_gas`` is an enterprise's first draw anywhere (its exposure slot new);
``facility_draw_gas`` a later one. ``facility_draw_joint_gas`` is the same later draw by a
participant of a joint agreement in force, so ``joint_limit_check_gas`` (the difference)
is what the joint limit adds to a draw.
"""

from __future__ import annotations

from ledger_client import Chain, Keyring, Role, connect, deploy
from ledger_client.attestations.merkle import keccak256
from ledger_client.lending import CollateralKind, FacilityKind, PledgeTerms, ip_key

DAY = 86_400
MILLION = 1_000_000_00


def lending_gas(chain: Chain | None = None) -> dict[str, int]:
    """Gas used by each lending operation, by key."""
    own = chain is None
    chain = chain or connect("embedded")
    try:
        return _measure(chain)
    finally:
        if own:
            chain.close()


def _measure(chain: Chain) -> dict[str, int]:
    ring = Keyring("bench-lending")
    regulator = ring.account("regulator")
    chain.fund(regulator.address)
    ledger = deploy(chain, regulator)
    c, cr, cf = ledger.consortium, ledger.collateral, ledger.facilities
    registrar, bank_a, bank_b = (ring.account(n) for n in ("registrar", "bank-a", "bank-b"))
    for acct, roles, city in (
        (registrar, Role.REGISTRAR, "Hefei"),
        (bank_a, Role.FINANCIER, "Shanghai"),
        (bank_b, Role.FINANCIER, "Nanjing"),
    ):
        chain.fund(acct.address)
        c.admit_member(regulator, acct.address, acct.address[:10], city, roles)
    solo, joint = ring.account("solo"), ring.account("joint")
    solo_subject, joint_subject = (keccak256(f"bench-lending-{n}".encode()) for n in range(2))
    for ent, subject in ((solo, solo_subject), (joint, joint_subject)):
        chain.fund(ent.address)
        c.bind_enterprise(registrar, ent.address, subject)
    year = chain.now() + 365 * DAY
    gas: dict[str, int] = {}

    terms = PledgeTerms(CollateralKind.PATENT, ip_key("CNIPA", "ZL202310001234.5"), MILLION, year)
    pledged = cr.pledge(bank_a, cr.sign_pledge(solo, terms, pledgee=bank_a.address))
    gas["pledge_gas"] = pledged.tx.gas_used
    gas["facility_register_gas"] = cf.register_facility(
        bank_a,
        solo_subject,
        keccak256(b"A-1"),
        kind=FacilityKind.LOAN,
        limit=10 * MILLION,
        expiry=year,
        pledge_ids=[pledged.pledge_id],
    ).tx.gas_used
    gas["facility_register_unsecured_gas"] = cf.register_facility(
        bank_a,
        joint_subject,
        keccak256(b"A-2"),
        kind=FacilityKind.LOAN,
        limit=10 * MILLION,
        expiry=year,
    ).tx.gas_used
    gas["facility_draw_first_gas"] = cf.draw(
        bank_a, solo_subject, keccak256(b"A-1"), MILLION
    ).gas_used
    gas["facility_draw_gas"] = cf.draw(bank_a, solo_subject, keccak256(b"A-1"), MILLION).gas_used

    no, _ = cf.propose_agreement(
        bank_a, joint_subject, 8 * MILLION, [bank_a.address, bank_b.address], [5_000, 5_000]
    )
    cf.join_agreement(bank_b, no)
    cf.accept_agreement(bank_a, cf.sign_acceptance(joint, no))
    cf.draw(bank_a, joint_subject, keccak256(b"A-2"), MILLION)  # counts the facility in
    gas["facility_draw_joint_gas"] = cf.draw(
        bank_a, joint_subject, keccak256(b"A-2"), MILLION
    ).gas_used
    gas["joint_limit_check_gas"] = gas["facility_draw_joint_gas"] - gas["facility_draw_gas"]
    gas["facility_repay_gas"] = cf.repay(bank_a, solo_subject, keccak256(b"A-1"), MILLION).gas_used
    gas["pledge_release_gas"] = cr.release(bank_a, pledged.pledge_id).gas_used
    return gas
