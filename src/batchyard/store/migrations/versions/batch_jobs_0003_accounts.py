"""Every job belongs to the account and region of its queue.

Existing jobs take both from their queue's ARN (one update per queue, not per job: a store
can hold a million jobs).

Revision ID: batch_jobs_0003
Revises: batch_jobs_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from batchyard.store.migrations.versions.batch_resources_0002_accounts import (
    account_and_region,
)

revision = "batch_jobs_0003"
down_revision = "batch_jobs_0002"
branch_labels = None
depends_on = None

_jobs = sa.table(
    "batch_jobs",
    sa.column("queue_arn", sa.String),
    sa.column("account_id", sa.String),
    sa.column("region", sa.String),
)


def upgrade() -> None:
    op.add_column(
        "batch_jobs", sa.Column("account_id", sa.String(12), nullable=False, server_default="")
    )
    op.add_column(
        "batch_jobs", sa.Column("region", sa.String(32), nullable=False, server_default="")
    )
    connection = op.get_bind()
    queues = connection.execute(sa.select(_jobs.c.queue_arn).distinct()).scalars().all()
    for queue in queues:
        account, region = account_and_region(queue)
        update = _jobs.update().where(_jobs.c.queue_arn == queue)
        connection.execute(update.values(account_id=account, region=region))


def downgrade() -> None:
    with op.batch_alter_table("batch_jobs") as batch:
        batch.drop_column("region")
        batch.drop_column("account_id")
