"""Step Functions tables: state machines, versions, aliases, executions, history, activities.

Revision ID: states_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "states_0001"
down_revision = None
branch_labels = ("states",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sfn_state_machines",
        sa.Column("arn", sa.String(256), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("role_arn", sa.String(256), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("revision_id", sa.String(64), nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "sfn_versions",
        sa.Column("arn", sa.String(256), primary_key=True),
        sa.Column("machine_arn", sa.String(256), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("role_arn", sa.String(256), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("revision_id", sa.String(64), nullable=False),
        sa.Column("description", sa.String(256)),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "sfn_aliases",
        sa.Column("arn", sa.String(256), primary_key=True),
        sa.Column("machine_arn", sa.String(256), nullable=False, index=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("description", sa.String(256)),
        sa.Column("routing", sa.JSON, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "sfn_executions",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("machine_arn", sa.String(256), nullable=False, index=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("stopped", sa.Float),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("output", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("cause", sa.Text),
        sa.Column("source", sa.JSON, nullable=False),
        sa.Column("checkpoint", sa.JSON),
        sa.Column("last_event_id", sa.Integer, nullable=False),
        sa.Column("redrive_count", sa.Integer, nullable=False),
        sa.Column("redrive_date", sa.Float),
    )
    op.create_table(
        "sfn_history",
        sa.Column("execution_arn", sa.String(512), primary_key=True),
        sa.Column("event_id", sa.Integer, primary_key=True),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("previous_event_id", sa.Integer, nullable=False),
        sa.Column("details", sa.JSON),
    )
    op.create_table(
        "sfn_activities",
        sa.Column("arn", sa.String(256), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("encryption", sa.JSON),
    )
    op.create_table(
        "sfn_tags",
        sa.Column("resource_arn", sa.String(256), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "sfn_map_runs",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("execution_arn", sa.String(512), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("stopped", sa.Float),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "sfn_map_runs", "sfn_tags", "sfn_activities", "sfn_history", "sfn_executions",
        "sfn_aliases", "sfn_versions", "sfn_state_machines",
    ):
        op.drop_table(name)
