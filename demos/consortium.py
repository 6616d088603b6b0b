"""The demo: a five-city consortium formed on the chain, step by step, printed readably."""

from __future__ import annotations

import random
from typing import Any

from rich.console import Console
from rich.table import Table

from demos.attestations import show_attestations
from demos.consent import show_consent
from demos.report import DemoReport
from ledger_client import Chain, ContractRevert, Keyring, Ledger, Role, deploy
from ledger_client.errors import InvalidUSCC
from ledger_client.identity.uscc import subject_id
from node_sim.world import REGULATOR, consortium_institutions, make_enterprises

DEMO_SEED = "yangtze-delta-demo"


def run_demo(chain: Chain, console: Console | None = None, seed: str = DEMO_SEED) -> DemoReport:
    """Form the consortium of the five cities on ``chain`` and show the rules at work."""
    out = console or Console(quiet=True)
    ring = Keyring(seed)
    rng = random.Random(seed)
    subject_key = ring.account("consortium-subject-key").key  # 32 bytes shared off chain

    regulator = ring.account(REGULATOR.label)
    chain.fund(regulator.address)
    out.rule("[bold]Yangtze River Delta credit chain (长三角征信链)[/bold]")
    out.print(f"Chain: {chain.backend.describe()} (chain id {chain.chain_id})")
    ledger = deploy(chain, regulator, regulator_name=REGULATOR.name, regulator_city=REGULATOR.city)
    report = DemoReport(manifest=_manifest_dict(ledger))
    c = ledger.consortium
    out.print(f"Consortium contract deployed at {c.address} by the regulator\n")

    def tally(result: Any) -> None:
        report.transactions += 1
        report.gas_used += result.gas_used

    out.print("[bold]1. The regulator admits a bank and a credit bureau in each city[/bold]")
    for spec in consortium_institutions():
        acct = ring.account(spec.label)
        chain.fund(acct.address)
        tally(c.admit_member(regulator, acct.address, spec.name, spec.city, spec.roles))

    out.print("\n[bold]2. Registrars bind enterprises to pseudonymous subject ids[/bold]")
    out.print("   (the USCC stays off chain; only HMAC-SHA256(subject key, USCC) is bound)")
    enterprises = make_enterprises(rng, per_city=2)
    for ent in enterprises:
        registrar = ring.account(f"bureau:{ent.city.name.lower()}")
        acct = ring.account(ent.label)
        sid = subject_id(ent.uscc, subject_key)
        tally(c.bind_enterprise(registrar, acct.address, sid))
        report.enterprises.append(
            {
                "name": ent.name,
                "city": ent.city.label,
                "industry": ent.industry,
                "uscc": ent.uscc,
                "account": acct.address,
                "subject": "0x" + sid.hex(),
            }
        )
    ent_table = Table(title="Enterprises bound on chain")
    for col in ("City", "Enterprise (off chain)", "USCC (off chain)", "Subject id (on chain)"):
        ent_table.add_column(col)
    for e in report.enterprises:
        ent_table.add_row(e["city"], e["name"], e["uscc"], e["subject"][:18] + "…")
    out.print(ent_table)

    out.print("\n[bold]3. Bad input and broken rules are refused by name[/bold]")
    bad_code = enterprises[0].uscc[:-1] + ("0" if enterprises[0].uscc[-1] != "0" else "1")
    try:
        subject_id(bad_code, subject_key)
    except InvalidUSCC as exc:
        _refused(out, report, "a mistyped USCC", exc)

    jiaxing_bureau = ring.account("bureau:jiaxing")
    tally(
        c.suspend_member(regulator, jiaxing_bureau.address, b"demo: late filings".ljust(32, b"\0"))
    )
    out.print("   The regulator suspends the Jiaxing credit bureau.")
    newcomer = ring.account("enterprise:jiaxing:new")
    sid = subject_id(make_enterprises(random.Random(seed + "/new"), 1)[-1].uscc, subject_key)
    try:
        c.bind_enterprise(jiaxing_bureau, newcomer.address, sid)
    except ContractRevert as exc:
        _refused(out, report, "the suspended Jiaxing bureau binding an enterprise", exc)
    hangzhou_bank = ring.account("bank:hangzhou")
    try:
        c.admit_member(hangzhou_bank, newcomer.address, "Shadow Bank", "Hangzhou", Role.ATTESTER)
    except ContractRevert as exc:
        _refused(out, report, "a bank (not a regulator) admitting a member", exc)
    try:
        c.bind_enterprise(
            ring.account("bureau:shanghai"),
            newcomer.address,
            bytes.fromhex(report.enterprises[0]["subject"][2:]),
        )
    except ContractRevert as exc:
        _refused(out, report, "binding a subject that is already bound", exc)
    tally(c.reinstate_member(regulator, jiaxing_bureau.address))
    tally(c.bind_enterprise(jiaxing_bureau, newcomer.address, sid))
    out.print("   Reinstated, the Jiaxing bureau binds the enterprise.")

    subjects = [bytes.fromhex(e["subject"][2:]) for e in report.enterprises]
    report.attestations = show_attestations(ledger, ring, subjects, out, rng)
    # -- consent: a Hangzhou enterprise authorises a Shanghai bank (consent.py) ----
    hangzhou = next(i for i, e in enumerate(enterprises) if e.city.name == "HANGZHOU")
    consenting = {**report.enterprises[hangzhou], "label": enterprises[hangzhou].label}
    report.consent = show_consent(ledger, ring, consenting, out, step=5)

    members = c.members()
    table = Table(title="Consortium members")
    for col in ("City", "Institution", "Roles", "Standing"):
        table.add_column(col)
    for m in members:
        table.add_row(
            f"{m.city.label} {m.city.chinese}",
            m.name,
            ", ".join(m.roles.names()),
            "[red]suspended[/red]" if m.suspended else "good",
        )
        report.members.append(
            {
                "account": m.account,
                "name": m.name,
                "city": m.city.label,
                "roles": m.roles.names(),
                "suspended": m.suspended,
            }
        )
    out.print()
    out.print(table)
    out.print(
        f"\n{report.transactions} transactions, {report.gas_used:,} gas; "
        f"{len(report.refusals)} refusals, each a named error."
    )

    # -- supply-chain receivables (receivables.py) --
    from demos.receivables import run_receivables_demo

    run_receivables_demo(ledger, ring, enterprises, report, out)
    return report


def _refused(out: Console, report: DemoReport, what: str, exc: Exception) -> None:
    name = exc.error_name if isinstance(exc, ContractRevert) else type(exc).__name__
    report.refusals.append({"attempt": what, "error": name, "detail": str(exc)})
    out.print(f"   [green]refused[/green] {what}: [bold]{exc}[/bold]")


def _manifest_dict(ledger: Ledger) -> dict[str, Any]:
    import json

    doc: dict[str, Any] = json.loads(ledger.manifest.to_json())
    return doc
