"""One scheduling pass: offer free capacity to the heads of the queues, best queue first.

Queues are visited by priority (larger first). Within a queue only the head is considered:
it goes to the first environment in ``computeEnvironmentOrder`` with room for it, and the
next job becomes the head. A head that fits nowhere right now stops that queue for this
pass, so the work of a pass grows with the number of queues and placements, never with the
number of waiting jobs. A head that could not fit even an empty environment, or whose
environments are all INVALID, is reported as blocked with AWS's reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from batchyard.batch.jobs.records import QueuedJob
from batchyard.batch.queue_health.reasons import (
    ENVIRONMENTS_INVALID,
    all_invalid,
    never_placeable,
)
from batchyard.batch.scheduler.capacity import CapacityLedger
from batchyard.batch.scheduler.ordering import QueueOrdering
from batchyard.batch.scheduler.topology import EnvironmentView, QueueView, Topology


@dataclass(frozen=True)
class Placement:
    """A job placed on an environment during a pass."""

    job: QueuedJob
    queue: QueueView
    environment: EnvironmentView


@dataclass(frozen=True)
class Blocked:
    """A queue head that cannot be placed on any of its queue's environments."""

    job: QueuedJob
    queue: QueueView
    reason: str


@dataclass
class PassResult:
    """What a pass decided."""

    placements: list[Placement] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)


def plan(
    topology: Topology, orderings: Mapping[str, QueueOrdering], ledger: CapacityLedger
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
