"""Adversarial behaviours: each named, each expected to be refused with a named error.

An attempt counts as refused only when the chain, the API or the recipient's
checks raised the expected error; anything else (success, or a different
error) is counted as accepted or as the error it was, and shows in the report.
When a run goes through the API, the behaviours the API has a door for
(signed attestations) go through it and expect the API's error instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from ledger_client import ContractRevert, Keyring, Ledger
from ledger_client.contracts.attestations import ATTEST_TYPES, attest_message, schema_id
from ledger_client.contracts.authorisations import (
    AUTHORISE_TYPES,
    AuthorisationRequest,
    SignedAuthorisation,
    authorisation_id,
    authorise_message,
    query_hash,
)
from ledger_client.eip712 import sign_typed
from ledger_client.records import sample_record
from ledger_client.reports import receive_report
from ledger_client.sharing import SealedReport, SharingError
from ledger_client.types import AttestRequest, QueryPurpose

from .metrics import Metrics

if TYPE_CHECKING:
    from .consent import ConsentFlows, Grant, Share
    from .gateway import ApiGateway
    from .supply_chain import ReceivableFlows

DAY = 86_400


class ApiRefusal(Exception):
    """The API answered a request with an error body (``{"error": "<Name>", ...}``)."""

    def __init__(self, error_name: str, status: int) -> None:
        super().__init__(f"{error_name} (HTTP {status})")
        self.error_name = error_name
        self.status = status


@dataclass
class AttackContext:
    """What an adversary can see and use on a given day."""

    ledger: Ledger
    ring: Keyring
    rng: random.Random
    day: int
    honest_attester: str  # label of a member in good standing whose name is abused
    relayer: LocalAccount  # an account that relays signed messages
    suspended: LocalAccount | None  # a member suspended today, if any
    subject: bytes  # an enterprise the attack is about
    enterprise: str  # its keyring label
    consent: ConsentFlows
    receivables: ReceivableFlows
    metrics: Metrics
    city_of: Callable[[str], str]
    api: ApiGateway | None = None  # set when the run goes through the API


Attack = Callable[[AttackContext], None]
Available = Callable[[AttackContext], bool]


def _always(_: AttackContext) -> bool:
    return True


@dataclass(frozen=True)
class Behaviour:
    """One adversarial behaviour: what it does and the error that must refuse it."""

    run: Attack
    expected: str  # the named error on the chain (or of the recipient's checks)
    api_expected: str | None = None  # the API's error, when this behaviour goes through it
    available: Available = _always  # whether today offers what it needs


def _loan(ctx: AttackContext) -> bytes:
    return schema_id(ctx.ledger.schemas["loan-repayment"])


# -- attestations ---------------------------------------------------------------------
def unregistered_attester(ctx: AttackContext) -> None:
    """An account that is no member attests to a record."""
    outsider = ctx.ring.account(f"outsider:{ctx.day}")
    ctx.ledger.chain.fund(outsider.address, 10**18)
    ctx.ledger.attestations.attest(outsider, _loan(ctx), ctx.subject, ctx.rng.randbytes(32))


def suspended_member_write(ctx: AttackContext) -> None:
    """A suspended member attests to a record."""
    assert ctx.suspended is not None
    ctx.ledger.attestations.attest(ctx.suspended, _loan(ctx), ctx.subject, ctx.rng.randbytes(32))


def _loan_record(ctx: AttackContext) -> dict[str, object]:
    schema = ctx.ledger.schemas["loan-repayment"]
    return sample_record(schema, ctx.rng, overrides={"subject": "0x" + ctx.subject.hex()})


def forged_signature(ctx: AttackContext) -> None:
    """A signed attestation in an honest bank's name, signed by someone else."""
    impostor = ctx.ring.account(f"impostor:{ctx.day}")
    honest = ctx.ring.account(ctx.honest_attester)
    if ctx.api is not None:
        # Someone holding the bank's API key but not its signing key.
        schema = ctx.ledger.schemas["loan-repayment"]
        body = ctx.api.sign(impostor, schema, _loan_record(ctx), ctx.rng.getrandbits(64))
        body["signer"] = honest.address
        answer = ctx.api.post(ctx.honest_attester, "/v1/attestations", body, f"forged:{ctx.day}")
        if answer.error:
            raise ApiRefusal(answer.error, answer.status)
        return
    a = ctx.ledger.attestations
    request = AttestRequest(_loan(ctx), ctx.subject, ctx.rng.randbytes(32))
    nonce, deadline = ctx.rng.getrandbits(64), ctx.ledger.chain.now() + 3_600
    message = attest_message(request, honest.address, nonce, deadline)
    signature = sign_typed(impostor, a.domain, ATTEST_TYPES, "Attest", message)
    a.attest_by_sig(
        ctx.relayer,
        request,
        attester=honest.address,
        nonce=nonce,
        deadline=deadline,
        signature=signature,
    )


