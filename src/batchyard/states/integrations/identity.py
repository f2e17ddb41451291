"""Stable names for what a task starts, so a task resumed after a restart finds its child.

A task attempt is named by its execution and :func:`task_key` (state, entered time, retry
count, Map index), all restored unchanged by a resume. The job id or execution name derived
from it is therefore the same on every run of the same attempt, and different for a retry,
a later visit to the state, or another Map item.
"""

from __future__ import annotations

import uuid
from typing import Any

from batchyard.states.engine.tokens import task_key

_NAMESPACE = uuid.UUID("6f1d1c52-5b7e-4f7e-9a51-2f3b8f0c9a11")


def child_id(context: dict[str, Any]) -> str:
    """A UUID naming what the task attempt described by ``context`` ($$) starts."""
    execution = context["Execution"]["Id"]
    return str(uuid.uuid5(_NAMESPACE, f"{execution}|{task_key(context)}"))


def pattern_of(resource: str, base: str) -> str:
    """The integration pattern suffix of ``resource``: "", ".sync", ".sync:2", ...."""
    return resource[len(base):]
