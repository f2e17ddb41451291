"""Array jobs: a parent ``<uuid>`` standing for ``size`` children ``<uuid>:<index>``.

Children are stored lazily. The parent row holds the array; a child gets a row of its own
only when something happens to it alone (it is dispatched, cancelled, released by a
dependency, blocked at the head of its queue). Until then its state follows from the parent
alone (:func:`implicit_state`) and :func:`child` synthesizes it, so DescribeJobs, ListJobs
and the scheduler see every child while a 10,000-child submission writes one row.

The parent's :class:`ArrayState` records what its children cannot: whether the array was
released (its own dependencies met, children RUNNABLE or waiting on theirs) and whether it was
cancelled or terminated as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from batchyard.aws.documents import JsonObject
from batchyard.batch.jobs.model import (
    FAILED,
    N_TO_N,
    PENDING,
    RUNNABLE,
    SEQUENTIAL,
    SUBMITTED,
    ArrayProperties,
    ArrayState,
    Dependency,
    Job,
    JobRuntime,
    JobStatus,
    child_id,
)

# Members of the parent's document a child does not inherit: its own run and dependencies.
NOT_INHERITED = frozenset(
    {
        "arrayProperties",
        "attempts",
        "dependsOn",
        "isCancelled",
        "isTerminated",
        "startedAt",
        "statusReason",
        "stoppedAt",
        "tags",
    }
)


def state(parent: Job) -> ArrayState:
    """The parent's array bookkeeping (created on first use)."""
    if parent.runtime.array is None:
        parent.runtime.array = ArrayState()
    return parent.runtime.array


def is_sequential(job: Job) -> bool:
    """Whether the array's children run one after the other (a SEQUENTIAL dependency)."""
    return any(d.type == SEQUENTIAL for d in job.depends_on)


def n_to_n_sources(job: Job) -> list[str]:
    """The arrays whose child ``i`` each child ``i`` of this array waits for."""
    return [d.job_id for d in job.depends_on if d.type == N_TO_N and d.job_id]


def own_dependencies(job: Job) -> list[str]:
    """The jobs the array as a whole waits for before any child may run."""
    return [d.job_id for d in job.depends_on if d.job_id and d.type != N_TO_N]


def waits_per_child(job: Job) -> bool:
    """Whether released children still wait on dependencies of their own."""
    return is_sequential(job) or bool(n_to_n_sources(job))


@dataclass(frozen=True, slots=True)
class Implicit:
    """The state of the children of an array that have no row."""

    status: JobStatus
    reason: str | None = None
    stopped_at: int | None = None
    cancelled: bool = False
    terminated: bool = False


def implicit_state(parent: Job) -> Implicit:
    """What the parent's record says of its children without a row."""
    array = parent.runtime.array or ArrayState()
    cancel = array.cancel
    if cancel is not None:
        return Implicit(
            FAILED, cancel.reason, cancel.at, not cancel.terminated, cancel.terminated
        )
    if not array.released:
        if parent.status == FAILED:
            return Implicit(FAILED, parent.status_reason, parent.stopped_at)
        return Implicit(SUBMITTED if parent.status == SUBMITTED else PENDING)
    return Implicit(PENDING if waits_per_child(parent) else RUNNABLE)


def dependencies_of(parent: Job, index: int) -> list[Dependency]:
    """``dependsOn`` of child ``index``: its predecessor (SEQUENTIAL), its peers (N_TO_N)."""
    found = [Dependency(child_id(source, index), N_TO_N) for source in n_to_n_sources(parent)]
    if is_sequential(parent) and index > 0:
        found.append(Dependency(child_id(parent.job_id, index - 1), SEQUENTIAL))
    return found


def child(parent: Job, index: int) -> Job:
    """Child ``index`` of ``parent`` as it is before it has a row."""
    implicit = implicit_state(parent)
    released_at = (parent.runtime.array or ArrayState()).released_at
    runtime = JobRuntime()
    if released_at is not None and implicit.status == RUNNABLE:
        # A RUNNABLE child has been RUNNABLE since its array was released.
        runtime.runnable_at = released_at
    return parent.member(
        child_id(parent.job_id, index),
        child_id(parent.job_arn, index),
        implicit.status,
        depends_on=dependencies_of(parent, index),
        parameters=parent.parameters,
        propagate_tags=parent.propagate_tags,
        platform_capabilities=parent.platform_capabilities,
        container=parent.container,
        array_properties=ArrayProperties(parent.array_size, index),
        retry_strategy=parent.retry_strategy,
        timeout=parent.timeout,
        scheduling_priority=parent.scheduling_priority,
        share_identifier=parent.share_identifier,
        consumable_resource_properties=parent.consumable_resource_properties,
        status_reason=implicit.reason,
        stopped_at=implicit.stopped_at,
        is_cancelled=True if implicit.cancelled else None,
        is_terminated=True if implicit.terminated else None,
        runtime=runtime,
    )


@dataclass(frozen=True)
class ChildChanges:
    """The children of one array, except ``stored``, entering the state their parent's
    record implies at the moment this was taken.

    A child without a row changes state with its parent alone: PENDING when the parent turns
    PENDING, RUNNABLE when the array is released, FAILED when the array is cancelled,
    terminated or its dependency failed. The children's documents are built only while they
    are announced, from one copy of the parent, so a 10,000-child array holds no 10,000
    documents at once.
    """

    parent: Job
    stored: frozenset[int]

    @classmethod
    def of(cls, parent: Job, stored: frozenset[int]) -> ChildChanges:
        """The rowless children of ``parent`` as it is now."""
        copy = parent.snapshot()
        array = parent.runtime.array or ArrayState()
        copy.runtime = JobRuntime(array=ArrayState(array.released, array.released_at, array.cancel))
        return cls(copy, stored)

    def __iter__(self) -> Iterator[JsonObject]:
        """Each child's document, as DescribeJobs shows a child."""
        parent = self.parent
        base = {k: v for k, v in parent.to_document().items() if k not in NOT_INHERITED}
        implicit = implicit_state(parent)
        extra: JsonObject = {"status": str(implicit.status)}
        if implicit.reason is not None:
            extra["statusReason"] = implicit.reason
        if implicit.stopped_at is not None:
            extra["stoppedAt"] = implicit.stopped_at
        if implicit.cancelled:
            extra["isCancelled"] = True
        if implicit.terminated:
            extra["isTerminated"] = True
        for index in range(parent.array_size or 0):
            if index in self.stored:
                continue
            yield {
                **base,
                "jobId": child_id(parent.job_id, index),
                "jobArn": child_id(parent.job_arn, index),
                "arrayProperties": {"index": index},
                "dependsOn": [d.to_document() for d in dependencies_of(parent, index)],
                "attempts": [],
                "tags": {},
                **extra,
            }
