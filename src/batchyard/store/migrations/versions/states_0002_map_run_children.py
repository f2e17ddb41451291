"""The child executions of Map Runs (ListExecutions with mapRunArn, DescribeMapRun counts).

Revision ID: states_0002
Revises: states_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "states_0002"
down_revision = "states_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sfn_map_run_children",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("map_run_arn", sa.String(512), nullable=False, index=True),
        sa.Column("item_index", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("stopped", sa.Float),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("output", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("sfn_map_run_children")