def replayed_signature(ctx: AttackContext) -> None:
    """A genuine signed attestation relayed (or submitted) a second time."""
    honest = ctx.ring.account(ctx.honest_attester)
    if ctx.api is not None:
        schema = ctx.ledger.schemas["loan-repayment"]
        record = _loan_record(ctx)
        body = ctx.api.sign(honest, schema, record, ctx.rng.getrandbits(64))
        key = f"replay:{ctx.day}"
        genuine = ctx.api.post(ctx.honest_attester, "/v1/attestations", body, f"{key}:genuine")
        ctx.api.track(genuine, [(ctx.honest_attester, schema, record, ctx.day, None)])
        replay = ctx.api.post(ctx.honest_attester, "/v1/attestations", body, f"{key}:again")
        if replay.error:
            raise ApiRefusal(replay.error, replay.status)
        return
    a = ctx.ledger.attestations
    request = AttestRequest(_loan(ctx), ctx.subject, ctx.rng.randbytes(32))
    nonce, deadline = ctx.rng.getrandbits(64), ctx.ledger.chain.now() + 3_600
    signature = a.sign_attest_request(honest, request, nonce, deadline)
    for attempt in range(2):  # the genuine one, accepted; then its replay
        a.attest_by_sig(
            ctx.relayer,
            request,
            attester=honest.address,
            nonce=nonce,
            deadline=deadline,
            signature=signature,
        )
        if attempt == 0:
            ctx.metrics.record(
                "loan-repayment", ctx.city_of(ctx.honest_attester), ctx.day, 1, False
            )


# -- consent ----------------------------------------------------------------------------
def forged_consent(ctx: AttackContext) -> None:
    """A bank relays an authorisation in an enterprise's name that the enterprise never signed."""
    bank = ctx.ring.account(ctx.honest_attester)
    enterprise = ctx.ring.account(ctx.enterprise)
    impostor = ctx.ring.account(f"impostor:{ctx.day}")
    auths = ctx.ledger.authorisations
    now = ctx.ledger.chain.now()
    request = AuthorisationRequest(bank.address, QueryPurpose.LOAN_APPROVAL, now + 30 * DAY)
    nonce, deadline = ctx.rng.getrandbits(64), now + 3_600
    message = authorise_message(request, enterprise.address, nonce, deadline)
    signature = sign_typed(impostor, auths.domain, AUTHORISE_TYPES, "Authorise", message)
    auths.authorise(
        bank, SignedAuthorisation(request, enterprise.address, nonce, deadline, signature)
    )


def _in_good_standing(ctx: AttackContext, grant: Grant) -> bool:
    return ctx.suspended is None or ctx.ring.account(grant.bank) != ctx.suspended


def query_without_authorisation(ctx: AttackContext) -> None:
    """A bank logs a query about an enterprise that never authorised it."""
    bank = ctx.ring.account(ctx.honest_attester)
    made_up = authorisation_id(ctx.ring.account(ctx.enterprise).address, ctx.rng.getrandbits(64))
    ctx.ledger.authorisations.log_query(
        bank, made_up, QueryPurpose.LOAN_APPROVAL, query_hash({"probe": ctx.day})
    )


def _withdrawn(ctx: AttackContext) -> list[Grant]:
    return [g for g in ctx.consent.withdrawn if _in_good_standing(ctx, g)]


def query_after_withdrawal(ctx: AttackContext) -> None:
    """A bank queries under an authorisation its enterprise has withdrawn."""
    grant = ctx.rng.choice(_withdrawn(ctx))
    ctx.ledger.authorisations.log_query(
        ctx.ring.account(grant.bank),
        grant.auth_id,
        grant.purpose,
        query_hash({"after withdrawal": ctx.day, "auth": "0x" + grant.auth_id.hex()}),
    )


def _lapsed(ctx: AttackContext) -> list[Grant]:
    now = ctx.ledger.chain.now()
    return [g for g in ctx.consent.lapsing if g.expiry <= now and _in_good_standing(ctx, g)]


def query_after_expiry(ctx: AttackContext) -> None:
    """A bank queries under an authorisation past its expiry."""
    grant = ctx.rng.choice(_lapsed(ctx))
    ctx.ledger.authorisations.log_query(
        ctx.ring.account(grant.bank),
        grant.auth_id,
        grant.purpose,
        query_hash({"after expiry": ctx.day, "auth": "0x" + grant.auth_id.hex()}),
    )


def _shares(ctx: AttackContext) -> list[Share]:
    return list(ctx.consent.shares)


def tampered_report(ctx: AttackContext) -> None:
    """A sealed report altered in transit reaches the bank that queried."""
    share = ctx.rng.choice(_shares(ctx))
    envelope = bytearray(share.envelope)
    envelope[ctx.rng.randrange(len(envelope))] ^= 1 << ctx.rng.randrange(8)
    receive_report(
        ctx.ledger,
        ctx.ring.account(share.bank).address,
        ctx.consent.keys[share.bank],
        query_id=share.query_id,
        sealed=SealedReport.from_bytes(bytes(envelope)),
        uid=share.uid,
        fields=share.fields,
    )


