"""Tables of the Lambda-compatible functions (alembic branch ``functions``).

The configuration is one JSON document in Lambda's own member names; the zip is kept apart so
listings never read it. A function belongs to one account and region: its name is unique
there, and every row of its versions, aliases, code and pending invocations carries both.
"""

from __future__ import annotations

import sqlalchemy as sa

from batchyard.store.tables import metadata


def scope() -> list[sa.Column[str]]:
    """The account and region columns that lead every table's key."""
    return [
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
    ]


functions = sa.Table(
    "lambda_functions",
    metadata,
    *scope(),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("arn", sa.String(256), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    # sha256 (base64, as CodeSha256), digest (hex, names the code directory) and size.
    sa.Column("code", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("revision_id", sa.String(64), nullable=False),
    sa.Column("last_modified", sa.String(32), nullable=False),
    # The last version number published; numbers are never reused, even after a deletion.
    sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
    # ReservedConcurrentExecutions; None when the function draws on the unreserved pool.
    sa.Column("reserved_concurrency", sa.Integer, nullable=True),
)

# Published versions: an immutable copy of the configuration and the code at publication.
versions = sa.Table(
    "lambda_versions",
    metadata,
    *scope(),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("code", sa.JSON, nullable=False),
    sa.Column("zip", sa.LargeBinary, nullable=False),
    sa.Column("revision_id", sa.String(64), nullable=False),
    sa.Column("last_modified", sa.String(32), nullable=False),
)

aliases = sa.Table(
    "lambda_aliases",
    metadata,
    *scope(),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("alias", sa.String(128), primary_key=True),
    # AliasConfiguration's own members: FunctionVersion, Description, RoutingConfig.
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("revision_id", sa.String(64), nullable=False),
)

code = sa.Table(
    "lambda_code",
    metadata,
    *scope(),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("zip", sa.LargeBinary, nullable=False),
)

# Event invocations accepted (202) but not yet run: replayed after a restart.
pending_events = sa.Table(
    "lambda_pending_events",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(12), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("function_name", sa.String(64), nullable=False),
    # The version or alias the Event was sent to; None for $LATEST.
    sa.Column("qualifier", sa.String(128), nullable=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("accepted", sa.Float, nullable=False),
    # Attempts already made; Lambda retries an Event whose handler failed twice more.
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_lambda_pending_events_function", "account_id", "region", "function_name"),
)

# A layer's name, and the last version number it published (never reused).
layers = sa.Table(
    "lambda_layers",
    metadata,
    *scope(),
    sa.Column("name", sa.String(140), primary_key=True),
    sa.Column("last_version", sa.Integer, nullable=False),
)

layer_versions = sa.Table(
    "lambda_layer_versions",
    metadata,
    *scope(),
    sa.Column("name", sa.String(140), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    # Description, CompatibleRuntimes, CompatibleArchitectures, LicenseInfo, CreatedDate.
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    # The resource-based policy's statements (None: no policy) and its revision.
    sa.Column("policy", sa.JSON, nullable=True),
    sa.Column("policy_revision", sa.String(64), nullable=True),
)

# Layer zips by the hex sha256 of their bytes. A function keeps using a layer version after
# the version is deleted (as in Lambda), so the content outlives its version row until no
# function or version refers to it.
layer_content = sa.Table(
    "lambda_layer_content",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("zip", sa.LargeBinary, nullable=False),
)
