"""Logs Insights queries (StartQuery, GetQueryResults, StopQuery, DescribeQueries).

Revision ID: logs_0003
Revises: logs_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "logs_0003"
down_revision = "logs_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_queries",
        sa.Column("query_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("query_string", sa.Text, nullable=False),
        sa.Column("log_groups", sa.JSON, nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("row_limit", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("results", sa.JSON, nullable=True),
        sa.Column("statistics", sa.JSON, nullable=True),
    )
    op.create_index(
        "ix_log_queries_owner", "log_queries", ["account_id", "region", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("log_queries")
