"""Consent flows of the simulated days: authorisations, queries, shared reports, disputes.

- **Applications.** Each day some enterprises apply to a bank (often in another
  city) for a loan, a guarantee or as a counterparty. The enterprise signs an
  authorisation (EIP-712, no gas) that the bank relays; the bank logs its query;
  the credit bureau of the enterprise's city answers with the enterprise's
  credit rating sealed to the bank's published X25519 key, recording only the
  envelope's hash; the bank checks the envelope against the chain and opens it.
  Some enterprises withdraw their consent once the application is decided.
- **Post-loan management.** When a bank writes an overdue record about a
  borrower, it queries the borrower under the authorisation the loan contract
  gave it (signed when first needed, for a year).
- **Disputes (异议).** An enterprise disputes some records with a UID, overdue
  records above all; the attester (or, while it is suspended, the regulator)
  rejects most and upholds the rest after revoking the record, most within the
  20-day deadline and some past it.
- **Complaints (投诉).** A record is disputed once: after a rejection some
  enterprises complain to the regulator instead (signed, relayed by their city's
  bureau); the regulator answers days later, upholding a few after revoking the
  record itself and rejecting the rest.
"""

from __future__ import annotations

import datetime
import random
from collections import deque
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from ledger_client import Ledger
from ledger_client.attestations.records import canonical_json, record_hash, sample_record
from ledger_client.consent.credit_reports import receive_report, report_context
from ledger_client.consent.sharing import EncryptionKeyPair, SealedReport, seal_report
from ledger_client.contracts.authorisations import (
    AuthorisationRequest,
    SignedAuthorisation,
    query_hash,
)
from ledger_client.types import AttestationFields, City, Hash32, QueryPurpose

from .flow_world import ConsentWorld
from .gateway import Written
from .world import REGULATOR, EnterpriseProfile

DAY = 86_400
#: Probability that an enterprise applies to a bank on a given day.
APPLICATION_RATE = 0.002
#: What applications are for, and how often.
APPLICATION_PURPOSES = (
    QueryPurpose.LOAN_APPROVAL,
    QueryPurpose.GUARANTEE_REVIEW,
    QueryPurpose.COUNTERPARTY_REVIEW,
)
APPLICATION_WEIGHTS = (0.7, 0.15, 0.15)
#: Days an application's authorisation lasts; a post-loan authorisation lasts a year.
APPLICATION_AUTH_DAYS = 10
POST_LOAN_AUTH_DAYS = 365
#: Share of applications made to a bank in another city.
CROSS_REGION_APPLICATION = 0.4
#: Probability an enterprise withdraws its consent once its application is decided.
WITHDRAWAL_RATE = 0.3
#: Probability a record is disputed: overdue records, and any other record with a UID.
DISPUTE_RATE_OVERDUE = 0.3
DISPUTE_RATE_OTHER = 0.02
#: Share of disputes upheld (the rest are rejected); the share answered after the 20-day
#: deadline is ``SimulationConfig.late_dispute_rate``.
UPHOLD_RATE = 0.25
#: Share of rejected disputes whose enterprise complains to the regulator, the days it
#: takes to complain and the regulator to answer, and the share the regulator upholds.
COMPLAINT_RATE = 0.3
COMPLAINT_AFTER_DAYS = (1, 5)
COMPLAINT_ANSWER_DAYS = (3, 15)
COMPLAINT_UPHOLD_RATE = 0.2
#: Signed messages stay relayable this long.
SIGNATURE_LIFETIME = 3_600
#: Authorisations and shares kept as material for the adversaries.
_KEEP = 64

_RATINGS = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")


def encryption_keys(sim: ConsentWorld, label: str) -> EncryptionKeyPair:
    """A member's X25519 key pair, derived from the run's keyring (development keys)."""
    return EncryptionKeyPair.from_private_bytes(bytes(sim.ring.account(f"x25519:{label}").key))


@dataclass(frozen=True)
class Grant:
    """An authorisation a bank holds."""

    bank: str  # keyring label
    enterprise: str  # keyring label
    auth_id: Hash32
    purpose: QueryPurpose
    expiry: int  # UNIX seconds


