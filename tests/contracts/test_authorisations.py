"""Query authorisation (授权查询) and the query trail (查询留痕), on both backends."""

from __future__ import annotations

import pytest

from ledger_client import Keyring
from ledger_client.contracts.authorisations import (
    AuthorisationRequest,
    authorisation_id,
    query_hash,
    query_id,
)
from ledger_client.errors import (
    AuthorisationsAlreadyWithdrawn,
    AuthorisationsDuplicateQuery,
    AuthorisationsExpired,
    AuthorisationsInvalidExpiry,
    AuthorisationsInvalidPurpose,
    AuthorisationsInvalidQuery,
    AuthorisationsInvalidSchemas,
    AuthorisationsNonceUsed,
    AuthorisationsNotEnterprise,
    AuthorisationsNotGrantee,
    AuthorisationsNotQuerier,
    AuthorisationsSchemaNotAuthorised,
    AuthorisationsSignatureExpired,
    AuthorisationsUnknown,
    AuthorisationsWithdrawn,
    AuthorisationsWrongPurpose,
    AuthorisationsWrongSigner,
    ConsortiumMemberSuspended,
    ConsortiumNotEnterprise,
    ConsortiumUnauthorized,
    InvalidPurpose,
)
from ledger_client.identity.eip712 import SignatureError
from ledger_client.index.consent import ConsentLog
from ledger_client.types import QueryPurpose
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain
from tests.consent_fixtures import DAY, HANGZHOU_SUBJECT, ConsentFixtures, ConsentWorld

LOAN = QueryPurpose.LOAN_APPROVAL


def _q(n: int) -> bytes:
    """A distinct query hash: the hash of the bank's n-th query record."""
    return query_hash({"application": f"SH-LOAN-{n:04d}", "purpose": "loan-approval"})


