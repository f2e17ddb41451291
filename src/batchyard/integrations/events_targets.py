"""EventBridge targets served by the other services, one :class:`~batchyard.events.Deliverer`
each, registered with ``EventBridge.register_target`` by the composition root.

Each delivery acts for the rule's account and region: a target in another account or region
does not exist for it, and the delivery fails (recorded) as the service refuses it.
"""

from __future__ import annotations

import json

from batchyard.aws import arns
from batchyard.aws.caller import Caller
from batchyard.batch import Batch, JobRequest
from batchyard.batch.api import RULES as BATCH_RULES
from batchyard.events import Target, TargetError, TargetEvent
from batchyard.functions import InvocationType, Lambda
from batchyard.logs import Logs
from batchyard.protocol.errors import ServiceError
from batchyard.protocol.validate import validate_input
from batchyard.states import StepFunctions


class JobQueueTarget:
    """Batch job queue targets: each delivery submits a job to the queue.

    BatchParameters give the job definition, the job name, and optionally the array size and
    the number of attempts. When the target's input is configured (Input, InputPath or an
    input transformer) and is a JSON object, it becomes the job's ``parameters`` (values that
    are not strings are passed as their JSON text), filling the definition's ``Ref::``
    placeholders.
    """

    def __init__(self, batch: Batch) -> None:
        self._batch = batch

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        """Submit a job as SubmitJob would, checked against the Batch model first."""
        try:
            params = validate_input(
                BATCH_RULES.operation_model("SubmitJob").input_shape,
                submit_request(target, event),
                BATCH_RULES.case_insensitive_enums,
            )
            await self._batch.submit_job(caller, JobRequest.from_input(params))
        except ServiceError as error:
            raise TargetError(error.code, error.message) from None


def submit_request(target: Target, event: TargetEvent) -> dict[str, object]:
    """The SubmitJob input (camelCase members) a delivery to a job queue makes."""
    batch = target.batch_parameters
    assert batch is not None, "PutTargets accepted a job queue target without BatchParameters"
    request: dict[str, object] = {
        "jobName": batch.job_name,
        "jobQueue": target.arn,
        "jobDefinition": batch.job_definition,
    }
    if batch.array_properties is not None and batch.array_properties.size is not None:
        request["arrayProperties"] = {"size": batch.array_properties.size}
    if batch.retry_strategy is not None and batch.retry_strategy.attempts is not None:
        request["retryStrategy"] = {"attempts": batch.retry_strategy.attempts}
    if target.configured_input:
        try:
            document = json.loads(event.input)
        except (ValueError, RecursionError):
            document = None
        if isinstance(document, dict):
            request["parameters"] = {
                key: value if isinstance(value, str) else json.dumps(value)
                for key, value in document.items()
            }
    return request


class StateMachineTarget:
    """State machine targets: each delivery starts an execution whose input is the target's
    input (the whole event unless configured otherwise)."""

    def __init__(self, states: StepFunctions) -> None:
        self._states = states

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        """Start an execution of the target state machine."""
        try:
            await self._states.start_execution(caller, target.arn, input=event.input)
        except ServiceError as error:
            raise TargetError(error.code, error.message) from None


class LogGroupTarget:
    """Log group targets: each event is one log event in the group, in a stream named by the
    event's id, written through the Logs service."""

    def __init__(self, logs: Logs) -> None:
        self._logs = logs

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        """Append the delivery's input to its log group; the group must exist, as on AWS."""
        parsed = arns.parse(target.arn, "logs")
        assert parsed is not None, "PutTargets accepted a malformed ARN"
        group = parsed.resource_id.removesuffix(":*")
        if not caller.owns(target.arn):
            # Logs finds groups by name in the caller's account: one elsewhere is not there.
            raise TargetError(
                "ResourceNotFoundException", "The specified log group does not exist."
            )
        try:
            await self._logs.append_to_group(caller, group, event.event_id or "events", event.input)
        except ServiceError as error:
            raise TargetError(error.code, error.message) from None


class FunctionTarget:
    """Function targets: the input is the payload of an asynchronous (``Event``) invocation,
    as EventBridge invokes Lambda functions."""

    def __init__(self, functions: Lambda) -> None:
        self._functions = functions

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        """Queue one asynchronous invocation of the target function."""
        try:
            await self._functions.invoke(
                caller, target.arn, event.input.encode(), InvocationType.EVENT
            )
        except ServiceError as error:
            raise TargetError(error.code, error.message) from None
