"""TestState, and Map Runs of distributed Map states, through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.states_api.conftest import ROLE, machine
from tests.states_api.test_executions import finished
from tests.states_api.test_machines import error_of
from tests.support.server import wait_for

LAMBDA = "arn:aws:states:::lambda:invoke"


def run(sfn: Any, state: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    answer = sfn.test_state(definition=json.dumps(state), roleArn=ROLE, **kwargs)
    answer.pop("ResponseMetadata")
    return answer


def test_state_pass_and_choice(sfn: Any) -> None:
    passed = run(sfn, {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.r", "Next": "X"},
                 input='{"z": 0}')
    assert passed == {"output": '{"z":0,"r":{"a":1}}', "nextState": "X", "status": "SUCCEEDED"}
    choice = {
        "Type": "Choice", "Default": "Other",
        "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Next": "One"}],
    }
    assert run(sfn, choice, input='{"v": 1}')["nextState"] == "One"
    assert run(sfn, choice, input='{"v": 2}')["nextState"] == "Other"


def test_state_fail_and_mocked_tasks(sfn: Any) -> None:
    assert run(sfn, {"Type": "Fail", "Error": "E", "Cause": "C"}) == {
        "error": "E", "cause": "C", "status": "FAILED"
    }
    task = {"Type": "Task", "Resource": LAMBDA, "End": True}
    assert run(sfn, task, mock={"result": '{"ok": 1}'}) == {
        "output": '{"ok":1}', "status": "SUCCEEDED"
    }
    failing = {"errorOutput": {"error": "X", "cause": "c"}}
    retried = run(sfn, {**task, "Retry": [{"ErrorEquals": ["X"]}]}, mock=failing)
    assert retried == {"error": "X", "cause": "c", "status": "RETRIABLE"}
    caught = run(sfn, {**task, "Catch": [{"ErrorEquals": ["X"], "Next": "H"}]}, mock=failing)
    # AWS reports the caught error along with the catcher's output.
    assert caught == {
        "output": '{"Error":"X","Cause":"c"}', "nextState": "H", "status": "CAUGHT_ERROR",
        "error": "X", "cause": "c",
    }


def test_state_of_a_whole_machine_with_variables(sfn: Any) -> None:
    definition = {
        "QueryLanguage": "JSONata", "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Output": "{% $x + 1 %}", "End": True},
        },
    }
    answer = run(sfn, definition, stateName="B", variables='{"x": 41}')
    assert answer == {"output": "42", "status": "SUCCEEDED"}


def test_state_rejects_invalid_definitions(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        run(sfn, {"Type": "Bogus"})
    code, message = error_of(exc)
    assert code == "InvalidDefinition"
    assert message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'Type' should "
        "have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] "
        "at /Type'"
    )
    with pytest.raises(ClientError) as exc:
        run(sfn, {"Type": "Pass", "End": True}, input="{nope")
    assert error_of(exc)[0] == "InvalidExecutionInput"


def test_unknown_task_resource_fails_like_aws(sfn: Any) -> None:
    unknown = "arn:aws:states:::nosuchservice:doSomething"
    arn = machine(sfn, {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": unknown,
                                                         "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    described = finished(sfn, execution)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert described["cause"] == (
        "An error occurred while scheduling the state 'T'. "
        f"The provided ARN '{unknown}' is invalid."
    )


def test_map_runs(sfn: Any) -> None:
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map", "Label": "fan", "End": True,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}},
                },
            },
        },
    }
    arn = machine(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3]")["executionArn"]
    assert finished(sfn, execution)["status"] == "SUCCEEDED"
    runs = wait_for(lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"],
                    what="the map run to be listed")
    assert len(runs) == 1
    run_arn = runs[0]["mapRunArn"]
    assert ":mapRun:" in run_arn
    assert "/fan:" in run_arn
    described = wait_for(
        lambda: (d := sfn.describe_map_run(mapRunArn=run_arn))["status"] == "SUCCEEDED" and d,
        what="the map run to succeed",
    )
    assert described["executionArn"] == execution
    assert described["itemCounts"]["total"] == 3
    assert described["itemCounts"]["succeeded"] == 3
    sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=5)
    assert sfn.describe_map_run(mapRunArn=run_arn)["maxConcurrency"] == 5
    with pytest.raises(ClientError) as exc:
        sfn.describe_map_run(mapRunArn=run_arn + "0")
    assert error_of(exc)[0] == "ResourceNotFound"
