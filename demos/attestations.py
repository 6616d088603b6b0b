"""The demo's credit records: attestations, a correction, a revocation and a batch."""

from __future__ import annotations

import random
from typing import Any

from rich.console import Console
from rich.table import Table

from ledger_client import Keyring, Ledger
from ledger_client.attestations.batches import anchor_records, verify_batch_record
from ledger_client.attestations.records import record_hash, sample_record
from ledger_client.types import AttestationFields, Validity


def show_attestations(
    ledger: Ledger, ring: Keyring, subjects: list[bytes], out: Console, rng: random.Random
) -> dict[str, Any]:
    """Banks and bureaus attest credit records about the bound enterprises."""
    a = ledger.attestations
    out.print("\n[bold]4. Banks and bureaus attest credit records (only hashes go on chain)[/bold]")
    shanghai_bank = ring.account("bank:shanghai")
    hangzhou_bureau = ring.account("bureau:hangzhou")
    loan = ledger.schemas["loan-repayment"]
    record = sample_record(loan, rng, overrides={"subject": "0x" + subjects[0].hex()})
    made = a.attest_record(shanghai_bank, loan, record)
    out.print(
        f"   Pudong Sci-Tech Bank attests a loan repayment: uid {made.uid.hex()[:16]}…, "
        f"{made.gas_used:,} gas (EAS attest: 201,043)"
    )
    corrected = dict(record)
    amount_field = next(f.name for f in loan.fields if f.type.kind == "fen")
    corrected[amount_field] = int(str(record[amount_field])) + 100
    fields = AttestationFields(subjects[0], record_hash(loan, record))
    replacement = a.replace(shanghai_bank, made.uid, fields, record_hash(loan, corrected))
    out.print(
        f"   It corrects the amount: the old record now reads "
        f"[bold]{a.validity(made.uid).name}[/bold], the new one "
        f"[bold]{a.validity(replacement.uid).name}[/bold]"
    )
    grades = ledger.schemas["tax-credit-grade"]
    records = [
        sample_record(grades, rng, overrides={"subject": "0x" + s.hex()}) for s in subjects
    ] * 10
    batch = anchor_records(a, hangzhou_bureau, grades, records)
    proven = sum(
        verify_batch_record(
            batch.prepared.subjects[i], batch.prepared.data_hashes[i], batch.proof(i), batch.root
        )
        for i in range(len(records))
    )
    out.print(
        f"   Hangzhou Credit Reference Center anchors {len(records)} tax credit grades as one "
        f"Merkle root: {batch.tx.gas_used / len(records):,.0f} gas per record; "
        f"{proven}/{len(records)} inclusion proofs hold"
    )
    a.revoke_batch_record(hangzhou_bureau, batch.batch_id, batch.entry(3), batch.proof(3))
    states = [
        a.batch_record_validity(batch.batch_id, batch.entry(i), batch.proof(i)) for i in (2, 3, 4)
    ]
    table = Table(title="One record of the batch revoked, its neighbours untouched")
    table.add_column("record")
    table.add_column("validity")
    for i, state in zip((2, 3, 4), states, strict=True):
        colour = "green" if state is Validity.VALID else "red"
        table.add_row(str(i), f"[{colour}]{state.name}[/{colour}]")
    out.print(table)
    return {
        "attest_gas": made.gas_used,
        "batch_records": len(records),
        "batch_gas_per_record": batch.tx.gas_used / len(records),
        "batch_states": [s.name for s in states],
        "replaced": a.validity(made.uid).name,
    }
