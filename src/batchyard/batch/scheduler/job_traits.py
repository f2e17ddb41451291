"""What the fair-share ordering and the consumable gate need to know of a waiting job.

Queue entries (``QueuedJob``) carry only what placement needs. A job's share identifier,
scheduling priority and consumable-resource demand are taken from its PENDING / RUNNABLE
snapshots on the bus, which the scheduler publishes before it queues the job, and from the
store at start-up. Only jobs that have any of them take memory here, plus the ids of waiting
array parents (their children, not they, are what gets placed).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.jobs.model import PENDING, RUNNABLE, TERMINAL
from batchyard.store.tables.batch_jobs import jobs
from batchyard.store.tables.batch_scheduling import consumable_demands

Needs = tuple[tuple[str, int], ...]
WAITING = (PENDING, RUNNABLE)


def is_array_parent(document: dict[str, Any]) -> bool:
    """Whether ``document`` is an array parent (its children are placed, not it)."""
    properties = document.get("arrayProperties") or {}
    return properties.get("size") is not None and "index" not in properties


def needs_of(document: dict[str, Any]) -> Needs:
    """(resource name, quantity) pairs a job document asks for (names, not ARNs)."""
    listed = (document.get("consumableResourceProperties") or {}).get("consumableResourceList")
    return tuple(
        (str(item["consumableResource"]).rsplit("/", 1)[-1], int(item["quantity"]))
        for item in listed or []
    )


class JobTraits:
    """Share identifier, scheduling priority and consumable needs of waiting jobs."""

    def __init__(self) -> None:
        self._sharing: dict[str, tuple[str, int]] = {}
        self._needs: dict[str, Needs] = {}
        self._arrays: set[str] = set()

    def on_job(self, _topic: str, document: dict[str, Any]) -> None:
        """Bus subscriber on ``batch.job``."""
        job_id = document["jobId"]
        status = document.get("status")
        if status in WAITING:
            share = document.get("shareIdentifier")
            if share:
                self._sharing[job_id] = (share, int(document.get("schedulingPriority") or 0))
            needs = needs_of(document)
            if needs:
                self._needs[job_id] = needs
            if is_array_parent(document):
                self._arrays.add(job_id)
        elif status in TERMINAL:
            self._sharing.pop(job_id, None)
            self._needs.pop(job_id, None)
            self._arrays.discard(job_id)

    def sharing(self, job_id: str) -> tuple[str | None, int]:
        """(share identifier, scheduling priority); None share for a FIFO job."""
        return self._sharing.get(job_id) or (None, 0)

    def needs(self, job_id: str) -> Needs:
        """The consumable resources one attempt of ``job_id`` takes."""
        return self._needs.get(job_id, ())

    def is_array(self, job_id: str) -> bool:
        """Whether ``job_id`` is a queued array entry whose children are what gets placed."""
        return job_id in self._arrays

    def load(self, conn: Connection) -> None:
        """Learn the waiting jobs of a previous run (start-up, before the scheduler starts)."""
        priority = jobs.c.document["schedulingPriority"].as_integer()
        array = jobs.c.document["arrayProperties"]
        rows = conn.execute(
            sa.select(jobs.c.job_id, jobs.c.share_identifier, priority, array).where(
                jobs.c.status.in_(WAITING), jobs.c.share_identifier.is_not(None)
            )
        )
        for job_id, share, job_priority, properties in rows:
            self._sharing[job_id] = (share, int(job_priority or 0))
            if is_array_parent({"arrayProperties": properties}):
                self._arrays.add(job_id)
        demands = conn.execute(
            sa.select(
                consumable_demands.c.job_id,
                consumable_demands.c.resource_name,
                consumable_demands.c.quantity,
                array,
            )
            .join(jobs, jobs.c.job_id == consumable_demands.c.job_id)
            .where(jobs.c.status.in_(WAITING))
        )
        for job_id, name, quantity, properties in demands:
            self._needs[job_id] = (*self._needs.get(job_id, ()), (name, int(quantity)))
            if is_array_parent({"arrayProperties": properties}):
                self._arrays.add(job_id)
