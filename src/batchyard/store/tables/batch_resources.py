"""Batch resource tables: compute environments, job queues, job definitions, scheduling
policies, and the tag store shared by every taggable Batch resource.

Each resource keeps its API-shaped document (what Describe returns, without tags) in a JSON
column; ``seq`` orders listings and pagination by creation. Every resource belongs to one
account and region: its name is unique there, and its ARN says where. Tags live apart, keyed
by ARN, so jobs and consumable resources can use the same store.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, UniqueConstraint

from batchyard.store.tables import metadata


def _named(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("account_id", String(12), nullable=False),
        Column("region", String(32), nullable=False),
        Column("name", String(128), nullable=False),
        Column("arn", String(512), nullable=False, unique=True),
        Column("document", JSON, nullable=False),
        UniqueConstraint("account_id", "region", "name", name=f"uq_{name}_name"),
    )


compute_environments = _named("batch_compute_environments")

job_queues = _named("batch_job_queues")

job_definitions = Table(
    "batch_job_definitions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("arn", String(512), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("document", JSON, nullable=False),
    UniqueConstraint(
        "account_id", "region", "name", "revision", name="uq_batch_job_definitions_name"
    ),
    Index("ix_batch_job_definitions_status", "status"),
)

scheduling_policies = _named("batch_scheduling_policies")

tags = Table(
    "batch_tags",
    metadata,
    Column("resource_arn", String(1024), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)
