"""Where the simulation's credit records go: straight to the chain, or through the HTTP API.

Every party writes through a gateway. :class:`ChainGateway` signs and sends
each write itself; :class:`ApiGateway` has each write signed by its party and
posts it to a running ``credit-chain serve`` with the SDK (:mod:`sdk`), whose
worker relays it: records alone or in a signed batch, every other write as the
party's ForwardRequest (an authorisation as the enterprise's ``Authorise``).
What a record leads to (a dispute needs its UID) arrives through a callback once
it is anchored: at once on the chain, at the end of the day
(:meth:`ApiGateway.drain`) through the API. Any other write through the API is
followed until relayed, since the flows go on from what it made.

Every write of the simulated days goes through the gateway, the regulator's
suspension and reinstatement of a member among them; only the set-up (deployment,
admissions, bindings, published keys: the operator's) goes to the chain directly.
Every operation is noted with the channel it took (``Metrics.channels``), so
the summary says what went where: through :class:`ApiGateway`, every one ``api``.

What honest traffic carried is kept for the red team (:mod:`node_sim.adversaries`),
as an eavesdropper on the wire would have it: the ForwardRequests relayed
(:attr:`ChainGateway.forwarded`), the Merkle batches anchored on chain with their trees
(:attr:`ChainGateway.batches`, as anyone can rebuild them from the records' holders'
proofs) and, through the API, the signed records posted (:attr:`ApiGateway.sent`, and
the first of each day in :attr:`ApiGateway.kept`).
"""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from harness.api_process import ApiClient, ApiResponse, ApiServer
from ledger_client import Keyring, Ledger, LedgerConnectionError
from ledger_client.attestations.batches import AnchoredBatch, anchor_records
from ledger_client.attestations.records import Schema, record_hash, record_subject
from ledger_client.attestations.signed_records import domain_separator
from ledger_client.contracts.authorisations import SignedAuthorisation, SignedWithdrawal
from ledger_client.contracts.base import Call
from ledger_client.contracts.disputes import SignedComplaint, SignedDispute
from ledger_client.contracts.forwarder import SignedForwardRequest
from ledger_client.lending import FacilityKind, PledgeTerms
from ledger_client.types import (
    AttestationFields,
    Hash32,
    QueryPurpose,
    ReceivableId,
)
from node_sim.metrics import Metrics
from sdk import ApiError, Client, Submission

__all__ = ["ApiGateway", "ChainGateway", "Forwarded", "Written"]

#: How long a signature handed to the API stays relayable: past the day it is written on.
SIGNATURE_LIFETIME_S = 3 * 86_400
#: Items per ``POST /v1/attestations/batch`` (the route takes at most 1,000).
API_BATCH_MAX = 1_000
#: How long the end of a day waits for the API to anchor what it accepted, seconds.
DRAIN_TIMEOUT_S = 120.0
#: Honest messages kept as what an eavesdropper captured.
_CAPTURED = 32
#: Days of first-of-the-day signed records kept (longer than a signature lives).
_KEPT_DAYS = 7


@dataclass(frozen=True)
class Written:
    """A record anchored on chain."""

    member: str  # keyring label of the attester
    schema: Schema
    record: dict[str, object]
    fields: AttestationFields  # what the UID commits to
    uid: Hash32 | None  # the attestation's UID; None when anchored in a Merkle batch
    day: int


@dataclass(frozen=True)
class Forwarded:
    """A ForwardRequest an honest party signed and the flows relayed, as it travelled."""

    key_of: str  # keyring label of who handed it in (whose gas or API key)
    signed: SignedForwardRequest
    path: str | None = None  # the API route it was posted to; None when relayed on chain
    body: dict[str, object] | None = None  # the request body posted


OnWritten = Callable[[Written], None]
CityOf = Callable[[str], str]


