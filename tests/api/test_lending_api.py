"""Lending through the API and the SDK, end to end: pledges, facilities, joint agreements,
exposure, and every lending refusal by its name, through the door a real party uses.

Each party signs with its own key through :class:`sdk.Client` (the pledgor its ``Pledge``,
the enterprise its ``AcceptAgreement``); each write is waited for before the next, so a
refusal is the intake's dry run of the contract, at the door, with its HTTP status.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import sdk
from ledger_client.attestations.merkle import keccak256
from ledger_client.errors import CollateralWrongSigner as ChainCollateralWrongSigner
from ledger_client.lending import CollateralKind, PledgeTerms, SignedAcceptance, asset_id, ip_key
from ledger_client.types import Hash32
from tests.api_world import DAY, ApiWorld, error, open_world

MILLION = 1_000_000_00  # ¥1m in fen
YEAR = 365 * DAY


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    with open_world(tmp_path_factory.mktemp("lending")) as world:
        yield world


def h(label: str) -> bytes:
    return keccak256(label.encode())


def hx(raw: bytes) -> str:
    return "0x" + bytes(raw).hex()


def later(w: ApiWorld, seconds: int = YEAR) -> int:
    return w.service.chain_time() + seconds


def done(client: sdk.Client, sub: sdk.Submission) -> sdk.Submission:
    return client.wait(sub)


@contextmanager
def refused(name: str, status: int) -> Iterator[Any]:
    """The SDK's error ``name`` must be raised, with HTTP ``status`` (refused at the door)."""
    with pytest.raises(getattr(sdk.errors, name)) as info:
        yield info
    assert info.value.status == status, info.value


def pledge_patent(w: ApiWorld, bank: str, number: str, pledgor: str = "tier1") -> str:
    client = w.sdk_client(bank)
    sub = client.pledge(
        "patent", ip_key("CNIPA", number), 5 * MILLION, later(w), pledgor=w[pledgor]
    )
    pid: str = done(client, sub).made("pledge_id")
    return pid


def receivable(w: ApiWorld, label: str) -> str:
    """A receivable the core owes tier 1, accepted by it."""
    core = w.sdk_client("core")
    sub = core.issue_receivable(
        w["tier1"].address,
        2 * MILLION,
        later(w, 90 * DAY),
        contract_hash=h(f"purchase {label}"),
        invoice_commitments=[h(f"invoice {label}")],
    )
    rid: str = done(core, sub).made("receivable_id")
    tier1 = w.sdk_client("tier1")
    done(tier1, tier1.accept_receivable(rid))
    return rid


def ask_financing(w: ApiWorld, rid: str, bank: str) -> sdk.Submission:
    tier1 = w.sdk_client("tier1")
    return tier1.request_financing(
        rid,
        w[bank].address,
        min_advance_fen=MILLION,
        max_discount_bps=500,
        expires_at=later(w, 7 * DAY),
    )


# -- collateral -------------------------------------------------------------------------------


def test_an_ip_pledge_secures_a_facility_until_released(w: ApiWorld) -> None:
    bank = w.sdk_client("bank-a")
    # Search before lending, by the national register's identifiers: nothing registered.
    found = bank.asset_registrations("patent", authority="CNIPA", number="ZL202310001234.5")
    assert (found["registrations"], found["pledges"], found["kind"]) == (0, [], None)
    pid = pledge_patent(w, "bank-a", "ZL202310001234.5")
    aid = hx(asset_id(CollateralKind.PATENT, ip_key("CNIPA", "ZL202310001234.5")))
    pledge = bank.get_pledge(pid)
    assert pledge["pledgee"] == w["bank-a"].address
    assert (pledge["asset_id"], pledge["rank"], pledge["kind"]) == (aid, 0, "patent")
    assert pledge["in_force"]
    assert not pledge["released"]
    # Any member searching sees it, by number or by asset id.
    seen = w.sdk_client("bank-b").asset_registrations(
        "patent", authority="cnipa", number="zl202310001234.5"
    )
    assert seen == w.sdk_client("bank-b").asset_registrations(asset=aid)
    assert (seen["asset_id"], seen["registrations"], seen["pledgee"]) == (
        aid,
        1,
        w["bank-a"].address,
    )
    assert [p["pledge_id"] for p in seen["pledges"]] == [pid]
    # A facility secured by it.
    subject, contract = w.subject("tier1"), h("ip loan")
    sub = bank.register_facility(
        subject, contract, kind="loan", limit_fen=3 * MILLION, expiry=later(w), pledge_ids=[pid]
    )
    fid = done(bank, sub).made("facility_id")
    facility = bank.get_facility(fid)
    assert facility["pledge_ids"] == [pid]
    assert (facility["subject"], facility["lender"]) == (subject, w["bank-a"].address)
    assert (facility["kind"], facility["status"], facility["limit_fen"]) == (
        "loan",
        "open",
        3 * MILLION,
    )
    done(bank, bank.draw(subject, contract, MILLION))
    assert bank.get_facility(fid)["drawn_fen"] == MILLION
    done(bank, bank.amend_facility(subject, contract, 4 * MILLION, later(w, 2 * YEAR)))
    done(bank, bank.amend_pledge(pid, 6 * MILLION, later(w, 2 * YEAR)))
    with refused("FacilityOutstanding", 409) as e:
        done(bank, bank.close_facility(subject, contract))
    assert e.value.drawn == MILLION
    done(bank, bank.repay(subject, contract, MILLION))
    done(bank, bank.close_facility(subject, contract))
    assert bank.get_facility(fid)["status"] == "closed"
    done(bank, bank.release_pledge(pid))
    after = bank.get_pledge(pid)
    assert after["released"]
    assert not after["in_force"]
    assert bank.asset_registrations(asset=aid)["pledgee"] is None


