"""Log group targets: each event is one log event in the group, in a stream named by the
event's id, written through the Logs service."""

from __future__ import annotations

from batchyard.aws.caller import Caller
from batchyard.events.targets import LOG_GROUP, Delivery, TargetError, deliverer, parse_arn
from batchyard.logs import Logs
from batchyard.protocol.errors import ServiceError
from batchyard.runtime import Runtime


@deliverer(LOG_GROUP)
async def deliver_to_log_group(runtime: Runtime, delivery: Delivery) -> None:
    """Append the delivery's input to its log group; the group must exist, as on AWS."""
    parsed = parse_arn(delivery.arn)
    assert parsed is not None, "PutTargets accepted a malformed ARN"
    group = parsed[1].removesuffix(":*")
    stream = str(delivery.event.get("id", "events"))
    try:
        owner = Caller(runtime.settings.account_id, runtime.settings.region).acting_for(
            delivery.arn
        )
        await runtime.get(Logs).append_to_group(owner, group, stream, delivery.input)
    except ServiceError as error:
        raise TargetError(error.code, error.message) from None
