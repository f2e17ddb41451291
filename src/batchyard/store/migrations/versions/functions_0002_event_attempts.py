"""Count the attempts of pending Event invocations (Lambda retries failed ones).

Revision ID: functions_0002
Revises: functions_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "functions_0002"
down_revision = "functions_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "lambda_pending_events",
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("lambda_pending_events") as batch:
        batch.drop_column("attempts")
