"""Task TimeoutSeconds and HeartbeatSeconds as AWS has them: their ranges at
CreateStateMachine, and how a task that runs out of time, or sends no heartbeat, fails
(LocalStack's AWS-validated recordings of the heartbeat and timeout tests)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.states_api.conftest import client, machine, unique
from tests.states_api.test_executions import finished
from tests.support.server import ServerProcess

from batchyard.states.asl import (
    EchoInvoker,
    Interpreter,
    InvalidDefinitionError,
    TaskRequest,
    VirtualClock,
    parse_definition,
)

SEND = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
PREFIX = "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "


async def _never(_request: TaskRequest) -> Any:
    await asyncio.Future()


def _machine(**task: Any) -> dict[str, Any]:
    state = {
        "Type": "Task", "Resource": SEND, "End": True,
        "Parameters": {"QueueUrl.$": "$.QueueUrl", "MessageBody": {
            "Message.$": "$.Message", "TaskToken.$": "$$.Task.Token"}},
        **task,
    }
    states: dict[str, Any] = {"SendMessageWithWait": state}
    if "Catch" in task:
        states["Caught"] = {"Type": "Pass", "End": True}
    return {"StartAt": "SendMessageWithWait", "States": states}


async def _token(_context: dict[str, Any], attempt: str) -> str:
    return f"token-{attempt}"


def _run(definition: dict[str, Any], data: Any) -> Any:
    interp = Interpreter(
        parse_definition(definition), data, invoker=EchoInvoker({SEND: _never}),
        clock=VirtualClock(), task_tokens=_token,
    )
    return asyncio.run(interp.run())


INPUT = {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/0/q", "Message": "test_message_txt"}


@pytest.mark.parametrize(("task", "data"), [
    ({"TimeoutSeconds": 600, "HeartbeatSeconds": 5}, INPUT),
    ({"TimeoutSeconds": 600, "HeartbeatSecondsPath": "$.HeartbeatSecondsPath"},
     {**INPUT, "HeartbeatSecondsPath": 5}),
])
def test_a_missed_heartbeat_times_the_task_out_with_states_timeout(
    task: dict[str, Any], data: Any
) -> None:
    # AWS's recordings (SERVICE_SQS_SEND_AND_WAIT_FOR_TASK_TOKEN_WITH_HEARTBEAT[_PATH]).
    result = _run(_machine(**task), data)
    assert (result.status, result.error, result.cause) == ("FAILED", "States.Timeout", None)
    scheduled = result.events[2]["taskScheduledEventDetails"]
    assert (scheduled["heartbeatInSeconds"], scheduled["timeoutInSeconds"]) == (5, 600)
    timed_out = result.events[4]
    assert (timed_out["type"], timed_out["previousEventId"]) == ("TaskTimedOut", 4)
    assert timed_out["taskTimedOutEventDetails"] == {
        "error": "States.Timeout", "resource": "sendMessage.waitForTaskToken",
        "resourceType": "sqs",
    }
    assert result.events[5]["executionFailedEventDetails"] == {"error": "States.Timeout"}
    # The missed heartbeat came after HeartbeatSeconds, long before TimeoutSeconds.
    waited = result.events[4]["timestamp"] - result.events[3]["timestamp"]
    assert waited.total_seconds() == 5


def test_a_heartbeat_without_timeout_schedules_no_timeout() -> None:
    # AWS's recording (test_heartbeat_no_timeout): TaskScheduled names no timeoutInSeconds.
    result = _run(_machine(HeartbeatSeconds=5), INPUT)
    assert "timeoutInSeconds" not in result.events[2]["taskScheduledEventDetails"]
    assert result.error == "States.Timeout"


@pytest.mark.parametrize(("task", "names", "caught"), [
    ({"HeartbeatSeconds": 5}, ["States.HeartbeatTimeout"], True),
    ({"HeartbeatSeconds": 5}, ["States.Timeout"], True),
    ({"TimeoutSeconds": 5}, ["States.HeartbeatTimeout"], False),
    ({"TimeoutSeconds": 5}, ["States.Timeout"], True),
])
def test_states_heartbeat_timeout_takes_only_a_missed_heartbeat(
    task: dict[str, Any], names: list[str], caught: bool
) -> None:
    catch = [{"ErrorEquals": names, "Next": "Caught"}]
    result = _run(_machine(Catch=catch, **task), INPUT)
    if caught:
        # The error the catcher hands on is the one AWS records: States.Timeout.
        assert (result.status, result.output) == ("SUCCEEDED", {"Error": "States.Timeout"})
    else:
        assert (result.status, result.error) == ("FAILED", "States.Timeout")


def test_a_retrier_naming_states_heartbeat_timeout_retries_a_missed_heartbeat() -> None:
    retry = [{"ErrorEquals": ["States.HeartbeatTimeout"], "MaxAttempts": 1, "IntervalSeconds": 0}]
    result = _run(_machine(HeartbeatSeconds=5, Retry=retry), INPUT)
    assert [e["type"] for e in result.events].count("TaskTimedOut") == 2


def _refusal(**task: Any) -> str:
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(_machine(**task))
    return info.value.message


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("TimeoutSeconds", 0, "Minimum value is 1"),
    ("TimeoutSeconds", 100_000_000, "Maximum value is 99999999"),
    ("TimeoutSeconds", "60", "Expected value of type Integer"),
    ("HeartbeatSeconds", 0, "Minimum value is 1"),
    ("HeartbeatSeconds", 100_000_000, "Maximum value is 99999999"),
])
def test_timeout_and_heartbeat_out_of_range_are_refused(
    field: str, value: Any, problem: str
) -> None:
    assert _refusal(**{field: value}) == (
        PREFIX + f"{problem} at /States/SendMessageWithWait/{field}'"
    )


def test_a_heartbeat_not_shorter_than_the_timeout_is_refused() -> None:
    assert _refusal(TimeoutSeconds=10, HeartbeatSeconds=10) == (
        PREFIX + "HeartbeatSeconds must be smaller than TimeoutSeconds at "
        "/States/SendMessageWithWait/HeartbeatSeconds'"
    )


def test_a_seconds_field_and_its_path_exclude_each_other() -> None:
    assert _refusal(TimeoutSeconds=10, TimeoutSecondsPath="$.t") == (
        PREFIX + "There should only be one of the following fields: "
        "[TimeoutSeconds, TimeoutSecondsPath] at /States/SendMessageWithWait'"
    )


def test_jsonata_may_compute_the_timeout_and_the_boundaries_are_taken() -> None:
    parse_definition(_machine(TimeoutSeconds=99_999_999, HeartbeatSeconds=99_999_998))
    definition = {
        "QueryLanguage": "JSONata", "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": SEND, "End": True,
                         "TimeoutSeconds": "{% $states.input.t %}", "HeartbeatSeconds": 1}},
    }
    parse_definition(definition)


@pytest.fixture(scope="module")
def sfn(server: ServerProcess) -> Any:
    """A Step Functions client on the shared server."""
    return client(server)


def test_an_activity_that_misses_its_heartbeat_is_caught_as_a_heartbeat_timeout(
    sfn: Any,
) -> None:
    activity = sfn.create_activity(name=unique("hb"))["activityArn"]
    arn = machine(sfn, {
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": activity, "TimeoutSeconds": 60,
                     "HeartbeatSeconds": 1, "Next": "Done",
                     "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"],
                                "ResultPath": "$.error", "Next": "Done"}]},
            "Done": {"Type": "Pass", "End": True},
        },
    })
    execution = sfn.start_execution(stateMachineArn=arn, input='{"job": 1}')["executionArn"]
    assert sfn.get_activity_task(activityArn=activity, workerName="w")["taskToken"]
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"job": 1, "error": {"Error": "States.Timeout"}}
    events = sfn.get_execution_history(executionArn=execution)["events"]
    timed_out = next(e for e in events if e["type"] == "ActivityTimedOut")
    assert timed_out["activityTimedOutEventDetails"] == {"error": "States.Timeout"}
