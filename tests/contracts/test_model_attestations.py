"""The attestation contract against a reference model (hypothesis stateful).

Random attestations (good and bad schemas, subjects, hashes, expiries and
references), revocations, replacements, suspensions and time travel, by
attesters, a regulator, a member without the attester role and a stranger.
After every step each UID's validity on chain equals the model's; every
refusal the model predicts is the chain's named error, arguments included.
The chain's clock is pinned (one second per block) so the model knows the
time of the next block exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger_client import Chain, Keyring, Ledger, Role, connect, deploy
from ledger_client.contracts.attestations import compute_uid, schema_id
from ledger_client.types import AttestationFields, Validity
from tests.model_support import (
    FINISHED,
    STEP_COUNTS,
    Refused,
    budget,
    count_step,
    expect,
    machine_settings,
)

MACHINE = "attestations"
R = TypeVar("R")  # what a step's act returns
EXAMPLES, STEPS = budget(
    120,
    40,
    examples_env=("ATTESTATIONS_MODEL_EXAMPLES",),
    steps_env=("ATTESTATIONS_MODEL_STEPS",),
)
ZERO = bytes(32)
ATTESTERS = ["attester0", "attester1"]
ACTORS = [*ATTESTERS, "financier", "stranger", "regulator"]
#: Non-zero record hashes. Hypothesis shrinks bytes towards all zeros, and a zero
#: hash is refused; zero is drawn on purpose, and less often, where it belongs.
HASHES = st.integers(min_value=1, max_value=2**256 - 1).map(lambda n: n.to_bytes(32, "big"))


@dataclass
class Att:
    schema: bytes
    subject: bytes
    data: bytes
    ref: bytes
    attester: str
    at: int
    expiry: int
    revoked_at: int = 0
    replaced_by: bytes = ZERO


@dataclass
class Model:
    revocable: dict[bytes, bool]
    roles: dict[str, int]
    suspended: set[str] = field(default_factory=set)
    atts: dict[bytes, Att] = field(default_factory=dict)
    now: int = 0

    def require(self, who: str, role: int) -> None:
        if self.roles.get(who, 0) & role != role:
            raise Refused("ConsortiumUnauthorized", account=who, role=role)
        if who in self.suspended:
            raise Refused("ConsortiumMemberSuspended", account=who)

    def has(self, who: str, role: int) -> bool:
        return self.roles.get(who, 0) & role == role and who not in self.suspended

    def attest_checks(  # noqa: PLR0917 - the contract's own argument list
        self, schema: bytes, subject: bytes, data: bytes, expiry: int, ref: bytes, at: int
    ) -> None:
        if ZERO in (subject, data):
            raise Refused("AttestationsInvalidRecord", subject=subject, dataHash=data)
        if schema not in self.revocable:
            raise Refused("SchemaRegistryUnknownSchema", schema=schema)
        if expiry != 0 and expiry <= at:
            raise Refused("AttestationsInvalidExpiry", expiry=expiry, now=at)
        if ref != ZERO and ref not in self.atts:
            raise Refused("AttestationsUnknownReference", refUID=ref)

    def validity(self, uid: bytes) -> Validity:
        a = self.atts.get(uid)
        if a is None:
            return Validity.UNKNOWN
        if a.revoked_at:
            return Validity.REVOKED
        if a.replaced_by != ZERO:
            return Validity.REPLACED
        if a.expiry != 0 and a.expiry <= self.now:
            return Validity.EXPIRED
        return Validity.VALID


class AttestationsMachine(RuleBasedStateMachine):
    chain: Chain
    ledger: Ledger
    ring: Keyring
    snapshot: object

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        cls.chain.revert(cls.snapshot)
        a = cls.ledger.attestations
        loan = schema_id(cls.ledger.schemas["loan-repayment"])
        default = schema_id(cls.ledger.schemas["receivable-default"])
        self.schemas = [loan, default, b"\x77" * 32]
        roles = {f"attester{i}": int(Role.ATTESTER) for i in range(2)}
        roles |= {"financier": int(Role.FINANCIER), "regulator": int(Role.REGULATOR)}
        self.model = Model({loan: True, default: False}, roles, now=cls.chain.now())
        self.addr = {label: cls.ring.account(label).address for label in ACTORS}
        del a

    def acct(self, label: str) -> LocalAccount:
        return type(self).ring.account(label)

    def run(self, predict: Callable[[], object], act: Callable[[], R]) -> R | None:
        """Predict, act, compare; then the model's clock is the chain's. What ``act``
        returned, or None for a refusal."""
        try:
            outcome = expect(MACHINE, predict, act, show=self.show)
        finally:
            self.model.now = type(self).chain.now()
        return None if outcome is None else outcome[1]

    def show(self, value: object) -> object:
        """An actor's label as its address; any other value as it is."""
        return self.addr.get(value, value) if isinstance(value, str) else value

    def _record(self, made_uid: bytes, att: Att) -> None:
        fields = AttestationFields(att.subject, att.data, att.ref)
        assert made_uid == compute_uid(
            att.schema, fields, self.addr[att.attester], att.at, att.expiry
        )
        self.model.atts[made_uid] = att

    def _uid(self, i: int, known: bool) -> bytes:
        uids = list(self.model.atts)
        return uids[i % len(uids)] if known and uids else bytes([0x42]) * 32

    @rule(
        by=st.sampled_from([*ATTESTERS, *ATTESTERS, *ACTORS]),
        s=st.sampled_from([0, 0, 1, 2]),
        subject=st.sampled_from([*(bytes([k]) * 32 for k in (1, 2, 3) for _ in range(3)), ZERO]),
        data=st.tuples(HASHES, st.sampled_from([False] * 9 + [True])).map(
            lambda drawn: ZERO if drawn[1] else drawn[0]  # a zero hash one time in ten
        ),
        expiry_kind=st.sampled_from(["none", "soon", "later", "past"]),
        ref_kind=st.sampled_from(["none", "known", "unknown"]),
        i=st.integers(0, 50),
    )
    def attest(  # noqa: PLR0917 - hypothesis passes the drawn values by keyword
        self, by: str, s: int, subject: bytes, data: bytes, expiry_kind: str, ref_kind: str, i: int
    ) -> None:
        at = type(self).chain.now() + 1  # the next block, one second on (pinned clock)
        expiry = {"none": 0, "soon": at + 5, "later": at + 500, "past": at - 1}[expiry_kind]
        ref = ZERO if ref_kind == "none" else self._uid(i, ref_kind == "known")
        schema = self.schemas[s]

        def predict() -> None:
            self.model.require(by, int(Role.ATTESTER))
            self.model.attest_checks(schema, subject, data, expiry, ref, at)

        made = self.run(
            predict,
            lambda: type(self).ledger.attestations.attest(
                self.acct(by), schema, subject, data, expiry=expiry, ref_uid=ref
            ),
        )
        if made is not None:
            self._record(made.uid, Att(schema, subject, data, ref, by, at, expiry))

    @precondition(lambda self: bool(self.model.atts))
    @rule(
        by=st.sampled_from([*ATTESTERS, *ACTORS]),
        i=st.integers(0, 50),
        known=st.sampled_from([True, True, True, False]),
    )
    def revoke(self, by: str, i: int, known: bool) -> None:
        uid = self._uid(i, known)
        at = type(self).chain.now() + 1

        def predict() -> None:
            a = self.model.atts.get(uid)
            if a is None:
                raise Refused("AttestationsUnknown", uid=uid)
            if not self.model.revocable[a.schema]:
                raise Refused("AttestationsNotRevocable", uid=uid, schema=a.schema)
            if by == a.attester:
                self.model.require(by, int(Role.ATTESTER))
            elif not self.model.has(by, int(Role.REGULATOR)):
                raise Refused("AttestationsNotAttester", uid=uid, caller=by, attester=a.attester)
            if a.revoked_at:
                raise Refused("AttestationsAlreadyRevoked", uid=uid, revokedAt=a.revoked_at)

        revoked = self.run(
            predict, lambda: type(self).ledger.attestations.revoke(self.acct(by), uid)
        )
        if revoked is not None:
            self.model.atts[uid].revoked_at = at

    @precondition(lambda self: bool(self.model.atts))
    @rule(
        by=st.sampled_from([*ATTESTERS, *ACTORS]),
        i=st.integers(0, 50),
        right_fields=st.sampled_from([True, True, True, False]),
        data=HASHES,
    )
    def replace(self, by: str, i: int, right_fields: bool, data: bytes) -> None:
        uid = self._uid(i, True)
        a = self.model.atts.get(uid)
        if a is None:
            return
        fields = AttestationFields(a.subject if right_fields else b"\x09" * 32, a.data, a.ref)
        at = type(self).chain.now() + 1

        def predict() -> None:
            if by != a.attester:
                raise Refused("AttestationsNotAttester", uid=uid, caller=by, attester=a.attester)
            self.model.require(by, int(Role.ATTESTER))
            if not right_fields:
                raise Refused("AttestationsFieldsMismatch", uid=uid)
            if a.revoked_at:
                raise Refused("AttestationsAlreadyRevoked", uid=uid, revokedAt=a.revoked_at)
            if a.replaced_by != ZERO:
                raise Refused("AttestationsAlreadyReplaced", uid=uid, replacedBy=a.replaced_by)
            self.model.attest_checks(a.schema, a.subject, data, 0, uid, at)

        made = self.run(
            predict,
            lambda: type(self).ledger.attestations.replace(self.acct(by), uid, fields, data),
        )
        if made is not None:
            self._record(made.uid, Att(a.schema, a.subject, data, uid, by, at, 0))
            a.replaced_by = made.uid

    @rule(who=st.sampled_from(ATTESTERS), suspend=st.sampled_from([True, False, False]))
    def standing(self, who: str, suspend: bool) -> None:
        c = type(self).ledger.consortium
        regulator = self.acct("regulator")
        if suspend and who not in self.model.suspended:
            c.suspend_member(regulator, self.addr[who])
            self.model.suspended.add(who)
            count_step(MACHINE)
        elif not suspend and who in self.model.suspended:
            c.reinstate_member(regulator, self.addr[who])
            self.model.suspended.discard(who)
            count_step(MACHINE)
        self.model.now = type(self).chain.now()

    @precondition(lambda self: bool(self.model.atts))
    @rule(seconds=st.integers(1, 20))
    def time_passes(self, seconds: int) -> None:
        type(self).chain.advance_time(seconds)
        count_step(MACHINE)
        self.model.now = type(self).chain.now()

    @invariant()
    def validity_matches(self) -> None:
        a = type(self).ledger.attestations
        for uid in [*self.model.atts, bytes([0x42]) * 32]:
            assert a.validity(uid) is self.model.validity(uid), uid.hex()


@pytest.mark.slow
def test_attestations_match_their_model() -> None:
    chain = connect("embedded", genesis_timestamp=1_767_225_600, block_time=1)
    ring = Keyring("model-attestations")
    regulator = ring.account("regulator")
    chain.fund(regulator.address)
    ledger = deploy(chain, regulator)
    for label, roles in (
        ("attester0", Role.ATTESTER),
        ("attester1", Role.ATTESTER),
        ("financier", Role.FINANCIER),
    ):
        chain.fund(ring.account(label).address)
        ledger.consortium.admit_member(regulator, ring.account(label).address, label, 2, roles)
    chain.fund(ring.account("stranger").address)
    AttestationsMachine.chain, AttestationsMachine.ledger = chain, ledger
    AttestationsMachine.ring = ring
    AttestationsMachine.snapshot = chain.snapshot()
    before = STEP_COUNTS[MACHINE]
    run_state_machine_as_test(AttestationsMachine, settings=machine_settings(EXAMPLES, STEPS))
    assert STEP_COUNTS[MACHINE] - before > EXAMPLES
    FINISHED.add(MACHINE)
