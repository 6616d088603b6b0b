"""Adversarial behaviours: each named, each expected to be refused with a named error.

An attempt counts as refused only when the chain (or the API) raised the
expected error; anything else — success, or a different error — is counted
as accepted or as the error it was, and shows in the report.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from ledger_client import ContractRevert, Keyring, Ledger
from ledger_client.contracts.attestations import ATTEST_TYPES, attest_message, schema_id
from ledger_client.eip712 import sign_typed
from ledger_client.types import AttestRequest

from .metrics import Metrics


@dataclass
class AttackContext:
    """What an adversary can see and use on a given day."""

    ledger: Ledger
    ring: Keyring
    rng: random.Random
    day: int
    honest_attester: LocalAccount  # a member in good standing whose name is abused
    relayer: LocalAccount  # a member that relays signed attestations
    suspended: LocalAccount | None  # a member suspended today, if any
    subject: bytes  # an enterprise the attack is about


Attack = Callable[[AttackContext], None]


def _loan(ctx: AttackContext) -> bytes:
    return schema_id(ctx.ledger.schemas["loan-repayment"])


def unregistered_attester(ctx: AttackContext) -> None:
    """An account that is no member attests to a record."""
    outsider = ctx.ring.account(f"outsider:{ctx.day}")
    ctx.ledger.chain.fund(outsider.address)
    ctx.ledger.attestations.attest(outsider, _loan(ctx), ctx.subject, ctx.rng.randbytes(32))


def suspended_member_write(ctx: AttackContext) -> None:
    """A suspended member attests to a record."""
    assert ctx.suspended is not None
    ctx.ledger.attestations.attest(ctx.suspended, _loan(ctx), ctx.subject, ctx.rng.randbytes(32))


def forged_signature(ctx: AttackContext) -> None:
    """A signed attestation in an honest bank's name, signed by someone else."""
    a = ctx.ledger.attestations
    impostor = ctx.ring.account(f"impostor:{ctx.day}")
    request = AttestRequest(_loan(ctx), ctx.subject, ctx.rng.randbytes(32))
    nonce, deadline = ctx.rng.getrandbits(64), ctx.ledger.chain.now() + 3_600
    message = attest_message(request, ctx.honest_attester.address, nonce, deadline)
    signature = sign_typed(impostor, a.domain, ATTEST_TYPES, "Attest", message)
    a.attest_by_sig(
        ctx.relayer,
        request,
        attester=ctx.honest_attester.address,
        nonce=nonce,
        deadline=deadline,
        signature=signature,
    )


def replayed_signature(ctx: AttackContext) -> None:
    """A genuine signed attestation relayed a second time."""
    a = ctx.ledger.attestations
    request = AttestRequest(_loan(ctx), ctx.subject, ctx.rng.randbytes(32))
    nonce, deadline = ctx.rng.getrandbits(64), ctx.ledger.chain.now() + 3_600
    signature = a.sign_attest_request(ctx.honest_attester, request, nonce, deadline)
    attester = ctx.honest_attester.address
    for _ in range(2):  # the genuine one, accepted; then its replay
        a.attest_by_sig(
            ctx.relayer,
            request,
            attester=attester,
            nonce=nonce,
            deadline=deadline,
            signature=signature,
        )


#: Each behaviour, and the error the system must refuse it with.
ATTACKS: dict[str, tuple[Attack, str]] = {
    "unregistered_attester": (unregistered_attester, "ConsortiumUnauthorized"),
    "suspended_member_write": (suspended_member_write, "ConsortiumMemberSuspended"),
    "forged_signature": (forged_signature, "AttestationsWrongSigner"),
    "replayed_signature": (replayed_signature, "AttestationsNonceUsed"),
}


def attempt(kind: str, ctx: AttackContext, metrics: Metrics) -> None:
    """Run one attack and count how the system answered it."""
    attack, expected = ATTACKS[kind]
    tally = metrics.attacks[kind]
    tally.attempted += 1
    try:
        attack(ctx)
    except ContractRevert as exc:
        tally.errors[exc.error_name] += 1
        if exc.error_name == expected:
            tally.refused += 1
        return
    tally.accepted += 1
