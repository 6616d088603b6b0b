"""The consortium contract against a reference model of its rules (hypothesis stateful).

Random sequences of admissions, role changes, suspensions, reinstatements,
key publications and enterprise bindings, by random actors: regulators,
members of every role, suspended members and strangers. After every step the
chain's views of the actors the step named, and of every subject, equal the
model's; every tenth check and at the end of each run, the views of every
actor (a step that changed someone it did not name is caught there). Every
refusal the model predicts is the very named error the chain raised, with its
arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ledger_client import Chain, Keyring, Ledger, Role, connect
from tests.conftest import deploy_for_tests
from tests.model_support import (
    FINISHED,
    STEP_COUNTS,
    Refused,
    budget,
    expect,
    machine_settings,
)

MACHINE = "consortium"
EXAMPLES, STEPS = budget(
    60, 40, examples_env=("CONSORTIUM_MODEL_EXAMPLES",), steps_env=("CONSORTIUM_MODEL_STEPS",)
)
ACTORS = [f"actor{i}" for i in range(8)]
SUBJECTS = [bytes([i + 1]) * 32 for i in range(4)]
REG = int(Role.REGULATOR)
#: Every how many checks the invariant reads every actor's views, not only the touched ones.
FULL_SWEEP_EVERY = 10


@dataclass
class MemberModel:
    city: int
    roles: int
    suspended: bool = False
    key: bytes = bytes(32)


@dataclass
class Model:
    members: dict[str, MemberModel] = field(default_factory=dict)
    enterprises: dict[str, bytes] = field(default_factory=dict)  # account -> subject
    subjects: dict[bytes, str] = field(default_factory=dict)  # subject -> account

    def require_role(self, who: str, role: int) -> None:
        m = self.members.get(who)
        if m is None or m.roles & role != role:
            raise Refused("ConsortiumUnauthorized", account=who, role=role)
        if m.suspended:
            raise Refused("ConsortiumMemberSuspended", account=who)

    def existing(self, who: str) -> MemberModel:
        m = self.members.get(who)
        if m is None:
            raise Refused("ConsortiumNotMember", account=who)
        return m

    def check_roles(self, roles: int) -> None:
        if roles == 0 or roles & ~0x3F:
            raise Refused("ConsortiumInvalidRoles", roles=roles)

    def admit(self, by: str, who: str, city: int, roles: int) -> None:
        self.require_role(by, REG)
        if not 1 <= city <= 5:
            raise Refused("ConsortiumInvalidCity", city=city)
        self.check_roles(roles)
        if who in self.members:
            raise Refused("ConsortiumAlreadyMember", account=who)
        if who in self.enterprises:
            raise Refused(
                "ConsortiumAccountAlreadyBound", account=who, subject=self.enterprises[who]
            )
        self.members[who] = MemberModel(city, roles)

    def set_roles(self, by: str, who: str, roles: int) -> None:
        self.require_role(by, REG)
        m = self.existing(who)
        self.check_roles(roles)
        if who == by and roles & REG == 0:
            raise Refused("ConsortiumSelfLockout", regulator=by)
        m.roles = roles

    def suspend(self, by: str, who: str) -> None:
        self.require_role(by, REG)
        m = self.existing(who)
        if who == by:
            raise Refused("ConsortiumSelfLockout", regulator=by)
        if m.suspended:
            raise Refused("ConsortiumAlreadySuspended", account=who)
        m.suspended = True

    def reinstate(self, by: str, who: str) -> None:
        self.require_role(by, REG)
        m = self.existing(who)
        if not m.suspended:
            raise Refused("ConsortiumNotSuspended", account=who)
        m.suspended = False

    def publish(self, by: str, key: bytes) -> None:
        m = self.members.get(by)
        if m is None:
            raise Refused("ConsortiumNotMember", account=by)
        if m.suspended:
            raise Refused("ConsortiumMemberSuspended", account=by)
        m.key = key

    def bindable(self, account: str) -> None:
        if account in self.members:
            raise Refused("ConsortiumAccountIsMember", account=account)
        if account in self.enterprises:
            raise Refused(
                "ConsortiumAccountAlreadyBound", account=account, subject=self.enterprises[account]
            )

    def bind(self, by: str, account: str, subject: bytes) -> None:
        self.require_role(by, int(Role.REGISTRAR))
        self.bindable(account)
        if subject in self.subjects:
            raise Refused(
                "ConsortiumSubjectAlreadyBound", subject=subject, account=self.subjects[subject]
            )
        self.enterprises[account] = subject
        self.subjects[subject] = account

    def rebind(self, by: str, subject: bytes, account: str) -> None:
        self.require_role(by, int(Role.REGISTRAR))
        old = self.subjects.get(subject)
        if old is None:
            raise Refused("ConsortiumSubjectNotBound", subject=subject)
        self.bindable(account)
        del self.enterprises[old]
        self.enterprises[account] = subject
        self.subjects[subject] = account


actors = st.sampled_from(ACTORS)
cities = st.integers(min_value=0, max_value=6)
roles = st.one_of(st.integers(min_value=0, max_value=70), st.sampled_from([1, 2, 4, 8, 16, 3, 5]))
subjects = st.sampled_from(SUBJECTS)


class ConsortiumMachine(RuleBasedStateMachine):
    """Random consortium operations against the chain and the model."""

    chain: Chain
    ledger: Ledger
    ring: Keyring
    snapshot: object

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        cls.chain.revert(cls.snapshot)
        self.model = Model()
        self.model.members["regulator"] = MemberModel(1, REG)
        self.addresses = {
            label: cls.ring.account(label).address for label in ["regulator", *ACTORS]
        }
        self.labels = {v: k for k, v in self.addresses.items()}
        self.touched: set[str] = set()  # actors whose views the last step may have changed
        self.checks = 0

    def acct(self, label: str) -> LocalAccount:
        return type(self).ring.account(label)

    def check(self, predict: Callable[[], object], act: Callable[[], object], *actors: str) -> None:
        """Predict, act, compare; the views of ``actors`` are compared after the step."""
        self.touched.update(actors)
        expect(MACHINE, predict, act, show=self.show)

    def show(self, value: object) -> object:
        """An actor's label as its address; any other value as it is."""
        return self.addresses.get(value, value) if isinstance(value, str) else value

    @rule(by=st.sampled_from(["regulator", *ACTORS]), who=actors, city=cities, r=roles)
    def admit(self, by: str, who: str, city: int, r: int) -> None:
        self.check(
            lambda: self.model.admit(by, who, city, r),
            lambda: type(self).ledger.consortium.admit_member(
                self.acct(by), self.addresses[who], who, city, r
            ),
            by,
            who,
        )

    @rule(
        by=st.sampled_from(["regulator", *ACTORS]),
        who=st.sampled_from(["regulator", *ACTORS]),
        r=roles,
    )
    def set_roles(self, by: str, who: str, r: int) -> None:
        self.check(
            lambda: self.model.set_roles(by, who, r),
            lambda: type(self).ledger.consortium.set_roles(self.acct(by), self.addresses[who], r),
            by,
            who,
        )

    @rule(by=st.sampled_from(["regulator", *ACTORS]), who=st.sampled_from(["regulator", *ACTORS]))
    def suspend(self, by: str, who: str) -> None:
        self.check(
            lambda: self.model.suspend(by, who),
            lambda: type(self).ledger.consortium.suspend_member(self.acct(by), self.addresses[who]),
            by,
            who,
        )

    @rule(by=st.sampled_from(["regulator", *ACTORS]), who=st.sampled_from(["regulator", *ACTORS]))
    def reinstate(self, by: str, who: str) -> None:
        self.check(
            lambda: self.model.reinstate(by, who),
            lambda: type(self).ledger.consortium.reinstate_member(
                self.acct(by), self.addresses[who]
            ),
            by,
            who,
        )

    @rule(by=actors, key=st.binary(min_size=32, max_size=32))
    def publish_key(self, by: str, key: bytes) -> None:
        self.check(
            lambda: self.model.publish(by, key),
            lambda: type(self).ledger.consortium.publish_encryption_key(self.acct(by), key),
            by,
        )

    @rule(by=actors, account=actors, subject=subjects)
    def bind(self, by: str, account: str, subject: bytes) -> None:
        self.check(
            lambda: self.model.bind(by, account, subject),
            lambda: type(self).ledger.consortium.bind_enterprise(
                self.acct(by), self.addresses[account], subject
            ),
            by,
            account,
        )

    @rule(by=actors, subject=subjects, account=actors)
    def rebind(self, by: str, subject: bytes, account: str) -> None:
        self.check(
            lambda: self.model.rebind(by, subject, account),
            lambda: type(self).ledger.consortium.rebind_enterprise(
                self.acct(by), subject, self.addresses[account]
            ),
            by,
            account,
            *filter(None, [self.model.subjects.get(subject)]),
        )

    @invariant()
    def chain_views_equal_the_model(self) -> None:
        """After every step, the views of the actors it named (every actor's, every
        ``FULL_SWEEP_EVERY``-th check and at the end of a run) and of every subject."""
        self.checks += 1
        full = self.checks % FULL_SWEEP_EVERY == 1
        self.compare(self.addresses if full else self.touched)
        self.touched.clear()

    def teardown(self) -> None:
        self.compare(self.addresses)

    def compare(self, labels: Iterable[str]) -> None:
        c = type(self).ledger.consortium
        for label in labels:
            address = self.addresses[label]
            m = c.member(address)
            want = self.model.members.get(label)
            if want is None:
                assert m is None, label
            else:
                assert m is not None, label
                assert (int(m.city), int(m.roles), m.suspended) == (
                    want.city,
                    want.roles,
                    want.suspended,
                )
                assert (m.encryption_key or bytes(32)) == want.key
            e = c.enterprise(address)
            assert (e.subject if e else None) == self.model.enterprises.get(label)
        for subject in SUBJECTS:
            bound = c.account_of(subject)
            want_label = self.model.subjects.get(subject)
            assert bound == (self.addresses[want_label] if want_label else None)


@pytest.mark.slow
def test_consortium_matches_its_model() -> None:
    chain = connect("embedded")
    ring = Keyring("model-consortium")
    ledger = deploy_for_tests(chain, ring)
    for label in ACTORS:
        chain.fund(ring.account(label).address)
    ConsortiumMachine.chain, ConsortiumMachine.ledger, ConsortiumMachine.ring = chain, ledger, ring
    ConsortiumMachine.snapshot = chain.snapshot()
    before = STEP_COUNTS[MACHINE]
    run_state_machine_as_test(ConsortiumMachine, settings=machine_settings(EXAMPLES, STEPS))
    assert STEP_COUNTS[MACHINE] - before > EXAMPLES  # the machine really drove the chain
    FINISHED.add(MACHINE)
