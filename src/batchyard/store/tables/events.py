"""EventBridge tables: rules, their targets, their tags, and the record of failed deliveries.

A rule belongs to one account and region (its ARN says which); its name is unique on its bus
there. Rules and targets keep their API-shaped documents (what DescribeRule /
ListTargetsByRule return) in JSON columns; ``seq`` orders targets as they were added. Tags
live apart, keyed by the rule's ARN. A failed delivery attempt leaves one row, ``final``
marking the attempt after which EventBridge gave up.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
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
