"""``arn:aws:states:::states:startExecution``: request-response, ``.sync``, ``.sync:2`` and
``.waitForTaskToken``.

Parameters are StartExecution's members in PascalCase; ``Input`` may be any JSON value (sent
as its text) or a string (sent as is). ``.sync`` answers with the child's DescribeExecution
in PascalCase, Input and Output as JSON text; ``.sync:2`` gives them as JSON values. A child
that does not succeed fails the task with ``States.TaskFailed`` and that description as cause.
Without a Name the child's name is derived from the task attempt, so a task resumed after a
restart finds the execution it started instead of starting another (the task's entry is
committed before the child starts).
"""

from __future__ import annotations

import json
from typing import Any

from batchyard.protocol.errors import ServiceError
from batchyard.protocol.service import ServiceApi, load_model
from batchyard.protocol.wire import serialize_output
from batchyard.states.asl import TaskFailure, TaskRequest
from batchyard.states.integrations.calls import (
    checked,
    child_id,
    compact,
    execution_of,
    from_service,
    input_shape,
    output_shape,
    pattern_of,
    request_id,
    sdk_metadata,
    task_failure,
    to_service,
)
from batchyard.states.integrations.waits import Children, TokenWait, Watch
from batchyard.states.model import Execution, ExecutionStatus
from batchyard.states.service import StepFunctions
from batchyard.states.tasks import unknown_resource

RESOURCE = "arn:aws:states:::states:startExecution"
SYNC, SYNC2 = ".sync", ".sync:2"
# Step Functions' own input rules, for the StartExecution a task asks for.
_RULES = ServiceApi("stepfunctions", "ValidationException", {})


def execution_ended(event: dict[str, Any]) -> bool:
    """Whether a ``states.execution`` bus event announces the end of an execution."""
    return event.get("status") != "RUNNING"


def millis(seconds: float | None) -> int | None:
    """Epoch seconds as the epoch milliseconds Step Functions' results show."""
    return None if seconds is None else int(seconds * 1000)


_DESCRIBE = load_model("stepfunctions").operation_model("DescribeExecution")


def described(execution: dict[str, Any], as_json: bool) -> dict[str, Any]:
    """A child's description (DescribeExecution or its end announcement) as ``.sync`` gives it.

    ``as_json`` (``.sync:2``) turns Input and Output from JSON text into JSON values.
    """
    shape = output_shape("stepfunctions", "DescribeExecution")
    out: dict[str, Any] = from_service(shape, execution)
    for key in ("StartDate", "StopDate"):
        if key in out:
            out[key] = millis(out[key])
    out["InputDetails"] = {"Included": True}
    if "Output" in out:
        out["OutputDetails"] = {"Included": True}
    if as_json:
        for key in ("Input", "Output"):
            if isinstance(out.get(key), str):
                out[key] = json.loads(out[key])
    return out


class StartExecution:
    """Start another state machine's execution from a Task."""

    def __init__(
        self, states: StepFunctions, executions: Watch, children: Children, tokens: TokenWait
    ) -> None:
        self.states = states
        self.executions = executions
        self.children = children
        self.tokens = tokens

    async def invoke(self, request: TaskRequest) -> Any:
        """Start the child; answer at once, when it ends, or when its token comes back."""
        pattern = pattern_of(request.resource, RESOURCE)
        if pattern not in ("", SYNC, SYNC2, self.tokens.SUFFIX):
            raise unknown_resource(request)
        params = to_service(input_shape("stepfunctions", "StartExecution"), request.parameters)
        document = params.get("input")
        if document is not None and not isinstance(document, str):
            params["input"] = compact(document)
        params.setdefault("name", child_id(request))
        # The child is named after this attempt: its entry must be committed first.
        await self.states.settle(execution_of(request))
        if pattern == self.tokens.SUFFIX:
            return await self.tokens.wait(request, lambda: self._start(request, params))
        if pattern == "":
            child = await self._start(request, params)
            return {
                "ExecutionArn": child.arn, "StartDate": millis(child.started),
                **sdk_metadata(request_id()),
            }
        return await self._run(request, params, as_json=pattern == SYNC2)

    async def _run(self, request: TaskRequest, params: dict[str, Any], as_json: bool) -> Any:
        parent = execution_of(request)
        child = await self._start(request, params)
        with (
            self.executions.expecting(child.arn) as ended,
            self.children.tracking(parent, child.arn, lambda: self._stop(request, child.arn)),
        ):
            current = await self.states.describe_execution(request.caller, child.arn)
            if current.status != ExecutionStatus.RUNNING:
                final = json.loads(serialize_output(_DESCRIBE, current).body)
            else:
                final = await ended
        output = described(final, as_json)
        if final["status"] != "SUCCEEDED":
            raise TaskFailure("States.TaskFailed", compact(output))
        return output

    async def _start(self, request: TaskRequest, params: dict[str, Any]) -> Execution:
        try:
            valid = checked(_RULES, "StartExecution", params)
            return await self.states.start_execution(
                request.caller, valid["stateMachineArn"], valid.get("name"), valid.get("input"),
                valid.get("traceHeader"),
            )
        except ServiceError as error:
            status = error.status or _RULES.error_status(error.code)
            raise task_failure("stepfunctions", error, status, request_id()) from None

    async def _stop(self, request: TaskRequest, arn: str) -> None:
        await self.states.stop_execution(request.caller, arn)
