"""Standard executions survive SIGKILL: after a restart they resume where they were."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.states_api.conftest import client, machine, unique
from tests.support.server import ServerProcess, wait_for

SCALE = {"BATCHYARD_TIME_SCALE": "10"}


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    return sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def reached(sfn: Any, arn: str, event_type: str, count: int = 1) -> bool:
    return sum(e["type"] == event_type for e in history(sfn, arn)) >= count


def finished(sfn: Any, arn: str, timeout: float = 30) -> dict[str, Any]:
    return wait_for(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        timeout=timeout, what=f"{arn} to finish",
    )


def assert_continuous(events: list[dict[str, Any]]) -> None:
    """Ids run 1..n without gaps or repeats and every event points back to an earlier one."""
    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(events) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)


def restart(
    new_server: Callable[..., ServerProcess], old: ServerProcess, data_dir: Path
) -> tuple[ServerProcess, Any]:
    old.kill()
    process = new_server(env=SCALE, data_dir=data_dir)
    return process, client(process)


def test_wait_resumes_after_sigkill(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = new_server(env=SCALE, data_dir=data_dir)
    sfn = client(first)
    definition = {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"step": 1}, "ResultPath": "$.prep",
                        "Next": "Pause"},
            "Pause": {"Type": "Wait", "Seconds": 20, "Next": "Finish"},
            "Finish": {"Type": "Pass", "Result": "done", "ResultPath": "$.finish", "End": True},
        },
    }
    arn = machine(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"k": "v"}')["executionArn"]
    wait_for(lambda: reached(sfn, execution, "WaitStateEntered"), what="the Wait to start")
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"

    _, sfn = restart(new_server, first, data_dir)
    assert sfn.describe_execution(executionArn=execution)["status"] in ("RUNNING", "SUCCEEDED")
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"k": "v", "prep": {"step": 1}, "finish": "done"}
    events = history(sfn, execution)
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "WaitStateEntered",
        "WaitStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded",
    ]
    assert_continuous(events)


def test_map_resumes_after_sigkill(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = new_server(env=SCALE, data_dir=data_dir)
    sfn = client(first)
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "End": True,
                "ItemProcessor": {
                    "StartAt": "Nap",
                    "States": {
                        "Nap": {"Type": "Wait", "Seconds": 5, "Next": "Double"},
                        "Double": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"},
                                   "End": True},
                    },
                },
            },
        },
    }
    arn = machine(sfn, definition)
    execution = sfn.start_execution(
        stateMachineArn=arn, input=json.dumps({"items": [1, 2, 3, 4]})
    )["executionArn"]
    wait_for(lambda: reached(sfn, execution, "MapIterationSucceeded"), what="an iteration")

    _, sfn = restart(new_server, first, data_dir)
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == [{"v": 2}, {"v": 4}, {"v": 6}, {"v": 8}]
    events = history(sfn, execution)
    assert_continuous(events)
    types = [e["type"] for e in events]
    assert types.count("MapIterationStarted") == 4
    assert types.count("MapIterationSucceeded") == 4
    assert types.count("MapStateEntered") == 1


def start_activity_execution(
    new_server: Callable[..., ServerProcess], data_dir: Path, name: str, execution_input: str
) -> tuple[ServerProcess, Any, str, str]:
    """A server running a one-Task machine on a new activity: (server, sfn, activity, execution)."""
    server = new_server(env=SCALE, data_dir=data_dir)
    sfn = client(server)
    activity = sfn.create_activity(name=unique(name))["activityArn"]
    definition = {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}},
    }
    arn = machine(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=arn, input=execution_input)["executionArn"]
    return server, sfn, activity, execution


def test_activity_task_resumes_after_sigkill(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first, sfn, activity, execution = start_activity_execution(
        new_server, data_dir, "durable", '{"id": 3}'
    )
    task = sfn.get_activity_task(activityArn=activity, workerName="before-crash")

    second, sfn = restart(new_server, first, data_dir)

    def answered() -> bool:
        try:
            sfn.send_task_success(taskToken=task["taskToken"], output='{"answer": 42}')
        except sfn.exceptions.TaskDoesNotExist:
            return False
        return True

    # The re-dispatched task has the same token, so the worker's answer still counts.
    wait_for(answered, what="the resumed task to accept the token")
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"answer": 42}
    events = history(sfn, execution)
    assert_continuous(events)
    # Re-dispatched after the restart, but recorded as the one attempt it was.
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
        "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    assert events[3]["activityStartedEventDetails"] == {"workerName": "before-crash"}

    # Another restart: the server no longer remembers the token, the finished execution does.
    _, sfn = restart(new_server, second, data_dir)
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    assert exc.value.response["Error"]["Code"] == "TaskTimedOut"


def test_activity_scheduled_before_a_sigkill_starts_once_after_it(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first, sfn, activity, execution = start_activity_execution(
        new_server, data_dir, "queued", '{"id": 4}'
    )
    wait_for(lambda: reached(sfn, execution, "ActivityScheduled"), what="the task to be scheduled")

    _, sfn = restart(new_server, first, data_dir)
    # No worker had taken it: the re-dispatched task goes to the first worker after the restart.
    task = sfn.get_activity_task(activityArn=activity, workerName="after-crash")
    assert json.loads(task["input"]) == {"id": 4}
    sfn.send_task_success(taskToken=task["taskToken"], output='"done"')
    assert finished(sfn, execution)["status"] == "SUCCEEDED"
    events = history(sfn, execution)
    assert_continuous(events)
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
        "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    assert events[3]["activityStartedEventDetails"] == {"workerName": "after-crash"}


def test_clean_shutdown_parks_and_resumes_executions(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = new_server(env=SCALE, data_dir=data_dir)
    sfn = client(first)
    definition = {
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Seconds": 20, "End": True}},
    }
    arn = machine(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"kept": true}')["executionArn"]
    wait_for(lambda: reached(sfn, execution, "WaitStateEntered"), what="the Wait to start")
    first.stop()
    assert "Application shutdown complete" in first.log()

    second = new_server(env=SCALE, data_dir=data_dir)
    sfn = client(second)
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"kept": True}
    events = history(sfn, execution)
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "WaitStateEntered", "WaitStateExited", "ExecutionSucceeded"
    ]
    assert_continuous(events)
