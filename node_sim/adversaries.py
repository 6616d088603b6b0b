"""The red team: attack classes, each tried as a real adversary would, each counted by
what the chain or the API answered.

Every attack class is one row of :data:`ATTACKS`: a function that performs the
attack through a door (``chain``: a raw transaction from the attacker's own
account; ``api``: an HTTP request to the running ``credit-chain serve`` with an
API key; ``client``: the recipient's checks in the public client), and the
named errors that must refuse it there. The function picks the strongest
variant the simulated world offers (a real authorisation just withdrawn, a
record in good standing, a signature captured from honest traffic, a receivable
already financed) and never checks the outcome itself: it only sends. How the
attempt ended is decided in :func:`attempt` from what came back:

- a named error of the chain (a :class:`ContractRevert` decoded to its Solidity
  error) or of the API (its error body's ``error``): refused, by that name;
- nothing: the attack succeeded, a breach, counted as ``succeeded``;
- anything else (an undecodable revert, a connection error): neither, counted
  under its type so the report shows it.

A write the API accepted is followed to its end: the chain's refusal when the
worker relays it is the refusal (the API let it through its door, the chain did
not), and an anchored one is a breach.

Adding an attack class is one function and one row.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_typing import Hash32 as EthHash32

from ledger_client import ContractRevert, Keyring, Ledger, LedgerError
from ledger_client.attestations.batches import AnchoredBatch, anchor_signed_records
from ledger_client.attestations.merkle import MerkleTree
from ledger_client.attestations.records import sample_record
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.consent.credit_reports import receive_report
from ledger_client.consent.sharing import FIXED_BYTES, SealedReport, SharingError
from ledger_client.contracts.attestations import (
    ATTEST_TYPES,
    attest_message,
    batch_record_id,
    schema_id,
)
from ledger_client.contracts.authorisations import (
    AUTHORISE_TYPES,
    AuthorisationRequest,
    SignedAuthorisation,
    authorise_message,
    query_hash,
)
from ledger_client.contracts.base import ContractFacade
from ledger_client.contracts.forwarder import SignedForwardRequest, forward_digest
from ledger_client.errors import UnknownRevert
from ledger_client.identity.eip712 import sign_typed
from ledger_client.lending import CollateralKind, PledgeTerms
from ledger_client.types import (
    AttestationFields,
    AttestRequest,
    BatchEntry,
    City,
    Hash32,
    QueryPurpose,
)
from sdk import ApiError

from .metrics import Metrics

if TYPE_CHECKING:
    from .consent import Complaint, ConsentFlows, Grant, OpenDispute, Rating, Share
    from .gateway import ApiGateway, ChainGateway, Forwarded
    from .lending import LendingFlows, SecuredLoan, Syndicate
    from .supply_chain import Deciding, ReceivableFlows

DAY = 86_400
#: How long an attacker's signed message stays relayable (it is relayed at once).
SIGNATURE_LIFETIME = 3_600

Door = Literal["chain", "api", "client"]


class ApiRefusal(LedgerError):
    """The API answered a request with an error body (``{"error": "<Name>", ...}``), at its
    door or, for a write it accepted, when the worker relayed it to the chain."""

    def __init__(self, error_name: str, status: int) -> None:
        super().__init__(f"{error_name} (HTTP {status})")
        self.error_name = error_name
        self.status = status


@dataclass
class AttackContext:
    """What an adversary can see and use on a given day: the public chain, the honest
    traffic it could capture, and its own keys."""

    ledger: Ledger
    ring: Keyring
    rng: random.Random
    day: int
    honest_attester: str  # label of a member in good standing whose name is abused
    relayer: LocalAccount  # an account that relays signed messages (anyone may)
    suspended: str | None  # label of the member suspended today, if any
    subject: bytes  # an enterprise the attack is about
    enterprise: str  # its keyring label
    consent: ConsentFlows
    receivables: ReceivableFlows
    gateway: ChainGateway  # where honest writes went: what an adversary saw of them
    metrics: Metrics
    city_of: Callable[[str], str]
    api: ApiGateway | None = None  # set when the run goes through the API
    lending: LendingFlows | None = None  # set when the run lends

    @cached_property
    def ratings_in_good_standing(self) -> list[Rating]:
        """The latest bureaus' ratings the chain holds as neither revoked nor replaced."""
        out = []
        for rating in list(self.consent.ratings.values())[-16:]:
            found = self.ledger.attestations.attestation(rating.uid)
            if found is not None and not found.revoked_at and not found.replaced_by:
                out.append(rating)
        return out

    def account(self, label: str) -> LocalAccount:
        """The account of ``label``."""
        return self.ring.account(label)

    def deadline(self) -> int:
        """A deadline for a signature relayed now."""
        return self.ledger.chain.now() + SIGNATURE_LIFETIME

    def banks_in_good_standing(self, *, besides: str | None = None) -> list[str]:
        """Banks an attacker could act as: every bank not suspended, sorted."""
        return sorted(
            label
            for label in (f"bank:{c.name.lower()}" for c in City)
            if label not in (besides, self.suspended)
        )


Attack = Callable[[AttackContext], None]
Available = Callable[[AttackContext], bool]


def _always(_: AttackContext) -> bool:
    return True


