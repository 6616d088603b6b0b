"""A client-side SQLite index of a deployment's events, and the typed tables built from them.

Queries by subject, attester, schema and time go through this index rather
than the node's ``get_logs`` (which grows quadratically with the chain on the
embedded backend)::

    from ledger_client.index import EventIndex

    index = EventIndex("credit-index.sqlite", ledger)
    index.sync()      # read every block since the deployment (or the last sync)
    index.follow()    # then ingest this client's own transactions as they are mined
    index.attestations(subject=subject_id, since=t0, limit=20)
    index.batch_proof(batch_id, 12_345)

Layout of the file
    ``events``: every decoded event of every contract of the manifest, in
    chain order (``seq``), with its arguments as JSON; ``blocks``: hash and
    timestamp of every block read; ``meta``: format, deployment and cursor;
    ``projections``: version and progress of each projection; the
    projections' own tables (``members``, ``enterprises``, ``schemas``,
    ``attestations``, ``batches``, ``batch_record_revocations``); and
    ``batch_trees``, ``batch_nodes``, ``batch_records``: the Merkle trees
    stored with :meth:`EventIndex.store_batch_tree`.

Adding a contract's projection
    Subclass :class:`Projection` (see :mod:`ledger_client.index.projections`
    for the built-in ones), then pass it as ``EventIndex(path, ledger,
    projections=[MyProjection()])`` or call ``index.register(MyProjection())``.
    It is caught up on events stored before it was registered. Its queries are
    functions reading its tables through ``with index.reading() as db:``.
"""

from __future__ import annotations

from .base import (
    BatchTreeMismatch,
    BatchTreeNotStored,
    EventIndexClosed,
    EventIndexError,
    IndexDeploymentMismatch,
    IndexedEvent,
    IndexFormatError,
    Projection,
    ProjectionError,
)
from .event_index import INDEX_FORMAT, EventIndex
from .projections import (
    AttestationsProjection,
    BatchesProjection,
    BatchRecord,
    ConsortiumProjection,
    IndexedAttestation,
    IndexedBatch,
    IndexedEnterprise,
    IndexedMember,
    SchemasProjection,
    builtin_projections,
)

__all__ = [
    "INDEX_FORMAT",
    "AttestationsProjection",
    "BatchRecord",
    "BatchTreeMismatch",
    "BatchTreeNotStored",
    "BatchesProjection",
    "ConsortiumProjection",
    "EventIndex",
    "EventIndexClosed",
    "EventIndexError",
    "IndexDeploymentMismatch",
    "IndexFormatError",
    "IndexedAttestation",
    "IndexedBatch",
    "IndexedEnterprise",
    "IndexedEvent",
    "IndexedMember",
    "Projection",
    "ProjectionError",
    "SchemasProjection",
    "builtin_projections",
]
