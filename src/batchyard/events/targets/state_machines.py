"""State machine targets: each delivery starts an execution whose input is the target's
input (the whole event unless configured otherwise)."""

from __future__ import annotations

from batchyard.events.targets import STATE_MACHINE, Delivery, TargetError, deliverer
from batchyard.protocol.errors import ServiceError
from batchyard.runtime import Runtime
from batchyard.states.engine.engine import StatesEngine


@deliverer(STATE_MACHINE)
async def deliver_to_state_machine(runtime: Runtime, delivery: Delivery) -> None:
    """Start an execution of the target state machine."""
    try:
        await runtime.get(StatesEngine).start_execution(delivery.arn, None, delivery.input, None)
    except ServiceError as error:
        raise TargetError(error.code, error.message) from None
