"""Reserved concurrency of a function; layers, their versions, policies and content.

Configurations stored before kept ``Layers`` as the ARNs they were given, which named no
stored layer and changed nothing about how the code ran; they are dropped, since a layer now
has to exist to be listed.

Revision ID: functions_0005
Revises: functions_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "functions_0005"
down_revision = "functions_0004"
branch_labels = None
depends_on = None


def _scope() -> list[sa.Column[str]]:
    return [
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
    ]


def _drop_unresolved_layers() -> None:
    bind = op.get_bind()
    for name in ("lambda_functions", "lambda_versions"):
        table = sa.table(name, sa.column("account_id", sa.String), sa.column("region", sa.String),
                         sa.column("name", sa.String), sa.column("config", sa.JSON),
                         *([sa.column("version", sa.Integer)] if name == "lambda_versions" else []))
        for row in bind.execute(sa.select(table)).mappings().all():
            config = dict(row["config"])
            if config.pop("Layers", None) is None:
                continue
            keys = [c for c in ("account_id", "region", "name", "version") if c in row]
            bind.execute(sa.update(table).where(*(table.c[k] == row[k] for k in keys))
                         .values(config=config))


def upgrade() -> None:
    _drop_unresolved_layers()
    op.add_column(
        "lambda_functions", sa.Column("reserved_concurrency", sa.Integer, nullable=True)
    )
    op.create_table(
        "lambda_layers",
        *_scope(),
        sa.Column("name", sa.String(140), primary_key=True),
        sa.Column("last_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "lambda_layer_versions",
        *_scope(),
        sa.Column("name", sa.String(140), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("policy", sa.JSON, nullable=True),
        sa.Column("policy_revision", sa.String(64), nullable=True),
    )
    op.create_table(
        "lambda_layer_content",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("zip", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lambda_layer_content")
    op.drop_table("lambda_layer_versions")
    op.drop_table("lambda_layers")
    with op.batch_alter_table("lambda_functions") as batch:
        batch.drop_column("reserved_concurrency")
