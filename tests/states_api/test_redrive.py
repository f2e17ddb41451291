"""RedriveExecution: an execution that fails again where it resumed stays redrivable, each
redrive is counted where DescribeExecution and the history report it, the machine's timeout
starts over, and the quota of redrives ends it with AWS's reason."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from batchyard.aws.caller import Caller
from batchyard.bus import Bus
from batchyard.protocol.errors import ServiceError
from batchyard.states import EXECUTION_TOPIC, StepFunctions, records
from batchyard.states.model import MAX_REDRIVES
from batchyard.store import Store
from tests.states_api.conftest import machine
from tests.states_api.test_executions import finished
from tests.states_api.test_machines import error_of

FAILS_AFTER_A_PASS = {
    "StartAt": "Before",
    "States": {
        "Before": {"Type": "Pass", "Result": "ready", "ResultPath": "$.before", "Next": "Boom"},
        "Boom": {"Type": "Fail", "Error": "Still.Broken", "Cause": "the same state fails"},
    },
}


def history(sfn: Any, execution: str) -> list[dict[str, Any]]:
    return sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]


def test_failing_again_in_the_resumed_state_stays_redrivable(sfn: Any) -> None:
    arn = machine(sfn, FAILS_AFTER_A_PASS)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    first = finished(sfn, execution)
    assert (first["status"], first["redriveCount"]) == ("FAILED", 0)
    assert first["redriveStatus"] == "REDRIVABLE"
    assert "redriveDate" not in first

    dates: list[datetime] = []
    for count in (1, 2, 3):
        answer = sfn.redrive_execution(executionArn=execution)
        again = finished(sfn, execution)
        assert again["status"] == "FAILED"
        assert (again["error"], again["cause"]) == ("Still.Broken", "the same state fails")
        assert again["redriveCount"] == count
        assert again["redriveStatus"] == "REDRIVABLE"
        assert "redriveStatusReason" not in again
        assert again["redriveDate"] == answer["redriveDate"]
        assert again["startDate"] == first["startDate"]
        dates.append(again["redriveDate"])
    assert dates == sorted(dates) and len(set(dates)) == 3

    events = history(sfn, execution)
    types = [e["type"] for e in events]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert types.count("PassStateEntered") == 1
    assert types.count("FailStateEntered") == 4
    assert types.count("ExecutionFailed") == 4
    redriven = [e for e in events if e["type"] == "ExecutionRedriven"]
    assert [e["executionRedrivenEventDetails"]["redriveCount"] for e in redriven] == [1, 2, 3]
    # Each redrive follows the failure it restarts, and re-enters the state that failed.
    for event in redriven:
        assert types[event["id"] - 2] == "ExecutionFailed"
        assert types[event["id"]] == "FailStateEntered"
    listed = sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    assert [e["executionArn"] for e in listed] == [execution]


def test_a_redrive_restarts_the_machine_timeout(sfn: Any) -> None:
    arn = machine(sfn, {
        "TimeoutSeconds": 1,
        "StartAt": "Long",
        "States": {"Long": {"Type": "Wait", "Seconds": 30, "End": True}},
    })
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert finished(sfn, execution)["status"] == "TIMED_OUT"
    sfn.redrive_execution(executionArn=execution)
    again = finished(sfn, execution)
    assert again["status"] == "TIMED_OUT"
    assert again["redriveStatus"] == "REDRIVABLE"
    # Timed out a full TimeoutSeconds after the redrive, not at once from the first start.
    events = history(sfn, execution)
    redriven = next(e for e in events if e["type"] == "ExecutionRedriven")
    timed_out = [e for e in events if e["type"] == "ExecutionTimedOut"]
    assert len(timed_out) == 2
    assert (timed_out[1]["timestamp"] - redriven["timestamp"]).total_seconds() >= 0.9


def test_a_succeeded_execution_is_not_redrivable(sfn: Any) -> None:
    arn = machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    done = finished(sfn, execution)
    assert done["redriveStatus"] == "NOT_REDRIVABLE"
    assert done["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=execution)
    assert error_of(exc) == (
        "ExecutionNotRedrivable",
        f"Execution with ARN {execution} cannot be redriven: "
        "Execution is SUCCEEDED and cannot be redriven",
    )


def test_the_thousandth_redrive_is_the_last(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    caller = Caller("123456789012", "us-east-1")

    async def settled(sfn: StepFunctions, arn: str) -> Any:
        while (described := await sfn.describe_execution(caller, arn)).status == "RUNNING":
            await asyncio.sleep(0.01)
        return described

    async def scenario() -> None:
        bus = Bus()
        sfn = StepFunctions(store, bus)
        machine_arn = (await sfn.create_state_machine(
            caller, "m", json.dumps(FAILS_AFTER_A_PASS), "arn:aws:iam::123456789012:role/r",
        )).state_machine_arn
        arn = (await sfn.start_execution(caller, machine_arn, "e")).arn
        failed = await settled(sfn, arn)
        # As if it had been redriven (and had failed again) all but one of the times allowed.
        failed.redrive_count = MAX_REDRIVES - 1
        await store.write(lambda conn: records.save(conn, failed))

        announced: list[dict[str, Any]] = []
        bus.subscribe(EXECUTION_TOPIC, lambda _topic, change: announced.append(change))
        await sfn.redrive_execution(caller, arn)
        last = await settled(sfn, arn)
        # The bus (EventBridge's status-change detail) tells the redrive and the end alike.
        assert [
            (c["status"], c["redriveCount"], c["redriveStatus"], c["redriveStatusReason"])
            for c in announced
        ] == [
            ("RUNNING", MAX_REDRIVES, "NOT_REDRIVABLE",
             "Execution is RUNNING and cannot be redriven"),
            ("FAILED", MAX_REDRIVES, "NOT_REDRIVABLE", "Execution redrive limit exceeded"),
        ]
        assert last.redrive_date is not None
        assert announced[0]["redriveDate"] == last.redrive_date
        assert (last.status, last.redrive_count) == ("FAILED", MAX_REDRIVES)
        assert last.redrive_status == "NOT_REDRIVABLE"
        assert last.redrive_status_reason == "Execution redrive limit exceeded"
        with pytest.raises(ServiceError) as exc:
            await sfn.redrive_execution(caller, arn)
        assert (exc.value.code, exc.value.message) == (
            "ExecutionNotRedrivable",
            f"Execution with ARN {arn} cannot be redriven: Execution redrive limit exceeded",
        )
        await sfn.stop()

    asyncio.run(scenario())
    store.close()


def test_a_redriven_parallel_reruns_only_its_failed_branch(sfn: Any) -> None:
    activity = sfn.create_activity(name=f"branch-{uuid.uuid4().hex[:8]}")["activityArn"]
    arn = machine(sfn, {
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "Prepare", "States": {
                "Prepare": {"Type": "Pass", "Result": "p", "Next": "Work"},
                "Work": {"Type": "Task", "Resource": activity, "End": True},
            }},
            {"StartAt": "Quick", "States": {
                "Quick": {"Type": "Pass", "Result": "q", "Next": "Quicker"},
                "Quicker": {"Type": "Pass", "End": True},
            }},
        ]}},
    })
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Flaky")
    assert finished(sfn, execution)["status"] == "FAILED"

    sfn.redrive_execution(executionArn=execution)
    task = sfn.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == "p"
    sfn.send_task_success(taskToken=task["taskToken"], output='"worked"')
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == ["worked", "q"]
    events = history(sfn, execution)
    after = [e for e in events if e["id"] > next(
        e["id"] for e in events if e["type"] == "ExecutionRedriven"
    )]
    # The branch that finished is not run again; the failed one re-enters the state that
    # failed, after the state before it.
    entered = [e["stateEnteredEventDetails"]["name"] for e in after if "StateEntered" in e["type"]]
    assert entered == ["Work"]
    prepared = next(e for e in events if e["type"] == "PassStateExited"
                    and e["stateExitedEventDetails"]["name"] == "Prepare")
    assert after[0]["type"] == "TaskStateEntered"
    assert after[0]["previousEventId"] == prepared["id"]


def test_a_redriven_map_reruns_only_its_failed_iteration(sfn: Any) -> None:
    activity = sfn.create_activity(name=f"item-{uuid.uuid4().hex[:8]}")["activityArn"]
    arn = machine(sfn, {
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "End": True, "ItemProcessor": {
            "StartAt": "Which",
            "States": {
                "Which": {"Type": "Choice", "Default": "Easy", "Choices": [
                    {"Variable": "$", "NumericEquals": 2, "Next": "Hard"},
                ]},
                "Easy": {"Type": "Pass", "End": True},
                "Hard": {"Type": "Task", "Resource": activity, "End": True},
            },
        }}},
    })
    execution = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3]")["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Flaky")
    assert finished(sfn, execution)["status"] == "FAILED"
    easy_before = sum(
        1 for e in history(sfn, execution) if e["type"] == "PassStateEntered"
    )

    sfn.redrive_execution(executionArn=execution)
    task = sfn.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == 2
    sfn.send_task_success(taskToken=task["taskToken"], output='"two"')
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == [1, "two", 3]
    events = history(sfn, execution)
    redriven = next(e["id"] for e in events if e["type"] == "ExecutionRedriven")
    again = [e["stateEnteredEventDetails"]["name"] for e in events
             if e["id"] > redriven and "StateEntered" in e["type"]]
    # Only the items that had not finished before the failure run after the redrive.
    assert again.count("Hard") == 1
    assert again.count("Easy") == 3 - 1 - easy_before
