"""Logs Insights queries as the API runs them: StartQuery stores the query and runs it in the
background, GetQueryResults reads its state and results, StopQuery cancels it.

A query runs in a worker thread, reading the events of its groups a chunk at a time, so it
never holds up the event loop nor holds a long read transaction; its results are stored with
it, so they outlive a restart. A query the previous process left Scheduled or Running runs
again at start-up.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.clock import now_ms
from batchyard.logs import store
from batchyard.logs.insights import (
    Query,
    QueryError,
    Record,
    compile_query,
    discover,
    format_timestamp,
    render,
)
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.tables.logs import log_events, log_groups, log_queries, log_streams

log = logging.getLogger(__name__)

# Events read per chunk while a query scans its groups.
CHUNK = 5000
MAX_GROUPS = 50
# AWS stops a query after 60 minutes.
TIMEOUT_SECONDS = 3600.0


class QueryStatus(StrEnum):
    """The states of a query, as GetQueryResults and DescribeQueries name them."""

    SCHEDULED = "Scheduled"
    RUNNING = "Running"
    COMPLETE = "Complete"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    TIMEOUT = "Timeout"


UNFINISHED = (QueryStatus.SCHEDULED, QueryStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class ResultField:
    """One field of one result row."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class QueryStatistics:
    """How much a query read and matched."""

    records_matched: float
    records_scanned: float
    bytes_scanned: float


@dataclass(frozen=True, slots=True)
class QueryResults:
    """GetQueryResults: the rows so far (all of them once Complete) and the status."""

    results: list[list[ResultField]]
    statistics: QueryStatistics
    status: QueryStatus
    query_language: str = "CWLI"


@dataclass(frozen=True, slots=True)
class QueryInfo:
    """One query as DescribeQueries lists it."""

    query_id: str
    query_string: str
    status: QueryStatus
    create_time: int
    log_group_name: str
    query_language: str = "CWLI"


@dataclass(frozen=True, slots=True)
class StartedQuery:
    """StartQuery's answer."""

    query_id: str


@dataclass(frozen=True, slots=True)
class QueryList:
    """A page of DescribeQueries."""

    queries: list[QueryInfo]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class LogRecord:
    """GetLogRecord: every field of the event a ``@ptr`` points at."""

    log_record: dict[str, str]


def malformed(message: str) -> ServiceError:
    """AWS's MalformedQueryException."""
    return ServiceError("MalformedQueryException", message,
                        queryCompileError={"message": message})


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


def pointer(event_id: int) -> str:
    """The ``@ptr`` of an event."""
    return base64.urlsafe_b64encode(f"event:{event_id}".encode()).decode().rstrip("=")


