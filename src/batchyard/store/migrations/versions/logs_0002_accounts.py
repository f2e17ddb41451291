"""Log groups belong to an account and a region: a group gets an id, its name is unique per
account and region, and streams point at the group's id.

Revision ID: logs_0002
Revises: logs_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "logs_0002"
down_revision = "logs_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    attributes = context.config.attributes
    op.rename_table("log_groups", "log_groups_0001")
    groups = op.create_table(
        "log_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_log_groups_name", "log_groups", ["account_id", "region", "name"], unique=True
    )
    old = sa.table(
        "log_groups_0001",
        sa.column("name"), sa.column("created_at"), sa.column("retention_days"), sa.column("tags"),
    )
    op.get_bind().execute(
        groups.insert().from_select(
            ["account_id", "region", "name", "created_at", "retention_days", "tags"],
            sa.select(
                sa.literal(attributes["account_id"]), sa.literal(attributes["region"]),
                old.c.name, old.c.created_at, old.c.retention_days, old.c.tags,
            ),
        )
    )
    op.add_column("log_streams", sa.Column("group_id", sa.Integer, nullable=True))
    streams = sa.table("log_streams", sa.column("group_id"), sa.column("group_name"))
    op.get_bind().execute(
        streams.update().values(
            group_id=sa.select(groups.c.id)
            .where(groups.c.name == streams.c.group_name)
            .scalar_subquery()
        )
    )
    op.drop_index("ix_log_streams_group_name", "log_streams")
    with op.batch_alter_table("log_streams") as batch:
        batch.drop_column("group_name")
        batch.alter_column("group_id", existing_type=sa.Integer, nullable=False)
        batch.create_foreign_key(
            "fk_log_streams_group_id", "log_groups", ["group_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index("ix_log_streams_group_id", "log_streams", ["group_id", "name"], unique=True)
    op.drop_table("log_groups_0001")


def downgrade() -> None:
    raise NotImplementedError("log groups cannot go back to one account and region")
