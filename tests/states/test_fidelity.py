"""Behaviour AWS recorded outside the public corpus (LocalStack's AWS-validated snapshots of
Task states, which the corpus leaves out): each test rebuilds one recorded history."""

from __future__ import annotations

import asyncio
from typing import Any

from batchyard.states.asl import (
    EchoInvoker,
    Interpreter,
    TaskRequest,
    VirtualClock,
    parse_definition,
)

INVOKE = "arn:aws:states:::lambda:invoke"
FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:big"
TOO_LARGE = {"Payload": "x" * (256 * 1024)}
LIMIT_CAUSE = (
    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes "
    "service limit."
)


async def _large(_request: TaskRequest) -> Any:
    return TOO_LARGE


async def _empty(_request: TaskRequest) -> Any:
    return {}


def _catching(resource: str, *catchers: list[str]) -> dict[str, Any]:
    catch = [{"ErrorEquals": errors, "Next": f"Handle{i}"} for i, errors in enumerate(catchers)]
    states: dict[str, Any] = {
        "Invoke": {"Type": "Task", "Resource": resource, "Catch": catch, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    }
    states.update({f"Handle{i}": {"Type": "Pass", "End": True} for i in range(len(catchers))})
    return {"StartAt": "Invoke", "States": states}


def _run(definition: dict[str, Any], resource: str) -> Any:
    invoker = EchoInvoker({resource: _large})
    interp = Interpreter(parse_definition(definition), {}, invoker=invoker, clock=VirtualClock())
    return asyncio.run(interp.run())


def _shape(events: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    return [(e["id"], e["previousEventId"], e["type"]) for e in events]


def test_an_integration_result_over_the_quota_fails_the_task_naming_its_service() -> None:
    result = _run(_catching(INVOKE, ["States.DataLimitExceeded"], ["States.ALL"]), INVOKE)
    cause = LIMIT_CAUSE.format("lambda")
    error_output = {"Error": "States.DataLimitExceeded", "Cause": cause}
    assert (result.status, result.output) == ("SUCCEEDED", error_output)
    assert _shape(result.events) == [
        (1, 0, "ExecutionStarted"), (2, 0, "TaskStateEntered"), (3, 2, "TaskScheduled"),
        (4, 3, "TaskStarted"), (5, 4, "TaskFailed"), (6, 5, "TaskStateExited"),
        (7, 6, "PassStateEntered"), (8, 7, "PassStateExited"), (9, 8, "ExecutionSucceeded"),
    ]
    assert result.events[4]["taskFailedEventDetails"] == {
        "resourceType": "lambda", "resource": "invoke",
        "error": "States.DataLimitExceeded", "cause": cause,
    }
    assert result.events[6]["stateEnteredEventDetails"]["name"] == "Handle0"


def test_states_all_catches_a_task_result_over_the_quota() -> None:
    # AWS's recording: although States.ALL takes no States.DataLimitExceeded of a state's
    # own output, it does take the task's failure.
    result = _run(_catching(INVOKE, ["States.ALL"]), INVOKE)
    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "States.DataLimitExceeded"
    assert result.events[6]["stateEnteredEventDetails"]["name"] == "Handle0"


def test_a_function_result_over_the_quota_names_the_function() -> None:
    result = _run(_catching(FUNCTION, ["States.DataLimitExceeded"]), FUNCTION)
    assert [e["type"] for e in result.events][2:6] == [
        "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
        "TaskStateExited",
    ]
    assert result.events[4]["lambdaFunctionFailedEventDetails"] == {
        "error": "States.DataLimitExceeded", "cause": LIMIT_CAUSE.format(FUNCTION),
    }


def test_a_state_output_over_the_quota_still_names_the_state() -> None:
    definition = {
        "StartAt": "Big",
        "States": {
            "Big": {"Type": "Pass", "Result": TOO_LARGE, "End": True},
        },
    }
    result = asyncio.run(
        Interpreter(parse_definition(definition), {}, clock=VirtualClock()).run()
    )
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert result.cause == LIMIT_CAUSE.format("Big")


def _failure(definition: dict[str, Any], data: Any) -> Any:
    machine = parse_definition(definition)
    return asyncio.run(Interpreter(machine, data, clock=VirtualClock()).run())


def _prefixed(state: str, text: str) -> str:
    return (
        f"An error occurred while executing the state '{state}' (entered at the event id #2). "
        + text
    )


def test_input_and_output_paths_that_select_nothing_fail_with_jayway_text() -> None:
    for field in ("InputPath", "OutputPath"):
        result = _failure({
            "StartAt": "pass",
            "States": {"pass": {"Type": "Pass", field: f"$.NoSuch{field}", "End": True}},
        }, {"int-literal": 0})
        assert (result.status, result.error) == ("FAILED", "States.Runtime")
        assert result.cause == _prefixed(
            "pass", f"Invalid path '$.NoSuch{field}' : No results for path: $['NoSuch{field}']"
        )
        assert [e["type"] for e in result.events] == [
            "ExecutionStarted", "PassStateEntered", "ExecutionFailed",
        ]


def test_a_missing_property_on_the_way_names_the_path_up_to_it() -> None:
    definition = {
        "StartAt": "RaiseRuntime",
        "States": {
            "RaiseRuntime": {
                "Type": "Task", "Resource": FUNCTION, "OutputPath": "$.no.such.result.path",
                "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "Caught"}], "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    machine = parse_definition(definition)
    invoker = EchoInvoker({FUNCTION: _empty})
    result = asyncio.run(Interpreter(machine, {}, invoker=invoker, clock=VirtualClock()).run())
    # States.Runtime is terminal: the Catch that names it does not take it.
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == _prefixed(
        "RaiseRuntime",
        "Invalid path '$.no.such.result.path' : Missing property in path $['no']",
    )
    assert [e["type"] for e in result.events][-2:] == ["LambdaFunctionSucceeded", "ExecutionFailed"]


def test_timeout_and_heartbeat_paths_that_select_nothing_fail_before_scheduling() -> None:
    for field in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
        result = _failure({
            "StartAt": "task",
            "States": {"task": {
                "Type": "Task", field: "$.NoSuchTimeoutSecondsPath",
                "Resource": "arn:aws:states:::aws-sdk:s3:listBuckets.waitForTaskToken",
                "Parameters": {}, "End": True,
            }},
        }, {"int-literal": 0})
        assert result.cause == _prefixed(
            "task", "Invalid path '$.NoSuchTimeoutSecondsPath' : No results for path: "
            "$['NoSuchTimeoutSecondsPath']",
        )
        assert [e["type"] for e in result.events] == [
            "ExecutionStarted", "TaskStateEntered", "ExecutionFailed",
        ]