class ChainGateway:
    """Each write signed by its member and sent to the chain by this process."""

    channel = "chain"

    def __init__(self, ledger: Ledger, ring: Keyring, metrics: Metrics, city_of: CityOf) -> None:
        self.ledger = ledger
        self.ring = ring
        self.metrics = metrics
        self.city_of = city_of
        self.forwarded: deque[Forwarded] = deque(maxlen=_CAPTURED)
        self.batches: deque[tuple[str, AnchoredBatch]] = deque(maxlen=_CAPTURED)
        self._forward_nonces: dict[str, int] = {}

    def sign_forward(self, signer: str, call: Call) -> SignedForwardRequest:
        """``signer``'s ForwardRequest of ``call`` (a facade's ``*_call``), valid a signature
        lifetime.

        Nonces count up per signer, so a seed's run signs the same bytes (and pays the
        same calldata gas) every time.
        """
        acct = self.ring.account(signer)
        nonce = self._forward_nonces.get(acct.address, 0) + 1
        self._forward_nonces[acct.address] = nonce
        fw = self.ledger.forwarder
        deadline = self.ledger.chain.now() + SIGNATURE_LIFETIME_S
        return fw.sign_call(acct, call, nonce=nonce, deadline=deadline)

    def attest(
        self,
        member: str,
        schema: Schema,
        record: dict[str, object],
        day: int,
        then: OnWritten | None = None,
    ) -> None:
        """Attest one record (it gets a UID, so it can be disputed or shared)."""
        made = self.ledger.attestations.attest_record(self.ring.account(member), schema, record)
        self._sent("attest", made.gas_used)
        self.metrics.record(schema.name, self.city_of(member), day, 1, False)
        if then is not None:
            fields = AttestationFields(record_subject(record), record_hash(schema, record))
            then(Written(member, schema, record, fields, Hash32(made.uid), day))

    def anchor(
        self, member: str, schema: Schema, records: list[dict[str, object]], day: int
    ) -> None:
        """Anchor many records of one schema as one Merkle root."""
        batch = anchor_records(self.ledger.attestations, self.ring.account(member), schema, records)
        self._sent("anchor_batch", batch.tx.gas_used)
        self.metrics.record(schema.name, self.city_of(member), day, len(records), True)
        self.batches.append((member, batch))

    # -- every other write ------------------------------------------------------------
    # Sent to the chain here; :class:`ApiGateway` overrides each to go through the API.
    # Parties are keyring labels; each method returns what the flows need next.
    def _sent(self, operation: str, gas: int) -> None:
        self.metrics.gas_spent(operation, gas)
        self.metrics.went(operation, "chain")

    def attest_with_uid(self, member: str, schema: Schema, record: dict[str, object]) -> Hash32:
        """Attest one record at once, on its own: a report shared later must name its UID."""
        made = self.ledger.attestations.attest_record(self.ring.account(member), schema, record)
        self._sent("attest_rating", made.gas_used)
        return Hash32(made.uid)

    def authorise(self, bank: str, signed: SignedAuthorisation) -> Hash32:
        """Relay an enterprise's signed authorisation of ``bank``; return its id."""
        granted = self.ledger.authorisations.authorise(self.ring.account(bank), signed)
        self._sent("authorise", granted.tx.gas_used)
        return granted.auth_id

    def log_query(
        self, bank: str, auth_id: bytes, purpose: QueryPurpose, query_hash: bytes
    ) -> Hash32:
        """Log a query under an authorisation (查询留痕); return the query's id."""
        logged = self.ledger.authorisations.log_query(
            self.ring.account(bank), auth_id, purpose, query_hash
        )
        self._sent("log_query", logged.tx.gas_used)
        return logged.query_id

    def record_report_share(
        self, sender: str, query_id: bytes, recipient: str, ciphertext_hash: bytes
    ) -> None:
        """Record a sealed report's hash against the query it answers."""
        tx = self.ledger.authorisations.record_report_share(
            self.ring.account(sender),
            query_id,
            self.ring.account(recipient).address,
            ciphertext_hash,
        )
        self._sent("record_report_share", tx.gas_used)

    def withdraw(self, relayer: str, signed: SignedWithdrawal) -> None:
        """Relay an enterprise's signed withdrawal of an authorisation."""
        tx = self.ledger.authorisations.withdraw_by_sig(self.ring.account(relayer), signed)
        self._sent("withdraw_by_sig", tx.gas_used)

    def raise_dispute(self, relayer: str, signed: SignedDispute) -> int:
        """Relay an enterprise's signed dispute of a record; return the dispute's id."""
        raised = self.ledger.disputes.relay_dispute(self.ring.account(relayer), signed)
        self._sent("raise_dispute_by_sig", raised.tx.gas_used)
        return raised.dispute_id

    def file_complaint(self, relayer: str, signed: SignedComplaint) -> int:
        """Relay an enterprise's signed complaint of a dispute's answer; return its id."""
        filed = self.ledger.disputes.relay_complaint(self.ring.account(relayer), signed)
        self._sent("file_complaint_by_sig", filed.tx.gas_used)
        return filed.complaint_id

    def resolve_complaint(
        self, regulator: str, complaint_id: int, reply: bytes, *, uphold: bool
    ) -> None:
        """A regulator resolves a complaint (upheld once the record is revoked)."""
        tx = self.ledger.disputes.resolve_complaint(
            self.ring.account(regulator), complaint_id, uphold, reply
        )
        self._sent("resolve_complaint", tx.gas_used)

    def revoke(self, revoker: str, uid: bytes, reason: bytes) -> None:
        """Revoke an attestation (its attester, or a regulator)."""
        tx = self.ledger.attestations.revoke(self.ring.account(revoker), uid, reason)
        self._sent("revoke", tx.gas_used)

    def resolve_dispute(
        self, resolver: str, dispute_id: int, reason: bytes, *, uphold: bool
    ) -> bool:
        """Reject or uphold a dispute; return whether it was answered past its deadline."""
        d, acct = self.ledger.disputes, self.ring.account(resolver)
        if uphold:
            tx = d.uphold(acct, dispute_id, reason)
            self._sent("uphold_dispute", tx.gas_used)
            return bool(tx.event("DisputeUpheld").args["late"])
        tx = d.reject(acct, dispute_id, reason)
        self._sent("reject_dispute", tx.gas_used)
        return bool(tx.event("DisputeRejected").args["late"])

    def issue_receivable(
        self,
        debtor: str,
        supplier: str,
        amount_fen: int,
        due_date: int,
        *,
        contract_hash: bytes,
        invoices: list[bytes],
    ) -> ReceivableId:
        """The debtor issues a receivable to ``supplier`` against its invoice commitments;
        return its id."""
        issued = self.ledger.receivables.issue_receivable(
            self.ring.account(debtor),
            self.ring.account(supplier).address,
            amount_fen,
            due_date,
            contract_hash=contract_hash,
            invoice_commitments=invoices,
        )
        self._sent("issue_receivable", issued.gas_used)
        return issued.receivable_id

    def accept_receivable(self, supplier: str, receivable_id: bytes) -> None:
        """The supplier accepts a receivable issued to it."""
        tx = self.ledger.receivables.accept(self.ring.account(supplier), receivable_id)
        self._sent("accept_receivable", tx.gas_used)

    def reject_receivable(self, supplier: str, receivable_id: bytes, release: list[bytes]) -> None:
        """The supplier rejects a receivable, releasing its invoices."""
        tx = self.ledger.receivables.reject(
            self.ring.account(supplier), receivable_id, release_invoices=release
        )
        self._sent("reject_receivable", tx.gas_used)

    def split_receivable(
        self, holder: str, receivable_id: bytes, to: str, amount_fen: int
    ) -> ReceivableId:
        """The holder passes ``amount_fen`` of a part to ``to``; return the new part's id."""
        child = self.ledger.receivables.transfer_part(
            self.ring.account(holder), receivable_id, self.ring.account(to).address, amount_fen
        )
        self._sent("split_receivable", child.gas_used)
        return child.receivable_id

    def request_financing(
        self,
        holder: str,
        receivable_id: bytes,
        bank: str,
        *,
        min_advance_fen: int,
        max_discount_bps: int,
        expires_at: int,
    ) -> None:
        """The holder asks ``bank`` to finance a part on its terms, until ``expires_at``: its
        signed ForwardRequest, which the bank relays through the Forwarder (the holder pays
        no gas)."""
        signed = self._financing_request(
            holder,
            receivable_id,
            bank,
            min_advance_fen=min_advance_fen,
            max_discount_bps=max_discount_bps,
            expires_at=expires_at,
        )
        tx = self.ledger.forwarder.relay(self.ring.account(bank), signed)
        self._sent("request_financing", tx.gas_used)
        self.forwarded.append(Forwarded(bank, signed))

    def _financing_request(
        self,
        holder: str,
        receivable_id: bytes,
        bank: str,
        *,
        min_advance_fen: int,
        max_discount_bps: int,
        expires_at: int,
    ) -> SignedForwardRequest:
        call = self.ledger.receivables.request_financing_call(
            bytes(receivable_id),
            self.ring.account(bank).address,
            min_advance_fen=min_advance_fen,
            max_discount_bps=max_discount_bps,
            expires_at=expires_at,
        )
        return self.sign_forward(holder, call)

    def finance_receivable(
        self, bank: str, receivable_id: bytes, advance_fen: int, discount_bps: int
    ) -> None:
        """The bank finances a part it was asked to."""
        tx = self.ledger.receivables.finance(
            self.ring.account(bank), receivable_id, advance_fen, discount_bps
        )
        self._sent("finance_receivable", tx.gas_used)

    def settle_receivables(self, debtor: str, ids: list[bytes]) -> None:
        """The debtor settles the listed parts at maturity."""
        tx = self.ledger.receivables.settle(self.ring.account(debtor), ids)
        self._sent("settle_receivable", tx.gas_used)

    def mark_overdue(self, payee: str, receivable_id: bytes) -> Hash32:
        """The payee marks an unpaid part overdue; return the default attestation's UID."""
        marked = self.ledger.receivables.mark_overdue(self.ring.account(payee), receivable_id)
        self._sent("mark_overdue_with_default", marked.gas_used)
        return marked.attestation

    # -- lending: pledges, facilities, joint agreements ----------------------------------
    def pledge(self, bank: str, pledgor: str, terms: PledgeTerms) -> Hash32:
        """``bank`` registers a pledge of ``terms`` with the pledgor's signed consent (the
        enterprise signs, pays no gas); return the pledge's id."""
        ledger = self.ledger.collateral
        pledgee = self.ring.account(bank)
        signed = ledger.sign_pledge(
            self.ring.account(pledgor),
            terms,
            pledgee=pledgee.address,
            deadline=self.ledger.chain.now() + SIGNATURE_LIFETIME_S,
        )
        pledged = ledger.pledge(pledgee, signed)
        self._sent("pledge", pledged.tx.gas_used)
        return pledged.pledge_id

    def release_pledge(self, bank: str, pledge: bytes) -> None:
        """The pledgee frees the asset of its pledge."""
        tx = self.ledger.collateral.release(self.ring.account(bank), pledge)
        self._sent("release_pledge", tx.gas_used)

    def register_facility(
        self,
        bank: str,
        subject: bytes,
        contract_hash: bytes,
        *,
        kind: FacilityKind,
        limit: int,
        expiry: int,
        pledge_ids: Sequence[bytes] = (),
    ) -> Hash32:
        """``bank`` records a facility it grants ``subject`` (secured by its pledges in force);
        return the facility's id."""
        made = self.ledger.facilities.register_facility(
            self.ring.account(bank),
            subject,
            contract_hash,
            kind=kind,
            limit=limit,
            expiry=expiry,
            pledge_ids=pledge_ids,
        )
        self._sent("register_facility", made.tx.gas_used)
        return made.facility_id

    def draw(self, bank: str, subject: bytes, contract_hash: bytes, amount_fen: int) -> None:
        """The lender records a draw on its facility."""
        tx = self.ledger.facilities.draw(
            self.ring.account(bank), subject, contract_hash, amount_fen
        )
        self._sent("draw", tx.gas_used)

    def repay(self, bank: str, subject: bytes, contract_hash: bytes, amount_fen: int) -> None:
        """The lender records a repayment on its facility."""
        tx = self.ledger.facilities.repay(
            self.ring.account(bank), subject, contract_hash, amount_fen
        )
        self._sent("repay", tx.gas_used)

    def close_facility(self, bank: str, subject: bytes, contract_hash: bytes) -> None:
        """The lender closes its repaid facility."""
        tx = self.ledger.facilities.close(self.ring.account(bank), subject, contract_hash)
        self._sent("close_facility", tx.gas_used)

    def report_overdue(
        self, bank: str, subject: bytes, contract_hash: bytes, amount_fen: int, days: int
    ) -> None:
        """The lender reports an overdue on its facility (it flags the joint agreement the
        lender takes part in)."""
        tx = self.ledger.facilities.report_overdue(
            self.ring.account(bank), subject, contract_hash, amount_fen, days
        )
        self._sent("report_overdue", tx.gas_used)

    def propose_agreement(
        self,
        lead: str,
        subject: bytes,
        joint_limit: int,
        banks: Sequence[str],
        shares_bps: Sequence[int],
    ) -> int:
        """The lead bank proposes a joint agreement among ``banks`` (itself included); return
        its number."""
        participants = [self.ring.account(b).address for b in banks]
        no, tx = self.ledger.facilities.propose_agreement(
            self.ring.account(lead), subject, joint_limit, participants, shares_bps
        )
        self._sent("propose_agreement", tx.gas_used)
        return no

    def join_agreement(self, bank: str, agreement: int) -> None:
        """A participant joins a proposed agreement."""
        tx = self.ledger.facilities.join_agreement(self.ring.account(bank), agreement)
        self._sent("join_agreement", tx.gas_used)

    def accept_agreement(self, relayer: str, enterprise: str, agreement: int) -> None:
        """The enterprise signs its acceptance of a proposed agreement; ``relayer`` (the lead
        bank) relays it."""
        f = self.ledger.facilities
        signed = f.sign_acceptance(
            self.ring.account(enterprise),
            agreement,
            deadline=self.ledger.chain.now() + SIGNATURE_LIFETIME_S,
        )
        tx = f.accept_agreement(self.ring.account(relayer), signed)
        self._sent("accept_agreement", tx.gas_used)

    def clear_flag(self, lead: str, agreement: int) -> None:
        """The lead bank clears an agreement's overdue flag."""
        tx = self.ledger.facilities.clear_flag(self.ring.account(lead), agreement)
        self._sent("clear_flag", tx.gas_used)

    def end_agreement(self, lead: str, agreement: int) -> None:
        """The lead bank ends an agreement."""
        tx = self.ledger.facilities.end_agreement(self.ring.account(lead), agreement)
        self._sent("end_agreement", tx.gas_used)

    def suspend_member(self, regulator: str, member: str, reason: bytes) -> None:
        """A regulator suspends a member (``reason`` a 32-byte code)."""
        tx = self.ledger.consortium.suspend_member(
            self.ring.account(regulator), self.ring.account(member).address, reason
        )
        self._sent("suspend_member", tx.gas_used)

    def reinstate_member(self, regulator: str, member: str) -> None:
        """A regulator reinstates a suspended member."""
        tx = self.ledger.consortium.reinstate_member(
            self.ring.account(regulator), self.ring.account(member).address
        )
        self._sent("reinstate_member", tx.gas_used)

    def drain(self) -> None:
        """Wait until every write made so far is anchored (nothing to wait for here)."""

    def close(self) -> None:
        """Release what the gateway holds."""


