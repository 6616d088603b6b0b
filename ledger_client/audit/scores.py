"""The auditor recomputes attested credit scores from the records they name and the model.

A ``credit-score`` attestation carries only a hash; the score's record, the
records it used and the published model travel off chain in a
:class:`~ledger_client.scoring.attested.ScoreBundle` (数据不出库), which the
scoring member hands the auditor. :func:`audit_scores` pairs each score
attestation of the replayed ledger with the bundle whose score record it
commits to and runs the same check as ``credit-chain verify --score-bundle``
(:func:`~ledger_client.scoring.attested.verify_attested_score`), with a record
counted as revoked when it was revoked by the time the score was made. What
fails is a breach by the failure's name: ``ScoreMismatch``,
``RecordNotAuthorised`` (a record the scorer neither held nor queried under an
authorisation in force), ``RecordRevoked``; a score with no bundle, when
bundles were given, is ``ScoreNotRecomputed``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger_client.attestations.records import load_schemas, record_hash
from ledger_client.audit.state import Breach, LedgerState
from ledger_client.contracts.attestations import schema_id
from ledger_client.errors import ScoreMismatch, ScoringError
from ledger_client.index.consent import ConsentLog
from ledger_client.scoring.attested import ScoreBundle, spec_of_model, verify_attested_score

if TYPE_CHECKING:
    from ledger_client.deployment import Ledger

__all__ = ["SCORE_BREACHES", "ScoreAudit", "ScoreEvidence", "audit_scores", "load_score_bundles"]

#: The breaches a score's recomputation names (the errors of the check, and a missing bundle).
SCORE_BREACHES = ("ScoreMismatch", "RecordNotAuthorised", "RecordRevoked", "ScoreNotRecomputed")


@dataclass(frozen=True)
class ScoreEvidence:
    """A score bundle and the member addresses (in MEMBERS order) it names."""

    bundle: ScoreBundle
    members: tuple[str, ...]

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ScoreEvidence:
        """Evidence from a bundle file's JSON (:meth:`ScoreBundle.to_json`'s form)."""
        bundle, members = ScoreBundle.from_json(doc)
        return cls(bundle, tuple(members))


@dataclass
class ScoreAudit:
    """What the recomputation found, for the report."""

    attested: int = 0  # credit-score attestations in the ledger
    recomputed: int = 0  # recomputed and equal
    failed: int = 0  # a breach each
    revoked: int = 0  # withdrawn by their scorer: not recomputed
    without_bundle: int = 0  # no bundle given
    breaches: list[Breach] = field(default_factory=list)

    def to_dict(self, bundles_given: bool) -> dict[str, Any]:
        """The report's ``scores`` section."""
        return {
            "attested": self.attested,
            "recomputed": self.recomputed,
            "failed": self.failed,
            "revoked": self.revoked,
            "without_bundle": self.without_bundle,
            "bundles_given": bundles_given,
        }


def load_score_bundles(directory: Path | str) -> list[ScoreEvidence]:
    """Every ``*.json`` score bundle in ``directory`` (an unreadable one: ``ScoreMismatch``)."""
    found = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ScoreMismatch("bundle", str(path), f"unreadable: {exc}") from exc
        found.append(ScoreEvidence.from_json(doc))
    return found


def audit_scores(
    ledger: Ledger, state: LedgerState, evidence: Sequence[ScoreEvidence] | None
) -> ScoreAudit:
    """Recompute every ``credit-score`` attestation in ``state`` that a bundle is given for.

    ``evidence`` None: no bundles were handed over, so none is recomputed and none is
    a breach (the report says how many were left unchecked); a list: each score in
    force must have its bundle.
    """
    schema = load_schemas()["credit-score"]
    score_schema = bytes(schema_id(schema))
    by_commitment = {
        (bytes.fromhex(str(e.bundle.score.get("subject", "0x"))[2:]), _hash(schema, e)): e
        for e in evidence or ()
    }
    out = ScoreAudit()
    consent: ConsentLog | None = None
    try:
        for a in state.attestations.values():
            if a.schema != score_schema:
                continue
            out.attested += 1
            if a.revoked_at:
                out.revoked += 1
                continue
            found = by_commitment.get((a.subject, a.data_hash))
            if found is None:
                out.without_bundle += 1
                if evidence is not None:
                    out.failed += 1
                    out.breaches.append(
                        Breach.at(
                            "ScoreNotRecomputed",
                            f"no score bundle opens credit score 0x{a.uid.hex()} by {a.attester}",
                            a.last,
                        )
                    )
                continue
            consent = consent or ConsentLog(ledger)
            try:
                verify_attested_score(
                    ledger,
                    consent,
                    a.uid,
                    found.bundle,
                    spec=spec_of_model(found.bundle.model),
                    members=found.members,
                    revoked_by=a.attested_at,
                )
            except ScoringError as exc:
                out.failed += 1
                name = type(exc).__name__
                out.breaches.append(
                    Breach.at(
                        name if name in SCORE_BREACHES else "ScoreMismatch",
                        f"credit score 0x{a.uid.hex()} by {a.attester}: {exc}",
                        a.last,
                    )
                )
                continue
            out.recomputed += 1
    finally:
        if consent is not None:
            consent.close()
    return out


def _hash(schema: Any, evidence: ScoreEvidence) -> bytes:
    try:
        return bytes(record_hash(schema, evidence.bundle.score))
    except ValueError:
        return b""  # a score record that is not one opens no attestation
