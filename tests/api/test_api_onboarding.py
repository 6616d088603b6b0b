"""Onboarding through the API: the regulator admits, suspends and reinstates members and sets
their roles, and a registrar binds enterprises, each with its own signed call of the
Consortium relayed through the Forwarder. Any other member is refused by the Consortium's
own error, by name; another member's key never hands in the regulator's signature."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger_client import Keyring, Role
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.base import Call
from tests.api_world import ApiWorld, error, open_world


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    with open_world(Path(tmp_path_factory.mktemp("onboarding"))) as world:
        yield world


def signed(w: ApiWorld, signer: str, call: Call) -> dict[str, Any]:
    """The SignedWrite fields of ``signer``'s ForwardRequest of ``call``."""
    s = w.ledger.forwarder.sign_call(w[signer], call)
    return {
        "signer": s.request.sender,
        "nonce": s.request.nonce,
        "deadline": s.request.deadline,
        "signature": "0x" + s.signature.hex(),
    }


NEWCOMER = Keyring("onboarding").account("taihu-bank")
ADMISSION = {"account": NEWCOMER.address, "name": "Taihu Rural Bank", "city": "Jiaxing"}


def admission(w: ApiWorld, signer: str, roles: list[str]) -> dict[str, Any]:
    call = w.ledger.consortium.admit_member_call(
        NEWCOMER.address, ADMISSION["name"], ADMISSION["city"], roles
    )
    return {**ADMISSION, "roles": roles, **signed(w, signer, call)}


def test_the_regulator_admits_a_member_and_sets_its_roles(w: ApiWorld) -> None:
    body = admission(w, "regulator", ["attester"])
    r = w.post("/v1/members", "regulator", body, idem="admit-taihu")
    assert r.status_code == 202, r.text
    assert r.json()["operation"] == "members.admit"
    done = w.wait(r.json()["id"], "regulator")
    assert done["status"] == "anchored", done
    assert [e["name"] for e in done["result"]["events"]] == ["MemberAdmitted"]
    again = w.post("/v1/members", "regulator", body, idem="admit-taihu")
    assert (again.status_code, again.json()["id"]) == (200, r.json()["id"])
    member = w.get(f"/v1/members/{NEWCOMER.address}", "bank-a").json()
    assert (member["name"], member["city"], member["roles"]) == (
        "Taihu Rural Bank",
        "Jiaxing",
        ["attester"],
    )
    # Its roles, replaced by the regulator: the Consortium records the regulator as the one
    # who acted, not the API's relay account.
    roles = ["attester", "financier"]
    call = w.ledger.consortium.set_roles_call(NEWCOMER.address, roles)
    result = w.write(
        f"/v1/members/{NEWCOMER.address}/roles",
        "regulator",
        {"roles": roles, **signed(w, "regulator", call)},
    )
    (changed,) = result["events"]
    assert changed["name"] == "MemberRolesChanged"
    assert changed["args"]["regulator"] == w["regulator"].address
    assert w.ledger.consortium.member(NEWCOMER.address).roles == Role.ATTESTER | Role.FINANCIER


def test_a_bank_may_not_admit_or_set_roles(w: ApiWorld) -> None:
    stranger = Keyring("onboarding").account("not-admitted")
    call = w.ledger.consortium.admit_member_call(stranger.address, "Shadow Bank", "Hefei", 1)
    body = {
        "account": stranger.address,
        "name": "Shadow Bank",
        "city": "Hefei",
        "roles": ["attester"],
        **signed(w, "bank-a", call),
    }
    refused = error(w.post("/v1/members", "bank-a", body), 403, "ConsortiumUnauthorized")
    assert refused["account"] == w["bank-a"].address
    assert refused["role"] == int(Role.REGULATOR)
    call = w.ledger.consortium.set_roles_call(w["bank-a"].address, ["regulator"])
    body = {"roles": ["regulator"], **signed(w, "bank-a", call)}
    path = f"/v1/members/{w['bank-a'].address}/roles"
    error(w.post(path, "bank-a", body), 403, "ConsortiumUnauthorized")
    assert w.ledger.consortium.member(stranger.address) is None


def test_the_regulators_signature_needs_the_regulators_key(w: ApiWorld) -> None:
    """A bank holding the regulator's signed admission cannot hand it in with its own key."""
    stranger = Keyring("onboarding").account("second-newcomer")
    call = w.ledger.consortium.admit_member_call(stranger.address, "Second Bank", "Hefei", 1)
    body = {
        "account": stranger.address,
        "name": "Second Bank",
        "city": "Hefei",
        "roles": ["attester"],
        **signed(w, "regulator", call),
    }
    error(w.post("/v1/members", "bank-a", body), 403, "KeyMemberMismatch")
    # The body must say what was signed: another name is another call.
    forged = {**body, "name": "Forged Bank"}
    error(w.post("/v1/members", "regulator", forged), 403, "SignatureMismatch")


