"""Integration tasks survive a SIGKILL of the server: the resumed task finds what it started."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integrations.support import ended, events, machine
from tests.states_api.conftest import client
from tests.support.server import ServerProcess, wait_for

ENV = {"BATCHYARD_TIME_SCALE": "60"}
# 120 scaled seconds: two real seconds, long enough to crash the server in between.
SLOW_CHILD = {"StartAt": "Hold", "States": {"Hold": {
    "Type": "Wait", "Seconds": 120, "Next": "Done"}, "Done": {"Type": "Pass", "End": True}}}
PARKED_CHILD = {"StartAt": "Hold", "States": {"Hold": {
    "Type": "Wait", "Seconds": 360000, "End": True}}}


def crash_and_restart(
    new_server: Callable[..., ServerProcess], first: ServerProcess, data_dir: Path
) -> Any:
    first.kill()
    return client(new_server(env=ENV, data_dir=data_dir))


def test_start_execution_sync_reattaches_to_its_child(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = new_server(env=ENV, data_dir=data_dir)
    sfn = client(first)
    child = machine(sfn, SLOW_CHILD)
    parent = machine(sfn, {"StartAt": "Run", "States": {"Run": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": child, "Input": {"n": 1}}, "End": True}}})
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    wait_for(lambda: sfn.list_executions(stateMachineArn=child)["executions"],
             what="the child to start")

    sfn = crash_and_restart(new_server, first, data_dir)
    described = ended(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    children = sfn.list_executions(stateMachineArn=child)["executions"]
    assert len(children) == 1
    output = json.loads(described["output"])
    assert output["ExecutionArn"] == children[0]["executionArn"]
    assert output["Output"] == {"n": 1}
    # The resumed task does not announce its scheduling a second time.
    assert [e["type"] for e in events(sfn, execution)] == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
        "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]


def test_task_token_handed_out_before_a_crash_still_answers(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = new_server(env=ENV, data_dir=data_dir)
    sfn = client(first)
    child = machine(sfn, PARKED_CHILD)
    parent = machine(sfn, {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}},
        "End": True}}})
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    children = wait_for(lambda: sfn.list_executions(stateMachineArn=child)["executions"],
                        what="the child to start")
    token = json.loads(sfn.describe_execution(
        executionArn=children[0]["executionArn"])["input"])["token"]

    sfn = crash_and_restart(new_server, first, data_dir)

    def answered() -> bool:
        try:
            sfn.send_task_success(taskToken=token, output='{"after": "crash"}')
        except sfn.exceptions.TaskDoesNotExist:
            return False
        return True

    wait_for(answered, what="the resumed task to accept the token")
    described = ended(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"after": "crash"}
    assert len(sfn.list_executions(stateMachineArn=child)["executions"]) == 1