@dataclass(frozen=True)
class Share:
    """A sealed report as it travelled, for the recipient to check."""

    bank: str
    query_id: Hash32
    envelope: bytes  # SealedReport.to_bytes()
    uid: Hash32
    fields: AttestationFields


@dataclass(frozen=True)
class Rating:
    """A bureau's credit rating of an enterprise, attested with a UID."""

    bureau: str
    uid: Hash32
    fields: AttestationFields
    record: dict[str, object]


@dataclass
class OpenDispute:
    """A dispute the simulation will answer on ``due_day``."""

    dispute_id: int
    written: Written
    uphold: bool
    due_day: int


@dataclass
class Complaint:
    """A complaint of a rejected dispute: filed on one day, answered on a later one."""

    dispute_id: int
    written: Written
    complaint_id: int = 0  # once filed
    uphold: bool = False


class ConsentFlows:
    """The consent side of the scenario, driven day by day by :class:`Simulation`."""

    def __init__(self, sim: ConsentWorld) -> None:
        self.sim = sim
        self.rng = random.Random(f"{sim.config.seed}:consent")
        self.keys: dict[str, EncryptionKeyPair] = {}
        self.post_loan: dict[tuple[str, str], Grant] = {}  # (bank, enterprise) -> grant
        self.ratings: dict[str, Rating] = {}
        self.withdrawn: deque[Grant] = deque(maxlen=_KEEP)
        self.lapsing: deque[Grant] = deque(maxlen=_KEEP)  # application grants, soon expired
        self.shares: deque[Share] = deque(maxlen=_KEEP)
        # (bank, the enterprise's signed authorisation it relayed), as it travelled
        self.signed: deque[tuple[str, SignedAuthorisation]] = deque(maxlen=_KEEP)
        self.due: dict[int, list[OpenDispute]] = {}
        self.rejected: deque[OpenDispute] = deque(maxlen=_KEEP)  # disputes answered "no"
        # Its own stream, so that complaints leave every other draw of a seed as it was.
        self.complaint_rng = random.Random(f"{sim.config.seed}:complaints")
        self.complaints_due: dict[int, list[Complaint]] = {}  # to file
        self.complaints_answered: dict[int, list[Complaint]] = {}  # for the regulator
        self._nonces: dict[str, int] = {}
        self._applications = 0
        self._published: dict[str, bytes] = {}

    # -- set-up ---------------------------------------------------------------------
    def publish_keys(self) -> None:
        """Every bank publishes its X25519 key, so reports can be sealed to it."""
        for city in City:
            label = f"bank:{city.name.lower()}"
            keys = encryption_keys(self.sim, label)
            self.keys[label] = keys
            tx = self.sim.deployed.consortium.publish_encryption_key(
                self.sim.ring.account(label), keys.public_bytes
            )
            self.sim.metrics.gas_spent("publish_encryption_key", tx.gas_used)

    # -- each day -------------------------------------------------------------------
    def play(self, day: int) -> None:
        """Answer today's disputes, then today's applications."""
        for dispute in self.due.pop(day, []):
            self._resolve(dispute, day)
        for complaint in self.complaints_due.pop(day, []):
            self._complain(complaint, day)
        for complaint in self.complaints_answered.pop(day, []):
            self._answer_complaint(complaint)
        for ent in self.sim.population:
            if self.rng.random() < APPLICATION_RATE:
                self._apply(ent, day)

    def _nonce(self, label: str) -> int:
        nonce = self._nonces.get(label, 0) + 1
        self._nonces[label] = nonce
        return nonce

    def _bank_for(self, ent: EnterpriseProfile) -> str | None:
        suspended = self.sim.suspended()
        if self.rng.random() < CROSS_REGION_APPLICATION:
            cities = [c for c in City if c != ent.spec.city]
            city = self.rng.choice(cities)
        else:
            city = ent.spec.city
        bank = f"bank:{city.name.lower()}"
        return None if bank == suspended else bank

    def _authorise(
        self, ent: EnterpriseProfile, bank: str, purpose: QueryPurpose, days: int
    ) -> Grant:
        sim = self.sim
        ledger, ring = sim.deployed, sim.ring
        now = ledger.chain.now()
        request = AuthorisationRequest(ring.account(bank).address, purpose, now + days * DAY)
        signed = ledger.authorisations.sign_authorisation(
            ring.account(ent.spec.label),
            request,
            nonce=self._nonce(f"auth:{ent.spec.label}"),
            deadline=now + SIGNATURE_LIFETIME,
        )
        auth_id = sim.writes.authorise(bank, signed)
        self.signed.append((bank, signed))
        sim.metrics.consent.authorisations[purpose.name.lower()] += 1
        return Grant(bank, ent.spec.label, auth_id, purpose, request.expiry)

    def _query(self, grant: Grant, ent: EnterpriseProfile, day: int) -> Hash32:
        sim = self.sim
        self._applications += 1
        document = {
            "member": grant.bank,
            "subject": "0x" + sim.subjects[ent.spec.label].hex(),
            "reference": f"Q-{self._applications}",
            "day": day,
        }
        query_id = sim.writes.log_query(
            grant.bank, grant.auth_id, grant.purpose, query_hash(document)
        )
        sim.metrics.query(
            sim.city_of(grant.bank), ent.spec.city.label, grant.purpose.name.lower(), day
        )
        return query_id

    def _apply(self, ent: EnterpriseProfile, day: int) -> None:
        bank = self._bank_for(ent)
        if bank is None:
            return  # the bank it would have gone to is suspended: it waits
        purpose = self.rng.choices(APPLICATION_PURPOSES, APPLICATION_WEIGHTS)[0]
        grant = self._authorise(ent, bank, purpose, APPLICATION_AUTH_DAYS)
        query_id = self._query(grant, ent, day)
        self._share_rating(grant, ent, query_id)
        if self.rng.random() < WITHDRAWAL_RATE:
            self._withdraw(grant, ent)
        else:
            self.lapsing.append(grant)

    def _withdraw(self, grant: Grant, ent: EnterpriseProfile) -> None:
        sim = self.sim
        ledger = sim.deployed
        signed = ledger.authorisations.sign_withdrawal(
            sim.ring.account(ent.spec.label),
            grant.auth_id,
            deadline=ledger.chain.now() + SIGNATURE_LIFETIME,
        )
        sim.writes.withdraw(f"bureau:{ent.spec.city.name.lower()}", signed)
        sim.metrics.consent.withdrawals += 1
        self.withdrawn.append(grant)

    # -- post-loan management -------------------------------------------------------------
    def on_overdue(self, written: Written) -> None:
        """A bank wrote an overdue record: it reviews the borrower; the borrower may dispute."""
        sim = self.sim
        ent = sim.profile_of_subject(bytes(written.fields.subject))
        if written.member != sim.suspended():
            key = (written.member, ent.spec.label)
            grant = self.post_loan.get(key)
            if grant is None:
                grant = self._authorise(
                    ent, written.member, QueryPurpose.POST_LOAN_MANAGEMENT, POST_LOAN_AUTH_DAYS
                )
                self.post_loan[key] = grant
            query_id = self._query(grant, ent, written.day)
            self._share_rating(grant, ent, query_id)
        self.maybe_dispute(written, DISPUTE_RATE_OVERDUE)

    # -- shared reports ---------------------------------------------------------------
    def _rating(self, ent: EnterpriseProfile) -> Rating:
        found = self.ratings.get(ent.spec.label)
        if found is not None:
            return found
        sim = self.sim
        bureau = f"bureau:{ent.spec.city.name.lower()}"
        schema = sim.deployed.schemas["credit-rating"]
        grade = _RATINGS[min(len(_RATINGS) - 1, int((1 - ent.reliability) * 60))]
        today = sim.date(sim.metrics.day)
        record = sample_record(
            schema,
            self.rng,
            overrides={
                "subject": "0x" + sim.subjects[ent.spec.label].hex(),
                "agency": f"{ent.spec.city.label} credit bureau (simulated)",
                "rating": grade,
                "ratedDate": today.isoformat(),
                "validUntil": (today + datetime.timedelta(days=365)).isoformat(),
            },
        )
        # Attested directly, not through the API: the shared report must name a UID, and
        # the API's worker may fold a record into a Merkle batch, where it has none.
        uid = sim.writes.attest_with_uid(bureau, schema, record)
        sim.metrics.record(schema.name, sim.city_of(bureau), sim.metrics.day, 1, False)
        sim.metrics.consent.ratings_attested += 1
        fields = AttestationFields(sim.subjects[ent.spec.label], record_hash(schema, record))
        rating = Rating(bureau, uid, fields, record)
        self.ratings[ent.spec.label] = rating
        return rating

    def _share_rating(self, grant: Grant, ent: EnterpriseProfile, query_id: Hash32) -> None:
        """The enterprise's bureau answers the query with its rating, sealed; the bank checks."""
        sim = self.sim
        ledger = sim.deployed
        rating = self._rating(ent)
        sender = sim.ring.account(rating.bureau)
        recipient = sim.ring.account(grant.bank)
        sealed = seal_for(
            ledger,
            sender,
            recipient.address,
            canonical_json(rating.record),
            recipient_key=self._published_key(recipient.address),
            query_id=query_id,
        )
        sim.writes.record_report_share(rating.bureau, query_id, grant.bank, sealed.ciphertext_hash)
        sim.metrics.consent.reports_shared += 1
        envelope = sealed.to_bytes()  # what travels off chain
        received = receive_report(
            ledger,
            recipient.address,
            self.keys[grant.bank],
            query_id=query_id,
            sealed=SealedReport.from_bytes(envelope),
            uid=rating.uid,
            fields=rating.fields,
        )
        if keccak(received.report) == bytes(rating.fields.data_hash):
            sim.metrics.consent.reports_verified += 1
        self.shares.append(Share(grant.bank, query_id, envelope, rating.uid, rating.fields))

    def _published_key(self, member: str) -> bytes:
        """The member's X25519 key as published on chain (read once: members publish at set-up)."""
        key = self._published.get(member)
        if key is None:
            found = self.sim.deployed.consortium.member(member)
            assert found is not None, f"{member} is not a member"
            assert found.encryption_key, f"{member} published no key"
            key = self._published[member] = found.encryption_key
        return key

    # -- disputes -------------------------------------------------------------------
    def maybe_dispute(self, written: Written, rate: float) -> None:
        """The record's subject disputes it with probability ``rate`` (records with a UID)."""
        if written.uid is None or self.rng.random() >= rate:
            return
        sim = self.sim
        ledger = sim.deployed
        ent = sim.profile_of_subject(bytes(written.fields.subject))
        reason = keccak(f"dispute of {written.schema.name} record, day {written.day}".encode())
        signed = ledger.disputes.sign_dispute(
            sim.ring.account(ent.spec.label),
            written.uid,
            written.fields,
            reason,
            nonce=self._nonce(f"dispute:{ent.spec.label}"),
            deadline=ledger.chain.now() + SIGNATURE_LIFETIME,
        )
        dispute_id = sim.writes.raise_dispute(f"bureau:{ent.spec.city.name.lower()}", signed)
        d = sim.metrics.disputes
        d.raised += 1
        d.raised_by_schema[written.schema.name] += 1
        d.raised_by_day[sim.metrics.day] += 1
        late = self.rng.random() < sim.config.late_dispute_rate
        after = self.rng.randint(21, 30) if late else self.rng.randint(1, 19)
        due_day = sim.metrics.day + after
        dispute = OpenDispute(dispute_id, written, self.rng.random() < UPHOLD_RATE, due_day)
        self.due.setdefault(due_day, []).append(dispute)

    def _resolve(self, dispute: OpenDispute, day: int) -> None:
        sim = self.sim
        ledger = sim.deployed
        attester = dispute.written.member
        # A suspended attester cannot answer; the regulator answers for it.
        resolver = REGULATOR.label if attester == sim.suspended() else attester
        d = sim.metrics.disputes
        if dispute.uphold:
            assert dispute.written.uid is not None
            sim.writes.revoke(resolver, dispute.written.uid, keccak(b"corrected after dispute"))
            late = sim.writes.resolve_dispute(
                resolver, dispute.dispute_id, keccak(b"record revoked"), uphold=True
            )
            d.upheld += 1
        else:
            late = sim.writes.resolve_dispute(
                resolver,
                dispute.dispute_id,
                keccak(b"record confirmed against the loan file"),
                uphold=False,
            )
            d.rejected += 1
            self.rejected.append(dispute)
            if self.complaint_rng.random() < COMPLAINT_RATE:
                when = day + self.complaint_rng.randint(*COMPLAINT_AFTER_DAYS)
                complaint = Complaint(dispute.dispute_id, dispute.written)
                self.complaints_due.setdefault(when, []).append(complaint)
        d.resolved_late += int(late)
        d.resolved_by_day[day] += 1
        on_chain = ledger.disputes.dispute(dispute.dispute_id)
        assert on_chain is not None
        raised_at = on_chain.deadline - 20 * DAY
        d.resolution_days.append((on_chain.resolved_at - raised_at) / DAY)

    # -- complaints (投诉, art. 26) -------------------------------------------------------
    def _complain(self, complaint: Complaint, day: int) -> None:
        """The enterprise signs its complaint; its city's bureau relays it."""
        sim = self.sim
        ledger = sim.deployed
        ent = sim.profile_of_subject(bytes(complaint.written.fields.subject))
        reason = keccak(f"complaint of dispute {complaint.dispute_id}, day {day}".encode())
        signed = ledger.disputes.sign_complaint(
            sim.ring.account(ent.spec.label),
            complaint.dispute_id,
            reason,
            nonce=self._nonce(f"dispute:{ent.spec.label}"),  # one nonce space with disputes
            deadline=ledger.chain.now() + SIGNATURE_LIFETIME,
        )
        complaint.complaint_id = sim.writes.file_complaint(
            f"bureau:{ent.spec.city.name.lower()}", signed
        )
        complaint.uphold = self.complaint_rng.random() < COMPLAINT_UPHOLD_RATE
        sim.metrics.disputes.complaints += 1
        when = day + self.complaint_rng.randint(*COMPLAINT_ANSWER_DAYS)
        self.complaints_answered.setdefault(when, []).append(complaint)

    def _answer_complaint(self, complaint: Complaint) -> None:
        """The regulator answers: it revokes the record and upholds, or rejects."""
        sim = self.sim
        d = sim.metrics.disputes
        uid = complaint.written.uid
        assert uid is not None
        info = sim.deployed.attestations.attestation(uid)
        assert info is not None
        corrected = bool(info.revoked_at) or info.replaced_by is not None
        # The answer follows the record: one corrected since is upheld as it stands.
        if complaint.uphold or corrected:
            if not corrected:
                sim.writes.revoke(REGULATOR.label, uid, keccak(b"revoked on complaint"))
            sim.writes.resolve_complaint(
                REGULATOR.label, complaint.complaint_id, keccak(b"complaint upheld"), uphold=True
            )
            d.complaints_upheld += 1
        else:
            sim.writes.resolve_complaint(
                REGULATOR.label,
                complaint.complaint_id,
                keccak(b"the record stands: complaint rejected"),
                uphold=False,
            )
            d.complaints_rejected += 1


def seal_for(
    ledger: Ledger,
    sender: LocalAccount,
    recipient: str,
    report: bytes,
    *,
    recipient_key: bytes,
    query_id: bytes,
) -> SealedReport:
    """Seal ``report`` to ``recipient``'s published key for this query.

    Sealing is randomised (ephemeral key, nonces), so the envelope's hash is too,
    and calldata costs 4 gas per zero byte and 16 per other byte. The envelope is
    sealed again (fresh randomness) until its hash has no zero byte, so the gas
    of recording it, and the run's figures, are the same for the same seed.
    """
    context = report_context(ledger, query_id, sender.address, recipient)
    while True:
        sealed = seal_report(report, recipient_key, context=context)
        if 0 not in sealed.ciphertext_hash:
            return sealed
