"""The journal's group commit: each write one insert checked by the table's unique keys.

A replay, a reused Idempotency-Key and a nonce already submitted are told apart only when
an insert is refused; these check each refusal by name, that a request of several items
is journaled whole or not at all, and that requests committed in one group do not undo
each other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.db import ApiDatabase
from pipeline.errors import IdempotencyKeyReused, NonceAlreadySubmitted
from pipeline.journal import Journal, NewSubmission

BANK = "0x" + "1a" * 20
OTHER_BANK = "0x" + "2b" * 20
SIGNER = "0x" + "3c" * 20


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    db = ApiDatabase(tmp_path / "api.sqlite")
    journal = Journal(db)
    yield journal
    journal.close()
    db.close()


def _item(key: str, nonce: int, body: str = "a") -> NewSubmission:
    return NewSubmission(key, f"hash-{body}", "attestation", SIGNER, nonce, {"body": body})


def _count(journal: Journal) -> int:
    return sum(journal.counts().values())


def test_a_replayed_key_is_the_same_submission_and_journals_nothing(journal: Journal) -> None:
    first, new = journal.accept_many(BANK, [_item("k1", 1)])[0]
    again, new_again = journal.accept_many(BANK, [_item("k1", 1)])[0]
    assert (new, new_again) == (True, False)
    assert again == first
    assert _count(journal) == 1


def test_a_key_reused_with_another_body_is_refused_by_name(journal: Journal) -> None:
    first, _ = journal.accept_many(BANK, [_item("k1", 1)])[0]
    with pytest.raises(IdempotencyKeyReused) as refused:
        journal.accept_many(BANK, [_item("k1", 2, body="b")])
    assert refused.value.fields["submission_id"] == first.id
    # The same key of another member's is another write.
    _, new = journal.accept_many(OTHER_BANK, [_item("k1", 2, body="b")])[0]
    assert new
    assert _count(journal) == 2


def test_a_nonce_already_submitted_is_refused_by_name_under_any_key(journal: Journal) -> None:
    first, _ = journal.accept_many(BANK, [_item("k1", 7)])[0]
    for caller in (BANK, OTHER_BANK):
        with pytest.raises(NonceAlreadySubmitted) as refused:
            journal.accept_many(caller, [_item("k2", 7, body="b")])
        assert refused.value.fields == {
            "signer": SIGNER,
            "nonce": "7",
            "submission_id": first.id,
        }
    assert _count(journal) == 1


def test_a_request_of_several_items_is_journaled_whole_or_not_at_all(journal: Journal) -> None:
    journal.accept_many(BANK, [_item("k1", 1)])
    # Its second item carries a nonce already submitted: its first is undone too.
    with pytest.raises(NonceAlreadySubmitted):
        journal.accept_many(BANK, [_item("batch:0", 2), _item("batch:1", 1, body="b")])
    assert _count(journal) == 1
    # A batch sent again with one item journaled before: that one is answered as a replay.
    subs = journal.accept_many(BANK, [_item("k1", 1), _item("batch:1", 3)])
    assert [new for _, new in subs] == [False, True]
    assert _count(journal) == 2


def test_requests_committed_together_refuse_only_themselves(journal: Journal) -> None:
    """Many threads at once, so the committer takes them in groups: every good request is
    journaled, every clashing one refused by name, whatever group it fell in."""
    journal.accept_many(BANK, [_item("taken", 0)])
    outcomes: dict[int, str] = {}
    lock = threading.Lock()

    def post(n: int) -> None:
        # Odd requests reuse nonce 0 (refused); even ones are new (each a batch of two).
        items = (
            [_item(f"r{n}", 0, body=str(n))]
            if n % 2
            else [_item(f"r{n}:0", 1000 + n), _item(f"r{n}:1", 2000 + n)]
        )
        try:
            journal.accept_many(BANK, items)
            outcome = "journaled"
        except NonceAlreadySubmitted:
            outcome = "NonceAlreadySubmitted"
        with lock:
            outcomes[n] = outcome

    threads = [threading.Thread(target=post, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcomes == {n: ("NonceAlreadySubmitted" if n % 2 else "journaled") for n in range(40)}
    assert _count(journal) == 1 + 2 * 20


def test_the_same_write_sent_at_once_many_times_is_journaled_once(journal: Journal) -> None:
    """A client retrying before its first answer: the copies may share a group, whose one
    statement the table refuses; each copy is then the one submission."""
    ids: list[str] = []
    news: list[bool] = []
    lock = threading.Lock()

    def post() -> None:
        sub, new = journal.accept_many(BANK, [_item("same", 5)])[0]
        with lock:
            ids.append(sub.id)
            news.append(new)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(ids) == 20
    assert len(set(ids)) == 1
    assert news.count(True) == 1
    assert _count(journal) == 1
    (sub,) = journal.pending(10)
    assert (sub.id, sub.nonce, sub.payload, sub.idempotency_key) == (
        ids[0],
        5,
        {"body": "a"},
        "same",
    )
