"""State machines, activities and executions belong to an account and a region.

Rows stored before take theirs from their ARN (``arn:aws:states:<region>:<account>:...``),
which has always carried them; executions from their state machine's ARN, one update per
machine rather than per execution. An ARN that does not say gives the server's configured
defaults.

Revision ID: states_0004
Revises: states_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "states_0004"
down_revision = "states_0003"
branch_labels = None
depends_on = None

# Each table, and the column whose ARN tells its rows' account and region.
_TABLES = (
    ("sfn_state_machines", "arn"),
    ("sfn_activities", "arn"),
    ("sfn_executions", "machine_arn"),
)


def upgrade() -> None:
    attributes = context.config.attributes
    defaults = (attributes.get("account_id", "123456789012"), attributes.get("region", "us-east-1"))
    bind = op.get_bind()
    for name, key in _TABLES:
        op.add_column(name, sa.Column("account_id", sa.String(12), nullable=False,
                                      server_default=""))
        op.add_column(name, sa.Column("region", sa.String(32), nullable=False, server_default=""))
        table = sa.table(name, sa.column(key, sa.String), sa.column("account_id", sa.String),
                         sa.column("region", sa.String))
        column = table.c[key]
        for arn in bind.execute(sa.select(column).distinct()).scalars().all():
            account, region = _scope(arn, defaults)
            bind.execute(
                sa.update(table).where(column == arn).values(account_id=account, region=region)
            )
    op.create_index(
        "ix_sfn_state_machines_scope", "sfn_state_machines", ["account_id", "region", "created"]
    )
    op.create_index(
        "ix_sfn_activities_scope", "sfn_activities", ["account_id", "region", "created"]
    )


def _scope(arn: str, defaults: tuple[str, str]) -> tuple[str, str]:
    parts = arn.split(":")
    if len(parts) > 5 and parts[3] and parts[4]:
        return parts[4], parts[3]
    return defaults


def downgrade() -> None:
    op.drop_index("ix_sfn_activities_scope", "sfn_activities")
    op.drop_index("ix_sfn_state_machines_scope", "sfn_state_machines")
    for name, _ in reversed(_TABLES):
        with op.batch_alter_table(name) as batch:
            batch.drop_column("region")
            batch.drop_column("account_id")
