"""Log groups, streams and events on a store connection.

Every function takes a SQLAlchemy Connection so callers choose between ``Store.read`` and
``Store.write``; errors are the Logs API's own ``ServiceError``s. A group is found by its
owner (the account and region it belongs to) and its name; streams by their group's id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.protocol.errors import ServiceError
from batchyard.store.tables.logs import log_events, log_groups, log_streams

GROUP_MISSING = "The specified log group does not exist."
STREAM_MISSING = "The specified log stream does not exist."
# Each event costs its UTF-8 size plus this many bytes towards a batch's size (CloudWatch's rule).
EVENT_OVERHEAD = 26


class Owner(Protocol):
    """The account and region a log group belongs to (a ``Caller`` is one)."""

    @property
    def account_id(self) -> str: ...

    @property
    def region(self) -> str: ...


def not_found(message: str) -> ServiceError:
    """AWS's ResourceNotFoundException."""
    return ServiceError("ResourceNotFoundException", message)


def _exists(what: str) -> ServiceError:
    return ServiceError("ResourceAlreadyExistsException", f"The specified {what} already exists")


# Built once: every job attempt makes sure of its stream.
_GROUP_ID = sa.select(log_groups.c.id).where(
    log_groups.c.account_id == sa.bindparam("account"),
    log_groups.c.region == sa.bindparam("region"),
    log_groups.c.name == sa.bindparam("group"),
)
_STREAM_ID = sa.select(log_streams.c.id).where(
    log_streams.c.group_id == sa.bindparam("group_id"), log_streams.c.name == sa.bindparam("name")
)
_INSERT_GROUP = log_groups.insert()
_INSERT_STREAM = log_streams.insert()


def group_id(conn: Connection, owner: Owner, name: str) -> int | None:
    """The id of ``owner``'s group ``name``, or None."""
    found = conn.execute(
        _GROUP_ID, {"account": owner.account_id, "region": owner.region, "group": name}
    ).scalar()
    return None if found is None else int(found)


def require_group(conn: Connection, owner: Owner, name: str) -> int:
    """The id of ``owner``'s group ``name``; ResourceNotFoundException when it is missing."""
    found = group_id(conn, owner, name)
    if found is None:
        raise not_found(GROUP_MISSING)
    return found


def create_group(
    conn: Connection, owner: Owner, name: str, now: int, tags: Mapping[str, str] | None = None
) -> int:
    """Create ``owner``'s group ``name``; ResourceAlreadyExistsException when it exists."""
    if group_id(conn, owner, name) is not None:
        raise _exists("log group")
    return _inserted(conn.execute(_INSERT_GROUP, {
        "account_id": owner.account_id, "region": owner.region, "name": name,
        "created_at": now, "tags": dict(tags or {}),
    }))


def delete_group(conn: Connection, owner: Owner, name: str) -> None:
    """Delete ``owner``'s group ``name`` with its streams and events."""
    found = require_group(conn, owner, name)
    streams = sa.select(log_streams.c.id).where(log_streams.c.group_id == found)
    conn.execute(sa.delete(log_events).where(log_events.c.stream_id.in_(streams)))
    conn.execute(sa.delete(log_streams).where(log_streams.c.group_id == found))
    conn.execute(sa.delete(log_groups).where(log_groups.c.id == found))


def group_tags(conn: Connection, group: int) -> dict[str, str]:
    """The tags of group ``group``."""
    tags = conn.execute(sa.select(log_groups.c.tags).where(log_groups.c.id == group)).scalar()
    return dict(tags or {})


def set_group_tags(conn: Connection, group: int, tags: Mapping[str, str]) -> None:
    """Replace the tags of group ``group``."""
    conn.execute(log_groups.update().where(log_groups.c.id == group).values(tags=dict(tags)))


def set_retention(conn: Connection, owner: Owner, name: str, days: int | None) -> None:
    """Set (or, with None, remove) the retention in days of ``owner``'s group ``name``."""
    found = require_group(conn, owner, name)
    conn.execute(log_groups.update().where(log_groups.c.id == found).values(retention_days=days))


def stream_id(conn: Connection, group: int, name: str) -> int | None:
    """The id of stream ``name`` of group ``group``, or None."""
    found = conn.execute(_STREAM_ID, {"group_id": group, "name": name}).scalar()
    return None if found is None else int(found)


