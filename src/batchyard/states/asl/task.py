"""The Task state: one attempt runs the resource through the interpreter's
:class:`~batchyard.states.asl.runtime.TaskInvoker`.

The ASL layer knows no integrations: whoever runs the interpreter injects an invoker that
turns a resource ARN and its parameters into a result (or a :class:`TaskFailure`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from batchyard.states.asl import jsonata, paths
from batchyard.states.asl.definition import TaskState
from batchyard.states.asl.errors import (
    STATES_TIMEOUT,
    FailureError,
    QueryEvaluationError,
    RuntimeFailure,
    TaskFailure,
    TaskResultTooLarge,
)
from batchyard.states.asl.runtime import PAYLOAD_LIMIT_BYTES, Outcome, StateRun, TaskRequest
from batchyard.states.asl.timestamps import iso
from batchyard.states.asl.values import MISSING, dumps

WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"


class ScheduleFailure(TaskFailure):
    """The task could not be scheduled at all (an activity that does not exist)."""


class EchoInvoker:
    """A trivial invoker for tests: returns the parameters, or fails on demand.

    ``handlers`` maps a resource ARN to an async function of the request; anything else
    echoes the parameters back.
    """

    def __init__(
        self, handlers: dict[str, Callable[[TaskRequest], Awaitable[Any]]] | None = None
    ) -> None:
        self.handlers = handlers or {}
        self.calls: list[TaskRequest] = []

    async def invoke(self, request: TaskRequest) -> Any:
        self.calls.append(request)
        handler = self.handlers.get(request.resource)
        if handler is not None:
            return await handler(request)
        return request.parameters


def resource_parts(arn: str) -> tuple[str, str]:
    """``(resourceType, resource)`` as TaskScheduled shows them."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[2] == "states" and parts[3] == "" and parts[4] == "":
        service, _, action = ":".join(parts[5:]).partition(":")
        if service == "aws-sdk":
            # An SDK integration's type names the service too: aws-sdk:batch, submitJob.
            sdk_service, _, action = action.partition(":")
            return f"{service}:{sdk_service}", action
        return service, action
    if len(parts) >= 3:
        return parts[2], arn
    return "unknown", arn


def _seconds(run: StateRun, value: Any, path: Any, field_name: str) -> int | None:
    if value is not MISSING:
        if not (run.state.is_jsonata and jsonata.is_expr(value)):
            # A literal was checked when the definition was created.
            literal: int = value
            return literal
        got = run.jsonata(value, field_name)
        if not isinstance(got, int) or isinstance(got, bool):
            raise jsonata.unexpected_type(value, field_name, "integer", got)
        if got < 1:
            # Our own words: AWS's for a count of seconds below one are on no record.
            raise QueryEvaluationError(
                f"The JSONata expression '{jsonata.expr_body(value)}' specified for the field "
                f"'{field_name}' returned a value below 1: {got}",
                field_name,
            )
        return got
    if path is not MISSING:
        got = paths.resolve_selection(path, run.raw_input, run.scope())
        if not isinstance(got, int) or isinstance(got, bool) or got < 1:
            raise RuntimeFailure(
                f'The {field_name}Path field refers to value "{dumps(got)}" which is not '
                f"a valid positive integer: {path}"
            )
        return got
    return None


def is_activity_arn(arn: str) -> bool:
    """Whether ``arn`` names an activity (``arn:…:states:<region>:<account>:activity:<name>``)."""
    parts = arn.split(":")
    return len(parts) >= 7 and parts[2] == "states" and parts[5] == "activity"


def is_function_arn(arn: str) -> bool:
    """Whether ``arn`` names a Lambda function (the legacy Task resource)."""
    parts = arn.split(":")
    return len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function"


