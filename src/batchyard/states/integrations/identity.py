"""Stable names for what a task starts, so a task resumed after a restart finds its child.

A task attempt is named by its execution and :attr:`TaskRequest.attempt` (branch or
iteration, state, entered time, retry count), all restored unchanged by a resume once the
state's entry is committed. The job id or execution name derived from it is therefore the
same on every run of the same attempt, and different for a retry, a later visit to the
state, or another Map item or Parallel branch.
"""

from __future__ import annotations

import uuid

from batchyard.states.asl.runtime import TaskRequest

_NAMESPACE = uuid.UUID("6f1d1c52-5b7e-4f7e-9a51-2f3b8f0c9a11")


def execution_of(request: TaskRequest) -> str:
    """The ARN of the execution running the task."""
    return str(request.context["Execution"]["Id"])


def child_id(request: TaskRequest) -> str:
    """A UUID naming what this task attempt starts."""
    return str(uuid.uuid5(_NAMESPACE, f"{execution_of(request)}|{request.attempt}"))


def pattern_of(resource: str, base: str) -> str:
    """The integration pattern suffix of ``resource``: "", ".sync", ".sync:2", ...."""
    return resource[len(base):]
