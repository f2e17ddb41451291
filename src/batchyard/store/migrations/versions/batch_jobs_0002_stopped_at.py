"""When each finished job stopped, so that finished jobs can be purged after the retention.

Revision ID: batch_jobs_0002
Revises: batch_jobs_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "batch_jobs_0002"
down_revision = "batch_jobs_0001"
branch_labels = None
depends_on = None
PAGE = 1000

_jobs = sa.table(
    "batch_jobs",
    sa.column("job_id", sa.String),
    sa.column("status", sa.String),
    sa.column("document", sa.JSON),
    sa.column("stopped_at", sa.BigInteger),
)


def upgrade() -> None:
    op.add_column("batch_jobs", sa.Column("stopped_at", sa.BigInteger, nullable=True))
    op.create_index("ix_batch_jobs_stopped_at", "batch_jobs", ["stopped_at"])
    # Jobs that finished before this revision get their time from their documents, a page of
    # rows at a time (a store can hold a million jobs).
    connection = op.get_bind()
    page = (
        sa.select(_jobs.c.job_id, _jobs.c.status, _jobs.c.document)
        .where(_jobs.c.job_id > sa.bindparam("after"))
        .order_by(_jobs.c.job_id)
        .limit(PAGE)
    )
    set_stopped = (
        _jobs.update()
        .where(_jobs.c.job_id == sa.bindparam("wanted"))
        .values(stopped_at=sa.bindparam("stopped"))
    )
    after = ""
    while rows := connection.execute(page, {"after": after}).all():
        after = rows[-1].job_id
        stopped = [
            {"wanted": row.job_id, "stopped": row.document["stoppedAt"]}
            for row in rows
            if row.status in ("SUCCEEDED", "FAILED") and row.document.get("stoppedAt") is not None
        ]
        if stopped:
            connection.execute(set_stopped, stopped)


def downgrade() -> None:
    op.drop_index("ix_batch_jobs_stopped_at", "batch_jobs")
    with op.batch_alter_table("batch_jobs") as batch:
        batch.drop_column("stopped_at")
