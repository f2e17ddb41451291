"""State machine targets: each delivery starts an execution whose input is the target's
input (the whole event unless configured otherwise)."""

from __future__ import annotations

from batchyard.aws.caller import Caller
from batchyard.events.targets import STATE_MACHINE, Delivery, TargetError, deliverer
from batchyard.protocol.errors import ServiceError
from batchyard.runtime import Runtime
from batchyard.states import StepFunctions


@deliverer(STATE_MACHINE)
async def deliver_to_state_machine(runtime: Runtime, delivery: Delivery) -> None:
    """Start an execution of the target state machine, in the rule's account and region."""
    settings = runtime.settings
    caller = Caller(settings.account_id, settings.region).acting_for(delivery.rule_arn)
    try:
        await runtime.get(StepFunctions).start_execution(caller, delivery.arn, input=delivery.input)
    except ServiceError as error:
        raise TargetError(error.code, error.message) from None
