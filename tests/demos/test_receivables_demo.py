"""The demo's supply-chain part and the receivables gas benchmark."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from demos.consortium import run_demo
from demos.receivables import discounted_advance, yuan
from ledger_client import Chain, connect
from ledger_client.attestations.records import load_schemas, validate_record
from scripts.cli import app


def _check(chain: Chain) -> None:
    report = run_demo(chain)
    rec = report.receivables
    assert rec["tiers"] == ["Hefei", "Nanjing", "Jiaxing"]
    assert rec["debtor"]["city"] == "Hefei"
    assert rec["financed"]["bank_city"] == "Shanghai"
    assert rec["parts_total_fen"] == rec["face_value_fen"] == 5_000_000_00
    assert rec["outstanding_fen"] == 0
    assert [p["status"] for p in rec["parts"]] == ["paid", "paid"]
    tier2_part = rec["parts"][1]
    assert tier2_part["parent"] == rec["receivable"]
    assert "(Jiaxing)" in tier2_part["holder"]
    assert tier2_part["financier"] == rec["financed"]["bank"]
    assert rec["lineage"] == [tier2_part["id"], rec["receivable"]]
    default = rec["default"]
    assert default["on_chain_data_hash"] == default["data_hash"]
    assert default["days_overdue"] == 30
    schema = load_schemas()["receivable-default"]
    assert validate_record(schema, default["record"])["subject"] == default["debtor_subject"]
    queries = rec["queries"]
    assert queries["debtor_owes"] == [
        {"id": default["receivable"], "amount_fen": 800_000_00, "status": "overdue"}
    ]
    assert queries["bank_financings"] == [
        {"id": tier2_part["id"], "advance_fen": rec["financed"]["advance_fen"], "settled": True}
    ]
    assert queries["history"][0] == "ReceivableSplit"
    assert queries["history"][-1] == "ReceivableSettled"
    errors = {r["error"] for r in report.refusals}
    assert {
        "ReceivablesAlreadyFinanced",
        "ReceivablesDuplicateInvoice",
        "ReceivablesTermsNotAgreed",
    } <= errors


def test_demo_on_the_embedded_chain() -> None:
    chain = connect("embedded")
    try:
        _check(chain)
    finally:
        chain.close()


def test_money_and_discount() -> None:
    assert yuan(123_456_789) == "¥1,234,567.89"
    assert yuan(5) == "¥0.05"
    # 2 million yuan for 90 days at 4 % a year, 360-day convention: 20,000 yuan discount
    assert discounted_advance(2_000_000_00, 400, 90) == 1_980_000_00


def test_bench_gas_json_has_the_receivable_keys() -> None:
    result = CliRunner().invoke(app, ["bench", "gas", "--json"])
    assert result.exit_code == 0, result.output
    gas = json.loads(result.stdout)
    keys = ("issue", "split", "finance", "settle")
    assert all(isinstance(gas[f"receivable_{k}_gas"], int) for k in keys)
    # regression guards, well above today's figures (138k, 73k, 65k, 43k)
    assert gas["receivable_issue_gas"] < 160_000
    assert gas["receivable_split_gas"] < 90_000
    assert gas["receivable_finance_gas"] < 80_000
    assert gas["receivable_settle_gas"] < 55_000
