"""Logs API operations: thin wrappers over ``logs.store``.

Pagination tokens: GetLogEvents answers ``f/<id>`` (events after id) and ``b/<id>`` (events
before id); when a direction has nothing more, the token given is handed back, which is how
CloudWatch tells clients they reached the end. The other operations use an opaque position.
"""

from __future__ import annotations

import time
from typing import Any

from batchyard.logs import store as logs
from batchyard.logs.patterns import compile_pattern
from batchyard.logs.service import api
from batchyard.protocol.errors import ServiceError
from batchyard.protocol.service import RequestContext

MAX_EVENTS = 10_000
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


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


def _now() -> int:
    return int(time.time() * 1000)


def _group_name(params: dict[str, Any]) -> str:
    name = params.get("logGroupName")
    identifier = params.get("logGroupIdentifier")
    if name and identifier:
        raise _invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier:
        # An ARN names the group after "log-group:"; a plain identifier is the name itself.
        return identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    if not name:
        raise _invalid("Either logGroupName or logGroupIdentifier must be provided.")
    return name


def _position(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isdigit():
        raise _invalid("The specified nextToken is invalid.")
    return int(token)


@api.operation("CreateLogGroup")
async def create_log_group(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Create a log group."""
    name, tags = params["logGroupName"], params.get("tags")
    await ctx.runtime.store.write(lambda conn: logs.create_group(conn, name, _now(), tags))


@api.operation("PutRetentionPolicy")
async def put_retention_policy(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Keep the group's events this many days; older ones are deleted (``logs.retention``)."""
    group, days = params["logGroupName"], params["retentionInDays"]
    if days not in RETENTION_DAYS:
        allowed = ", ".join(map(str, RETENTION_DAYS))
        raise _invalid(
            f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{allowed}]"
        )
    await ctx.runtime.store.write(lambda conn: logs.set_retention(conn, group, days))


@api.operation("DeleteRetentionPolicy")
async def delete_retention_policy(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Keep the group's events for ever again."""
    group = params["logGroupName"]
    await ctx.runtime.store.write(lambda conn: logs.set_retention(conn, group, None))


@api.operation("CreateLogStream")
async def create_log_stream(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Create a log stream in an existing group."""
    group, name = params["logGroupName"], params["logStreamName"]
    await ctx.runtime.store.write(lambda conn: logs.create_stream(conn, group, name, _now()))


@api.operation("DescribeLogGroups")
async def describe_log_groups(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """List log groups by name, optionally by prefix."""
    offset, limit = _position(params.get("nextToken")), params.get("limit", 50)
    prefix = params.get("logGroupNamePrefix")
    rows = await ctx.runtime.store.read(lambda conn: logs.groups(conn, prefix, offset, limit))
    for row in rows:
        row["arn"] = ctx.runtime.arn("logs", f"log-group:{row['logGroupName']}:*")
        row["logGroupArn"] = row["arn"].removesuffix(":*")
    return {
        "logGroups": rows[:limit],
        "nextToken": str(offset + limit) if len(rows) > limit else None,
    }


@api.operation("DescribeLogStreams")
async def describe_log_streams(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """List the streams of a group by name or by last event time."""
    group = _group_name(params)
    by_last_event = params.get("orderBy") == "LastEventTime"
    prefix = params.get("logStreamNamePrefix")
    if by_last_event and prefix:
        raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
    offset, limit = _position(params.get("nextToken")), params.get("limit", 50)
    rows = await ctx.runtime.store.read(
        lambda conn: logs.streams(
            conn,
            group,
            prefix=prefix,
            by_last_event=by_last_event,
            descending=bool(params.get("descending")),
            offset=offset,
            limit=limit,
        )
    )
    for row in rows:
        row["arn"] = ctx.runtime.arn("logs", f"log-group:{group}:log-stream:{row['logStreamName']}")
    return {
        "logStreams": rows[:limit],
        "nextToken": str(offset + limit) if len(rows) > limit else None,
    }


@api.operation("PutLogEvents")
async def put_log_events(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Append events to an existing stream; events too old or too new are rejected."""
    group, name = params["logGroupName"], params["logStreamName"]
    events = params["logEvents"]
    timestamps = [event["timestamp"] for event in events]
    if timestamps != sorted(timestamps):
        raise _invalid(
            "Log events in a single PutLogEvents request must be in chronological order."
        )
    if timestamps[-1] - timestamps[0] > DAY_MS:
        raise _invalid(
            "The batch of log events in a single PutLogEvents request cannot span more than "
            "24 hours."
        )
    now = _now()
    too_old = [i for i, ts in enumerate(timestamps) if ts < now - 14 * DAY_MS]
    too_new = [i for i, ts in enumerate(timestamps) if ts > now + 2 * 3_600_000]
    accepted = [
        (event["timestamp"], event["message"])
        for i, event in enumerate(events)
        if (not too_old or i > too_old[-1]) and (not too_new or i < too_new[0])
    ]

    def write(conn: Any) -> None:
        stream = logs.require_stream(conn, group, name)
        logs.append(conn, stream, accepted, now)

    await ctx.runtime.store.write(write)
    rejected: dict[str, int] = {}
    if too_old:
        rejected["tooOldLogEventEndIndex"] = too_old[-1]
    if too_new:
        rejected["tooNewLogEventStartIndex"] = too_new[0]
    return {"rejectedLogEventsInfo": rejected or None}


def _event_token(token: str | None) -> tuple[str, int] | None:
    if token is None:
        return None
    direction, _, number = token.partition("/")
    if direction not in ("f", "b") or not number.isdigit():
        raise _invalid("The specified nextToken is invalid.")
    return direction, int(number)


def _within_size(rows: list[Any], from_end: bool) -> list[Any]:
    kept: list[Any] = []
    size = 0
    for row in reversed(rows) if from_end else rows:
        size += len(row.message.encode()) + logs.EVENT_OVERHEAD
        if size > MAX_RESPONSE_BYTES and kept:
            break
        kept.append(row)
    return list(reversed(kept)) if from_end else kept


@api.operation("GetLogEvents")
async def get_log_events(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """A page of one stream's events, forwards or backwards, with both continuation tokens."""
    group, name = _group_name(params), params["logStreamName"]
    limit = params.get("limit", MAX_EVENTS)
    start, end = params.get("startTime"), params.get("endTime")
    given = params.get("nextToken")
    token = _event_token(given)
    forward = token[0] == "f" if token else bool(params.get("startFromHead"))

    def read(conn: Any) -> list[Any]:
        stream = logs.require_stream(conn, group, name)
        if forward:
            after = token[1] if token else 0
            return logs.events_after(conn, stream, after, start, end, limit)
        before = token[1] if token else None
        return logs.events_before(conn, stream, before, start, end, limit)

    rows = _within_size(await ctx.runtime.store.read(read), from_end=not forward)
    events = [
        {"timestamp": r.timestamp, "message": r.message, "ingestionTime": r.ingested_at}
        for r in rows
    ]
    if rows:
        forward_token, backward_token = f"f/{rows[-1].id}", f"b/{rows[0].id}"
    elif token:
        forward_token = backward_token = given
        if token[0] == "f":
            backward_token = f"b/{token[1] + 1}"
        else:
            forward_token = f"f/{max(token[1] - 1, 0)}"
    else:
        forward_token, backward_token = "f/0", "b/0"
    return {
        "events": events,
        "nextForwardToken": forward_token,
        "nextBackwardToken": backward_token,
    }


@api.operation("FilterLogEvents")
async def filter_log_events(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Events of a group's streams that match a plain-term filter pattern, oldest first."""
    group = _group_name(params)
    names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
    if names and prefix:
        raise _invalid("logStreamNames and logStreamNamePrefix are mutually exclusive.")
    matches = compile_pattern(params.get("filterPattern"))
    limit = params.get("limit", MAX_EVENTS)
    after = _position(params.get("nextToken"))
    start, end = params.get("startTime"), params.get("endTime")

    def read(conn: Any) -> tuple[list[Any], bool]:
        logs.require_group(conn, group)
        rows = logs.scan_events(conn, group, names, prefix, after, start, end, FILTER_SCAN_ROWS + 1)
        return rows[:FILTER_SCAN_ROWS], len(rows) > FILTER_SCAN_ROWS

    rows, more = await ctx.runtime.store.read(read)
    found: list[dict[str, Any]] = []
    last_seen = after
    for row in rows:
        last_seen = row.id
        if matches(row.message):
            found.append(
                {
                    "logStreamName": row.stream_name,
                    "timestamp": row.timestamp,
                    "message": row.message,
                    "ingestionTime": row.ingested_at,
                    "eventId": str(row.id),
                }
            )
            if len(found) == limit:
                more = more or row is not rows[-1]
                break
    return {"events": found, "nextToken": str(last_seen) if more else None}
