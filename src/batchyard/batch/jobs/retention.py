"""Finished jobs are kept for a while, then purged, as AWS Batch keeps them for 7 days.

A job is purged whole, once it has been SUCCEEDED or FAILED for longer than the retention:
its row, the rows of its array children or nodes, its tags and its consumable-resource
demands. Its log streams stay (CloudWatch Logs keeps them by its own retention). Children and
nodes are never purged on their own: their parent still answers for them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.jobs.model import CHILD_SEPARATOR, NODE_SEPARATOR, Job, child_id, node_id
from batchyard.batch.resources.store import ResourceTags
from batchyard.store import Store
from batchyard.store.tables.batch_jobs import jobs
from batchyard.store.tables.batch_scheduling import consumable_demands
from batchyard.sweeper import Sweeper

# Jobs purged per write, so a large backlog never holds the writer for long.
BATCH = 200
# Ids per IN list when deleting an array's children.
CHUNK = 500
# A sweep at least this often, however long the retention.
MAX_SWEEP_INTERVAL_SECONDS = 600.0

_EXPIRED = (
    sa.select(jobs.c.seq, jobs.c.account_id, jobs.c.region, jobs.c.document, jobs.c.runtime)
    .where(
        jobs.c.stopped_at < sa.bindparam("cutoff"),
        jobs.c.job_id.not_like(f"%{CHILD_SEPARATOR}%"),
        jobs.c.job_id.not_like(f"%{NODE_SEPARATOR}%"),
    )
    .limit(BATCH)
)


def purge_expired(tags: ResourceTags, cutoff_ms: int, conn: Connection) -> int:
    """Purge up to BATCH jobs that ended before ``cutoff_ms``; how many were purged."""
    rows = conn.execute(_EXPIRED, {"cutoff": cutoff_ms}).all()
    for seq, account_id, region, document, runtime in rows:
        _purge(conn, tags, Job.from_document(document, runtime, seq, account_id, region))
    return len(rows)


def _purge(conn: Connection, tags: ResourceTags, job: Job) -> None:
    ids = [job.job_id, *_member_ids(job)]
    arn_prefix = job.job_arn.rsplit("/", 1)[0]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        conn.execute(sa.delete(jobs).where(jobs.c.job_id.in_(chunk)))
        conn.execute(sa.delete(consumable_demands).where(consumable_demands.c.job_id.in_(chunk)))
        tags.drop_many(conn, [f"{arn_prefix}/{member}" for member in chunk])


def _member_ids(job: Job) -> Iterator[str]:
    """The ids an array's children or a multi-node job's nodes can have."""
    for index in range(job.array_size or 0):
        yield child_id(job.job_id, index)
    for index in range((job.node_properties or {}).get("numNodes", 0)):
        yield node_id(job.job_id, index)


class JobRetention:
    """Purges finished jobs older than the retention, now and then, while the server runs."""

    def __init__(
        self, store: Store, tags: ResourceTags, retention_seconds: float, time_scale: float
    ) -> None:
        if retention_seconds <= 0:
            raise ValueError("job_retention_days must be greater than 0")
        self._store = store
        self._tags = tags
        # The retention is an AWS-imposed wait like any other: the time scale divides it.
        self._retention_ms = retention_seconds * 1000 / time_scale
        interval = min(self._retention_ms / 1000 / 10, MAX_SWEEP_INTERVAL_SECONDS)
        self.sweeper = Sweeper("purging finished jobs", self.sweep, interval)

    async def sweep(self) -> int:
        """Purge every job that has been finished for longer than the retention."""
        cutoff = int(time.time() * 1000 - self._retention_ms)
        purged = 0
        while True:
            count = await self._store.write(partial(purge_expired, self._tags, cutoff))
            purged += count
            if count < BATCH:
                return purged
