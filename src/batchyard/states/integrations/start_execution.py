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
from batchyard.states.asl.errors import TaskFailure
from batchyard.states.asl.runtime import TaskRequest
from batchyard.states.engine.engine import StatesEngine
from batchyard.states.engine.invokers import unknown_resource
from batchyard.states.engine.records import Execution
from batchyard.states.integrations.calls import (
    checked,
    compact,
    input_shape,
    output_shape,
    request_id,
    sdk_metadata,
    task_failure,
)
from batchyard.states.integrations.casing import from_service, to_service
from batchyard.states.integrations.identity import child_id, execution_of, pattern_of
from batchyard.states.integrations.tokens import TokenWait
from batchyard.states.integrations.watch import Children, Watch
from batchyard.states.service import api as states_api

RESOURCE = "arn:aws:states:::states:startExecution"
SYNC, SYNC2 = ".sync", ".sync:2"


def execution_ended(event: dict[str, Any]) -> bool:
    """Whether a ``states.execution`` bus event announces the end of an execution."""
    return event.get("status") != "RUNNING"


def millis(seconds: float | None) -> int | None:
    """Epoch seconds as the epoch milliseconds Step Functions' results show."""
    return None if seconds is None else int(seconds * 1000)


def described(execution: dict[str, Any], as_json: bool) -> dict[str, Any]:
    """A child's description (DescribeExecution or its end announcement) as ``.sync`` gives it.

    ``as_json`` (``.sync:2``) turns Input and Output from JSON text into JSON values.
    """
    out = from_service(output_shape("stepfunctions", "DescribeExecution"), execution)
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
        self, engine: StatesEngine, executions: Watch, children: Children, tokens: TokenWait
    ) -> None:
        self.engine = engine
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
        await self.engine.settle(execution_of(request))
        if pattern == self.tokens.SUFFIX:
            return await self.tokens.wait(request, lambda: self._start(params))
        if pattern == "":
            child = await self._start(params)
            return {
                "ExecutionArn": child.arn, "StartDate": millis(child.started),
                **sdk_metadata(request_id()),
            }
        return await self._run(request, params, as_json=pattern == SYNC2)

    async def _run(self, request: TaskRequest, params: dict[str, Any], as_json: bool) -> Any:
        parent = execution_of(request)
        child = await self._start(params)
        with (
            self.executions.expecting(child.arn) as ended,
            self.children.tracking(parent, child.arn, lambda: self._stop(child.arn)),
        ):
            current = await self.engine.describe_execution(child.arn)
            final = current.describe() if current.status != "RUNNING" else await ended
        output = described(final, as_json)
        if final["status"] != "SUCCEEDED":
            raise TaskFailure("States.TaskFailed", compact(output))
        return output

    async def _start(self, params: dict[str, Any]) -> Execution:
        try:
            valid = checked(states_api, "StartExecution", params)
            return await self.engine.start_execution(
                valid["stateMachineArn"], valid.get("name"), valid.get("input"),
                valid.get("traceHeader"),
            )
        except ServiceError as error:
            status = error.status or states_api.error_status(error.code)
            raise task_failure("stepfunctions", error, status, request_id()) from None

    async def _stop(self, arn: str) -> None:
        await self.engine.stop_execution(arn, None, None)
