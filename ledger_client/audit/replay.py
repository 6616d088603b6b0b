"""Replay a deployment's events into the ledger's state, checking the rules on the way.

The replay is the auditor's own model of the contracts: it reads nothing but
events, in chain order, and folds them into a :class:`~.state.LedgerState`
(members and their standing, schemas, attestations, batches, authorisations,
queries, shared reports, disputes and complaints, receivables and their parts). Each event is
checked against that state *before* it is applied, so an event the contracts
should never have let through becomes a :class:`~.state.Breach` naming the
transaction, block and log that caused it.

The replay takes any iterable of events with the attributes of
:class:`~ledger_client.index.IndexedEvent` (contract name, event name, decoded
args, block, timestamp, transaction hash, log index): the event index's stored
events, or a synthetic stream built by a test::

    replay = Replay()
    for event in index.events():
        replay.apply(event)
    breaches = replay.finish(now=head_timestamp)
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from eth_abi.abi import encode as abi_encode

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.merkle import MerkleTree, anchored_batch_id, keccak256
from ledger_client.attestations.signed_records import signed_leaf, split_claim
from ledger_client.audit.state import (
    AgreementState,
    AttestationState,
    AuthorisationState,
    BatchRecordState,
    BatchState,
    Breach,
    ComplaintState,
    DisputeState,
    EventLike,
    EventRef,
    ExposureState,
    FacilityState,
    LedgerState,
    MemberState,
    PartState,
    PledgeState,
    QueryState,
    ReceivableState,
    SchemaState,
    ShareState,
)
from ledger_client.contracts.receivables import DEFAULT_GRACE_PERIOD, receivable_label
from ledger_client.lending import CollateralKind, asset_id, facility_id
from ledger_client.types import (
    DISPUTE_RESOLUTION_PERIOD,
    City,
    ComplaintStatus,
    DisputeStatus,
    ReceivableStatus,
    Role,
)

__all__ = [
    "Replay",
    "attestation_uid",
    "default_data_hash",
    "query_id",
    "schema_id",
]

ZERO32 = bytes(32)
ZERO_ADDRESS = "0x" + "00" * 20
DAY = 86_400
_PART_BITS = 24
_PART_MASK = (1 << _PART_BITS) - 1
_PURPOSE_MAX = 5
_MAX_DISCOUNT_BPS = 10_000
_MAX_PARTS = 256  # Receivables._MAX_PARTS

_PENDING = int(ReceivableStatus.PENDING)
_REJECTED = int(ReceivableStatus.REJECTED)
_ACTIVE = int(ReceivableStatus.ACTIVE)
_FINANCED = int(ReceivableStatus.FINANCED)
_PAID = int(ReceivableStatus.PAID)
_OVERDUE = int(ReceivableStatus.OVERDUE)
_OPEN = int(DisputeStatus.OPEN)
_RECEIVABLE = int(CollateralKind.RECEIVABLE)
_MOVABLE = int(CollateralKind.MOVABLE)
_FACILITY_CLOSED = 2  # ICreditFacilities.FacilityStatus.Closed
_AGREEMENT_ACTIVE = 2  # ICreditFacilities.AgreementStatus.Active
_AGREEMENT_ENDED = 3


# -- ids, recomputed from the fields they commit to -------------------------------------


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(account: str) -> bytes:
    return bytes(12) + bytes.fromhex(account.removeprefix("0x"))


def attestation_uid(
    schema: bytes,
    subject: bytes,
    data_hash: bytes,
    *,
    ref_uid: bytes,
    attester: str,
    attested_at: int,
    expiry: int,
) -> bytes:
    """``keccak256(abi.encode(schema, subject, dataHash, refUID, attester, time, expiry))``."""
    return keccak256(
        schema
        + subject
        + data_hash
        + ref_uid
        + _address_word(attester)
        + _word(attested_at)
        + _word(expiry)
    )


def query_id(auth_id: bytes, query_hash: bytes) -> bytes:
    """``keccak256(abi.encode(authId, queryHash))``."""
    return keccak256(auth_id + query_hash)


def schema_id(name: str, layout: str, revocable: bool) -> bytes:
    """``keccak256(abi.encode(name, layout, revocable))``."""
    return keccak256(abi_encode(["string", "string", "bool"], [name, layout, revocable]))


def default_data_hash(
    debtor: bytes, receivable_id: bytes, amount: int, due_date: int, days_overdue: int
) -> bytes:
    """The dataHash of a ``receivable-default`` attestation (IReceivables.markOverdue)."""
    return keccak256(debtor + receivable_id + _word(amount) + _word(due_date) + _word(days_overdue))


def invoice_key(debtor: bytes, commitment: bytes) -> bytes:
    """Where Receivables records a debtor's invoice commitment: ``keccak256(abi.encode(debtor,
    commitment))``."""
    return keccak256(debtor + commitment)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _when(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _role_names(role: int) -> str:
    return " or ".join(Role(role).names()) if role else "any"


Handler = Callable[[dict[str, Any], EventRef], None]


class Replay:
    """The state machine of the ledger's rules, fed one event at a time in chain order."""

    def __init__(
        self,
        *,
        grace_period: int = DEFAULT_GRACE_PERIOD,
        receivables_address: str | None = None,
        default_schema: bytes | None = None,
    ) -> None:
        """``grace_period`` is the Receivables contract's (a constructor argument).

        ``receivables_address`` and ``default_schema``, when given, are checked
        against the ``receivable-default`` attestations made when a part is
        marked overdue.
        """
        self.state = LedgerState()
        self.breaches: list[Breach] = []
        self.grace_period = grace_period
        self.receivables_address = receivables_address
        self.default_schema = default_schema
        self._pending_batch: tuple[BatchState, EventRef] | None = None
        self._finished = False
        self._handlers: dict[tuple[str, str], Handler] = {
            ("Consortium", "MemberAdmitted"): self._member_admitted,
            ("Consortium", "MemberRolesChanged"): self._roles_changed,
            ("Consortium", "MemberSuspended"): self._member_suspended,
            ("Consortium", "MemberReinstated"): self._member_reinstated,
            ("Consortium", "EncryptionKeyPublished"): self._key_published,
            ("Consortium", "EnterpriseBound"): self._enterprise_bound,
            ("Consortium", "EnterpriseRebound"): self._enterprise_rebound,
            ("Attestations", "SchemaRegistered"): self._schema_registered,
            ("Attestations", "Attested"): self._attested,
            ("Attestations", "Revoked"): self._revoked,
            ("Attestations", "Replaced"): self._replaced,
            ("Attestations", "BatchAnchored"): self._batch_anchored,
            ("Attestations", "SignedBatchAnchored"): self._signed_batch_anchored,
            ("Attestations", "BatchRecordRevoked"): self._batch_record_revoked,
            ("Disputes", "DisputeRaised"): self._dispute_raised,
            ("Disputes", "DisputeRejected"): self._dispute_rejected,
            ("Disputes", "DisputeUpheld"): self._dispute_upheld,
            ("Disputes", "ComplaintFiled"): self._complaint_filed,
            ("Disputes", "ComplaintResolved"): self._complaint_resolved,
            ("Authorisations", "Authorised"): self._authorised,
            ("Authorisations", "AuthorisationWithdrawn"): self._withdrawn,
            ("Authorisations", "QueryLogged"): self._query_logged,
            ("Authorisations", "ReportShared"): self._report_shared,
            ("Receivables", "ReceivableIssued"): self._issued,
            ("Receivables", "ReceivableAccepted"): self._accepted,
            ("Receivables", "ReceivableRejected"): self._rejected,
            ("Receivables", "ReceivableTransferred"): self._transferred,
            ("Receivables", "ReceivableSplit"): self._split,
            ("Receivables", "FinancingRequested"): self._financing_requested,
            ("Receivables", "FinancingRequestWithdrawn"): self._request_withdrawn,
            ("Receivables", "ReceivableFinanced"): self._financed,
            ("Receivables", "FinancingReleased"): self._released,
            ("Receivables", "ReceivableSettled"): self._settled,
            ("Receivables", "ReceivableMarkedOverdue"): self._marked_overdue,
            ("CollateralRegistry", "CollateralPledged"): self._pledged,
            ("CollateralRegistry", "PledgeAmended"): self._pledge_amended,
            ("CollateralRegistry", "PledgeReleased"): self._pledge_released,
            ("CreditFacilities", "JointAgreementProposed"): self._joint_proposed,
            ("CreditFacilities", "JointAgreementJoined"): self._joint_joined,
            ("CreditFacilities", "JointAgreementAccepted"): self._joint_accepted,
            ("CreditFacilities", "JointAgreementActivated"): self._joint_activated,
            ("CreditFacilities", "JointAgreementFlagged"): self._joint_flagged,
            ("CreditFacilities", "JointAgreementFlagCleared"): self._joint_flag_cleared,
            ("CreditFacilities", "JointAgreementEnded"): self._joint_ended,
            ("CreditFacilities", "FacilityRegistered"): self._facility_registered,
            ("CreditFacilities", "FacilityAmended"): self._facility_amended,
            ("CreditFacilities", "FacilityClosed"): self._facility_closed,
            ("CreditFacilities", "FacilityDrawn"): self._drawn,
            ("CreditFacilities", "FacilityRepaid"): self._repaid,
        }

    # -- driving ------------------------------------------------------------------
    def run(self, events: Iterable[EventLike], *, now: int | None = None) -> list[Breach]:
        """Apply every event, then :meth:`finish` at ``now`` (the last event's time)."""
        for event in events:
            self.apply(event)
        return self.finish(now if now is not None else self.state.last_timestamp)

    def apply(self, event: EventLike) -> None:
        """Check ``event`` against the state, record any breach, then fold it in."""
        if self._finished:
            raise RuntimeError("the replay is finished; start a new one")
        if self._pending_batch is not None and (
            event.tx_hash != self._pending_batch[1].tx_hash or event.name != "SignedBatchAnchored"
        ):
            self._settle_batch_role()
        s = self.state
        if s.events == 0:
            s.first_block = event.block_number
        s.events += 1
        s.last_block = event.block_number
        s.last_timestamp = event.block_timestamp
        handler = self._handlers.get((event.contract, event.name))
        if handler is not None:
            handler(event.args, EventRef.of(event))

    def finish(self, now: int) -> list[Breach]:
        """Close the stream at ``now`` (UNIX seconds of the audited block): flag what is due.

        Returns every breach found, in chain order.
        """
        if not self._finished:
            self._finished = True
            if self._pending_batch is not None:
                self._settle_batch_role()
            for d in self.state.disputes.values():
                if d.status == _OPEN and now >= d.deadline:
                    self._breach(
                        "DisputeOverdue",
                        f"dispute #{d.dispute_id} over attestation {_hex(d.uid)}, raised "
                        f"{_when(d.raised_at)}, is still open {(now - d.raised_at) // DAY} days "
                        f"later: its deadline was {_when(d.deadline)} and "
                        f"{self._who(d.attester)} has not answered it",
                        d.raised,
                    )
            self.breaches.sort(key=lambda b: (b.block, b.log_index))
        return self.breaches

    # -- helpers ------------------------------------------------------------------
    def _breach(self, name: str, detail: str, ref: EventRef) -> None:
        self.breaches.append(Breach.at(name, detail, ref))

    def _who(self, account: str) -> str:
        m = self.state.members.get(account)
        return f"{m.name} ({account})" if m else account

    def _city(self, account: str) -> int:
        m = self.state.members.get(account)
        return m.city if m else 0

    def _require_role(self, account: str, role: int, ref: EventRef, what: str) -> None:
        """The consortium's requireRole: a member holding every role in ``role``, not suspended."""
        m = self.state.members.get(account)
        if m is None or m.roles & role != role:
            self._breach(
                "WriteWithoutRole",
                f"{what}: {self._who(account)} was not a member holding the "
                f"{_role_names(role)} role",
                ref,
            )
        elif m.suspended:
            self._breach(
                "WriteBySuspendedMember",
                f"{what}: {m.name} ({account}) was suspended since {_when(m.suspended_at)}",
                ref,
            )

    def _require_any_role(self, account: str, roles: int, ref: EventRef, what: str) -> None:
        """A member in good standing holding at least one of ``roles``."""
        m = self.state.members.get(account)
        if m is None or m.roles & roles == 0:
            self._breach(
                "WriteWithoutRole",
                f"{what}: {self._who(account)} was not a member holding the "
                f"{_role_names(roles)} role",
                ref,
            )
        elif m.suspended:
            self._breach(
                "WriteBySuspendedMember",
                f"{what}: {m.name} ({account}) was suspended since {_when(m.suspended_at)}",
                ref,
            )

    def _require_attester_or_regulator(
        self, actor: str, attester: str, ref: EventRef, what: str
    ) -> None:
        # Attestations._requireRevoker and Disputes._openForResolver.
        if actor == attester:
            self._require_role(actor, int(Role.ATTESTER), ref, what)
        else:
            self._require_role(actor, int(Role.REGULATOR), ref, what)

    def _require_bound(self, account: str, subject: bytes, ref: EventRef, what: str) -> None:
        if self.state.accounts.get(account) != subject:
            self._breach(
                "WriteWithoutRole",
                f"{what}: {account} was not the account bound to enterprise {_hex(subject)}",
                ref,
            )

    def _require_known_subject(self, subject: bytes, ref: EventRef, what: str) -> None:
        if subject not in self.state.enterprises:
            self._breach(
                "UnknownReference", f"{what}: enterprise {_hex(subject)} was never bound", ref
            )

    # -- Consortium -----------------------------------------------------------------
    def _member_admitted(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        account, regulator = a["account"], a["regulator"]
        # The constructor admits the deployer as the first regulator, by itself.
        if s.members or account != regulator:
            self._require_role(regulator, int(Role.REGULATOR), ref, "admitting a member")
        if account in s.members:
            self._breach("IllegalTransition", f"{account} was admitted twice", ref)
            return
        if account in s.accounts:
            self._breach(
                "IllegalTransition", f"{account} is an enterprise's account, admitted", ref
            )
        s.members[account] = MemberState(
            account=account,
            name=a["name"],
            city=int(a["city"]),
            roles=int(a["roles"]),
            admitted_at=ref.timestamp,
            changed_at=ref.timestamp,
            last=ref,
        )
        s.member_order.append(account)

    def _existing_member(self, account: str, ref: EventRef, what: str) -> MemberState | None:
        m = self.state.members.get(account)
        if m is None:
            self._breach("UnknownReference", f"{what}: {account} is not a member", ref)
        return m

    def _roles_changed(self, a: dict[str, Any], ref: EventRef) -> None:
        self._require_role(a["regulator"], int(Role.REGULATOR), ref, "changing a member's roles")
        m = self._existing_member(a["account"], ref, "changing roles")
        if m is not None:
            m.roles, m.changed_at, m.last = int(a["roles"]), ref.timestamp, ref

    def _member_suspended(self, a: dict[str, Any], ref: EventRef) -> None:
        self._require_role(a["regulator"], int(Role.REGULATOR), ref, "suspending a member")
        m = self._existing_member(a["account"], ref, "suspending")
        if m is None:
            return
        if m.suspended:
            self._breach("IllegalTransition", f"{m.name} was suspended twice", ref)
        m.suspended, m.suspended_at, m.changed_at, m.last = True, ref.timestamp, ref.timestamp, ref

    def _member_reinstated(self, a: dict[str, Any], ref: EventRef) -> None:
        self._require_role(a["regulator"], int(Role.REGULATOR), ref, "reinstating a member")
        m = self._existing_member(a["account"], ref, "reinstating")
        if m is None:
            return
        if not m.suspended:
            self._breach("IllegalTransition", f"{m.name} was reinstated while not suspended", ref)
        m.suspended, m.suspended_at, m.changed_at, m.last = False, 0, ref.timestamp, ref

    def _key_published(self, a: dict[str, Any], ref: EventRef) -> None:
        m = self.state.members.get(a["account"])
        if m is None:
            self._breach(
                "WriteWithoutRole", f"{a['account']} published a key but is not a member", ref
            )
            return
        if m.suspended:
            self._breach(
                "WriteBySuspendedMember",
                f"publishing an encryption key: {m.name} was suspended since "
                f"{_when(m.suspended_at)}",
                ref,
            )
        m.encryption_key, m.last = bytes(a["key"]), ref

    def _enterprise_bound(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        subject, account = bytes(a["subject"]), a["account"]
        self._require_role(a["registrar"], int(Role.REGISTRAR), ref, "binding an enterprise")
        if subject in s.enterprises or account in s.accounts or account in s.members:
            self._breach(
                "IllegalTransition",
                f"enterprise {_hex(subject)} bound to {account}, but the subject or the "
                "account was bound already (or the account is a member's)",
                ref,
            )
        s.enterprises[subject] = account
        s.accounts[account] = subject

    def _enterprise_rebound(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        subject, old, new = bytes(a["subject"]), a["oldAccount"], a["newAccount"]
        self._require_role(a["registrar"], int(Role.REGISTRAR), ref, "rebinding an enterprise")
        if s.enterprises.get(subject) != old:
            self._breach(
                "IllegalTransition",
                f"enterprise {_hex(subject)} rebound from {old}, which was not its account",
                ref,
            )
        s.accounts.pop(old, None)
        s.enterprises[subject] = new
        s.accounts[new] = subject

    # -- schemas and attestations ---------------------------------------------------
    def _schema_registered(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        sid = bytes(a["schema"])
        self._require_role(a["regulator"], int(Role.REGULATOR), ref, "registering a schema")
        if schema_id(a["name"], a["layout"], bool(a["revocable"])) != sid:
            self._breach("IdMismatch", f"schema {_hex(sid)} is not the hash of {a['name']!r}", ref)
        if sid in s.schemas:
            self._breach("IllegalTransition", f"schema {a['name']!r} registered twice", ref)
            return
        s.schemas[sid] = SchemaState(
            schema_id=sid,
            name=a["name"],
            layout=a["layout"],
            revocable=bool(a["revocable"]),
            index=len(s.schemas) + 1,
            registered_at=ref.timestamp,
            regulator=a["regulator"],
            last=ref,
        )

    def _check_schema(self, schema: bytes, ref: EventRef, what: str) -> SchemaState | None:
        found = self.state.schemas.get(schema)
        if found is None:
            self._breach(
                "UnknownReference", f"{what}: schema {_hex(schema)} is not registered", ref
            )
        return found

    def _check_expiry(self, expiry: int, ref: EventRef, what: str) -> None:
        if expiry != 0 and expiry <= ref.timestamp:
            self._breach(
                "IllegalTransition",
                f"{what} expires at {_when(expiry)}, not after its own block",
                ref,
            )

    def _attested(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        uid, schema, subject = bytes(a["uid"]), bytes(a["schema"]), bytes(a["subject"])
        attester, data_hash, ref_uid = a["attester"], bytes(a["dataHash"]), bytes(a["refUID"])
        expiry = int(a["expiry"])
        what = f"attestation {_hex(uid)}"
        self._require_role(attester, int(Role.ATTESTER), ref, what)
        self._check_schema(schema, ref, what)
        self._check_expiry(expiry, ref, what)
        if ZERO32 in (subject, data_hash):
            self._breach("IllegalTransition", f"{what} has a zero subject or record hash", ref)
        if (
            ref_uid != ZERO32
            and ref_uid not in s.attestations
            and self._batch_record(ref_uid, attester, ref) is None
        ):
            self._breach(
                "UnknownReference", f"{what} refers to {_hex(ref_uid)}, never attested", ref
            )
        expected = attestation_uid(
            schema,
            subject,
            data_hash,
            ref_uid=ref_uid,
            attester=attester,
            attested_at=ref.timestamp,
            expiry=expiry,
        )
        if expected != uid:
            self._breach(
                "IdMismatch",
                f"{what} is not the hash of its fields (schema, subject, record hash, reference, "
                f"attester, time, expiry), which give {_hex(expected)}",
                ref,
            )
        if uid in s.attestations:
            self._breach("IllegalTransition", f"{what} was made twice", ref)
            return
        s.attestations[uid] = AttestationState(
            uid=uid,
            schema=schema,
            subject=subject,
            attester=attester,
            data_hash=data_hash,
            expiry=expiry,
            ref_uid=ref_uid,
            attested_at=ref.timestamp,
            city=self._city(attester),
            last=ref,
        )

    def _batch_record(self, uid: bytes, attester: str, ref: EventRef) -> BatchRecordState | None:
        """The batch record ``uid``, if one can be: a signed batch's records are known from
        the leaves the chain checked; an unsigned batch's leaves stay off chain, so an id an
        event names for the first time is taken as a record of one of ``attester``'s
        unsigned batches when it anchored any (the chain checked its proof)."""
        s = self.state
        found = s.batch_records.get(uid)
        if found is not None:
            return found
        if not any(b.attester == attester and not b.signed for b in s.batches.values()):
            return None
        found = BatchRecordState(record_id=uid, batch_id=ZERO32, attester=attester, last=ref)
        s.batch_records[uid] = found
        return found

    def _record(self, uid: bytes) -> AttestationState | BatchRecordState | None:
        """An attestation or a batch record, by its UID or record id."""
        return self.state.attestations.get(uid) or self.state.batch_records.get(uid)

    def _existing_attestation(
        self, uid: bytes, ref: EventRef, what: str
    ) -> AttestationState | None:
        found = self.state.attestations.get(uid)
        if found is None:
            self._breach("UnknownReference", f"{what}: {_hex(uid)} was never attested", ref)
        return found

    def _revocable(self, schema: bytes) -> bool:
        found = self.state.schemas.get(schema)
        return found is None or found.revocable  # an unknown schema was reported already

    def _revoked(self, a: dict[str, Any], ref: EventRef) -> None:
        uid, revoker = bytes(a["uid"]), a["revoker"]
        att = self._existing_attestation(uid, ref, "revoking")
        if att is None:
            return
        what = f"revoking {_hex(uid)}"
        self._require_attester_or_regulator(revoker, att.attester, ref, what)
        if not self._revocable(att.schema):
            self._breach("IllegalTransition", f"{what}: its schema is not revocable", ref)
        if att.revoked_at:
            self._breach("IllegalTransition", f"{what}: revoked already", ref)
            return
        att.revoked_at, att.last = ref.timestamp, ref

    def _replaced(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        old_uid, new_uid, attester = bytes(a["oldUid"]), bytes(a["newUid"]), a["attester"]
        record = s.batch_records.get(old_uid)
        if record is not None and old_uid not in s.attestations:
            self._batch_record_replaced(record, new_uid, attester, ref)
            return
        old = self._existing_attestation(old_uid, ref, "replacing")
        new = self._existing_attestation(new_uid, ref, "the replacement")
        if old is None or new is None:
            return
        what = f"replacing {_hex(old_uid)}"
        if attester != old.attester or new.attester != attester:
            self._breach(
                "WriteWithoutRole", f"{what}: {attester} is not the record's attester", ref
            )
        if old.revoked_at or old.replaced_by != ZERO32:
            self._breach("IllegalTransition", f"{what}: it was revoked or replaced already", ref)
        if new.ref_uid != old_uid or new.schema != old.schema or new.subject != old.subject:
            self._breach(
                "IllegalTransition",
                f"{what}: the replacement does not point back to it with the same schema and "
                "subject",
                ref,
            )
        old.replaced_by, old.last = new_uid, ref
        s.attestations[new_uid].last = ref

    def _batch_record_replaced(
        self, record: BatchRecordState, new_uid: bytes, attester: str, ref: EventRef
    ) -> None:
        what = f"replacing batch record {_hex(record.record_id)}"
        new = self._existing_attestation(new_uid, ref, "the replacement")
        if attester != record.attester or (new is not None and new.attester != attester):
            self._breach(
                "WriteWithoutRole", f"{what}: {attester} is not the record's attester", ref
            )
        if record.revoked_at or record.replaced_by != ZERO32:
            self._breach("IllegalTransition", f"{what}: it was revoked or replaced already", ref)
        if new is not None and new.ref_uid != record.record_id:
            self._breach("IllegalTransition", f"{what}: the replacement does not point back", ref)
        record.replaced_by, record.last = new_uid, ref

    def _batch_anchored(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        bid, schema, attester = anchored_batch_id(a), bytes(a["schema"]), a["anchorer"]
        root, count, expiry = bytes(a["root"]), int(a["count"]), int(a["expiry"])
        what = f"batch {_hex(bid)}"
        self._check_schema(schema, ref, what)
        self._check_expiry(expiry, ref, what)
        if root == ZERO32 or count == 0:
            self._breach("IllegalTransition", f"{what} has a zero root or no record", ref)
        if bid in s.batches:
            self._breach("IllegalTransition", f"{what} was anchored twice", ref)
            return
        batch = BatchState(
            batch_id=bid,
            schema=schema,
            attester=attester,
            root=root,
            count=count,
            expiry=expiry,
            anchored_at=ref.timestamp,
            city=self._city(attester),
            last=ref,
        )
        s.batches[bid] = batch
        # A relayed batch is marked by SignedBatchAnchored right after, in the same
        # transaction; the role it needs is known only then.
        self._pending_batch = (batch, ref)

    def _signed_batch_anchored(self, a: dict[str, Any], ref: EventRef) -> None:
        bid = bytes(a["batchId"])
        pending = self._pending_batch
        if pending is None or pending[0].batch_id != bid or pending[0].attester != a["relayer"]:
            self._breach(
                "IllegalTransition",
                f"batch {_hex(bid)} marked signed without being anchored by {a['relayer']} in "
                "the same transaction",
                ref,
            )
            return
        batch = pending[0]
        batch.signed = True
        self._settle_batch_role()
        self._signed_records(batch, a["recordHashes"], a["claims"], ref)

    def _signed_records(
        self, batch: BatchState, hashes: list[bytes], claims: list[int], ref: EventRef
    ) -> None:
        """Each leaf of a signed batch: its signer in good standing, its signature's deadline
        not passed, its nonce spent here for the first time; the root is their tree's."""
        s = self.state
        bid = batch.batch_id
        if len(hashes) != len(claims) or len(hashes) != batch.count or not hashes:
            self._breach(
                "IllegalTransition",
                f"signed batch {_hex(bid)} lists {len(hashes)} record hashes and {len(claims)} "
                f"claims for {batch.count} records",
                ref,
            )
            return
        leaves = []
        for i, (record_hash, claim) in enumerate(zip(hashes, claims, strict=True)):
            signer, nonce, deadline = split_claim(int(claim))
            what = f"record {i} of signed batch {_hex(bid)} (signed by {signer}, nonce {nonce})"
            self._require_role(signer, int(Role.ATTESTER), ref, what)
            if deadline < ref.timestamp:
                self._breach(
                    "SignedRecordLate",
                    f"{what}: anchored at {_when(ref.timestamp)}, past its signature's deadline "
                    f"{_when(deadline)}",
                    ref,
                )
            first = s.batch_nonces.get((signer, nonce))
            if first is not None:
                self._breach(
                    "SignedRecordReanchored",
                    f"{what}: the nonce was spent already by the signed batch of transaction "
                    f"{first.tx_hash}: the record is anchored twice",
                    ref,
                )
            else:
                s.batch_nonces[(signer, nonce)] = ref
            leaf = signed_leaf(bytes(record_hash), int(claim))
            leaves.append(leaf)
            record_id = keccak256(bid + leaf)
            s.batch_records[record_id] = BatchRecordState(
                record_id=record_id,
                batch_id=bid,
                attester=signer,
                last=ref,
                signed=True,
                nonce=nonce,
                deadline=deadline,
            )
        if MerkleTree(leaves).root != batch.root:
            self._breach(
                "IdMismatch",
                f"signed batch {_hex(bid)}: its root is not the tree of the leaves the chain "
                "checked",
                ref,
            )

    def _settle_batch_role(self) -> None:
        assert self._pending_batch is not None
        batch, ref = self._pending_batch
        self._pending_batch = None
        role = Role.RELAYER if batch.signed else Role.ATTESTER
        self._require_role(
            batch.attester, int(role), ref, f"anchoring batch {_hex(batch.batch_id)}"
        )

    def _batch_record_revoked(self, a: dict[str, Any], ref: EventRef) -> None:
        bid, record_id, revoker = bytes(a["batchId"]), bytes(a["recordId"]), a["revoker"]
        s = self.state
        batch = s.batches.get(bid)
        what = f"revoking record {_hex(record_id)} of batch {_hex(bid)}"
        if batch is None:
            self._breach("UnknownReference", f"{what}: the batch was never anchored", ref)
            return
        record = s.batch_records.get(record_id)
        if batch.signed and (record is None or record.batch_id != bid):
            self._breach(
                "UnknownReference",
                f"{what}: no leaf the chain checked into this signed batch has this id",
                ref,
            )
            return
        if record is None:
            record = BatchRecordState(
                record_id=record_id, batch_id=bid, attester=batch.attester, last=ref
            )
            s.batch_records[record_id] = record
        elif record.batch_id == ZERO32:
            record.batch_id = bid
        self._require_attester_or_regulator(revoker, record.attester, ref, what)
        if not self._revocable(batch.schema):
            self._breach("IllegalTransition", f"{what}: its schema is not revocable", ref)
        if record.revoked_at:
            self._breach("IllegalTransition", f"{what}: revoked already", ref)
            return
        record.revoked_at, record.last = ref.timestamp, ref
        batch.revoked_leaves[record_id] = ref.timestamp
        batch.last = ref

    # -- disputes -------------------------------------------------------------------
    def _dispute_raised(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        did, uid, subject = int(a["disputeId"]), bytes(a["uid"]), bytes(a["subject"])
        deadline, raised_by = int(a["deadline"]), a["raisedBy"]
        what = f"dispute #{did}"
        if did != len(s.disputes) + 1:
            self._breach(
                "IdMismatch", f"{what} follows dispute #{len(s.disputes)}: ids run 1, 2, ...", ref
            )
        self._require_bound(raised_by, subject, ref, f"raising {what}")
        att: AttestationState | BatchRecordState | None = s.attestations.get(uid)
        if att is None:
            att = self._batch_record(uid, a["attester"], ref)
        if att is None:
            self._breach("UnknownReference", f"{what}: {_hex(uid)} was never attested", ref)
        if isinstance(att, BatchRecordState):
            # A batch record's subject is behind its leaf: the chain checked it against the proof.
            if att.revoked_at or att.replaced_by != ZERO32:
                self._breach(
                    "IllegalTransition", f"{what}: {_hex(uid)} was revoked or replaced", ref
                )
            if att.attester != a["attester"]:
                self._breach(
                    "IllegalTransition", f"{what}: the record is not {a['attester']}'s", ref
                )
            if uid in s.open_disputes:
                self._breach(
                    "IllegalTransition",
                    f"{what}: dispute #{s.open_disputes[uid]} over the record is still open",
                    ref,
                )
        elif att is not None:
            if att.revoked_at or att.replaced_by != ZERO32:
                self._breach(
                    "IllegalTransition", f"{what}: {_hex(uid)} was revoked or replaced", ref
                )
            if att.subject != subject or att.attester != a["attester"]:
                self._breach(
                    "IllegalTransition",
                    f"{what}: the record is not about {_hex(subject)} or not {a['attester']}'s",
                    ref,
                )
            if uid in s.open_disputes:
                self._breach(
                    "IllegalTransition",
                    f"{what}: dispute #{s.open_disputes[uid]} over the record is still open",
                    ref,
                )
            earlier = s.disputes.get(s.record_disputes.get(uid, 0))
            if earlier is not None and earlier.status == int(DisputeStatus.REJECTED):
                self._breach(
                    "DisputeReraised",
                    f"{what}: {_hex(uid)} was disputed before (#{earlier.dispute_id}) and that "
                    f"dispute was rejected {_when(earlier.resolved_at)}; the remedy was a "
                    "complaint to the regulator",
                    ref,
                )
        if deadline != ref.timestamp + DISPUTE_RESOLUTION_PERIOD:
            self._breach(
                "IllegalTransition",
                f"{what}: its deadline {_when(deadline)} is not 20 days after it was raised",
                ref,
            )
        d = DisputeState(
            dispute_id=did,
            uid=uid,
            attester=a["attester"],
            subject=subject,
            raised_at=ref.timestamp,
            deadline=deadline,
            raised_by=raised_by,
            raised=ref,
            last=ref,
        )
        s.disputes[did] = d
        s.open_disputes[uid] = did
        s.record_disputes[uid] = did
        if att is not None:
            att.dispute_deadline, att.ever_disputed, att.last = deadline, True, ref

    def _resolve(self, a: dict[str, Any], ref: EventRef, status: int) -> DisputeState | None:
        s = self.state
        did, uid, resolver = int(a["disputeId"]), bytes(a["uid"]), a["resolver"]
        d = s.disputes.get(did)
        what = f"resolving dispute #{did}"
        if d is None:
            self._breach("UnknownReference", f"{what}: no such dispute was raised", ref)
            return None
        if d.status != _OPEN:
            self._breach("IllegalTransition", f"{what}: it was resolved already", ref)
            return None
        if d.uid != uid:
            self._breach("IllegalTransition", f"{what}: it is not about {_hex(uid)}", ref)
        self._require_attester_or_regulator(resolver, d.attester, ref, what)
        late = ref.timestamp >= d.deadline
        if bool(a["late"]) != late:
            self._breach(
                "IllegalTransition",
                f"{what}: the event says late={bool(a['late'])}, the block's time says {late}",
                ref,
            )
        if late:
            self._breach(
                "DisputeOverdue",
                f"dispute #{did} over {_hex(d.uid)} was answered "
                f"{(ref.timestamp - d.raised_at) / DAY:.1f} days after it was raised, past its "
                f"20-day deadline {_when(d.deadline)}",
                ref,
            )
        d.status, d.resolved_at, d.resolver, d.last = status, ref.timestamp, resolver, ref
        s.open_disputes.pop(d.uid, None)
        att = self._record(d.uid)
        if att is not None:
            att.dispute_deadline, att.last = 0, ref
        return d

    def _dispute_rejected(self, a: dict[str, Any], ref: EventRef) -> None:
        d = self._resolve(a, ref, int(DisputeStatus.REJECTED))
        if d is None:
            return
        att = self._record(d.uid)
        if att is not None and (att.revoked_at or att.replaced_by != ZERO32):
            # A rejection says the record stands; a corrected one does not.
            self._breach(
                "IllegalTransition",
                f"dispute #{d.dispute_id} rejected, but {_hex(d.uid)} had been "
                + ("replaced" if att.replaced_by != ZERO32 else "revoked"),
                ref,
            )

    def _dispute_upheld(self, a: dict[str, Any], ref: EventRef) -> None:
        d = self._resolve(a, ref, int(DisputeStatus.UPHELD))
        if d is None:
            return
        att = self._record(d.uid)
        if att is None:
            return
        if not att.revoked_at and att.replaced_by == ZERO32:
            self._breach(
                "IllegalTransition",
                f"dispute #{d.dispute_id} upheld, but {_hex(d.uid)} was neither revoked nor "
                "replaced",
                ref,
            )
        elif bytes(a["replacedBy"]) != att.replaced_by:
            self._breach(
                "IllegalTransition",
                f"dispute #{d.dispute_id} upheld naming {_hex(bytes(a['replacedBy']))} as the "
                f"correction; the record was replaced by {_hex(att.replaced_by)}",
                ref,
            )

    # -- complaints (投诉, art. 26) -----------------------------------------------------
    def _complaint_filed(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        cid, did, filed_by = int(a["complaintId"]), int(a["disputeId"]), a["filedBy"]
        what = f"complaint #{cid}"
        if cid != len(s.complaints) + 1:
            self._breach(
                "IdMismatch",
                f"{what} follows complaint #{len(s.complaints)}: ids run 1, 2, ...",
                ref,
            )
        s.complaints[cid] = ComplaintState(cid, did, ref.timestamp, filed_by, ref)
        d = s.disputes.get(did)
        if d is None:
            self._breach("UnknownReference", f"{what}: dispute #{did} was never raised", ref)
            return
        if d.uid != bytes(a["uid"]) or d.subject != bytes(a["subject"]):
            self._breach(
                "IllegalTransition", f"{what}: not the record or subject of dispute #{did}", ref
            )
        self._require_bound(filed_by, d.subject, ref, f"filing {what}")
        overdue = d.status == _OPEN and ref.timestamp >= d.deadline
        if d.status != int(DisputeStatus.REJECTED) and not overdue:
            self._breach(
                "IllegalTransition",
                f"{what}: dispute #{did} was {DisputeStatus(d.status).name.lower()}"
                + (", not yet overdue" if d.status == _OPEN else ""),
                ref,
            )
        if d.complained:
            self._breach("IllegalTransition", f"{what}: dispute #{did} was complained of", ref)
        d.complained, d.last = True, ref

    def _complaint_resolved(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        cid, regulator, upheld = int(a["complaintId"]), a["regulator"], bool(a["upheld"])
        c = s.complaints.get(cid)
        what = f"resolving complaint #{cid}"
        if c is None:
            self._breach("UnknownReference", f"{what}: no such complaint was filed", ref)
            return
        if c.status != int(ComplaintStatus.OPEN):
            self._breach("IllegalTransition", f"{what}: it was resolved already", ref)
            return
        if c.dispute_id != int(a["disputeId"]):
            self._breach("IllegalTransition", f"{what}: it is not about #{a['disputeId']}", ref)
        # Only a regulator answers a complaint: not the attester it complains of.
        self._require_role(regulator, int(Role.REGULATOR), ref, what)
        d = s.disputes.get(c.dispute_id)
        att = s.attestations.get(d.uid) if d is not None else None
        if d is not None and d.status == _OPEN:
            self._breach("IllegalTransition", f"{what}: it left dispute #{d.dispute_id} open", ref)
        if att is not None:
            corrected = bool(att.revoked_at) or att.replaced_by != ZERO32
            if corrected != upheld:
                self._breach(
                    "IllegalTransition",
                    f"{what}: {'upheld' if upheld else 'rejected'}, but {_hex(att.uid)} "
                    + ("stands" if upheld else "was corrected"),
                    ref,
                )
        c.status = int(ComplaintStatus.UPHELD if upheld else ComplaintStatus.REJECTED)
        c.resolved_at, c.regulator, c.last = ref.timestamp, regulator, ref

    # -- authorisations and the query trail --------------------------------------------
    def _require_querier(self, account: str, ref: EventRef, what: str) -> None:
        self._require_any_role(account, int(Role.ATTESTER | Role.FINANCIER), ref, what)

    def _authorised(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        auth_id, subject, member = bytes(a["authId"]), bytes(a["subject"]), a["member"]
        purpose, expiry = int(a["purpose"]), int(a["expiry"])
        what = f"authorisation {_hex(auth_id)}"
        self._require_bound(a["enterprise"], subject, ref, what)
        self._require_querier(member, ref, f"{what} of a member")
        if not 1 <= purpose <= _PURPOSE_MAX or expiry <= ref.timestamp:
            self._breach(
                "IllegalTransition", f"{what}: purpose {purpose} or expiry {expiry} invalid", ref
            )
        if auth_id in s.authorisations:
            self._breach("IllegalTransition", f"{what} was granted twice", ref)
            return
        s.authorisations[auth_id] = AuthorisationState(
            auth_id=auth_id,
            subject=subject,
            member=member,
            purpose=purpose,
            expiry=expiry,
            schemas=tuple(bytes(x) for x in a["schemas"]),
            enterprise=a["enterprise"],
            granted_at=ref.timestamp,
            last=ref,
        )

    def _withdrawn(self, a: dict[str, Any], ref: EventRef) -> None:
        auth_id = bytes(a["authId"])
        auth = self.state.authorisations.get(auth_id)
        what = f"withdrawing authorisation {_hex(auth_id)}"
        if auth is None:
            self._breach("UnknownReference", f"{what}: it was never granted", ref)
            return
        if auth.withdrawn_at:
            self._breach("IllegalTransition", f"{what}: withdrawn already", ref)
            return
        if auth.subject != bytes(a["subject"]) or auth.member != a["member"]:
            self._breach("IllegalTransition", f"{what}: the subject or member differ", ref)
        auth.withdrawn_at, auth.last = ref.timestamp, ref

    def _authorisation_problem(
        self, auth: AuthorisationState | None, member: str, subject: bytes, at: int
    ) -> str | None:
        """Why ``auth`` did not allow ``member`` to query ``subject`` at ``at``; None if it did."""
        if auth is None:
            return "no such authorisation was ever granted"
        if auth.member != member:
            return f"it was granted to {self._who(auth.member)}, not to {self._who(member)}"
        if auth.subject != subject:
            return f"it is about enterprise {_hex(auth.subject)}, not {_hex(subject)}"
        if auth.withdrawn_at:
            return f"the enterprise withdrew it at {_when(auth.withdrawn_at)}"
        if at >= auth.expiry:
            return f"it lapsed at {_when(auth.expiry)}"
        return None

    def _query_logged(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        auth_id, qid, member = bytes(a["authId"]), bytes(a["queryId"]), a["member"]
        subject, purpose, schema = bytes(a["subject"]), int(a["purpose"]), bytes(a["schema"])
        query_hash = bytes(a["queryHash"])
        what = f"query {_hex(qid)} by {self._who(member)}"
        self._require_querier(member, ref, what)
        auth = s.authorisations.get(auth_id)
        problem = self._authorisation_problem(auth, member, subject, ref.timestamp)
        if problem is None and auth is not None:
            if purpose != auth.purpose:
                problem = f"it is for purpose {auth.purpose}, the query for {purpose}"
            elif auth.schemas and schema not in auth.schemas:
                problem = "it does not cover " + (
                    "a full report" if schema == ZERO32 else f"schema {_hex(schema)}"
                )
        if problem is not None:
            self._breach(
                "QueryWithoutAuthorisation",
                f"{what} under authorisation {_hex(auth_id)}: {problem}",
                ref,
            )
        if query_id(auth_id, query_hash) != qid:
            self._breach(
                "IdMismatch", f"{what}: not the hash of its authorisation and query hash", ref
            )
        if query_hash == ZERO32:
            self._breach("IllegalTransition", f"{what}: zero query hash", ref)
        if qid in s.queries:
            self._breach("IllegalTransition", f"{what}: logged twice", ref)
            return
        s.queries[qid] = QueryState(
            query_id=qid,
            auth_id=auth_id,
            subject=subject,
            member=member,
            purpose=purpose,
            schema=schema,
            query_hash=query_hash,
            queried_at=ref.timestamp,
            last=ref,
        )

    def _report_shared(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        qid, sender, recipient = bytes(a["queryId"]), a["sender"], a["recipient"]
        ciphertext = bytes(a["ciphertextHash"])
        what = f"report shared for query {_hex(qid)}"
        query = s.queries.get(qid)
        if query is None:
            self._breach("UnknownReference", f"{what}: the query was never logged", ref)
            return
        self._require_role(sender, int(Role.ATTESTER), ref, what)
        if recipient != query.member:
            self._breach(
                "IllegalTransition", f"{what}: sent to {recipient}, not to the querier", ref
            )
        m = s.members.get(recipient)
        if m is not None and m.suspended:
            self._breach(
                "WriteBySuspendedMember", f"{what}: the recipient {m.name} was suspended", ref
            )
        if m is None or bytes(a["recipientKey"]) != m.encryption_key or m.encryption_key == ZERO32:
            self._breach(
                "IllegalTransition", f"{what}: sealed to a key the recipient never published", ref
            )
        auth = s.authorisations.get(query.auth_id)
        problem = self._authorisation_problem(auth, query.member, query.subject, ref.timestamp)
        if problem is not None:
            self._breach(
                "QueryWithoutAuthorisation",
                f"{what}: its authorisation {_hex(query.auth_id)} was no longer in force: "
                f"{problem}",
                ref,
            )
        key = (qid, ciphertext)
        if key in s.shares:
            self._breach("IllegalTransition", f"{what}: recorded twice", ref)
            return
        s.shares[key] = ShareState(qid, ciphertext, sender, recipient, ref.timestamp, ref)

    # -- receivables ----------------------------------------------------------------
    def _part(self, part_id: bytes, ref: EventRef, what: str) -> PartState | None:
        found = self.state.parts.get(part_id)
        if found is None:
            self._breach(
                "UnknownReference", f"{what}: {receivable_label(part_id)} was never issued", ref
            )
        return found

    def _terms(self, part: PartState) -> ReceivableState:
        return self.state.receivables[part.root]

    def _check_status(
        self, part: PartState, allowed: tuple[int, ...], ref: EventRef, what: str
    ) -> bool:
        if part.status in allowed:
            return True
        self._breach(
            "IllegalTransition",
            f"{what}: {receivable_label(part.part_id)} was "
            f"{ReceivableStatus(part.status).name.lower()}",
            ref,
        )
        return False

    def _check_movable(self, part: PartState, ref: EventRef, what: str) -> None:
        # Receivables._requireMovable: Active and before maturity.
        self._check_status(part, (_ACTIVE,), ref, what)
        due = self._terms(part).due_date
        if ref.timestamp >= due:
            self._breach(
                "IllegalTransition",
                f"{what}: {receivable_label(part.part_id)} matured at {_when(due)}",
                ref,
            )

    def _check_holder(self, part: PartState, subject: bytes, ref: EventRef, what: str) -> None:
        if part.holder != subject:
            self._breach(
                "IllegalTransition",
                f"{what}: {_hex(subject)} did not hold {receivable_label(part.part_id)}",
                ref,
            )

    def _check_total(self, terms: ReceivableState, ref: EventRef) -> None:
        parts, base = self.state.parts, int.from_bytes(terms.root, "big")
        total = sum(parts[(base | i).to_bytes(32, "big")].amount for i in range(terms.part_count))
        if total != terms.face_value:
            self._breach(
                "PartsDoNotAddUp",
                f"the parts of {receivable_label(terms.root)} add up to {total:,} fen, its face "
                f"value is {terms.face_value:,} fen",
                ref,
            )

    def _issued(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        rid, debtor, supplier = bytes(a["id"]), bytes(a["debtor"]), bytes(a["supplier"])
        amount, due = int(a["amount"]), int(a["dueDate"])
        invoices = tuple(bytes(x) for x in a["invoiceCommitments"])
        label = receivable_label(rid)
        expected = (len(s.receivables) + 1) << _PART_BITS
        if int.from_bytes(rid, "big") != expected:
            self._breach(
                "IdMismatch", f"{label} follows {len(s.receivables)} issued receivables", ref
            )
        self._require_known_subject(debtor, ref, f"issuing {label}")
        self._require_known_subject(supplier, ref, f"issuing {label}")
        if debtor == supplier or amount == 0 or due <= ref.timestamp or not invoices:
            self._breach(
                "IllegalTransition",
                f"issuing {label}: the parties, amount, due date or invoices are invalid",
                ref,
            )
        seen: set[bytes] = set()
        for invoice in invoices:
            backing = s.invoices.get(invoice_key(debtor, invoice))
            if backing is not None or invoice in seen:
                first = receivable_label(backing) if backing is not None else label
                self._breach(
                    "InvoiceReused",
                    f"{label} was issued against invoice commitment {_hex(invoice)}, which "
                    f"already backs {first} of the same debtor",
                    ref,
                )
            seen.add(invoice)
        if rid in s.receivables:
            self._breach("IllegalTransition", f"{label} was issued twice", ref)
            return
        for invoice in invoices:
            s.invoices.setdefault(invoice_key(debtor, invoice), rid)
            s.invoices_seen[invoice_key(debtor, invoice)] = rid
        s.receivables[rid] = ReceivableState(
            root=rid,
            debtor=debtor,
            face_value=amount,
            due_date=due,
            issued_at=ref.timestamp,
            contract_hash=bytes(a["contractHash"]),
            invoices=invoices,
            last=ref,
        )
        s.parts[rid] = PartState(
            part_id=rid,
            root=rid,
            parent=ZERO32,
            holder=supplier,
            amount=amount,
            tier=1,
            created_at=ref.timestamp,
            last=ref,
            status=_PENDING,
        )

    def _accepted(self, a: dict[str, Any], ref: EventRef) -> None:
        part = self._part(bytes(a["id"]), ref, "accepting")
        if part is None:
            return
        self._check_holder(part, bytes(a["supplier"]), ref, "accepting")
        self._check_status(part, (_PENDING,), ref, "accepting")
        part.status, part.last = _ACTIVE, ref

    def _rejected(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        part = self._part(bytes(a["id"]), ref, "rejecting")
        if part is None:
            return
        self._check_holder(part, bytes(a["supplier"]), ref, "rejecting")
        self._check_status(part, (_PENDING,), ref, "rejecting")
        debtor = self._terms(part).debtor
        for invoice in (bytes(x) for x in a["releasedInvoices"]):
            key = invoice_key(debtor, invoice)
            if s.invoices.get(key) != part.root:
                self._breach(
                    "IllegalTransition",
                    f"rejecting {receivable_label(part.root)} released invoice commitment "
                    f"{_hex(invoice)}, which did not back it",
                    ref,
                )
            else:
                del s.invoices[key]
        part.status, part.last = _REJECTED, ref
        self._terms(part).last = ref

    def _transferred(self, a: dict[str, Any], ref: EventRef) -> None:
        part = self._part(bytes(a["id"]), ref, "transferring")
        if part is None:
            return
        what = f"transferring {receivable_label(part.part_id)}"
        self._check_holder(part, bytes(a["from"]), ref, what)
        self._check_movable(part, ref, what)
        to = bytes(a["to"])
        self._require_known_subject(to, ref, what)
        if to in (part.holder, self._terms(part).debtor):
            self._breach("IllegalTransition", f"{what}: to its debtor or its own holder", ref)
        if int(a["amount"]) != part.amount:
            self._breach(
                "PartsDoNotAddUp",
                f"{what}: the event moved {int(a['amount']):,} fen, the part holds "
                f"{part.amount:,} fen",
                ref,
            )
        part.holder, part.last = to, ref

    def _split(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        part = self._part(bytes(a["id"]), ref, "splitting")
        if part is None:
            return
        terms = self._terms(part)
        child_id, to = bytes(a["child"]), bytes(a["to"])
        amount, remaining = int(a["amount"]), int(a["remaining"])
        what = f"splitting {receivable_label(part.part_id)}"
        self._check_holder(part, bytes(a["from"]), ref, what)
        self._check_movable(part, ref, what)
        self._require_known_subject(to, ref, what)
        if to in (part.holder, terms.debtor):
            self._breach("IllegalTransition", f"{what}: to its debtor or its own holder", ref)
        if terms.part_count >= _MAX_PARTS:
            self._breach(
                "IllegalTransition",
                f"{what}: {receivable_label(terms.root)} had {terms.part_count} parts, the most "
                f"a receivable may have is {_MAX_PARTS}",
                ref,
            )
        expected = int.from_bytes(terms.root, "big") | terms.part_count
        if int.from_bytes(child_id, "big") != expected or child_id in s.parts:
            self._breach(
                "IdMismatch",
                f"{what}: the new part is {receivable_label(child_id)}, the next is "
                f"{receivable_label(expected.to_bytes(32, 'big'))}",
                ref,
            )
            return
        if not 0 < amount < part.amount or remaining != part.amount - amount:
            self._breach(
                "PartsDoNotAddUp",
                f"{what}: {amount:,} fen split off a part of {part.amount:,} fen leaves "
                f"{part.amount - amount:,}, the event says {remaining:,}",
                ref,
            )
        part.amount, part.last = remaining, ref
        terms.part_count += 1
        terms.last = ref
        s.parts[child_id] = PartState(
            part_id=child_id,
            root=terms.root,
            parent=part.part_id,
            holder=to,
            amount=amount,
            tier=part.tier + 1,
            created_at=ref.timestamp,
            last=ref,
            status=_ACTIVE,
        )
        self._check_total(terms, ref)

    def _financing_requested(self, a: dict[str, Any], ref: EventRef) -> None:
        part = self._part(bytes(a["id"]), ref, "requesting financing")
        if part is None:
            return
        what = f"requesting financing of {receivable_label(part.part_id)}"
        holder, financier = bytes(a["holder"]), a["financier"]
        least, most_bps, expires = (
            int(a["minAdvance"]),
            int(a["maxDiscountBps"]),
            int(a["expiresAt"]),
        )
        self._check_holder(part, holder, ref, what)
        self._check_movable(part, ref, what)
        self._require_role(financier, int(Role.FINANCIER), ref, f"{what} from a bank")
        if not 0 < least <= part.amount or most_bps > _MAX_DISCOUNT_BPS or expires <= ref.timestamp:
            self._breach(
                "IllegalTransition",
                f"{what}: least advance {least:,} fen of {part.amount:,}, highest discount "
                f"{most_bps} bps, expiring {_when(expires)}",
                ref,
            )
        part.requests[financier] = (holder, least, most_bps, expires)
        part.last = ref

    def _request_withdrawn(self, a: dict[str, Any], ref: EventRef) -> None:
        part = self._part(bytes(a["id"]), ref, "withdrawing a financing request")
        if part is None:
            return
        holder, financier = bytes(a["holder"]), a["financier"]
        self._check_holder(part, holder, ref, "withdrawing a financing request")
        if financier not in part.requests or part.requests[financier][0] != part.holder:
            self._breach(
                "IllegalTransition",
                f"withdrawing a financing request of {receivable_label(part.part_id)}: "
                f"{financier} was not asked",
                ref,
            )
        part.requests.pop(financier, None)
        part.last = ref

    # -- lending: one pledge at a time, joint limits --------------------------------------
    def _pledged(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        pid, aid, kind = bytes(a["pledgeId"]), bytes(a["assetId"]), int(a["kind"])
        pledge = PledgeState(aid, kind, bytes(a["key"]), a["pledgee"], int(a["expiry"]), False, ref)
        s.pledges[pid] = pledge
        if kind == _MOVABLE:
            return
        held = s.pledges.get(s.asset_pledges.get(aid, b""))
        if held is not None and held.in_force(ref.timestamp):
            self._breach(
                "DoublePledge",
                f"asset 0x{aid.hex()} pledged to {self._who(pledge.pledgee)} while "
                f"{self._who(held.pledgee)}'s pledge of it (transaction {held.ref.tx_hash}, "
                f"block {held.ref.block}) was in force",
                ref,
            )
        part = s.parts.get(pledge.key) if kind == _RECEIVABLE else None
        if part is not None and part.financed is not None:
            self._breach(
                "DoublePledge",
                f"receivable {receivable_label(part.part_id)} pledged to "
                f"{self._who(pledge.pledgee)} while financed by {self._who(part.financier)}",
                ref,
            )
        s.asset_pledges[aid] = pid

    def _pledge_amended(self, a: dict[str, Any], _ref: EventRef) -> None:
        pledge = self.state.pledges.get(bytes(a["pledgeId"]))
        if pledge is not None:
            pledge.expiry = int(a["expiry"])

    def _pledge_released(self, a: dict[str, Any], _ref: EventRef) -> None:
        pledge = self.state.pledges.get(bytes(a["pledgeId"]))
        if pledge is not None:
            pledge.released = True

    def _receivable_pledged_to(self, part_id: bytes, at: int) -> PledgeState | None:
        aid = bytes(asset_id(CollateralKind.RECEIVABLE, part_id))
        held = self.state.pledges.get(self.state.asset_pledges.get(aid, b""))
        return held if held is not None and held.in_force(at) else None

    def _joint_proposed(self, a: dict[str, Any], ref: EventRef) -> None:
        banks = frozenset(to_checksum_address(b) for b in a["participants"])
        no = int(a["agreement"])
        self.state.agreement_banks[no] = banks
        self.state.agreements[no] = AgreementState(
            bytes(a["subject"]),
            to_checksum_address(a["lead"]),
            int(a["jointLimit"]),
            len(banks),
            ref,
        )

    def _agreement(self, a: dict[str, Any], ref: EventRef) -> AgreementState | None:
        found = self.state.agreements.get(int(a["agreement"]))
        if found is None:
            self._breach(
                "UnknownReference", f"joint agreement {int(a['agreement'])} was never proposed", ref
            )
            return None
        found.last = ref
        return found

    def _exposure(self, subject: bytes, ref: EventRef) -> ExposureState:
        found = self.state.exposures.get(subject)
        if found is None:
            found = self.state.exposures[subject] = ExposureState(ref)
        found.last = ref
        return found

    def _joint_joined(self, a: dict[str, Any], ref: EventRef) -> None:
        agreement = self._agreement(a, ref)
        if agreement is not None:
            agreement.joined += 1

    def _joint_accepted(self, a: dict[str, Any], ref: EventRef) -> None:
        agreement = self._agreement(a, ref)
        if agreement is not None:
            agreement.accepted = True

    def _joint_activated(self, a: dict[str, Any], ref: EventRef) -> None:
        subject, no, limit = bytes(a["subject"]), int(a["agreement"]), int(a["jointLimit"])
        self.state.joint_limits[subject] = (no, limit)
        agreement = self._agreement(a, ref)
        if agreement is not None:
            agreement.status = _AGREEMENT_ACTIVE
        e = self._exposure(subject, ref)
        e.agreement, e.joint_limit, e.flagged = no, limit, False
        e.joint = self._joint_of(subject, no)

    def _joint_flagged(self, a: dict[str, Any], ref: EventRef) -> None:
        self._agreement(a, ref)
        self._exposure(bytes(a["subject"]), ref).flagged = True

    def _joint_flag_cleared(self, a: dict[str, Any], ref: EventRef) -> None:
        self._agreement(a, ref)
        self._exposure(bytes(a["subject"]), ref).flagged = False

    def _joint_ended(self, a: dict[str, Any], ref: EventRef) -> None:
        subject = bytes(a["subject"])
        self.state.joint_limits.pop(subject, None)
        agreement = self._agreement(a, ref)
        if agreement is not None:
            agreement.status = _AGREEMENT_ENDED
        e = self._exposure(subject, ref)
        e.agreement = e.joint = e.joint_limit = 0

    def _joint_of(self, subject: bytes, agreement: int) -> int:
        """The participants' balances with ``subject``: the joint exposure, recomputed from
        the draws and repayments (not the events' own figure)."""
        banks = self.state.agreement_banks.get(agreement, frozenset())
        return sum(self.state.lent.get((subject, b), 0) for b in banks)

    def _facility_registered(self, a: dict[str, Any], ref: EventRef) -> None:
        fid, subject, lender = bytes(a["facilityId"]), bytes(a["subject"]), a["lender"]
        if bytes(facility_id(subject, lender, bytes(a["contractHash"]))) != fid:
            self._breach(
                "IdMismatch",
                f"facility 0x{fid.hex()} is not the hash of its subject, lender and contract",
                ref,
            )
        self._require_role(lender, int(Role.FINANCIER), ref, f"facility 0x{fid.hex()}")
        self.state.facilities[fid] = FacilityState(
            subject,
            to_checksum_address(lender),
            int(a["limit"]),
            0,
            int(a["expiry"]),
            int(a["kind"]),
            ref,
        )

    def _facility(self, a: dict[str, Any], ref: EventRef) -> FacilityState | None:
        fid = bytes(a["facilityId"])
        found = self.state.facilities.get(fid)
        if found is None:
            self._breach("UnknownReference", f"facility 0x{fid.hex()} was never registered", ref)
            return None
        found.last = ref
        return found

    def _facility_amended(self, a: dict[str, Any], ref: EventRef) -> None:
        f = self._facility(a, ref)
        if f is not None:
            f.limit, f.expiry = int(a["limit"]), int(a["expiry"])

    def _facility_closed(self, a: dict[str, Any], ref: EventRef) -> None:
        f = self._facility(a, ref)
        if f is not None:
            f.status = _FACILITY_CLOSED

    def _lent_change(self, a: dict[str, Any], sign: int, ref: EventRef) -> bytes:
        subject, amount = bytes(a["subject"]), sign * int(a["amount"])
        lender = to_checksum_address(a["lender"])
        key = (subject, lender)
        self.state.lent[key] = self.state.lent.get(key, 0) + amount
        f = self._facility(a, ref)
        if f is not None:
            f.drawn += amount
        e = self._exposure(subject, ref)
        e.total += amount
        if e.agreement and lender in self.state.agreement_banks.get(e.agreement, frozenset()):
            e.joint = self._joint_of(subject, e.agreement)
        return subject

    def _repaid(self, a: dict[str, Any], ref: EventRef) -> None:
        self._lent_change(a, -1, ref)

    def _drawn(self, a: dict[str, Any], ref: EventRef) -> None:
        subject = self._lent_change(a, +1, ref)
        in_force = self.state.joint_limits.get(subject)
        if in_force is None:
            return
        agreement, limit = in_force
        banks = self.state.agreement_banks.get(agreement, frozenset())
        if to_checksum_address(a["lender"]) not in banks:
            return  # a lender outside the agreement is not bound by its limit
        # Recomputed from every participant's balance, not the event's own figure: a contract
        # that forgot a balance (one drawn before the agreement, say) would report less.
        joint = self._joint_of(subject, agreement)
        if joint > limit:
            self._breach(
                "ExposureAboveJointLimit",
                f"a draw by {self._who(a['lender'])} took the joint exposure to "
                f"0x{subject.hex()} to {joint:,} fen (the participants' balances; the event "
                f"said {int(a['joint']):,}), past agreement {agreement}'s joint limit of "
                f"{limit:,} fen",
                ref,
            )

    def _financed(self, a: dict[str, Any], ref: EventRef) -> None:
        held = self._receivable_pledged_to(bytes(a["id"]), ref.timestamp)
        if held is not None:
            self._breach(
                "DoublePledge",
                f"receivable {receivable_label(bytes(a['id']))} financed by "
                f"{self._who(a['financier'])} while pledged to {self._who(held.pledgee)} "
                f"(transaction {held.ref.tx_hash})",
                ref,
            )
        part = self._part(bytes(a["id"]), ref, "financing")
        if part is None:
            return
        label = receivable_label(part.part_id)
        financier, advance, bps = a["financier"], int(a["advance"]), int(a["discountBps"])
        what = f"financing {label} by {self._who(financier)}"
        self._require_role(financier, int(Role.FINANCIER), ref, what)
        if part.financed is not None:
            first = part.financed
            self._breach(
                "DoubleFinancing",
                f"{label} financed by {self._who(financier)} while {self._who(part.financier)}'s "
                f"financing of it (transaction {first.tx_hash}, block {first.block}) was in "
                "force",
                ref,
            )
        else:
            self._check_movable(part, ref, what)
        request = part.requests.get(financier)
        if request is None or request[0] != part.holder:
            self._breach("IllegalTransition", f"{what}: the holder had not asked this bank", ref)
        else:
            _, least, most_bps, expires = request
            if ref.timestamp > expires or advance < least or bps > most_bps:
                self._breach(
                    "IllegalTransition",
                    f"{what}: advance {advance:,} fen at {bps} bps at {_when(ref.timestamp)}, "
                    f"outside the holder's terms (at least {least:,} fen, at most {most_bps} "
                    f"bps, until {_when(expires)})",
                    ref,
                )
        if bytes(a["holder"]) != part.holder:
            self._breach("IllegalTransition", f"{what}: names another holder", ref)
        if not 0 < advance <= part.amount or bps > _MAX_DISCOUNT_BPS:
            self._breach(
                "IllegalTransition",
                f"{what}: advance {advance:,} fen of {part.amount:,}, discount {bps} bps",
                ref,
            )
        part.requests.pop(financier, None)
        part.status, part.financier, part.advance, part.discount_bps = (
            _FINANCED,
            financier,
            advance,
            bps,
        )
        part.financed, part.ever_financed, part.financed_amount, part.last = (
            ref,
            True,
            part.amount,
            ref,
        )

    def _released(self, a: dict[str, Any], ref: EventRef) -> None:
        part = self._part(bytes(a["id"]), ref, "releasing a financing")
        if part is None:
            return
        financier = a["financier"]
        what = f"releasing the financing of {receivable_label(part.part_id)}"
        if part.financed is None or part.financier != financier:
            self._breach(
                "IllegalTransition", f"{what}: {self._who(financier)} did not finance it", ref
            )
        self._require_role(financier, int(Role.FINANCIER), ref, what)
        self._check_status(part, (_FINANCED, _OVERDUE), ref, what)
        if part.status == _FINANCED:
            part.status = _ACTIVE
        part.financier, part.advance, part.discount_bps, part.financed = "", 0, 0, None
        part.last = ref

    def _settled(self, a: dict[str, Any], ref: EventRef) -> None:
        part = self._part(bytes(a["id"]), ref, "settling")
        if part is None:
            return
        terms = self._terms(part)
        what = f"settling {receivable_label(part.part_id)}"
        if bytes(a["debtor"]) != terms.debtor:
            self._breach("WriteWithoutRole", f"{what}: settled by another than its debtor", ref)
        if bytes(a["holder"]) != part.holder:
            self._breach("IllegalTransition", f"{what}: names another holder", ref)
        was = part.status
        self._check_status(part, (_ACTIVE, _FINANCED, _OVERDUE), ref, what)
        if ref.timestamp < terms.due_date:
            self._breach(
                "IllegalTransition", f"{what}: before its due date {_when(terms.due_date)}", ref
            )
        payee = part.financier if was in (_FINANCED, _OVERDUE) and part.financier else ZERO_ADDRESS
        if a["financier"].lower() != payee.lower():
            self._breach(
                "IllegalTransition", f"{what}: paid to {a['financier']}, its payee is {payee}", ref
            )
        if int(a["amount"]) != part.amount:
            self._breach(
                "PartsDoNotAddUp",
                f"{what}: {int(a['amount']):,} fen paid for a part of {part.amount:,} fen",
                ref,
            )
        part.status, part.last = _PAID, ref

    def _marked_overdue(self, a: dict[str, Any], ref: EventRef) -> None:
        s = self.state
        part = self._part(bytes(a["id"]), ref, "marking overdue")
        if part is None:
            return
        terms = self._terms(part)
        what = f"marking {receivable_label(part.part_id)} overdue"
        payee, uid = a["payee"], bytes(a["attestation"])
        amount, due, days = int(a["amount"]), int(a["dueDate"]), int(a["daysOverdue"])
        if part.financed is not None:
            if payee != part.financier:
                self._breach("WriteWithoutRole", f"{what}: {payee} is not its payee", ref)
            self._require_role(payee, int(Role.FINANCIER), ref, what)
        else:
            self._require_bound(payee, part.holder, ref, what)
        self._check_status(part, (_ACTIVE, _FINANCED), ref, what)
        if ref.timestamp <= terms.due_date + self.grace_period:
            self._breach(
                "IllegalTransition",
                f"{what}: within the grace period after its due date {_when(terms.due_date)}",
                ref,
            )
        if amount != part.amount:
            self._breach(
                "PartsDoNotAddUp",
                f"{what}: {amount:,} fen named, the part holds {part.amount:,}",
                ref,
            )
        if (
            bytes(a["debtor"]) != terms.debtor
            or due != terms.due_date
            or days != (ref.timestamp - terms.due_date) // DAY
        ):
            self._breach(
                "IllegalTransition", f"{what}: debtor, due date or days overdue differ", ref
            )
        att = s.attestations.get(uid)
        expected = default_data_hash(terms.debtor, part.part_id, amount, due, days)
        if att is None:
            self._breach("UnknownReference", f"{what}: default {_hex(uid)} was not attested", ref)
        elif (
            att.subject != terms.debtor
            or att.data_hash != expected
            or att.attested_at != ref.timestamp
            or (self.receivables_address is not None and att.attester != self.receivables_address)
            or (self.default_schema is not None and att.schema != self.default_schema)
        ):
            self._breach(
                "IllegalTransition",
                f"{what}: attestation {_hex(uid)} is not the receivable-default record of this "
                "part attested by the Receivables contract",
                ref,
            )
        part.status, part.default_uid, part.last = _OVERDUE, uid, ref


def city_label(city: int) -> str:
    """A member's city for a report ("unknown" for 0)."""
    try:
        return City(city).label
    except ValueError:
        return "unknown"
