"""EventBridge tables: event buses, rules, their targets, their tags, the record of failed
deliveries, archives with their events, replays, connections and API destinations.

A rule belongs to one account and region (its ARN says which); its name is unique on its bus
there. Rules and targets keep their API-shaped documents (what DescribeRule /
ListTargetsByRule return) in JSON columns; ``seq`` orders targets as they were added. Tags
live apart, keyed by the rule's ARN. A failed delivery attempt leaves one row, ``final``
marking the attempt after which EventBridge gave up.

The default bus of an account and region has a row only once UpdateEventBus changed it.
Archived events belong to their archive and go with it. A connection keeps what
DescribeConnection shows apart from its credentials.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from batchyard.store.tables import metadata

rules = Table(
    "events_rules",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("event_bus_name", String(256), nullable=False),
    Column("name", String(64), nullable=False),
    Column("arn", String(1600), nullable=False, unique=True),
    Column("document", JSON, nullable=False),
    UniqueConstraint(
        "account_id", "region", "event_bus_name", "name", name="uq_events_rules_bus_name"
    ),
)

targets = Table(
    "events_targets",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("event_bus_name", String(256), nullable=False),
    Column("rule_name", String(64), nullable=False),
    Column("target_id", String(64), nullable=False),
    Column("document", JSON, nullable=False),
    UniqueConstraint(
        "account_id",
        "region",
        "event_bus_name",
        "rule_name",
        "target_id",
        name="uq_events_targets_rule_target",
    ),
)

tags = Table(
    "events_tags",
    metadata,
    Column("resource_arn", String(1600), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)

delivery_failures = Table(
    "events_delivery_failures",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("failed_at", Float, nullable=False),
    Column("rule_arn", String(1600), nullable=False),
    Column("target_id", String(64), nullable=False),
    Column("target_arn", String(1600), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("final", Boolean, nullable=False),
    Column("error_code", String(128), nullable=False),
    Column("error_message", Text, nullable=False),
    Column("input", Text, nullable=False),
    Index("ix_events_delivery_failures_rule_arn", "rule_arn"),
)

buses = Table(
    "events_buses",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(256), nullable=False),
    Column("arn", String(1600), nullable=False, unique=True),
    Column("document", JSON, nullable=False),
    UniqueConstraint("account_id", "region", "name", name="uq_events_buses_name"),
)

archives = Table(
    "events_archives",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(48), nullable=False),
    Column("arn", String(1600), nullable=False, unique=True),
    Column("source_arn", String(1600), nullable=False),
    Column("document", JSON, nullable=False),
    UniqueConstraint("account_id", "region", "name", name="uq_events_archives_name"),
)

archived_events = Table(
    "events_archived_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column(
        "archive_seq",
        Integer,
        ForeignKey("events_archives.seq", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_time", Float, nullable=False),
    Column("archived_at", Float, nullable=False),
    Column("size", Integer, nullable=False),
    Column("event", JSON, nullable=False),
    Index("ix_events_archived_events_time", "archive_seq", "event_time", "seq"),
    Index("ix_events_archived_events_age", "archive_seq", "archived_at"),
)

replays = Table(
    "events_replays",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("arn", String(1600), nullable=False, unique=True),
    Column("archive_arn", String(1600), nullable=False),
    Column("state", String(16), nullable=False),
    Column("document", JSON, nullable=False),
    # Where a replay resumes after a restart: the (event time, seq) of the last event it put.
    Column("cursor_time", Float, nullable=True),
    Column("cursor_seq", Integer, nullable=True),
    UniqueConstraint("account_id", "region", "name", name="uq_events_replays_name"),
)

connections = Table(
    "events_connections",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("arn", String(1600), nullable=False, unique=True),
    Column("state", String(32), nullable=False),
    Column("document", JSON, nullable=False),
    # The credentials (AWS keeps them in Secrets Manager): never part of an answer.
    Column("secret", JSON, nullable=True),
    UniqueConstraint("account_id", "region", "name", name="uq_events_connections_name"),
)

api_destinations = Table(
    "events_api_destinations",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("arn", String(1600), nullable=False, unique=True),
    Column("connection_arn", String(1600), nullable=False),
    Column("document", JSON, nullable=False),
    UniqueConstraint("account_id", "region", "name", name="uq_events_api_destinations_name"),
)
