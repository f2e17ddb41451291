"""CloudWatch Logs: the facade of log groups, streams and events.

The API's operations and what other services need (the live sink their output flows through,
a stream opened inside their own write, an event appended for an EventBridge target) are
methods of :class:`Logs`; the rest of this package is its private implementation.

Pagination tokens: GetLogEvents answers ``f/<id>`` (events after id) and ``b/<id>`` (events
before id); when a direction has nothing more, the token given is handed back, which is how
CloudWatch tells clients they reached the end. The other listings use an opaque position.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection

from batchyard.aws import arns
from batchyard.aws.caller import Caller
from batchyard.aws.clock import now_ms
from batchyard.aws.pagination import Pager
from batchyard.aws.tags import TagRules
from batchyard.logs import store
from batchyard.logs.live import SESSION_SECONDS, LiveSession, LiveTails
from batchyard.logs.patterns import compile_pattern
from batchyard.logs.queries import LogRecord, Queries, QueryList, QueryResults, StartedQuery
from batchyard.logs.retention import LogRetention
from batchyard.logs.sink import LogSink, StreamKey
from batchyard.logs.store import Owner
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store

MAX_EVENTS = 10_000
# Groups read per query while a name pattern filters them.
GROUP_SCAN_ROWS = 1000
MAX_RESPONSE_BYTES = 1_048_576
FILTER_SCAN_ROWS = 50_000
DAY_MS = 86_400_000
# The retentionInDays values CloudWatch Logs accepts.
# fmt: off
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)
# fmt: on


def invalid(message: str) -> ServiceError:
    """AWS's InvalidParameterException."""
    return ServiceError("InvalidParameterException", message)


_pager = Pager(lambda _token: invalid("The specified nextToken is invalid."))
_tag_rules = TagRules(
    too_many=lambda message: ServiceError("TooManyTagsException", message),
    invalid=invalid,
)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Events with ``start <= timestamp < end``; either bound may be open."""

    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class LogGroup:
    """A log group as DescribeLogGroups shows it."""

    log_group_name: str
    creation_time: int
    stored_bytes: int
    arn: str
    log_group_arn: str
    retention_in_days: int | None = None
    metric_filter_count: int = 0
    log_group_class: str = "STANDARD"


@dataclass(frozen=True, slots=True)
class LogGroupSummary:
    """A log group as ListLogGroups shows it."""

    log_group_name: str
    log_group_arn: str
    log_group_class: str = "STANDARD"


@dataclass(frozen=True, slots=True)
class LogGroupSummaries:
    """A page of ListLogGroups."""

    log_groups: list[LogGroupSummary]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class Tags:
    """The tags of a resource (ListTagsForResource, ListTagsLogGroup)."""

    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class LogStream:
    """A log stream as DescribeLogStreams shows it."""

    log_stream_name: str
    creation_time: int
    stored_bytes: int
    arn: str
    first_event_timestamp: int | None = None
    last_event_timestamp: int | None = None
    last_ingestion_time: int | None = None


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One event; ``log_stream_name`` and ``event_id`` are set by FilterLogEvents."""

    timestamp: int
    message: str
    ingestion_time: int
    log_stream_name: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class LogGroups:
    """A page of DescribeLogGroups."""

    log_groups: list[LogGroup]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class LogStreams:
    """A page of DescribeLogStreams."""

    log_streams: list[LogStream]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class StreamEvents:
    """A page of GetLogEvents with its tokens both ways."""

    events: list[LogEvent]
    next_forward_token: str
    next_backward_token: str


@dataclass(frozen=True, slots=True)
class FilteredEvents:
    """A page of FilterLogEvents."""

    events: list[LogEvent]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class PutResult:
    """What PutLogEvents refused: the indexes of events too old or too new."""

    too_old_log_event_end_index: int | None = None
    too_new_log_event_start_index: int | None = None

    @property
    def rejected_log_events_info(self) -> PutResult | None:
        if self.too_old_log_event_end_index is None and self.too_new_log_event_start_index is None:
            return None
        return self


