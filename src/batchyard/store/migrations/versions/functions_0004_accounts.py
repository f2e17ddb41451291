"""Functions belong to an account and a region: a name is unique there, and the versions,
aliases, code and pending invocations of a function carry both.

The keyed tables are rebuilt (their primary key gains ``account_id`` and ``region``, which
SQLite cannot alter in place) and their rows copied in one statement each, zips included,
without passing through Python. Rows stored before take the account and region of their
function's ARN (``arn:aws:lambda:<region>:<account>:function:<name>``), which has always
carried them; a row whose function's ARN does not say gets the server's configured defaults.

Revision ID: functions_0004
Revises: functions_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "functions_0004"
down_revision = "functions_0003"
branch_labels = None
depends_on = None


def _scope(key: bool) -> list[sa.Column[str]]:
    return [
        sa.Column("account_id", sa.String(12), primary_key=key, nullable=False),
        sa.Column("region", sa.String(32), primary_key=key, nullable=False),
    ]


def _tables() -> tuple[tuple[str, list[sa.Column[object]], str], ...]:
    """Each table, its columns after the account and region (new objects: a column belongs
    to one table), and the column naming its function."""
    return (
        ("lambda_functions", [
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("arn", sa.String(256), nullable=False),
            sa.Column("config", sa.JSON, nullable=False),
            sa.Column("code", sa.JSON, nullable=False),
            sa.Column("tags", sa.JSON, nullable=False),
            sa.Column("revision_id", sa.String(64), nullable=False),
            sa.Column("last_modified", sa.String(32), nullable=False),
            sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
        ], "name"),
        ("lambda_versions", [
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("config", sa.JSON, nullable=False),
            sa.Column("code", sa.JSON, nullable=False),
            sa.Column("zip", sa.LargeBinary, nullable=False),
            sa.Column("revision_id", sa.String(64), nullable=False),
            sa.Column("last_modified", sa.String(32), nullable=False),
        ], "name"),
        ("lambda_aliases", [
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("alias", sa.String(128), primary_key=True),
            sa.Column("document", sa.JSON, nullable=False),
            sa.Column("revision_id", sa.String(64), nullable=False),
        ], "name"),
        ("lambda_code", [
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("digest", sa.String(64), nullable=False),
            sa.Column("zip", sa.LargeBinary, nullable=False),
        ], "name"),
        ("lambda_pending_events", [
            sa.Column("request_id", sa.String(64), primary_key=True),
            sa.Column("function_name", sa.String(64), nullable=False),
            sa.Column("qualifier", sa.String(128), nullable=True),
            sa.Column("payload", sa.LargeBinary, nullable=False),
            sa.Column("accepted", sa.Float, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        ], "function_name"),
    )


def _owner(arn: str, defaults: tuple[str, str]) -> tuple[str, str]:
    parts = arn.split(":")
    if len(parts) > 5 and parts[3] and parts[4]:
        return parts[4], parts[3]
    return defaults


def upgrade() -> None:
    attributes = context.config.attributes
    defaults = (attributes.get("account_id", "123456789012"), attributes.get("region", "us-east-1"))
    bind = op.get_bind()
    functions = sa.table("lambda_functions", sa.column("name", sa.String),
                         sa.column("arn", sa.String))
    owners = {
        name: _owner(arn, defaults)
        for name, arn in bind.execute(sa.select(functions.c.name, functions.c.arn)).all()
    }
    op.drop_index("ix_lambda_pending_events_function_name", "lambda_pending_events")
    tables = _tables()
    for name, columns, _ in tables:
        keyed = name != "lambda_pending_events"
        rebuilt = op.create_table(f"{name}_0004", *_scope(keyed), *columns)
        assert rebuilt is not None
        names = [column.name for column in columns]
        old = sa.table(name, *(sa.column(column) for column in names))
        bind.execute(rebuilt.insert().from_select(
            ["account_id", "region", *names],
            sa.select(sa.literal(defaults[0]), sa.literal(defaults[1]),
                      *(old.c[column] for column in names)),
        ))
        op.drop_table(name)
        op.rename_table(f"{name}_0004", name)
    for name, _, key in tables:
        table = sa.table(name, sa.column(key, sa.String), sa.column("account_id", sa.String),
                         sa.column("region", sa.String))
        for function, (account, region) in owners.items():
            if (account, region) != defaults:
                bind.execute(sa.update(table).where(table.c[key] == function)
                             .values(account_id=account, region=region))
    op.create_index("ix_lambda_pending_events_function", "lambda_pending_events",
                    ["account_id", "region", "function_name"])


def downgrade() -> None:
    raise NotImplementedError("functions of several accounts or regions cannot be merged back")
