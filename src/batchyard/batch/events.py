"""What Batch announces on the internal bus, once each change is committed.

``batch.job`` (:data:`JOB_TOPIC`)
    The job as DescribeJobs shows it (a dict with ``jobId``, ``jobArn``, ``status`` ...) after
    each status change, in lifecycle order: ``SUBMITTED -> PENDING -> RUNNABLE`` in one write
    still announces PENDING and then RUNNABLE. The submission itself is not announced (AWS
    sends no state-change event for it). Array children and multi-node nodes are announced
    like any job; a child without a row of its own is announced with its parent's change.

``batch.queue-blocked`` (:data:`QUEUE_BLOCKED_TOPIC`)
    A RUNNABLE job found blocking the head of its queue, once, as DescribeJobs shows it; its
    ``statusReason`` says why (AWS's reason code before `` - ``).

``batch.resources`` (:data:`RESOURCES_TOPIC`)
    Every accepted change to a compute environment, job queue, job definition or scheduling
    policy::

        {"resource": "compute-environment" | "job-queue" | "job-definition"
                     | "scheduling-policy",
         "action": "created" | "updated" | "status" | "deleted" | "registered"
                   | "deregistered",
         "name": ..., "arn": ..., "state": ..., "status": ..., "revision": ...}

    ``state``, ``status`` and ``revision`` are there where the resource has them (status
    becomes ``DELETED`` on deletion).

Every payload is a fresh dict; subscribers must not change it.
"""

from __future__ import annotations

from typing import Any

from batchyard.bus import Bus

JOB_TOPIC = "batch.job"
QUEUE_BLOCKED_TOPIC = "batch.queue-blocked"
RESOURCES_TOPIC = "batch.resources"


def resource_changed(
    bus: Bus,
    resource: str,
    action: str,
    name: str,
    arn: str,
    *,
    state: str | None = None,
    status: str | None = None,
    revision: int | None = None,
) -> None:
    """Announce that ``resource`` ``name`` went through ``action``."""
    event: dict[str, Any] = {"resource": resource, "action": action, "name": name, "arn": arn}
    for key, value in (("state", state), ("status", status), ("revision", revision)):
        if value is not None:
            event[key] = value
    bus.publish(RESOURCES_TOPIC, event)