@dataclass(frozen=True, slots=True)
class LiveTailStart:
    """The ``sessionStart`` event of a live tail."""

    request_id: str
    session_id: str
    log_group_identifiers: list[str]
    log_stream_names: list[str] | None
    log_stream_name_prefixes: list[str] | None
    log_event_filter_pattern: str | None


@dataclass(frozen=True)
class LiveTail:
    """An open live tail: its start event, then its updates until the client goes."""

    start: LiveTailStart
    session: LiveSession
    _tails: LiveTails
    time_scale: float = 1.0

    async def events(self, interval: float = 1.0) -> AsyncIterator[tuple[str, object]]:
        """``(event name, event)`` pairs: ``sessionStart`` first, then ``sessionUpdate``s,
        until the session times out (SessionTimeoutException) or the client goes."""
        deadline = time.monotonic() + SESSION_SECONDS / self.time_scale
        try:
            yield "sessionStart", self.start
            async for update in self.session.updates(interval):
                yield "sessionUpdate", update
                if time.monotonic() > deadline:
                    raise ServiceError("SessionTimeoutException",
                                       "Live Tail sessions time out after three hours.")
        finally:
            self._tails.close(self.session)


class Logs:
    """CloudWatch Logs over one store."""

    def __init__(self, store_: Store, time_scale: float) -> None:
        self._store = store_
        self._live = LiveTails()
        self._sink = LogSink(store_, self._live)
        self._retention = LogRetention(store_, time_scale)
        self._queries = Queries(store_)
        self._time_scale = time_scale

    async def start(self) -> None:
        """Start deleting events past their group's retention; run again the Insights
        queries a previous process left unfinished."""
        self._retention.sweeper.start()
        await self._queries.start()

    async def stop(self) -> None:
        """Stop the retention sweep and the running queries."""
        await self._queries.stop()
        await self._retention.sweeper.stop()

    # -- groups and streams

    async def create_log_group(
        self, caller: Caller, name: str, tags: dict[str, str] | None = None
    ) -> None:
        """Create log group ``name``."""
        _tag_rules.check(name, tags or {})
        await self._store.write(
            partial(store.create_group, owner=caller, name=name, now=now_ms(), tags=tags)
        )

    async def delete_log_group(self, caller: Caller, name: str) -> None:
        """Delete a log group with its streams and events."""
        await self._store.write(partial(store.delete_group, owner=caller, name=name))

    async def put_retention_policy(self, caller: Caller, group: str, days: int) -> None:
        """Keep the group's events this many days; older ones are deleted."""
        if days not in RETENTION_DAYS:
            allowed = ", ".join(map(str, RETENTION_DAYS))
            raise invalid(
                f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to "
                f"satisfy constraint: Member must satisfy enum value set: [{allowed}]"
            )
        await self._store.write(partial(store.set_retention, owner=caller, name=group, days=days))

    async def delete_retention_policy(self, caller: Caller, group: str) -> None:
        """Keep the group's events for ever again."""
        await self._store.write(partial(store.set_retention, owner=caller, name=group, days=None))

    async def create_log_stream(self, caller: Caller, group: str, name: str) -> None:
        """Create a log stream in an existing group."""
        await self._store.write(
            partial(store.create_stream, owner=caller, group=group, name=name, now=now_ms())
        )

    async def delete_log_stream(self, caller: Caller, group: str, name: str) -> None:
        """Delete a log stream and its events."""
        await self._store.write(
            partial(store.delete_stream, owner=caller, group=group, name=name)
        )

    async def describe_log_groups(
        self,
        caller: Caller,
        prefix: str | None,
        pattern: str | None,
        token: str | None,
        limit: int,
    ) -> LogGroups:
        """Log groups by name, optionally those whose names start with ``prefix`` or contain
        ``pattern`` (in any case)."""
        if prefix and pattern:
            raise invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive.")
        rows, next_token = await self._groups(caller, prefix, token, limit,
                                              lambda name: _contains(name, pattern))
        groups = [
            LogGroup(
                log_group_name=row.name,
                creation_time=row.created_at,
                stored_bytes=row.stored_bytes,
                arn=f"{self._group_arn(caller, row.name)}:*",
                log_group_arn=self._group_arn(caller, row.name),
                retention_in_days=row.retention_days,
            )
            for row in rows
        ]
        return LogGroups(groups, next_token)

    async def list_log_groups(
        self, caller: Caller, pattern: str | None, token: str | None, limit: int
    ) -> LogGroupSummaries:
        """Log groups by name, optionally those matching ``pattern``: a regular expression
        that may use ``^`` for prefixes and ``|`` for alternatives, matched case-sensitively."""
        matches = _name_pattern(pattern)
        rows, next_token = await self._groups(caller, None, token, limit, matches)
        return LogGroupSummaries(
            [LogGroupSummary(row.name, self._group_arn(caller, row.name)) for row in rows],
            next_token,
        )

    async def _groups(
        self,
        caller: Caller,
        prefix: str | None,
        token: str | None,
        limit: int,
        keep: Callable[[str], bool],
    ) -> tuple[list[Any], str | None]:
        """A page of ``caller``'s groups that ``keep`` keeps, read a chunk of rows at a time."""
        after = _pager.decode("groups", token)
        kept: list[Any] = []
        while len(kept) <= limit:
            rows = await self._store.read(partial(
                store.groups, owner=caller, prefix=prefix,
                after=None if after is None else str(after), limit=GROUP_SCAN_ROWS,
            ))
            kept.extend(row for row in rows[:GROUP_SCAN_ROWS] if keep(row.name))
            if len(rows) <= GROUP_SCAN_ROWS:
                break
            after = rows[GROUP_SCAN_ROWS - 1].name
        page = kept[:limit]
        more = len(kept) > limit
        return page, _pager.encode("groups", page[-1].name) if more else None

    async def describe_log_streams(
        self,
        caller: Caller,
        group: str,
        prefix: str | None,
        by_last_event: bool,
        descending: bool,
        token: str | None,
        limit: int,
    ) -> LogStreams:
        """The streams of a group by name or by last event time."""
        if by_last_event and prefix:
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        listing = f"streams:{by_last_event}:{descending}"
        offset = _pager.decode_int(listing, token) or 0

        def read(conn: Connection) -> list[Any]:
            return store.streams(
                conn, store.require_group(conn, caller, group), prefix=prefix,
                by_last_event=by_last_event, descending=descending, offset=offset, limit=limit,
            )

        rows = await self._store.read(read)
        group_arn = self._group_arn(caller, group)
        streams = [
            LogStream(
                log_stream_name=row.name,
                creation_time=row.created_at,
                stored_bytes=row.stored_bytes,
                arn=f"{group_arn}:log-stream:{row.name}",
                first_event_timestamp=row.first_event_at,
                last_event_timestamp=row.last_event_at,
                last_ingestion_time=row.last_ingestion_at,
            )
            for row in rows[:limit]
        ]
        more = len(rows) > limit
        return LogStreams(streams, _pager.encode(listing, offset + limit) if more else None)

    @staticmethod
    def _group_arn(caller: Caller, group: str) -> str:
        return caller.arn("logs", f"log-group:{group}")

    # -- tags

    async def tag_log_group(self, caller: Caller, group: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags of a log group."""
        await self._retag(caller, group, lambda current: {**current, **tags}, tags)

    async def untag_log_group(self, caller: Caller, group: str, keys: list[str]) -> None:
        """Remove the tags named ``keys`` of a log group (absent keys are ignored)."""
        for key in keys:
            _tag_rules.check_key(key)
        await self._retag(
            caller, group, lambda current: {k: v for k, v in current.items() if k not in keys}
        )

    async def list_tags_log_group(self, caller: Caller, group: str) -> Tags:
        """The tags of a log group."""

        def read(conn: Connection) -> dict[str, str]:
            return store.group_tags(conn, store.require_group(conn, caller, group))

        return Tags(await self._store.read(read))

    async def tag_resource(self, caller: Caller, arn: str, tags: dict[str, str]) -> None:
        """TagResource: add or overwrite tags of the log group ``arn`` names."""
        await self.tag_log_group(caller, self._group_of(caller, arn), tags)

    async def untag_resource(self, caller: Caller, arn: str, keys: list[str]) -> None:
        """UntagResource: remove tags of the log group ``arn`` names."""
        await self.untag_log_group(caller, self._group_of(caller, arn), keys)

    async def list_tags_for_resource(self, caller: Caller, arn: str) -> Tags:
        """ListTagsForResource: the tags of the log group ``arn`` names."""
        return await self.list_tags_log_group(caller, self._group_of(caller, arn))

    async def _retag(
        self,
        caller: Caller,
        group: str,
        change: Callable[[dict[str, str]], dict[str, str]],
        added: dict[str, str] | None = None,
    ) -> None:
        def write(conn: Connection) -> None:
            found = store.require_group(conn, caller, group)
            current = store.group_tags(conn, found)
            if added:
                _tag_rules.check(self._group_arn(caller, group), added, current)
            store.set_group_tags(conn, found, change(current))

        await self._store.write(write)

    @staticmethod
    def _group_of(caller: Caller, arn: str) -> str:
        """The name of the log group ``arn`` names in ``caller``'s account and region."""
        parsed = arns.parse(arn, "logs")
        if parsed is None:
            raise invalid(f"Invalid resource ARN: {arn}")
        if (
            parsed.resource_type != "log-group"
            or parsed.account != caller.account_id
            or parsed.region != caller.region
        ):
            raise store.not_found(store.GROUP_MISSING)
        return parsed.resource_id.removesuffix(":*")

    # -- events

    async def put_log_events(
        self, caller: Caller, group: str, stream: str, events: Sequence[tuple[int, str]]
    ) -> PutResult:
        """Append ``(timestamp, message)`` events to an existing stream; events too old or
        too new are rejected, as CloudWatch rejects them."""
        timestamps = [timestamp for timestamp, _ in events]
        if timestamps != sorted(timestamps):
            raise invalid(
                "Log events in a single PutLogEvents request must be in chronological order."
            )
        if timestamps[-1] - timestamps[0] > DAY_MS:
            raise invalid(
                "The batch of log events in a single PutLogEvents request cannot span more "
                "than 24 hours."
            )
        now = now_ms()
        too_old = [i for i, ts in enumerate(timestamps) if ts < now - 14 * DAY_MS]
        too_new = [i for i, ts in enumerate(timestamps) if ts > now + 2 * 3_600_000]
        accepted = [
            event
            for i, event in enumerate(events)
            if (not too_old or i > too_old[-1]) and (not too_new or i < too_new[0])
        ]

        def write(conn: Connection) -> None:
            store.append(conn, store.require_stream(conn, caller, group, stream), accepted, now)

        await self._store.write(write)
        self._live.publish(caller.account_id, caller.region, group, stream, accepted, now)
        return PutResult(too_old[-1] if too_old else None, too_new[0] if too_new else None)

    async def get_log_events(
        self,
        caller: Caller,
        group: str,
        stream: str,
        window: TimeWindow,
        limit: int,
        token: str | None,
        from_head: bool,
    ) -> StreamEvents:
        """A page of one stream's events, forwards or backwards, with both tokens."""
        position = _event_token(token)
        forward = position[0] == "f" if position else from_head

        def read(conn: Connection) -> list[Any]:
            stream_id = store.require_stream(conn, caller, group, stream)
            if forward:
                after = position[1] if position else 0
                return store.events_after(conn, stream_id, after, window.start, window.end,
                                          limit)
            before = position[1] if position else None
            return store.events_before(conn, stream_id, before, window.start, window.end, limit)

        rows = _within_size(await self._store.read(read), from_end=not forward)
        events = [LogEvent(r.timestamp, r.message, r.ingested_at) for r in rows]
        if rows:
            return StreamEvents(events, f"f/{rows[-1].id}", f"b/{rows[0].id}")
        if position is None or token is None:
            return StreamEvents(events, "f/0", "b/0")
        if position[0] == "f":
            return StreamEvents(events, token, f"b/{position[1] + 1}")
        return StreamEvents(events, f"f/{max(position[1] - 1, 0)}", token)

    async def filter_log_events(
        self,
        caller: Caller,
        group: str,
        streams: list[str] | None,
        stream_prefix: str | None,
        pattern: str | None,
        window: TimeWindow,
        limit: int,
        token: str | None,
    ) -> FilteredEvents:
        """Events of a group's streams that match a filter pattern, oldest first."""
        if streams and stream_prefix:
            raise invalid("logStreamNames and logStreamNamePrefix are mutually exclusive.")
        matches = compile_pattern(pattern)
        after = _pager.decode_int("filter", token) or 0

        def read(conn: Connection) -> tuple[list[Any], bool]:
            found = store.require_group(conn, caller, group)
            rows = store.scan_events(conn, [found], streams, stream_prefix, after, window.start,
                                     window.end, FILTER_SCAN_ROWS + 1)
            return rows[:FILTER_SCAN_ROWS], len(rows) > FILTER_SCAN_ROWS

        rows, more = await self._store.read(read)
        found: list[LogEvent] = []
        last_seen = after
        for row in rows:
            last_seen = row.id
            if not matches(row.message):
                continue
            found.append(
                LogEvent(row.timestamp, row.message, row.ingested_at, row.stream_name, str(row.id))
            )
            if len(found) == limit:
                more = more or row is not rows[-1]
                break
        return FilteredEvents(found, _pager.encode("filter", last_seen) if more else None)

    # -- Logs Insights

    async def start_query(
        self,
        caller: Caller,
        groups: list[str],
        start_s: int,
        end_s: int,
        text: str,
        limit: int | None,
    ) -> StartedQuery:
        """StartQuery over log groups named or ARN'd by ``groups``, between two epoch
        seconds."""
        names = [self._group_of(caller, g) if arns.is_arn(g) else g for g in groups]
        return await self._queries.start_query(caller, names, start_s, end_s, text, limit)

    async def get_query_results(self, caller: Caller, query_id: str) -> QueryResults:
        """GetQueryResults."""
        return await self._queries.results(caller, query_id)

    async def stop_query(self, caller: Caller, query_id: str) -> bool:
        """StopQuery: whether a query that had not finished was stopped."""
        return await self._queries.stop_query(caller, query_id)

    async def describe_queries(
        self,
        caller: Caller,
        group: str | None,
        status: str | None,
        max_results: int,
        token: str | None,
    ) -> QueryList:
        """DescribeQueries: the caller's recent queries, newest first."""
        listing = f"queries:{group}:{status}"
        offset = _pager.decode_int(listing, token) or 0
        found, more = await self._queries.describe(caller, group, status, max_results, offset)
        return QueryList(found, _pager.encode(listing, offset + max_results) if more else None)

    async def get_log_record(self, caller: Caller, ptr: str) -> LogRecord:
        """GetLogRecord: the fields of the event a query result's ``@ptr`` points at."""
        return await self._queries.log_record(caller, ptr)

    # -- live tail

    async def start_live_tail(
        self,
        caller: Caller,
        identifiers: list[str],
        streams: list[str] | None,
        prefixes: list[str] | None,
        pattern: str | None,
    ) -> LiveTail:
        """StartLiveTail: a session over up to 10 log groups (ARNs or names), optionally only
        some streams (by name or prefix, then of exactly one group) and a filter pattern."""
        if streams and prefixes:
            raise invalid("logStreamNames and logStreamNamePrefixes are mutually exclusive.")
        if (streams or prefixes) and len(identifiers) != 1:
            raise invalid(
                "When logStreamNames or logStreamNamePrefixes is given, logGroupIdentifiers "
                "must name exactly one log group."
            )
        matches = compile_pattern(pattern)
        names = {self._group_of(caller, i) if arns.is_arn(i) else i: i for i in identifiers}

        def read(conn: Connection) -> None:
            for name in names:
                store.require_group(conn, caller, name)

        await self._store.read(read)
        session = LiveSession(caller.account_id, caller.region, names,
                              frozenset(streams or ()), tuple(prefixes or ()), matches)
        start = LiveTailStart(
            request_id=caller.request_id, session_id=str(uuid.uuid4()),
            log_group_identifiers=identifiers, log_stream_names=streams,
            log_stream_name_prefixes=prefixes, log_event_filter_pattern=pattern,
        )
        return LiveTail(start, self._live.open(session), self._live, self._time_scale)

    # -- for other services: ``owner`` is the account and region the output belongs to

    def line(self, owner: Owner, group: str, stream: str, timestamp: int, message: str) -> None:
        """Queue one line of live output for ``group``/``stream`` (never blocks)."""
        self._sink.line(_key(owner, group, stream), timestamp, message)

    async def drain(self, owner: Owner, group: str, stream: str) -> None:
        """Wait until every line queued so far for ``group``/``stream`` is committed."""
        await self._sink.drain(_key(owner, group, stream))

    async def stored_lines(self, owner: Owner, group: str, stream: str) -> int:
        """How many lines of ``group``/``stream`` are committed (a restarted server's count of
        what an attempt that outlived the last one had already delivered)."""
        return await self._store.read(
            partial(store.event_count, owner=owner, group=group, name=stream)
        )

    async def write_lines(
        self, owner: Owner, group: str, stream: str, lines: Sequence[tuple[int, str]]
    ) -> None:
        """Append ``(timestamp, message)`` lines and wait until they are readable."""
        if not lines:
            return
        key = _key(owner, group, stream)
        for timestamp, message in lines:
            self._sink.line(key, timestamp, message)
        await self._sink.drain(key)

    @staticmethod
    def open_stream(conn: Connection, owner: Owner, group: str, stream: str, now: int) -> None:
        """Make sure ``group``/``stream`` exists, inside the caller's own write (a job's log
        stream exists from the moment the job is RUNNING)."""
        store.ensure_stream(conn, owner, group, stream, now)

    async def append_to_group(self, owner: Owner, group: str, stream: str, message: str) -> None:
        """Append one event to ``stream`` of an existing ``group`` (created as needed); raises
        ResourceNotFoundException when the group does not exist."""
        now = now_ms()

        def write(conn: Connection) -> None:
            store.require_group(conn, owner, group)
            stream_id = store.ensure_stream(conn, owner, group, stream, now)
            store.append(conn, stream_id, [(now, message)], now)

        await self._store.write(write)
        self._live.publish(owner.account_id, owner.region, group, stream, [(now, message)], now)


def _key(owner: Owner, group: str, stream: str) -> StreamKey:
    return StreamKey(owner.account_id, owner.region, group, stream)


def _contains(name: str, pattern: str | None) -> bool:
    return not pattern or pattern.lower() in name.lower()


def _name_pattern(pattern: str | None) -> Callable[[str], bool]:
    """ListLogGroups' ``logGroupNamePattern``: alternatives split by ``|``, each a substring
    or, after ``^``, a prefix (the model allows nothing else). Built from escaped literals, so
    no pattern can make the match backtrack without end."""
    if not pattern:
        return lambda _name: True
    alternatives = [
        ("^" if alternative.startswith("^") else "") + re.escape(alternative.removeprefix("^"))
        for alternative in pattern.split("|")
    ]
    compiled = re.compile("|".join(f"(?:{a})" for a in alternatives))
    return lambda name: compiled.search(name) is not None


def _event_token(token: str | None) -> tuple[str, int] | None:
    if token is None:
        return None
    direction, _, number = token.partition("/")
    if direction not in ("f", "b") or not number.isdigit():
        raise invalid("The specified nextToken is invalid.")
    return direction, int(number)


def _within_size(rows: list[Any], from_end: bool) -> list[Any]:
    kept: list[Any] = []
    size = 0
    for row in reversed(rows) if from_end else rows:
        size += len(row.message.encode()) + store.EVENT_OVERHEAD
        if size > MAX_RESPONSE_BYTES and kept:
            break
        kept.append(row)
    return list(reversed(kept)) if from_end else kept
