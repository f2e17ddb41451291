"""Log groups, log streams and log events.

Revision ID: logs_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "logs_0001"
down_revision = None
branch_labels = ("logs",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_groups",
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
    )
    op.create_table(
        "log_streams",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "group_name",
            sa.String(512),
            sa.ForeignKey("log_groups.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("first_event_at", sa.BigInteger, nullable=True),
        sa.Column("last_event_at", sa.BigInteger, nullable=True),
        sa.Column("last_ingestion_at", sa.BigInteger, nullable=True),
        sa.Column("stored_bytes", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_log_streams_group_name", "log_streams", ["group_name", "name"], unique=True)
    op.create_table(
        "log_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "stream_id",
            sa.Integer,
            sa.ForeignKey("log_streams.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("ingested_at", sa.BigInteger, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_log_events_stream_id", "log_events", ["stream_id", "id"])


def downgrade() -> None:
    op.drop_table("log_events")
    op.drop_table("log_streams")
    op.drop_table("log_groups")
