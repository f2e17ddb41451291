"""Retry and Catch matching, and the retry backoff arithmetic."""

from __future__ import annotations

import random
from collections.abc import Sequence

from batchyard.states.asl.definition import Catcher, Retrier
from batchyard.states.asl.errors import (
    NOT_MATCHED_BY_ALL,
    STATES_ALL,
    STATES_RUNTIME,
    STATES_TASK_FAILED,
    STATES_TIMEOUT,
)


def error_matches(error_equals: Sequence[str], error: str | None) -> bool:
    """Whether an ErrorEquals list covers ``error``.

    States.ALL covers everything but the terminal errors; States.TaskFailed covers every
    error except States.Timeout (the ASL specification's wildcard rules).
    """
    name = error or ""
    for pattern in error_equals:
        if pattern == name:
            return True
        if pattern == STATES_ALL and name not in NOT_MATCHED_BY_ALL:
            return True
        if (
            pattern == STATES_TASK_FAILED
            and name not in NOT_MATCHED_BY_ALL
            and name != STATES_TIMEOUT
        ):
            return True
    return False


def is_terminal(error: str | None) -> bool:
    """States.Runtime can be neither retried nor caught: the execution fails."""
    return error == STATES_RUNTIME


def find_retrier(retriers: Sequence[Retrier], error: str | None) -> int | None:
    """Index of the first retrier whose ErrorEquals matches, or None."""
    if is_terminal(error):
        return None
    for i, r in enumerate(retriers):
        if error_matches(r.error_equals, error):
            return i
    return None


def find_catcher(catchers: Sequence[Catcher], error: str | None) -> Catcher | None:
    """The first catcher whose ErrorEquals matches, or None."""
    if is_terminal(error):
        return None
    for c in catchers:
        if error_matches(c.error_equals, error):
            return c
    return None


def retry_delay(retrier: Retrier, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) of ``retrier``.

    IntervalSeconds * BackoffRate^attempt, capped at MaxDelaySeconds; with FULL jitter a
    uniformly random share of that.
    """
    delay = float(retrier.interval_seconds) * (float(retrier.backoff_rate) ** attempt)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, float(retrier.max_delay_seconds))
    if retrier.jitter_strategy == "FULL":
        delay = (rng or random).uniform(0, delay)
    return delay
