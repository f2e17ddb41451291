"""CloudWatch-Logs-shaped tables: log groups, their streams and the streams' events.

A group belongs to one account and region; its name is unique within them. Events are ordered
by ``id`` (ingestion order), which is also what the pagination tokens of GetLogEvents and
FilterLogEvents point at.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from batchyard.store.tables import metadata

log_groups = Table(
    "log_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(512), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("retention_days", Integer, nullable=True),
    Column("tags", JSON, nullable=False),
    Index("ix_log_groups_name", "account_id", "region", "name", unique=True),
)

log_streams = Table(
    "log_streams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", Integer, ForeignKey("log_groups.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(512), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("first_event_at", BigInteger, nullable=True),
    Column("last_event_at", BigInteger, nullable=True),
    Column("last_ingestion_at", BigInteger, nullable=True),
    Column("stored_bytes", BigInteger, nullable=False),
    Index("ix_log_streams_group_id", "group_id", "name", unique=True),
)

log_events = Table(
    "log_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("stream_id", Integer, ForeignKey("log_streams.id", ondelete="CASCADE"), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("ingested_at", BigInteger, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_log_events_stream_id", "stream_id", "id"),
)

# Logs Insights queries: what was asked, its state, and its results once it has run.
log_queries = Table(
    "log_queries",
    metadata,
    Column("query_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("query_string", Text, nullable=False),
    Column("log_groups", JSON, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("row_limit", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("results", JSON, nullable=True),
    Column("statistics", JSON, nullable=True),
    Index("ix_log_queries_owner", "account_id", "region", "created_at"),
)
