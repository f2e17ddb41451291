"""EventBridge tables: rules, targets and failed deliveries.

Revision ID: events_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "events_0001"
down_revision = None
branch_labels = ("events",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events_rules",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_bus_name", sa.String(256), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("arn", sa.String(1600), nullable=False, unique=True),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.UniqueConstraint("event_bus_name", "name", name="uq_events_rules_bus_name"),
    )
    op.create_table(
        "events_targets",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_bus_name", sa.String(256), nullable=False),
        sa.Column("rule_name", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.UniqueConstraint(
            "event_bus_name", "rule_name", "target_id", name="uq_events_targets_rule_target"
        ),
    )
    op.create_table(
        "events_delivery_failures",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("failed_at", sa.Float, nullable=False),
        sa.Column("rule_arn", sa.String(1600), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("target_arn", sa.String(1600), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("error_code", sa.String(128), nullable=False),
        sa.Column("error_message", sa.Text, nullable=False),
        sa.Column("input", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_events_delivery_failures_rule_arn", "events_delivery_failures", ["rule_arn"]
    )


def downgrade() -> None:
    op.drop_index("ix_events_delivery_failures_rule_arn", "events_delivery_failures")
    op.drop_table("events_delivery_failures")
    op.drop_table("events_targets")
    op.drop_table("events_rules")
