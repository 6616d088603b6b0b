"""What a member may use to score an enterprise: its own records and what consent allows.

A member institution may read a record when it holds the record itself, or
when it queried the record's subject under that enterprise's authorisation
(授权查询, logged on chain as 查询留痕) for the record's schema or for a full
report, the authorisation still in force, and the record not revoked.
:class:`Visibility` is that rule as data: built from the chain's consent log
(:func:`visibility_from_consent`) or, in a simulation, from the authorisations
the simulated enterprises gave. :func:`require_visible` is the gate every
feature build passes through: it refuses, by name, any record the member
could not have seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ledger_client.errors import RecordNotAuthorised, RecordRevoked
from ledger_client.scoring.records import MEMBERS, RecordKind, RecordTable

if TYPE_CHECKING:
    from ledger_client.index.consent import AuthorisationEntry, QueryEntry

__all__ = ["Visibility", "require_visible", "visibility_from_consent", "visible_rows"]

ALL_SCHEMAS = b"\x00" * 32  # a query of the full report: every schema


@dataclass(frozen=True)
class Visibility:
    """The records ``member`` may use.

    ``authorised`` maps a subject index to the record kinds the member queried
    it for under an authorisation in force (``None``: every kind);
    ``answering`` limits which members' records a query reaches (``None``:
    the whole consortium, as the chain's sharing does; a set of member indices
    models a bank that can ask only its own city); ``revoked`` holds row
    indices of revoked records.
    """

    member: int  # index into MEMBERS
    authorised: Mapping[int, frozenset[RecordKind] | None] = field(default_factory=dict)
    answering: frozenset[int] | None = None
    revoked: frozenset[int] = frozenset()

    def mask(self, table: RecordTable) -> npt.NDArray[np.bool_]:
        """Which rows of ``table`` the member may use."""
        own = table.holder == self.member
        granted = np.zeros(table.rows, dtype=np.bool_)
        if self.authorised:
            subjects = np.fromiter(self.authorised, dtype=np.int64, count=len(self.authorised))
            every = np.fromiter(
                (v is None for v in self.authorised.values()), np.bool_, len(self.authorised)
            )
            granted = np.isin(table.subject, subjects[every])
            for subject, kinds in self.authorised.items():
                if kinds is not None:
                    granted |= (table.subject == subject) & np.isin(
                        table.kind, [int(k) for k in kinds]
                    )
            if self.answering is not None:
                granted &= np.isin(table.holder, list(self.answering))
        ok: npt.NDArray[np.bool_] = own | granted
        if self.revoked:
            ok[list(self.revoked)] = False
        return ok


def visible_rows(table: RecordTable, visibility: Visibility) -> RecordTable:
    """The rows of ``table`` the member may use (what its queries would return)."""
    return table.take(visibility.mask(table))


def require_visible(
    table: RecordTable, visibility: Visibility, uids: Iterable[bytes] | None = None
) -> None:
    """Raise unless the member may use every row of ``table``.

    :class:`~ledger_client.errors.RecordRevoked` for a revoked record,
    :class:`~ledger_client.errors.RecordNotAuthorised` for one held by another
    member and never queried under an authorisation in force; the error names
    the record (its UID when ``uids`` are given, else its row) and the member.
    """
    names = list(uids) if uids is not None else None
    for row in sorted(visibility.revoked):
        if row < table.rows:
            raise RecordRevoked(_name(row, names), MEMBERS[visibility.member])
    bad = np.flatnonzero(~visibility.mask(table))
    if bad.size:
        row = int(bad[0])
        raise RecordNotAuthorised(
            _name(row, names),
            MEMBERS[visibility.member],
            MEMBERS[int(table.holder[row])],
            RecordKind(int(table.kind[row])).schema,
        )


def _name(row: int, uids: list[bytes] | None) -> str:
    return "0x" + bytes(uids[row]).hex() if uids is not None else f"row {row}"


def visibility_from_consent(
    member: int,
    member_address: str,
    *,
    subjects: Mapping[bytes, int],
    queries: Iterable[QueryEntry],
    authorisations: Iterable[AuthorisationEntry],
    schema_ids: Mapping[bytes, RecordKind],
    now: int,
    revoked: Iterable[int] = (),
) -> Visibility:
    """The visibility the chain's consent log gives ``member`` at ``now``.

    ``queries`` are the member's logged queries and ``authorisations`` the
    subjects' authorisations (from :class:`~ledger_client.index.consent.ConsentLog`);
    a query counts while the authorisation it was made under is in force.
    ``subjects`` maps subject ids to the table's subject indices and
    ``schema_ids`` on-chain schema ids to record kinds.
    """
    in_force = {a.auth_id for a in authorisations if a.in_force(now)}
    authorised: dict[int, frozenset[RecordKind] | None] = {}
    for query in queries:
        if query.member.lower() != member_address.lower() or query.auth_id not in in_force:
            continue
        if query.queried_at > now or bytes(query.subject) not in subjects:
            continue
        index = subjects[bytes(query.subject)]
        if bytes(query.schema) == ALL_SCHEMAS:
            authorised[index] = None
            continue
        kind = schema_ids.get(bytes(query.schema))
        before = authorised.get(index, frozenset())
        if kind is not None and before is not None:
            authorised[index] = before | {kind}
    return Visibility(member, authorised, None, frozenset(revoked))
