"""The running API's state: the chain, the deployment, the relay account, keys, journal,
worker, and the event index the listings read."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from ledger_client import (
    Chain,
    Keyring,
    Ledger,
    LedgerValueError,
    Manifest,
    Member,
    Role,
    attach,
    connect,
    deploy,
)
from ledger_client.attestations.signed_records import domain_separator
from ledger_client.chain.backends import Receipt
from ledger_client.contracts.base import ContractFacade
from ledger_client.index import EventIndex, Projection
from ledger_client.index.consent import AuthorisationsProjection, DisputesProjection
from ledger_client.index.lending import CollateralProjection, FacilitiesProjection
from ledger_client.index.receivables import ReceivablesProjection
from ledger_client.types import RegisteredSchema

from .config import Settings
from .db import ApiDatabase
from .journal import Journal
from .keys import KeyStore
from .worker import AnchorWorker

log = logging.getLogger("credit_chain.api")
RELAYER_NAME = "Credit chain API relay"
#: The API's relay key, the only private key kept in its data directory.
RELAY_KEYS_FILE = "keys.json"


class RelayAccountRefused(LedgerValueError):
    """The API's relay account is not what the API may run with: not admitted as a relayer
    member, suspended, or holding any role besides relayer (a regulator's powers, say)."""

    def __init__(self, message: str, account: str, roles: list[str]) -> None:
        super().__init__(message)
        self.account = account
        self.roles = roles


class RegulatorKeyInDataDir(LedgerValueError):
    """The regulator's key file was to be written inside the API's data directory."""


def relay_account(data_dir: Path) -> LocalAccount:
    """The API's relay account in ``data_dir`` (``keys.json``), created on first use.

    Its key is random, from a keyring of its own: nothing in the data directory
    derives any other account (the regulator's least of all).
    """
    path = data_dir / RELAY_KEYS_FILE
    if path.exists():
        ring = Keyring.load(path)
        if ring.labels() != ["relayer"]:
            log.warning(
                "%s holds keys besides the relay's (%s): an older `serve` kept the regulator's "
                "key here; move the file out and keep only the relayer's in the data directory",
                path,
                ", ".join(label for label in ring.labels() if label != "relayer"),
            )
        return ring.account("relayer")
    data_dir.mkdir(parents=True, exist_ok=True)
    ring = Keyring(f"credit-chain-relay-{secrets.token_hex(16)}")
    relayer = ring.account("relayer")
    ring.save(path)
    return relayer


def index_projections() -> list[Projection]:
    """The projections beside the built-in ones that the API's index (and the read-only
    console's) keeps: consent, disputes, receivables, and the lending registries."""
    return [
        AuthorisationsProjection(),
        DisputesProjection(),
        ReceivablesProjection(),
        CollateralProjection(),
        FacilitiesProjection(),
    ]


def check_relay_account(ledger: Ledger, account: str) -> None:
    """Refuse to run with a relay account that is not exactly a relayer in good standing."""
    member = ledger.consortium.member(account)
    if member is None or member.suspended or member.roles != Role.RELAYER:
        roles = member.roles.names() if member is not None else []
        state = (
            "is not a member"
            if member is None
            else "is suspended"
            if member.suspended
            else f"holds {', '.join(roles)}"
        )
        raise RelayAccountRefused(
            f"the API's relay account {account} {state}; it must hold the relayer role and no "
            "other. Ask the regulator to admit it: credit-chain deploy --regulator-key FILE "
            f"--relayer {account} (see README, HTTP API)",
            account=account,
            roles=roles,
        )


@dataclass
class Service:
    """Everything a request handler needs, opened once per process."""

    settings: Settings
    chain: Chain
    ledger: Ledger
    relayer: LocalAccount
    db: ApiDatabase
    keys: KeyStore
    journal: Journal
    index: EventIndex
    worker: AnchorWorker | None = None
    separator: bytes = b""
    _schemas: dict[str, RegisteredSchema] = field(default_factory=dict)
    _clock: tuple[float, int] = (0.0, 0)  # (monotonic time read, chain time read)
    # Standing of each account seen: (the epoch it was read at, the member or None).
    _members: dict[str, tuple[int, Member | None]] = field(default_factory=dict)
    _consortium_epoch: int = 0  # bumped by every Consortium event this process sees
    _enterprises: set[str] = field(default_factory=set)
    _facades: dict[str, ContractFacade] = field(default_factory=dict)

    def chain_time(self) -> int:
        """The chain's clock as last read, run forward with the wall clock since.

        The accept path must not wait for the chain (while the worker mines, the
        embedded chain is busy): the worker reads the clock every round.
        """
        read_at, chain_now = self._clock
        if read_at == 0.0:
            self.refresh()
            read_at, chain_now = self._clock
        return chain_now + int(time.monotonic() - read_at)

    def refresh(self) -> None:
        """Re-read the chain's clock and the standing of every signer seen, and read blocks
        other clients of a shared node mined into the index (the worker's job)."""
        self._clock = (time.monotonic(), self.chain.now())
        self.index.sync()
        # A second client of this process's chain (a test's, say) bypasses the receipt
        # listener: the standing of every member seen (a consortium's few dozen, not the
        # enterprises) is read again here, in the worker's thread, so the accept path never
        # waits for the chain.
        if self.chain.backend.in_process:
            for account, (_, member) in list(self._members.items()):
                if member is not None:
                    epoch = self._consortium_epoch
                    self._members[account] = (epoch, self.ledger.consortium.member(account))

    def note_chain_time(self, timestamp: int) -> None:
        """Record a chain time just seen (the worker calls this after each block)."""
        self._clock = (time.monotonic(), timestamp)

    def schema(self, ref: str) -> RegisteredSchema | None:
        """A registered schema by name or 0x id (cached; re-read from the chain on a miss)."""
        key = ref.lower() if ref.startswith("0x") else ref
        found = self._schemas.get(key)
        if found is None:
            for s in self.ledger.attestations.schemas():
                self._schemas[s.name] = s
                self._schemas["0x" + s.schema_id.hex()] = s
            found = self._schemas.get(key)
        return found

    def _on_receipt(self, receipt: Receipt) -> None:
        """Forget every standing read once a Consortium event is seen (a suspension, say), and
        the enterprises known (a rebinding unbinds an account)."""
        consortium = self._consortium_address
        if any(log.address.lower() == consortium for log in receipt.logs):
            self._consortium_epoch += 1
            self._enterprises.clear()

    @property
    def _consortium_address(self) -> str:
        return self.ledger.consortium.address.lower()

    def _standing_epoch(self) -> int:
        """What a cached standing must have been read at to be current.

        On the embedded chain this process is the chain's only writer, and every
        transaction it sends passes :meth:`_on_receipt`: the epoch moves only when
        the Consortium emitted an event, so the accept path reads no chain at all.
        On a node other processes write too (a regulator's CLI), so the epoch is the
        chain's head, read per request: standing is read again once per new block.
        """
        if self.chain.backend.in_process:
            return self._consortium_epoch
        return self.chain.backend.block_number() * (1 << 32) + self._consortium_epoch

    def member_standing(self, account: str) -> Member | None:
        """``account``'s membership as the chain holds it now (None for a non-member): a
        suspension or reinstatement by any process counts from the next call on."""
        epoch = self._standing_epoch()
        cached = self._members.get(account)
        if cached is not None and cached[0] == epoch:
            return cached[1]
        member = self.ledger.consortium.member(account)
        self._members[account] = (epoch, member)
        return member

    def may_attest(self, account: str) -> bool:
        """Whether ``account`` is an attester in good standing now.

        The chain checks every record relayed one by one regardless, and a verifier
        checks standing at the anchoring block.
        """
        return Role.ATTESTER in self.roles_of(account)

    def roles_of(self, account: str) -> Role:
        """The roles ``account`` holds in good standing now (none for a non-member or a
        suspended one)."""
        member = self.member_standing(account)
        return Role(0) if member is None or member.suspended else member.roles

    def is_enterprise(self, account: str) -> bool:
        """Whether ``account`` is bound to an enterprise (a binding only moves by a rebind)."""
        if account in self._enterprises:
            return True
        if self.ledger.consortium.enterprise(account) is None:
            return False
        self._enterprises.add(account)
        return True

    def facade_at(self, address: str) -> ContractFacade | None:
        """The deployment's contract at ``address``, or None."""
        if not self._facades:
            ledger = self.ledger
            for facade in (
                ledger.consortium,
                ledger.attestations,
                ledger.disputes,
                ledger.authorisations,
                ledger.receivables,
                ledger.collateral,
                ledger.facilities,
                ledger.forwarder,
            ):
                self._facades[facade.address.lower()] = facade
        return self._facades.get(address.lower())

    @classmethod
    def open(cls, settings: Settings, *, start_worker: bool = True) -> Service:
        """Open the deployment in ``settings.data_dir``.

        The data directory holds the manifest and the relay key only. On first start it
        attaches to ``settings.manifest`` (a deployment whose regulator admitted the relay
        account, see :func:`relay_account`); with no manifest at all it deploys a fresh
        development ledger, whose regulator key goes to ``settings.regulator_keys_path()``,
        outside the data directory. Either way the relay account must be exactly a relayer
        in good standing, or :class:`RelayAccountRefused` is raised.
        """
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        chain = (
            connect(settings.rpc)
            if settings.rpc
            else connect("embedded", data_dir=data_dir / "chain")
        )
        manifest_path = data_dir / "manifest.json"
        if not manifest_path.exists() and settings.manifest is not None:
            Manifest.load(settings.manifest).save(manifest_path)
        if manifest_path.exists():
            ledger = attach(chain, Manifest.load(manifest_path))
            relayer = relay_account(data_dir)
        else:
            ledger, relayer = _bootstrap(chain, settings, manifest_path)
        check_relay_account(ledger, relayer.address)
        db = ApiDatabase(data_dir / "api.sqlite")
        index = EventIndex(
            data_dir / "index.sqlite",
            ledger,
            projections=index_projections(),
        )
        index.sync()  # blocks mined since it last read (another client's, or before a crash)
        index.follow()
        service = cls(
            settings=settings,
            chain=chain,
            ledger=ledger,
            relayer=relayer,
            db=db,
            keys=KeyStore(db),
            journal=Journal(db),
            index=index,
        )
        chain.add_receipt_listener(service._on_receipt)
        service.separator = domain_separator(ledger.attestations.domain)
        if start_worker:
            service.worker = AnchorWorker(service)
            service.worker.start()
        return service

    def close(self) -> None:
        """Stop the worker and close files and connections."""
        if self.worker is not None:
            self.worker.stop()
        self.journal.close()
        self.index.close()
        self.keys.generation.close()  # the store shares the database closed next
        self.db.close()
        self.chain.close()


def _bootstrap(
    chain: Chain, settings: Settings, manifest_path: Path
) -> tuple[Ledger, LocalAccount]:
    """First start with no manifest (a development convenience): deploy with a fresh
    regulator key, written outside the data directory, and admit the relay account with the
    relayer role only."""
    regulator_path = settings.regulator_keys_path()
    data_dir = settings.data_dir.resolve()
    if regulator_path.resolve().is_relative_to(data_dir):
        raise RegulatorKeyInDataDir(
            f"the regulator's key may not be kept in the API's data directory: {regulator_path}"
        )
    regulator_ring = Keyring(f"credit-chain-regulator-{secrets.token_hex(16)}")
    regulator = regulator_ring.account("regulator")
    relayer = relay_account(settings.data_dir)
    chain.fund(regulator.address)
    chain.fund(relayer.address)
    ledger = deploy(chain, regulator)
    ledger.consortium.admit_member(
        regulator, relayer.address, RELAYER_NAME, "Shanghai", Role.RELAYER
    )
    regulator_path.parent.mkdir(parents=True, exist_ok=True)
    regulator_ring.save(regulator_path)
    ledger.manifest.save(manifest_path)
    log.warning(
        "deployed a new development ledger (Consortium %s); its regulator key is in %s, "
        "outside the data directory: keep it, or delete it to leave the consortium fixed",
        ledger.manifest.contracts["Consortium"].address,
        regulator_path,
    )
    return ledger, relayer


def development_regulator(settings: Settings) -> LocalAccount:
    """The regulator of a development ledger that :meth:`Service.open` deployed, from its key
    file outside the data directory (for tests, demos and benchmarks)."""
    return Keyring.load(settings.regulator_keys_path()).account("regulator")
