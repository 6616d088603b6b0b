"""A small cross-region world for the consent tests: banks, a bureau, enterprises, a record.

Enterprises are bound but never funded: everything they do goes through a
signature that a member relays, as on the real chain where they hold no gas.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client import Keyring, Ledger, Role
from ledger_client.attestations.records import Schema, record_hash, sample_record
from ledger_client.contracts.attestations import schema_id
from ledger_client.contracts.authorisations import AuthorisationRequest, SignedAuthorisation
from ledger_client.types import AttestationFields, QueryPurpose, SubjectId
from tests.conformance import LedgerFixtures

DAY = 86_400
HANGZHOU_SUBJECT = SubjectId(b"\x33" * 32)
NANJING_SUBJECT = SubjectId(b"\x22" * 32)


@dataclass
class ConsentWorld:
    """Who acts in a consent test, and one attested record about the Hangzhou enterprise."""

    ledger: Ledger
    regulator: LocalAccount
    shanghai_bank: LocalAccount  # attester + financier: the querying bank
    nanjing_bank: LocalAccount  # attester + financier: a bank with no authorisation
    hangzhou_bureau: LocalAccount  # attester + registrar: holds the record, binds enterprises
    auditor: LocalAccount  # auditor only: may not query credit
    enterprise: LocalAccount  # the Hangzhou enterprise's bound account (no gas)
    other_enterprise: LocalAccount  # a Nanjing enterprise's bound account (no gas)
    schema: Schema  # tax-credit-grade
    record: dict[str, object]  # the off-chain record about the Hangzhou enterprise
    uid: bytes  # its attestation, by the Hangzhou bureau
    fields: AttestationFields  # what the UID commits to

    @property
    def schema_id(self) -> bytes:
        """The record schema's on-chain id."""
        return schema_id(self.schema)

    def request(
        self,
        *,
        member: LocalAccount | None = None,
        purpose: QueryPurpose = QueryPurpose.LOAN_APPROVAL,
        days: int = 90,
        schemas: tuple[bytes, ...] = (),
    ) -> AuthorisationRequest:
        """An authorisation request for the Shanghai bank (by default), 90 days from now."""
        return AuthorisationRequest(
            (member or self.shanghai_bank).address,
            purpose,
            self.ledger.chain.now() + days * DAY,
            schemas,
        )

    def authorise(self, request: AuthorisationRequest | None = None) -> SignedAuthorisation:
        """The enterprise signs ``request`` and the Shanghai bank relays it."""
        signed = self.ledger.authorisations.sign_authorisation(
            self.enterprise, request or self.request()
        )
        self.ledger.authorisations.authorise(self.shanghai_bank, signed)
        return signed


class ConsentFixtures(LedgerFixtures):
    """A fresh deployment per test with the cross-region world in it."""

    @pytest.fixture
    def world(self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount) -> ConsentWorld:
        both = Role.ATTESTER | Role.FINANCIER
        shanghai = self._member(ledger, keyring, "bank:shanghai", both, "Shanghai")
        nanjing = self._member(ledger, keyring, "bank:nanjing", both, "Nanjing")
        bureau = self._member(
            ledger, keyring, "bureau:hangzhou", Role.ATTESTER | Role.REGISTRAR, "Hangzhou"
        )
        auditor = self._member(ledger, keyring, "auditor", Role.AUDITOR, "Shanghai")
        enterprise = keyring.account("enterprise:hangzhou")
        other = keyring.account("enterprise:nanjing")
        ledger.consortium.bind_enterprise(bureau, enterprise.address, HANGZHOU_SUBJECT)
        ledger.consortium.bind_enterprise(bureau, other.address, NANJING_SUBJECT)
        schema = ledger.schemas["tax-credit-grade"]
        record = sample_record(schema, random.Random(7), {"subject": HANGZHOU_SUBJECT})
        fields = AttestationFields(HANGZHOU_SUBJECT, record_hash(schema, record))
        uid = ledger.attestations.attest(bureau, schema, fields.subject, fields.data_hash).uid
        return ConsentWorld(
            ledger=ledger,
            regulator=regulator,
            shanghai_bank=shanghai,
            nanjing_bank=nanjing,
            hangzhou_bureau=bureau,
            auditor=auditor,
            enterprise=enterprise,
            other_enterprise=other,
            schema=schema,
            record=record,
            uid=uid,
            fields=fields,
        )
