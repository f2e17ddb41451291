"""How many nodes each job runs on at once, so that a cluster's planner can tell a job that
needs one node of a size from a multi-node job whose demand is its nodes' sum.

Revision ID: batch_jobs_0004
Revises: batch_jobs_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "batch_jobs_0004"
down_revision = "batch_jobs_0003"
branch_labels = None
depends_on = None
PAGE = 1000

_jobs = sa.table(
    "batch_jobs",
    sa.column("job_id", sa.String),
    sa.column("status", sa.String),
    sa.column("document", sa.JSON),
    sa.column("nodes", sa.Integer),
)


def upgrade() -> None:
    op.add_column(
        "batch_jobs", sa.Column("nodes", sa.Integer, nullable=False, server_default="1")
    )
    # Only jobs still to be placed are planned; finished multi-node jobs may keep the default.
    # A page of rows at a time: a store can hold a million jobs.
    connection = op.get_bind()
    page = (
        sa.select(_jobs.c.job_id, _jobs.c.document)
        .where(_jobs.c.job_id > sa.bindparam("after"))
        .where(_jobs.c.status.notin_(["SUCCEEDED", "FAILED"]))
        .order_by(_jobs.c.job_id)
        .limit(PAGE)
    )
    set_nodes = (
        _jobs.update()
        .where(_jobs.c.job_id == sa.bindparam("wanted"))
        .values(nodes=sa.bindparam("count"))
    )
    after = ""
    while rows := connection.execute(page, {"after": after}).all():
        after = rows[-1].job_id
        counts = [
            {"wanted": row.job_id, "count": int(row.document["nodeProperties"]["numNodes"])}
            for row in rows
            if (row.document.get("nodeProperties") or {}).get("numNodes")
        ]
        if counts:
            connection.execute(set_nodes, counts)


def downgrade() -> None:
    with op.batch_alter_table("batch_jobs") as batch:
        batch.drop_column("nodes")
