"""Every Batch resource belongs to an account and a region; its name is unique there.

Each table is rebuilt with ``account_id`` and ``region`` columns (a name's uniqueness moves
from the table to the account and region, which SQLite cannot alter in place), taking both
from the ARN every stored row already has.

Revision ID: batch_resources_0002
Revises: batch_resources_0001
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from batchyard.config import Settings

revision = "batch_resources_0002"
down_revision = "batch_resources_0001"
branch_labels = None
depends_on = None
PAGE = 1000


def account_and_region(arn: str) -> tuple[str, str]:
    """(account, region) of a stored ARN; the built-in defaults for a row without one."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[3] and parts[4]:
        return parts[4], parts[3]
    defaults = Settings()
    return defaults.account_id, defaults.region


def rebuild(
    name: str,
    columns: Callable[[], list[sa.Column[object]]],
    unique: tuple[str, ...],
    indexes: dict[str, list[str]] | None = None,
) -> None:
    """Recreate table ``name`` as ``seq, account_id, region`` + ``columns()``, unique on
    ``unique`` (``account_id``, ``region`` and the name), copying its rows a page at a time."""
    connection = op.get_bind()
    rebuilt = f"{name}_rebuilt"
    new = op.create_table(
        rebuilt,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        *columns(),
        sa.UniqueConstraint(*unique, name=f"uq_{name}_name"),
    )
    assert new is not None
    old = sa.table(
        name,
        *(
            sa.column(column.name, column.type)
            for column in new.columns
            if column.name not in ("account_id", "region")
        ),
    )
    page = sa.select(old).where(old.c.seq > sa.bindparam("after")).order_by(old.c.seq).limit(PAGE)
    after = 0
    while rows := connection.execute(page, {"after": after}).mappings().all():
        after = rows[-1]["seq"]
        values = []
        for row in rows:
            account, region = account_and_region(row["arn"])
            values.append({**row, "account_id": account, "region": region})
        connection.execute(sa.insert(new), values)
    op.drop_table(name)
    op.rename_table(rebuilt, name)
    for index, indexed in (indexes or {}).items():
        op.create_index(index, name, indexed)
    if connection.dialect.name == "postgresql" and after:
        # Rows kept their seq: the serial sequence continues after the largest.
        connection.execute(
            sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'seq'), :last)"),
            {"last": after},
        )


def _named() -> list[sa.Column[object]]:
    return [
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("arn", sa.String(512), nullable=False, unique=True),
        sa.Column("document", sa.JSON, nullable=False),
    ]


def _definitions() -> list[sa.Column[object]]:
    return [
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("arn", sa.String(512), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
    ]


def upgrade() -> None:
    for table in ("batch_compute_environments", "batch_job_queues", "batch_scheduling_policies"):
        rebuild(table, _named, ("account_id", "region", "name"))
    rebuild(
        "batch_job_definitions",
        _definitions,
        ("account_id", "region", "name", "revision"),
        {"ix_batch_job_definitions_status": ["status"]},
    )


def downgrade() -> None:
    raise NotImplementedError("resources of several accounts or regions cannot be merged back")