@dataclass(frozen=True)
class AttackClass:
    """One attack class: what it does, through which door, and the named errors that must
    refuse it there."""

    name: str
    door: Door
    run: Attack
    refused_by: tuple[str, ...]  # the named errors (of the chain, or the API) that refuse it
    available: Available = _always  # whether today's world offers what it needs

    def possible(self, ctx: AttackContext) -> bool:
        """Whether the class can be tried today (an API door needs a run through the API)."""
        if self.door == "api" and ctx.api is None:
            return False
        return self.available(ctx)

    @property
    def summary(self) -> str:
        """What the attack does, in one sentence (the function's docstring)."""
        return (self.run.__doc__ or self.name).strip().splitlines()[0]


# -- shared helpers -------------------------------------------------------------------
def _loan(ctx: AttackContext) -> bytes:
    return schema_id(ctx.ledger.schemas["loan-repayment"])


def _loan_record(ctx: AttackContext) -> dict[str, object]:
    schema = ctx.ledger.schemas["loan-repayment"]
    return sample_record(schema, ctx.rng, overrides={"subject": "0x" + ctx.subject.hex()})


def _api(ctx: AttackContext) -> ApiGateway:
    assert ctx.api is not None, "an API door needs a run through the API"
    return ctx.api


def _post(ctx: AttackContext, key_of: str, path: str, body: object, idempotency: str) -> None:
    """POST as ``key_of``; an error body raises :class:`ApiRefusal`. A write the API accepted
    is followed until the worker has relayed it: the chain's refusal then raises too. An
    answer that names no error raises :class:`LedgerError` (no named refusal)."""
    api = _api(ctx)
    answer = api.post(key_of, path, body, idempotency)
    if answer.status >= 400:
        name = answer.body.get("error") if isinstance(answer.body, dict) else None
        if not name:
            raise LedgerError(f"HTTP {answer.status} without a named error: {answer.body!r}")
        raise ApiRefusal(str(name), answer.status)
    settled = api.settle(answer, key_of)
    if settled.get("status") == "anchored":
        return  # through: a breach
    error = (settled.get("result") or {}).get("error")
    if not error:
        raise LedgerError(f"submission {settled.get('status')} without a named error")
    raise ApiRefusal(str(error), answer.status)


def _forge_forward(
    forger: LocalAccount,
    ctx: AttackContext,
    claimed: str,
    target: ContractFacade,
    fn: str,
    *args: object,
) -> SignedForwardRequest:
    """A ForwardRequest naming ``claimed`` as its signer, signed by ``forger``."""
    fw = ctx.ledger.forwarder
    request = fw.request(
        claimed, target, fn, *args, nonce=ctx.rng.getrandbits(64), deadline=ctx.deadline()
    )
    signature = forger.unsafe_sign_hash(EthHash32(forward_digest(fw.separator, request)))
    return SignedForwardRequest(request, bytes(signature.signature))


# -- attestations ---------------------------------------------------------------------
def unregistered_attester(ctx: AttackContext) -> None:
    """An account that is no member attests to a record (it pays its own gas)."""
    outsider = ctx.account(f"outsider:{ctx.day}")
    ctx.ledger.chain.fund(outsider.address, 10**18)
    ctx.ledger.attestations.attest(outsider, _loan(ctx), ctx.subject, ctx.rng.randbytes(32))


def suspended_member_write(ctx: AttackContext) -> None:
    """The member suspended today attests to a record with its own account."""
    assert ctx.suspended is not None
    suspended = ctx.account(ctx.suspended)
    ctx.ledger.attestations.attest(suspended, _loan(ctx), ctx.subject, ctx.rng.randbytes(32))


def forged_attestation_signature(ctx: AttackContext) -> None:
    """A signed attestation in an honest bank's name, signed by someone else, relayed."""
    impostor = ctx.account(f"impostor:{ctx.day}")
    honest = ctx.account(ctx.honest_attester)
    a = ctx.ledger.attestations
    request = AttestRequest(_loan(ctx), ctx.subject, ctx.rng.randbytes(32))
    nonce, deadline = ctx.rng.getrandbits(64), ctx.deadline()
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


def forged_attestation_signature_via_api(ctx: AttackContext) -> None:
    """Someone holding a bank's API key but not its signing key submits a record in its name."""
    api = _api(ctx)
    impostor = ctx.account(f"impostor:{ctx.day}")
    schema = ctx.ledger.schemas["loan-repayment"]
    body = api.sign(impostor, schema, _loan_record(ctx), ctx.rng.getrandbits(64))
    body["signer"] = ctx.account(ctx.honest_attester).address
    _post(ctx, ctx.honest_attester, "/v1/attestations", body, f"forged:{ctx.day}")


def replayed_attestation_signature(ctx: AttackContext) -> None:
    """A genuine signed attestation, once relayed, relayed again on chain."""
    honest = ctx.account(ctx.honest_attester)
    a = ctx.ledger.attestations
    request = AttestRequest(_loan(ctx), ctx.subject, ctx.rng.randbytes(32))
    nonce, deadline = ctx.rng.getrandbits(64), ctx.deadline()
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


def _captured_records(ctx: AttackContext) -> list[tuple[str, dict[str, object]]]:
    """Signed records captured from honest API traffic, their deadlines still ahead."""
    if ctx.api is None:
        return []
    soon = ctx.ledger.chain.now() + SIGNATURE_LIFETIME
    return [
        (m, body)
        for m, body in ctx.api.sent
        if m != ctx.suspended and int(str(body["deadline"])) > soon
    ]


def replayed_attestation_via_api(ctx: AttackContext) -> None:
    """A signed record captured from a bank's honest traffic, posted again under a new
    Idempotency-Key with that bank's API key."""
    member, body = _captured_records(ctx)[-1]
    _post(ctx, member, "/v1/attestations", dict(body), f"replay:{ctx.day}")


