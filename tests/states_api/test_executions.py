"""Executions through boto3: start, describe, list, history, stop, sync, versions and aliases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.states_api.conftest import PASS, machine, unique
from tests.states_api.test_machines import error_of
from tests.support.server import wait_for

CHAIN = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Pass", "End": True},
    },
}
FOREVER = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 99999, "End": True}}}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "it broke"}}}


def finished(sfn: Any, arn: str) -> dict[str, Any]:
    """DescribeExecution once the execution has stopped running."""
    return wait_for(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        timeout=20, what=f"{arn} to finish",
    )


def test_start_describe_and_history(sfn: Any) -> None:
    arn = machine(sfn, CHAIN)
    started = sfn.start_execution(stateMachineArn=arn, name="first", input='{"x": 1}')
    execution = started["executionArn"]
    assert execution == arn.replace(":stateMachine:", ":execution:") + ":first"
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert described["input"] == '{"x": 1}'
    assert json.loads(described["output"]) == {"x": 1, "a": {"n": 1}}
    assert described["stateMachineArn"] == arn
    assert described["redriveStatus"] == "NOT_REDRIVABLE"

    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered",
        "PassStateExited", "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e["previousEventId"] for e in events] == [0, 0, 2, 3, 4, 5]
    assert events[0]["executionStartedEventDetails"]["input"] == '{"x": 1}'
    assert events[1]["stateEnteredEventDetails"]["name"] == "A"

    backwards = sfn.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
    assert [e["id"] for e in backwards] == [6, 5, 4, 3, 2, 1]

    pages, kwargs = [], {"executionArn": execution, "maxResults": 4}
    while True:
        page = sfn.get_execution_history(**kwargs)
        pages.append([e["id"] for e in page["events"]])
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert pages == [[1, 2, 3, 4], [5, 6]]

    bare = sfn.get_execution_history(executionArn=execution, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "output" not in bare[-1]["executionSucceededEventDetails"]

    for_execution = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert for_execution["stateMachineArn"] == arn
    assert json.loads(for_execution["definition"]) == CHAIN


def test_execution_name_rules(sfn: Any) -> None:
    arn = machine(sfn, FOREVER)
    first = sfn.start_execution(stateMachineArn=arn, name="same", input="{}")
    again = sfn.start_execution(stateMachineArn=arn, name="same", input="{}")
    assert again["executionArn"] == first["executionArn"]
    assert again["startDate"] == first["startDate"]
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="same", input='{"other": 1}')
    assert error_of(exc) == (
        "ExecutionAlreadyExists", f"Execution Already Exists: '{first['executionArn']}'"
    )
    sfn.stop_execution(executionArn=first["executionArn"])
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="same", input="{}")
    assert error_of(exc)[0] == "ExecutionAlreadyExists"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="bad name")
    assert error_of(exc) == ("InvalidName", "Invalid Name: 'bad name'")


def test_start_errors(sfn: Any) -> None:
    arn = machine(sfn, PASS)
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input="{oops")
    code, message = error_of(exc)
    assert code == "InvalidExecutionInput"
    assert message.startswith("Invalid State Machine Execution Input: '")
    missing = arn + "-gone"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=missing)
    assert error_of(exc) == (
        "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{missing}'"
    )
    with pytest.raises(ClientError) as exc:
        sfn.start_sync_execution(stateMachineArn=arn)
    assert error_of(exc) == (
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
    )
    gone = arn.replace(":stateMachine:", ":execution:") + ":nothing"
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn=gone)
    assert error_of(exc) == ("ExecutionDoesNotExist", f"Execution Does Not Exist: '{gone}'")
    with pytest.raises(ClientError) as exc:
        sfn.get_execution_history(executionArn=gone)
    assert error_of(exc)[0] == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn=arn)
    assert error_of(exc)[0] == "InvalidArn"


def test_stop_execution(sfn: Any) -> None:
    arn = machine(sfn, FOREVER)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.stop_execution(executionArn=execution, error="Halt", cause="by test")
    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "ABORTED"
    assert described["error"] == "Halt"
    assert described["cause"] == "by test"
    assert "stopDate" in described
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "WaitStateEntered", "ExecutionAborted"
    ]
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Halt", "cause": "by test"}
    again = sfn.stop_execution(executionArn=execution)
    assert again["stopDate"] == described["stopDate"]


def test_failed_execution_reports_error_and_cause(sfn: Any) -> None:
    arn = machine(sfn, FAIL)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    described = finished(sfn, execution)
    assert described["status"] == "FAILED"
    assert (described["error"], described["cause"]) == ("Boom", "it broke")
    assert "output" not in described
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert events[-1]["type"] == "ExecutionFailed"
    assert events[-1]["executionFailedEventDetails"] == {"error": "Boom", "cause": "it broke"}


def test_list_executions_filters_and_pages(sfn: Any) -> None:
    arn = machine(sfn, FOREVER)
    running = [sfn.start_execution(stateMachineArn=arn)["executionArn"] for _ in range(3)]
    sfn.stop_execution(executionArn=running[0])
    all_items = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert {e["executionArn"] for e in all_items} == set(running)
    still = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert {e["executionArn"] for e in still} == set(running[1:])
    aborted = sfn.list_executions(stateMachineArn=arn, statusFilter="ABORTED")["executions"]
    assert [e["executionArn"] for e in aborted] == [running[0]]
    first = sfn.list_executions(stateMachineArn=arn, maxResults=2)
    assert len(first["executions"]) == 2
    rest = sfn.list_executions(stateMachineArn=arn, maxResults=2, nextToken=first["nextToken"])
    assert len(rest["executions"]) == 1
    assert "nextToken" not in rest
    for execution in running[1:]:
        sfn.stop_execution(executionArn=execution)
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn + "-gone")
    assert error_of(exc)[0] == "StateMachineDoesNotExist"


def test_start_sync_execution(sfn: Any) -> None:
    arn = machine(sfn, CHAIN, kind="EXPRESS")
    result = sfn.start_sync_execution(stateMachineArn=arn, name="now", input='{"y": 2}')
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"y": 2, "a": {"n": 1}}
    prefix = arn.replace(":stateMachine:", ":express:") + ":now:"
    assert result["executionArn"].startswith(prefix)
    assert result["stateMachineArn"] == arn
    assert result["billingDetails"]["billedDurationInMilliseconds"] >= 100

    failing = machine(sfn, FAIL, kind="EXPRESS")
    result = sfn.start_sync_execution(stateMachineArn=failing)
    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "Boom", "it broke")
    assert "output" not in result


def test_start_express_asynchronously(sfn: Any) -> None:
    arn = machine(sfn, PASS, kind="EXPRESS")
    started = sfn.start_execution(stateMachineArn=arn, input='{"q": 1}')
    assert ":express:" in started["executionArn"]
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn)
    assert error_of(exc)[0] == "StateMachineTypeNotSupported"


def test_executions_of_versions_and_aliases(sfn: Any) -> None:
    arn = machine(sfn, CHAIN)
    v1 = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(PASS))
    alias = sfn.create_state_machine_alias(
        name=unique("live"), routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
    )["stateMachineAliasArn"]

    through_version = sfn.start_execution(stateMachineArn=v1, input="{}")["executionArn"]
    described = finished(sfn, through_version)
    assert described["stateMachineVersionArn"] == v1
    assert json.loads(described["output"]) == {"a": {"n": 1}}

    through_alias = sfn.start_execution(stateMachineArn=alias, input="{}")["executionArn"]
    described = finished(sfn, through_alias)
    assert described["stateMachineAliasArn"] == alias
    assert described["stateMachineVersionArn"] == v1
    assert json.loads(described["output"]) == {"a": {"n": 1}}

    current = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    assert json.loads(finished(sfn, current)["output"]) == {}

    by_version = sfn.list_executions(stateMachineArn=v1)["executions"]
    assert {e["executionArn"] for e in by_version} == {through_version, through_alias}
    by_alias = sfn.list_executions(stateMachineArn=alias)["executions"]
    assert [e["executionArn"] for e in by_alias] == [through_alias]
