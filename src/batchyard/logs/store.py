"""Log groups, streams and events on a store connection: the domain of the Logs API.

Every function takes a SQLAlchemy Connection so callers choose between ``Store.read`` and
``Store.write``; errors are the Logs API's own ``ServiceError``s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.protocol.errors import ServiceError
from batchyard.store.tables.logs import log_events, log_groups, log_streams

GROUP_MISSING = "The specified log group does not exist."
STREAM_MISSING = "The specified log stream does not exist."
# Each event costs its UTF-8 size plus this many bytes towards a batch's size (CloudWatch's rule).
EVENT_OVERHEAD = 26


def not_found(message: str) -> ServiceError:
    """AWS's ResourceNotFoundException."""
    return ServiceError("ResourceNotFoundException", message)


def create_group(conn: Connection, name: str, now: int, tags: dict[str, str] | None = None) -> None:
    """Create log group ``name``; ResourceAlreadyExistsException when it exists."""
    if conn.execute(sa.select(log_groups.c.name).where(log_groups.c.name == name)).first():
        raise ServiceError(
            "ResourceAlreadyExistsException", "The specified log group already exists"
        )
    conn.execute(log_groups.insert().values(name=name, created_at=now, tags=tags or {}))


def create_stream(conn: Connection, group: str, name: str, now: int) -> int:
    """Create stream ``name`` in ``group``; returns its id."""
    if conn.execute(sa.select(log_groups.c.name).where(log_groups.c.name == group)).first() is None:
        raise not_found(GROUP_MISSING)
    if stream_id(conn, group, name) is not None:
        raise ServiceError(
            "ResourceAlreadyExistsException", "The specified log stream already exists"
        )
    return _insert_stream(conn, group, name, now)


# Built once: every job attempt makes sure of its stream.
_STREAM_ID = sa.select(log_streams.c.id).where(
    log_streams.c.group_name == sa.bindparam("group"), log_streams.c.name == sa.bindparam("name")
)
_GROUP_EXISTS = sa.select(log_groups.c.name).where(log_groups.c.name == sa.bindparam("group"))
_INSERT_GROUP = log_groups.insert()
_INSERT_STREAM = log_streams.insert()


def ensure_stream(conn: Connection, group: str, name: str, now: int) -> int:
    """The id of stream ``group``/``name``, creating the group and the stream as needed."""
    found = stream_id(conn, group, name)
    if found is not None:
        return found
    if conn.execute(_GROUP_EXISTS, {"group": group}).first() is None:
        conn.execute(_INSERT_GROUP, {"name": group, "created_at": now, "tags": {}})
    return _insert_stream(conn, group, name, now)


