"""The client of the credit chain's HTTP API: one method per route.

A :class:`Client` speaks for one API key. Each write is signed by the acting
party's key (``party=``, by default the client's own account), carries an
``Idempotency-Key`` derived from what was signed (a retry of the same signed write
is the same write), and returns the :class:`Submission` the server journaled;
:meth:`Client.wait` polls it until it is anchored or rejected, within a bound on
polls and on seconds. Every refusal, at the door or after relaying, raises the
error of its name from :mod:`sdk.errors`.

    client = Client("http://127.0.0.1:8000", api_key, account=bank)
    sub = client.wait(client.attest_record(schema, record))
    proof = client.proof(sub.id)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from ledger_client.attestations.records import Schema, parse_layout, record_hash, record_subject
from ledger_client.contracts.attestations import schema_id
from ledger_client.contracts.authorisations import AuthorisationRequest, SignedAuthorisation
from ledger_client.contracts.forwarder import SignedForwardRequest
from ledger_client.lending.collateral import CollateralKind, PledgeTerms, SignedPledge
from ledger_client.lending.facilities import (
    AgreementStatus,
    FacilityKind,
    JointAgreement,
    SignedAcceptance,
)
from ledger_client.types import (
    AttestationFields,
    AttestRequest,
    BatchEntry,
    City,
    Hash32,
    QueryPurpose,
    Role,
    SubjectId,
)

from . import bodies
from .bodies import hex32 as _hex
from .errors import ApiUnreachable, SubmissionTimeout, UnexpectedAnswer, error_for
from .signing import Deployment, Signer

__all__ = ["BatchRecordRef", "Client", "PreparedWrite", "Submission"]

ZERO32 = b"\0" * 32
Json = dict[str, Any]
#: How long a signature handed to the API stays relayable, by default.
DEFAULT_LIFETIME_S = 3_600
#: Polling a submission: every ``interval``, at most ``polls`` times and ``timeout`` seconds.
DEFAULT_POLL_INTERVAL_S = 0.05
DEFAULT_POLL_TIMEOUT_S = 60.0
DEFAULT_MAX_POLLS = 2_000
#: Longest a request waits in all, as refusals' ``Retry-After`` ask (RateLimited,
#: Backlogged), before the refusal is raised by name. A write carries its
#: Idempotency-Key every time, so waiting and sending again never makes it twice.
DEFAULT_RETRY_WAIT_S = 30.0
#: The answers that say when to come back: too many requests, the chain behind.
_RETRIED_STATUSES = frozenset({429, 503})


def _bytes(value: bytes | str) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    return bytes(value)


@dataclass(frozen=True)
class Submission:
    """A write the server journaled, and where it stands."""

    id: str
    kind: str
    operation: str
    status: str  # pending, anchored or rejected
    signer: str
    nonce: str
    result: Json | None = None
    doc: Json = field(default_factory=dict, repr=False)  # the whole body, as served

    @classmethod
    def from_json(cls, doc: Json) -> Submission:
        """Read ``SubmissionPublic``."""
        return cls(
            id=str(doc["id"]),
            kind=str(doc["kind"]),
            operation=str(doc["operation"]),
            status=str(doc["status"]),
            signer=str(doc["signer"]),
            nonce=str(doc["nonce"]),
            result=doc.get("result"),
            doc=doc,
        )

    @property
    def pending(self) -> bool:
        """True until the worker has relayed it."""
        return self.status == "pending"

    def made(self, key: str) -> Any:
        """What the anchored write made (``uid``, ``auth_id``, ``receivable_id``, ...)."""
        if self.status != "anchored" or not self.result or key not in self.result:
            raise KeyError(f"submission {self.id} ({self.status}) made no {key!r}")
        return self.result[key]

    @property
    def uid(self) -> str:
        """The attestation's UID (a single attestation, a replacement)."""
        return str(self.made("uid"))


@dataclass(frozen=True)
class PreparedWrite:
    """A write signed up front, to post later: its route, Idempotency-Key and body."""

    path: str
    idempotency_key: str
    body: Json


@dataclass(frozen=True)
class BatchRecordRef:
    """One record of an anchored batch: its batch, ingredients and inclusion proof."""

    batch_id: bytes
    entry: BatchEntry
    proof: tuple[bytes, ...]

    @classmethod
    def from_proof(cls, doc: Json) -> BatchRecordRef:
        """From ``GET /v1/submissions/{id}/proof`` (``ProofPublic``)."""
        r = doc["record"]
        return cls(
            _bytes(doc["batch_id"]),
            BatchEntry(
                subject=_bytes(r["subject"]),
                data_hash=_bytes(r["data_hash"]),
                attester=to_checksum_address(r["attester"]),
                nonce=int(r["nonce"]),
                deadline=int(r["deadline"]),
                signature=_bytes(r["signature"]),
            ),
            tuple(_bytes(p) for p in doc["proof"]),
        )

    def body(self) -> Json:
        """``BatchRecordTarget``: the fields naming the record in a request."""
        e = self.entry
        return {
            "batch_id": _hex(self.batch_id),
            "record": {
                "subject": _hex(e.subject),
                "data_hash": _hex(e.data_hash),
                "attester": e.attester,
                "nonce": e.nonce,
                "deadline": e.deadline,
                "signature": _hex(e.signature),
            },
            "proof": [_hex(p) for p in self.proof],
        }

    def args(self) -> tuple[bytes, tuple[bytes, bytes, str, int, int, bytes], list[bytes]]:
        """The contract call's first arguments: batch id, record, proof."""
        return self.batch_id, self.entry.as_tuple(), list(self.proof)


