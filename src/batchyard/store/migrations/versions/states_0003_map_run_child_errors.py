"""How a Map Run's child execution failed, for DescribeExecution on the child.

Revision ID: states_0003
Revises: states_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "states_0003"
down_revision = "states_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sfn_map_run_children", sa.Column("error", sa.Text, nullable=True))
    op.add_column("sfn_map_run_children", sa.Column("cause", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sfn_map_run_children") as batch:
        batch.drop_column("cause")
        batch.drop_column("error")
