"""Synthetic event streams for the audit's replay: the events the contracts would emit.

A :class:`World` writes events as the contracts emit them (same names, same
argument names and types, ids computed as the contracts compute them), one
transaction per block unless grouped with :meth:`World.transaction`. Tests
build a clean world, add the one event that breaks a rule (which the
contracts themselves would refuse), and check the replay names it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eth_utils.address import to_checksum_address

from ledger_client.attestations.merkle import MerkleTree, batch_id_of, keccak256
from ledger_client.attestations.signed_records import signed_leaf
from ledger_client.audit.replay import (
    attestation_uid,
    default_data_hash,
    query_id,
    schema_id,
)
from ledger_client.index import IndexedEvent
from ledger_client.types import DISPUTE_RESOLUTION_PERIOD, Role

ZERO32 = bytes(32)
ZERO_ADDRESS = "0x" + "00" * 20
DAY = 86_400
START = 1_767_542_400  # 2026-01-05 00:00 UTC+8
RECEIVABLES = to_checksum_address("0x" + "ee" * 20)


def account(n: int) -> str:
    """A checksum address for actor ``n``."""
    return to_checksum_address("0x" + f"{n:040x}")


def h(label: str) -> bytes:
    """A 32-byte hash of a label."""
    return keccak256(label.encode())


REGULATOR = account(1)
BANK = account(2)  # attester and financier, Shanghai
BUREAU = account(3)  # attester and registrar, Hangzhou
OTHER_BANK = account(4)  # financier, Nanjing
RELAYER = account(5)
OUTSIDER = account(99)
ENT_A, ENT_B, ENT_C = account(101), account(102), account(103)
SUBJ_A, SUBJ_B, SUBJ_C = h("subject A"), h("subject B"), h("subject C")


class World:
    """An event stream under construction."""

    def __init__(self) -> None:
        self.events: list[IndexedEvent] = []
        self.block = 0
        self.time = START
        self._seq = itertools.count(1)
        self._tx: tuple[str, int] | None = None  # (hash, next log index) while grouping
        self.receivables = 0
        self.parts: dict[bytes, int] = {}  # root -> part count
        self.disputes = 0
        self.complaints = 0

    # -- plumbing -----------------------------------------------------------------
    def advance(self, seconds: int) -> None:
        """Move the clock (the next block is this much later)."""
        self.time += seconds

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Emit the events inside in one transaction (one block)."""
        self._new_block()
        self._tx = (self._tx_hash(), 0)
        try:
            yield
        finally:
            self._tx = None

    def _new_block(self) -> None:
        self.block += 1
        self.time += 1

    def _tx_hash(self) -> str:
        return "0x" + keccak256(f"tx {self.block} {len(self.events)}".encode()).hex()

    def emit(self, contract: str, event_name: str, /, **args: Any) -> IndexedEvent:
        """Append one event; a transaction of its own unless inside :meth:`transaction`."""
        if self._tx is None:
            self._new_block()
            tx_hash, log_index = self._tx_hash(), 0
        else:
            tx_hash, log_index = self._tx
            self._tx = (tx_hash, log_index + 1)
        event = IndexedEvent(
            seq=next(self._seq),
            contract=contract,
            name=event_name,
            args=args,
            address=account(1000),
            block_number=self.block,
            block_timestamp=self.time,
            tx_hash=tx_hash,
            tx_index=0,
            log_index=log_index,
        )
        self.events.append(event)
        return event

    @property
    def last(self) -> IndexedEvent:
        """The event emitted last."""
        return self.events[-1]

    # -- consortium -----------------------------------------------------------------
    def admit(self, who: str, name: str, city: int, roles: Role, by: str = REGULATOR) -> None:
        self.emit(
            "Consortium",
            "MemberAdmitted",
            account=who,
            city=city,
            roles=int(roles),
            name=name,
            regulator=by,
        )

    def suspend(self, who: str, by: str = REGULATOR) -> None:
        self.emit("Consortium", "MemberSuspended", account=who, reason=h("late"), regulator=by)

    def reinstate(self, who: str, by: str = REGULATOR) -> None:
        self.emit("Consortium", "MemberReinstated", account=who, regulator=by)

    def publish_key(self, who: str, key: bytes) -> None:
        self.emit("Consortium", "EncryptionKeyPublished", account=who, key=key)

    def bind(self, subject: bytes, who: str, by: str = BUREAU) -> None:
        self.emit("Consortium", "EnterpriseBound", subject=subject, account=who, registrar=by)

    # -- attestations -------------------------------------------------------------------
    def register_schema(self, name: str, revocable: bool = True) -> bytes:
        layout = "bytes32 subject,string note"
        sid = schema_id(name, layout, revocable)
        self.emit(
            "Attestations",
            "SchemaRegistered",
            schema=sid,
            name=name,
            layout=layout,
            revocable=revocable,
            regulator=REGULATOR,
        )
        return sid

    def attest(
        self,
        attester: str,
        schema: bytes,
        subject: bytes,
        data_hash: bytes,
        *,
        expiry: int = 0,
        ref_uid: bytes = ZERO32,
        uid: bytes | None = None,
    ) -> bytes:
        at = self.time + 1 if self._tx is None else self.time
        uid = uid or attestation_uid(
            schema,
            subject,
            data_hash,
            ref_uid=ref_uid,
            attester=attester,
            attested_at=at,
            expiry=expiry,
        )
        self.emit(
            "Attestations",
            "Attested",
            uid=uid,
            schema=schema,
            subject=subject,
            attester=attester,
            dataHash=data_hash,
            expiry=expiry,
            refUID=ref_uid,
        )
        return uid

    def revoke(self, uid: bytes, revoker: str) -> None:
        self.emit("Attestations", "Revoked", uid=uid, revoker=revoker, reason=ZERO32)

    def anchor(self, attester: str, schema: bytes, root: bytes, count: int) -> bytes:
        bid = batch_id_of(root, attester)
        self.emit(
            "Attestations",
            "BatchAnchored",
            root=root,
            schema=schema,
            anchorer=attester,
            count=count,
            expiry=0,
        )
        return bid

    def anchor_signed(
        self, relayer: str, schema: bytes, hashes: list[bytes], claims: list[int]
    ) -> bytes:
        """A signed batch as the chain anchors it: BatchAnchored then SignedBatchAnchored, in
        one transaction, over the tree of the leaves (recordHash, claim) it checked."""
        root = MerkleTree([signed_leaf(x, c) for x, c in zip(hashes, claims, strict=True)]).root
        with self.transaction():
            bid = batch_id_of(root, relayer)
            self.emit(
                "Attestations",
                "BatchAnchored",
                root=root,
                schema=schema,
                anchorer=relayer,
                count=len(hashes),
                expiry=0,
            )
            self.emit(
                "Attestations",
                "SignedBatchAnchored",
                batchId=bid,
                relayer=relayer,
                recordHashes=hashes,
                claims=claims,
            )
        return bid

    # -- disputes -------------------------------------------------------------------
    def raise_dispute(self, uid: bytes, attester: str, subject: bytes, by: str) -> int:
        self.disputes += 1
        self.emit(
            "Disputes",
            "DisputeRaised",
            disputeId=self.disputes,
            uid=uid,
            attester=attester,
            subject=subject,
            reasonHash=h("reason"),
            deadline=self.time + 1 + DISPUTE_RESOLUTION_PERIOD,
            raisedBy=by,
        )
        return self.disputes

    def reject_dispute(self, dispute_id: int, uid: bytes, resolver: str, *, late: bool) -> None:
        self.emit(
            "Disputes",
            "DisputeRejected",
            disputeId=dispute_id,
            uid=uid,
            resolver=resolver,
            reasonHash=h("answer"),
            late=late,
        )

    def file_complaint(self, dispute_id: int, uid: bytes, subject: bytes, by: str) -> int:
        self.complaints += 1
        self.emit(
            "Disputes",
            "ComplaintFiled",
            complaintId=self.complaints,
            disputeId=dispute_id,
            uid=uid,
            subject=subject,
            reasonHash=h("complaint"),
            filedBy=by,
        )
        return self.complaints

    def resolve_complaint(
        self, complaint_id: int, dispute_id: int, regulator: str, *, upheld: bool
    ) -> None:
        self.emit(
            "Disputes",
            "ComplaintResolved",
            complaintId=complaint_id,
            disputeId=dispute_id,
            regulator=regulator,
            upheld=upheld,
            replyHash=h("reply"),
        )

    # -- authorisations -------------------------------------------------------------------
    def authorise(
        self,
        member: str,
        subject: bytes,
        enterprise: str,
        *,
        purpose: int = 1,
        days: int = 90,
        schemas: tuple[bytes, ...] = (),
        nonce: int = 1,
    ) -> bytes:
        auth_id = keccak256(bytes.fromhex(enterprise[2:]).rjust(32, b"\0") + nonce.to_bytes(32))
        self.emit(
            "Authorisations",
            "Authorised",
            authId=auth_id,
            subject=subject,
            member=member,
            purpose=purpose,
            expiry=self.time + 1 + days * DAY,
            schemas=schemas,
            enterprise=enterprise,
        )
        return auth_id

    def withdraw(self, auth_id: bytes, subject: bytes, member: str) -> None:
        self.emit(
            "Authorisations",
            "AuthorisationWithdrawn",
            authId=auth_id,
            subject=subject,
            member=member,
        )

    def log_query(
        self,
        member: str,
        auth_id: bytes,
        subject: bytes,
        *,
        purpose: int = 1,
        schema: bytes = ZERO32,
        label: str = "q",
    ) -> bytes:
        query_hash = h(label)
        qid = query_id(auth_id, query_hash)
        self.emit(
            "Authorisations",
            "QueryLogged",
            subject=subject,
            member=member,
            authId=auth_id,
            queryId=qid,
            purpose=purpose,
            schema=schema,
            queryHash=query_hash,
        )
        return qid

    # -- receivables -------------------------------------------------------------------
    def issue(
        self,
        debtor: bytes,
        supplier: bytes,
        amount: int,
        invoices: tuple[bytes, ...],
        days: int = 90,
    ) -> bytes:
        self.receivables += 1
        rid = (self.receivables << 24).to_bytes(32, "big")
        self.parts[rid] = 1
        self.emit(
            "Receivables",
            "ReceivableIssued",
            id=rid,
            debtor=debtor,
            supplier=supplier,
            amount=amount,
            dueDate=self.time + 1 + days * DAY,
            contractHash=h("contract"),
            invoiceCommitments=invoices,
        )
        return rid

    def accept(self, rid: bytes, supplier: bytes) -> None:
        self.emit("Receivables", "ReceivableAccepted", id=rid, supplier=supplier)

    def reject(self, rid: bytes, supplier: bytes, released: tuple[bytes, ...]) -> None:
        self.emit(
            "Receivables",
            "ReceivableRejected",
            id=rid,
            supplier=supplier,
            releasedInvoices=released,
        )

    def split(self, part: bytes, holder: bytes, to: bytes, amount: int, remaining: int) -> bytes:
        root = (int.from_bytes(part, "big") >> 24 << 24).to_bytes(32, "big")
        child = (int.from_bytes(root, "big") | self.parts[root]).to_bytes(32, "big")
        self.parts[root] += 1
        self.emit(
            "Receivables",
            "ReceivableSplit",
            id=part,
            child=child,
            to=to,
            **{"from": holder},
            amount=amount,
            remaining=remaining,
        )
        return child

    def transfer(self, part: bytes, holder: bytes, to: bytes, amount: int) -> None:
        self.emit(
            "Receivables",
            "ReceivableTransferred",
            id=part,
            to=to,
            amount=amount,
            **{"from": holder},
        )

    def request_financing(
        self,
        part: bytes,
        holder: bytes,
        bank: str,
        *,
        min_advance: int = 1,
        max_discount_bps: int = 400,
        days: int = 30,
    ) -> None:
        self.emit(
            "Receivables",
            "FinancingRequested",
            id=part,
            holder=holder,
            financier=bank,
            minAdvance=min_advance,
            maxDiscountBps=max_discount_bps,
            expiresAt=self.time + days * DAY,
        )

    def finance(self, part: bytes, holder: bytes, bank: str, advance: int) -> None:
        self.emit(
            "Receivables",
            "ReceivableFinanced",
            id=part,
            financier=bank,
            holder=holder,
            advance=advance,
            discountBps=400,
        )

    def settle(
        self, part: bytes, debtor: bytes, holder: bytes, amount: int, financier: str = ZERO_ADDRESS
    ) -> None:
        self.emit(
            "Receivables",
            "ReceivableSettled",
            id=part,
            debtor=debtor,
            holder=holder,
            financier=financier,
            amount=amount,
        )

    def mark_overdue(
        self, part: bytes, debtor: bytes, payee: str, amount: int, *, due: int, schema: bytes
    ) -> None:
        days = (self.time + 1 - due) // DAY
        data_hash = default_data_hash(debtor, part, amount, due, days)
        with self.transaction():
            uid = self.attest(RECEIVABLES, schema, debtor, data_hash)
            self.emit(
                "Receivables",
                "ReceivableMarkedOverdue",
                id=part,
                debtor=debtor,
                attestation=uid,
                payee=payee,
                amount=amount,
                dueDate=due,
                daysOverdue=days,
            )


