"""Python client of the Yangtze Delta credit chain.

Connect to a chain, deploy or attach to the contracts, and call them through
typed facades; reverts arrive as exceptions named after the Solidity errors::

    from ledger_client import connect, deploy
    chain = connect("embedded")          # or connect("http://127.0.0.1:8545")
    ledger = deploy(chain, regulator)
    ledger.consortium.admit_member(regulator, bank.address, "Jinling Bank", "Nanjing", "attester")
"""

from __future__ import annotations

import os

# eth-hash prefers pycryptodome when both backends are installed; safe-pysha3's C
# keccak256 is about four times faster, and every address checksum, Merkle node
# and ABI selector goes through it. Set before anything hashes.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

from ledger_client.chain.connection import Chain, connect
from ledger_client.contracts import TxResult
from ledger_client.deployment import Ledger, Manifest, attach, check_wiring, deploy
from ledger_client.errors import (
    ContractRevert,
    InvalidCity,
    InvalidRole,
    InvalidUSCC,
    LedgerConnectionError,
    LedgerError,
    LedgerValueError,
    ManifestError,
    ManifestWiringMismatch,
    TransactionError,
)
from ledger_client.identity.accounts import Keyring
from ledger_client.types import City, Enterprise, Member, Role, SubjectId

__all__ = [
    "Chain",
    "City",
    "ContractRevert",
    "Enterprise",
    "InvalidCity",
    "InvalidRole",
    "InvalidUSCC",
    "Keyring",
    "Ledger",
    "LedgerConnectionError",
    "LedgerError",
    "LedgerValueError",
    "Manifest",
    "ManifestError",
    "ManifestWiringMismatch",
    "Member",
    "Role",
    "SubjectId",
    "TransactionError",
    "TxResult",
    "attach",
    "check_wiring",
    "connect",
    "deploy",
]
