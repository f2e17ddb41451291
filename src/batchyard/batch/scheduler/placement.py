"""One scheduling pass, and what it plans with: the queues and compute environments as the
scheduler sees them, and the capacity each environment and the host have left.

A pass offers free capacity to the heads of the queues, best queue first. Queues are visited
by priority (larger first). Within a queue only the head is considered: it goes to the first
environment in ``computeEnvironmentOrder`` with room for it, and the next job becomes the
head. A head that fits nowhere right now stops that queue for this pass, so the work of a pass
grows with the number of queues and placements, never with the number of waiting jobs.

A head that could not fit even an empty environment, or whose environments are all INVALID,
is reported as blocked with AWS's reason: AWS sets it on the job's ``statusReason`` and
announces a "Batch Job Queue Blocked" event; ``jobStateTimeLimitActions`` match on the code
before `` - ``.

The :class:`Topology` snapshot is rebuilt from the stored resources whenever
``batch.resources`` announces a change, so a pass never touches the store. Each compute
environment has its share of ``maxvCpus``; memory and GPUs are the host's, which all local
environments share.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Connection

from batchyard.aws.lifecycle import Status
from batchyard.batch.jobs.model import BLOCKED_BY_REQUIREMENT, Demand, QueuedJob
from batchyard.batch.resources import job_queues
from batchyard.batch.resources.model import ComputeEnvironment, State
from batchyard.compute.provider import HostCapacity

USABLE_STATUSES = (Status.VALID, Status.UPDATING)

COMPUTE_ENVIRONMENT_MAX_RESOURCE = (
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue "
    "cannot meet the CPU requirement of the job."
)
JOB_RESOURCE_REQUIREMENT = BLOCKED_BY_REQUIREMENT
ENVIRONMENTS_INVALID = "ACTION_REQUIRED - CE(s) associated with the job queue are invalid."


@dataclass(frozen=True, slots=True)
class EnvironmentView:
    """A compute environment: its vCPU ceiling, whether jobs may be placed on it and whether
    it is INVALID (a configuration the user has to fix)."""

    arn: str
    name: str
    max_vcpus: float
    usable: bool
    invalid: bool = False


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


def _environment(environment: ComputeEnvironment) -> EnvironmentView:
    max_vcpus = (environment.compute_resources or {}).get("maxvCpus")
    if max_vcpus is None:
        # Unmanaged environments are as big as they say, or as the host.
        max_vcpus = environment.unmanaged_vcpus or os.cpu_count() or 1
    return EnvironmentView(
        environment.arn,
        environment.name,
        float(max_vcpus),
        environment.state == State.ENABLED and environment.status in USABLE_STATUSES,
        environment.status == Status.INVALID,
    )


def load(conn: Connection) -> Topology:
    """Build a snapshot from the stored queues and environments (of every account)."""
    queues = []
    for queue in job_queues.list_all(conn):
        environments = tuple(
            _environment(e) for e in job_queues.compute_environments_of(conn, queue)
        )
        limits = tuple(
            (action.reason, int(action.max_time_seconds))
            for action in queue.job_state_time_limit_actions
            if action.state == "RUNNABLE" and action.action == "CANCEL"
        )
        queues.append(
            QueueView(
                queue.arn,
                queue.name,
                queue.priority,
                queue.state == State.ENABLED and queue.status in USABLE_STATUSES,
                environments,
                limits,
            )
        )
    queues.sort(key=lambda queue: -queue.priority)
    return Topology(tuple(queues))


def all_invalid(environments: Iterable[EnvironmentView]) -> bool:
    """Whether the queue has environments and every one of them is INVALID: its head waits
    for the user to fix them (ACTION_REQUIRED)."""
    found = list(environments)
    return bool(found) and all(environment.invalid for environment in found)


def never_placeable(demand: Demand, environments: Iterable[EnvironmentView]) -> str:
    """The reason for a job that fits none of ``environments`` even when they are empty.

    When every environment's ``maxvCpus`` is below the job's vCPUs, the environments are
    the cause (COMPUTE_ENVIRONMENT_MAX_RESOURCE); otherwise the job asks for more memory or
    GPUs than the host behind them has (JOB_RESOURCE_REQUIREMENT).
    """
    if all(demand.vcpus > environment.max_vcpus for environment in environments):
        return COMPUTE_ENVIRONMENT_MAX_RESOURCE
    return JOB_RESOURCE_REQUIREMENT


class CapacityLedger:
    """Reservations of placed attempts against environment and host limits."""

    def __init__(self, host: HostCapacity) -> None:
        self.host = host
        self._vcpus: dict[str, float] = defaultdict(float)
        self._memory = 0
        self._gpus = 0

    def used_vcpus(self, environment_arn: str) -> float:
        """vCPUs reserved on ``environment_arn``."""
        return self._vcpus[environment_arn]

    def could_ever_fit(self, demand: Demand, max_vcpus: float) -> bool:
        """Whether ``demand`` fits an empty environment of ``max_vcpus`` on this host."""
        return (
            demand.vcpus <= max_vcpus
            and demand.memory <= self.host.memory_mib
            and demand.gpus <= self.host.gpus
        )

    def fits(self, environment_arn: str, max_vcpus: float, demand: Demand) -> bool:
        """Whether ``demand`` fits what ``environment_arn`` and the host have free now."""
        return (
            self._vcpus[environment_arn] + demand.vcpus <= max_vcpus + 1e-9
            and self._memory + demand.memory <= self.host.memory_mib
            and self._gpus + demand.gpus <= self.host.gpus
        )

    def reserve(self, environment_arn: str, demand: Demand) -> None:
        """Take ``demand`` from ``environment_arn`` and the host."""
        self._vcpus[environment_arn] += demand.vcpus
        self._memory += demand.memory
        self._gpus += demand.gpus

    def release(self, environment_arn: str, demand: Demand) -> None:
        """Give back what ``reserve`` took."""
        left = self._vcpus[environment_arn] - demand.vcpus
        if left <= 1e-9:
            self._vcpus.pop(environment_arn, None)
        else:
            self._vcpus[environment_arn] = left
        self._memory -= demand.memory
        self._gpus -= demand.gpus


@dataclass(frozen=True, slots=True)
class Placement:
    """A job placed on an environment during a pass."""

    job: QueuedJob
    queue: QueueView
    environment: EnvironmentView


@dataclass(frozen=True, slots=True)
class Blocked:
    """A queue head that cannot be placed on any of its queue's environments."""

    job: QueuedJob
    queue: QueueView
    reason: str