def _insert_stream(conn: Connection, group: str, name: str, now: int) -> int:
    result = conn.execute(
        _INSERT_STREAM, {"group_name": group, "name": name, "created_at": now, "stored_bytes": 0}
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def stream_id(conn: Connection, group: str, name: str) -> int | None:
    """The id of stream ``group``/``name``, or None."""
    found = conn.execute(_STREAM_ID, {"group": group, "name": name}).scalar()
    return None if found is None else int(found)


def append(conn: Connection, stream: int, events: Iterable[tuple[int, str]], now: int) -> None:
    """Store ``(timestamp, message)`` events at the end of ``stream``."""
    batch = list(events)
    if not batch:
        return
    conn.execute(
        log_events.insert(),
        [
            {"stream_id": stream, "timestamp": ts, "ingested_at": now, "message": message}
            for ts, message in batch
        ],
    )
    first = min(ts for ts, _ in batch)
    last = max(ts for ts, _ in batch)
    size = sum(len(message.encode()) for _, message in batch)
    conn.execute(
        log_streams.update()
        .where(log_streams.c.id == stream)
        .values(
            # The earliest event's time, whatever order the events came in.
            first_event_at=sa.case(
                (log_streams.c.first_event_at < first, log_streams.c.first_event_at), else_=first
            ),
            last_event_at=sa.case(
                (log_streams.c.last_event_at > last, log_streams.c.last_event_at), else_=last
            ),
            last_ingestion_at=now,
            stored_bytes=log_streams.c.stored_bytes + size,
        )
    )


def set_retention(conn: Connection, group: str, days: int | None) -> None:
    """Set (or, with None, remove) ``group``'s retention in days."""
    require_group(conn, group)
    conn.execute(log_groups.update().where(log_groups.c.name == group).values(retention_days=days))


def require_group(conn: Connection, group: str) -> None:
    """Raise ResourceNotFoundException unless ``group`` exists."""
    if conn.execute(sa.select(log_groups.c.name).where(log_groups.c.name == group)).first() is None:
        raise not_found(GROUP_MISSING)


def require_stream(conn: Connection, group: str, name: str) -> int:
    """The id of stream ``group``/``name``; ResourceNotFoundException when either is missing."""
    require_group(conn, group)
    found = stream_id(conn, group, name)
    if found is None:
        raise not_found(STREAM_MISSING)
    return found


def groups(conn: Connection, prefix: str | None, offset: int, limit: int) -> list[Any]:
    """Log group rows by name with their ``stored_bytes``, ``limit + 1`` of them from
    ``offset`` (the extra one says "more")."""
    query = sa.select(log_groups).order_by(log_groups.c.name).offset(offset).limit(limit + 1)
    if prefix:
        query = query.where(log_groups.c.name.startswith(prefix, autoescape=True))
    stored = sa.select(sa.func.coalesce(sa.func.sum(log_streams.c.stored_bytes), 0)).where(
        log_streams.c.group_name == log_groups.c.name
    )
    return list(conn.execute(query.add_columns(stored.scalar_subquery().label("stored_bytes"))))


def streams(
    conn: Connection,
    group: str,
    *,
    prefix: str | None,
    by_last_event: bool,
    descending: bool,
    offset: int,
    limit: int,
) -> list[Any]:
    """Stream rows of ``group``, ``limit + 1`` of them from ``offset`` in the requested order."""
    require_group(conn, group)
    key = log_streams.c.last_event_at if by_last_event else log_streams.c.name
    order = [key.desc(), log_streams.c.id.desc()] if descending else [key, log_streams.c.id]
    query = sa.select(log_streams).where(log_streams.c.group_name == group)
    if prefix:
        query = query.where(log_streams.c.name.startswith(prefix, autoescape=True))
    return list(conn.execute(query.order_by(*order).offset(offset).limit(limit + 1)))


def _time_window(query: sa.Select[Any], start: int | None, end: int | None) -> sa.Select[Any]:
    if start is not None:
        query = query.where(log_events.c.timestamp >= start)
    if end is not None:
        query = query.where(log_events.c.timestamp < end)
    return query


def events_after(
    conn: Connection, stream: int, after_id: int, start: int | None, end: int | None, limit: int
) -> list[Any]:
    """Up to ``limit`` events of ``stream`` with id > ``after_id``, oldest first."""
    query = sa.select(log_events).where(
        log_events.c.stream_id == stream, log_events.c.id > after_id
    )
    query = _time_window(query, start, end).order_by(log_events.c.id).limit(limit)
    return list(conn.execute(query))


def events_before(
    conn: Connection,
    stream: int,
    before_id: int | None,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[Any]:
    """The last ``limit`` events of ``stream`` with id < ``before_id``, oldest first."""
    query = sa.select(log_events).where(log_events.c.stream_id == stream)
    if before_id is not None:
        query = query.where(log_events.c.id < before_id)
    query = _time_window(query, start, end).order_by(log_events.c.id.desc()).limit(limit)
    return list(reversed(list(conn.execute(query))))


def scan_events(
    conn: Connection,
    group: str,
    stream_names: list[str] | None,
    stream_prefix: str | None,
    after_id: int,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[Any]:
    """Events of the selected streams of ``group`` with id > ``after_id``, in id order,
    joined with their stream's name."""
    query = (
        sa.select(log_events, log_streams.c.name.label("stream_name"))
        .join(log_streams, log_streams.c.id == log_events.c.stream_id)
        .where(log_streams.c.group_name == group, log_events.c.id > after_id)
    )
    if stream_names:
        query = query.where(log_streams.c.name.in_(stream_names))
    if stream_prefix:
        query = query.where(log_streams.c.name.startswith(stream_prefix, autoescape=True))
    query = _time_window(query, start, end).order_by(log_events.c.id).limit(limit)
    return list(conn.execute(query))
