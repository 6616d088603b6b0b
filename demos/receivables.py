"""The demo's supply-chain finance part: a three-tier receivable, financed, settled; a default.

A Hefei core enterprise issues a receivable to its Nanjing tier-1 supplier,
who passes part of it to a Jiaxing tier-2 supplier, who finances that part
with a Shanghai bank. At maturity the core enterprise settles every part, the
financed one to the bank. A second receivable, to a Hangzhou supplier, goes
unpaid past its grace period: its holder marks it overdue, and the default
lands in the core enterprise's credit record as a ``receivable-default``
attestation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table

from ledger_client import ContractRevert, Keyring, Ledger
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.receivables import (
    DEFAULT_GRACE_PERIOD,
    default_data_hash,
    default_record,
    invoice_commitment,
    new_invoice_salt,
    receivable_label,
)
from ledger_client.index.receivables import ReceivablesLog
from ledger_client.types import City, Receivable, ReceivableId
from node_sim.world import EnterpriseSpec

if TYPE_CHECKING:
    from demos.report import DemoReport

DAY = 86_400
#: Enterprise accounts pay their own gas on the development chain.
ENTERPRISE_FUNDING_WEI = 10 * 10**18
#: Days to maturity of the three-tier receivable, and of the one that defaults.
TERM_DAYS = 90
SHORT_TERM_DAYS = 60
#: The Shanghai bank's discount rate: 4.00 % a year, in basis points.
DISCOUNT_BPS = 400


def yuan(fen: int) -> str:
    """Fen as ``¥1,234.56``."""
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def discounted_advance(amount_fen: int, discount_bps: int, days: int) -> int:
    """What a bank advances against ``amount_fen`` due in ``days`` (simple discount, 360 days)."""
    return amount_fen - amount_fen * discount_bps * days // (10_000 * 360)


@dataclass(frozen=True)
class _Party:
    label: str  # keyring label
    name: str  # off-chain name
    city: City


def run_receivables_demo(
    ledger: Ledger,
    ring: Keyring,
    enterprises: list[EnterpriseSpec],
    report: DemoReport,
    out: Console,
) -> dict[str, Any]:
    """Run the supply-chain part of the demo on a deployed, populated ledger.

    Returns (and stores in ``report.receivables``) what happened, for tests and ``--json``.
    """
    chain, rc = ledger.chain, ledger.receivables
    by_city: dict[City, EnterpriseSpec] = {}
    for ent in enterprises:
        by_city.setdefault(ent.city, ent)
    core, tier1, tier2, other = (
        by_city[City.HEFEI],
        by_city[City.NANJING],
        by_city[City.JIAXING],
        by_city[City.HANGZHOU],
    )
    acct = {e.label: ring.account(e.label) for e in (core, tier1, tier2, other)}
    for a in acct.values():
        chain.fund(a.address, ENTERPRISE_FUNDING_WEI)
    bank, rival = ring.account("bank:shanghai"), ring.account("bank:nanjing")
    names: dict[bytes, str] = {}
    for e in report.enterprises:
        names[bytes.fromhex(e["subject"][2:])] = f"{e['name']} ({e['city']})"
    bank_names: dict[str, str] = {m.account: m.name for m in ledger.consortium.members()}

    def tally(result: Any) -> Any:
        report.transactions += 1
        report.gas_used += result.gas_used
        return result

    def refused(what: str, attempt: Callable[[], object]) -> None:
        try:
            attempt()
        except ContractRevert as exc:
            report.refusals.append({"attempt": what, "error": exc.error_name, "detail": str(exc)})
            out.print(f"   [green]refused[/green] {what}: [bold]{exc}[/bold]")
        else:  # pragma: no cover - the contract's rules say it cannot happen
            raise AssertionError(f"the chain allowed {what}")

    before = (report.transactions, report.gas_used)
    out.rule("[bold]4. Supply-chain finance (供应链金融): receivables down three tiers[/bold]")
    start = chain.now()
    amount = 5_000_000_00
    # The core commits to each invoice with a salt it keeps: the chain never sees the invoice.
    invoices = [
        invoice_commitment(
            keccak256(f"VAT invoice 34002311{n:02d} HF-2025-017".encode()), new_invoice_salt()
        )
        for n in (1, 2)
    ]
    issued = tally(
        rc.issue_receivable(
            acct[core.label],
            acct[tier1.label].address,
            amount,
            start + TERM_DAYS * DAY,
            contract_hash=keccak256(b"Purchase contract HF-2025-017 (off chain)"),
            invoice_commitments=invoices,
        )
    )
    r1 = issued.receivable_id
    out.print(
        f"   {core.name} (Hefei, core enterprise) issues {receivable_label(r1)}: "
        f"{yuan(amount)} payable in {TERM_DAYS} days to {tier1.name} (Nanjing), "
        "backed by 2 salted invoice commitments"
    )
    tally(rc.accept(acct[tier1.label], r1))
    out.print(f"   {tier1.name} accepts it.")
    part_amount = 2_000_000_00
    part = tally(
        rc.transfer_part(acct[tier1.label], r1, acct[tier2.label].address, part_amount)
    ).receivable_id
    out.print(
        f"   {tier1.name} pays its own supplier {tier2.name} (Jiaxing) with "
        f"{yuan(part_amount)} of it: part {receivable_label(part)}, parent {receivable_label(r1)}."
    )
    advance = discounted_advance(part_amount, DISCOUNT_BPS, TERM_DAYS)
    week = chain.now() + 7 * DAY
    tally(
        rc.request_financing(
            acct[tier2.label],
            part,
            bank.address,
            min_advance_fen=advance,
            max_discount_bps=DISCOUNT_BPS,
            expires_at=week,
        )
    )
    tally(rc.finance(bank, part, advance, DISCOUNT_BPS))
    out.print(
        f"   {tier2.name} finances {receivable_label(part)} with {bank_names[bank.address]} "
        f"(Shanghai): {yuan(advance)} advanced at {DISCOUNT_BPS / 100:.2f} %; the bank is now "
        "its payee."
    )

    out.print("\n   Double financing, unagreed terms and double use of invoices are refused:")
    r1_advance = discounted_advance(amount - part_amount, DISCOUNT_BPS, TERM_DAYS)
    tally(
        rc.request_financing(
            acct[tier1.label],
            r1,
            rival.address,
            min_advance_fen=r1_advance,
            max_discount_bps=DISCOUNT_BPS,
            expires_at=week,
        )
    )
    refused(
        "a bank financing on terms the holder never agreed (1 fen at a 100 % discount)",
        lambda: rc.finance(rival, r1, 1, 10_000),
    )
    refused(
        "a second bank financing the part already financed",
        lambda: rc.finance(rival, part, advance, DISCOUNT_BPS),
    )
    refused(
        "the tier-2 supplier passing the financed part on",
        lambda: rc.transfer(acct[tier2.label], part, acct[tier1.label].address),
    )
    refused(
        "another receivable backed by an invoice already used",
        lambda: rc.issue_receivable(
            acct[core.label],
            acct[other.label].address,
            amount,
            start + TERM_DAYS * DAY,
            contract_hash=keccak256(b"another contract"),
            invoice_commitments=[invoices[1]],
        ),
    )
    tally(rc.withdraw_financing_request(acct[tier1.label], r1, rival.address))

    short_amount = 800_000_00
    r2 = tally(
        rc.issue_receivable(
            acct[core.label],
            acct[other.label].address,
            short_amount,
            start + SHORT_TERM_DAYS * DAY,
            contract_hash=keccak256(b"Service contract HF-2025-031 (off chain)"),
            invoice_commitments=[
                invoice_commitment(
                    keccak256(b"VAT invoice 3400231199 HF-2025-031"), new_invoice_salt()
                )
            ],
        )
    ).receivable_id
    tally(rc.accept(acct[other.label], r2))
    out.print(
        f"\n   The core enterprise also owes {other.name} (Hangzhou) {yuan(short_amount)} "
        f"in {SHORT_TERM_DAYS} days: {receivable_label(r2)}, accepted."
    )

    default: dict[str, Any] | None = None
    if chain.backend.controls_clock():
        default = _maturity(
            ledger,
            accounts=(acct[core.label], acct[other.label]),
            core=core,
            other=other,
            receivables=(r1, r2),
            short_amount=short_amount,
            names=names,
            bank_names=bank_names,
            tally=tally,
            out=out,
        )
    else:
        # A sealers' network keeps wall-clock time: the due dates are weeks ahead.
        out.print(
            f"\n   Maturity is {TERM_DAYS} days of real time ahead on this network (its "
            "sealers stamp blocks with their wall clocks): settlement and the overdue "
            "default are shown on a chain whose clock moves (embedded, anvil)."
        )
    debtor_binding = ledger.consortium.enterprise(acct[core.label].address)
    assert debtor_binding is not None
    debtor = bytes(debtor_binding.subject)

    r1_parts = rc.parts_of(r1)
    out.print()
    out.print(_parts_table(f"{receivable_label(r1)} and its parts", r1_parts, names, bank_names))
    lineage = " → ".join(receivable_label(i) for i in rc.lineage(part))
    balance = rc.balance(r1)
    out.print(
        f"   Lineage of {receivable_label(part)}: {lineage}. Parts add up to "
        f"{yuan(balance.parts_total_fen)} = face value {yuan(balance.face_value_fen)}; "
        f"outstanding {yuan(balance.outstanding_fen)}."
    )

    # Queries across receivables come from the event projection, not from the chain's state.
    log = ReceivablesLog(ledger)
    log.follow()
    owed = log.payables(debtor)
    financings = log.financings_of_bank(bank.address)
    history = [e.name for e in log.history(part)]
    owes = ", ".join(
        f"{receivable_label(e.id)} {yuan(e.amount_fen)} ({e.status.name.lower()})" for e in owed
    )
    financed = ", ".join(
        f"{receivable_label(f.id)} ({yuan(f.advance_fen)} advanced"
        f"{', settled' if f.settled_at else ''})"
        for f in financings
    )
    out.print(
        f"   Through the event index: {core.name} still owes {owes}; "
        f"{bank_names[bank.address]} has financed {financed}; "
        f"history of {receivable_label(part)}: {', '.join(history)}."
    )
    out.print(
        f"{report.transactions - before[0]} receivable transactions, "
        f"{report.gas_used - before[1]:,} gas; the default above is now part of the "
        "core enterprise's credit record for every member to see."
    )

    summary: dict[str, Any] = {
        "receivable": _hex(r1),
        "debtor": {"name": core.name, "city": core.city.label},
        "parts": [
            {
                "id": _hex(p.id),
                "label": receivable_label(p.id),
                "parent": None if p.parent is None else _hex(p.parent),
                "holder": names.get(p.holder, _hex(p.holder)),
                "amount_fen": p.amount_fen,
                "status": p.status.name.lower(),
                "financier": None if p.financier is None else bank_names.get(p.financier),
            }
            for p in r1_parts
        ],
        "tiers": [core.city.label, tier1.city.label, tier2.city.label],
        "financed": {
            "part": _hex(part),
            "bank": bank_names[bank.address],
            "bank_city": "Shanghai",
            "advance_fen": advance,
            "discount_bps": DISCOUNT_BPS,
        },
        "lineage": [_hex(i) for i in rc.lineage(part)],
        "face_value_fen": balance.face_value_fen,
        "parts_total_fen": balance.parts_total_fen,
        "outstanding_fen": balance.outstanding_fen,
        "queries": {
            "debtor_owes": [
                {"id": _hex(e.id), "amount_fen": e.amount_fen, "status": e.status.name.lower()}
                for e in owed
            ],
            "bank_financings": [
                {"id": _hex(f.id), "advance_fen": f.advance_fen, "settled": f.settled_at > 0}
                for f in financings
            ],
            "history": history,
        },
        "default": default,
    }
    report.receivables = summary
    return summary


def _maturity(
    ledger: Ledger,
    *,
    accounts: tuple[LocalAccount, LocalAccount],
    core: EnterpriseSpec,
    other: EnterpriseSpec,
    receivables: tuple[ReceivableId, ReceivableId],
    short_amount: int,
    names: dict[bytes, str],
    bank_names: dict[str, str],
    tally: Callable[[Any], Any],
    out: Console,
) -> dict[str, Any]:
    """Day 90: the core settles the first receivable; the second, unpaid past its grace
    period, is marked overdue and becomes a default on the core's credit record. Needs a
    chain whose clock moves (the due dates are weeks ahead)."""
    chain, rc = ledger.chain, ledger.receivables
    core_account, other_account = accounts
    r1, r2 = receivables
    chain.advance_time(TERM_DAYS * DAY)
    settled = tally(rc.settle_all(core_account, r1))
    out.print(
        f"\n   Day {TERM_DAYS}: maturity. The core enterprise settles {receivable_label(r1)}:"
    )
    for ev in settled.events:
        if ev.name == "ReceivableSettled":
            payee = ev.args["financier"]
            to = (
                bank_names.get(payee, payee)
                if int(payee, 16)
                else names.get(ev.args["holder"], "?")
            )
            out.print(
                f"     {receivable_label(ev.args['id'])}: {yuan(ev.args['amount'])} paid to {to}"
            )

    overdue = tally(rc.mark_overdue(other_account, r2))
    out.print(
        f"\n   {receivable_label(r2)} is unpaid {overdue.days_overdue} days after its due date "
        f"(grace {DEFAULT_GRACE_PERIOD // DAY} days): {other.name} marks it overdue, and "
        "the chain attests a receivable-default about the core enterprise."
    )
    core_binding = ledger.consortium.enterprise(core_account.address)
    assert core_binding is not None
    debtor = bytes(core_binding.subject)
    r2_state = rc.receivable(r2)
    assert r2_state is not None
    record = default_record(debtor, r2, short_amount, r2_state.due_date, overdue.days_overdue)
    data_hash = default_data_hash(debtor, r2, short_amount, r2_state.due_date, overdue.days_overdue)
    attested = [
        ev
        for ev in _attestation_events(ledger, overdue.receipt)
        if ev["subject"] == debtor and ev["uid"] == overdue.attestation
    ]
    credit = Table(
        title=f"Credit record of {core.name} (subject 0x{debtor.hex()[:12]}…), "
        "attested by the Receivables contract"
    )
    for col in ("Schema", "Record (off chain)", "Data hash", "Attestation UID"):
        credit.add_column(col)
    for ev in attested:
        credit.add_row(
            "receivable-default",
            f"{receivable_label(r2)} {yuan(short_amount)}, due {record['dueDate']}, "
            f"{overdue.days_overdue} days overdue",
            "0x" + ev["dataHash"].hex()[:12] + "…",
            "0x" + ev["uid"].hex()[:12] + "…",
        )
    out.print(credit)
    return {
        "receivable": _hex(r2),
        "debtor_subject": "0x" + debtor.hex(),
        "attestation": _hex(overdue.attestation),
        "data_hash": _hex(data_hash),
        "on_chain_data_hash": _hex(attested[0]["dataHash"]) if attested else None,
        "days_overdue": overdue.days_overdue,
        "record": record,
    }


def _attestation_events(ledger: Ledger, receipt: Any) -> list[dict[str, Any]]:
    codec = ledger.artifacts.contract("Attestations").codec
    address = ledger.manifest.contracts["Attestations"].address.lower()
    out = []
    for log in receipt.logs:
        if log.address.lower() == address:
            ev = codec.decode_log(log)
            if ev is not None and ev.name == "Attested":
                out.append(ev.args)
    return out


def _parts_table(
    title: str, parts: list[Receivable], names: dict[bytes, str], banks: dict[str, str]
) -> Table:
    table = Table(title=title)
    for col in ("Part", "Parent", "Holder", "Amount", "Status", "Paid to"):
        table.add_column(col)
    for p in parts:
        payee = banks.get(p.financier, p.financier) if p.financier else names.get(p.holder, "?")
        table.add_row(
            receivable_label(p.id),
            "—" if p.parent is None else receivable_label(p.parent),
            names.get(p.holder, "0x" + p.holder.hex()[:12]),
            yuan(p.amount_fen),
            p.status.name.lower(),
            payee,
        )
    return table


def _hex(value: ReceivableId | bytes) -> str:
    return "0x" + bytes(value).hex()