class Client:
    """The API as one key sees it.

    ``base_url`` is the server (``http://127.0.0.1:8000``); or pass ``http``, an
    ``httpx.Client`` already pointed at it (FastAPI's ``TestClient`` is one), or
    ``transport`` (``httpx.MockTransport`` in tests). ``account`` is the key's own
    party, the default signer of writes. ``clock`` is what deadlines count from.
    """

    def __init__(
        self,
        base_url: str = "",
        api_key: str = "",
        *,
        account: LocalAccount | None = None,
        deployment: Deployment | None = None,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        lifetime_s: int = DEFAULT_LIFETIME_S,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        poll_timeout_s: float = DEFAULT_POLL_TIMEOUT_S,
        max_polls: int = DEFAULT_MAX_POLLS,
        retry_wait_s: float = DEFAULT_RETRY_WAIT_S,
    ) -> None:
        self.api_key = api_key
        self.retry_wait_s = retry_wait_s
        self.account = account
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=base_url, transport=transport, timeout=timeout_s)
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.poll_interval_s = poll_interval_s
        self.poll_timeout_s = poll_timeout_s
        self.max_polls = max_polls
        self._signer: Signer | None = None
        if deployment is not None:
            self._signer = Signer(deployment, clock=clock, lifetime_s=lifetime_s)
        self._schemas: dict[str, Json] = {}
        self._prepared: list[PreparedWrite] | None = None
        #: The last ForwardRequest this client signed, as it travelled (for a caller that
        #: keeps what went over the wire).
        self.last_forward: SignedForwardRequest | None = None
        #: The last write this client posted: its path and body.
        self.last_write: tuple[str, Json] | None = None

    # -- clients for other keys, sharing the connection -----------------------------------
    def for_key(self, api_key: str, account: LocalAccount | None = None) -> Client:
        """A client of another key over the same connection, deployment and nonces."""
        other = Client(
            api_key=api_key,
            account=account,
            http=self.http,
            clock=self.clock,
            lifetime_s=self.lifetime_s,
            poll_interval_s=self.poll_interval_s,
            poll_timeout_s=self.poll_timeout_s,
            max_polls=self.max_polls,
            retry_wait_s=self.retry_wait_s,
        )
        other._signer = self._signer
        other._schemas = self._schemas
        return other

    def close(self) -> None:
        """Close the connection (one passed in as ``http`` is its owner's to close)."""
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- HTTP -----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request; return the JSON body, or raise the named error it carries.

        A connection that fails before an answer is tried once more, and a refusal that
        says when to come back (429 ``RateLimited``, 503 ``Backlogged``, with
        ``Retry-After``) is sent again then, for at most ``retry_wait_s`` in all: a
        write carries the same Idempotency-Key every time, so it is never made twice.
        """
        headers = {"X-API-Key": self.api_key} if self.api_key else {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        query = {k: v for k, v in (params or {}).items() if v is not None}
        waited = 0.0
        while True:
            r = self._send(method, path, json, query, headers)
            after = _retry_after_s(r)
            if after is None or waited + after > self.retry_wait_s:
                break
            if method != "GET" and idempotency_key is None:
                break  # a write without a key could be made twice: the caller decides
            time.sleep(after)
            waited += after
        try:
            body = r.json() if r.content else None
        except ValueError:
            raise UnexpectedAnswer(
                f"{method} {path}: HTTP {r.status_code}, not JSON", status=r.status_code
            ) from None
        if r.status_code >= 400:
            raise error_for(body, r.status_code)
        return body

    def _send(
        self,
        method: str,
        path: str,
        json: Any,
        query: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> httpx.Response:
        for attempt in range(2):
            try:
                return self.http.request(method, path, json=json, params=query, headers=headers)
            except httpx.TransportError as exc:
                if attempt == 1:
                    raise ApiUnreachable(f"{method} {path}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, **params: Any) -> Any:
        """``GET path`` with query ``params`` (None values left out)."""
        return self.request("GET", path, params=params)

    def _write(self, path: str, body: Json, idempotency_key: str | None = None) -> Submission:
        key = idempotency_key or _idempotency_key(path, body)
        self.last_write = (path, body)
        if self._prepared is not None:
            self._prepared.append(PreparedWrite(path, key, body))
            return _prepared_submission(body)
        return Submission.from_json(self.request("POST", path, json=body, idempotency_key=key))

    @contextmanager
    def prepared(self) -> Iterator[list[PreparedWrite]]:
        """Within it, writes are signed and kept, not posted: the list fills with them (a
        load generator signs its load up front; the submissions returned meanwhile read
        ``prepared``)."""
        self._prepared = []
        try:
            yield self._prepared
        finally:
            self._prepared = None

    # -- the deployment and signing ---------------------------------------------------------
    def deployment(self) -> Deployment:
        """``GET /v1/deployment``: chain id, contract addresses, the relay account."""
        return Deployment.from_json(self.get("/v1/deployment"))

    @property
    def signer(self) -> Signer:
        """Signs for this deployment (read from the server once)."""
        if self._signer is None:
            self._signer = Signer(self.deployment(), clock=self.clock, lifetime_s=self.lifetime_s)
        return self._signer

    def _party(self, party: LocalAccount | None) -> LocalAccount:
        found = party or self.account
        if found is None:
            raise ValueError("no party to sign: pass party= or give the client an account")
        return found

    def _forward(
        self,
        party: LocalAccount | None,
        contract: str,
        fn: str,
        *args: Any,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> Json:
        signed = self.signer.forward(
            self._party(party), contract, fn, *args, nonce=nonce, deadline=deadline
        )
        self.last_forward = signed
        return bodies.forward_fields(signed)

    # -- submissions ----------------------------------------------------------------------
    def submission(self, submission_id: str) -> Submission:
        """``GET /v1/submissions/{id}``."""
        return Submission.from_json(self.get(f"/v1/submissions/{submission_id}"))

    def wait(self, submission: Submission | str) -> Submission:
        """Poll until anchored (returned) or rejected (its named error raised).

        Bounded by ``max_polls`` polls and ``poll_timeout_s`` seconds, whichever comes
        first (:class:`~sdk.errors.SubmissionTimeout`).
        """
        sub = submission if isinstance(submission, Submission) else self.submission(submission)
        deadline = time.monotonic() + self.poll_timeout_s
        for _ in range(self.max_polls):
            if not sub.pending:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(self.poll_interval_s)
            sub = self.submission(sub.id)
        if sub.status == "anchored":
            return sub
        if sub.status == "rejected":
            raise error_for(sub.result, 0, submission=sub.doc)
        raise SubmissionTimeout(
            f"submission {sub.id} still {sub.status} after the polling bounds",
            fields={"submission_id": sub.id},
            submission=sub.doc,
        )

    def proof(self, submission_id: str) -> Json:
        """``GET /v1/submissions/{id}/proof``: a batched record's inclusion proof."""
        doc: Json = self.get(f"/v1/submissions/{submission_id}/proof")
        return doc

    # -- reads ----------------------------------------------------------------------------
    def health(self) -> Json:
        """``GET /health``."""
        doc: Json = self.get("/health")
        return doc

    def ready(self) -> Json:
        """``GET /ready``: the chain reachable, and how many submissions are pending."""
        doc: Json = self.get("/ready")
        return doc

    def members(self) -> Json:
        """``GET /v1/members``."""
        doc: Json = self.get("/v1/members")
        return doc

    def member(self, account: str) -> Json:
        """``GET /v1/members/{account}``."""
        doc: Json = self.get(f"/v1/members/{account}")
        return doc

    def schemas(self) -> Json:
        """``GET /v1/schemas``."""
        doc: Json = self.get("/v1/schemas")
        return doc

    def schema_doc(self, ref: str) -> Json:
        """``GET /v1/schemas/{name or id}`` (kept: a schema never changes)."""
        found = self._schemas.get(ref)
        if found is None:
            found = self._schemas[ref] = self.get(f"/v1/schemas/{ref}")
        return found

    def schema(self, name: str) -> Schema:
        """A registered schema, to validate and hash records of it."""
        doc = self.schema_doc(name)
        return Schema(
            name=doc["name"],
            title=doc["name"],
            fields=parse_layout(doc["layout"]),
            revocable=bool(doc["revocable"]),
        )

    def schema_id(self, ref: str | bytes | Schema) -> bytes:
        """A schema's 32-byte id: computed from a :class:`Schema`, else from its name or id
        as the server has it registered."""
        if isinstance(ref, bytes):
            return ref
        if isinstance(ref, Schema):
            return schema_id(ref)
        return _bytes(self.schema_doc(ref)["id"])

    def attestation(self, uid: bytes | str) -> Json:
        """``GET /v1/attestations/{uid}``: as the chain holds it, with its validity."""
        doc: Json = self.get(f"/v1/attestations/{_hex(uid)}")
        return doc

    def attestations(self, **filters: Any) -> Json:
        """``GET /v1/attestations`` (subject, attester, schema, since, until, limit, offset)."""
        doc: Json = self.get("/v1/attestations", **filters)
        return doc

    def batch_records(self, **filters: Any) -> Json:
        """``GET /v1/batch-records``."""
        doc: Json = self.get("/v1/batch-records", **filters)
        return doc

    def authorisations(self, subject: bytes | str) -> Json:
        """``GET /v1/authorisations?subject=``."""
        doc: Json = self.get("/v1/authorisations", subject=_hex(subject))
        return doc

    def authorisation(self, auth_id: bytes | str) -> Json:
        """``GET /v1/authorisations/{auth_id}``."""
        doc: Json = self.get(f"/v1/authorisations/{_hex(auth_id)}")
        return doc

    def queries(self, **filters: Any) -> Json:
        """``GET /v1/queries`` (subject or member, limit, offset)."""
        doc: Json = self.get("/v1/queries", **filters)
        return doc

    def report_shares(self, query_id: bytes | str) -> Json:
        """``GET /v1/queries/{query_id}/report-shares``."""
        doc: Json = self.get(f"/v1/queries/{_hex(query_id)}/report-shares")
        return doc

    def disputes(self, **filters: Any) -> Json:
        """``GET /v1/disputes``."""
        doc: Json = self.get("/v1/disputes", **filters)
        return doc

    def dispute(self, dispute_id: int) -> Json:
        """``GET /v1/disputes/{id}``."""
        doc: Json = self.get(f"/v1/disputes/{dispute_id}")
        return doc

    def complaints(self, **filters: Any) -> Json:
        """``GET /v1/complaints``."""
        doc: Json = self.get("/v1/complaints", **filters)
        return doc

    def complaint(self, complaint_id: int) -> Json:
        """``GET /v1/complaints/{id}``."""
        doc: Json = self.get(f"/v1/complaints/{complaint_id}")
        return doc

    def receivables(self, **filters: Any) -> Json:
        """``GET /v1/receivables`` (holder or debtor, outstanding, limit, offset)."""
        doc: Json = self.get("/v1/receivables", **filters)
        return doc

    def receivable(self, receivable_id: bytes | str) -> Json:
        """``GET /v1/receivables/{id}``."""
        doc: Json = self.get(f"/v1/receivables/{_hex(receivable_id)}")
        return doc

    def parts(self, receivable_id: bytes | str, **page: Any) -> Json:
        """``GET /v1/receivables/{id}/parts``."""
        doc: Json = self.get(f"/v1/receivables/{_hex(receivable_id)}/parts", **page)
        return doc

    def lineage(self, receivable_id: bytes | str) -> Json:
        """``GET /v1/receivables/{id}/lineage``."""
        doc: Json = self.get(f"/v1/receivables/{_hex(receivable_id)}/lineage")
        return doc

    def history(self, receivable_id: bytes | str) -> Json:
        """``GET /v1/receivables/{id}/history``."""
        doc: Json = self.get(f"/v1/receivables/{_hex(receivable_id)}/history")
        return doc

    def deposit_score(
        self, uid: bytes | str, record: Mapping[str, Any], *, ref_uid: bytes | str = ZERO32
    ) -> Json:
        """``PUT /v1/scores/{uid}``: hand in the ``credit-score`` record of a score this
        member attested, so that its enterprise can read the grade and reason codes."""
        doc: Json = self.request(
            "PUT", f"/v1/scores/{_hex(uid)}", json=bodies.score_deposit(record, ref_uid)
        )
        return doc

    def scores(self, subject: bytes | str) -> Json:
        """``GET /v1/scores``: an enterprise's attested scores with their reason codes (for
        the enterprise itself, members it authorised and regulators)."""
        doc: Json = self.get("/v1/scores", subject=_hex(subject))
        return doc

    def score(self, uid: bytes | str) -> Json:
        """``GET /v1/scores/{uid}``: one attested score with its reason codes."""
        doc: Json = self.get(f"/v1/scores/{_hex(uid)}")
        return doc

    def financings(self, **filters: Any) -> Json:
        """``GET /v1/financings`` (holder or financier, live, limit, offset)."""
        doc: Json = self.get("/v1/financings", **filters)
        return doc

    def verify(
        self,
        record: Mapping[str, Any],
        *,
        uid: bytes | str | None = None,
        proof: Json | None = None,
    ) -> Json:
        """``POST /v1/verify``: check a record against the chain, by UID or batch proof."""
        body: Json = {"record": dict(record)}
        if uid is not None:
            body["uid"] = _hex(uid)
        if proof is not None:
            body["proof"] = proof
        doc: Json = self.request("POST", "/v1/verify", json=body)
        return doc

    # -- attestations ---------------------------------------------------------------------
    def attestation_body(
        self,
        schema: str | Schema,
        subject: bytes | str,
        data_hash: bytes | str,
        *,
        expiry: int = 0,
        ref_uid: bytes | str = ZERO32,
        party: LocalAccount | None = None,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> Json:
        """The body of one signed attestation (``SignedAttestationCreate``)."""
        request = AttestRequest(
            self.schema_id(schema), _bytes(subject), _bytes(data_hash), expiry, _bytes(ref_uid)
        )
        signed = self.signer.attestation(
            self._party(party), request, nonce=nonce, deadline=deadline
        )
        return bodies.attestation(schema.name if isinstance(schema, Schema) else schema, signed)

    def record_body(
        self,
        schema: Schema,
        record: Mapping[str, object],
        *,
        party: LocalAccount | None = None,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> Json:
        """The body of a signed attestation of ``record`` (subject and hash from it)."""
        return self.attestation_body(
            schema,
            record_subject(record),
            record_hash(schema, record),
            party=party,
            nonce=nonce,
            deadline=deadline,
        )

    def attest(
        self,
        schema: str | Schema,
        subject: bytes | str,
        data_hash: bytes | str,
        *,
        expiry: int = 0,
        ref_uid: bytes | str = ZERO32,
        party: LocalAccount | None = None,
        idempotency_key: str | None = None,
    ) -> Submission:
        """``POST /v1/attestations``: one signed attestation; anchored, it names its ``uid``
        (or, gathered into a signed batch, its ``batch_id`` and ``index``)."""
        body = self.attestation_body(
            schema, subject, data_hash, expiry=expiry, ref_uid=ref_uid, party=party
        )
        return self.submit_attestation(body, idempotency_key)

    def attest_record(
        self, schema: Schema, record: Mapping[str, object], *, party: LocalAccount | None = None
    ) -> Submission:
        """Attest ``record`` of ``schema``: its subject and canonical hash, signed."""
        return self.submit_attestation(self.record_body(schema, record, party=party))

    def submit_attestation(self, body: Json, idempotency_key: str | None = None) -> Submission:
        """``POST /v1/attestations`` with a body already signed."""
        return self._write("/v1/attestations", body, idempotency_key)

    def submit_attestations(
        self, bodies: Sequence[Json], idempotency_key: str | None = None
    ) -> list[Submission]:
        """``POST /v1/attestations/batch``: many signed attestations at once (at most 1,000)."""
        path, body = "/v1/attestations/batch", {"attestations": list(bodies)}
        key = idempotency_key or _idempotency_key(path, {"a": list(bodies)})
        self.last_write = (path, body)
        if self._prepared is not None:
            self._prepared.append(PreparedWrite(path, key, body))
            return [_prepared_submission(b) for b in bodies]
        doc = self.request("POST", path, json=body, idempotency_key=key)
        return [Submission.from_json(d) for d in doc["data"]]

    def attest_records(
        self,
        schema: Schema,
        records: Iterable[Mapping[str, object]],
        *,
        party: LocalAccount | None = None,
    ) -> list[Submission]:
        """Attest many records of one schema in one request."""
        return self.submit_attestations([self.record_body(schema, r, party=party) for r in records])

    def revoke(
        self,
        uid: bytes | str,
        reason: bytes | str = ZERO32,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/attestations/{uid}/revoke``: its attester, or a regulator."""
        signed = self._forward(party, "Attestations", "revoke", _bytes(uid), _bytes(reason))
        return self._write(
            f"/v1/attestations/{_hex(uid)}/revoke", {"reason": _hex(reason), **signed}
        )

    def replace(
        self,
        uid: bytes | str,
        old: AttestationFields,
        data_hash: bytes | str,
        *,
        expiry: int = 0,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/attestations/{uid}/replace``: a corrected record; anchored, its ``uid``."""
        fields = (bytes(old.subject), bytes(old.data_hash), bytes(old.ref_uid))
        signed = self._forward(
            party, "Attestations", "replace", _bytes(uid), fields, _bytes(data_hash), expiry
        )
        body = {
            "old": _fields_body(old),
            "data_hash": _hex(data_hash),
            "expiry": expiry,
            **signed,
        }
        return self._write(f"/v1/attestations/{_hex(uid)}/replace", body)

    def revoke_batch_record(
        self,
        ref: BatchRecordRef,
        reason: bytes | str = ZERO32,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/batch-records/revoke``: its attester (a signed record's signer) or a
        regulator."""
        signed = self._forward(
            party, "Attestations", "revokeBatchRecord", *ref.args(), _bytes(reason)
        )
        return self._write(
            "/v1/batch-records/revoke", {**ref.body(), "reason": _hex(reason), **signed}
        )

    def replace_batch_record(
        self,
        ref: BatchRecordRef,
        data_hash: bytes | str,
        *,
        expiry: int = 0,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/batch-records/replace``: a corrected record; anchored, its ``uid``."""
        signed = self._forward(
            party, "Attestations", "replaceBatchRecord", *ref.args(), _bytes(data_hash), expiry
        )
        body = {**ref.body(), "data_hash": _hex(data_hash), "expiry": expiry, **signed}
        return self._write("/v1/batch-records/replace", body)

    # -- authorisations and the query trail -------------------------------------------------
    def authorise(
        self,
        member: str,
        purpose: QueryPurpose | int | str,
        expiry: int,
        *,
        schemas: Sequence[str] = (),
        party: LocalAccount | None = None,
        nonce: int | None = None,
        deadline: int | None = None,
    ) -> Submission:
        """``POST /v1/authorisations``: an enterprise (``party``) authorises ``member`` to
        query it; the member's key may hand it in. Anchored, it names its ``auth_id``."""
        code = QueryPurpose.parse(purpose)
        request = AuthorisationRequest(
            to_checksum_address(member), code, expiry, tuple(self.schema_id(s) for s in schemas)
        )
        signed = self.signer.authorisation(
            self._party(party), request, nonce=nonce, deadline=deadline
        )
        return self.submit_authorisation(signed)

    def submit_authorisation(self, signed: SignedAuthorisation) -> Submission:
        """``POST /v1/authorisations`` with an authorisation the enterprise already signed
        (``ledger.authorisations.sign_authorisation``)."""
        body = bodies.authorisation(signed)
        return self._write("/v1/authorisations", body)

    def withdraw_authorisation(
        self, auth_id: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/authorisations/{auth_id}/withdraw``: the enterprise's current account."""
        signed = self._forward(party, "Authorisations", "withdraw", _bytes(auth_id))
        return self._write(f"/v1/authorisations/{_hex(auth_id)}/withdraw", signed)

    def log_query(
        self,
        auth_id: bytes | str,
        purpose: QueryPurpose | int | str,
        query_hash: bytes | str,
        *,
        schema: str | None = None,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/queries``: log a credit query (查询留痕); anchored, its ``query_id``."""
        code = QueryPurpose.parse(purpose)
        schema_id = ZERO32 if schema is None else self.schema_id(schema)
        signed = self._forward(
            party,
            "Authorisations",
            "logQuery",
            _bytes(auth_id),
            int(code),
            _bytes(query_hash),
            schema_id,
        )
        body: Json = {
            "auth_id": _hex(auth_id),
            "purpose": int(code),
            "query_hash": _hex(query_hash),
            **signed,
        }
        if schema is not None:
            body["schema"] = schema
        return self._write("/v1/queries", body)

    def share_report(
        self,
        query_id: bytes | str,
        recipient: str,
        ciphertext_hash: bytes | str,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/queries/{query_id}/report-shares``: a sealed report sent in answer."""
        to = to_checksum_address(recipient)
        signed = self._forward(
            party,
            "Authorisations",
            "recordReportShare",
            _bytes(query_id),
            to,
            _bytes(ciphertext_hash),
        )
        body = {"recipient": to, "ciphertext_hash": _hex(ciphertext_hash), **signed}
        return self._write(f"/v1/queries/{_hex(query_id)}/report-shares", body)

    # -- disputes and complaints ------------------------------------------------------------
    def raise_dispute(
        self,
        uid: bytes | str,
        fields: AttestationFields,
        reason_hash: bytes | str,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/disputes``: the subject's bound account disputes a record; anchored,
        its ``dispute_id``."""
        args = (bytes(fields.subject), bytes(fields.data_hash), bytes(fields.ref_uid))
        signed = self._forward(
            party, "Disputes", "raiseDispute", _bytes(uid), args, _bytes(reason_hash)
        )
        body = {
            "uid": _hex(uid),
            "fields": _fields_body(fields),
            "reason_hash": _hex(reason_hash),
            **signed,
        }
        return self._write("/v1/disputes", body)

    def raise_batch_record_dispute(
        self, ref: BatchRecordRef, reason_hash: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/disputes/batch-record``: dispute one record of a batch."""
        signed = self._forward(
            party, "Disputes", "raiseBatchRecordDispute", *ref.args(), _bytes(reason_hash)
        )
        body = {**ref.body(), "reason_hash": _hex(reason_hash), **signed}
        return self._write("/v1/disputes/batch-record", body)

    def reject_dispute(
        self, dispute_id: int, reason_hash: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/disputes/{id}/reject``: the record stands (attester or regulator)."""
        signed = self._forward(party, "Disputes", "rejectDispute", dispute_id, _bytes(reason_hash))
        body = {"reason_hash": _hex(reason_hash), **signed}
        return self._write(f"/v1/disputes/{dispute_id}/reject", body)

    def uphold_dispute(
        self,
        dispute_id: int,
        reply_hash: bytes | str = ZERO32,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/disputes/{id}/uphold``: once the record is revoked or replaced."""
        signed = self._forward(party, "Disputes", "upholdDispute", dispute_id, _bytes(reply_hash))
        body = {"reply_hash": _hex(reply_hash), **signed}
        return self._write(f"/v1/disputes/{dispute_id}/uphold", body)

    def file_complaint(
        self, dispute_id: int, reason_hash: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/complaints``: the subject complains of a dispute's answer; anchored,
        its ``complaint_id``."""
        signed = self._forward(party, "Disputes", "fileComplaint", dispute_id, _bytes(reason_hash))
        body = {"dispute_id": dispute_id, "reason_hash": _hex(reason_hash), **signed}
        return self._write("/v1/complaints", body)

    def resolve_complaint(
        self,
        complaint_id: int,
        reply_hash: bytes | str,
        *,
        upheld: bool,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/complaints/{id}/resolve``: a regulator's decision."""
        signed = self._forward(
            party, "Disputes", "resolveComplaint", complaint_id, upheld, _bytes(reply_hash)
        )
        body = {"upheld": upheld, "reply_hash": _hex(reply_hash), **signed}
        return self._write(f"/v1/complaints/{complaint_id}/resolve", body)

    # -- receivables ----------------------------------------------------------------------
    def issue_receivable(
        self,
        supplier: str,
        amount_fen: int,
        due_date: int,
        *,
        contract_hash: bytes | str,
        invoice_commitments: Sequence[bytes | str],
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/receivables``: the debtor issues; anchored, its ``receivable_id``."""
        to = to_checksum_address(supplier)
        invoices = [_bytes(h) for h in invoice_commitments]
        signed = self._forward(
            party,
            "Receivables",
            "issue",
            to,
            amount_fen,
            due_date,
            _bytes(contract_hash),
            invoices,
        )
        body = {
            "supplier": to,
            "amount_fen": amount_fen,
            "due_date": due_date,
            "contract_hash": _hex(contract_hash),
            "invoice_commitments": [_hex(h) for h in invoices],
            **signed,
        }
        return self._write("/v1/receivables", body)

    def accept_receivable(
        self, receivable_id: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/receivables/{id}/accept``: the supplier."""
        return self._on_receivable(party, receivable_id, "accept", "accept")

    def reject_receivable(
        self,
        receivable_id: bytes | str,
        released_invoices: Sequence[bytes | str] = (),
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/receivables/{id}/reject``: the supplier, releasing invoice commitments."""
        released = [_bytes(h) for h in released_invoices]
        signed = self._forward(party, "Receivables", "reject", _bytes(receivable_id), released)
        body = {"released_invoices": [_hex(h) for h in released], **signed}
        return self._write(f"/v1/receivables/{_hex(receivable_id)}/reject", body)

    def split_receivable(
        self,
        receivable_id: bytes | str,
        to: str,
        amount_fen: int,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/receivables/{id}/split``: the holder; anchored, the new part's
        ``receivable_id``."""
        to = to_checksum_address(to)
        signed = self._forward(party, "Receivables", "split", _bytes(receivable_id), to, amount_fen)
        body = {"to": to, "amount_fen": amount_fen, **signed}
        return self._write(f"/v1/receivables/{_hex(receivable_id)}/split", body)

    def transfer_receivable(
        self, receivable_id: bytes | str, to: str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/receivables/{id}/transfer``: a whole part (the holder)."""
        to = to_checksum_address(to)
        signed = self._forward(party, "Receivables", "transfer", _bytes(receivable_id), to)
        return self._write(f"/v1/receivables/{_hex(receivable_id)}/transfer", {"to": to, **signed})

    def request_financing(
        self,
        receivable_id: bytes | str,
        financier: str,
        *,
        min_advance_fen: int,
        max_discount_bps: int,
        expires_at: int,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/receivables/{id}/financing-requests``: the holder asks a bank, on its
        terms (the bank's key may hand it in)."""
        bank = to_checksum_address(financier)
        signed = self._forward(
            party,
            "Receivables",
            "requestFinancing",
            _bytes(receivable_id),
            bank,
            min_advance_fen,
            max_discount_bps,
            expires_at,
        )
        body = {
            "financier": bank,
            "min_advance_fen": min_advance_fen,
            "max_discount_bps": max_discount_bps,
            "expires_at": expires_at,
            **signed,
        }
        return self._write(f"/v1/receivables/{_hex(receivable_id)}/financing-requests", body)

    def withdraw_financing_request(
        self, receivable_id: bytes | str, financier: str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/receivables/{id}/financing-requests/withdraw``: the holder."""
        bank = to_checksum_address(financier)
        signed = self._forward(
            party, "Receivables", "withdrawFinancingRequest", _bytes(receivable_id), bank
        )
        path = f"/v1/receivables/{_hex(receivable_id)}/financing-requests/withdraw"
        return self._write(path, {"financier": bank, **signed})

    def finance_receivable(
        self,
        receivable_id: bytes | str,
        advance_fen: int,
        discount_bps: int,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/receivables/{id}/finance``: the bank asked, within the holder's terms."""
        signed = self._forward(
            party, "Receivables", "finance", _bytes(receivable_id), advance_fen, discount_bps
        )
        body = {"advance_fen": advance_fen, "discount_bps": discount_bps, **signed}
        return self._write(f"/v1/receivables/{_hex(receivable_id)}/finance", body)

    def release_financing(
        self, receivable_id: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/receivables/{id}/release``: the bank releases its financing."""
        return self._on_receivable(party, receivable_id, "releaseFinancing", "release")

    def mark_overdue(
        self, receivable_id: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/receivables/{id}/mark-overdue``: the payee; anchored, the default
        ``attestation``'s UID."""
        return self._on_receivable(party, receivable_id, "markOverdue", "mark-overdue")

    def settle_receivables(
        self, ids: Sequence[bytes | str], *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/receivables/settlements``: the debtor settles parts at maturity."""
        raw = [_bytes(i) for i in ids]
        signed = self._forward(party, "Receivables", "settle", raw)
        return self._write("/v1/receivables/settlements", {"ids": [_hex(i) for i in raw], **signed})

    def _on_receivable(
        self, party: LocalAccount | None, receivable_id: bytes | str, fn: str, route: str
    ) -> Submission:
        signed = self._forward(party, "Receivables", fn, _bytes(receivable_id))
        return self._write(f"/v1/receivables/{_hex(receivable_id)}/{route}", signed)

    # -- lending: the collateral registry -------------------------------------------------
    def pledge(
        self,
        kind: CollateralKind | int | str,
        key: bytes | str,
        secured_amount_fen: int,
        expiry: int,
        *,
        pledgor: LocalAccount,
        rank: int | None = None,
        consent_deadline: int | None = None,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/collateral/pledges``: ``pledgor`` (the enterprise) signs its consent
        (EIP-712 ``Pledge``) with its key, and the pledgee bank (``party``, by default the
        client's account) registers the pledge; anchored, its ``pledge_id``. ``rank`` is the
        asset's registration count, read from the API when left out."""
        terms = PledgeTerms(
            CollateralKind.parse(kind), Hash32(_bytes(key)), secured_amount_fen, expiry
        )
        bank = self._party(party)
        if rank is None:
            rank = int(self.get(f"/v1/collateral/assets/{_hex(terms.asset_id)}")["registrations"])
        signed = self.signer.pledge(
            pledgor, terms, pledgee=bank.address, rank=rank, deadline=consent_deadline
        )
        return self.submit_pledge(signed, party=bank)

    def submit_pledge(
        self, signed: SignedPledge, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/collateral/pledges`` with a pledgor's consent signed already."""
        forward = self._forward(
            party,
            "CollateralRegistry",
            "pledge",
            signed.terms.as_tuple(),
            signed.pledgor,
            signed.deadline,
            signed.signature,
        )
        return self._write("/v1/collateral/pledges", bodies.pledge(signed, forward))

    def amend_pledge(
        self,
        pledge_id: bytes | str,
        secured_amount_fen: int,
        expiry: int,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/collateral/pledges/{id}/amend``: the pledgee's new amount and term."""
        forward = self._forward(
            party, "CollateralRegistry", "amend", _bytes(pledge_id), secured_amount_fen, expiry
        )
        body = bodies.pledge_amendment(secured_amount_fen, expiry, forward)
        return self._write(f"/v1/collateral/pledges/{_hex(pledge_id)}/amend", body)

    def release_pledge(
        self, pledge_id: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/collateral/pledges/{id}/release``: the pledgee frees the asset."""
        forward = self._forward(party, "CollateralRegistry", "release", _bytes(pledge_id))
        return self._write(f"/v1/collateral/pledges/{_hex(pledge_id)}/release", forward)

    def get_pledge(self, pledge_id: bytes | str) -> Json:
        """``GET /v1/collateral/pledges/{id}``."""
        doc: Json = self.get(f"/v1/collateral/pledges/{_hex(pledge_id)}")
        return doc

    def asset_registrations(
        self,
        kind: CollateralKind | int | str | None = None,
        key: bytes | str | None = None,
        *,
        authority: str | None = None,
        number: str | None = None,
        asset: bytes | str | None = None,
    ) -> Json:
        """Every registration on an asset, in priority order (search before lending): by
        ``asset`` id (``GET /v1/collateral/assets/{id}``), or by kind and key, or for a
        patent or trademark by kind, issuing authority and registration number
        (``GET /v1/collateral/assets?kind=...``)."""
        if asset is not None:
            doc: Json = self.get(f"/v1/collateral/assets/{_hex(asset)}")
            return doc
        if kind is None:
            raise ValueError("name the asset: asset=, or kind with key or authority and number")
        name = CollateralKind.parse(kind).name.lower()
        key_hex = _hex(key) if key is not None else None
        doc = self.get(
            "/v1/collateral/assets", kind=name, key=key_hex, authority=authority, number=number
        )
        return doc

    # -- lending: credit facilities and joint agreements ------------------------------------
    def register_facility(
        self,
        subject: bytes | str,
        contract_hash: bytes | str,
        *,
        kind: FacilityKind | int | str,
        limit_fen: int,
        expiry: int,
        pledge_ids: Sequence[bytes | str] = (),
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/facilities``: the lender records a facility, secured by pledges in force
        to it; anchored, its ``facility_id``."""
        code = FacilityKind.parse(kind)
        pledges = [_bytes(p) for p in pledge_ids]
        forward = self._forward(
            party,
            "CreditFacilities",
            "registerFacility",
            _bytes(subject),
            _bytes(contract_hash),
            int(code),
            limit_fen,
            expiry,
            pledges,
        )
        body = bodies.facility(
            subject,
            contract_hash,
            kind=code,
            limit_fen=limit_fen,
            expiry=expiry,
            pledge_ids=pledges,
            forward=forward,
        )
        return self._write("/v1/facilities", body)

    def draw(
        self,
        subject: bytes | str,
        contract_hash: bytes | str,
        amount_fen: int,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/facilities/draw``: the lender records a draw."""
        return self._facility_amount("draw", subject, contract_hash, amount_fen, party)

    def repay(
        self,
        subject: bytes | str,
        contract_hash: bytes | str,
        amount_fen: int,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/facilities/repay``: the lender records a repayment."""
        return self._facility_amount("repay", subject, contract_hash, amount_fen, party)

    def _facility_amount(
        self,
        fn: str,
        subject: bytes | str,
        contract_hash: bytes | str,
        amount_fen: int,
        party: LocalAccount | None,
    ) -> Submission:
        forward = self._forward(
            party, "CreditFacilities", fn, _bytes(subject), _bytes(contract_hash), amount_fen
        )
        body = bodies.facility_ref(subject, contract_hash, forward, amount_fen=amount_fen)
        return self._write(f"/v1/facilities/{fn}", body)

    def amend_facility(
        self,
        subject: bytes | str,
        contract_hash: bytes | str,
        limit_fen: int,
        expiry: int,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/facilities/amend``: a new limit (at least what is drawn) and expiry."""
        forward = self._forward(
            party,
            "CreditFacilities",
            "amend",
            _bytes(subject),
            _bytes(contract_hash),
            limit_fen,
            expiry,
        )
        body = bodies.facility_amendment(subject, contract_hash, limit_fen, expiry, forward)
        return self._write("/v1/facilities/amend", body)

    def close_facility(
        self, subject: bytes | str, contract_hash: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/facilities/close``: the lender closes a repaid facility."""
        forward = self._forward(
            party, "CreditFacilities", "close", _bytes(subject), _bytes(contract_hash)
        )
        return self._write(
            "/v1/facilities/close", bodies.facility_ref(subject, contract_hash, forward)
        )

    def report_overdue(
        self,
        subject: bytes | str,
        contract_hash: bytes | str,
        amount_fen: int,
        days_overdue: int,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/facilities/overdue``: the lender reports an overdue (which flags the
        joint agreement it takes part in)."""
        forward = self._forward(
            party,
            "CreditFacilities",
            "reportOverdue",
            _bytes(subject),
            _bytes(contract_hash),
            amount_fen,
            days_overdue,
        )
        body = bodies.overdue_report(subject, contract_hash, amount_fen, days_overdue, forward)
        return self._write("/v1/facilities/overdue", body)

    def get_facility(self, facility_id: bytes | str) -> Json:
        """``GET /v1/facilities/{id}``."""
        doc: Json = self.get(f"/v1/facilities/{_hex(facility_id)}")
        return doc

    def propose_agreement(
        self,
        subject: bytes | str,
        joint_limit_fen: int,
        participants: Sequence[str],
        shares_bps: Sequence[int],
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/agreements``: the lead bank (a participant) proposes a joint agreement;
        anchored, its number as ``agreement``."""
        banks = [to_checksum_address(p) for p in participants]
        shares = [int(x) for x in shares_bps]
        forward = self._forward(
            party,
            "CreditFacilities",
            "proposeAgreement",
            _bytes(subject),
            joint_limit_fen,
            banks,
            shares,
        )
        body = bodies.agreement_proposal(subject, joint_limit_fen, banks, shares, forward)
        return self._write("/v1/agreements", body)

    def join_agreement(self, agreement: int, *, party: LocalAccount | None = None) -> Submission:
        """``POST /v1/agreements/{no}/join``: a participant joins."""
        return self._on_agreement(party, agreement, "joinAgreement", "join")

    def accept_agreement(
        self,
        agreement: int,
        *,
        enterprise: LocalAccount,
        consent_deadline: int | None = None,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/agreements/{no}/accept``: the enterprise signs ``AcceptAgreement`` of
        the agreement as the API serves it, with its key; a member (``party``) relays it."""
        doc = self.get_agreement(agreement)
        terms = JointAgreement(
            agreement,
            SubjectId(_bytes(doc["subject"])),
            to_checksum_address(doc["lead"]),
            int(doc["joint_limit_fen"]),
            len(doc["participants"]),
            int(doc["joined"]),
            bool(doc["accepted"]),
            AgreementStatus[str(doc["status"]).upper()],
        )
        signed = self.signer.acceptance(enterprise, terms, deadline=consent_deadline)
        return self.submit_acceptance(signed, party=party)

    def submit_acceptance(
        self, signed: SignedAcceptance, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/agreements/{no}/accept`` with an acceptance signed already."""
        forward = self._forward(
            party,
            "CreditFacilities",
            "acceptAgreementBySig",
            signed.agreement,
            signed.deadline,
            signed.signature,
        )
        path = f"/v1/agreements/{signed.agreement}/accept"
        return self._write(path, bodies.acceptance(signed, forward))

    def clear_flag(self, agreement: int, *, party: LocalAccount | None = None) -> Submission:
        """``POST /v1/agreements/{no}/clear-flag``: the lead bank lets draws resume."""
        return self._on_agreement(party, agreement, "clearFlag", "clear-flag")

    def end_agreement(self, agreement: int, *, party: LocalAccount | None = None) -> Submission:
        """``POST /v1/agreements/{no}/end``: the lead bank ends the agreement."""
        return self._on_agreement(party, agreement, "endAgreement", "end")

    def _on_agreement(
        self, party: LocalAccount | None, agreement: int, fn: str, route: str
    ) -> Submission:
        forward = self._forward(party, "CreditFacilities", fn, agreement)
        return self._write(f"/v1/agreements/{agreement}/{route}", forward)

    def get_agreement(self, agreement: int) -> Json:
        """``GET /v1/agreements/{no}``: its terms and each participant's share."""
        doc: Json = self.get(f"/v1/agreements/{agreement}")
        return doc

    def exposure(self, subject: bytes | str, auth_id: bytes | str | None = None) -> Json:
        """``GET /v1/exposures/{subject}``: what an enterprise owes across lenders, for a
        regulator or for a member holding its authorisation ``auth_id`` in force
        (``FacilityExposureNotAuthorised`` otherwise)."""
        params = {"auth_id": _hex(auth_id)} if auth_id is not None else {}
        doc: Json = self.get(f"/v1/exposures/{_hex(subject)}", **params)
        return doc

    # -- onboarding (the regulator; a registrar binds enterprises) ---------------------------
    def admit_member(
        self,
        account: str,
        name: str,
        city: City | int | str,
        roles: Iterable[str] | Role,
        *,
        party: LocalAccount | None = None,
    ) -> Submission:
        """``POST /v1/members``: the regulator admits a member (``Consortium.admitMember``)."""
        who = to_checksum_address(account)
        code = City.parse(city)
        flags, names = _roles(roles)
        signed = self._forward(party, "Consortium", "admitMember", who, name, int(code), flags)
        body = {"account": who, "name": name, "city": code.label, "roles": names, **signed}
        return self._write("/v1/members", body)

    def suspend_member(
        self, account: str, reason: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/members/{account}/suspension``: the regulator suspends a member."""
        who = to_checksum_address(account)
        signed = self._forward(party, "Consortium", "suspendMember", who, _bytes(reason))
        return self._write(f"/v1/members/{who}/suspension", {"reason": _hex(reason), **signed})

    def reinstate_member(self, account: str, *, party: LocalAccount | None = None) -> Submission:
        """``POST /v1/members/{account}/reinstatement``: the regulator reinstates a member."""
        who = to_checksum_address(account)
        signed = self._forward(party, "Consortium", "reinstateMember", who)
        return self._write(f"/v1/members/{who}/reinstatement", signed)

    def set_roles(
        self, account: str, roles: Iterable[str] | Role, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/members/{account}/roles``: the regulator sets a member's roles."""
        who = to_checksum_address(account)
        flags, names = _roles(roles)
        signed = self._forward(party, "Consortium", "setRoles", who, flags)
        return self._write(f"/v1/members/{who}/roles", {"roles": names, **signed})

    def bind_enterprise(
        self, account: str, subject: bytes | str, *, party: LocalAccount | None = None
    ) -> Submission:
        """``POST /v1/enterprises``: a registrar binds an enterprise's account to its
        subject id."""
        who = to_checksum_address(account)
        signed = self._forward(party, "Consortium", "bindEnterprise", who, _bytes(subject))
        return self._write("/v1/enterprises", {"account": who, "subject": _hex(subject), **signed})


def _fields_body(fields: AttestationFields) -> Json:
    return {
        "subject": _hex(fields.subject),
        "data_hash": _hex(fields.data_hash),
        "ref_uid": _hex(fields.ref_uid),
    }


def _roles(roles: Iterable[str] | Role) -> tuple[int, list[str]]:
    """Role flags and their names (lower case, as the API lists them)."""
    flags = Role.parse(roles if isinstance(roles, Role) else list(roles))
    names = [r.name.lower() for r in Role if r in flags and r.name is not None]
    return int(flags), names


def _prepared_submission(body: Json) -> Submission:
    """What a write kept by :meth:`Client.prepared` returns: no id yet, status ``prepared``."""
    signer = str(body.get("signer") or body.get("enterprise") or "")
    return Submission("", "", "", "prepared", signer, str(body.get("nonce", "")))


def _idempotency_key(path: str, body: Json) -> str:
    """One key per signed write: the route, who signed and with which nonce (for a batch,
    every item's). A retry of the same signed body gets the same key, so the server makes
    it once; hashed, so it stays short whatever the nonce."""
    items = body.get("a") or [body]
    named = [f"{b.get('signer') or b.get('enterprise')}:{b.get('nonce')}" for b in items]
    digest = hashlib.sha256("\n".join([path, *named]).encode()).hexdigest()
    return "sdk-" + digest[:40]


def _retry_after_s(r: httpx.Response) -> float | None:
    """The seconds a 429 or 503 answer's ``Retry-After`` asks for, or None: another
    answer, or one without it (``ChainUnavailable`` says nothing of when)."""
    if r.status_code not in _RETRIED_STATUSES:
        return None
    value = r.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None
