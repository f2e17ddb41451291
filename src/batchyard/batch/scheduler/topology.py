"""The queues and compute environments as the scheduler sees them.

A snapshot is rebuilt from the resource lookups whenever ``batch.resources`` announces a
change, so a pass never touches the store to know where jobs may go.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from batchyard.batch.resources import job_queues

USABLE_STATUSES = ("VALID", "UPDATING")


@dataclass(frozen=True)
class EnvironmentView:
    """A compute environment: its vCPU ceiling, whether jobs may be placed on it and whether
    it is INVALID (a configuration the user has to fix)."""

    arn: str
    name: str
    max_vcpus: float
    usable: bool
    invalid: bool = False


@dataclass(frozen=True)
class QueueView:
    """A job queue with its environments in ``computeEnvironmentOrder``."""

    arn: str
    name: str
    priority: int
    usable: bool
    environments: tuple[EnvironmentView, ...]
    # jobStateTimeLimitActions for RUNNABLE jobs: blocked-reason code -> seconds until CANCEL.
    time_limits: tuple[tuple[str, int], ...] = ()

    def time_limit(self, reason_code: str) -> int | None:
        """Seconds a head blocked with ``reason_code`` may wait before it is cancelled."""
        return next((seconds for code, seconds in self.time_limits if code == reason_code), None)


@dataclass(frozen=True)
class Topology:
    """Every queue, highest priority first (ties: oldest first)."""

    queues: tuple[QueueView, ...]

    def queue(self, arn: str) -> QueueView | None:
        """The queue with ARN ``arn``."""
        return next((q for q in self.queues if q.arn == arn), None)

    def environment(self, arn: str) -> EnvironmentView | None:
        """The environment with ARN ``arn`` (as attached to any queue)."""
        for queue in self.queues:
            for environment in queue.environments:
                if environment.arn == arn:
                    return environment
        return None


def _environment(document: dict[str, Any]) -> EnvironmentView:
    resources = document.get("computeResources") or {}
    max_vcpus = resources.get("maxvCpus")
    if max_vcpus is None:
        # Unmanaged environments are as big as they say, or as the host.
        max_vcpus = document.get("unmanagedvCpus") or os.cpu_count() or 1
    usable = document.get("state") == "ENABLED" and document.get("status") in USABLE_STATUSES
    return EnvironmentView(
        document["computeEnvironmentArn"],
        document["computeEnvironmentName"],
        float(max_vcpus),
        usable,
        document.get("status") == "INVALID",
    )


def load(conn: Connection) -> Topology:
    """Build a snapshot from the stored queues and environments."""
    queues = []
    for document in job_queues.list_all(conn):
        environments = tuple(
            _environment(e) for e in job_queues.compute_environments_of(conn, document)
        )
        usable = document.get("state") == "ENABLED" and document.get("status") in USABLE_STATUSES
        limits = tuple(
            (action["reason"], int(action["maxTimeSeconds"]))
            for action in document.get("jobStateTimeLimitActions") or []
            if action.get("state") == "RUNNABLE" and action.get("action") == "CANCEL"
        )
        queues.append(
            QueueView(
                document["jobQueueArn"],
                document["jobQueueName"],
                int(document["priority"]),
                usable,
                environments,
                limits,
            )
        )
    queues.sort(key=lambda queue: -queue.priority)
    return Topology(tuple(queues))
