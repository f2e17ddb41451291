"""Log group targets: each event is one log event in the group, in a stream named by the
event's id, written through the Logs service's store."""

from __future__ import annotations

import time
from functools import partial

from sqlalchemy import Connection

from batchyard.events.targets import LOG_GROUP, Delivery, TargetError, deliverer, parse_arn
from batchyard.logs import store as logs
from batchyard.protocol.errors import ServiceError
from batchyard.runtime import Runtime


@deliverer(LOG_GROUP)
async def deliver_to_log_group(runtime: Runtime, delivery: Delivery) -> None:
    """Append the delivery's input to its log group; the group must exist, as on AWS."""
    parsed = parse_arn(delivery.arn)
    assert parsed is not None, "PutTargets accepted a malformed ARN"
    group = parsed[1].removesuffix(":*")
    write = partial(
        _append,
        group=group,
        stream=str(delivery.event.get("id", "events")),
        message=delivery.input,
        timestamp=int(time.time() * 1000),
    )
    try:
        await runtime.store.write(write)
    except ServiceError as error:
        raise TargetError(error.code, error.message) from None


def _append(conn: Connection, group: str, stream: str, message: str, timestamp: int) -> None:
    logs.require_group(conn, group)
    stream_id = logs.ensure_stream(conn, group, stream, timestamp)
    logs.append(conn, stream_id, [(timestamp, message)], timestamp)
