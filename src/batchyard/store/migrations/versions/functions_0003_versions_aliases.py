"""Function versions and aliases, and the qualifier an Event invocation was sent to.

Revision ID: functions_0003
Revises: functions_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "functions_0003"
down_revision = "functions_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "lambda_functions",
        sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column("lambda_pending_events", sa.Column("qualifier", sa.String(128), nullable=True))
    op.create_table(
        "lambda_versions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("code", sa.JSON, nullable=False),
        sa.Column("zip", sa.LargeBinary, nullable=False),
        sa.Column("revision_id", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.String(32), nullable=False),
    )
    op.create_table(
        "lambda_aliases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("alias", sa.String(128), primary_key=True),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("revision_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lambda_aliases")
    op.drop_table("lambda_versions")
    with op.batch_alter_table("lambda_pending_events") as batch:
        batch.drop_column("qualifier")
    with op.batch_alter_table("lambda_functions") as batch:
        batch.drop_column("last_version")
