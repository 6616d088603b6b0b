"""``GET /v1/typed-data``: the served templates are exactly what the chain verifies.

Each template is filled and signed with eth-account's general EIP-712 signer
(``Account.sign_typed_data``, the same algorithm as a wallet's
``eth_signTypedData_v4``), never with the client's own signing code, and the
API must accept and anchor the write. The typed data's types are checked
against the type strings in the Solidity sources, and its domains against each
contract's ERC-5267 ``eip712Domain()``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_hash.auto import keccak

from api.typed_data_writes import RELAYED_WRITES
from ledger_client.identity.typed_data import (
    CallTemplate,
    TemplateValuesInvalid,
    UnknownWrite,
    WriteDescription,
    WriteDescriptionInvalid,
    encode_type,
    typed_data_catalogue,
)
from ledger_client.lending.facilities import SignedAcceptance
from pipeline.operations import OPERATIONS
from tests.api_world import DAY, ApiWorld, error, open_world
from tests.conftest import REPO_ROOT

ZERO32 = "0x" + "00" * 32


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    with open_world(tmp_path_factory.mktemp("typed-data")) as world:
        yield world


def h(label: str) -> str:
    return "0x" + keccak(label.encode()).hex()


def served(w: ApiWorld, operation: str) -> dict[str, Any]:
    """One write's template, fetched without an API key."""
    r = w.client.get(f"/v1/typed-data/{operation}")
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def fill(template: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The typed data with its placeholders filled: every one, and nothing else."""
    typed = template["typed_data"]
    placeholders = {f["name"] for f in template["fields"] if not f["fixed"]}
    assert set(values) == placeholders
    for f in template["fields"]:
        assert (typed["message"][f["name"]] == f"<{f['source']}>") != f["fixed"]
    return {**typed, "message": {**typed["message"], **values}}


def schema_id(w: ApiWorld, name: str) -> str:
    """A schema's id, where the template says to find it."""
    schemas = w.get("/v1/schemas", "bank-a").json()["data"]
    found: str = next(s["id"] for s in schemas if s["name"] == name)
    return found


def sign(w: ApiWorld, label: str, typed: dict[str, Any]) -> str:
    signed = Account.sign_typed_data(w[label].key, full_message=typed)
    return "0x" + bytes(signed.signature).hex()


def calldata(call: dict[str, Any], *args: Any) -> str:
    """``data`` as the template says: the selector, then the arguments ABI-encoded."""
    types = [a["type"] for a in call["arguments"]]
    assert call["signature"] == f"{call['function']}({','.join(types)})"
    selector: str = call["selector"]
    assert selector == "0x" + keccak(call["signature"].encode())[:4].hex()
    return selector + abi_encode(types, list(args)).hex()


def test_the_catalogue_is_public_and_names_every_domain(w: ApiWorld) -> None:
    r = w.client.get("/v1/typed-data")  # no API key
    assert r.status_code == 200, r.text
    doc = r.json()
    manifest = w.ledger.manifest
    assert doc["chain_id"] == manifest.chain_id
    ledger = w.ledger
    facades = {
        "Forwarder": ledger.forwarder,
        "Attestations": ledger.attestations,
        "Disputes": ledger.disputes,
        "Authorisations": ledger.authorisations,
        "CollateralRegistry": ledger.collateral,  # the pledgor's signed Pledge
        "CreditFacilities": ledger.facilities,  # the enterprise's signed AcceptAgreement
    }
    assert set(doc["domains"]) == set(facades)
    assert [f["name"] for f in doc["domain_type"]] == [
        "name",
        "version",
        "chainId",
        "verifyingContract",
    ]
    for contract, domain in doc["domains"].items():
        facade = facades[contract]
        fn = facade.codec.fn("eip712Domain")
        _, name, version, chain_id, verifying, _, _ = fn.decode_output(
            w.service.chain.call(facade.address, fn.encode([]))
        )
        assert domain == {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": verifying,
        }
        assert verifying == manifest.contracts[contract].address
    assert [t["operation"] for t in doc["writes"]] == [d.operation for d in RELAYED_WRITES]
    error(w.client.get("/v1/typed-data/receivables.steal"), 404, "NotFound")


def test_every_write_route_is_described_and_nothing_else(w: ApiWorld) -> None:
    paths = w.client.get("/openapi.json").json()["paths"]
    writes = {
        path for path, ops in paths.items() if "202" in ops.get("post", {}).get("responses", {})
    }
    described = [d.path for d in RELAYED_WRITES] + [
        p for d in RELAYED_WRITES for p in d.other_paths
    ]
    assert sorted(described) == sorted(writes)


def _solidity_type_strings() -> dict[str, str]:
    """Every ``*_TYPEHASH = keccak256("...")`` of the contracts, by primary type."""
    found = {}
    for source in (REPO_ROOT / "contracts").glob("*.sol"):
        text = source.read_text("utf-8")
        for m in re.finditer(r"_TYPEHASH\s*=\s*keccak256\(\s*((?:\"[^\"]*\"\s*)+)\)", text):
            joined = "".join(re.findall(r"\"([^\"]*)\"", m.group(1)))
            found[joined.split("(", 1)[0]] = joined
    return found


def test_every_row_of_the_write_pipeline_is_described_once() -> None:
    """The typed data describes each of the pipeline's operations, under its name, with the
    row's contract and function; a new row without its description fails here."""
    described = [w.operation for w in RELAYED_WRITES]
    assert sorted(described) == sorted(set(described))
    assert set(described) == set(OPERATIONS)
    for w in RELAYED_WRITES:
        if w.primary_type == "ForwardRequest":
            row = OPERATIONS[w.operation]
            assert (w.contract, w.function) == (row.contract, row.function)


def test_the_types_are_the_contracts_own(w: ApiWorld) -> None:
    solidity = _solidity_type_strings()
    doc = w.client.get("/v1/typed-data").json()
    primaries = {t["typed_data"]["primaryType"] for t in doc["writes"]}
    assert primaries == {"ForwardRequest", "Attest", "Authorise"}
    for t in doc["writes"]:
        typed = t["typed_data"]
        assert typed["types"]["EIP712Domain"] == doc["domain_type"]
        primary = typed["primaryType"]
        assert encode_type(typed["types"], primary) == solidity[primary]
        assert [f["name"] for f in t["fields"]] == [m["name"] for m in typed["types"][primary]]
        assert [f["type"] for f in t["fields"]] == [m["type"] for m in typed["types"][primary]]


def test_a_served_attest_template_signed_by_a_wallet_is_anchored(w: ApiWorld) -> None:
    template = served(w, "attestations.attest")
    assert template["call"] is None
    assert template["typed_data"]["domain"] == w.ledger.attestations.domain.as_dict()
    nonce, deadline = 77, w.service.chain.now() + DAY
    values = {
        "schema": schema_id(w, "loan-repayment"),
        "subject": w.subject("core"),
        "dataHash": h("a loan repaid on time"),
        "expiry": 0,
        "refUID": ZERO32,
        "attester": w["bank-a"].address,
        "nonce": nonce,
        "deadline": deadline,
    }
    body = {
        "schema": "loan-repayment",
        "subject": w.subject("core"),
        "data_hash": values["dataHash"],
        "signer": w["bank-a"].address,
        "nonce": nonce,
        "deadline": deadline,
        "signature": sign(w, "bank-a", fill(template, values)),
    }
    result = w.write(template["path"], "bank-a", body)
    info = w.ledger.attestations.attestation(bytes.fromhex(result["uid"][2:]))
    assert info is not None
    assert info.attester == w["bank-a"].address
    # The same typed data signed by another member is refused: the template binds the attester.
    body_b = {**body, "nonce": nonce + 1}
    values_b = {**values, "nonce": nonce + 1}
    body_b["signature"] = sign(w, "bank-b", fill(template, values_b))
    error(w.post(template["path"], "bank-a", body_b), 403, "SignatureMismatch")


def test_a_served_forward_request_template_signed_by_a_wallet_is_anchored(w: ApiWorld) -> None:
    r = w.ledger.receivables
    due = w.service.chain.now() + 60 * DAY
    issue = (w["tier1"].address, 500_000, due, bytes.fromhex(h("contract")[2:]), [keccak(b"i")])
    body = {
        "supplier": w["tier1"].address,
        "amount_fen": 500_000,
        "due_date": due,
        "contract_hash": h("contract"),
        "invoice_commitments": ["0x" + keccak(b"i").hex()],
        **w.signed("core", r, "issue", *issue),
    }
    rid = w.write("/v1/receivables", "core", body)["receivable_id"]
    w.write(
        f"/v1/receivables/{rid}/accept",
        "tier1",
        w.signed("tier1", r, "accept", bytes.fromhex(rid[2:])),
    )
    # The holder signs its request from the served template alone; the bank hands it in.
    template = served(w, "receivables.request_financing")
    call = template["call"]
    assert (call["contract"], call["address"]) == ("Receivables", r.address)
    assert [a["source"] for a in call["arguments"]] == [
        "path receivable_id",
        "body.financier",
        "body.min_advance_fen",
        "body.max_discount_bps",
        "body.expires_at",
    ]
    assert call["abi"]["name"] == "requestFinancing"
    assert template["typed_data"]["message"]["to"] == r.address
    bank = w["bank-a"].address
    expires = w.service.chain.now() + 7 * DAY
    terms = (bytes.fromhex(rid[2:]), bank, 450_000, 300, expires)
    nonce, deadline = 2**200 + 5, w.service.chain.now() + DAY
    values = {
        "from": w["tier1"].address,
        "nonce": nonce,
        "deadline": deadline,
        "data": calldata(call, *terms),
    }
    body = {
        "financier": bank,
        "min_advance_fen": 450_000,
        "max_discount_bps": 300,
        "expires_at": expires,
        "signer": w["tier1"].address,
        "nonce": nonce,
        "deadline": deadline,
        "signature": sign(w, "tier1", fill(template, values)),
    }
    path = template["path"].replace("{receivable_id}", rid)
    result = w.write(path, "bank-a", body)
    assert [e["name"] for e in result["events"]] == ["FinancingRequested"]
    assert w.ledger.receivables.financing_request(bytes.fromhex(rid[2:]), bank) is not None


def test_the_consents_a_call_carries_are_served_in_the_contracts_own_types(
    w: ApiWorld,
) -> None:
    solidity = _solidity_type_strings()
    doc = w.client.get("/v1/typed-data").json()
    carried = {t["operation"]: t["consent"] for t in doc["writes"] if t["consent"]}
    assert set(carried) == {"collateral.pledge", "agreements.accept"}
    domains = {
        "Pledge": w.ledger.collateral.domain.as_dict(),
        "AcceptAgreement": w.ledger.facilities.domain.as_dict(),
    }
    for consent in carried.values():
        typed = consent["typed_data"]
        primary = typed["primaryType"]
        assert typed["domain"] == domains[primary]
        assert encode_type(typed["types"], primary) == solidity[primary]
        members = typed["types"][primary]
        assert [f["name"] for f in consent["fields"]] == [m["name"] for m in members]
        assert not any(f["fixed"] for f in consent["fields"])


def test_a_pledge_whose_consent_and_call_wallets_signed_from_the_templates_is_anchored(
    w: ApiWorld,
) -> None:
    template = served(w, "collateral.pledge")
    consent = template["consent"]
    key = h("CNIPA ZL-typed-data")
    amount, expiry = 1_000_000, w.service.chain.now() + 365 * DAY
    consent_deadline = w.service.chain.now() + DAY
    bank = w["bank-a"].address
    consent_sig = sign(
        w,
        "tier1",
        fill(
            consent,
            {
                "kind": 2,
                "key": key,
                "pledgee": bank,
                "securedAmount": amount,
                "expiry": expiry,
                "rank": 0,
                "deadline": consent_deadline,
            },
        ),
    )
    call = template["call"]
    args = (
        (2, bytes.fromhex(key[2:]), amount, expiry),
        w["tier1"].address,
        consent_deadline,
        bytes.fromhex(consent_sig[2:]),
    )
    nonce, deadline = 2**200 + 11, w.service.chain.now() + DAY
    forward = {"from": bank, "nonce": nonce, "deadline": deadline, "data": calldata(call, *args)}
    body = {
        "kind": "patent",
        "key": key,
        "secured_amount_fen": amount,
        "expiry": expiry,
        "rank": 0,
        "pledgor": w["tier1"].address,
        "consent_deadline": consent_deadline,
        "consent_signature": consent_sig,
        "signer": bank,
        "nonce": nonce,
        "deadline": deadline,
        "signature": sign(w, "bank-a", fill(template, forward)),
    }
    result = w.write(template["path"], "bank-a", body)
    found = w.ledger.collateral.pledge_of(bytes.fromhex(result["pledge_id"][2:]))
    assert found is not None
    assert found.pledgee == bank


def test_an_acceptance_a_wallet_signed_from_the_template_is_anchored(w: ApiWorld) -> None:
    lead, other = w.sdk_client("bank-a"), w.sdk_client("bank-b")
    subject = w.subject("tier2")
    sub = lead.propose_agreement(
        subject, 1_000_000, [w["bank-a"].address, w["bank-b"].address], [5_000, 5_000]
    )
    no = int(lead.wait(sub).made("agreement"))
    other.wait(other.join_agreement(no))
    terms = lead.get_agreement(no)
    consent = served(w, "agreements.accept")["consent"]
    deadline = w.service.chain.now() + DAY
    values = {
        "agreement": no,
        "subject": terms["subject"],
        "lead": terms["lead"],
        "jointLimit": terms["joint_limit_fen"],
        "deadline": deadline,
    }
    signature = bytes.fromhex(sign(w, "tier2", fill(consent, values))[2:])
    lead.wait(lead.submit_acceptance(SignedAcceptance(no, deadline, signature)))
    assert lead.get_agreement(no)["status"] == "active"
    lead.wait(lead.end_agreement(no))


def test_a_served_authorise_template_signed_by_a_wallet_is_anchored(w: ApiWorld) -> None:
    template = served(w, "authorisations.create")
    assert template["typed_data"]["domain"] == w.ledger.authorisations.domain.as_dict()
    expiry, deadline = w.service.chain.now() + 30 * DAY, w.service.chain.now() + DAY
    values = {
        "member": w["bank-b"].address,
        "purpose": 1,
        "expiry": expiry,
        "schemas": [schema_id(w, "tax-credit-grade")],
        "enterprise": w["tier2"].address,
        "nonce": 9,
        "deadline": deadline,
    }
    body = {
        "member": w["bank-b"].address,
        "purpose": "loan-approval",
        "expiry": expiry,
        "schemas": ["tax-credit-grade"],
        "enterprise": w["tier2"].address,
        "nonce": 9,
        "deadline": deadline,
        "signature": sign(w, "tier2", fill(template, values)),
    }
    result = w.write(template["path"], "bank-b", body)
    assert (
        result["auth_id"]
        == "0x" + keccak(abi_encode(["address", "uint256"], [w["tier2"].address, 9])).hex()
    )


# -- the catalogue's own refusals ----------------------------------------------------------------


def _describe(**over: Any) -> WriteDescription:
    base: dict[str, Any] = {
        "operation": "receivables.finance",
        "method": "POST",
        "path": "/v1/receivables/{receivable_id}/finance",
        "primary_type": "ForwardRequest",
        "signer": "the bank",
        "submitted_by": "the bank's key",
        "contract": "Receivables",
        "function": "finance",
        "arguments": ("path receivable_id", "body.advance_fen", "body.discount_bps"),
    }
    return WriteDescription(**{**base, **over})


@pytest.mark.parametrize(
    ("over", "says"),
    [
        ({"primary_type": "Permit"}, "is not one of"),
        ({"function": "steal"}, "has no function 'steal'"),
        ({"arguments": ("path receivable_id",)}, "takes 3 arguments"),
        ({"contract": "Bank"}, "names no 'Bank' contract"),
        ({"primary_type": "Attest"}, "only a ForwardRequest write names a call"),
    ],
)
def test_a_bad_description_is_refused_by_name(w: ApiWorld, over: dict[str, Any], says: str) -> None:
    with pytest.raises(WriteDescriptionInvalid, match=says):
        typed_data_catalogue(w.ledger.manifest, w.ledger.artifacts, [_describe(**over)])


def test_the_catalogue_refuses_twins_unknown_writes_and_unfilled_placeholders(w: ApiWorld) -> None:
    ledger = w.ledger
    with pytest.raises(WriteDescriptionInvalid, match="described twice"):
        typed_data_catalogue(ledger.manifest, ledger.artifacts, [_describe(), _describe()])
    catalogue = typed_data_catalogue(ledger.manifest, ledger.artifacts, [_describe()])
    with pytest.raises(UnknownWrite, match=r"no write .x.; known are receivables\.finance"):
        catalogue.write("x")
    template = catalogue.write("receivables.finance")
    assert isinstance(template.call, CallTemplate)
    with pytest.raises(TemplateValuesInvalid, match=r"no value for \['data'\]"):
        template.filled({"from": w["bank-a"].address, "nonce": 1, "deadline": 2})
    with pytest.raises(TemplateValuesInvalid, match=r"has no field \['amount'\]"):
        template.filled({"amount": 1})
    with pytest.raises(TemplateValuesInvalid, match=r"\['to'\] fixed by the template"):
        template.filled({"to": w["bank-a"].address})
    filled = template.filled({"from": w["bank-a"].address, "nonce": 1, "deadline": 2, "data": "0x"})
    assert filled["message"]["to"] == ledger.receivables.address
    assert template.typed_data["message"]["nonce"] == "<body.nonce>"  # the template untouched
