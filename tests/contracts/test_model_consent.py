"""Authorisations and disputes against a reference model of their rules (hypothesis stateful).

Random sequences of signed authorisations (relayed by members and others, with
stale deadlines, forged signers, replayed nonces, bad purposes, expiries and
schema limits), withdrawals (direct and signed), credit queries (with and
without a live authorisation, expired, withdrawn, for the wrong purpose or an
unlisted schema, duplicated), report shares, attestations and their
corrections, disputes (by the subject, by others, signed and direct, replayed,
raised again after an answer), rejections and upholdings (by the attester, a
regulator, anyone else, before and after the 20-day deadline), complaints to the
regulator (by the subject and by others, signed and direct, of rejected, upheld,
open and overdue disputes, twice) and their resolution (by a regulator or anyone
else, upheld or rejected, with the record corrected or standing), suspensions,
rebinding of a subject to a new account, and time travel across the dispute
deadlines and authorisation expiries. The actors are members of several roles in
the five cities, a regulator, enterprises bound to their subjects, an unbound
account and a stranger.

Every refusal the model predicts is the chain's named error with its arguments.
After every step the chain's views of what the step touched, its dispute count
and its overdue list equal the model's (after a move of the clock, every
record's validity and every attester's overdue list too); every 16th step and
at the end of each run, every view of everything. At the end of each run the
event projection (who queried whom, authorisations, disputes, complaints) agrees as well.
The chain's clock is pinned (one second per block), so the model knows the time
of the next block exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger_client import Chain, Keyring, Ledger, Role, connect, deploy
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.attestations import compute_uid, schema_id
from ledger_client.contracts.authorisations import (
    AUTHORISE_TYPES,
    AuthorisationRequest,
    SignedAuthorisation,
    authorisation_id,
    authorise_message,
    query_id,
)
from ledger_client.contracts.disputes import (
    FILE_COMPLAINT_TYPES,
    RAISE_DISPUTE_TYPES,
    SignedComplaint,
    SignedDispute,
    complaint_message,
    dispute_message,
)
from ledger_client.identity.eip712 import sign_typed
from ledger_client.index.consent import ConsentLog, complaints, disputes
from ledger_client.types import (
    DISPUTE_RESOLUTION_PERIOD,
    AttestationFields,
    City,
    ComplaintStatus,
    DisputeStatus,
    Hash32,
    Validity,
)
from tests.model_support import FINISHED, Refused, budget, count_step, expect, machine_settings

P = TypeVar("P")
MACHINE = "consent"
EXAMPLES, STEPS = budget(
    60, 90, examples_env=("CONSENT_MODEL_EXAMPLES",), steps_env=("CONSENT_MODEL_STEPS",)
)
DAY = 86_400
ZERO = bytes(32)
GENESIS = 1_767_225_600  # 2026-01-01 00:00 UTC
#: Every how many steps the invariant compares every view, not only what the step touched.
FULL_SWEEP_EVERY = 16

ATT, FIN, REG, REGISTRAR = (
    int(r) for r in (Role.ATTESTER, Role.FINANCIER, Role.REGULATOR, Role.REGISTRAR)
)
#: Members: label -> (city, roles). The bureau attests and binds enterprises; the Shanghai
#: bank and the Hefei rating agency query as attesters, the Nanjing bank as a financier
#: only; the auditor is a member that may not query.
MEMBERS: dict[str, tuple[City, int]] = {
    "bureau": (City.HANGZHOU, ATT | REGISTRAR),
    "bank_sh": (City.SHANGHAI, ATT | FIN),
    "bank_nj": (City.NANJING, FIN),
    "rater_hf": (City.HEFEI, ATT),
    "auditor": (City.JIAXING, int(Role.AUDITOR)),
}
#: Members with a published encryption key (report shares are sealed to it).
KEYED = ("bureau", "bank_sh", "rater_hf")
SUSPENDABLE = ("bureau", "bank_sh", "bank_nj", "rater_hf")
SUBJECT_A, SUBJECT_B, SUBJECT_C = (bytes([k]) * 32 for k in (0xA1, 0xB2, 0xC3))  # C: unbound
#: Accounts that are no member: two bound enterprises, an unbound spare, a stranger.
OUTSIDERS = ("ent_a", "ent_b", "spare", "stranger")
ACTORS = ("regulator", *MEMBERS, *OUTSIDERS)
PURPOSES = st.sampled_from([1, 1, 2, 3, 4, 5, 0, 6])  # 0 and 6 are no purpose
#: Picks an entity from a list: most of the time an existing one, sometimes an unknown id.
#: Sometimes a step waits for a boundary: its block one second before (-1) or at (0) it.
EDGE = st.sampled_from([None, None, None, -1, 0])
PICK = st.tuples(st.integers(0, 10_000), st.sampled_from([True] * 7 + [False]))


@dataclass
class MAuth:
    """The model of one authorisation."""

    subject: bytes
    member: str
    purpose: int
    expiry: int
    schemas: tuple[bytes, ...]
    enterprise: str  # the account that signed it
    nonce: int
    withdrawn_at: int = 0
    queries: list[bytes] = field(default_factory=list)  # query hashes logged under it


@dataclass
class MRecord:
    """The model of one attestation."""

    uid: bytes
    schema: bytes
    subject: bytes
    data: bytes
    ref: bytes
    attester: str
    at: int
    expiry: int
    revoked_at: int = 0
    replaced_by: bytes = ZERO
    dispute_deadline: int = 0  # of its open dispute; 0 when none is open

    @property
    def fields(self) -> AttestationFields:
        return AttestationFields(self.subject, self.data, self.ref)


@dataclass
class MDispute:
    """The model of one dispute."""

    uid: bytes
    attester: str
    deadline: int
    raised_by: str
    subject: bytes
    reason: bytes
    status: DisputeStatus = DisputeStatus.OPEN
    resolved_at: int = 0
    resolver: str | None = None
    late: bool = False
    complained: bool = False


@dataclass
class MComplaint:
    """The model of one complaint to the regulator."""

    dispute_id: int
    filed_at: int
    filed_by: str
    reason: bytes
    status: ComplaintStatus = ComplaintStatus.OPEN
    resolved_at: int = 0
    regulator: str | None = None
    upheld: bool = False


@dataclass
class Model:
    """Who is who, and what the chain holds, as the rules say it must."""

    now: int
    suspended: set[str] = field(default_factory=set)
    bound: dict[str, bytes] = field(default_factory=dict)  # account -> subject
    auths: dict[bytes, MAuth] = field(default_factory=dict)  # in order of grant
    queries: dict[bytes, bytes] = field(default_factory=dict)  # query id -> auth id
    shares: dict[tuple[bytes, bytes], tuple[str, int]] = field(default_factory=dict)
    records: dict[bytes, MRecord] = field(default_factory=dict)
    revocable: dict[bytes, bool] = field(default_factory=dict)
    disputes: list[MDispute] = field(default_factory=list)  # dispute id - 1
    open_disputes: dict[bytes, int] = field(default_factory=dict)  # uid -> dispute id
    record_disputes: dict[bytes, int] = field(default_factory=dict)  # uid -> its last dispute
    complaints: list[MComplaint] = field(default_factory=list)  # complaint id - 1
    dispute_nonces: list[tuple[str, int]] = field(default_factory=list)  # used by signers

    # -- consortium rules -----------------------------------------------------------
    def require(self, who: str, role: int) -> None:
        """``IConsortium.requireRole``."""
        if who not in (*MEMBERS, "regulator") or self.roles(who) & role != role:
            raise Refused("ConsortiumUnauthorized", account=who, role=role)
        if who in self.suspended:
            raise Refused("ConsortiumMemberSuspended", account=who)

    def has(self, who: str, role: int) -> bool:
        """``IConsortium.hasRole``."""
        return who not in self.suspended and role != 0 and self.roles(who) & role == role

    @staticmethod
    def roles(who: str) -> int:
        return REG if who == "regulator" else MEMBERS[who][1] if who in MEMBERS else 0

    def require_querier(self, who: str) -> None:
        """A member in good standing with the financier or the attester role."""
        if self.has(who, FIN):
            return
        self.require(who, 0)
        if not self.has(who, ATT):
            raise Refused("AuthorisationsNotQuerier", account=who)

    def subject_of(self, who: str) -> bytes:
        """``IConsortium.requireEnterprise``."""
        if who not in self.bound:
            raise Refused("ConsortiumNotEnterprise", account=who)
        return self.bound[who]

    def account_of(self, subject: bytes) -> str | None:
        return next((who for who, s in self.bound.items() if s == subject), None)

    # -- derived views --------------------------------------------------------------
    def validity(self, uid: bytes) -> Validity:
        r = self.records.get(uid)
        if r is None:
            return Validity.UNKNOWN
        if r.revoked_at:
            return Validity.REVOKED
        if r.replaced_by != ZERO:
            return Validity.REPLACED
        if r.dispute_deadline:
            return Validity.DISPUTED if self.now < r.dispute_deadline else Validity.DISPUTE_OVERDUE
        if r.expiry and r.expiry <= self.now:
            return Validity.EXPIRED
        return Validity.VALID

    def open_complaints(self) -> list[int]:
        return [n for n, c in enumerate(self.complaints, 1) if c.status is ComplaintStatus.OPEN]

    def corrected(self, uid: bytes) -> bool:
        r = self.records[uid]
        return bool(r.revoked_at) or r.replaced_by != ZERO

    def overdue(self, attester: str | None = None) -> list[int]:
        return [
            n
            for n, d in enumerate(self.disputes, 1)
            if d.status is DisputeStatus.OPEN
            and self.now >= d.deadline
            and attester in (None, d.attester)
        ]

    def in_force(self, auth_id: bytes, at: int) -> None:
        a = self.auths[auth_id]
        if a.withdrawn_at:
            raise Refused("AuthorisationsWithdrawn", authId=auth_id, withdrawnAt=a.withdrawn_at)
        if a.expiry <= at:
            raise Refused("AuthorisationsExpired", authId=auth_id, expiry=a.expiry, now=at)


def flaws(*kinds: str) -> st.SearchStrategy[frozenset[str]]:
    """What a step gets wrong: nothing about half the time, else one or two of ``kinds``.

    Drawing each argument right or wrong on its own would make nearly every step fail
    its first check; this way the later checks, and success, are reached as well.
    """
    right = [""] * (2 * len(kinds))
    return st.lists(st.sampled_from([*right, *kinds]), min_size=2, max_size=2).map(frozenset)


def _pick(items: list[Any], drawn: tuple[int, bool], unknown: Any) -> Any:
    n, known = drawn
    return items[n % len(items)] if known and items else unknown


class ConsentMachine(RuleBasedStateMachine):
    """Authorisations and disputes, driven on the chain and in the model side by side."""

    chain: ClassVar[Chain]
    ledger: ClassVar[Ledger]
    ring: ClassVar[Keyring]
    snapshot: ClassVar[Any]
    schemas: ClassVar[dict[str, bytes]]

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        cls.chain.revert(cls.snapshot)
        self.model = Model(
            now=cls.chain.now(), revocable={s: n == "loan" for n, s in cls.schemas.items()}
        )
        self.model.bound = {"ent_a": SUBJECT_A, "ent_b": SUBJECT_B}
        self.accounts: dict[str, LocalAccount] = {a: cls.ring.account(a) for a in ACTORS}
        self.addr = {label: acct.address for label, acct in self.accounts.items()}
        self.serial = 0  # fresh nonces and hashes
        self.steps = 0
        self.touched_auths: set[bytes] = set()
        self.touched_records: set[bytes] = set()
        self.touched_disputes: set[int] = set()
        self.touched_complaints: set[int] = set()
        self.touched_queries: list[bytes] = []
        self.touched_shares: list[tuple[bytes, bytes]] = []
        self.clock_moved = False
        att, dis = cls.ledger.authorisations, cls.ledger.disputes
        self.auth_domain, self.dispute_domain = att.domain, dis.domain

    # -- helpers --------------------------------------------------------------------
    def show(self, value: Any) -> Any:
        return self.addr.get(value, value) if isinstance(value, str) else value

    def expect(self, predict: Callable[[], P], act: Callable[[], Any]) -> tuple[P, Any] | None:
        """Predict, act, compare (:func:`tests.model_support.expect`); then the model's
        clock is the chain's."""
        self.steps += 1
        try:
            return expect(MACHINE, predict, act, show=self.show)
        finally:
            self.model.now = type(self).chain.now()

    def run(self, predict: Callable[[], None], act: Callable[[], Any]) -> Any:
        """:meth:`expect` for a step whose prediction has no value: what ``act`` returned,
        or None for a refusal."""
        outcome = self.expect(predict, act)
        return None if outcome is None else outcome[1]

    def at(self) -> int:
        """The time of the next block (pinned clock: one second on)."""
        return type(self).chain.now() + 1

    def land_at(self, when: int) -> None:
        """Move the clock so that the next block is at ``when`` (when that is ahead)."""
        now = type(self).chain.now()
        if when - 1 > now:
            type(self).chain.advance_time(when - 1 - now)
            self.model.now = type(self).chain.now()
            self.clock_moved = True

    def fresh(self) -> int:
        self.serial += 1
        return self.serial

    def fresh_hash(self, kind: str) -> bytes:
        return keccak256(f"{kind}-{self.fresh()}".encode())

    def deadline(self, kind: str, at: int) -> int:
        """A signature's deadline: an hour on, exactly the next block, or just passed."""
        return {"hour": at + 3_600, "edge": at, "stale": at - 1}[kind]

    @initialize()
    def records_an_authorisation_and_a_rejected_dispute(self) -> None:
        """Start from a record about enterprise A, its authorisation of the Shanghai bank,
        and a rejected dispute of another record (a complaint may follow, a re-raise may not),
        so that short runs reach the later rules."""
        self.attest("bureau", SUBJECT_A, "loan", 0)
        self.authorise(frozenset(), 0, "member")
        self.attest("bureau", SUBJECT_A, "loan", 0)
        self.raise_dispute(frozenset(), (1, True), True, "bureau")
        self.resolve(frozenset(), (1, True), "bureau", False, None)
        assert self.model.disputes[0].status is DisputeStatus.REJECTED

    # -- records and their corrections ------------------------------------------------
    @rule(
        by=st.sampled_from(["bureau", "bureau", "rater_hf", "bank_sh", "bank_nj", "stranger"]),
        subject=st.sampled_from([SUBJECT_A, SUBJECT_A, SUBJECT_B, SUBJECT_C]),
        schema=st.sampled_from(["loan", "loan", "default"]),
        expiry_days=st.sampled_from([0, 0, 10, 30]),
    )
    def attest(self, by: str, subject: bytes, schema: str, expiry_days: int) -> None:
        at = self.at()
        sid = type(self).schemas[schema]
        data = self.fresh_hash("record")
        expiry = at + expiry_days * DAY if expiry_days else 0
        made = self.run(
            lambda: self.model.require(by, ATT),
            lambda: type(self).ledger.attestations.attest(
                self.accounts[by], sid, subject, data, expiry=expiry
            ),
        )
        if made is not None:
            r = MRecord(made.uid, sid, subject, data, ZERO, by, at, expiry)
            assert made.uid == compute_uid(sid, r.fields, self.addr[by], at, expiry)
            self.model.records[made.uid] = r
            self.touched_records.add(made.uid)

    @rule(
        by=st.sampled_from(
            ["attester", "attester", "attester", "regulator", "bank_sh", "rater_hf"]
        ),
        pick=PICK,
        replace=st.booleans(),
    )
    def correct(self, by: str, pick: tuple[int, bool], replace: bool) -> None:
        """Revoke or replace a record: most often one with an open dispute."""
        disputed = [uid for uid, r in self.model.records.items() if r.dispute_deadline]
        pool = disputed if disputed and pick[0] % 3 else list(self.model.records)
        uid = _pick(pool, (pick[0], True), None)
        if uid is None:
            return
        r = self.model.records[uid]
        by = r.attester if by == "attester" else by
        at = self.at()
        facade = type(self).ledger.attestations
        if not replace:

            def predict_revoke() -> None:
                if not self.model.revocable[r.schema]:
                    raise Refused("AttestationsNotRevocable", uid=uid, schema=r.schema)
                if by == r.attester:
                    self.model.require(by, ATT)
                elif not self.model.has(by, REG):
                    raise Refused(
                        "AttestationsNotAttester", uid=uid, caller=by, attester=r.attester
                    )
                if r.revoked_at:
                    raise Refused("AttestationsAlreadyRevoked", uid=uid, revokedAt=r.revoked_at)

            if self.run(predict_revoke, lambda: facade.revoke(self.accounts[by], uid)):
                r.revoked_at = at
                self.touched_records.add(uid)
            return
        data = self.fresh_hash("correction")

        def predict_replace() -> None:
            if by != r.attester:
                raise Refused("AttestationsNotAttester", uid=uid, caller=by, attester=r.attester)
            self.model.require(by, ATT)
            if r.revoked_at:
                raise Refused("AttestationsAlreadyRevoked", uid=uid, revokedAt=r.revoked_at)
            if r.replaced_by != ZERO:
                raise Refused("AttestationsAlreadyReplaced", uid=uid, replacedBy=r.replaced_by)

        made = self.run(
            predict_replace, lambda: facade.replace(self.accounts[by], uid, r.fields, data)
        )
        if made is not None:
            new = MRecord(made.uid, r.schema, r.subject, data, uid, by, at, 0)
            assert made.uid == compute_uid(r.schema, new.fields, self.addr[by], at, 0)
            self.model.records[made.uid] = new
            r.replaced_by = made.uid
            self.touched_records |= {uid, made.uid}

    # -- authorisations ---------------------------------------------------------------
    @rule(
        wrong=flaws(
            "signer", "forged", "member", "purpose", "expiry", "schemas", "deadline", "replay"
        ),
        n=st.integers(0, 10_000),
        relayer=st.sampled_from(["member", "member", "member", "stranger", "ent_b"]),
    )
    def authorise(self, wrong: frozenset[str], n: int, relayer: str) -> None:
        """An enterprise signs an authorisation; a member (or anyone) relays it."""
        enterprises = sorted(self.model.bound)
        others = [who for who in ("spare", "stranger", "bank_sh") if who not in self.model.bound]
        signers = others if "signer" in wrong else enterprises
        signer = signers[n % len(signers)]
        forged = "forged" in wrong
        members = ["auditor", "stranger", "ent_a", "regulator"] if "member" in wrong else []
        members = members or ["bank_sh", "bank_sh", "bank_nj", "rater_hf", "bureau"]
        member = members[n % len(members)]
        purpose = (0, 6)[n % 2] if "purpose" in wrong else 1 + n % 5
        expiry = ("now", "past")[n % 2] if "expiry" in wrong else ("days", "hours", "second")[n % 3]
        kinds = ("zero", "many") if "schemas" in wrong else ("all", "all", "loan", "both", "other")
        schemas = kinds[n % len(kinds)]
        deadline = "stale" if "deadline" in wrong else ("hour", "hour", "edge")[n % 3]
        replay = "replay" in wrong
        s = type(self).schemas
        at = self.at()
        claimed = ("ent_b" if signer != "ent_b" else "ent_a") if forged else signer
        used = [a.nonce for a in self.model.auths.values() if a.enterprise == claimed]
        nonce = used[-1] if replay and used else self.fresh()
        limit: tuple[bytes, ...] = {
            "all": (),
            "loan": (s["loan"],),
            "both": (s["loan"], s["default"]),
            "other": (b"\x77" * 32,),
            "zero": (s["loan"], ZERO),
            "many": tuple(bytes([1 + i]) * 32 for i in range(33)),
        }[schemas]
        lapse = {"days": 30 * DAY, "hours": 3 * 3_600, "second": 1, "now": 0, "past": -60}[expiry]
        # The purpose as drawn, invalid codes included (the ABI takes any uint8).
        request = AuthorisationRequest(self.addr[member], purpose, at + lapse, limit)  # type: ignore[arg-type]
        until = self.deadline(deadline, at)
        message = authorise_message(request, self.addr[claimed], nonce, until)
        signature = sign_typed(
            self.accounts[signer], self.auth_domain, AUTHORISE_TYPES, "Authorise", message
        )
        signed = SignedAuthorisation(request, self.addr[claimed], nonce, until, signature)
        auth_id = authorisation_id(self.addr[claimed], nonce)
        by = member if relayer == "member" else relayer

        def predict() -> bytes:
            if at > until:
                raise Refused("AuthorisationsSignatureExpired", deadline=until, now=at)
            if forged:
                raise Refused("AuthorisationsWrongSigner", enterprise=claimed, signer=signer)
            if auth_id in self.model.auths:
                raise Refused("AuthorisationsNonceUsed", enterprise=claimed, nonce=nonce)
            subject = self.model.subject_of(claimed)
            if not 1 <= purpose <= 5:
                raise Refused("AuthorisationsInvalidPurpose", purpose=purpose)
            if request.expiry <= at:
                raise Refused("AuthorisationsInvalidExpiry", expiry=request.expiry, now=at)
            self.model.require_querier(member)
            if len(limit) > 32 or ZERO in limit:
                raise Refused("AuthorisationsInvalidSchemas", count=len(limit))
            return subject

        outcome = self.expect(
            predict, lambda: type(self).ledger.authorisations.authorise(self.accounts[by], signed)
        )
        if outcome is not None:
            subject, made = outcome
            assert made.auth_id == auth_id
            self.model.auths[auth_id] = MAuth(
                subject, member, purpose, request.expiry, limit, claimed, nonce
            )
            self.touched_auths.add(auth_id)

    @precondition(lambda self: bool(self.model.auths))
    @rule(
        by=st.sampled_from(["owner"] * 4 + ["ent_a", "ent_b", "spare", "stranger", "bank_sh"]),
        pick=PICK,
        signed=st.booleans(),
        forged=st.sampled_from([False] * 7 + [True]),
        deadline=st.sampled_from(["hour", "hour", "edge", "stale"]),
        relayer=st.sampled_from(["bank_sh", "stranger", "regulator"]),
    )
    def withdraw(  # noqa: PLR0917 - hypothesis passes the drawn values by keyword
        self,
        by: str,
        pick: tuple[int, bool],
        signed: bool,
        forged: bool,
        deadline: str,
        relayer: str,
    ) -> None:
        """The subject's account withdraws an authorisation, directly or by a signed message."""
        auth_id = _pick(list(self.model.auths), pick, b"\x5a" * 32)
        a = self.model.auths.get(auth_id)
        if by == "owner":
            by = (self.model.account_of(a.subject) if a else None) or "ent_a"
        at = self.at()
        facade = type(self).ledger.authorisations
        signer = ("stranger" if by != "stranger" else "spare") if forged and signed else by
        until = self.deadline(deadline, at)

        def predict() -> None:
            if signed and at > until:
                raise Refused("AuthorisationsSignatureExpired", deadline=until, now=at)
            if signer != by:
                raise Refused("AuthorisationsWrongSigner", enterprise=by, signer=signer)
            if a is None:
                raise Refused("AuthorisationsUnknown", authId=auth_id)
            if self.model.account_of(a.subject) != by:
                raise Refused("AuthorisationsNotEnterprise", authId=auth_id, caller=by)
            if a.withdrawn_at:
                raise Refused(
                    "AuthorisationsAlreadyWithdrawn", authId=auth_id, withdrawnAt=a.withdrawn_at
                )

        def act() -> object:
            if not signed:
                return facade.withdraw(self.accounts[by], auth_id)
            message = facade.sign_withdrawal(self.accounts[signer], auth_id, deadline=until)
            message = dataclasses.replace(message, enterprise=self.addr[by])
            return facade.withdraw_by_sig(self.accounts[relayer], message)

        if self.run(predict, act) is not None:
            assert a is not None
            a.withdrawn_at = at
            self.touched_auths.add(auth_id)

    @precondition(lambda self: bool(self.model.auths))
    @rule(
        wrong=flaws("authorisation", "caller", "purpose", "query", "schema"),
        pick=PICK,
        by=st.sampled_from(["bank_sh", "bank_nj", "rater_hf", "auditor", "ent_a", "bureau"]),
        edge=EDGE,
    )
    def log_query(
        self, wrong: frozenset[str], pick: tuple[int, bool], by: str, edge: int | None
    ) -> None:
        """A member logs a credit query under an authorisation (its own, or another's),
        sometimes in the last second before the authorisation lapses, or the first after."""
        m, now = self.model, self.model.now
        # In force, or lapsing at the next block, or lapsed at the last: the boundary.
        live = [aid for aid, a in m.auths.items() if not a.withdrawn_at and a.expiry >= now]
        lapsing = [aid for aid in live if m.auths[aid].expiry <= now + 1]  # at the next block
        if "authorisation" in wrong or not live:
            auth_id = _pick(list(m.auths), pick, b"\x5b" * 32)
        else:
            auth_id = _pick(lapsing if lapsing and pick[0] % 2 else live, (pick[0], True), None)
        a = m.auths.get(auth_id)
        if "caller" not in wrong:
            by = a.member if a else "bank_sh"
        asked = a.purpose if a else 1
        if "purpose" in wrong:
            asked = (asked % 5 + 1, 0)[pick[0] % 2]
        s = type(self).schemas
        listed = a.schemas if a else ()
        if "schema" in wrong:
            queried = (ZERO, b"\x77" * 32, s["default"])[pick[0] % 3]
        else:
            queried = listed[pick[0] % len(listed)] if listed else (ZERO, s["loan"])[pick[0] % 2]
        if "query" not in wrong:
            q_hash = self.fresh_hash("query")
        elif a and a.queries and pick[0] % 2:
            q_hash = a.queries[-1]  # again
        else:
            q_hash = ZERO
        if edge is not None and a is not None:
            self.land_at(a.expiry + edge)
        at = self.at()
        qid = query_id(auth_id, q_hash)

        def predict() -> None:
            if a is None:
                raise Refused("AuthorisationsUnknown", authId=auth_id)
            if by != a.member:
                raise Refused(
                    "AuthorisationsNotGrantee", authId=auth_id, caller=by, member=a.member
                )
            self.model.require_querier(by)
            self.model.in_force(auth_id, at)
            if asked != a.purpose:
                raise Refused(
                    "AuthorisationsWrongPurpose",
                    authId=auth_id,
                    purpose=asked,
                    authorised=a.purpose,
                )
            if a.schemas and queried not in a.schemas:
                raise Refused("AuthorisationsSchemaNotAuthorised", authId=auth_id, schema=queried)
            if q_hash == ZERO:
                raise Refused("AuthorisationsInvalidQuery", queryHash=q_hash)
            if qid in self.model.queries:
                raise Refused("AuthorisationsDuplicateQuery", queryId=qid)

        made = self.run(
            predict,
            lambda: type(self).ledger.authorisations.log_query(
                self.accounts[by], auth_id, asked, q_hash, queried
            ),
        )
        if made is not None:
            assert a is not None
            assert made.query_id == qid
            self.model.queries[qid] = auth_id
            a.queries.append(q_hash)
            self.touched_queries.append(qid)

    @precondition(lambda self: bool(self.model.queries))
    @rule(
        wrong=flaws("query", "sender", "recipient", "ciphertext"),
        pick=PICK,
        by=st.sampled_from(["bank_sh", "rater_hf", "bureau", "bank_nj", "auditor", "stranger"]),
        recipient=st.sampled_from(["bank_sh", "bank_nj", "rater_hf", "bureau", "stranger"]),
    )
    def share_report(
        self, wrong: frozenset[str], pick: tuple[int, bool], by: str, recipient: str
    ) -> None:
        """An attester records a sealed report sent in answer to a logged query."""
        qids = list(self.model.queries)
        qid = _pick(qids, pick if "query" in wrong else (pick[0], True), b"\x5c" * 32)
        auth_id = self.model.queries.get(qid)
        a = self.model.auths[auth_id] if auth_id else None
        if "sender" not in wrong:
            by = ("bank_sh", "rater_hf", "bureau")[pick[0] % 3]
        if "recipient" not in wrong:
            recipient = a.member if a else "bank_sh"
        earlier = [ct for (q, ct) in self.model.shares if q == qid]
        if "ciphertext" not in wrong:
            ct = self.fresh_hash("envelope")
        elif earlier and pick[0] % 2:
            ct = earlier[-1]  # again
        else:
            ct = ZERO
        at = self.at()

        def predict() -> None:
            if a is None or auth_id is None:
                raise Refused("AuthorisationsUnknownQuery", queryId=qid)
            self.model.require(by, ATT)
            if recipient != a.member:
                raise Refused(
                    "AuthorisationsRecipientNotQuerier",
                    queryId=qid,
                    recipient=recipient,
                    member=a.member,
                )
            if recipient in self.model.suspended:
                raise Refused("ConsortiumMemberSuspended", account=recipient)
            if recipient not in KEYED:
                raise Refused("AuthorisationsNoEncryptionKey", recipient=recipient)
            self.model.in_force(auth_id, at)
            if ct == ZERO:
                raise Refused("AuthorisationsInvalidShare", ciphertextHash=ct)
            if (qid, ct) in self.model.shares:
                raise Refused("AuthorisationsDuplicateShare", queryId=qid, ciphertextHash=ct)

        if self.run(
            predict,
            lambda: type(self).ledger.authorisations.record_report_share(
                self.accounts[by], qid, self.addr[recipient], ct
            ),
        ):
            self.model.shares[qid, ct] = (by, at)
            self.touched_shares.append((qid, ct))

    # -- disputes ---------------------------------------------------------------------
    @precondition(lambda self: bool(self.model.records))
    @rule(
        wrong=flaws(
            "record", "again", "raiser", "fields", "reason", "forged", "deadline", "replay"
        ),
        pick=PICK,
        signed=st.booleans(),
        relayer=st.sampled_from(["bureau", "bank_sh", "stranger"]),
    )
    def raise_dispute(
        self, wrong: frozenset[str], pick: tuple[int, bool], signed: bool, relayer: str
    ) -> None:
        """An enterprise (or anyone) disputes a record, directly or by a signed message."""
        m = self.model
        disputable = [
            uid
            for uid, r in m.records.items()
            if not r.revoked_at
            and r.replaced_by == ZERO
            and not r.dispute_deadline
            and uid not in m.record_disputes
            and m.account_of(r.subject)
        ]
        answered = [
            uid
            for uid, n in m.record_disputes.items()
            if m.disputes[n - 1].status is DisputeStatus.REJECTED
        ]
        if "again" in wrong and answered:  # a rejected dispute raised again, endlessly
            uid = _pick(answered, (pick[0], True), None)
        elif "record" in wrong or not disputable:
            uid = _pick(list(m.records), pick, b"\x5d" * 32)
        else:
            uid = _pick(disputable, (pick[0], True), None)
        r = m.records.get(uid)
        raiser = (m.account_of(r.subject) if r else None) or "ent_a"
        if "raiser" in wrong:
            raiser = [w for w in ("ent_a", "ent_b", "spare", "stranger", "bank_sh") if w != raiser][
                pick[0] % 4
            ]
        fields = r.fields if r else AttestationFields(SUBJECT_A, b"\x66" * 32, ZERO)
        if "fields" in wrong:
            fields = dataclasses.replace(fields, data_hash=b"\x66" * 32)
        reason = "reason" not in wrong
        forged = "forged" in wrong
        deadline = "stale" if "deadline" in wrong else ("hour", "edge")[pick[0] % 2]
        replay = "replay" in wrong
        reason_hash = self.fresh_hash("reason") if reason else ZERO
        at = self.at()
        until = self.deadline(deadline, at)
        signer = ("stranger" if raiser != "stranger" else "spare") if forged and signed else raiser
        used = [n for who, n in self.model.dispute_nonces if who == raiser]
        nonce = used[0] if replay and used else self.fresh()
        facade = type(self).ledger.disputes

        def predict() -> None:
            if signed:
                if at > until:
                    raise Refused("DisputesSignatureExpired", deadline=until, now=at)
                if signer != raiser:
                    raise Refused("DisputesWrongSigner", enterprise=raiser, signer=signer)
                if (raiser, nonce) in self.model.dispute_nonces:
                    raise Refused("DisputesNonceUsed", enterprise=raiser, nonce=nonce)
            if reason_hash == ZERO:
                raise Refused("DisputesInvalidReason", reasonHash=reason_hash)
            earlier = self.model.record_disputes.get(uid)
            if earlier is not None:
                was = self.model.disputes[earlier - 1].status
                if was is DisputeStatus.OPEN:
                    raise Refused("DisputesAlreadyOpen", uid=uid, disputeId=earlier)
                if was is DisputeStatus.REJECTED:
                    raise Refused("DisputesAlreadyAnswered", uid=uid, disputeId=earlier)
            if r is None:
                raise Refused("DisputesUnknownAttestation", uid=uid)
            if r.revoked_at:
                raise Refused("DisputesNotDisputable", uid=uid, validity=int(Validity.REVOKED))
            if r.replaced_by != ZERO:
                raise Refused("DisputesNotDisputable", uid=uid, validity=int(Validity.REPLACED))
            if fields != r.fields:
                raise Refused("DisputesFieldsMismatch", uid=uid)
            # Only the subject's bound account: another's, an unbound one and a member alike.
            if self.model.account_of(r.subject) != raiser:
                raise Refused("DisputesNotSubject", uid=uid, caller=raiser)

        def act() -> Any:
            if not signed:
                return facade.raise_dispute(self.accounts[raiser], uid, fields, reason_hash)
            message = dispute_message(uid, reason_hash, self.addr[raiser], nonce, until)
            signature = sign_typed(
                self.accounts[signer],
                self.dispute_domain,
                RAISE_DISPUTE_TYPES,
                "RaiseDispute",
                message,
            )
            relayed = SignedDispute(
                uid, fields, Hash32(reason_hash), self.addr[raiser], nonce, until, signature
            )
            return facade.relay_dispute(self.accounts[relayer], relayed)

        made = self.run(predict, act)
        if made is not None:
            assert r is not None
            assert made.dispute_id == len(self.model.disputes) + 1
            deadline_at = at + DISPUTE_RESOLUTION_PERIOD
            self.model.disputes.append(
                MDispute(uid, r.attester, deadline_at, raiser, r.subject, reason_hash)
            )
            self.model.open_disputes[uid] = made.dispute_id
            self.model.record_disputes[uid] = made.dispute_id
            r.dispute_deadline = deadline_at
            if signed:
                self.model.dispute_nonces.append((raiser, nonce))
            self.touched_records.add(uid)
            self.touched_disputes.add(made.dispute_id)

    @precondition(lambda self: bool(self.model.disputes))
    @rule(
        wrong=flaws("dispute", "resolver", "answer"),
        pick=PICK,
        by=st.sampled_from(["bank_sh", "rater_hf", "bureau", "ent_a", "stranger"]),
        uphold=st.booleans(),
        edge=EDGE,
    )
    def resolve(
        self, wrong: frozenset[str], pick: tuple[int, bool], by: str, uphold: bool, edge: int | None
    ) -> None:
        """The attester or a regulator (or anyone else) rejects or upholds a dispute,
        sometimes in the last second before its deadline, or the first after."""
        ids = list(range(1, len(self.model.disputes) + 1))
        still_open = [n for n in ids if self.model.disputes[n - 1].status is DisputeStatus.OPEN]
        if "dispute" in wrong or not still_open:
            dispute_id = _pick(ids, pick, 999)
        else:
            dispute_id = _pick(still_open, (pick[0], True), None)
        d = self.model.disputes[dispute_id - 1] if dispute_id <= len(ids) else None
        if "resolver" not in wrong:
            by = "regulator" if pick[0] % 4 == 0 else d.attester if d else "bureau"
        answer_hash = ZERO if "answer" in wrong else self.fresh_hash("answer")
        if edge is not None and d is not None:
            self.land_at(d.deadline + edge)
        at = self.at()
        facade = type(self).ledger.disputes

        def predict() -> None:
            if not uphold and answer_hash == ZERO:
                raise Refused("DisputesInvalidReason", reasonHash=answer_hash)
            if d is None:
                raise Refused("DisputesUnknown", disputeId=dispute_id)
            if d.status is not DisputeStatus.OPEN:
                raise Refused("DisputesNotOpen", disputeId=dispute_id, status=int(d.status))
            if by == d.attester:
                self.model.require(by, ATT)
            elif not self.model.has(by, REG):
                raise Refused(
                    "DisputesNotResolver", disputeId=dispute_id, caller=by, attester=d.attester
                )
            r = self.model.records[d.uid]
            corrected = bool(r.revoked_at) or r.replaced_by != ZERO
            if uphold and not corrected:
                raise Refused("DisputesNotCorrected", disputeId=dispute_id, uid=d.uid)
            if not uphold and corrected:
                raise Refused("DisputesAlreadyCorrected", disputeId=dispute_id, uid=d.uid)

        def act() -> Any:
            if uphold:
                return facade.uphold(self.accounts[by], dispute_id, answer_hash)
            return facade.reject(self.accounts[by], dispute_id, answer_hash)

        tx = self.run(predict, act)
        if tx is not None:
            assert d is not None
            r = self.model.records[d.uid]
            d.status = DisputeStatus.UPHELD if uphold else DisputeStatus.REJECTED
            d.resolved_at, d.resolver, d.late = at, by, at >= d.deadline
            del self.model.open_disputes[d.uid]
            r.dispute_deadline = 0
            event = tx.event("DisputeUpheld" if uphold else "DisputeRejected")
            assert event.args["late"] is d.late, (d, event.args)
            assert event.args["resolver"] == self.addr[by]
            if uphold:
                assert event.args["replacedBy"] == r.replaced_by
            self.touched_records.add(d.uid)
            self.touched_disputes.add(dispute_id)

    # -- complaints to the regulator (投诉, art. 26) -------------------------------------
    @precondition(lambda self: bool(self.model.disputes))
    @rule(
        wrong=flaws("dispute", "filer", "reason", "forged", "deadline", "replay"),
        pick=PICK,
        signed=st.booleans(),
        relayer=st.sampled_from(["bureau", "bank_sh", "stranger"]),
        edge=EDGE,
    )
    def file_complaint(
        self,
        wrong: frozenset[str],
        pick: tuple[int, bool],
        signed: bool,
        relayer: str,
        edge: int | None,
    ) -> None:
        """The subject (or anyone) complains of a dispute's rejection or overdue silence,
        directly or by a signed message; sometimes just before or at the deadline."""
        m = self.model
        ids = list(range(1, len(m.disputes) + 1))
        complainable = [
            n
            for n in ids
            if not m.disputes[n - 1].complained
            and m.disputes[n - 1].status is not DisputeStatus.UPHELD
        ]
        if "dispute" in wrong or not complainable:
            dispute_id = _pick(ids, pick, 999)
        else:
            dispute_id = _pick(complainable, (pick[0], True), None)
        d = m.disputes[dispute_id - 1] if dispute_id <= len(ids) else None
        if edge is not None and d is not None and d.status is DisputeStatus.OPEN:
            self.land_at(d.deadline + edge)
        filer = (m.account_of(d.subject) if d else None) or "ent_a"
        if "filer" in wrong:
            filer = [w for w in ("ent_a", "ent_b", "spare", "stranger", "bureau") if w != filer][
                pick[0] % 4
            ]
        reason_hash = ZERO if "reason" in wrong else self.fresh_hash("complaint")
        at = self.at()
        until = self.deadline("stale" if "deadline" in wrong else "hour", at)
        signer = ("stranger" if filer != "stranger" else "spare") if "forged" in wrong else filer
        used = [n for who, n in m.dispute_nonces if who == filer]
        nonce = used[0] if "replay" in wrong and used else self.fresh()
        facade = type(self).ledger.disputes

        def predict() -> None:
            if signed:
                if at > until:
                    raise Refused("DisputesSignatureExpired", deadline=until, now=at)
                if signer != filer:
                    raise Refused("DisputesWrongSigner", enterprise=filer, signer=signer)
                if (filer, nonce) in m.dispute_nonces:
                    raise Refused("DisputesNonceUsed", enterprise=filer, nonce=nonce)
            if reason_hash == ZERO:
                raise Refused("DisputesInvalidReason", reasonHash=reason_hash)
            if d is None:
                raise Refused("DisputesUnknown", disputeId=dispute_id)
            if m.account_of(d.subject) != filer:
                raise Refused("DisputesNotSubject", uid=d.uid, caller=filer)
            if d.status is DisputeStatus.UPHELD or (
                d.status is DisputeStatus.OPEN and at < d.deadline
            ):
                raise Refused("DisputesNotComplainable", disputeId=dispute_id, status=int(d.status))
            if d.complained:
                raise Refused("DisputesComplaintExists", disputeId=dispute_id)

        def act() -> Any:
            if not signed:
                return facade.file_complaint(self.accounts[filer], dispute_id, reason_hash)
            message = complaint_message(dispute_id, reason_hash, self.addr[filer], nonce, until)
            signature = sign_typed(
                self.accounts[signer],
                self.dispute_domain,
                FILE_COMPLAINT_TYPES,
                "FileComplaint",
                message,
            )
            relayed = SignedComplaint(
                dispute_id, Hash32(reason_hash), self.addr[filer], nonce, until, signature
            )
            return facade.relay_complaint(self.accounts[relayer], relayed)

        made = self.run(predict, act)
        if made is not None:
            assert d is not None
            assert made.complaint_id == len(m.complaints) + 1
            m.complaints.append(MComplaint(dispute_id, at, filer, reason_hash))
            d.complained = True
            if signed:
                m.dispute_nonces.append((filer, nonce))
            self.touched_disputes.add(dispute_id)
            self.touched_complaints.add(made.complaint_id)

    @precondition(lambda self: bool(self.model.open_complaints()))
    @rule(
        wrong=flaws("complaint", "resolver", "reply", "outcome"),
        pick=PICK,
        by=st.sampled_from(["bureau", "bank_sh", "rater_hf", "auditor", "ent_a", "stranger"]),
        upheld=st.booleans(),
    )
    def resolve_complaint(
        self, wrong: frozenset[str], pick: tuple[int, bool], by: str, upheld: bool
    ) -> None:
        """A regulator (or anyone else) resolves a complaint: upheld, once the record is
        corrected, or rejected; an open dispute of it is answered the same way."""
        m = self.model
        ids = list(range(1, len(m.complaints) + 1))
        still_open = m.open_complaints()
        if "complaint" in wrong or not still_open:
            complaint_id = _pick(ids, pick, 999)
        else:
            complaint_id = _pick(still_open, (pick[0], True), None)
        c = m.complaints[complaint_id - 1] if complaint_id <= len(ids) else None
        d = m.disputes[c.dispute_id - 1] if c else None
        if "resolver" not in wrong:
            by = "regulator"
        if "outcome" not in wrong and d is not None:
            upheld = m.corrected(d.uid)
        reply = ZERO if "reply" in wrong else self.fresh_hash("reply")
        at = self.at()
        facade = type(self).ledger.disputes

        def predict() -> None:
            if not m.has(by, REG):
                raise Refused("DisputesNotRegulator", complaintId=complaint_id, caller=by)
            if c is None:
                raise Refused("DisputesUnknownComplaint", complaintId=complaint_id)
            if c.status is not ComplaintStatus.OPEN:
                raise Refused(
                    "DisputesComplaintNotOpen", complaintId=complaint_id, status=int(c.status)
                )
            if reply == ZERO:
                raise Refused("DisputesInvalidReason", reasonHash=reply)
            assert d is not None
            corrected = m.corrected(d.uid)
            if upheld and not corrected:
                raise Refused("DisputesNotCorrected", disputeId=c.dispute_id, uid=d.uid)
            if not upheld and corrected:
                raise Refused("DisputesAlreadyCorrected", disputeId=c.dispute_id, uid=d.uid)

        tx = self.run(
            predict,
            lambda: facade.resolve_complaint(self.accounts[by], complaint_id, upheld, reply),
        )
        if tx is not None:
            assert c is not None
            assert d is not None
            c.status = ComplaintStatus.UPHELD if upheld else ComplaintStatus.REJECTED
            c.resolved_at, c.regulator, c.upheld = at, by, upheld
            names = [e.name for e in tx.events]
            if d.status is DisputeStatus.OPEN:  # the regulator's reply answers it too
                d.status = DisputeStatus.UPHELD if upheld else DisputeStatus.REJECTED
                d.resolved_at, d.resolver, d.late = at, by, at >= d.deadline
                del m.open_disputes[d.uid]
                m.records[d.uid].dispute_deadline = 0
                assert names == [
                    "DisputeUpheld" if upheld else "DisputeRejected",
                    "ComplaintResolved",
                ]
                self.touched_records.add(d.uid)
            else:
                assert names == ["ComplaintResolved"]
            assert tx.event("ComplaintResolved").args["regulator"] == self.addr[by]
            self.touched_disputes.add(c.dispute_id)
            self.touched_complaints.add(complaint_id)

    # -- standing, accounts and the clock ---------------------------------------------
    @rule(who=st.sampled_from(SUSPENDABLE), suspend=st.sampled_from([True, False, False]))
    def standing(self, who: str, suspend: bool) -> None:
        """A regulator suspends or reinstates a member."""
        c, regulator = type(self).ledger.consortium, self.accounts["regulator"]
        if suspend and who not in self.model.suspended:
            c.suspend_member(regulator, self.addr[who])
            self.model.suspended.add(who)
        elif not suspend and who in self.model.suspended:
            c.reinstate_member(regulator, self.addr[who])
            self.model.suspended.discard(who)
        else:
            return
        count_step(MACHINE)
        self.steps += 1
        self.model.now = type(self).chain.now()

    @rule(subject=st.sampled_from([SUBJECT_A, SUBJECT_B]), n=st.integers(0, 3))
    def rebind(self, subject: bytes, n: int) -> None:
        """The registrar binds a subject to a new account (a lost key): the old one is free."""
        free = [who for who in OUTSIDERS if who not in self.model.bound]
        to = free[n % len(free)]

        def predict() -> None:
            self.model.require("bureau", REGISTRAR)

        if self.run(
            predict,
            lambda: type(self).ledger.consortium.rebind_enterprise(
                self.accounts["bureau"], subject, self.addr[to]
            ),
        ):
            old = self.model.account_of(subject)
            assert old is not None
            del self.model.bound[old]
            self.model.bound[to] = subject

    @rule(
        kind=st.sampled_from(["seconds", "deadline", "deadline", "expiry", "expiry", "days"]),
        n=st.integers(0, 10_000),
        offset=st.integers(-2, 1),
    )
    def time_passes(self, kind: str, n: int, offset: int) -> None:
        """The clock moves: a few seconds, days, or to either side of a dispute's deadline or
        an authorisation's expiry (the latest block at ``offset`` seconds from it)."""
        now = type(self).chain.now()
        open_deadlines = [d.deadline for d in self.model.disputes if d.status is DisputeStatus.OPEN]
        expiries = [a.expiry for a in self.model.auths.values() if not a.withdrawn_at]
        target = now + 1 + n % 30
        if kind == "days":
            target = now + (1 + n % 25) * DAY
        elif kind == "deadline" and open_deadlines:
            target = open_deadlines[n % len(open_deadlines)] + offset
        elif kind == "expiry" and expiries:
            target = expiries[n % len(expiries)] + offset
        if target <= now:
            target = now + 1
        type(self).chain.advance_time(target - now)
        count_step(MACHINE)
        self.steps += 1
        self.model.now = type(self).chain.now()
        assert self.model.now == target
        self.clock_moved = True

    # -- invariants -------------------------------------------------------------------
    @invariant()
    def chain_views_equal_the_model(self) -> None:
        d = type(self).ledger.disputes
        assert type(self).chain.now() == self.model.now
        assert d.dispute_count() == len(self.model.disputes)
        assert [x.dispute_id for x in d.overdue_disputes()] == self.model.overdue()
        assert d.complaint_count() == len(self.model.complaints)
        assert [c.complaint_id for c in d.open_complaints()] == self.model.open_complaints()
        full = self.steps % FULL_SWEEP_EVERY == 0
        auths = self.model.auths if full else self.touched_auths
        records = self.model.records if full else self.touched_records
        dispute_ids = range(1, len(self.model.disputes) + 1) if full else self.touched_disputes
        for auth_id in auths:
            self.compare_authorisation(auth_id)
        for uid in records:
            self.compare_record(uid)
        if self.clock_moved and not full:  # only validity depends on the clock
            att = type(self).ledger.attestations
            for uid in self.model.records.keys() - records:
                assert att.validity(uid) is self.model.validity(uid), uid.hex()
        for dispute_id in dispute_ids:
            self.compare_dispute(dispute_id)
        complaint_ids = (
            range(1, len(self.model.complaints) + 1) if full else self.touched_complaints
        )
        for complaint_id in complaint_ids:
            self.compare_complaint(complaint_id)
        if full or self.clock_moved:
            for attester in ("bureau", "rater_hf", "bank_sh"):
                listed = [x.dispute_id for x in d.overdue_disputes(self.addr[attester])]
                assert listed == self.model.overdue(attester), attester
        for qid in self.touched_queries:
            assert (
                type(self).ledger.authorisations.query_authorisation(qid)
                == (self.model.queries[qid])
            )
        for share in self.touched_shares:
            self.compare_share(*share)
        self.touched_queries.clear()
        self.touched_shares.clear()
        self.touched_auths.clear()
        self.touched_records.clear()
        self.touched_disputes.clear()
        self.touched_complaints.clear()
        self.clock_moved = False

    def compare_authorisation(self, auth_id: bytes) -> None:
        a = self.model.auths[auth_id]
        on_chain = type(self).ledger.authorisations.authorisation(auth_id)
        assert on_chain is not None
        assert (
            on_chain.subject,
            on_chain.member,
            int(on_chain.purpose),
            on_chain.expiry,
            on_chain.withdrawn_at,
            on_chain.schema_limited,
        ) == (a.subject, self.addr[a.member], a.purpose, a.expiry, a.withdrawn_at, bool(a.schemas))

    def compare_share(self, qid: bytes, ct: bytes) -> None:
        sender, shared_at = self.model.shares[qid, ct]
        share = type(self).ledger.authorisations.report_share(qid, ct)
        assert share is not None
        assert (share.sender, share.shared_at) == (self.addr[sender], shared_at)

    def compare_record(self, uid: bytes) -> None:
        att, dis = type(self).ledger.attestations, type(self).ledger.disputes
        r = self.model.records[uid]
        assert att.validity(uid) is self.model.validity(uid), uid.hex()
        assert att.dispute_deadline(uid) == r.dispute_deadline
        assert dis.open_dispute(uid) == self.model.open_disputes.get(uid)

    def compare_dispute(self, dispute_id: int) -> None:
        want = self.model.disputes[dispute_id - 1]
        got = type(self).ledger.disputes.dispute(dispute_id)
        assert got is not None
        assert (got.uid, got.attester, got.deadline, got.resolved_at, got.status) == (
            want.uid,
            self.addr[want.attester],
            want.deadline,
            want.resolved_at,
            want.status,
        )
        assert (got.subject, got.complained) == (want.subject, want.complained)

    def compare_complaint(self, complaint_id: int) -> None:
        want = self.model.complaints[complaint_id - 1]
        got = type(self).ledger.disputes.complaint(complaint_id)
        assert got is not None
        assert (got.dispute_id, got.filed_at, got.resolved_at, got.status) == (
            want.dispute_id,
            want.filed_at,
            want.resolved_at,
            want.status,
        )

    def teardown(self) -> None:
        """Every view of everything, the nonces and the event projection, once per run."""
        cls = type(self)
        att, dis = cls.ledger.authorisations, cls.ledger.disputes
        for auth_id, a in self.model.auths.items():
            self.compare_authorisation(auth_id)
            assert att.nonce_used(self.addr[a.enterprise], a.nonce)
            for schema in (*cls.schemas.values(), b"\x77" * 32):
                assert att.schema_authorised(auth_id, schema) is (schema in a.schemas)
        assert not att.nonce_used(self.addr["ent_a"], 0)
        assert att.authorisation(b"\x5a" * 32) is None
        for qid, auth_id in self.model.queries.items():
            assert att.query_authorisation(qid) == auth_id
        assert att.query_authorisation(b"\x5c" * 32) is None
        for qid, ct in self.model.shares:
            self.compare_share(qid, ct)
        for uid in self.model.records:
            self.compare_record(uid)
        for dispute_id in range(1, len(self.model.disputes) + 1):
            self.compare_dispute(dispute_id)
        assert dis.dispute(len(self.model.disputes) + 1) is None
        for complaint_id in range(1, len(self.model.complaints) + 1):
            self.compare_complaint(complaint_id)
        assert dis.complaint(len(self.model.complaints) + 1) is None
        for who, nonce in self.model.dispute_nonces:
            assert dis.nonce_used(self.addr[who], nonce)
        self.compare_projection()

    def compare_projection(self) -> None:
        """The consent event index, fed the whole run, tells the model's story."""
        log = ConsentLog(type(self).ledger)
        try:
            log.follow()
            for subject in (SUBJECT_A, SUBJECT_B):
                mine = [aid for aid, a in self.model.auths.items() if a.subject == subject]
                indexed = log.authorisations_of_subject(subject)
                assert [e.auth_id for e in indexed] == mine
                for e in indexed:
                    a = self.model.auths[e.auth_id]
                    assert (e.member, int(e.purpose), e.expiry, e.schemas, e.withdrawn_at) == (
                        self.addr[a.member],
                        a.purpose,
                        a.expiry,
                        a.schemas,
                        a.withdrawn_at,
                    )
                    assert e.enterprise == self.addr[a.enterprise]
                queried = [q for q, aid in self.model.queries.items() if aid in mine]
                assert [q.query_id for q in log.queries_of_subject(subject)] == queried
            with log.index.reading() as db:
                listed = disputes(db)
            assert [e.dispute_id for e in listed] == list(range(1, len(self.model.disputes) + 1))
            for d, want in zip(listed, self.model.disputes, strict=True):
                assert (d.uid, d.status, d.deadline, d.resolved_at, d.late) == (
                    want.uid,
                    want.status,
                    want.deadline,
                    want.resolved_at,
                    want.late,
                )
                assert (d.raised_by, d.subject, d.reason_hash) == (
                    self.addr[want.raised_by],
                    want.subject,
                    want.reason,
                )
                resolver = self.addr[want.resolver] if want.resolver else None
                assert d.resolver == resolver
            with log.index.reading() as db:
                filed = complaints(db)
            assert [e.complaint_id for e in filed] == list(range(1, len(self.model.complaints) + 1))
            for f, c in zip(filed, self.model.complaints, strict=True):
                assert (f.dispute_id, f.filed_at, f.filed_by, f.reason_hash, f.status) == (
                    c.dispute_id,
                    c.filed_at,
                    self.addr[c.filed_by],
                    c.reason,
                    c.status,
                )
                regulator = self.addr[c.regulator] if c.regulator else None
                assert (f.resolved_at, f.regulator) == (c.resolved_at, regulator)
        finally:
            log.close()