def cross_member_write_via_api(ctx: AttackContext) -> None:
    """Bank A's API key hands in a record bank B genuinely signed (and never submitted)."""
    api = _api(ctx)
    a = ctx.honest_attester
    b = ctx.rng.choice([m for m in ctx.banks_in_good_standing(besides=a) if m in api.keys])
    schema = ctx.ledger.schemas["loan-repayment"]
    body = api.sign(ctx.account(b), schema, _loan_record(ctx), api.reserve_nonce(b))
    _post(ctx, a, "/v1/attestations", body, f"cross-member:{ctx.day}")


def _ratings(ctx: AttackContext) -> list[Rating]:
    """Bureaus' ratings in good standing (not revoked, not replaced; nobody disputes a
    rating in the scenario): the chain says which, read as anyone can."""
    return ctx.ratings_in_good_standing


def cross_member_forward_request(ctx: AttackContext) -> None:
    """A bank signs a ForwardRequest naming a bureau as its signer (revoke one of the
    bureau's ratings in good standing) and relays it from its own account."""
    rating = ctx.rng.choice(_ratings(ctx))
    bank = ctx.account(ctx.honest_attester)
    forged = _forge_forward(
        bank,
        ctx,
        ctx.account(rating.bureau).address,
        ctx.ledger.attestations,
        "revoke",
        bytes(rating.uid),
        keccak(b"revoked by someone else"),
    )
    ctx.ledger.forwarder.relay(bank, forged)


def suspended_member_key_via_api(ctx: AttackContext) -> None:
    """The member suspended today uses its API key to submit a record it signed."""
    assert ctx.suspended is not None
    api = _api(ctx)
    schema = ctx.ledger.schemas["loan-repayment"]
    body = api.sign(
        ctx.account(ctx.suspended), schema, _loan_record(ctx), api.reserve_nonce(ctx.suspended)
    )
    _post(ctx, ctx.suspended, "/v1/attestations", body, f"suspended:{ctx.day}")


# -- signed batches and batch records ----------------------------------------------------
def _resealable(ctx: AttackContext) -> list[tuple[str, dict[str, object]]]:
    """Signed records captured from honest API traffic, relayed since (the latest one, and
    the first of the oldest day kept: by now, most often past its deadline)."""
    if ctx.api is None:
        return []
    sent = [c for c in ctx.api.sent if c[0] != ctx.suspended][-1:]
    kept = [c for c in ctx.api.kept if c[0] != ctx.suspended][:1]
    return kept + sent


def resealed_signed_record(ctx: AttackContext) -> None:
    """A relay (relayer role) anchors a bank's signed record captured from honest traffic,
    already anchored, again in a new signed batch of its own."""
    _, body = ctx.rng.choice(_resealable(ctx))
    schema = ctx.ledger.schemas[str(body["schema"])]
    request = AttestRequest(
        schema_id(schema),
        bytes.fromhex(str(body["subject"])[2:]),
        bytes.fromhex(str(body["data_hash"])[2:]),
    )
    record = SignedRecord(
        request,
        str(body["signer"]),
        int(str(body["nonce"])),
        int(str(body["deadline"])),
        bytes.fromhex(str(body["signature"])[2:]),
    )
    anchor_signed_records(ctx.ledger.attestations, ctx.relayer, [record])


def _batches(ctx: AttackContext) -> list[tuple[str, AnchoredBatch]]:
    """Merkle batches honest members anchored (with their trees), of members in good
    standing: nobody revokes, corrects or disputes a batched record in the scenario."""
    return [(m, b) for m, b in ctx.gateway.batches if m != ctx.suspended]


def _node_proof(tree: MerkleTree, level: int, index: int) -> list[bytes]:
    """The proof of node ``index`` of ``level``: its siblings from that level up."""
    siblings: list[bytes] = []
    for nodes in tree.levels[level:-1]:
        if index ^ 1 < len(nodes):
            siblings.append(nodes[index ^ 1])
        index >>= 1
    return siblings


def inner_node_as_batch_record(ctx: AttackContext) -> None:
    """A batch's attester passes an inner node of its tree (its children as subject and
    data hash, its proof from there up) for a record, and revokes it."""
    member, batch = ctx.rng.choice(_batches(ctx))
    tree = batch.prepared.tree
    level = ctx.rng.randrange(1, len(tree.levels))
    index = ctx.rng.randrange(len(tree.levels[level]))
    below = tree.levels[level - 1]
    node = tree.levels[level][index]
    left = below[2 * index] if 2 * index < len(below) else node
    right = below[2 * index + 1] if 2 * index + 1 < len(below) else node
    ctx.ledger.attestations.revoke_batch_record(
        ctx.account(member),
        batch.batch_id,
        BatchEntry(left, right),
        _node_proof(tree, level, index),
        keccak(b"two records for the price of one"),
    )


def batch_record_revoked_by_another(ctx: AttackContext) -> None:
    """The relay account, or another bank, revokes or corrects a batched record another
    member attested (its true ingredients and proof)."""
    member, batch = ctx.rng.choice(_batches(ctx))
    index = ctx.rng.randrange(len(batch.prepared))
    other = ctx.rng.choice(["relayer:sim", *ctx.banks_in_good_standing(besides=member)])
    a, acct = ctx.ledger.attestations, ctx.account(other)
    if ctx.rng.random() < 0.5:
        a.revoke_batch_record(acct, batch.batch_id, batch.entry(index), batch.proof(index))
    else:
        a.replace_batch_record(
            acct, batch.batch_id, batch.entry(index), batch.proof(index), ctx.rng.randbytes(32)
        )


