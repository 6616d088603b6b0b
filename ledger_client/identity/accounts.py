"""Keys of the parties acting on the chain.

Every write is signed by the acting party's own key. For development chains,
demos and simulations, a :class:`Keyring` derives keys deterministically from
a seed and a label, so the same run gets the same accounts; those keys are
for test chains only and the file a keyring saves says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from ledger_client.errors import LedgerValueError

_WARNING = "Development keys derived from a public seed. Never use them on a real network."


class Keyring:
    """Named signing accounts, derived from a seed or loaded from a file."""

    def __init__(self, seed: str = "yangtze-delta-credit-chain") -> None:
        self.seed = seed
        self._accounts: dict[str, LocalAccount] = {}

    def account(self, label: str) -> LocalAccount:
        """The account called ``label``, derived from the seed on first use."""
        acct = self._accounts.get(label)
        if acct is None:
            acct = Account.from_key(keccak(f"{self.seed}/{label}".encode()))
            self._accounts[label] = acct
        return acct

    def add(self, label: str, private_key: bytes | str) -> LocalAccount:
        """Register an existing key under ``label``."""
        if label in self._accounts:
            raise LedgerValueError(f"the keyring already holds an account called {label!r}")
        acct: LocalAccount = Account.from_key(private_key)
        self._accounts[label] = acct
        return acct

    def labels(self) -> list[str]:
        """Every label used so far."""
        return list(self._accounts)

    def save(self, path: Path | str) -> Path:
        """Write the keys to ``path`` (development chains only)."""
        p = Path(path)
        doc = {
            "warning": _WARNING,
            "seed": self.seed,
            "accounts": {
                label: {"address": a.address, "private_key": "0x" + bytes(a.key).hex()}
                for label, a in self._accounts.items()
            },
        }
        p.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        p.chmod(0o600)
        return p

    @classmethod
    def load(cls, path: Path | str) -> Keyring:
        """Read a keyring written by :meth:`save`."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            ring = cls(doc["seed"])
            for label, entry in doc["accounts"].items():
                ring.add(label, entry["private_key"])
        except FileNotFoundError:
            raise LedgerValueError(f"no keyring at {path}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerValueError(f"malformed keyring {path}: {exc}") from exc
        return ring