@pytest.mark.slow
def test_authorisations_and_disputes_match_their_model() -> None:
    chain = connect("embedded", genesis_timestamp=GENESIS, block_time=1)
    ring = Keyring("model-consent")
    regulator = ring.account("regulator")
    chain.fund(regulator.address)
    ledger = deploy(chain, regulator)
    for label in ACTORS[1:]:
        chain.fund(ring.account(label).address)
    for label, (city, roles) in MEMBERS.items():
        ledger.consortium.admit_member(regulator, ring.account(label).address, label, city, roles)
    for label in KEYED:
        ledger.consortium.publish_encryption_key(ring.account(label), keccak256(label.encode()))
    bureau = ring.account("bureau")
    ledger.consortium.bind_enterprise(bureau, ring.account("ent_a").address, SUBJECT_A)
    ledger.consortium.bind_enterprise(bureau, ring.account("ent_b").address, SUBJECT_B)
    ConsentMachine.chain, ConsentMachine.ledger, ConsentMachine.ring = chain, ledger, ring
    ConsentMachine.schemas = {
        "loan": schema_id(ledger.schemas["loan-repayment"]),
        "default": schema_id(ledger.schemas["receivable-default"]),
    }
    ConsentMachine.snapshot = chain.snapshot()
    try:
        run_state_machine_as_test(ConsentMachine, settings=machine_settings(EXAMPLES, STEPS))
    finally:
        chain.close()
    FINISHED.add(MACHINE)