def create_stream(conn: Connection, owner: Owner, group: str, name: str, now: int) -> int:
    """Create stream ``name`` in an existing group; returns its id."""
    found = require_group(conn, owner, group)
    if stream_id(conn, found, name) is not None:
        raise _exists("log stream")
    return _insert_stream(conn, found, name, now)


def delete_stream(conn: Connection, owner: Owner, group: str, name: str) -> None:
    """Delete a stream and its events."""
    found = require_stream(conn, owner, group, name)
    conn.execute(sa.delete(log_events).where(log_events.c.stream_id == found))
    conn.execute(sa.delete(log_streams).where(log_streams.c.id == found))


def ensure_stream(conn: Connection, owner: Owner, group: str, name: str, now: int) -> int:
    """The id of stream ``group``/``name``, creating the group and the stream as needed."""
    found = group_id(conn, owner, group)
    if found is None:
        found = create_group(conn, owner, group, now)
    return stream_id(conn, found, name) or _insert_stream(conn, found, name, now)


def require_stream(conn: Connection, owner: Owner, group: str, name: str) -> int:
    """The id of stream ``group``/``name``; ResourceNotFoundException when either is missing."""
    found = stream_id(conn, require_group(conn, owner, group), name)
    if found is None:
        raise not_found(STREAM_MISSING)
    return found


def _insert_stream(conn: Connection, group: int, name: str, now: int) -> int:
    return _inserted(conn.execute(
        _INSERT_STREAM, {"group_id": group, "name": name, "created_at": now, "stored_bytes": 0}
    ))


def _inserted(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def event_count(conn: Connection, owner: Owner, group: str, name: str) -> int:
    """How many events stream ``group``/``name`` holds (0 when either does not exist)."""
    found = group_id(conn, owner, group)
    stream = stream_id(conn, found, name) if found is not None else None
    if stream is None:
        return 0
    query = sa.select(sa.func.count()).select_from(log_events)
    return int(conn.execute(query.where(log_events.c.stream_id == stream)).scalar_one())


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


def groups(
    conn: Connection,
    owner: Owner,
    *,
    prefix: str | None = None,
    after: str | None = None,
    limit: int,
) -> list[Any]:
    """``owner``'s group rows by name after ``after``, with their ``stored_bytes``,
    ``limit + 1`` of them (the extra one says "more")."""
    stored = sa.select(sa.func.coalesce(sa.func.sum(log_streams.c.stored_bytes), 0)).where(
        log_streams.c.group_id == log_groups.c.id
    )
    query = (
        sa.select(log_groups, stored.scalar_subquery().label("stored_bytes"))
        .where(log_groups.c.account_id == owner.account_id, log_groups.c.region == owner.region)
        .order_by(log_groups.c.name)
        .limit(limit + 1)
    )
    if prefix:
        query = query.where(log_groups.c.name.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(log_groups.c.name > after)
    return list(conn.execute(query))


def streams(
    conn: Connection,
    group: int,
    *,
    prefix: str | None,
    by_last_event: bool,
    descending: bool,
    offset: int,
    limit: int,
) -> list[Any]:
    """Stream rows of ``group``, ``limit + 1`` of them from ``offset`` in the requested order."""
    key = log_streams.c.last_event_at if by_last_event else log_streams.c.name
    order = [key.desc(), log_streams.c.id.desc()] if descending else [key, log_streams.c.id]
    query = sa.select(log_streams).where(log_streams.c.group_id == group)
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
    groups_: list[int],
    stream_names: list[str] | None,
    stream_prefix: str | None,
    after_id: int,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[Any]:
    """Events of the selected streams of ``groups_`` with id > ``after_id``, in id order,
    joined with their stream's and group's names (``stream_name``, ``group_name``)."""
    query = (
        sa.select(
            log_events,
            log_streams.c.name.label("stream_name"),
            log_groups.c.name.label("group_name"),
        )
        .join(log_streams, log_streams.c.id == log_events.c.stream_id)
        .join(log_groups, log_groups.c.id == log_streams.c.group_id)
        .where(log_streams.c.group_id.in_(groups_), log_events.c.id > after_id)
    )
    if stream_names:
        query = query.where(log_streams.c.name.in_(stream_names))
    if stream_prefix:
        query = query.where(log_streams.c.name.startswith(stream_prefix, autoescape=True))
    query = _time_window(query, start, end).order_by(log_events.c.id).limit(limit)
    return list(conn.execute(query))
