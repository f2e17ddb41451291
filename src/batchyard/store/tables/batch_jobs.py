"""Batch jobs: one row per job, its DescribeJobs document in a JSON column.

The columns beside the document are what queries and the scheduler need without decoding
it: the queue and status with the FIFO position ``seq`` (listing and rebuilding the in-memory
queues at start-up), the name and definition (ListJobs filters), the resource demand (placing
a job without reading its document) and ``runtime``, the server-side facts of the current
attempt (where it was placed, how to find its processes after a crash). ``stopped_at`` is set
while the job is SUCCEEDED or FAILED: finished jobs are purged by it after the retention.
A job belongs to the account and region it was submitted in (those of its queue).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, String, Table

from batchyard.store.tables import metadata

jobs = Table(
    "batch_jobs",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("name", String(128), nullable=False),
    Column("queue_arn", String(512), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("definition_name", String(128), nullable=False),
    Column("definition_arn", String(512), nullable=False),
    Column("share_identifier", String(255), nullable=True),
    Column("vcpus", Float, nullable=False),
    Column("memory", Integer, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("nodes", Integer, nullable=False, server_default="1"),
    Column("document", JSON, nullable=False),
    Column("runtime", JSON, nullable=True),
    Column("stopped_at", BigInteger, nullable=True),
    Index("ix_batch_jobs_queue_status_seq", "queue_arn", "status", "seq"),
    Index("ix_batch_jobs_queue_seq", "queue_arn", "seq"),
    Index("ix_batch_jobs_status", "status"),
    Index("ix_batch_jobs_stopped_at", "stopped_at"),
)
