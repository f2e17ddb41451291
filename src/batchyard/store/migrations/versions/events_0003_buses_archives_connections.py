"""Custom event buses, archives with their events, replays, connections and API
destinations.

Revision ID: events_0003
Revises: events_0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "events_0003"
down_revision = "events_0002"
branch_labels = None
depends_on = None


def _owned(name: str, *columns: sa.Column[Any], unique: str, name_length: int) -> None:
    op.create_table(
        name,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(name_length), nullable=False),
        sa.Column("arn", sa.String(1600), nullable=False, unique=True),
        *columns,
        sa.UniqueConstraint("account_id", "region", "name", name=unique),
    )


def upgrade() -> None:
    _owned(
        "events_buses",
        sa.Column("document", sa.JSON, nullable=False),
        unique="uq_events_buses_name", name_length=256,
    )
    _owned(
        "events_archives",
        sa.Column("source_arn", sa.String(1600), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        unique="uq_events_archives_name", name_length=48,
    )
    op.create_table(
        "events_archived_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "archive_seq", sa.Integer,
            sa.ForeignKey("events_archives.seq", ondelete="CASCADE"), nullable=False,
        ),
        sa.Column("event_time", sa.Float, nullable=False),
        sa.Column("archived_at", sa.Float, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("event", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_events_archived_events_time", "events_archived_events",
        ["archive_seq", "event_time", "seq"],
    )
    op.create_index(
        "ix_events_archived_events_age", "events_archived_events", ["archive_seq", "archived_at"]
    )
    _owned(
        "events_replays",
        sa.Column("archive_arn", sa.String(1600), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("cursor_time", sa.Float, nullable=True),
        sa.Column("cursor_seq", sa.Integer, nullable=True),
        unique="uq_events_replays_name", name_length=64,
    )
    _owned(
        "events_connections",
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("secret", sa.JSON, nullable=True),
        unique="uq_events_connections_name", name_length=64,
    )
    _owned(
        "events_api_destinations",
        sa.Column("connection_arn", sa.String(1600), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        unique="uq_events_api_destinations_name", name_length=64,
    )


def downgrade() -> None:
    for name in (
        "events_api_destinations", "events_connections", "events_replays",
        "events_archived_events", "events_archives", "events_buses",
    ):
        op.drop_table(name)
