"""Batch resource tables: compute environments, job queues, job definitions, scheduling
policies and tags.

Revision ID: batch_resources_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "batch_resources_0001"
down_revision = None
branch_labels = ("batch_resources",)
depends_on = None


def _named_resource(table: str) -> None:
    op.create_table(
        table,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("arn", sa.String(512), nullable=False, unique=True),
        sa.Column("document", sa.JSON, nullable=False),
    )


def upgrade() -> None:
    _named_resource("batch_compute_environments")
    _named_resource("batch_job_queues")
    _named_resource("batch_scheduling_policies")
    op.create_table(
        "batch_job_definitions",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("arn", sa.String(512), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.UniqueConstraint("name", "revision", name="uq_batch_job_definitions_name_revision"),
    )
    op.create_index("ix_batch_job_definitions_status", "batch_job_definitions", ["status"])
    op.create_table(
        "batch_tags",
        sa.Column("resource_arn", sa.String(1024), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("batch_tags")
    op.drop_index("ix_batch_job_definitions_status", "batch_job_definitions")
    op.drop_table("batch_job_definitions")
    op.drop_table("batch_scheduling_policies")
    op.drop_table("batch_job_queues")
    op.drop_table("batch_compute_environments")
