"""Function tables: configurations, code zips, pending Event invocations.

Revision ID: functions_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "functions_0001"
down_revision = None
branch_labels = ("functions",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lambda_functions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("code", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("revision_id", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.String(32), nullable=False),
    )
    op.create_table(
        "lambda_code",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("zip", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "lambda_pending_events",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("function_name", sa.String(64), nullable=False, index=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("accepted", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in ("lambda_pending_events", "lambda_code", "lambda_functions"):
        op.drop_table(name)