def test_attack_a_second_pledge_of_one_patent_is_refused(w: ApiWorld) -> None:
    pledge_patent(w, "bank-a", "ZL202410000001.1")
    rival = w.sdk_client("bank-b")
    with refused("CollateralAlreadyPledged", 409) as e:
        done(
            rival,
            rival.pledge(
                "patent",
                ip_key("CNIPA", "ZL202410000001.1"),
                MILLION,
                later(w),
                pledgor=w["tier1"],
            ),
        )
    assert e.value.status == 409
    assert e.value.pledgee == w["bank-a"].address
    assert e.value.assetId == hx(
        asset_id(CollateralKind.PATENT, ip_key("CNIPA", "ZL202410000001.1"))
    )


def test_attack_release_by_a_bank_not_the_pledgee_is_refused(w: ApiWorld) -> None:
    pid = pledge_patent(w, "bank-a", "ZL202410000002.2")
    rival = w.sdk_client("bank-b")
    with refused("CollateralNotPledgee", 403) as e:
        done(rival, rival.release_pledge(pid))
    assert e.value.status == 403
    assert (e.value.account, e.value.pledgee) == (w["bank-b"].address, w["bank-a"].address)
    # Nor with the pledgee's signature handed in by another key, nor amended by it.
    with refused("KeyMemberMismatch", 403):
        w.sdk_client("bank-b").release_pledge(pid, party=w["bank-a"])
    with refused("CollateralNotPledgee", 403):
        done(rival, rival.amend_pledge(pid, 1, later(w)))
    assert rival.get_pledge(pid)["in_force"]


def test_attack_a_forged_pledgor_consent_is_refused(w: ApiWorld) -> None:
    bank = w.sdk_client("bank-a")
    terms = PledgeTerms(
        CollateralKind.PATENT, ip_key("CNIPA", "ZL202410000003.3"), MILLION, later(w)
    )
    # Tier 2 signs, and the bank names tier 1, the patent's owner, as the pledgor.
    forged = dataclasses.replace(
        bank.signer.pledge(w["tier2"], terms, pledgee=w["bank-a"].address, rank=0),
        pledgor=w["tier1"].address,
    )
    with refused("CollateralWrongSigner", 403) as e:
        done(bank, bank.submit_pledge(forged))
    assert e.value.status == 403
    assert (e.value.pledgor, e.value.signer) == (w["tier1"].address, w["tier2"].address)
    # Tier 1's consent to bank A, taken by bank B: the consent names its pledgee.
    genuine = bank.signer.pledge(w["tier1"], terms, pledgee=w["bank-a"].address, rank=0)
    rival = w.sdk_client("bank-b")
    with refused("CollateralWrongSigner", 403):
        done(rival, rival.submit_pledge(genuine))
    # A signature that recovers to nobody is no consent either.
    garbled = dataclasses.replace(genuine, signature=b"\x00" * 65)
    with refused("CollateralWrongSigner", 403) as e:
        done(bank, bank.submit_pledge(garbled))
    assert e.value.signer == "0x" + "00" * 20
    # The chain refuses the forgery too, sent past the API as a raw transaction.
    with pytest.raises(ChainCollateralWrongSigner):
        w.ledger.collateral.pledge(w["bank-a"], forged)
    assert bank.asset_registrations(asset=terms.asset_id)["registrations"] == 0
    done(bank, bank.submit_pledge(genuine))  # the genuine consent, by its pledgee: registered