@dataclass(slots=True)
class PassResult:
    """What a pass decided."""

    placements: list[Placement] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)


class Waiting(Protocol):
    """What a pass needs of a queue's ordering."""

    def __len__(self) -> int: ...

    def head(self) -> QueuedJob | None: ...

    def remove(self, job_id: str) -> QueuedJob | None: ...


def plan(
    topology: Topology, orderings: Mapping[str, Waiting], ledger: CapacityLedger
) -> PassResult:
    """Place what fits now; placed jobs leave their ordering and hold capacity in ``ledger``."""
    result = PassResult()
    for queue in topology.queues:
        ordering = orderings.get(queue.arn)
        if not queue.usable or not ordering:
            continue
        while (job := ordering.head()) is not None:
            environment = next(
                (
                    e
                    for e in queue.environments
                    if e.usable and ledger.fits(e.arn, e.max_vcpus, job.demand)
                ),
                None,
            )
            if environment is None:
                if all_invalid(queue.environments):
                    result.blocked.append(Blocked(job, queue, ENVIRONMENTS_INVALID))
                elif queue.environments and not any(
                    ledger.could_ever_fit(job.demand, e.max_vcpus) for e in queue.environments
                ):
                    reason = never_placeable(job.demand, queue.environments)
                    result.blocked.append(Blocked(job, queue, reason))
                break
            ordering.remove(job.job_id)
            ledger.reserve(environment.arn, job.demand)
            result.placements.append(Placement(job, queue, environment))
    return result
