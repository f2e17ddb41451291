"""CloudWatch-Logs-shaped tables: log groups, their streams and the streams' events.

Events are ordered by ``id`` (ingestion order), which is also what the pagination tokens of
GetLogEvents and FilterLogEvents point at.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from batchyard.store.tables import metadata

log_groups = Table(
    "log_groups",
    metadata,
    Column("name", String(512), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("retention_days", Integer, nullable=True),
    Column("tags", JSON, nullable=False),
)

log_streams = Table(
    "log_streams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "group_name", String(512), ForeignKey("log_groups.name", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(512), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("first_event_at", BigInteger, nullable=True),
    Column("last_event_at", BigInteger, nullable=True),
    Column("last_ingestion_at", BigInteger, nullable=True),
    Column("stored_bytes", BigInteger, nullable=False),
    Index("ix_log_streams_group_name", "group_name", "name", unique=True),
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
