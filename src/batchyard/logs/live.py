"""Live tail (StartLiveTail): events fanned out to open sessions as they are committed.

A session names up to 10 log groups, optionally streams or stream name prefixes and a filter
pattern. Every event committed to one of its groups (job and function output through the sink,
PutLogEvents, EventBridge targets) that passes its filters is queued on the session; the
session hands them out in updates of at most 500 events, as CloudWatch does, and when more
arrive than a session can hold it keeps the newest and marks the update ``sampled``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from batchyard.logs.patterns import Matcher

MAX_PER_UPDATE = 500
# Events a session holds between updates before it starts dropping the oldest.
MAX_QUEUED = 5000


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One event as a live-tail update carries it."""

    log_stream_name: str
    log_group_identifier: str
    message: str
    timestamp: int
    ingestion_time: int


@dataclass(frozen=True, slots=True)
class SessionMetadata:
    """Whether an update holds only a sample of what arrived."""

    sampled: bool


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """A ``sessionUpdate`` event."""

    session_metadata: SessionMetadata
    session_results: list[LiveEvent]


@dataclass(eq=False)
class LiveSession:
    """One open StartLiveTail session."""

    account_id: str
    region: str
    groups: dict[str, str]
    streams: frozenset[str]
    prefixes: tuple[str, ...]
    matches: Matcher
    _queued: deque[LiveEvent] = field(default_factory=lambda: deque(maxlen=MAX_QUEUED))
    _dropped: bool = False
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, account_id: str, region: str, group: str, stream: str) -> bool:
        """Whether events of this stream belong to the session."""
        if (account_id, region) != (self.account_id, self.region) or group not in self.groups:
            return False
        if not self.streams and not self.prefixes:
            return True
        return stream in self.streams or stream.startswith(self.prefixes)

    def offer(self, event: LiveEvent) -> None:
        """Queue ``event`` if it passes the session's filter pattern."""
        if not self.matches(event.message):
            return
        if len(self._queued) == MAX_QUEUED:
            self._dropped = True
        self._queued.append(event)
        self._arrived.set()

    async def updates(self, interval: float) -> AsyncIterator[LiveUpdate]:
        """Updates as events arrive, at most one per ``interval`` seconds."""
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._queued:
                sampled = self._dropped or len(self._queued) > MAX_PER_UPDATE
                batch = [self._queued.popleft() for _ in range(len(self._queued))]
                self._dropped = False
                yield LiveUpdate(SessionMetadata(sampled), batch[-MAX_PER_UPDATE:])
                await asyncio.sleep(interval)


class LiveTails:
    """The open live-tail sessions of one server."""

    def __init__(self) -> None:
        self._sessions: set[LiveSession] = set()

    def open(self, session: LiveSession) -> LiveSession:
        """Start feeding ``session``."""
        self._sessions.add(session)
        return session

    def close(self, session: LiveSession) -> None:
        """Stop feeding ``session``."""
        self._sessions.discard(session)

    def publish(
        self,
        account_id: str,
        region: str,
        group: str,
        stream: str,
        events: Sequence[tuple[int, str]],
        ingested_at: int,
    ) -> None:
        """Committed ``(timestamp, message)`` events of a stream, for the sessions that want
        them (nothing to do when no session is open, the common case)."""
        if not self._sessions:
            return
        for session in self._sessions:
            if not session.wants(account_id, region, group, stream):
                continue
            identifier = session.groups[group]
            for timestamp, message in events:
                session.offer(LiveEvent(stream, identifier, message, timestamp, ingested_at))
