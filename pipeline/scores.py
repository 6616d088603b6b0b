"""Credit scores an enterprise may read: the grade and reason codes behind its attested scores.

A member scores an enterprise (:mod:`ledger_client.scoring.attested`) and
attests the ``credit-score`` record's hash; the record itself stays off chain.
So that the enterprise can read why it got its grade, the scoring member
deposits the record here (:func:`deposit_score`): it is kept only when the
chain says the UID is a ``credit-score`` attestation by that member committing
to exactly this record, so the operator can neither serve a forged reason list
nor a member an altered one. :func:`scores_of_subject` shows the records to the
enterprise itself, to members it authorised (an authorisation in force) and to
regulators; anyone else is refused by :class:`ScoreNotVisible`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger_client.attestations.records import record_hash
from ledger_client.contracts.attestations import schema_id
from ledger_client.index.consent import authorisations_of_subject
from ledger_client.scoring.features import FEATURES
from ledger_client.types import AttestationFields, Role, Validity

from .errors import (
    NotACreditScore,
    NotFound,
    NotScoreAttester,
    ScoreNotVisible,
    ScoreRecordMismatch,
)
from .intake import Caller
from .service import Service

__all__ = [
    "ScoreEntry",
    "deposit_score",
    "score",
    "scores_of_subject",
]

SCORE_SCHEMA = "credit-score"


@dataclass(frozen=True)
class ScoreEntry:
    """A deposited credit score, with what the chain says of it now."""

    uid: bytes
    subject: bytes
    attester: str
    record: dict[str, Any]  # the credit-score record
    attested_at: int
    validity: Validity

    @property
    def reason_codes(self) -> list[str]:
        """The reason codes, worst first (none when nothing cost the score points)."""
        codes = str(self.record.get("reasonCodes", ""))
        return [c for c in codes.split(",") if c and c != "none"]

    @property
    def reasons(self) -> list[dict[str, str]]:
        """Each reason code with what it measures (the feature's definition)."""
        return [{"code": c, "meaning": FEATURES.get(c, "")} for c in self.reason_codes]


def deposit_score(
    service: Service, caller: Caller, uid: bytes, record: Mapping[str, Any], ref_uid: bytes
) -> ScoreEntry:
    """Keep the ``credit-score`` record of attestation ``uid``, checked against the chain."""
    ledger = service.ledger
    schema = ledger.schemas[SCORE_SCHEMA]
    info = ledger.attestations.attestation(uid)
    if info is None:
        raise NotFound("no attestation has this UID", uid=_hex(uid))
    if bytes(info.schema) != bytes(schema_id(schema)):
        raise NotACreditScore(
            "the attestation is not of the credit-score schema",
            uid=_hex(uid),
            schema=_hex(info.schema),
        )
    if info.attester.lower() != caller.member.lower():
        raise NotScoreAttester(
            "only the member that attested the score deposits its record",
            uid=_hex(uid),
            attester=info.attester,
        )
    data_hash = record_hash(schema, record)
    subject = bytes.fromhex(str(record.get("subject", "0x"))[2:])
    if not ledger.attestations.matches(uid, AttestationFields(subject, data_hash, ref_uid)):
        raise ScoreRecordMismatch(
            "the record's subject and hash are not what the attestation commits to",
            uid=_hex(uid),
            data_hash=_hex(data_hash),
        )
    doc = json.dumps(dict(record), sort_keys=True)
    with service.db.transaction() as db:
        db.execute(
            "INSERT INTO credit_scores (uid, subject, attester, record, deposited_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING",
            (uid, subject, info.attester, doc, time.time()),
        )
    return _entry(service, uid, subject, info.attester, doc)


def scores_of_subject(service: Service, caller: Caller, subject: bytes) -> list[ScoreEntry]:
    """The deposited scores of an enterprise, oldest first, for a caller allowed to see them."""
    _require_visible(service, caller, subject)
    rows = service.db.query(
        "SELECT uid, subject, attester, record FROM credit_scores WHERE subject = ?"
        " ORDER BY deposited_at, uid",
        (subject,),
    )
    return [_entry(service, r["uid"], r["subject"], r["attester"], r["record"]) for r in rows]


def score(service: Service, caller: Caller, uid: bytes) -> ScoreEntry:
    """One deposited score, for a caller allowed to see its enterprise's scores."""
    rows = service.db.query(
        "SELECT uid, subject, attester, record FROM credit_scores WHERE uid = ?", (uid,)
    )
    if not rows:
        raise NotFound("no score record was deposited for this UID", uid=_hex(uid))
    r = rows[0]
    _require_visible(service, caller, r["subject"])
    return _entry(service, r["uid"], r["subject"], r["attester"], r["record"])


def _require_visible(service: Service, caller: Caller, subject: bytes) -> None:
    who = caller.member.lower()
    account = service.ledger.consortium.account_of(subject)
    if account is not None and account.lower() == who:
        return
    if service.roles_of(caller.member) & (Role.REGULATOR | Role.AUDITOR):
        return  # the overseers see everything, as in the console
    now = service.chain_time()
    with service.index.reading() as db:
        granted = authorisations_of_subject(db, subject)
    if any(a.member.lower() == who and a.in_force(now) for a in granted):
        return
    raise ScoreNotVisible(
        "an enterprise's scores are shown to it, to members it authorised, to regulators and "
        "to auditors",
        subject=_hex(subject),
        member=caller.member,
    )


def _entry(service: Service, uid: bytes, subject: bytes, attester: str, doc: str) -> ScoreEntry:
    info = service.ledger.attestations.attestation(uid)
    return ScoreEntry(
        bytes(uid),
        bytes(subject),
        attester,
        json.loads(doc),
        info.attested_at if info is not None else 0,
        service.ledger.attestations.validity(uid),
    )


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()
