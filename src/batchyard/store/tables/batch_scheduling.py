"""Batch scheduling tables: consumable resources and what each job asks of them.

``batch_consumable_resources`` keeps each resource's configured ``total`` (lowered for good
when a NON_REPLENISHABLE unit is consumed); what jobs hold right now lives in the scheduler's
memory, since no job is on the host after a restart. A resource's name is unique in its
account and region. ``batch_consumable_demands`` is one row per (job, resource name, in the
job's account and region) so ListJobsByConsumableResource and start-up need no job documents.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from batchyard.store.tables import metadata

consumable_resources = Table(
    "batch_consumable_resources",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("arn", String(512), nullable=False, unique=True),
    Column("resource_type", String(32), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "region", "name", name="uq_batch_consumable_resources_name"),
)

consumable_demands = Table(
    "batch_consumable_demands",
    metadata,
    Column("resource_name", String(128), primary_key=True),
    Column("job_seq", BigInteger, primary_key=True),
    Column("job_id", String(64), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Index("ix_batch_consumable_demands_job", "job_id"),
)