class CleanWorld(World):
    """A small consortium whose events keep every rule, with a handle on each thing made."""

    def __init__(self) -> None:
        super().__init__()
        with self.transaction():  # the Consortium constructor admits the deployer
            self.admit(REGULATOR, "Regulator", 1, Role.REGULATOR, by=REGULATOR)
        self.admit(BANK, "Bank of Shanghai", 1, Role.ATTESTER | Role.FINANCIER)
        self.admit(BUREAU, "Hangzhou Bureau", 3, Role.ATTESTER | Role.REGISTRAR)
        self.admit(OTHER_BANK, "Bank of Nanjing", 2, Role.FINANCIER)
        self.admit(RELAYER, "Relay", 1, Role.RELAYER)
        self.admit(RECEIVABLES, "Receivables registry (contract)", 1, Role.ATTESTER)
        self.loan = self.register_schema("loan-repayment")
        self.grades = self.register_schema("tax-credit-grade")
        self.defaults = self.register_schema("receivable-default", revocable=False)
        for subject, who in ((SUBJ_A, ENT_A), (SUBJ_B, ENT_B), (SUBJ_C, ENT_C)):
            self.bind(subject, who)
        self.uid = self.attest(BANK, self.loan, SUBJ_A, h("record 1"))
        self.other_uid = self.attest(BUREAU, self.grades, SUBJ_B, h("record 2"))
        self.batch = self.anchor(BUREAU, self.grades, h("root"), 1_000)
        self.auth = self.authorise(BANK, SUBJ_A, ENT_A, schemas=(self.loan,))
        self.query = self.log_query(BANK, self.auth, SUBJ_A, schema=self.loan)
        self.invoice = h("invoice 1")
        self.rid = self.issue(SUBJ_A, SUBJ_B, 1_000_000, (self.invoice,))
        self.due = self.time + 90 * DAY
        self.accept(self.rid, SUBJ_B)
        self.part = self.split(self.rid, SUBJ_B, SUBJ_C, 400_000, 600_000)
        self.request_financing(self.part, SUBJ_C, BANK)
        self.request_financing(self.part, SUBJ_C, OTHER_BANK)
        self.finance(self.part, SUBJ_C, BANK, 390_000)
        self.dispute = self.raise_dispute(self.other_uid, BUREAU, SUBJ_B, ENT_B)
        self.advance(3 * DAY)
        self.reject_dispute(self.dispute, self.other_uid, BUREAU, late=False)
