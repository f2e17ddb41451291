"""Every consumable resource belongs to an account and a region; its name is unique there.

Revision ID: batch_scheduling_0002
Revises: batch_scheduling_0001
"""

from __future__ import annotations

import sqlalchemy as sa

from batchyard.store.migrations.versions.batch_resources_0002_accounts import rebuild

revision = "batch_scheduling_0002"
down_revision = "batch_scheduling_0001"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("arn", sa.String(512), nullable=False, unique=True),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    ]


def upgrade() -> None:
    rebuild("batch_consumable_resources", _columns, ("account_id", "region", "name"))


def downgrade() -> None:
    raise NotImplementedError("resources of several accounts or regions cannot be merged back")