@dataclass
class _Pending:
    submission_id: str
    member: str
    schema: Schema
    record: dict[str, object]
    fields: AttestationFields
    day: int
    then: OnWritten | None


@dataclass
class ApiTally:
    """What the API was sent and what became of it (only what the server answered)."""

    accepted: int = 0  # 200/202: journaled by the server
    anchored: int = 0  # the server reported it anchored
    rejected: dict[str, int] = field(default_factory=dict)  # error -> count, after acceptance
    refused: dict[str, int] = field(default_factory=dict)  # error -> count, at the door
    anchored_single: int = 0
    anchored_batched: int = 0
    batch_ids: set[str] = field(default_factory=set)
    restarts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form for the summary."""
        return {
            "accepted": self.accepted,
            "anchored": self.anchored,
            "anchored_single": self.anchored_single,
            "anchored_in_batches": self.anchored_batched,
            "batches": len(self.batch_ids),
            "rejected_after_acceptance": dict(sorted(self.rejected.items())),
            "refused_at_the_door": dict(sorted(self.refused.items())),
            "lost": self.accepted - self.anchored - sum(self.rejected.values()),
            "restarts": self.restarts,
        }


class ApiGateway(ChainGateway):
    """Every write signed by its party and posted to ``credit-chain serve`` with the SDK
    (:mod:`sdk`): records one by one or in a batch, and every other write as the
    party's ForwardRequest (an authorisation as the enterprise's signed ``Authorise``).

    Records are followed at the end of the day (:meth:`drain`); any other write is
    followed until the server has relayed it, since the flows go on from what it made.
    Each party's writes go in with its own API key (issued the first time it writes),
    except an enterprise's that names a member, which that member hands in.
    """

    channel = "api"

    def __init__(
        self,
        ledger: Ledger,
        ring: Keyring,
        metrics: Metrics,
        city_of: CityOf,
        *,
        server: ApiServer,
        members: list[str],
    ) -> None:
        super().__init__(ledger, ring, metrics, city_of)
        self.server = server
        self.separator = domain_separator(ledger.attestations.domain)
        # Every party of the run gets its key at once: one process, not one per party.
        self.keys = server.issue_keys({m: ring.account(m).address for m in members})
        self.client: ApiClient = server.start()
        self.tally = ApiTally()
        self.sent: deque[tuple[str, dict[str, object]]] = deque(maxlen=_CAPTURED)
        # The first record posted each day, kept a week: captures old enough to have lapsed.
        self.kept: deque[tuple[str, dict[str, object]]] = deque(maxlen=_KEPT_DAYS)
        self._kept_day = -1
        self._pending: list[_Pending] = []
        self._nonces: dict[str, int] = {}
        self._requests = 0
        self._sdk = self._root()
        self._clients: dict[str, Client] = {}
        self._labels: dict[str, str] = {}

    def _root(self) -> Client:
        # Signing needs the deployment, which any member's key may read.
        return Client(
            f"http://127.0.0.1:{self.server.port}",
            next(iter(self.keys.values())),
            clock=self.ledger.chain.now,
            lifetime_s=SIGNATURE_LIFETIME_S,
            poll_interval_s=0.02,
            poll_timeout_s=DRAIN_TIMEOUT_S,
        )

    def sdk(self, label: str) -> Client:
        """The SDK client of ``label``'s API key, signing as ``label``."""
        found = self._clients.get(label)
        if found is None:
            acct = self.ring.account(label)
            found = self._sdk.for_key(self.key_for(label, acct.address), acct)
            self._clients[label] = found
        return found

    def label_of(self, address: str) -> str:
        """The keyring label of ``address`` (a party the simulation made)."""
        if address not in self._labels:
            self._labels.update({self.ring.account(k).address: k for k in self.ring.labels()})
        return self._labels[address]

    # -- signing --------------------------------------------------------------------
    def sign(
        self, signer: LocalAccount, schema: Schema, record: dict[str, object], nonce: int
    ) -> dict[str, object]:
        """The request body of one signed attestation (the SDK's)."""
        return self._sdk.record_body(schema, record, party=signer, nonce=nonce)

    def _next_nonce(self, member: str) -> int:
        nonce = self._nonces.get(member, 0) + 1
        self._nonces[member] = nonce
        return nonce

    def reserve_nonce(self, member: str) -> int:
        """A nonce of ``member``'s signed records that its honest traffic will not use."""
        return self._next_nonce(member)

    def key_for(self, label: str, address: str) -> str:
        """The API key of ``label`` (issued into the server's key store the first time)."""
        key = self.keys.get(label)
        if key is None:
            key = self.keys[label] = self.server.issue_key(address, label)
        return key

    def settle(self, answer: ApiResponse, member: str) -> dict[str, Any]:
        """Wait until the server has relayed the submission ``answer`` accepted; return it."""
        path = f"/v1/submissions/{answer.body['id']}"
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while True:
            found = self.client.request("GET", path, None, {"X-API-Key": self.keys[member]})
            if found.status != 200:
                raise LedgerConnectionError(f"the API lost {path}: {found.status} {found.body}")
            if found.body["status"] != "pending":
                settled: dict[str, Any] = found.body
                return settled
            if time.monotonic() > deadline:
                raise LedgerConnectionError(f"the API did not relay {path} in time")
            time.sleep(0.02)

    def post(self, member: str, path: str, body: object, idempotency_key: str) -> ApiResponse:
        """POST as ``member`` (its API key) under an Idempotency-Key, as it comes: what the
        red team sends (a captured body, a forged one) goes through here unchanged."""
        self._requests += 1
        return self.client.request(
            "POST",
            path,
            body,
            {"X-API-Key": self.keys[member], "Idempotency-Key": idempotency_key},
        )

    # -- writes ---------------------------------------------------------------------
    def _relayed(
        self, operation: str, key_of: str, write: Callable[[Client], Submission]
    ) -> Submission:
        """Hand in one signed write with ``key_of``'s key and follow it until relayed."""
        client = self.sdk(key_of)
        self._requests += 1
        self.metrics.went(operation, self.channel)
        return client.wait(write(client))

    def _relayed_forward(
        self, operation: str, key_of: str, write: Callable[[Client], Submission]
    ) -> Submission:
        done = self._relayed(operation, key_of, write)
        client = self.sdk(key_of)
        if client.last_forward is not None and client.last_write is not None:
            path, body = client.last_write
            self.forwarded.append(Forwarded(key_of, client.last_forward, path, body))
        return done

    def attest(
        self,
        member: str,
        schema: Schema,
        record: dict[str, object],
        day: int,
        then: OnWritten | None = None,
    ) -> None:
        nonce = self._next_nonce(member)
        body = self.sign(self.ring.account(member), schema, record, nonce)
        self.metrics.went("attest", self.channel)
        self._requests += 1
        try:
            subs = [self.sdk(member).submit_attestation(body, f"sim:{member}:{nonce}")]
        except ApiError as refused:
            self._refused(refused, 1)
            return
        self.track(subs, [(member, schema, record, day, then)])
        self.sent.append((member, body))
        if day != self._kept_day:
            self._kept_day = day
            self.kept.append((member, body))

    def anchor(
        self, member: str, schema: Schema, records: list[dict[str, object]], day: int
    ) -> None:
        acct = self.ring.account(member)
        for start in range(0, len(records), API_BATCH_MAX):
            chunk = records[start : start + API_BATCH_MAX]
            first = self._nonces.get(member, 0) + 1
            bodies = [self.sign(acct, schema, r, self._next_nonce(member)) for r in chunk]
            self.metrics.went("anchor_batch", self.channel)
            self._requests += 1
            try:
                subs = self.sdk(member).submit_attestations(bodies, f"sim:{member}:batch:{first}")
            except ApiError as refused:
                self._refused(refused, len(chunk))
                continue
            self.track(subs, [(member, schema, r, day, None) for r in chunk])

    def _refused(self, refused: ApiError, n: int) -> None:
        self.tally.refused[refused.name] = self.tally.refused.get(refused.name, 0) + n

    def attest_with_uid(self, member: str, schema: Schema, record: dict[str, object]) -> Hash32:
        done = self._relayed("attest_rating", member, lambda c: c.attest_record(schema, record))
        return _h(done.uid)

    def authorise(self, bank: str, signed: SignedAuthorisation) -> Hash32:
        # The member the authorisation names hands in the enterprise's signed Authorise.
        done = self._relayed("authorise", bank, lambda c: c.submit_authorisation(signed))
        return _h(done.made("auth_id"))

    def log_query(
        self, bank: str, auth_id: bytes, purpose: QueryPurpose, query_hash: bytes
    ) -> Hash32:
        done = self._relayed("log_query", bank, lambda c: c.log_query(auth_id, purpose, query_hash))
        return _h(done.made("query_id"))

    def record_report_share(
        self, sender: str, query_id: bytes, recipient: str, ciphertext_hash: bytes
    ) -> None:
        to = self.ring.account(recipient).address
        self._relayed_forward(
            "record_report_share",
            sender,
            lambda c: c.share_report(query_id, to, ciphertext_hash),
        )

    def withdraw(self, relayer: str, signed: SignedWithdrawal) -> None:
        # Through the API the enterprise signs the call itself (a ForwardRequest of
        # ``withdraw``) and hands it in with its own key.
        enterprise = self.label_of(signed.enterprise)
        self._relayed_forward(
            "withdraw_by_sig", enterprise, lambda c: c.withdraw_authorisation(signed.auth_id)
        )

    def raise_dispute(self, relayer: str, signed: SignedDispute) -> int:
        enterprise = self.label_of(signed.enterprise)
        done = self._relayed_forward(
            "raise_dispute_by_sig",
            enterprise,
            lambda c: c.raise_dispute(signed.uid, signed.fields, signed.reason_hash),
        )
        return int(done.made("dispute_id"))

    def file_complaint(self, relayer: str, signed: SignedComplaint) -> int:
        enterprise = self.label_of(signed.enterprise)
        done = self._relayed_forward(
            "file_complaint_by_sig",
            enterprise,
            lambda c: c.file_complaint(signed.dispute_id, signed.reason_hash),
        )
        return int(done.made("complaint_id"))

    def resolve_complaint(
        self, regulator: str, complaint_id: int, reply: bytes, *, uphold: bool
    ) -> None:
        self._relayed_forward(
            "resolve_complaint",
            regulator,
            lambda c: c.resolve_complaint(complaint_id, reply, upheld=uphold),
        )

    def revoke(self, revoker: str, uid: bytes, reason: bytes) -> None:
        self._relayed_forward("revoke", revoker, lambda c: c.revoke(uid, reason))

    def resolve_dispute(
        self, resolver: str, dispute_id: int, reason: bytes, *, uphold: bool
    ) -> bool:
        if uphold:
            done = self._relayed_forward(
                "uphold_dispute", resolver, lambda c: c.uphold_dispute(dispute_id, reason)
            )
            event = "DisputeUpheld"
        else:
            done = self._relayed_forward(
                "reject_dispute", resolver, lambda c: c.reject_dispute(dispute_id, reason)
            )
            event = "DisputeRejected"
        return bool(_event(done, event)["late"])

    def issue_receivable(
        self,
        debtor: str,
        supplier: str,
        amount_fen: int,
        due_date: int,
        *,
        contract_hash: bytes,
        invoices: list[bytes],
    ) -> ReceivableId:
        to = self.ring.account(supplier).address
        done = self._relayed_forward(
            "issue_receivable",
            debtor,
            lambda c: c.issue_receivable(
                to, amount_fen, due_date, contract_hash=contract_hash, invoice_commitments=invoices
            ),
        )
        return ReceivableId(_h(done.made("receivable_id")))

    def accept_receivable(self, supplier: str, receivable_id: bytes) -> None:
        self._relayed_forward(
            "accept_receivable", supplier, lambda c: c.accept_receivable(receivable_id)
        )

    def reject_receivable(self, supplier: str, receivable_id: bytes, release: list[bytes]) -> None:
        self._relayed_forward(
            "reject_receivable", supplier, lambda c: c.reject_receivable(receivable_id, release)
        )

    def split_receivable(
        self, holder: str, receivable_id: bytes, to: str, amount_fen: int
    ) -> ReceivableId:
        address = self.ring.account(to).address
        done = self._relayed_forward(
            "split_receivable",
            holder,
            lambda c: c.split_receivable(receivable_id, address, amount_fen),
        )
        return ReceivableId(_h(done.made("receivable_id")))

    def request_financing(
        self,
        holder: str,
        receivable_id: bytes,
        bank: str,
        *,
        min_advance_fen: int,
        max_discount_bps: int,
        expires_at: int,
    ) -> None:
        """The bank hands in the holder's signed request for financing on the holder's terms;
        the flows go on once the server has relayed it (the bank finances next)."""
        party = self.ring.account(holder)
        financier = self.ring.account(bank).address
        self._relayed_forward(
            "request_financing",
            bank,
            lambda c: c.request_financing(
                receivable_id,
                financier,
                min_advance_fen=min_advance_fen,
                max_discount_bps=max_discount_bps,
                expires_at=expires_at,
                party=party,
            ),
        )

    def finance_receivable(
        self, bank: str, receivable_id: bytes, advance_fen: int, discount_bps: int
    ) -> None:
        self._relayed_forward(
            "finance_receivable",
            bank,
            lambda c: c.finance_receivable(receivable_id, advance_fen, discount_bps),
        )

    def settle_receivables(self, debtor: str, ids: list[bytes]) -> None:
        self._relayed_forward("settle_receivable", debtor, lambda c: c.settle_receivables(ids))

    def mark_overdue(self, payee: str, receivable_id: bytes) -> Hash32:
        done = self._relayed_forward(
            "mark_overdue_with_default", payee, lambda c: c.mark_overdue(receivable_id)
        )
        return _h(done.made("attestation"))

    # Lending: each write the lender's (or lead's) ForwardRequest, handed in with its key;
    # the pledgor's consent and the enterprise's acceptance signed with their own keys.
    def pledge(self, bank: str, pledgor: str, terms: PledgeTerms) -> Hash32:
        owner = self.ring.account(pledgor)
        done = self._relayed_forward(
            "pledge",
            bank,
            lambda c: c.pledge(
                terms.kind, terms.key, terms.secured_amount, terms.expiry, pledgor=owner
            ),
        )
        return _h(done.made("pledge_id"))

    def release_pledge(self, bank: str, pledge: bytes) -> None:
        self._relayed_forward("release_pledge", bank, lambda c: c.release_pledge(pledge))

    def register_facility(
        self,
        bank: str,
        subject: bytes,
        contract_hash: bytes,
        *,
        kind: FacilityKind,
        limit: int,
        expiry: int,
        pledge_ids: Sequence[bytes] = (),
    ) -> Hash32:
        done = self._relayed_forward(
            "register_facility",
            bank,
            lambda c: c.register_facility(
                subject,
                contract_hash,
                kind=kind,
                limit_fen=limit,
                expiry=expiry,
                pledge_ids=list(pledge_ids),
            ),
        )
        return _h(done.made("facility_id"))

    def draw(self, bank: str, subject: bytes, contract_hash: bytes, amount_fen: int) -> None:
        self._relayed_forward("draw", bank, lambda c: c.draw(subject, contract_hash, amount_fen))

    def repay(self, bank: str, subject: bytes, contract_hash: bytes, amount_fen: int) -> None:
        self._relayed_forward("repay", bank, lambda c: c.repay(subject, contract_hash, amount_fen))

    def close_facility(self, bank: str, subject: bytes, contract_hash: bytes) -> None:
        self._relayed_forward(
            "close_facility", bank, lambda c: c.close_facility(subject, contract_hash)
        )

    def report_overdue(
        self, bank: str, subject: bytes, contract_hash: bytes, amount_fen: int, days: int
    ) -> None:
        self._relayed_forward(
            "report_overdue",
            bank,
            lambda c: c.report_overdue(subject, contract_hash, amount_fen, days),
        )

    def propose_agreement(
        self,
        lead: str,
        subject: bytes,
        joint_limit: int,
        banks: Sequence[str],
        shares_bps: Sequence[int],
    ) -> int:
        participants = [self.ring.account(b).address for b in banks]
        done = self._relayed_forward(
            "propose_agreement",
            lead,
            lambda c: c.propose_agreement(subject, joint_limit, participants, list(shares_bps)),
        )
        return int(done.made("agreement"))

    def join_agreement(self, bank: str, agreement: int) -> None:
        self._relayed_forward("join_agreement", bank, lambda c: c.join_agreement(agreement))

    def accept_agreement(self, relayer: str, enterprise: str, agreement: int) -> None:
        signer = self.ring.account(enterprise)
        self._relayed_forward(
            "accept_agreement",
            relayer,
            lambda c: c.accept_agreement(agreement, enterprise=signer),
        )

    def clear_flag(self, lead: str, agreement: int) -> None:
        self._relayed_forward("clear_flag", lead, lambda c: c.clear_flag(agreement))

    def end_agreement(self, lead: str, agreement: int) -> None:
        self._relayed_forward("end_agreement", lead, lambda c: c.end_agreement(agreement))

    def suspend_member(self, regulator: str, member: str, reason: bytes) -> None:
        # The regulator signs ``suspendMember`` and hands it in with its own key; the flows
        # go on once it is relayed, so the member is suspended from the next write on.
        account = self.ring.account(member).address
        self._relayed_forward(
            "suspend_member", regulator, lambda c: c.suspend_member(account, reason)
        )

    def reinstate_member(self, regulator: str, member: str) -> None:
        account = self.ring.account(member).address
        self._relayed_forward("reinstate_member", regulator, lambda c: c.reinstate_member(account))

    def track(
        self,
        subs: list[Submission],
        items: list[tuple[str, Schema, dict[str, object], int, OnWritten | None]],
    ) -> None:
        for sub, (member, schema, record, day, then) in zip(subs, items, strict=True):
            self.tally.accepted += 1
            fields = AttestationFields(record_subject(record), record_hash(schema, record))
            self._pending.append(_Pending(sub.id, member, schema, record, fields, day, then))

    # -- the end of a day -----------------------------------------------------------
    def drain(self) -> None:
        """Wait until the server has settled everything it accepted, then count it."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            ready = self.client.request("GET", "/ready")
            if ready.status == 200 and ready.body.get("pending") == 0:
                break
            time.sleep(0.02)
        settled: dict[str, dict[str, Any]] = {}
        for p in pending:
            client = self.sdk(p.member)
            sub = client.submission(p.submission_id)
            while sub.pending:
                if time.monotonic() > deadline:
                    raise LedgerConnectionError(
                        f"the API did not anchor {p.submission_id} in {DRAIN_TIMEOUT_S:.0f} s"
                    )
                time.sleep(0.02)
                sub = client.submission(p.submission_id)
            settled[p.submission_id] = sub.doc
        self._count(pending, settled)

    def _count(self, pending: list[_Pending], settled: dict[str, dict[str, Any]]) -> None:
        batched: dict[tuple[str, str, str, int], int] = {}
        for p in pending:
            sub = settled[p.submission_id]
            if sub["status"] != "anchored":
                error = str((sub.get("result") or {}).get("error", sub["status"]))
                self.tally.rejected[error] = self.tally.rejected.get(error, 0) + 1
                continue
            self.tally.anchored += 1
            result = sub["result"]
            if "uid" in result:
                self.tally.anchored_single += 1
                self.metrics.record(p.schema.name, self.city_of(p.member), p.day, 1, False)
                uid: Hash32 | None = Hash32(bytes.fromhex(result["uid"][2:]))
            else:
                self.tally.anchored_batched += 1
                key = (result["batch_id"], p.member, p.schema.name, p.day)
                batched[key] = batched.get(key, 0) + 1
                uid = None
            if p.then is not None:
                p.then(Written(p.member, p.schema, p.record, p.fields, uid, p.day))
        for (batch_id, member, schema, day), n in batched.items():
            new = batch_id not in self.tally.batch_ids
            self.tally.batch_ids.add(batch_id)
            self.metrics.record(schema, self.city_of(member), day, n, True, new_batch=new)

    @property
    def unsettled(self) -> int:
        """Records the server accepted today whose fate the simulation has not read yet."""
        return len(self._pending)

    # -- the fault ------------------------------------------------------------------
    def restart_server(self, day: int, sig: signal.Signals) -> dict[str, Any]:
        """Stop the server with ``sig`` while it may hold unanchored records; start it again."""
        unsettled = len(self._pending)
        ready = self.client.request("GET", "/ready")
        server_pending = ready.body.get("pending") if ready.status == 200 else None
        self.client.close()
        self._sdk.close()
        code = self.server.stop(sig)
        self.client = self.server.start()
        self._sdk = self._root()
        self._clients.clear()
        fault = {
            "kind": "api_restarted",
            "day": day,
            "signal": sig.name,
            "exit_code": code,
            "accepted_not_yet_settled": unsettled,
            "pending_on_the_server": server_pending,
        }
        self.tally.restarts.append(fault)
        return fault

    def close(self) -> None:
        self.client.close()
        self._sdk.close()
        self.server.stop()


def _h(hex32: object) -> Hash32:
    """A 32-byte id from the ``0x`` hex a submission's result gives."""
    return Hash32(bytes.fromhex(str(hex32)[2:]))


def _event(done: Submission, name: str) -> dict[str, Any]:
    """The arguments of the event ``name`` the relayed write caused."""
    for found in (done.result or {}).get("events", []):
        if found["name"] == name:
            args: dict[str, Any] = found["args"]
            return args
    raise LedgerConnectionError(f"submission {done.id} caused no {name}: {done.result}")
