"""A typed Python client of the credit chain's HTTP API (``credit-chain serve``).

It signs each write with the acting party's key, sets an Idempotency-Key per write,
polls submissions until anchored or rejected, fetches proofs, and raises the API's
errors as exceptions by name (:mod:`sdk.errors`). It depends on ``ledger_client``
only for hashing and signing, never on the server's code.
"""

from . import errors
from .client import BatchRecordRef, Client, PreparedWrite, Submission
from .errors import ApiError
from .signing import Deployment, Signer

__all__ = [
    "ApiError",
    "BatchRecordRef",
    "Client",
    "Deployment",
    "PreparedWrite",
    "Signer",
    "Submission",
    "errors",
]