def _stranger_to_subject(ctx: AttackContext, subject: bytes) -> str:
    """An enterprise other than the one with ``subject``."""
    if bytes(ctx.subject) != bytes(subject):
        return ctx.enterprise
    return next(e for e, s in ctx.consent.sim.subjects.items() if s != bytes(subject))


def batch_dispute_by_stranger(ctx: AttackContext) -> None:
    """Another enterprise disputes a batched record about someone else (its own signed
    dispute of the record's id, with its true ingredients and proof), a member relaying it."""
    _, batch = ctx.rng.choice(_batches(ctx))
    index = ctx.rng.randrange(len(batch.prepared))
    entry = batch.entry(index)
    stranger = ctx.account(_stranger_to_subject(ctx, entry.subject))
    d = ctx.ledger.disputes
    signed = d.sign_dispute(
        stranger,
        batch_record_id(batch.batch_id, batch.leaf(index)),
        AttestationFields(entry.subject, entry.data_hash),
        keccak(b"not my record, but I object"),
        nonce=ctx.rng.getrandbits(64),
        deadline=ctx.deadline(),
    )
    d.relay_batch_record_dispute(
        ctx.account(ctx.honest_attester), batch.batch_id, entry, batch.proof(index), signed
    )


def revoked_api_key_via_api(ctx: AttackContext) -> None:
    """A bank's API key the operator has revoked (``credit-chain keys revoke``) hands in a
    record the bank genuinely signed."""
    api = _api(ctx)
    bank = ctx.honest_attester
    label = f"revoked:{bank}:{ctx.day}"
    key = api.key_for(label, ctx.account(bank).address)
    api.server.revoke_key(key)
    schema = ctx.ledger.schemas["loan-repayment"]
    body = api.sign(ctx.account(bank), schema, _loan_record(ctx), api.reserve_nonce(bank))
    _post(ctx, label, "/v1/attestations", body, f"revoked-key:{ctx.day}")


# -- consent ----------------------------------------------------------------------------
def forged_consent(ctx: AttackContext) -> None:
    """A bank relays an authorisation in an enterprise's name that the enterprise never signed."""
    bank = ctx.account(ctx.honest_attester)
    enterprise = ctx.account(ctx.enterprise)
    impostor = ctx.account(f"impostor:{ctx.day}")
    auths = ctx.ledger.authorisations
    now = ctx.ledger.chain.now()
    request = AuthorisationRequest(bank.address, QueryPurpose.LOAN_APPROVAL, now + 30 * DAY)
    nonce, deadline = ctx.rng.getrandbits(64), ctx.deadline()
    message = authorise_message(request, enterprise.address, nonce, deadline)
    signature = sign_typed(impostor, auths.domain, AUTHORISE_TYPES, "Authorise", message)
    auths.authorise(
        bank, SignedAuthorisation(request, enterprise.address, nonce, deadline, signature)
    )


def _replayable_consents(ctx: AttackContext) -> list[tuple[str, SignedAuthorisation]]:
    now = ctx.ledger.chain.now()
    return [
        (bank, s) for bank, s in ctx.consent.signed if s.deadline > now and bank != ctx.suspended
    ]


def replayed_consent(ctx: AttackContext) -> None:
    """The bank an enterprise authorised relays the enterprise's captured signature again
    (before its deadline), to get a second authorisation out of it."""
    bank, signed = _replayable_consents(ctx)[-1]
    ctx.ledger.authorisations.authorise(ctx.account(bank), signed)


def _live_grants(ctx: AttackContext) -> list[Grant]:
    """Authorisations in force (applications' not yet lapsed, post-loan ones), most recent
    last, of banks in good standing."""
    now = ctx.ledger.chain.now()
    grants = [*ctx.consent.post_loan.values(), *ctx.consent.lapsing]
    return [g for g in grants if g.expiry > now and g.bank != ctx.suspended]


def query_under_another_banks_authorisation(ctx: AttackContext) -> None:
    """A bank logs a query under a live authorisation the enterprise gave another bank."""
    grant = _live_grants(ctx)[-1]
    rival = ctx.rng.choice(ctx.banks_in_good_standing(besides=grant.bank))
    ctx.ledger.authorisations.log_query(
        ctx.account(rival),
        grant.auth_id,
        grant.purpose,
        query_hash({"borrowed authorisation": ctx.day, "auth": "0x" + grant.auth_id.hex()}),
    )


def _withdrawn(ctx: AttackContext) -> list[Grant]:
    """Withdrawn authorisations of banks in good standing, most recent last."""
    return [g for g in ctx.consent.withdrawn if g.bank != ctx.suspended]


def query_after_withdrawal(ctx: AttackContext) -> None:
    """A bank queries under the authorisation its enterprise withdrew most recently."""
    grant = _withdrawn(ctx)[-1]
    ctx.ledger.authorisations.log_query(
        ctx.account(grant.bank),
        grant.auth_id,
        grant.purpose,
        query_hash({"after withdrawal": ctx.day, "auth": "0x" + grant.auth_id.hex()}),
    )