# -- receivables ------------------------------------------------------------------------
def _financed(ctx: AttackContext) -> list[tuple[str, bytes]]:
    """(financier, part id) of financed parts before maturity another bank could try."""
    return [
        (part.financier, part.id)
        for _, part in ctx.receivables.financed_parts(ctx.day)
        if part.financier is not None
    ]


def double_financing(ctx: AttackContext) -> None:
    """A second bank finances a receivable part that is already financed."""
    financier, part_id = ctx.rng.choice(_financed(ctx))
    rivals = sorted(
        label
        for label in (f"bank:{c}" for c in ("shanghai", "nanjing", "hangzhou", "hefei", "jiaxing"))
        if label != financier
        and (ctx.suspended is None or ctx.ring.account(label) != ctx.suspended)
    )
    rival = ctx.ring.account(ctx.rng.choice(rivals))
    ctx.ledger.receivables.finance(rival, part_id, 1_000_000, 400)


def _reissuable(ctx: AttackContext) -> list[tuple[str, str, bytes]]:
    """(core, supplier, invoice) of accepted receivables: their invoices are taken."""
    out: list[tuple[str, str, bytes]] = []
    for issue in ctx.receivables.recent:
        if issue.parts:  # accepted: its invoices stay bound to it
            supplier = issue.parts[0].holder
            out.extend((issue.chain.core, supplier, inv) for inv in issue.invoices)
    return out


def duplicate_invoice(ctx: AttackContext) -> None:
    """A core enterprise issues a second receivable backed by an invoice already used."""
    core, supplier, invoice = ctx.rng.choice(_reissuable(ctx))
    ctx.ledger.receivables.issue_receivable(
        ctx.ring.account(ctx.receivables.acting(core)),
        ctx.ring.account(supplier).address,
        5_000_000,
        ctx.ledger.chain.now() + 30 * DAY,
        contract_hash=keccak(f"second contract {ctx.day}".encode()),
        invoice_commitments=[invoice],
    )


#: Each behaviour, and the error the system must refuse it with.
ATTACKS: dict[str, Behaviour] = {
    "unregistered_attester": Behaviour(unregistered_attester, "ConsortiumUnauthorized"),
    "suspended_member_write": Behaviour(
        suspended_member_write,
        "ConsortiumMemberSuspended",
        available=lambda ctx: ctx.suspended is not None,
    ),
    "forged_signature": Behaviour(forged_signature, "AttestationsWrongSigner", "SignatureMismatch"),
    "replayed_signature": Behaviour(
        replayed_signature, "AttestationsNonceUsed", "NonceAlreadySubmitted"
    ),
    "forged_consent": Behaviour(forged_consent, "AuthorisationsWrongSigner"),
    "query_without_authorisation": Behaviour(query_without_authorisation, "AuthorisationsUnknown"),
    "query_after_withdrawal": Behaviour(
        query_after_withdrawal,
        "AuthorisationsWithdrawn",
        available=lambda ctx: bool(_withdrawn(ctx)),
    ),
    "query_after_expiry": Behaviour(
        query_after_expiry, "AuthorisationsExpired", available=lambda ctx: bool(_lapsed(ctx))
    ),
    "tampered_report": Behaviour(
        tampered_report, "ReportNotRecorded", available=lambda ctx: bool(_shares(ctx))
    ),
    "double_financing": Behaviour(
        double_financing,
        "ReceivablesAlreadyFinanced",
        available=lambda ctx: bool(_financed(ctx)),
    ),
    "duplicate_invoice": Behaviour(
        duplicate_invoice,
        "ReceivablesDuplicateInvoice",
        available=lambda ctx: bool(_reissuable(ctx)),
    ),
}


def expected_error(kind: str, via_api: bool) -> str:
    """The error that must refuse ``kind`` on this run's path."""
    behaviour = ATTACKS[kind]
    return behaviour.api_expected if via_api and behaviour.api_expected else behaviour.expected


def choose(ctx: AttackContext, metrics: Metrics) -> str | None:
    """Today's behaviour: of those today makes possible, the one tried least so far.

    Every behaviour is thus tried as soon as a run offers what it needs, and
    then in turn; ties go to the order of :data:`ATTACKS`.
    """
    possible = [kind for kind, b in ATTACKS.items() if b.available(ctx)]
    if not possible:
        return None
    return min(possible, key=lambda k: metrics.attacks[k].attempted if k in metrics.attacks else 0)


def attempt(kind: str, ctx: AttackContext, metrics: Metrics) -> None:
    """Run one attack and count how the system answered it."""
    behaviour = ATTACKS[kind]
    via_api = ctx.api is not None and behaviour.api_expected is not None
    expected = expected_error(kind, ctx.api is not None)
    tally = metrics.attacks[kind]
    tally.attempted += 1
    tally.channel["api" if via_api else "chain"] += 1
    try:
        behaviour.run(ctx)
    except ContractRevert as exc:
        name = exc.error_name
    except SharingError as exc:
        name = type(exc).__name__
    except ApiRefusal as exc:
        name = exc.error_name
    else:
        tally.accepted += 1
        return
    tally.errors[name] += 1
    if name == expected:
        tally.refused += 1
