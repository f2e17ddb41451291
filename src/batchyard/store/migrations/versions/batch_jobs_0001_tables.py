"""Batch jobs.

Revision ID: batch_jobs_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "batch_jobs_0001"
down_revision = None
branch_labels = ("batch_jobs",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_jobs",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("queue_arn", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("definition_name", sa.String(128), nullable=False),
        sa.Column("definition_arn", sa.String(512), nullable=False),
        sa.Column("share_identifier", sa.String(255), nullable=True),
        sa.Column("vcpus", sa.Float, nullable=False),
        sa.Column("memory", sa.Integer, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("runtime", sa.JSON, nullable=True),
    )
    op.create_index("ix_batch_jobs_queue_status_seq", "batch_jobs", ["queue_arn", "status", "seq"])
    op.create_index("ix_batch_jobs_queue_seq", "batch_jobs", ["queue_arn", "seq"])
    op.create_index("ix_batch_jobs_status", "batch_jobs", ["status"])


def downgrade() -> None:
    op.drop_table("batch_jobs")