def _lapsed(ctx: AttackContext) -> list[Grant]:
    """Lapsed authorisations of banks in good standing, the most recently lapsed last."""
    now = ctx.ledger.chain.now()
    lapsed = [g for g in ctx.consent.lapsing if g.expiry <= now and g.bank != ctx.suspended]
    return sorted(lapsed, key=lambda g: g.expiry)


def query_after_expiry(ctx: AttackContext) -> None:
    """A bank queries under the authorisation that lapsed most recently."""
    grant = _lapsed(ctx)[-1]
    ctx.ledger.authorisations.log_query(
        ctx.account(grant.bank),
        grant.auth_id,
        grant.purpose,
        query_hash({"after expiry": ctx.day, "auth": "0x" + grant.auth_id.hex()}),
    )


def _shares(ctx: AttackContext) -> list[Share]:
    return list(ctx.consent.shares)


def tampered_report(ctx: AttackContext) -> None:
    """A sealed report altered in transit reaches the bank that queried; it checks it
    against the hash recorded on chain. The ciphertext is altered, not the framing: the
    envelope still reads as well formed."""
    share = ctx.rng.choice(_shares(ctx))
    envelope = bytearray(share.envelope)
    envelope[ctx.rng.randrange(FIXED_BYTES, len(envelope))] ^= 1 << ctx.rng.randrange(8)
    receive_report(
        ctx.ledger,
        ctx.account(share.bank).address,
        ctx.consent.keys[share.bank],
        query_id=share.query_id,
        sealed=SealedReport.from_bytes(bytes(envelope)),
        uid=share.uid,
        fields=share.fields,
    )


# -- disputes ---------------------------------------------------------------------------
def _stranger_to(ctx: AttackContext, rating: Rating) -> str:
    """An enterprise the rating is not about."""
    subject = bytes(rating.fields.subject)
    if bytes(ctx.subject) != subject:
        return ctx.enterprise
    return next(e for e, s in ctx.consent.sim.subjects.items() if s != subject)


def dispute_by_stranger(ctx: AttackContext) -> None:
    """Another enterprise disputes a record in good standing about someone else (its own
    signed dispute, with the record's true fields, relayed)."""
    rating = ctx.rng.choice(_ratings(ctx))
    stranger = ctx.account(_stranger_to(ctx, rating))
    d = ctx.ledger.disputes
    signed = d.sign_dispute(
        stranger,
        rating.uid,
        rating.fields,
        keccak(b"not my record, but I object"),
        nonce=ctx.rng.getrandbits(64),
        deadline=ctx.deadline(),
    )
    d.relay_dispute(ctx.relayer, signed)


def dispute_by_unbound_account(ctx: AttackContext) -> None:
    """An account bound to no enterprise disputes a record in good standing."""
    rating = ctx.rng.choice(_ratings(ctx))
    unbound = ctx.account(f"unbound:{ctx.day}")
    d = ctx.ledger.disputes
    signed = d.sign_dispute(
        unbound,
        rating.uid,
        rating.fields,
        keccak(b"I object"),
        nonce=ctx.rng.getrandbits(64),
        deadline=ctx.deadline(),
    )
    d.relay_dispute(ctx.relayer, signed)


def dispute_by_stranger_via_api(ctx: AttackContext) -> None:
    """Another enterprise, with its own API key, disputes a record in good standing about
    someone else (its ForwardRequest of ``raiseDispute`` with the record's true fields)."""
    api = _api(ctx)
    rating = ctx.rng.choice(_ratings(ctx))
    label = _stranger_to(ctx, rating)
    client = api.sdk(label)
    reason = keccak(b"not my record, but I object")
    try:
        client.wait(client.raise_dispute(bytes(rating.uid), rating.fields, reason))
    except ApiError as refused:
        raise ApiRefusal(refused.name, refused.status) from None


def _rejected(ctx: AttackContext) -> list[OpenDispute]:
    """Disputes their attester rejected, of records in good standing (the chain says which)
    whose attester is in good standing."""
    out = []
    for dispute in list(ctx.consent.rejected)[-8:]:
        uid = dispute.written.uid
        found = ctx.ledger.attestations.attestation(uid) if uid is not None else None
        if found is None or found.revoked_at or found.replaced_by:
            continue
        if dispute.written.member != ctx.suspended:
            out.append(dispute)
    return out


def dispute_reraised_after_rejection(ctx: AttackContext) -> None:
    """The enterprise whose dispute was rejected raises it again (its own new signed
    dispute of the same record), relayed."""
    dispute = ctx.rng.choice(_rejected(ctx))
    written = dispute.written
    assert written.uid is not None
    enterprise = ctx.consent.sim.profile_of_subject(bytes(written.fields.subject)).spec.label
    d = ctx.ledger.disputes
    signed = d.sign_dispute(
        ctx.account(enterprise),
        written.uid,
        written.fields,
        keccak(b"I still object"),
        nonce=ctx.rng.getrandbits(64),
        deadline=ctx.deadline(),
    )
    d.relay_dispute(ctx.relayer, signed)


def _open_complaints(ctx: AttackContext) -> list[Complaint]:
    """Complaints filed and not yet answered, of attesters in good standing."""
    return [
        c
        for day in sorted(ctx.consent.complaints_answered)
        for c in ctx.consent.complaints_answered[day]
        if c.complaint_id and c.written.member != ctx.suspended
    ]


