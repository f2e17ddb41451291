"""Batch scheduling: consumable resources and job demands on them.

Revision ID: batch_scheduling_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "batch_scheduling_0001"
down_revision = None
branch_labels = ("batch_scheduling",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_consumable_resources",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("arn", sa.String(512), nullable=False, unique=True),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "batch_consumable_demands",
        sa.Column("resource_name", sa.String(128), primary_key=True),
        sa.Column("job_seq", sa.BigInteger, primary_key=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_batch_consumable_demands_job", "batch_consumable_demands", ["job_id"])


def downgrade() -> None:
    op.drop_table("batch_consumable_demands")
    op.drop_table("batch_consumable_resources")