class AuthorisationsConformance(ConsentFixtures):
    """The rules of authorised queries as every backend must show them."""

    # -- authorising ----------------------------------------------------------------
    def test_enterprise_signs_and_the_member_relays(self, world: ConsentWorld) -> None:
        auths = world.ledger.authorisations
        request = world.request(days=90)
        signed = auths.sign_authorisation(world.enterprise, request, nonce=42)
        assert auths.recover_authorisation_signer(signed) == world.enterprise.address
        granted = auths.authorise(world.shanghai_bank, signed)
        assert granted.auth_id == signed.auth_id == authorisation_id(world.enterprise.address, 42)
        assert granted.tx.event("Authorised").args == {
            "authId": granted.auth_id,
            "subject": HANGZHOU_SUBJECT,
            "member": world.shanghai_bank.address,
            "purpose": int(LOAN),
            "expiry": request.expiry,
            "schemas": (),
            "enterprise": world.enterprise.address,
        }
        a = auths.authorisation(granted.auth_id)
        assert a is not None
        assert (a.subject, a.member, a.purpose, a.expiry, a.withdrawn_at, a.schema_limited) == (
            HANGZHOU_SUBJECT,
            world.shanghai_bank.address,
            LOAN,
            request.expiry,
            0,
            False,
        )
        assert a.in_force(world.ledger.chain.now())
        assert auths.nonce_used(world.enterprise.address, 42)
        assert not auths.nonce_used(world.enterprise.address, 43)
        # Enterprises hold no gas: the relay is the only way their consent reaches the chain.
        assert world.ledger.chain.backend.balance(world.enterprise.address) == 0

    def test_replayed_signature_is_refused(self, world: ConsentWorld) -> None:
        signed = world.authorise()
        with pytest.raises(AuthorisationsNonceUsed) as info:
            world.ledger.authorisations.authorise(world.nanjing_bank, signed)
        assert info.value.enterprise == world.enterprise.address
        assert info.value.nonce == signed.nonce
        assert info.value.kind == "conflict"

    def test_signature_must_be_the_enterprises(self, world: ConsentWorld) -> None:
        auths = world.ledger.authorisations
        signed = auths.sign_authorisation(world.enterprise, world.request())
        # The Nanjing bank rewrites the request to name itself: the signature no longer fits.
        forged = type(signed)(
            world.request(member=world.nanjing_bank),
            signed.enterprise,
            signed.nonce,
            signed.deadline,
            signed.signature,
        )
        assert auths.recover_authorisation_signer(forged) != world.enterprise.address
        with pytest.raises(AuthorisationsWrongSigner) as info:
            auths.authorise(world.nanjing_bank, forged)
        assert info.value.enterprise == world.enterprise.address
        with pytest.raises(SignatureError):
            auths.recover_authorisation_signer(
                type(signed)(signed.request, signed.enterprise, 1, 1, b"\x01" * 64)
            )

    def test_only_bound_enterprises_authorise(self, world: ConsentWorld, keyring: Keyring) -> None:
        stranger = keyring.account("not-an-enterprise")
        signed = world.ledger.authorisations.sign_authorisation(stranger, world.request())
        with pytest.raises(ConsortiumNotEnterprise):
            world.ledger.authorisations.authorise(world.shanghai_bank, signed)

    def test_stale_signature_is_refused(self, world: ConsentWorld) -> None:
        auths = world.ledger.authorisations
        now = world.ledger.chain.now()
        signed = auths.sign_authorisation(world.enterprise, world.request(), deadline=now + 10)
        world.ledger.chain.advance_time(11)
        with pytest.raises(AuthorisationsSignatureExpired) as info:
            auths.authorise(world.shanghai_bank, signed)
        assert info.value.deadline == now + 10

    @pytest.mark.parametrize("purpose", [0, 6, 255])
    def test_bad_purpose_code(self, world: ConsentWorld, purpose: int) -> None:
        # A code outside QueryPurpose, on purpose: the contract must refuse it by name.
        request = AuthorisationRequest(
            world.shanghai_bank.address,
            purpose,  # type: ignore[arg-type]
            world.ledger.chain.now() + DAY,
        )
        with pytest.raises(AuthorisationsInvalidPurpose) as info:
            world.authorise(request)
        assert info.value.purpose == purpose

    def test_expiry_must_be_in_the_future(self, world: ConsentWorld) -> None:
        now = world.ledger.chain.now()
        request = AuthorisationRequest(world.shanghai_bank.address, LOAN, now)
        with pytest.raises(AuthorisationsInvalidExpiry):
            world.authorise(request)

    def test_only_querying_members_can_be_authorised(
        self, world: ConsentWorld, keyring: Keyring
    ) -> None:
        with pytest.raises(AuthorisationsNotQuerier) as info:
            world.authorise(world.request(member=world.auditor))
        assert info.value.account == world.auditor.address
        with pytest.raises(ConsortiumUnauthorized):
            world.authorise(world.request(member=keyring.account("outsider")))
        # A credit bureau (attester, not financier) may query.
        world.authorise(world.request(member=world.hangzhou_bureau))

    # -- querying -------------------------------------------------------------------
    def test_authorised_query_is_logged(self, world: ConsentWorld) -> None:
        signed = world.authorise()
        auths = world.ledger.authorisations
        logged = auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(1))
        assert logged.query_id == query_id(signed.auth_id, _q(1))
        ev = logged.tx.event("QueryLogged")
        assert ev.args == {
            "subject": HANGZHOU_SUBJECT,
            "member": world.shanghai_bank.address,
            "authId": signed.auth_id,
            "queryId": logged.query_id,
            "purpose": int(LOAN),
            "schema": bytes(32),
            "queryHash": _q(1),
        }
        assert auths.query_authorisation(logged.query_id) == signed.auth_id
        assert auths.query_authorisation(b"\x01" * 32) is None

    def test_query_without_authorisation(self, world: ConsentWorld) -> None:
        with pytest.raises(AuthorisationsUnknown) as info:
            world.ledger.authorisations.log_query(world.shanghai_bank, b"\x09" * 32, LOAN, _q(1))
        assert info.value.kind == "not_found"

    def test_another_member_cannot_use_the_authorisation(self, world: ConsentWorld) -> None:
        signed = world.authorise()
        with pytest.raises(AuthorisationsNotGrantee) as info:
            world.ledger.authorisations.log_query(world.nanjing_bank, signed.auth_id, LOAN, _q(1))
        assert info.value.caller == world.nanjing_bank.address
        assert info.value.member == world.shanghai_bank.address

    def test_wrong_purpose(self, world: ConsentWorld) -> None:
        signed = world.authorise()
        with pytest.raises(AuthorisationsWrongPurpose) as info:
            world.ledger.authorisations.log_query(
                world.shanghai_bank, signed.auth_id, QueryPurpose.GUARANTEE_REVIEW, _q(1)
            )
        assert (info.value.purpose, info.value.authorised) == (3, 1)
        assert info.value.kind == "forbidden"

    def test_suspended_member_cannot_query(self, world: ConsentWorld) -> None:
        signed = world.authorise()
        world.ledger.consortium.suspend_member(world.regulator, world.shanghai_bank.address)
        with pytest.raises(ConsortiumMemberSuspended):
            world.ledger.authorisations.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(1))
        world.ledger.consortium.reinstate_member(world.regulator, world.shanghai_bank.address)
        world.ledger.authorisations.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(1))

    def test_expiry_boundary(self, world: ConsentWorld) -> None:
        chain, auths = world.ledger.chain, world.ledger.authorisations
        signed = world.authorise(world.request(days=30))
        expiry = signed.request.expiry
        bank = world.shanghai_bank.address
        chain.advance_time(expiry - 1 - chain.now())  # a block at expiry - 1
        at_last_second = chain.backend.block_number()
        assert auths.check_query(bank, signed.auth_id, LOAN, _q(1), block=at_last_second)
        chain.advance_time(1)  # a block at expiry: lapsed
        with pytest.raises(AuthorisationsExpired) as info:
            auths.check_query(bank, signed.auth_id, LOAN, _q(1))
        assert info.value.expiry == expiry
        with pytest.raises(AuthorisationsExpired):
            auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(1))

    def test_withdraw_then_query(self, world: ConsentWorld) -> None:
        auths = world.ledger.authorisations
        signed = world.authorise()
        auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(1))
        withdrawal = auths.sign_withdrawal(world.enterprise, signed.auth_id)
        # Anyone may relay the enterprise's signed withdrawal: here the Nanjing bank.
        result = auths.withdraw_by_sig(world.nanjing_bank, withdrawal)
        assert result.event("AuthorisationWithdrawn").args == {
            "authId": signed.auth_id,
            "subject": HANGZHOU_SUBJECT,
            "member": world.shanghai_bank.address,
        }
        a = auths.authorisation(signed.auth_id)
        assert a is not None
        assert a.withdrawn_at == world.ledger.chain.backend.block(result.block_number).timestamp
        with pytest.raises(AuthorisationsWithdrawn) as info:
            auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(2))
        assert info.value.withdrawnAt == a.withdrawn_at
        with pytest.raises(AuthorisationsAlreadyWithdrawn):
            auths.withdraw_by_sig(world.shanghai_bank, withdrawal)  # a replay
        assert world.ledger.chain.backend.balance(world.enterprise.address) == 0

    def test_direct_withdrawal_and_who_may_withdraw(self, world: ConsentWorld) -> None:
        auths, chain = world.ledger.authorisations, world.ledger.chain
        signed = world.authorise()
        with pytest.raises(AuthorisationsNotEnterprise):
            auths.withdraw(world.shanghai_bank, signed.auth_id)
        chain.fund(world.other_enterprise.address)
        with pytest.raises(AuthorisationsNotEnterprise):
            auths.withdraw(world.other_enterprise, signed.auth_id)
        forged = auths.sign_withdrawal(world.other_enterprise, signed.auth_id)
        with pytest.raises(AuthorisationsNotEnterprise):
            auths.withdraw_by_sig(world.shanghai_bank, forged)
        mislabelled = type(forged)(
            forged.auth_id, world.enterprise.address, forged.deadline, forged.signature
        )
        with pytest.raises(AuthorisationsWrongSigner):
            auths.withdraw_by_sig(world.shanghai_bank, mislabelled)
        with pytest.raises(AuthorisationsUnknown):
            auths.withdraw_by_sig(
                world.shanghai_bank, auths.sign_withdrawal(world.enterprise, b"\x07" * 32)
            )
        chain.fund(world.enterprise.address)
        auths.withdraw(world.enterprise, signed.auth_id)  # an enterprise with gas may send it

    def test_after_a_rebind_the_new_key_withdraws(
        self, world: ConsentWorld, keyring: Keyring
    ) -> None:
        auths = world.ledger.authorisations
        signed = world.authorise()
        new_key = keyring.account("enterprise:hangzhou:new-key")
        world.ledger.consortium.rebind_enterprise(
            world.hangzhou_bureau, HANGZHOU_SUBJECT, new_key.address
        )
        with pytest.raises(AuthorisationsNotEnterprise):
            auths.withdraw_by_sig(
                world.shanghai_bank, auths.sign_withdrawal(world.enterprise, signed.auth_id)
            )
        auths.withdraw_by_sig(world.shanghai_bank, auths.sign_withdrawal(new_key, signed.auth_id))

    def test_schema_limited_authorisation(self, world: ConsentWorld) -> None:
        auths = world.ledger.authorisations
        tax = world.schema_id
        signed = world.authorise(world.request(schemas=(tax,)))
        a = auths.authorisation(signed.auth_id)
        assert a is not None
        assert a.schema_limited
        assert auths.schema_authorised(signed.auth_id, tax)
        auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(1), tax)
        loans = world.ledger.attestations.schema(world.ledger.schemas["loan-repayment"])
        assert loans is not None
        for schema in (loans.schema_id, bytes(32)):  # another schema; a full report
            with pytest.raises(AuthorisationsSchemaNotAuthorised) as info:
                auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(2), schema)
            assert info.value.schema == schema

    def test_bad_schema_limits(self, world: ConsentWorld) -> None:
        with pytest.raises(AuthorisationsInvalidSchemas) as info:
            world.authorise(world.request(schemas=(world.schema_id, bytes(32))))
        assert info.value.count == 2
        with pytest.raises(AuthorisationsInvalidSchemas):
            world.authorise(world.request(schemas=tuple(bytes([i]) * 32 for i in range(1, 34))))

    def test_duplicate_and_empty_queries(self, world: ConsentWorld) -> None:
        auths = world.ledger.authorisations
        signed = world.authorise()
        logged = auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(1))
        with pytest.raises(AuthorisationsDuplicateQuery) as info:
            auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(1))
        assert info.value.queryId == logged.query_id
        with pytest.raises(AuthorisationsInvalidQuery):
            auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, bytes(32))

    def test_purpose_parsing(self) -> None:
        assert QueryPurpose.parse("post-loan-management") is QueryPurpose.POST_LOAN_MANAGEMENT
        assert QueryPurpose.parse("贷款审批") is QueryPurpose.LOAN_APPROVAL
        assert QueryPurpose.parse(3) is QueryPurpose.GUARANTEE_REVIEW
        assert QueryPurpose.LOAN_APPROVAL.label == "loan approval"
        for bad in ("mortgage", 0, 6, True, None):
            with pytest.raises(InvalidPurpose):
                QueryPurpose.parse(bad)

    # -- the trail ------------------------------------------------------------------
    def test_enterprise_lists_who_queried_it_and_regulator_lists_by_member(
        self, world: ConsentWorld
    ) -> None:
        auths = world.ledger.authorisations
        shanghai = world.authorise()
        nanjing_request = world.request(
            member=world.nanjing_bank, purpose=QueryPurpose.GUARANTEE_REVIEW
        )
        nanjing = auths.sign_authorisation(world.enterprise, nanjing_request)
        auths.authorise(world.nanjing_bank, nanjing)
        first = auths.log_query(world.shanghai_bank, shanghai.auth_id, LOAN, _q(1))
        auths.log_query(world.nanjing_bank, nanjing.auth_id, QueryPurpose.GUARANTEE_REVIEW, _q(2))
        auths.log_query(world.shanghai_bank, shanghai.auth_id, LOAN, _q(3))
        auths.withdraw_by_sig(
            world.shanghai_bank, auths.sign_withdrawal(world.enterprise, nanjing.auth_id)
        )

        log = ConsentLog(world.ledger)
        log.follow()
        seen = log.queries_of_subject(HANGZHOU_SUBJECT)
        assert [(q.member, q.purpose) for q in seen] == [
            (world.shanghai_bank.address, LOAN),
            (world.nanjing_bank.address, QueryPurpose.GUARANTEE_REVIEW),
            (world.shanghai_bank.address, LOAN),
        ]
        assert seen[0].query_id == first.query_id
        assert (
            seen[0].queried_at == world.ledger.chain.backend.block(first.tx.block_number).timestamp
        )
        assert [q.query_hash for q in log.queries_by_member(world.shanghai_bank.address)] == [
            _q(1),
            _q(3),
        ]
        grants = log.authorisations_of_subject(HANGZHOU_SUBJECT)
        assert [(g.member, g.withdrawn_at != 0) for g in grants] == [
            (world.shanghai_bank.address, False),
            (world.nanjing_bank.address, True),
        ]
        # Following again reads only what is new.
        auths.log_query(world.shanghai_bank, shanghai.auth_id, LOAN, _q(4))
        log.follow()
        assert len(log.queries_of_subject(HANGZHOU_SUBJECT)) == 4
        log.close()

    def test_gas(self, world: ConsentWorld) -> None:
        auths = world.ledger.authorisations
        signed = auths.sign_authorisation(world.enterprise, world.request())
        granted = auths.authorise(world.shanghai_bank, signed)
        logged = auths.log_query(world.shanghai_bank, granted.auth_id, LOAN, _q(1))
        withdrawn = auths.withdraw_by_sig(
            world.shanghai_bank, auths.sign_withdrawal(world.enterprise, granted.auth_id)
        )
        # Budgets a little above the measured figures (README), so a regression shows.
        assert granted.tx.gas_used <= 92_000
        assert logged.tx.gas_used <= 62_000
        assert withdrawn.gas_used <= 46_000


class TestAuthorisationsEmbedded(EmbeddedChain, AuthorisationsConformance):
    """The embedded chain, where each transaction's block is one second after the last."""

    def test_expiry_boundary_for_transactions(self, world: ConsentWorld) -> None:
        chain, auths = world.ledger.chain, world.ledger.authorisations
        signed = world.authorise(world.request(days=30))
        expiry = signed.request.expiry
        chain.advance_time(expiry - 2 - chain.now())
        ok = auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(1))
        assert chain.backend.block(ok.tx.block_number).timestamp == expiry - 1
        with pytest.raises(AuthorisationsExpired) as info:
            auths.log_query(world.shanghai_bank, signed.auth_id, LOAN, _q(2))
        assert info.value.now == expiry


class TestAuthorisationsRevm(RevmChain, AuthorisationsConformance):
    """On the embedded chain's revm engine."""


class TestAuthorisationsAnvil(AnvilChain, AuthorisationsConformance):
    """A real anvil node."""