def complaint_resolved_by_attester(ctx: AttackContext) -> None:
    """The attester of the record complained of rejects the complaint itself, instead of
    the regulator."""
    complaint = ctx.rng.choice(_open_complaints(ctx))
    ctx.ledger.disputes.resolve_complaint(
        ctx.account(complaint.written.member),
        complaint.complaint_id,
        False,
        keccak(b"the record stands, says its attester"),
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
    rival = ctx.account(ctx.rng.choice(ctx.banks_in_good_standing(besides=financier)))
    ctx.ledger.receivables.finance(rival, part_id, 1_000_000, 400)


def _requested(ctx: AttackContext) -> list[Deciding]:
    """Holders' requests for financing, on their terms, their banks (in good standing) have
    yet to answer."""
    return [r for r in ctx.receivables.requested_parts(ctx.day) if r.bank != ctx.suspended]


def financing_below_terms(ctx: AttackContext) -> None:
    """The bank a holder asked finances the part below the holder's terms: 1 fen, or the
    agreed advance at a 100 % discount."""
    asked = ctx.rng.choice(_requested(ctx))
    advance, bps = ctx.rng.choice([(1, asked.discount_bps), (asked.advance_fen, 10_000)])
    ctx.ledger.receivables.finance(ctx.account(asked.bank), asked.part.id, advance, bps)


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
        ctx.account(ctx.receivables.acting(core)),
        ctx.account(supplier).address,
        5_000_000,
        ctx.ledger.chain.now() + 30 * DAY,
        contract_hash=keccak(f"second contract {ctx.day}".encode()),
        invoice_commitments=[invoice],
    )


def _forwarded(ctx: AttackContext) -> list[Forwarded]:
    """Honest ForwardRequests the flows relayed (captured as they travelled) whose deadline
    is still ahead: a replay of a lapsed one would be refused for lapsing instead."""
    soon = ctx.ledger.chain.now() + SIGNATURE_LIFETIME
    return [f for f in ctx.gateway.forwarded if f.signed.request.deadline > soon]


def replayed_forward_request(ctx: AttackContext) -> None:
    """A ForwardRequest captured from honest traffic (a holder's request for financing)
    relayed again on chain as a raw transaction."""
    captured = _forwarded(ctx)[-1]
    ctx.ledger.forwarder.relay(ctx.relayer, captured.signed)


def _forwarded_via_api(ctx: AttackContext) -> list[Forwarded]:
    return [f for f in _forwarded(ctx) if f.path is not None]


def replayed_forward_request_via_api(ctx: AttackContext) -> None:
    """A ForwardRequest captured from honest API traffic handed in again under a new
    Idempotency-Key with the key that handed it in."""
    captured = _forwarded_via_api(ctx)[-1]
    assert captured.path is not None
    assert captured.body is not None
    _post(ctx, captured.key_of, captured.path, captured.body, f"replay-forward:{ctx.day}")


# -- lending ----------------------------------------------------------------------------
def _syndicates(ctx: AttackContext) -> list[Syndicate]:
    """Joint agreements in force, not flagged, with two participants in good standing and
    room left under the joint limit."""
    if ctx.lending is None:
        return []
    return [s for s in ctx.lending.live_syndicates(ctx.suspended) if s.joint_limit - s.joint() > 1]


def joint_limit_overdraw(ctx: AttackContext) -> None:
    """A participant of a joint agreement in force draws, on its own facility and within
    that facility's limit, one fen more than the joint limit leaves."""
    s = ctx.rng.choice(_syndicates(ctx))
    bank = ctx.rng.choice(s.banks_acting(ctx.suspended))
    line = s.lines[bank]
    over = s.joint_limit - s.joint() + 1
    ctx.ledger.facilities.draw(ctx.account(bank), s.subject, line.contract_hash, over)


def joint_limit_split_draws(ctx: AttackContext) -> None:
    """Two participants split a draw past the joint limit between them: the first takes
    half of what the limit leaves (a draw the chain must let through), the second the rest
    and one fen more, each well within its own facility."""
    s = ctx.rng.choice(_syndicates(ctx))
    first, second = ctx.rng.sample(s.banks_acting(ctx.suspended), 2)
    room = s.joint_limit - s.joint()
    half = room // 2
    f = ctx.ledger.facilities
    f.draw(ctx.account(first), s.subject, s.lines[first].contract_hash, half)
    # The first leg stands: the lending flows count it and repay it with the rest.
    s.lines[first].drawn += half
    ctx.metrics.lending.lent(ctx.city_of(s.enterprise), ctx.city_of(first), half)
    f.draw(ctx.account(second), s.subject, s.lines[second].contract_hash, room - half + 1)


def _pledged(ctx: AttackContext, kinds: tuple[CollateralKind, ...]) -> list[SecuredLoan]:
    """Secured loans whose pledge of one of ``kinds`` is in force, their pledgee in good
    standing."""
    if ctx.lending is None:
        return []
    return [
        loan
        for loan in ctx.lending.pledged()
        if loan.kind in kinds and loan.line.bank != ctx.suspended
    ]


_IP = (CollateralKind.PATENT, CollateralKind.TRADEMARK)
_ANY_KIND = tuple(CollateralKind)


def double_pledge(ctx: AttackContext) -> None:
    """A pledgor pledges its patent (or trademark), already pledged in force, to a second
    bank: its own signed consent, registered by that bank."""
    loan = ctx.rng.choice(_pledged(ctx, _IP))
    rival = ctx.account(ctx.rng.choice(ctx.banks_in_good_standing(besides=loan.line.bank)))
    terms = PledgeTerms(loan.kind, loan.key, loan.secured_fen, ctx.ledger.chain.now() + 90 * DAY)
    c = ctx.ledger.collateral
    signed = c.sign_pledge(
        ctx.account(loan.line.enterprise), terms, pledgee=rival.address, deadline=ctx.deadline()
    )
    c.pledge(rival, signed)


