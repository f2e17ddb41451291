"""Activities through boto3: CRUD, workers, task tokens, heartbeats, and redrive."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.states_api.conftest import client, machine, unique
from tests.states_api.test_executions import finished
from tests.states_api.test_machines import error_of
from tests.support.server import ServerProcess


def activity_machine(activity: str, **task: Any) -> dict[str, Any]:
    return {
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": activity, "ResultPath": "$.result", **task,
                     "End": True},
        },
    }


def test_activity_crud(sfn: Any) -> None:
    name = unique("act")
    created = sfn.create_activity(name=name, tags=[{"key": "k", "value": "v"}])
    arn = created["activityArn"]
    assert arn == f"arn:aws:states:us-east-1:123456789012:activity:{name}"
    assert sfn.create_activity(name=name)["activityArn"] == arn
    described = sfn.describe_activity(activityArn=arn)
    assert described["name"] == name
    assert arn in [a["activityArn"] for a in sfn.list_activities()["activities"]]
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "k", "value": "v"}]
    sfn.delete_activity(activityArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_activity(activityArn=arn)
    assert error_of(exc) == ("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
    with pytest.raises(ClientError) as exc:
        sfn.get_activity_task(activityArn=arn)
    assert error_of(exc)[0] == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.create_activity(name="no/slashes")
    assert error_of(exc)[0] == "InvalidName"


def test_worker_round_trip(server: ServerProcess, sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("work"))["activityArn"]
    arn = machine(sfn, activity_machine(activity))
    seen: dict[str, Any] = {}

    def worker() -> None:
        own = client(server)
        task = own.get_activity_task(activityArn=activity, workerName="w1")
        seen["input"] = json.loads(task["input"])
        own.send_task_success(taskToken=task["taskToken"], output=json.dumps({"done": True}))
        seen["token"] = task["taskToken"]

    thread = threading.Thread(target=worker)
    thread.start()
    execution = sfn.start_execution(stateMachineArn=arn, input='{"job": 7}')["executionArn"]
    thread.join(timeout=30)
    described = finished(sfn, execution)
    assert seen["input"] == {"job": 7}
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"job": 7, "result": {"done": True}}
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=seen["token"], output="{}")
    assert error_of(exc)[0] == "TaskTimedOut"


def test_worker_failure_fails_the_task(sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("fails"))["activityArn"]
    arn = machine(sfn, activity_machine(activity))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w")
    sfn.send_task_failure(taskToken=task["taskToken"], error="Worker.Broke", cause="disk full")
    described = finished(sfn, execution)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED", "Worker.Broke", "disk full"
    )


def test_token_errors(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken="not a token!", output="{}")
    assert error_of(exc) == ("InvalidToken", "Invalid Token: 'Invalid token'")
    activity = sfn.create_activity(name=unique("tok"))["activityArn"]
    arn = machine(sfn, activity_machine(activity))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=task["taskToken"], output="{not json")
    assert error_of(exc)[0] == "InvalidOutput"
    sfn.stop_execution(executionArn=execution)
    with pytest.raises(ClientError) as exc:
        sfn.send_task_heartbeat(taskToken=task["taskToken"])
    assert error_of(exc)[0] == "TaskTimedOut"


def test_heartbeat_timeout(sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("hb"))["activityArn"]
    arn = machine(sfn, activity_machine(activity, HeartbeatSeconds=1))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    assert task["taskToken"]
    described = finished(sfn, execution)
    assert described["status"] == "FAILED"
    # AWS records a missed heartbeat as States.Timeout, with no cause.
    assert described["error"] == "States.Timeout"
    assert "cause" not in described
    events = sfn.get_execution_history(executionArn=execution)["events"]
    timed_out = next(e for e in events if e["type"] == "ActivityTimedOut")
    assert timed_out["activityTimedOutEventDetails"] == {"error": "States.Timeout"}
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    assert error_of(exc)[0] == "TaskTimedOut"


def test_heartbeats_keep_a_task_alive(sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("beat"))["activityArn"]
    arn = machine(sfn, activity_machine(activity, HeartbeatSeconds=1))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        sfn.send_task_heartbeat(taskToken=task["taskToken"])
        assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
        time.sleep(0.25)
    sfn.send_task_success(taskToken=task["taskToken"], output='"ok"')
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"result": "ok"}


def test_get_activity_task_waits_for_a_task(server: ServerProcess, sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("poll"))["activityArn"]
    arn = machine(sfn, activity_machine(activity))
    got: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: got.update(client(server).get_activity_task(activityArn=activity))
    )
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()
    execution = sfn.start_execution(stateMachineArn=arn, input='{"a": 1}')["executionArn"]
    thread.join(timeout=10)
    assert json.loads(got["input"]) == {"a": 1}
    sfn.send_task_success(taskToken=got["taskToken"], output="{}")
    assert finished(sfn, execution)["status"] == "SUCCEEDED"


def test_redrive_failed_execution(sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("redrive"))["activityArn"]
    definition = {
        "StartAt": "Before",
        "States": {
            "Before": {"Type": "Pass", "Result": "prepared", "ResultPath": "$.before",
                       "Next": "Work"},
            "Work": {"Type": "Task", "Resource": activity, "ResultPath": "$.result", "End": True},
        },
    }
    arn = machine(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Flaky", cause="try again")
    failed = finished(sfn, execution)
    assert failed["status"] == "FAILED"
    assert failed["redriveStatus"] == "REDRIVABLE"

    redriven = sfn.redrive_execution(executionArn=execution)
    assert "redriveDate" in redriven
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    task = sfn.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == {"n": 1, "before": "prepared"}
    sfn.send_task_success(taskToken=task["taskToken"], output='"fine"')
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert done["redriveCount"] == 1
    assert json.loads(done["output"]) == {"n": 1, "before": "prepared", "result": "fine"}

    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    types = [e["type"] for e in events]
    assert types.count("ExecutionRedriven") == 1
    assert types.count("PassStateEntered") == 1
    assert types[types.index("ExecutionFailed") + 1] == "ExecutionRedriven"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    redrives = sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    assert [e["executionArn"] for e in redrives] == [execution]

    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=execution)
    assert error_of(exc)[0] == "ExecutionNotRedrivable"


def history(sfn: Any, execution: str) -> list[dict[str, Any]]:
    return sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]


def test_activity_history_events(sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("events"))["activityArn"]
    arn = machine(sfn, activity_machine(activity, TimeoutSeconds=300, HeartbeatSeconds=60))
    execution = sfn.start_execution(stateMachineArn=arn, input='{"job": 7}')["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="worker-1")
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done":true}')
    assert finished(sfn, execution)["status"] == "SUCCEEDED"
    events = history(sfn, execution)
    assert [(e["type"], e["id"], e["previousEventId"]) for e in events] == [
        ("ExecutionStarted", 1, 0), ("TaskStateEntered", 2, 0), ("ActivityScheduled", 3, 2),
        ("ActivityStarted", 4, 3), ("ActivitySucceeded", 5, 4), ("TaskStateExited", 6, 5),
        ("ExecutionSucceeded", 7, 6),
    ]
    assert events[2]["activityScheduledEventDetails"] == {
        "resource": activity, "input": '{"job":7}', "inputDetails": {"truncated": False},
        "timeoutInSeconds": 300, "heartbeatInSeconds": 60,
    }
    assert events[3]["activityStartedEventDetails"] == {"workerName": "worker-1"}
    assert events[4]["activitySucceededEventDetails"] == {
        "output": '{"done":true}', "outputDetails": {"truncated": False},
    }


def test_activity_failure_and_schedule_failure_events(sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("failing"))["activityArn"]
    arn = machine(sfn, activity_machine(activity))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Worker.Broke", cause="disk full")
    assert finished(sfn, execution)["status"] == "FAILED"
    events = history(sfn, execution)
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
        "ActivityFailed", "ExecutionFailed",
    ]
    # A worker that gives no name is recorded without one.
    assert events[3]["activityStartedEventDetails"] == {}
    assert events[4]["activityFailedEventDetails"] == {
        "error": "Worker.Broke", "cause": "disk full",
    }

    gone = sfn.create_activity(name=unique("gone"))["activityArn"]
    sfn.delete_activity(activityArn=gone)
    arn = machine(sfn, activity_machine(gone))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    described = finished(sfn, execution)
    # As AWS records it: the state fails before anything is scheduled.
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert described["cause"] == (
        "An error occurred while executing the state 'Work' (entered at the event id #2). "
        f"The activity {gone} does not exist."
    )
    events = history(sfn, execution)
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "TaskStateEntered", "ExecutionFailed",
    ]


def test_iterations_entering_an_activity_together_get_their_own_tasks(sfn: Any) -> None:
    activity = sfn.create_activity(name=unique("fan"))["activityArn"]
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map", "End": True,
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}},
                },
            },
        },
    }
    arn = machine(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3]")["executionArn"]
    tasks = [sfn.get_activity_task(activityArn=activity) for _ in range(3)]
    assert len({t["taskToken"] for t in tasks}) == 3
    for task in tasks:
        n = json.loads(task["input"])
        sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps(n * 10))
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == [10, 20, 30]
