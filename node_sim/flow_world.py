"""What the simulator's flows are given of the run: narrow views, not the whole run.

:class:`~node_sim.consent.ConsentFlows` and :class:`~node_sim.supply_chain.ReceivableFlows`
take a :class:`ConsentWorld` and a :class:`ReceivableWorld`, and
:class:`~node_sim.lending.LendingFlows` a :class:`LendingWorld`: only what they read and
where their writes go. :class:`~node_sim.simulation.Simulation` is both, structurally,
and the flows need not import it (nor it them, both ways: no import cycle).
"""

from __future__ import annotations

import datetime
from typing import Protocol

from ledger_client import Keyring, Ledger

from .gateway import ChainGateway
from .metrics import Metrics
from .world import EnterpriseProfile

__all__ = ["ConsentWorld", "FlowConfig", "LendingWorld", "ReceivableWorld"]


class FlowConfig(Protocol):
    """What the flows read of the run's configuration."""

    @property
    def seed(self) -> int:
        """The run's seed: each flow draws from random streams of its own derived from it."""

    @property
    def late_dispute_rate(self) -> float:
        """The share of disputes answered past their deadline."""


class _World(Protocol):
    """What every flow reads: the run's configuration, the ledger, the keys, the figures,
    the enterprises, and the gateway its writes go through."""

    @property
    def config(self) -> FlowConfig:
        """The run's configuration."""

    @property
    def deployed(self) -> Ledger:
        """The ledger (reads, and the chain's clock)."""

    @property
    def writes(self) -> ChainGateway:
        """Where every write goes: the chain, or the API."""

    ring: Keyring
    metrics: Metrics
    population: list[EnterpriseProfile]

    def suspended(self) -> str | None:
        """The label of the member suspended now, if any."""

    def city_of(self, member: str) -> str:
        """The city of a member institution, from its label."""


class ConsentWorld(_World, Protocol):
    """What the consent flows (authorisations, queries, shared reports, disputes and
    complaints) use."""

    subjects: dict[str, bytes]

    def profile_of_subject(self, subject: bytes) -> EnterpriseProfile:
        """The enterprise with this subject id."""

    def date(self, day: int) -> datetime.date:
        """The calendar date of simulated ``day``."""


class ReceivableWorld(_World, Protocol):
    """What the receivables flows (issue, accept, split, finance, settle, default) use."""

    profiles: dict[str, EnterpriseProfile]
    receivables_city: str
    #: The chain keeps wall-clock time (a sealers' network): no receivable matures in a run.
    real_time: bool

    def morning(self, day: int) -> int:
        """09:00 on simulated ``day`` (UNIX seconds)."""


class LendingWorld(_World, Protocol):
    """What the lending flows (pledges, facilities, joint agreements) use."""

    subjects: dict[str, bytes]
    profiles: dict[str, EnterpriseProfile]
    #: The chain keeps wall-clock time (a sealers' network): no pledge lapses in a run.
    real_time: bool

    def morning(self, day: int) -> int:
        """09:00 on simulated ``day`` (UNIX seconds)."""