async def run_task(run: StateRun) -> Outcome:
    """Run one attempt of a Task state through the injected invoker.

    A function ARN as the resource reports LambdaFunction* events and an activity ARN
    Activity* events, as AWS does for them; every other resource reports Task* events.
    """
    st = run.state
    assert isinstance(st, TaskState)
    attempt = "|".join((run.frame.key, st.name, iso(run.entered_time), str(run.retry_count)))
    if st.resource.endswith(WAIT_FOR_TASK_TOKEN) and run.interp.task_tokens is not None:
        run.task_token = await run.interp.task_tokens(run.context_object(), attempt)
    params = run.effective_input()
    timeout = _seconds(run, st.timeout_seconds, st.timeout_seconds_path, "TimeoutSeconds")
    heartbeat = _seconds(run, st.heartbeat_seconds, st.heartbeat_seconds_path, "HeartbeatSeconds")
    function = is_function_arn(st.resource)
    activity = is_activity_arn(st.resource)
    rtype, resource = resource_parts(st.resource)
    # Task* events name the resource; LambdaFunction* and Activity* events carry no such fields.
    named: dict[str, Any] = (
        {} if function or activity else {"resourceType": rtype, "resource": resource}
    )
    beats = asyncio.Event()

    def taken(worker: str) -> None:
        # A task re-dispatched after a restart may be taken again: it started only once.
        if activity and not run.resume.get("activity_started"):
            details = {"workerName": worker} if worker else {}
            run.emit("ActivityStarted", {"activityStartedEventDetails": details})
            run.remember(activity_started=True)

    request = TaskRequest(
        resource=st.resource,
        parameters=params,
        context=run.context_object(),
        state_name=st.name,
        timeout_seconds=timeout,
        heartbeat_seconds=heartbeat,
        credentials=None if st.credentials is MISSING else st.credentials,
        heartbeat=beats.set,
        started=taken,
        attempt=attempt,
        caller=run.interp.info.caller,
    )
    # A task resumed after a restart was scheduled and started before it: say so only once.
    if not run.resume.get("task_started"):
        if activity:
            # An activity that does not exist fails the state before anything is scheduled.
            missing = await run.interp.unschedulable(request)
            if missing is not None:
                raise missing
        if function:
            scheduled: dict[str, Any] = {
                "resource": st.resource,
                "input": dumps(params),
                "inputDetails": {"truncated": False},
            }
            if timeout is not None:
                scheduled["timeoutInSeconds"] = timeout
            run.emit("LambdaFunctionScheduled", {"lambdaFunctionScheduledEventDetails": scheduled})
            run.emit("LambdaFunctionStarted")
        elif activity:
            # ActivityStarted follows once a worker takes the task (GetActivityTask).
            run.emit("ActivityScheduled", {"activityScheduledEventDetails": _activity_scheduled(
                st.resource, params, timeout, heartbeat
            )})
        else:
            scheduled = {
                **named,
                "region": run.interp.info.region,
                "parameters": dumps(params),
            }
            if timeout is not None:
                scheduled["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                scheduled["heartbeatInSeconds"] = heartbeat
            run.emit("TaskScheduled", {"taskScheduledEventDetails": scheduled})
            run.emit("TaskStarted", {"taskStartedEventDetails": dict(named)})
        run.remember(task_started=True)
    prefix, key_prefix = (
        ("LambdaFunction", "lambdaFunction") if function
        else ("Activity", "activity") if activity
        else ("Task", "task")
    )
    try:
        result = await run.interp.invoke_with_timeouts(request, beats)
        if len(dumps(result).encode()) > PAYLOAD_LIMIT_BYTES:
            # AWS names a legacy ARN resource itself, an integration by its service.
            raise TaskResultTooLarge(st.resource if function or activity else rtype)
    except FailureError as exc:
        outcome = (
            "TimedOut" if exc.error == STATES_TIMEOUT
            else "ScheduleFailed" if activity and isinstance(exc, ScheduleFailure)
            else "Failed"
        )
        details: dict[str, Any] = dict(named)
        if exc.error is not None:
            details["error"] = exc.error
        if exc.cause is not None:
            details["cause"] = exc.cause
        run.emit(f"{prefix}{outcome}", {f"{key_prefix}{outcome}EventDetails": details})
        if not isinstance(exc, TaskFailure | RuntimeFailure):
            raise TaskFailure(exc.error, exc.cause) from None
        raise
    run.emit(
        f"{prefix}Succeeded",
        {
            f"{key_prefix}SucceededEventDetails": {
                **named,
                "output": dumps(result),
                "outputDetails": {"truncated": False},
            }
        },
    )
    run.note("result", result)
    return run.finish(result)


def _activity_scheduled(
    arn: str, params: Any, timeout: int | None, heartbeat: int | None
) -> dict[str, Any]:
    """ActivityScheduled's details: the activity, the task's input and its time limits."""
    details: dict[str, Any] = {
        "resource": arn, "input": dumps(params), "inputDetails": {"truncated": False},
    }
    if timeout is not None:
        details["timeoutInSeconds"] = timeout
    if heartbeat is not None:
        details["heartbeatInSeconds"] = heartbeat
    return details
