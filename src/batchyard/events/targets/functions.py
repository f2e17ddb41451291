"""Function targets: the input is the payload of an asynchronous (``Event``) invocation,
as EventBridge invokes Lambda functions."""

from __future__ import annotations

from batchyard.events.targets import FUNCTION, Delivery, TargetError, deliverer
from batchyard.functions.invoke import invoke
from batchyard.protocol.errors import ServiceError
from batchyard.runtime import Runtime


@deliverer(FUNCTION)
async def deliver_to_function(runtime: Runtime, delivery: Delivery) -> None:
    """Queue one asynchronous invocation of the target function."""
    try:
        await invoke(runtime, delivery.arn, delivery.input.encode(), "Event")
    except ServiceError as error:
        raise TargetError(error.code, error.message) from None