def test_attack_pledging_a_financed_receivable_is_refused(w: ApiWorld) -> None:
    rid = receivable(w, "financed")
    tier1, bank_a = w.sdk_client("tier1"), w.sdk_client("bank-a")
    done(tier1, ask_financing(w, rid, "bank-a"))
    done(bank_a, bank_a.finance_receivable(rid, MILLION, 300))
    rival = w.sdk_client("bank-b")
    with refused("CollateralAlreadyPledged", 409) as e:
        done(
            rival, rival.pledge("receivable", rid, MILLION, later(w, 60 * DAY), pledgor=w["tier1"])
        )
    assert e.value.pledgee == w["bank-a"].address  # its financier holds it


def test_attack_financing_a_pledged_receivable_is_refused(w: ApiWorld) -> None:
    rid = receivable(w, "pledged")
    tier1, bank_a, bank_b = (w.sdk_client(k) for k in ("tier1", "bank-a", "bank-b"))
    done(tier1, ask_financing(w, rid, "bank-b"))  # asked before the pledge
    sub = bank_a.pledge("receivable", rid, MILLION, later(w, 60 * DAY), pledgor=w["tier1"])
    pid = done(bank_a, sub).made("pledge_id")
    with refused("CollateralAlreadyPledged", 409) as e:
        done(bank_b, bank_b.finance_receivable(rid, MILLION, 300))
    assert e.value.status == 409
    assert e.value.pledgee == w["bank-a"].address
    with refused("CollateralAlreadyPledged", 409):
        done(tier1, ask_financing(w, rid, "bank-b"))
    # Released, it may be financed.
    done(bank_a, bank_a.release_pledge(pid))
    done(bank_b, bank_b.finance_receivable(rid, MILLION, 300))


# -- facilities and joint agreements --------------------------------------------------------


