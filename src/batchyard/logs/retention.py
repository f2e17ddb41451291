"""Events older than their log group's retention (PutRetentionPolicy) are deleted, as CloudWatch
Logs deletes them; a group without a policy keeps everything. Streams stay, their stored bytes
and first event time following what is left."""

from __future__ import annotations

import time
from functools import partial

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.store import Store
from batchyard.store.tables.logs import log_events, log_groups, log_streams
from batchyard.sweeper import Sweeper

DAY_MS = 86_400_000
# Events deleted per write, so a large backlog never holds the writer for long.
BATCH = 5000
# Retention is counted in days; a sweep at least this often.
MAX_SWEEP_INTERVAL_SECONDS = 600.0

_GROUPS = sa.select(log_groups.c.id, log_groups.c.retention_days).where(
    log_groups.c.retention_days.is_not(None)
)
_STREAMS = sa.select(log_streams.c.id).where(
    log_streams.c.group_id == sa.bindparam("group"),
    log_streams.c.first_event_at < sa.bindparam("cutoff"),
)
_EXPIRED = (
    sa.select(log_events.c.id, log_events.c.message)
    .where(log_events.c.stream_id == sa.bindparam("stream"))
    .where(log_events.c.timestamp < sa.bindparam("cutoff"))
    .limit(sa.bindparam("limit"))
)
_FIRST_LEFT = (
    sa.select(sa.func.min(log_events.c.timestamp))
    .where(log_events.c.stream_id == log_streams.c.id)
    .scalar_subquery()
)


def expire_events(now_ms: int, time_scale: float, conn: Connection) -> int:
    """Delete up to BATCH events past their group's retention; how many were deleted."""
    deleted = 0
    for group in conn.execute(_GROUPS).all():
        cutoff = int(now_ms - group.retention_days * DAY_MS / time_scale)
        streams = conn.execute(_STREAMS, {"group": group.id, "cutoff": cutoff}).scalars().all()
        for stream in streams:
            deleted += _expire_stream(conn, stream, cutoff, BATCH - deleted)
            if deleted >= BATCH:
                return deleted
    return deleted


def _expire_stream(conn: Connection, stream: int, cutoff: int, limit: int) -> int:
    rows = conn.execute(_EXPIRED, {"stream": stream, "cutoff": cutoff, "limit": limit}).all()
    if not rows:
        return 0
    conn.execute(sa.delete(log_events).where(log_events.c.id.in_([row.id for row in rows])))
    size = sum(len(row.message.encode()) for row in rows)
    conn.execute(
        log_streams.update()
        .where(log_streams.c.id == stream)
        .values(stored_bytes=log_streams.c.stored_bytes - size, first_event_at=_FIRST_LEFT)
    )
    return len(rows)


class LogRetention:
    """Deletes expired log events now and then while the server runs."""

    def __init__(self, store: Store, time_scale: float) -> None:
        self._store = store
        # Retention is in days, so tests need the time scale to see it at work.
        self._time_scale = time_scale
        interval = min(DAY_MS / 1000 / time_scale / 10, MAX_SWEEP_INTERVAL_SECONDS)
        self.sweeper = Sweeper("deleting expired log events", self.sweep, interval)

    async def sweep(self) -> int:
        """Delete every event past its group's retention."""
        deleted = 0
        while True:
            now = int(time.time() * 1000)
            count = await self._store.write(partial(expire_events, now, self._time_scale))
            deleted += count
            if count < BATCH:
                return deleted
