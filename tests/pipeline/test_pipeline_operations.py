"""The table of relayed writes agrees with the contracts it names, and with itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger_client import Keyring, Ledger, Role, connect, deploy
from ledger_client.chain.artifacts import load_artifacts
from ledger_client.types import SubjectId
from pipeline.operations import (
    OPERATIONS,
    FinanceReceivable,
    OnFacility,
    OnReceivable,
    Operation,
    SetRoles,
    Submitters,
)

ARTS = load_artifacts()


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_each_row_names_a_function_and_an_event_its_contract_has(name: str) -> None:
    op = OPERATIONS[name]
    assert op.name == name
    codec = ARTS.contract(op.contract).codec
    assert op.function in codec.functions, f"{op.contract} has no function {op.function}"
    if op.made is not None:
        event = codec.events[op.made.event]
        assert op.made.arg in event.names
    # A write not relayed as a ForwardRequest says how the journal keeps it, and only then.
    assert (op.relayed_as == "forward") == (op.journaled is None)


def test_the_table_holds_every_relayed_write_once() -> None:
    assert len({(op.contract, op.function) for op in OPERATIONS.values()}) == len(OPERATIONS)
    onboarding = {n for n, op in OPERATIONS.items() if op.submitters.role is not None}
    assert onboarding == {
        "members.admit",
        "members.suspend",
        "members.reinstate",
        "members.set_roles",
        "enterprises.bind",
        "enterprises.rebind",
    }
    assert OPERATIONS["enterprises.bind"].submitters.role == Role.REGISTRAR
    assert OPERATIONS["enterprises.rebind"].submitters.role == Role.REGISTRAR


@pytest.fixture(scope="module")
def ledger() -> Iterator[Ledger]:
    chain = connect("embedded")
    regulator = Keyring("pipeline-operations").account("regulator")
    chain.fund(regulator.address)
    yield deploy(chain, regulator)
    chain.close()


def test_the_codec_is_the_facades_and_refuses_another_rows_request(ledger: Ledger) -> None:
    rid = (7 << 24).to_bytes(32, "big")
    finance = OPERATIONS["receivables.finance"]
    call = finance.call(ledger, FinanceReceivable(rid, 900_000, 350))
    assert call == ledger.receivables.finance_call(rid, 900_000, 350)
    assert call.to == ledger.receivables.address
    assert call.data[:4] == ledger.receivables.codec.fn("finance").selector
    assert finance.acts_on(FinanceReceivable(rid, 1, 1)) == "0x" + rid.hex()
    with pytest.raises(TypeError, match="takes a FinanceReceivable"):
        finance.call(ledger, OnReceivable(rid))
    roles = OPERATIONS["members.set_roles"].call(
        ledger, SetRoles(ledger.consortium.address, Role.AUDITOR)
    )
    assert roles.to == ledger.consortium.address


def test_the_rows_carrying_another_partys_consent_are_the_pledge_and_the_acceptance() -> None:
    carried = {n for n, op in OPERATIONS.items() if op.consent is not None}
    assert carried == {"collateral.pledge", "agreements.accept"}
    kinds = ("collateral", "facilities", "agreements")
    lending = {n for n in OPERATIONS if n.split(".")[0] in kinds}
    assert len(lending) == 14
    # Every lending write is the signer's own: no counterparty relays it, no role is asked
    # of the key (the contracts ask the financier role themselves).
    assert all(OPERATIONS[n].submitters == Submitters() for n in lending)


def test_a_lending_rows_codec_is_the_facades(ledger: Ledger) -> None:
    subject, contract = SubjectId(b"\x5b" * 32), b"\xc0" * 32
    draw = OPERATIONS["facilities.draw"]
    call = draw.call(ledger, OnFacility(subject, contract, 5_000))
    assert call == ledger.facilities.draw_call(subject, contract, 5_000)
    assert draw.acts_on(OnFacility(subject, contract)) == f"0x{'5b' * 32}:0x{'c0' * 32}"
    # A codec calling another function than its row names is refused.
    miswired = Operation(
        "x", "CreditFacilities", "repay", OnFacility, OPERATIONS["facilities.close"].encode
    )
    with pytest.raises(TypeError, match="encodes close, not repay"):
        miswired.call(ledger, OnFacility(subject, contract))