def test_the_regulator_suspends_and_reinstates_a_member(w: ApiWorld) -> None:
    bank = w["bank-b"].address
    reason = "0x" + keccak256(b"decision 2026-17").hex()
    call = w.ledger.consortium.suspend_member_call(bank, bytes.fromhex(reason[2:]))
    body = {"reason": reason, **signed(w, "regulator", call)}
    result = w.write(f"/v1/members/{bank}/suspension", "regulator", body)
    (suspended,) = result["events"]
    assert (suspended["name"], suspended["args"]["reason"]) == ("MemberSuspended", reason)
    assert w.get(f"/v1/members/{bank}", "bank-a").json()["suspended"] is True
    error(w.get("/v1/members", "bank-b"), 403, "MemberSuspended")
    # Suspended, it cannot reinstate itself, nor can another bank.
    call = w.ledger.consortium.reinstate_member_call(bank)
    refused = error(
        w.post(f"/v1/members/{bank}/reinstatement", "bank-a", signed(w, "bank-a", call)),
        403,
        "ConsortiumUnauthorized",
    )
    assert refused["account"] == w["bank-a"].address
    body = signed(w, "regulator", call)
    result = w.write(f"/v1/members/{bank}/reinstatement", "regulator", body)
    assert [e["name"] for e in result["events"]] == ["MemberReinstated"]
    assert w.get("/v1/members", "bank-b").status_code == 200


def test_a_bank_may_not_suspend_a_member(w: ApiWorld) -> None:
    target = w["bank-b"].address
    call = w.ledger.consortium.suspend_member_call(target, bytes(32))
    body = {"reason": "0x" + "00" * 32, **signed(w, "bank-a", call)}
    error(w.post(f"/v1/members/{target}/suspension", "bank-a", body), 403, "ConsortiumUnauthorized")
    bad = {**body, "reason": "0x1234"}
    error(w.post(f"/v1/members/{target}/suspension", "bank-a", bad), 422, "RequestValidationError")
    assert not w.ledger.consortium.member(target).suspended


def test_a_registrar_binds_an_enterprise(w: ApiWorld) -> None:
    enterprise = Keyring("onboarding").account("new-enterprise")
    subject = keccak256(b"onboarding-subject")
    call = w.ledger.consortium.bind_enterprise_call(enterprise.address, subject)
    body = {
        "account": enterprise.address,
        "subject": "0x" + subject.hex(),
        **signed(w, "bureau", call),
    }
    result = w.write("/v1/enterprises", "bureau", body)
    (bound,) = result["events"]
    assert bound["name"] == "EnterpriseBound"
    assert bound["args"]["registrar"] == w["bureau"].address
    found = w.ledger.consortium.enterprise(enterprise.address)
    assert found is not None
    assert bytes(found.subject) == subject


def test_a_bank_may_not_bind_an_enterprise(w: ApiWorld) -> None:
    enterprise = Keyring("onboarding").account("unbound-enterprise")
    subject = keccak256(b"onboarding-unbound")
    call = w.ledger.consortium.bind_enterprise_call(enterprise.address, subject)
    body = {
        "account": enterprise.address,
        "subject": "0x" + subject.hex(),
        **signed(w, "bank-a", call),
    }
    refused = error(w.post("/v1/enterprises", "bank-a", body), 403, "ConsortiumUnauthorized")
    assert refused["role"] == int(Role.REGISTRAR)
    assert w.ledger.consortium.enterprise(enterprise.address) is None


def test_a_registrar_rebinds_an_enterprise_to_a_new_account(w: ApiWorld) -> None:
    """A rotated key: the subject moves to the new account, and the old one is unbound."""
    old = w["tier2"].address
    new = Keyring("onboarding").account("tier2-rotated")
    subject = w.subjects["tier2"]
    call = w.ledger.consortium.rebind_enterprise_call(subject, new.address)
    path = f"/v1/enterprises/0x{subject.hex()}/rebinding"
    refused = error(
        w.post(path, "bank-a", {"account": new.address, **signed(w, "bank-a", call)}),
        403,
        "ConsortiumUnauthorized",
    )
    assert refused["role"] == int(Role.REGISTRAR)
    result = w.write(path, "bureau", {"account": new.address, **signed(w, "bureau", call)})
    assert [e["name"] for e in result["events"]] == ["EnterpriseRebound"]
    assert w.ledger.consortium.account_of(subject) == new.address
    assert w.ledger.consortium.enterprise(old) is None