def _financed_held(ctx: AttackContext) -> list[tuple[str, bytes, str]]:
    """(financier, part id, holder) of financed parts before maturity."""
    return [
        (part.financier, part.id, part.holder)
        for _, part in ctx.receivables.financed_parts(ctx.day)
        if part.financier is not None
    ]


def pledge_financed_receivable(ctx: AttackContext) -> None:
    """The holder of a financed receivable part pledges it to another bank (its own signed
    consent, registered by that bank): one receivable, two liens."""
    financier, part_id, holder = ctx.rng.choice(_financed_held(ctx))
    rival = ctx.account(ctx.rng.choice(ctx.banks_in_good_standing(besides=financier)))
    terms = PledgeTerms(
        CollateralKind.RECEIVABLE, Hash32(bytes(part_id)), 1_000_000, ctx.ledger.chain.now() + DAY
    )
    c = ctx.ledger.collateral
    signed = c.sign_pledge(
        ctx.account(holder), terms, pledgee=rival.address, deadline=ctx.deadline()
    )
    c.pledge(rival, signed)


def release_by_non_pledgee(ctx: AttackContext) -> None:
    """A bank that is not the pledgee releases another bank's pledge in force (freeing the
    asset for a lien of its own)."""
    loan = ctx.rng.choice(_pledged(ctx, _ANY_KIND))
    rival = ctx.account(ctx.rng.choice(ctx.banks_in_good_standing(besides=loan.line.bank)))
    ctx.ledger.collateral.release(rival, loan.pledge_id)


#: Every attack class: name, door, what it does, the named errors that refuse it.
ATTACK_CLASSES: tuple[AttackClass, ...] = (
    AttackClass(
        "unregistered_attester", "chain", unregistered_attester, ("ConsortiumUnauthorized",)
    ),
    AttackClass(
        "suspended_member_write",
        "chain",
        suspended_member_write,
        ("ConsortiumMemberSuspended",),
        lambda ctx: ctx.suspended is not None,
    ),
    AttackClass(
        "forged_attestation_signature",
        "chain",
        forged_attestation_signature,
        ("AttestationsWrongSigner",),
    ),
    AttackClass(
        "forged_attestation_signature_via_api",
        "api",
        forged_attestation_signature_via_api,
        ("SignatureMismatch",),
    ),
    AttackClass(
        "replayed_attestation_signature",
        "chain",
        replayed_attestation_signature,
        ("AttestationsNonceUsed",),
    ),
    AttackClass(
        "replayed_attestation_via_api",
        "api",
        replayed_attestation_via_api,
        ("NonceAlreadySubmitted",),
        lambda ctx: bool(_captured_records(ctx)),
    ),
    AttackClass(
        "cross_member_write_via_api",
        "api",
        cross_member_write_via_api,
        ("KeyMemberMismatch",),
    ),
    AttackClass(
        "cross_member_forward_request",
        "chain",
        cross_member_forward_request,
        ("ForwarderWrongSigner",),
        lambda ctx: bool(_ratings(ctx)),
    ),
    # The API reads the key's member's standing on every request (a new block, or a
    # Consortium event, refreshes it), so the suspended member's key is refused at the door.
    AttackClass(
        "suspended_member_key_via_api",
        "api",
        suspended_member_key_via_api,
        ("MemberSuspended",),
        lambda ctx: ctx.suspended is not None and ctx.suspended in _api(ctx).keys,
    ),
    AttackClass(
        "revoked_api_key_via_api",
        "api",
        revoked_api_key_via_api,
        ("ApiKeyRevoked",),
    ),
    AttackClass(
        "resealed_signed_record",
        "chain",
        resealed_signed_record,
        ("AttestationsNonceUsed", "AttestationsSignatureExpired"),
        lambda ctx: bool(_resealable(ctx)),
    ),
    AttackClass(
        "inner_node_as_batch_record",
        "chain",
        inner_node_as_batch_record,
        ("AttestationsNotInBatch",),
        lambda ctx: bool(_batches(ctx)),
    ),
    AttackClass(
        "batch_record_revoked_by_another",
        "chain",
        batch_record_revoked_by_another,
        ("AttestationsNotAttester",),
        lambda ctx: bool(_batches(ctx)),
    ),
    AttackClass("forged_consent", "chain", forged_consent, ("AuthorisationsWrongSigner",)),
    AttackClass(
        "replayed_consent",
        "chain",
        replayed_consent,
        ("AuthorisationsNonceUsed",),
        lambda ctx: bool(_replayable_consents(ctx)),
    ),
    AttackClass(
        "query_under_another_banks_authorisation",
        "chain",
        query_under_another_banks_authorisation,
        ("AuthorisationsNotGrantee",),
        lambda ctx: bool(_live_grants(ctx)),
    ),
    AttackClass(
        "query_after_withdrawal",
        "chain",
        query_after_withdrawal,
        ("AuthorisationsWithdrawn",),
        lambda ctx: bool(_withdrawn(ctx)),
    ),
    AttackClass(
        "query_after_expiry",
        "chain",
        query_after_expiry,
        ("AuthorisationsExpired",),
        lambda ctx: bool(_lapsed(ctx)),
    ),
    AttackClass(
        "tampered_report",
        "client",
        tampered_report,
        ("ReportNotRecorded",),
        lambda ctx: bool(_shares(ctx)),
    ),
    AttackClass(
        "dispute_by_stranger",
        "chain",
        dispute_by_stranger,
        ("DisputesNotSubject",),
        lambda ctx: bool(_ratings(ctx)),
    ),
    # The chain compares the disputer with the record subject's bound account: an account
    # bound to no enterprise is refused as not the subject (tests/contracts/test_disputes.py).
    AttackClass(
        "dispute_by_unbound_account",
        "chain",
        dispute_by_unbound_account,
        ("DisputesNotSubject",),
        lambda ctx: bool(_ratings(ctx)),
    ),
    AttackClass(
        "dispute_by_stranger_via_api",
        "api",
        dispute_by_stranger_via_api,
        ("DisputesNotSubject",),
        lambda ctx: bool(_ratings(ctx)),
    ),
    AttackClass(
        "batch_dispute_by_stranger",
        "chain",
        batch_dispute_by_stranger,
        ("DisputesNotSubject",),
        lambda ctx: bool(_batches(ctx)),
    ),
    AttackClass(
        "dispute_reraised_after_rejection",
        "chain",
        dispute_reraised_after_rejection,
        ("DisputesAlreadyAnswered",),
        lambda ctx: bool(_rejected(ctx)),
    ),
    AttackClass(
        "complaint_resolved_by_attester",
        "chain",
        complaint_resolved_by_attester,
        ("DisputesNotRegulator",),
        lambda ctx: bool(_open_complaints(ctx)),
    ),
    AttackClass(
        "double_financing",
        "chain",
        double_financing,
        ("ReceivablesAlreadyFinanced",),
        lambda ctx: bool(_financed(ctx)),
    ),
    AttackClass(
        "financing_below_terms",
        "chain",
        financing_below_terms,
        ("ReceivablesTermsNotAgreed",),
        lambda ctx: bool(_requested(ctx)),
    ),
    AttackClass(
        "duplicate_invoice",
        "chain",
        duplicate_invoice,
        ("ReceivablesDuplicateInvoice",),
        lambda ctx: bool(_reissuable(ctx)),
    ),
    AttackClass(
        "replayed_forward_request",
        "chain",
        replayed_forward_request,
        ("ForwarderNonceUsed",),
        lambda ctx: bool(_forwarded(ctx)),
    ),
    AttackClass(
        "joint_limit_overdraw",
        "chain",
        joint_limit_overdraw,
        ("JointLimitExceeded",),
        lambda ctx: bool(_syndicates(ctx)),
    ),
    AttackClass(
        "joint_limit_split_draws",
        "chain",
        joint_limit_split_draws,
        ("JointLimitExceeded",),
        lambda ctx: bool(_syndicates(ctx)),
    ),
    AttackClass(
        "double_pledge",
        "chain",
        double_pledge,
        ("CollateralAlreadyPledged",),
        lambda ctx: bool(_pledged(ctx, _IP)),
    ),
    AttackClass(
        "pledge_financed_receivable",
        "chain",
        pledge_financed_receivable,
        ("CollateralAlreadyPledged",),
        lambda ctx: ctx.lending is not None and bool(_financed_held(ctx)),
    ),
    AttackClass(
        "release_by_non_pledgee",
        "chain",
        release_by_non_pledgee,
        ("CollateralNotPledgee",),
        lambda ctx: bool(_pledged(ctx, _ANY_KIND)),
    ),
    AttackClass(
        "replayed_forward_request_via_api",
        "api",
        replayed_forward_request_via_api,
        ("NonceAlreadySubmitted",),
        lambda ctx: bool(_forwarded_via_api(ctx)),
    ),
)

