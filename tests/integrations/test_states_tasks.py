"""``states:startExecution`` (.sync, .sync:2, .waitForTaskToken) and ``events:putEvents``."""

from __future__ import annotations

import json
from typing import Any

from tests.integrations.support import ended, events, machine, task_run, unique
from tests.support.server import ServerProcess, wait_for

CHILD = {"StartAt": "Add", "States": {"Add": {
    "Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"}, "End": True}}}
FAILING_CHILD = {"StartAt": "Boom", "States": {"Boom": {
    "Type": "Fail", "Error": "Child.Broke", "Cause": "on purpose"}}}
WAITING_CHILD = {"StartAt": "Hold", "States": {"Hold": {
    "Type": "Wait", "Seconds": 3600, "End": True}}}


def start_state(resource: str, child: str, document: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": f"arn:aws:states:::states:{resource}",
            "Parameters": {"StateMachineArn": child, "Input": document}}


def test_start_execution_sync_runs_a_child_to_its_end(sfn: Any) -> None:
    child = machine(sfn, CHILD)
    described, _ = task_run(sfn, start_state("startExecution.sync", child, {"a": 2, "b": 3}))
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["Status"] == "SUCCEEDED"
    assert output["StateMachineArn"] == child
    assert json.loads(output["Output"]) == {"sum": 5}
    assert json.loads(output["Input"]) == {"a": 2, "b": 3}
    assert isinstance(output["StartDate"], int) and output["StopDate"] >= output["StartDate"]
    assert sfn.describe_execution(executionArn=output["ExecutionArn"])["status"] == "SUCCEEDED"


def test_start_execution_sync_2_gives_output_as_json(sfn: Any) -> None:
    child = machine(sfn, CHILD)
    described, _ = task_run(sfn, start_state("startExecution.sync:2", child, {"a": 1, "b": 1}))
    output = json.loads(described["output"])
    assert output["Output"] == {"sum": 2}
    assert output["Input"] == {"a": 1, "b": 1}


def test_a_failing_child_fails_the_task(sfn: Any) -> None:
    child = machine(sfn, FAILING_CHILD)
    described, _ = task_run(sfn, start_state("startExecution.sync", child, {}))
    assert described["status"] == "FAILED"
    assert described["error"] == "States.TaskFailed"
    cause = json.loads(described["cause"])
    assert (cause["Status"], cause["Error"], cause["Cause"]) == (
        "FAILED", "Child.Broke", "on purpose")


def test_request_response_start_execution_does_not_wait(sfn: Any) -> None:
    child = machine(sfn, WAITING_CHILD)
    described, _ = task_run(sfn, start_state("startExecution", child, {}))
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert set(output) >= {"ExecutionArn", "StartDate", "SdkHttpMetadata"}
    assert sfn.describe_execution(executionArn=output["ExecutionArn"])["status"] == "RUNNING"
    sfn.stop_execution(executionArn=output["ExecutionArn"])


def test_stopping_the_parent_stops_its_sync_child(sfn: Any) -> None:
    child = machine(sfn, WAITING_CHILD)
    parent = machine(sfn, {"StartAt": "Task", "States": {"Task": {
        **start_state("startExecution.sync", child, {}), "End": True}}})
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    running = wait_for(lambda: sfn.list_executions(stateMachineArn=child)["executions"],
                       what="the child to start")
    sfn.stop_execution(executionArn=execution)
    wait_for(lambda: sfn.describe_execution(
        executionArn=running[0]["executionArn"])["status"] == "ABORTED",
        what="the child to be stopped")


def test_wait_for_task_token_round_trip(sfn: Any) -> None:
    child = machine(sfn, WAITING_CHILD)
    parent = machine(sfn, {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": child,
                       "Input": {"token.$": "$$.Task.Token", "question": "ok?"}},
        "HeartbeatSeconds": 3600, "End": True}}})
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    children = wait_for(lambda: sfn.list_executions(stateMachineArn=child)["executions"],
                        what="the child to start")
    document = json.loads(sfn.describe_execution(
        executionArn=children[0]["executionArn"])["input"])
    assert document["question"] == "ok?"
    sfn.send_task_heartbeat(taskToken=document["token"])
    sfn.send_task_success(taskToken=document["token"], output='{"answer": "yes"}')
    described = ended(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"answer": "yes"}
    sfn.stop_execution(executionArn=children[0]["executionArn"])


def test_wait_for_task_token_failure(sfn: Any) -> None:
    child = machine(sfn, WAITING_CHILD)
    parent = machine(sfn, {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}},
        "End": True}}})
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    children = wait_for(lambda: sfn.list_executions(stateMachineArn=child)["executions"],
                        what="the child to start")
    token = json.loads(sfn.describe_execution(
        executionArn=children[0]["executionArn"])["input"])["token"]
    sfn.send_task_failure(taskToken=token, error="Review.Rejected", cause="no")
    described = ended(sfn, execution)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED", "Review.Rejected", "no")
    sfn.stop_execution(executionArn=children[0]["executionArn"])


def test_put_events_reaches_a_rule_with_the_execution_in_resources(
    fast: ServerProcess, sfn: Any
) -> None:
    eb, logs = fast.client("events"), fast.client("logs")
    group = f"/test/{unique('sfn-events')}"
    logs.create_log_group(logGroupName=group)
    source = unique("test.sfn")
    rule = unique("rule")
    eb.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    group_arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"
    eb.put_targets(Rule=rule, Targets=[{"Id": "log", "Arn": group_arn}])
    described, history = task_run(sfn, {
        "Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {"Entries": [{"Source": source, "DetailType": "Order Placed",
                                    "Detail": {"order.$": "$.order"}}]},
    }, {"order": 7})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["FailedEntryCount"] == 0 and output["Entries"][0]["EventId"]
    execution = described["executionArn"]

    def delivered() -> list[dict[str, Any]]:
        found = logs.filter_log_events(logGroupName=group)["events"]
        return [json.loads(e["message"]) for e in found]

    event = wait_for(delivered, what="the event in the log group")[0]
    assert event["detail"] == {"order": 7}
    assert event["detail-type"] == "Order Placed"
    assert execution in event["resources"]
    assert described["stateMachineArn"] in event["resources"]
    assert events(sfn, execution)[0]["type"] == "ExecutionStarted"
    assert history[-1]["type"] == "ExecutionSucceeded"


def test_put_events_with_a_failed_entry_fails_the_task(sfn: Any) -> None:
    described, _ = task_run(sfn, {
        "Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {"Entries": [{"Source": "x", "DetailType": "y", "Detail": {},
                                    "EventBusName": "no-such-bus"}]},
    })
    assert described["status"] == "FAILED"
    assert described["error"] == "EventBridge.FailedEntry"
    assert json.loads(described["cause"])["FailedEntryCount"] == 1