def _event_of(ptr: str) -> int:
    try:
        text = base64.urlsafe_b64decode(ptr + "=" * (-len(ptr) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeError):
        text = ""
    kind, _, number = text.partition(":")
    if kind != "event" or not number.isdigit():
        raise _invalid("The specified log record pointer is invalid.")
    return int(number)


class Queries:
    """The Insights queries of one server."""

    def __init__(self, store_: Store) -> None:
        self._store = store_
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancelled: dict[str, threading.Event] = {}

    async def start(self) -> None:
        """Run again the queries a previous process left unfinished."""
        unfinished = await self._store.read(lambda conn: list(conn.execute(
            sa.select(log_queries.c.query_id).where(log_queries.c.status.in_(UNFINISHED))
        ).scalars()))
        for query_id in unfinished:
            self._launch(query_id)

    async def stop(self) -> None:
        """Stop running queries; they run again at the next start."""
        for cancelled in self._cancelled.values():
            cancelled.set()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def start_query(
        self,
        caller: Caller,
        groups: list[str],
        start_s: int,
        end_s: int,
        text: str,
        limit: int | None,
    ) -> StartedQuery:
        """Check and store a query, then run it in the background."""
        if not groups:
            raise _invalid("Either logGroupName, logGroupNames or logGroupIdentifiers is required.")
        if len(groups) > MAX_GROUPS:
            raise _invalid(f"A query can name at most {MAX_GROUPS} log groups.")
        if end_s < start_s:
            raise _invalid("End time should not be before the start time.")
        try:
            compile_query(text)
        except QueryError as error:
            raise malformed(str(error)) from None
        query_id = str(uuid.uuid4())

        def write(conn: Connection) -> None:
            for name in groups:
                if store.group_id(conn, caller, name) is None:
                    raise store.not_found(
                        f"Log group '{name}' does not exist for account ID '{caller.account_id}'"
                    )
            conn.execute(log_queries.insert().values(
                query_id=query_id, account_id=caller.account_id, region=caller.region,
                query_string=text, log_groups=list(groups), start_ms=start_s * 1000,
                end_ms=end_s * 1000 + 999, row_limit=limit, status=QueryStatus.SCHEDULED,
                created_at=now_ms(),
            ))

        await self._store.write(write)
        self._launch(query_id)
        return StartedQuery(query_id)

    async def results(self, caller: Caller, query_id: str) -> QueryResults:
        """The state of a query and its results."""
        row = await self._store.read(partial(_query_row, caller=caller, query_id=query_id))
        statistics = row.statistics or {}
        return QueryResults(
            [[ResultField(name, value) for name, value in result] for result in row.results or []],
            QueryStatistics(
                float(statistics.get("matched", 0)), float(statistics.get("scanned", 0)),
                float(statistics.get("bytes", 0)),
            ),
            QueryStatus(row.status),
        )

    async def stop_query(self, caller: Caller, query_id: str) -> bool:
        """Cancel a query that has not finished; False when it had."""

        def write(conn: Connection) -> bool:
            row = _query_row(conn, caller, query_id)
            if row.status not in UNFINISHED:
                return False
            _set_status(conn, query_id, QueryStatus.CANCELLED)
            return True

        stopped = await self._store.write(write)
        if stopped and query_id in self._cancelled:
            self._cancelled[query_id].set()
        return bool(stopped)

    async def describe(
        self,
        caller: Caller,
        group: str | None,
        status: str | None,
        max_results: int,
        offset: int,
    ) -> tuple[list[QueryInfo], bool]:
        """The caller's queries, newest first, from ``offset``; whether there are more."""

        def read(conn: Connection) -> list[Any]:
            query = (
                sa.select(log_queries)
                .where(log_queries.c.account_id == caller.account_id,
                       log_queries.c.region == caller.region)
                .order_by(log_queries.c.created_at.desc(), log_queries.c.query_id)
            )
            if status:
                query = query.where(log_queries.c.status == status)
            return list(conn.execute(query))

        rows = [
            row for row in await self._store.read(read)
            if group is None or group in row.log_groups
        ]
        page = rows[offset : offset + max_results]
        return [
            QueryInfo(row.query_id, row.query_string, QueryStatus(row.status), row.created_at,
                      row.log_groups[0])
            for row in page
        ], len(rows) > offset + max_results

    async def log_record(self, caller: Caller, ptr: str) -> LogRecord:
        """GetLogRecord: every field of the event ``ptr`` points at."""
        event_id = _event_of(ptr)

        def read(conn: Connection) -> Any:
            return conn.execute(
                sa.select(log_events, log_streams.c.name.label("stream_name"),
                          log_groups.c.name.label("group_name"))
                .join(log_streams, log_streams.c.id == log_events.c.stream_id)
                .join(log_groups, log_groups.c.id == log_streams.c.group_id)
                .where(log_events.c.id == event_id,
                       log_groups.c.account_id == caller.account_id,
                       log_groups.c.region == caller.region)
            ).first()

        row = await self._store.read(read)
        if row is None:
            raise store.not_found("The specified log record does not exist.")
        record = _record(row, caller.account_id)
        return LogRecord({name: render(value) for name, value in record.items()
                          if name != "@ptr" and value is not None})

    def _launch(self, query_id: str) -> None:
        cancelled = threading.Event()
        self._cancelled[query_id] = cancelled
        task = asyncio.get_running_loop().create_task(self._run(query_id, cancelled))
        self._tasks[query_id] = task

        def forget(_task: asyncio.Task[None]) -> None:
            self._tasks.pop(query_id, None)
            self._cancelled.pop(query_id, None)

        task.add_done_callback(forget)

    async def _run(self, query_id: str, cancelled: threading.Event) -> None:
        row = await self._store.write(partial(_begin, query_id=query_id))
        if row is None:
            return
        try:
            status, results, statistics = await asyncio.to_thread(
                self._evaluate, row, cancelled
            )
        except QueryError as error:
            log.info("query %s failed: %s", query_id, error)
            status, results, statistics = QueryStatus.FAILED, [], {}
        except Exception:
            log.exception("query %s failed", query_id)
            status, results, statistics = QueryStatus.FAILED, [], {}
        await self._store.write(partial(
            _finish, query_id=query_id, status=status, results=results, statistics=statistics
        ))

    def _evaluate(
        self, row: Any, cancelled: threading.Event
    ) -> tuple[QueryStatus, list[list[tuple[str, str]]], dict[str, int]]:
        query: Query = compile_query(row.query_string)
        owner = Caller(row.account_id, row.region)
        group_ids = self._store.read_sync(
            lambda conn: [found for name in row.log_groups
                          if (found := store.group_id(conn, owner, name)) is not None]
        )
        counters = {"scanned": 0, "bytes": 0, "matched": 0}
        deadline = time.monotonic() + TIMEOUT_SECONDS
        outcome = [QueryStatus.COMPLETE]

        def records() -> Iterator[Record]:
            after = 0
            while True:
                if cancelled.is_set():
                    outcome[0] = QueryStatus.CANCELLED
                    return
                if time.monotonic() > deadline:
                    outcome[0] = QueryStatus.TIMEOUT
                    return
                chunk = self._store.read_sync(partial(
                    store.scan_events, groups_=group_ids, stream_names=None, stream_prefix=None,
                    after_id=after, start=row.start_ms, end=row.end_ms + 1, limit=CHUNK,
                ))
                for event in chunk:
                    counters["scanned"] += 1
                    counters["bytes"] += len(event.message.encode())
                    yield _record(event, row.account_id)
                if len(chunk) < CHUNK:
                    return
                after = chunk[-1].id

        rows = query.run(records(), row.row_limit, counted=counters)
        results = [
            [(name, render(value) if name != "@timestamp" or not isinstance(value, int)
              else format_timestamp(value)) for name, value in query.fields_of(result)]
            for result in rows
        ]
        return outcome[0], results, counters


def _record(event: Any, account: str) -> Record:
    record: Record = {
        "@timestamp": event.timestamp,
        "@message": event.message,
        "@logStream": event.stream_name,
        "@log": f"{account}:{event.group_name}",
        "@ingestionTime": event.ingested_at,
        "@ptr": pointer(event.id),
    }
    for name, value in discover(event.message).items():
        record.setdefault(name, value)
    return record


def _query_row(conn: Connection, caller: Caller, query_id: str) -> Any:
    row = conn.execute(sa.select(log_queries).where(
        log_queries.c.query_id == query_id,
        log_queries.c.account_id == caller.account_id,
        log_queries.c.region == caller.region,
    )).first()
    if row is None:
        raise store.not_found("The specified query does not exist.")
    return row


def _set_status(conn: Connection, query_id: str, status: QueryStatus) -> None:
    conn.execute(log_queries.update().where(log_queries.c.query_id == query_id)
                 .values(status=status))


def _begin(conn: Connection, query_id: str) -> Any:
    row = conn.execute(sa.select(log_queries).where(log_queries.c.query_id == query_id)).first()
    if row is None or row.status not in UNFINISHED:
        return None
    _set_status(conn, query_id, QueryStatus.RUNNING)
    return row


def _finish(
    conn: Connection,
    query_id: str,
    status: QueryStatus,
    results: list[list[tuple[str, str]]],
    statistics: dict[str, int],
) -> None:
    # A query cancelled meanwhile stays Cancelled.
    conn.execute(
        log_queries.update()
        .where(log_queries.c.query_id == query_id, log_queries.c.status == QueryStatus.RUNNING)
        .values(status=status, results=results, statistics=statistics)
    )