def test_a_draw_past_the_facility_limit_is_refused(w: ApiWorld) -> None:
    bank = w.sdk_client("bank-b")
    subject, contract = w.subject("core"), h("working capital")
    done(
        bank,
        bank.register_facility(subject, contract, kind="loan", limit_fen=MILLION, expiry=later(w)),
    )
    done(bank, bank.draw(subject, contract, MILLION // 2))
    with refused("FacilityLimitExceeded", 409) as e:
        done(bank, bank.draw(subject, contract, MILLION))
    assert e.value.status == 409
    assert (e.value.limit, e.value.drawn) == (MILLION, MILLION + MILLION // 2)  # after it


def test_a_syndicated_agreement_binds_every_participant(w: ApiWorld) -> None:
    a, b = w.sdk_client("bank-a"), w.sdk_client("bank-b")
    subject = w.subject("tier2")
    ca, cb = h("syndicated A"), h("syndicated B")
    for client, contract in ((a, ca), (b, cb)):
        done(
            client,
            client.register_facility(
                subject, contract, kind="loan", limit_fen=10 * MILLION, expiry=later(w)
            ),
        )
    sub = a.propose_agreement(
        subject, 3 * MILLION, [w["bank-a"].address, w["bank-b"].address], [6_000, 4_000]
    )
    no = int(done(a, sub).made("agreement"))
    proposed = a.get_agreement(no)
    assert (proposed["status"], proposed["lead"], proposed["accepted"]) == (
        "proposed",
        w["bank-a"].address,
        False,
    )
    assert proposed["participants"] == [
        {"bank": w["bank-a"].address, "share_bps": 6_000, "joined": True},
        {"bank": w["bank-b"].address, "share_bps": 4_000, "joined": False},
    ]
    done(b, b.join_agreement(no))
    done(a, a.accept_agreement(no, enterprise=w["tier2"]))
    active = a.get_agreement(no)
    assert (active["status"], active["accepted"], active["joined"]) == ("active", True, 2)
    done(a, a.draw(subject, ca, 2 * MILLION))
    done(b, b.draw(subject, cb, MILLION // 2))
    # The bypass: what bank A cannot lend alone under the joint limit, bank B lends instead.
    with refused("JointLimitExceeded", 409) as e:
        done(b, b.draw(subject, cb, MILLION))
    assert e.value.status == 409
    assert (e.value.limit, e.value.exposure) == (3 * MILLION, 3 * MILLION + MILLION // 2)
    with refused("JointLimitExceeded", 409):
        done(a, a.draw(subject, ca, MILLION))
    # An overdue reported by bank B puts the agreement on hold: no participant draws.
    done(b, b.report_overdue(subject, cb, MILLION // 2, 30))
    with refused("JointAgreementOnHold", 409) as held:
        done(a, a.draw(subject, ca, MILLION // 10))
    assert held.value.agreement == no
    assert w.sdk_client("regulator").exposure(subject)["flagged"]
    with refused("JointAgreementNotLead", 403):
        done(b, b.clear_flag(no))
    with refused("JointAgreementOnHold", 409):
        done(a, a.end_agreement(no))
    done(a, a.clear_flag(no))
    done(a, a.draw(subject, ca, MILLION // 2))  # within the joint limit again
    exposure = w.sdk_client("regulator").exposure(subject)
    assert exposure == {
        "subject": subject,
        "total_fen": 3 * MILLION,
        "joint_fen": 3 * MILLION,
        "joint_limit_fen": 3 * MILLION,
        "agreement": no,
        "flagged": False,
    }
    # Repaid and closed, the agreement ended by its lead.
    done(a, a.repay(subject, ca, 2 * MILLION + MILLION // 2))
    done(b, b.repay(subject, cb, MILLION // 2))
    for client, contract in ((a, ca), (b, cb)):
        done(client, client.close_facility(subject, contract))
    done(a, a.end_agreement(no))
    assert a.get_agreement(no)["status"] == "ended"
    assert w.sdk_client("regulator").exposure(subject)["total_fen"] == 0


def test_attack_an_acceptance_not_signed_by_the_enterprise_is_refused(w: ApiWorld) -> None:
    a, b = w.sdk_client("bank-a"), w.sdk_client("bank-b")
    subject = w.subject("core")
    sub = a.propose_agreement(
        subject, 5 * MILLION, [w["bank-a"].address, w["bank-b"].address], [5_000, 5_000]
    )
    no = int(done(a, sub).made("agreement"))
    done(b, b.join_agreement(no))
    # Tier 1 signs for the core enterprise; bank A relays it.
    with refused("JointAgreementWrongSigner", 403) as e:
        done(a, a.accept_agreement(no, enterprise=w["tier1"]))
    assert (e.value.enterprise, e.value.signer) == (w["core"].address, w["tier1"].address)
    assert a.get_agreement(no)["status"] == "proposed"
    with refused("JointAgreementWrongSigner", 403):
        done(a, a.submit_acceptance(SignedAcceptance(no, later(w, DAY), b"\x00" * 65)))
    # An acceptance of an agreement nobody proposed names that.
    stray = SignedAcceptance(9_999, later(w, DAY), b"\x00" * 65)
    with refused("JointAgreementUnknown", 404):
        done(a, a.submit_acceptance(stray))
    done(b, b.accept_agreement(no, enterprise=w["core"]))  # any member relays the genuine one
    assert a.get_agreement(no)["status"] == "active"
    done(a, a.end_agreement(no))


def test_exposure_is_shown_to_regulators_and_members_the_enterprise_authorised(
    w: ApiWorld,
) -> None:
    subject = w.subject("tier1")
    bank_b = w.sdk_client("bank-b")
    with refused("FacilityExposureNotAuthorised", 403) as e:
        bank_b.exposure(subject)
    assert e.value.status == 403
    assert (e.value.subject, e.value.reader) == (subject, w["bank-b"].address)
    body = error(w.get(f"/v1/exposures/{subject}", "bank-b"), 403, "FacilityExposureNotAuthorised")
    assert body["reader"] == w["bank-b"].address
    assert w.sdk_client("regulator").exposure(subject)["subject"] == subject
    # Tier 1 authorises bank B (the same consent as a credit query): bank B reads it.
    tier1 = w.sdk_client("tier1")
    sub = tier1.authorise(w["bank-b"].address, "loan-approval", later(w, 30 * DAY))
    auth_id = done(tier1, sub).made("auth_id")
    seen = bank_b.exposure(subject, auth_id)
    assert seen == w.sdk_client("regulator").exposure(subject)
    # Bank A holds no authorisation: bank B's is not its own.
    with refused("FacilityExposureNotAuthorised", 403):
        w.sdk_client("bank-a").exposure(subject, auth_id)


def test_unknown_lending_ids_and_a_search_without_its_key_are_named(w: ApiWorld) -> None:
    client = w.sdk_client("bank-a")
    with refused("NotFound", 404):
        client.get_pledge(b"\x01" * 32)
    with refused("NotFound", 404):
        client.get_facility(b"\x02" * 32)
    with refused("NotFound", 404):
        client.get_agreement(9_999)
    error(w.get("/v1/collateral/assets", "bank-a", kind="patent"), 422, "FilterRequired")
    error(
        w.get("/v1/collateral/assets", "bank-a", kind="patent", authority="CNIPA"),
        422,
        "FilterRequired",
    )
    error(
        w.get("/v1/collateral/assets", "bank-a", kind="movable", authority="X", number="1"),
        422,
        "FilterRequired",
    )
    movable = Hash32(h("warehouse receipt 17"))
    assert client.asset_registrations("movable", movable)["registrations"] == 0
