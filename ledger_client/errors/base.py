"""The ledger client's exceptions: one root, named subclasses.

Every error the client raises derives from :class:`LedgerError`, and also from
the matching built-in where one fits (``LedgerValueError`` is a ``ValueError``),
so callers may catch either. A revert of a contract reaches the caller as a
subclass of :class:`ContractRevert` named after the Solidity custom error, with
its decoded arguments (see :mod:`ledger_client.chain.reverts`).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ArtifactsError",
    "BatchReceiptMismatch",
    "CompilerError",
    "ContractRevert",
    "InvalidCity",
    "InvalidPurpose",
    "InvalidRole",
    "InvalidUSCC",
    "LedgerConnectionError",
    "LedgerError",
    "LedgerValueError",
    "ManifestError",
    "ManifestWiringMismatch",
    "RecordNotAuthorised",
    "RecordRevoked",
    "ScoreMismatch",
    "ScoringError",
    "TransactionError",
    "TransactionTimeout",
    "UnknownRevert",
    "ViewUndecodable",
]


class LedgerError(Exception):
    """Root of every error raised by ``ledger_client``."""


class LedgerValueError(LedgerError, ValueError):
    """An input was rejected before anything reached the chain."""


class InvalidUSCC(LedgerValueError):
    """A Unified Social Credit Code (统一社会信用代码) failed GB 32100-2015 validation."""

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"invalid USCC {code!r}: {reason}")


class InvalidCity(LedgerValueError):
    """A city is not one of the five of the Yangtze Delta sci-tech finance zones."""

    def __init__(self, city: object) -> None:
        self.city = city
        super().__init__(
            f"unknown city {city!r}: expected one of Shanghai, Nanjing, Hangzhou, Hefei, Jiaxing"
        )


class InvalidRole(LedgerValueError):
    """A role name is not one the consortium knows."""

    def __init__(self, role: object) -> None:
        self.role = role
        super().__init__(
            f"unknown role {role!r}: expected attester, financier, registrar, auditor, "
            "regulator or relayer"
        )


class InvalidPurpose(LedgerValueError):
    """A query purpose is not one an authorisation can name."""

    def __init__(self, purpose: object) -> None:
        self.purpose = purpose
        super().__init__(
            f"unknown query purpose {purpose!r}: expected loan-approval, post-loan-management, "
            "guarantee-review, receivables-financing or counterparty-review"
        )


class LedgerConnectionError(LedgerError, ConnectionError):
    """The chain could not be reached, or answered something the client cannot use."""


class ManifestError(LedgerError, ValueError):
    """A deployment manifest is malformed or does not match the chain it names."""


class ManifestWiringMismatch(ManifestError):
    """A contract the manifest names was built with another reference than the manifest says.

    Every contract of a deployment holds, in its code, the addresses of the others it
    relies on (its consortium, its trusted forwarder, ...): a copy with identical code
    but other wiring (an attacker's consortium, the attacker as forwarder) is another
    deployment. ``str(exc)`` reads ``ManifestWiringMismatch(contract=Attestations,
    reference=trustedForwarder, manifest=0x…, onchain=0x…)``.
    """

    def __init__(self, contract: str, reference: str, manifest: str, onchain: str) -> None:
        self.contract = contract  # the manifest's name of the contract, e.g. "Attestations"
        self.reference = reference  # what it was built with, e.g. "trustedForwarder"
        self.manifest = manifest  # the value the manifest implies
        self.onchain = onchain  # the value the contract's code holds
        super().__init__(
            f"ManifestWiringMismatch(contract={contract}, reference={reference}, "
            f"manifest={manifest}, onchain={onchain})"
        )

    @property
    def fields(self) -> dict[str, str]:
        """The arguments by name, for an error body or a report."""
        return {
            "contract": self.contract,
            "reference": self.reference,
            "manifest": self.manifest,
            "onchain": self.onchain,
        }


class CompilerError(LedgerError, RuntimeError):
    """The Solidity toolchain failed or reported errors."""


class ArtifactsError(LedgerError, RuntimeError):
    """Compiled artifacts are missing, malformed or stale."""


class TransactionError(LedgerError, RuntimeError):
    """A transaction could not be sent or did not reach a receipt."""


class ViewUndecodable(LedgerError, ValueError):
    """A view answered with what its ABI cannot decode (no contract at the address, say)."""


class BatchReceiptMismatch(LedgerError, ValueError):
    """A receipt is not that of the ``executeBatch`` it was read as: the Forwarder's markers
    do not account for each of its requests, in order."""


class TransactionTimeout(TransactionError, TimeoutError):
    """No receipt arrived within the time allowed."""

    def __init__(self, tx_hash: str, seconds: float) -> None:
        self.tx_hash = tx_hash
        self.seconds = seconds
        super().__init__(f"no receipt for {tx_hash} after {seconds:.1f} s")


class ContractRevert(LedgerError):
    """A contract call or transaction reverted.

    Subclasses are generated from the contracts' ABIs, one per Solidity custom
    error, so ``except ConsortiumMemberSuspended`` works and ``str(exc)`` reads
    ``ConsortiumMemberSuspended(account=0x…)``. ``fields`` holds the decoded
    arguments by name; ``kind`` says what sort of refusal it is (``forbidden``,
    ``conflict``, ``not_found``, ``invalid``), declared in the contract's NatSpec.
    """

    signature: ClassVar[str] = ""
    selector: ClassVar[bytes] = b""
    contract: ClassVar[str] = ""
    kind: ClassVar[str] = "invalid"
    param_names: ClassVar[tuple[str, ...]] = ()
    param_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self, tx_hash: str | None = None, **fields: Any) -> None:
        self.fields: dict[str, Any] = fields
        self.tx_hash = tx_hash
        for name, value in fields.items():
            setattr(self, name, value)
        super().__init__(self._render())

    @property
    def error_name(self) -> str:
        """The Solidity error's name (a property of its own: ``name`` may be an argument)."""
        return type(self).__name__

    def _render(self) -> str:
        args = ", ".join(f"{k}={_show(v)}" for k, v in self.fields.items())
        return f"{self.error_name}({args})"


class UnknownRevert(ContractRevert):
    """A revert whose data matches no custom error the client knows."""

    def __init__(self, data: bytes, tx_hash: str | None = None, reason: str | None = None) -> None:
        self.data = data
        self.reason = reason
        super().__init__(tx_hash=tx_hash)

    @property
    def error_name(self) -> str:
        return "UnknownRevert"

    def _render(self) -> str:
        if self.reason:
            return f"reverted: {self.reason}"
        return f"reverted with unrecognised data 0x{self.data.hex()}"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


class ScoringError(LedgerValueError):
    """A credit score could not be built or does not verify."""


class RecordNotAuthorised(ScoringError):
    """A score would use a record its member neither holds nor queried under consent."""

    def __init__(self, record: str, member: str, holder: str, schema: str) -> None:
        self.record = record
        self.member = member
        self.holder = holder
        self.schema = schema
        super().__init__(
            f"{member} may not use {schema} record {record} held by {holder}: no query of its "
            "subject under an authorisation in force covers it"
        )


class RecordRevoked(ScoringError):
    """A score would use a record its attester has revoked."""

    def __init__(self, record: str, member: str) -> None:
        self.record = record
        self.member = member
        super().__init__(f"record {record} used by {member} is revoked")


class ScoreMismatch(ScoringError):
    """An attested score differs from the one recomputed from its records and model."""

    def __init__(self, what: str, attested: object, recomputed: object) -> None:
        self.what = what
        self.attested = attested
        self.recomputed = recomputed
        super().__init__(f"score {what}: attested {attested!r}, recomputed {recomputed!r}")
