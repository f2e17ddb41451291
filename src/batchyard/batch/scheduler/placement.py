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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Connection

from batchyard.aws.lifecycle import Status
from batchyard.batch.jobs.model import BLOCKED_BY_REQUIREMENT, Demand, QueuedJob
from batchyard.batch.resources import job_queues
from batchyard.batch.resources.model import ComputeEnvironment, State
from batchyard.batch.resources.store import ResourceTags
from batchyard.compute.provider import HostCapacity
from batchyard.compute.providers import THIS_HOST, Backing, Providers

USABLE_STATUSES = (Status.VALID, Status.UPDATING)

COMPUTE_ENVIRONMENT_MAX_RESOURCE = (
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue "
    "cannot meet the CPU requirement of the job."
)
JOB_RESOURCE_REQUIREMENT = BLOCKED_BY_REQUIREMENT
ENVIRONMENTS_INVALID = "ACTION_REQUIRED - CE(s) associated with the job queue are invalid."


@dataclass(frozen=True, slots=True)
class EnvironmentView:
    """A compute environment: its vCPU ceiling, whether jobs may be placed on it, whether
    it is INVALID (a configuration the user has to fix, or a provider it lacks) and what runs
    its attempts (None: nothing can)."""

    arn: str
    name: str
    max_vcpus: float
    usable: bool
    invalid: bool = False
    backing: Backing | None = None

    @property
    def host(self) -> str:
        """The host whose memory and GPUs this environment's attempts share."""
        return self.backing.host if self.backing is not None else THIS_HOST


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


def _environment(environment: ComputeEnvironment, backing: Backing | None) -> EnvironmentView:
    max_vcpus = (environment.compute_resources or {}).get("maxvCpus")
    if max_vcpus is None:
        # Unmanaged environments are as big as they say, or as the host.
        max_vcpus = environment.unmanaged_vcpus or os.cpu_count() or 1
    lacking = backing is not None and backing.provider is None
    return EnvironmentView(
        environment.arn,
        environment.name,
        float(max_vcpus),
        environment.state == State.ENABLED
        and environment.status in USABLE_STATUSES
        and not lacking,
        environment.status == Status.INVALID or lacking,
        backing,
    )


def load(
    conn: Connection, tags: ResourceTags | None = None, providers: Providers | None = None
) -> Topology:
    """Build a snapshot from the stored queues and environments (of every account); with
    ``providers``, each environment with the provider its tags choose."""
    queues = []
    for queue in job_queues.list_all(conn):
        found = job_queues.compute_environments_of(conn, queue)
        tagged = tags.get_many(conn, [e.arn for e in found]) if tags is not None else {}
        environments = tuple(
            _environment(e, providers.backing(tagged.get(e.arn, {})) if providers else None)
            for e in found
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


def _nodes_could_hold(demand: Demand, host: HostCapacity) -> bool:
    """Whether a cluster's nodes could ever hold ``demand``: a single-node job on one node,
    a multi-node job on as many nodes with vCPUs (its nodes' own sizes are not kept here;
    the provider checks them at launch)."""
    if not host.nodes:
        return True
    if demand.nodes == 1:
        return any(node.holds(demand.vcpus, demand.memory, demand.gpus) for node in host.nodes)
    return sum(1 for node in host.nodes if node.vcpus > 0) >= demand.nodes


class CapacityLedger:
    """Reservations of placed attempts against environment and host limits.

    ``capacity`` gives a host's memory and GPUs by its key (``EnvironmentView.host``): the
    environments on one host share them, whatever their ``maxvCpus``.
    """

    def __init__(self, capacity: Callable[[str], HostCapacity]) -> None:
        self._capacity = capacity
        self._vcpus: dict[str, float] = defaultdict(float)
        self._host_vcpus: dict[str, float] = defaultdict(float)
        self._memory: dict[str, int] = defaultdict(int)
        self._gpus: dict[str, int] = defaultdict(int)

    def used_vcpus(self, environment_arn: str) -> float:
        """vCPUs reserved on ``environment_arn``."""
        return self._vcpus[environment_arn]

    def could_ever_fit(self, demand: Demand, environment: EnvironmentView) -> bool:
        """Whether ``demand`` fits ``environment`` when it and its host are empty."""
        host = self._capacity(environment.host)
        return (
            demand.vcpus <= environment.max_vcpus
            and (host.vcpus is None or demand.vcpus <= host.vcpus + 1e-9)
            and demand.memory <= host.memory_mib
            and demand.gpus <= host.gpus
            and _nodes_could_hold(demand, host)
        )

    def fits(self, environment: EnvironmentView, demand: Demand) -> bool:
        """Whether ``demand`` fits what ``environment`` and its host have free now."""
        host, key = self._capacity(environment.host), environment.host
        return (
            self._vcpus[environment.arn] + demand.vcpus <= environment.max_vcpus + 1e-9
            and (host.vcpus is None or self._host_vcpus[key] + demand.vcpus <= host.vcpus + 1e-9)
            and self._memory[key] + demand.memory <= host.memory_mib
            and self._gpus[key] + demand.gpus <= host.gpus
            and _nodes_could_hold(demand, host)
        )

    def reserve(self, environment: EnvironmentView, demand: Demand) -> None:
        """Take ``demand`` from ``environment`` and its host."""
        self._vcpus[environment.arn] += demand.vcpus
        self._host_vcpus[environment.host] += demand.vcpus
        self._memory[environment.host] += demand.memory
        self._gpus[environment.host] += demand.gpus

    def release(self, environment: EnvironmentView, demand: Demand) -> None:
        """Give back what ``reserve`` took."""
        left = self._vcpus[environment.arn] - demand.vcpus
        if left <= 1e-9:
            self._vcpus.pop(environment.arn, None)
        else:
            self._vcpus[environment.arn] = left
        self._host_vcpus[environment.host] -= demand.vcpus
        self._memory[environment.host] -= demand.memory
        self._gpus[environment.host] -= demand.gpus


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
                (e for e in queue.environments if e.usable and ledger.fits(e, job.demand)),
                None,
            )
            if environment is None:
                if all_invalid(queue.environments):
                    result.blocked.append(Blocked(job, queue, ENVIRONMENTS_INVALID))
                elif queue.environments and not any(
                    ledger.could_ever_fit(job.demand, e) for e in queue.environments
                ):
                    reason = never_placeable(job.demand, queue.environments)
                    result.blocked.append(Blocked(job, queue, reason))
                break
            ordering.remove(job.job_id)
            ledger.reserve(environment, job.demand)
            result.placements.append(Placement(job, queue, environment))
    return result
