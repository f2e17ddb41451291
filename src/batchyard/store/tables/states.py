"""Tables of the Step Functions service (alembic branch ``states``).

Documents that AWS returns whole (logging configuration, routing, checkpoints, event details)
are kept as JSON; everything a listing filters or orders on has a column of its own. State
machines, activities and executions carry their account and region (also in their ARNs);
versions and aliases belong to their machine's.
"""

from __future__ import annotations

import sqlalchemy as sa

from batchyard.store.tables import metadata

state_machines = sa.Table(
    "sfn_state_machines",
    metadata,
    sa.Column("arn", sa.String(256), primary_key=True),
    sa.Column("account_id", sa.String(12), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("role_arn", sa.String(256), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("revision_id", sa.String(64), nullable=False),
    sa.Column("next_version", sa.Integer, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Index("ix_sfn_state_machines_scope", "account_id", "region", "created"),
)

versions = sa.Table(
    "sfn_versions",
    metadata,
    sa.Column("arn", sa.String(256), primary_key=True),
    sa.Column("machine_arn", sa.String(256), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("role_arn", sa.String(256), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("revision_id", sa.String(64), nullable=False),
    sa.Column("description", sa.String(256)),
    sa.Column("created", sa.Float, nullable=False),
)

aliases = sa.Table(
    "sfn_aliases",
    metadata,
    sa.Column("arn", sa.String(256), primary_key=True),
    sa.Column("machine_arn", sa.String(256), nullable=False, index=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("description", sa.String(256)),
    sa.Column("routing", sa.JSON, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)

executions = sa.Table(
    "sfn_executions",
    metadata,
    sa.Column("arn", sa.String(512), primary_key=True),
    sa.Column("account_id", sa.String(12), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("machine_arn", sa.String(256), nullable=False, index=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("stopped", sa.Float),
    sa.Column("input", sa.Text, nullable=False),
    sa.Column("output", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("cause", sa.Text),
    # Who started it and with which definition: resume and DescribeStateMachineForExecution
    # must see the definition the execution started with, not a later update.
    sa.Column("source", sa.JSON, nullable=False),
    sa.Column("checkpoint", sa.JSON),
    sa.Column("last_event_id", sa.Integer, nullable=False),
    sa.Column("redrive_count", sa.Integer, nullable=False),
    sa.Column("redrive_date", sa.Float),
)

history = sa.Table(
    "sfn_history",
    metadata,
    sa.Column("execution_arn", sa.String(512), primary_key=True),
    sa.Column("event_id", sa.Integer, primary_key=True),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("previous_event_id", sa.Integer, nullable=False),
    sa.Column("details", sa.JSON),
)

activities = sa.Table(
    "sfn_activities",
    metadata,
    sa.Column("arn", sa.String(256), primary_key=True),
    sa.Column("account_id", sa.String(12), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("encryption", sa.JSON),
    sa.Index("ix_sfn_activities_scope", "account_id", "region", "created"),
)

tags = sa.Table(
    "sfn_tags",
    metadata,
    sa.Column("resource_arn", sa.String(256), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

map_runs = sa.Table(
    "sfn_map_runs",
    metadata,
    sa.Column("arn", sa.String(512), primary_key=True),
    sa.Column("execution_arn", sa.String(512), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("stopped", sa.Float),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
)

# The child executions of a distributed Map's Map Run, one per item.
map_run_children = sa.Table(
    "sfn_map_run_children",
    metadata,
    sa.Column("arn", sa.String(512), primary_key=True),
    sa.Column("map_run_arn", sa.String(512), nullable=False, index=True),
    sa.Column("item_index", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("stopped", sa.Float),
    sa.Column("input", sa.Text, nullable=False),
    sa.Column("output", sa.Text),
    # How a failed or timed-out child failed (DescribeExecution's error and cause).
    sa.Column("error", sa.Text),
    sa.Column("cause", sa.Text),
)
