"""Live log ingestion: lines are buffered per stream and committed in batches as they come.

``line`` never blocks: it appends to a buffer and makes sure one flush is under way. The
flush writes everything buffered so far in one group-committed store write, then looks again,
so a chatty job costs one write per batch rather than one per line, and output is readable
through the Logs API while the job still runs. ``drain`` waits until a stream's lines written
so far are committed (a finished attempt drains before its job is reported finished).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from functools import partial
from typing import NamedTuple

from sqlalchemy import Connection

from batchyard.logs import store as logs
from batchyard.logs.live import LiveTails
from batchyard.store import Store

log = logging.getLogger(__name__)


class StreamKey(NamedTuple):
    """A stream of a group of an account and region (an ``Owner`` of its group)."""

    account_id: str
    region: str
    group: str
    stream: str


class LogSink:
    """Buffers output lines of many streams and commits them in batches."""

    def __init__(self, store: Store, live: LiveTails) -> None:
        self._store = store
        self._live = live
        self._buffer: dict[StreamKey, list[tuple[int, str]]] = defaultdict(list)
        self._queued: dict[StreamKey, int] = defaultdict(int)
        self._committed: dict[StreamKey, int] = defaultdict(int)
        self._stream_ids: dict[StreamKey, int] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._progress = asyncio.Condition()

    def line(self, key: StreamKey, timestamp: int, message: str) -> None:
        """Queue one event for stream ``key``."""
        self._buffer[key].append((timestamp, message))
        self._queued[key] += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def drain(self, key: StreamKey) -> None:
        """Wait until every line queued so far for stream ``key`` is committed."""
        target = self._queued[key]
        async with self._progress:
            await self._progress.wait_for(lambda: self._committed[key] >= target)
        self._queued.pop(key, None)
        self._committed.pop(key, None)
        self._stream_ids.pop(key, None)

    async def _flush(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer, defaultdict(list)
            known = dict(self._stream_ids)
            try:
                created = await self._store.write(partial(_write, batch=batch, known=known))
            except Exception:
                # Output is best effort: losing a batch must never stop the job it came from.
                log.exception("could not store %d log stream batch(es)", len(batch))
                created = {}
            self._stream_ids.update(created)
            now = int(time.time() * 1000)
            for key, events in batch.items():
                if key in created:
                    self._live.publish(key.account_id, key.region, key.group, key.stream, events,
                                       now)
            async with self._progress:
                for key, events in batch.items():
                    self._committed[key] += len(events)
                self._progress.notify_all()


def _write(
    conn: Connection, batch: dict[StreamKey, list[tuple[int, str]]], known: dict[StreamKey, int]
) -> dict[StreamKey, int]:
    now = int(time.time() * 1000)
    created: dict[StreamKey, int] = {}
    for key, events in batch.items():
        stream = known.get(key) or logs.ensure_stream(conn, key, key.group, key.stream, now)
        created[key] = stream
        logs.append(conn, stream, events, now)
    return created