#: The attack classes by name.
ATTACKS: dict[str, AttackClass] = {a.name: a for a in ATTACK_CLASSES}


def attacks_for(via_api: bool) -> list[str]:
    """The attack classes a run tries: those through the API only on a run through it."""
    return [a.name for a in ATTACK_CLASSES if via_api or a.door != "api"]


def choose(ctx: AttackContext, metrics: Metrics, count: int = 1) -> list[str]:
    """Today's attacks: of the classes today makes possible, the ``count`` tried least so far.

    Every class is thus tried as soon as a run offers what it needs, and then in
    turn; ties go to the order of :data:`ATTACK_CLASSES`.
    """
    possible = [a.name for a in ATTACK_CLASSES if a.possible(ctx)]
    tried = {k: t.attempted for k, t in metrics.attacks.items()}
    return sorted(possible, key=lambda k: tried.get(k, 0))[:count]


def attempt(kind: str, ctx: AttackContext, metrics: Metrics) -> None:
    """Run one attack and count how the chain or the API answered it."""
    attack = ATTACKS[kind]
    tally = metrics.attacks[kind]
    tally.door = attack.door
    tally.attempted += 1
    try:
        attack.run(ctx)
    except UnknownRevert as exc:
        tally.errors[f"unnamed revert: {exc}"] += 1
        return
    except ContractRevert as exc:
        name = exc.error_name
    except ApiRefusal as exc:
        name = exc.error_name
    except SharingError as exc:
        name = type(exc).__name__  # the recipient's check against the chain's record
    except LedgerError as exc:
        tally.errors[f"unnamed {type(exc).__name__}: {exc}"] += 1
        return
    else:
        tally.succeeded += 1  # a breach
        return
    tally.errors[name] += 1
    tally.refused += 1
    if name not in attack.refused_by:
        tally.unexpected += 1
