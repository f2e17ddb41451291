"""Batch resource tables: compute environments, job queues, job definitions, scheduling
policies, and the tag store shared by every taggable Batch resource.

Each resource keeps its API-shaped document (what Describe returns, without tags) in a JSON
column; ``seq`` orders listings and pagination by creation. Tags live apart, keyed by ARN, so
jobs and consumable resources can use the same store.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, UniqueConstraint

from batchyard.store.tables import metadata

compute_environments = Table(
    "batch_compute_environments",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("arn", String(512), nullable=False, unique=True),
    Column("document", JSON, nullable=False),
)

job_queues = Table(
    "batch_job_queues",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("arn", String(512), nullable=False, unique=True),
    Column("document", JSON, nullable=False),
)

job_definitions = Table(
    "batch_job_definitions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("arn", String(512), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("document", JSON, nullable=False),
    UniqueConstraint("name", "revision", name="uq_batch_job_definitions_name_revision"),
    Index("ix_batch_job_definitions_status", "status"),
)

scheduling_policies = Table(
    "batch_scheduling_policies",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("arn", String(512), nullable=False, unique=True),
    Column("document", JSON, nullable=False),
)

tags = Table(
    "batch_tags",
    metadata,
    Column("resource_arn", String(1024), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)
