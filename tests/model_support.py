"""What the model-based tests share: predicted refusals, the predict-act-compare step,
their budgets and the count of steps they ran.

Each model test drives a contract and a small Python reference model side by side
(hypothesis ``RuleBasedStateMachine``). A rule *predicts* what the chain must do
(it raises :class:`Refused` for a refusal), *acts* on the chain, and
:func:`expect` compares the two: a predicted refusal must be the very named
error, with the predicted arguments; a predicted success must not revert.

Every step that reached the chain is counted per machine (:data:`STEP_COUNTS`):
a predicted call, a suspension or reinstatement, a move of the clock; a rule
that found nothing to act on is not a step. ``tests/conftest.py`` prints the
counts at the end of the run, and fails a run in which every machine ran to its
end with fewer steps in all than ``MODEL_MIN_TOTAL_STEPS`` (default 10,000).

Budgets: ``MODEL_EXAMPLES`` / ``MODEL_STEPS`` set every machine's examples and
steps per example; ``<MACHINE>_MODEL_EXAMPLES`` / ``<MACHINE>_MODEL_STEPS``
(``CONSORTIUM``, ``ATTESTATIONS``, ``CONSENT``, ``RECEIVABLES``, ``LENDING``) one machine's.
The defaults add up to about 12,000 steps in a plain ``make test``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

from ledger_client import ContractRevert

__all__ = [
    "FINISHED",
    "MACHINES",
    "STEP_COUNTS",
    "Refused",
    "budget",
    "count_step",
    "expect",
    "machine_settings",
    "min_total_steps",
]

#: The model machines, in the order the summary names them.
MACHINES = ("consortium", "attestations", "consent", "receivables", "lending")
#: Steps each machine ran against the chain in this process (predicted calls and clock moves).
STEP_COUNTS: Counter[str] = Counter()
#: The machines whose test ran to its end in this process.
FINISHED: set[str] = set()

P = TypeVar("P")
R = TypeVar("R")


class Refused(Exception):
    """The model's prediction that a step fails with the named error and these arguments."""

    def __init__(self, name: str, **fields: Any) -> None:
        super().__init__(name)
        self.name = name
        self.fields = fields


def count_step(machine: str) -> None:
    """Count one step of ``machine`` that did something to the chain."""
    STEP_COUNTS[machine] += 1


def _same(value: Any) -> Any:
    return value


def expect(
    machine: str,
    predict: Callable[[], P],
    act: Callable[[], R],
    *,
    show: Callable[[Any], Any] = _same,
) -> tuple[P, R] | None:
    """Predict a step, run it on the chain and compare; count it as a step of ``machine``.

    ``predict`` raises :class:`Refused` when the model refuses the step; the chain
    must then raise that named error, and each predicted argument, passed through
    ``show`` (the model's name of an actor to its address, say), must equal the
    error's. Returns None for a refusal, else ``(predict's value, act's value)``.
    """
    count_step(machine)
    refused: Refused | None = None
    try:
        plan = predict()
    except Refused as exc:
        refused = exc
    if refused is not None:
        with pytest.raises(ContractRevert) as info:
            act()  # the model refuses it: so must the chain
        got = info.value
        assert got.error_name == refused.name, f"expected {refused.name}, got {got}"
        for key, value in refused.fields.items():
            assert key in got.fields, f"{got.error_name} has no argument {key!r}: {got}"
            want = show(value)
            assert got.fields[key] == want, (got.error_name, key, got.fields[key], want)
        return None
    try:
        result = act()
    except ContractRevert as exc:
        raise AssertionError(f"the chain refused what the model accepts: {exc}") from exc
    return plan, result


def budget(
    default_examples: int,
    default_steps: int,
    *,
    examples_env: tuple[str, ...] = (),
    steps_env: tuple[str, ...] = (),
) -> tuple[int, int]:
    """A machine's (examples, steps per example): its own variables first, then
    ``MODEL_EXAMPLES`` / ``MODEL_STEPS`` (every machine), then the defaults."""

    def pick(names: tuple[str, ...], default: int) -> int:
        for name in names:
            if os.environ.get(name):
                return int(os.environ[name])
        return default

    return (
        pick((*examples_env, "MODEL_EXAMPLES"), default_examples),
        pick((*steps_env, "MODEL_STEPS"), default_steps),
    )


def machine_settings(examples: int, steps: int) -> settings:
    """Hypothesis settings for a model machine: no deadline, no health checks on speed."""
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def min_total_steps() -> int:
    """The least total of steps a run of every machine must reach (``MODEL_MIN_TOTAL_STEPS``)."""
    return int(os.environ.get("MODEL_MIN_TOTAL_STEPS") or 10_000)
