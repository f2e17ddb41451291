"""Tags without a key, definitions and payloads that are not JSON Step Functions takes (a
number of 5,000 digits, an escaped lone surrogate, NaN): each is refused with AWS's error, never
a 5xx, and an execution never starts from such input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.states_api.conftest import PASS, ROLE, machine, unique
from tests.states_api.test_activities import activity_machine
from tests.states_api.test_executions import finished
from tests.states_api.test_machines import error_of

BIG_NUMBER = "9" * 5000
LONE = '"a\\ud800b"'  # JSON text whose string holds a lone surrogate once parsed
PASS_STATE = '{"Type": "Pass", "End": true}'


def _definition_with(value: str) -> str:
    return ('{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": ' + value
            + ', "End": true}}}')


@pytest.mark.parametrize("tags", [[{}], [{"value": "v"}], [{"key": "k"}, {}]])
def test_a_tag_without_a_key_is_a_validation_error(sfn: Any, tags: list[dict[str, str]]) -> None:
    missing = next(i for i, tag in enumerate(tags) if "key" not in tag)
    message = f"1 validation error detected: Member must not be null at 'tags[{missing}].key'"
    name = unique("keyless")
    with pytest.raises(ClientError) as activity:
        sfn.create_activity(name=name, tags=tags)
    assert error_of(activity) == ("ValidationException", message)
    with pytest.raises(ClientError) as created:
        sfn.create_state_machine(name=name, definition=json.dumps(PASS), roleArn=ROLE,
                                 tags=tags)
    assert error_of(created) == ("ValidationException", message)
    assert name not in [a["name"] for a in sfn.list_activities()["activities"]]
    assert name not in [m["name"] for m in sfn.list_state_machines()["stateMachines"]]

    arn = machine(sfn, PASS, tags=[{"key": "kept", "value": "1"}])
    with pytest.raises(ClientError) as tagged:
        sfn.tag_resource(resourceArn=arn, tags=tags)
    assert error_of(tagged) == ("ValidationException", message)
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "kept", "value": "1"}]


def test_a_tag_without_a_value_has_an_empty_one(sfn: Any) -> None:
    arn = machine(sfn, PASS, tags=[{"key": "bare"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "bare", "value": ""}]


@pytest.mark.parametrize(("value", "problem"), [
    (BIG_NUMBER, "Number value length (5000) exceeds the maximum allowed (4300)"),
    ("1e400", "Number value (1e400) is out of range of a double"),
    ("NaN", "Unrecognized token 'NaN'"),
    (LONE, "Invalid UTF-16 surrogate: a string holds a lone surrogate"),
])
def test_a_definition_that_is_not_json_step_functions_takes(
    sfn: Any, value: str, problem: str
) -> None:
    definition = _definition_with(value)
    cause = f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {problem}'"
    name = unique("digits")
    with pytest.raises(ClientError) as created:
        sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)
    assert error_of(created) == ("InvalidDefinition", cause)
    arn = machine(sfn, PASS)
    with pytest.raises(ClientError) as updated:
        sfn.update_state_machine(stateMachineArn=arn, definition=definition)
    assert error_of(updated) == ("InvalidDefinition", cause)
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == PASS
    validation = sfn.validate_state_machine_definition(definition=definition)
    assert validation["result"] == "FAIL"
    assert [(d["code"], d["message"]) for d in validation["diagnostics"]] == [
        ("INVALID_JSON_DESCRIPTION", problem)
    ]
    with pytest.raises(ClientError) as tested:
        sfn.test_state(definition='{"Type": "Pass", "Result": ' + value + ', "End": true}',
                       roleArn=ROLE)
    assert error_of(tested)[0] == "InvalidDefinition"
    assert problem in error_of(tested)[1]


def test_a_definition_with_a_syntax_error_says_where(sfn: Any) -> None:
    validation = sfn.validate_state_machine_definition(definition='{"StartAt": ')
    assert [(d["code"], d["message"]) for d in validation["diagnostics"]] == [
        ("INVALID_JSON_DESCRIPTION", "Expecting value at (line 1, column 13)")
    ]


@pytest.mark.parametrize(("value", "problem"), [
    (LONE, "Invalid UTF-16 surrogate: a string holds a lone surrogate"),
    ('{"n": ' + BIG_NUMBER + "}", "Number value length (5000) exceeds the maximum allowed (4300)"),
    ('{"n": NaN}', "Unrecognized token 'NaN'"),
])
def test_execution_input_that_is_not_json_step_functions_takes(
    sfn: Any, value: str, problem: str
) -> None:
    """Refused at the door as InvalidExecutionInput: no execution is made, and the runner
    goes on running the next one."""
    message = f"Invalid State Machine Execution Input: '{problem}'"
    arn = machine(sfn, PASS)
    with pytest.raises(ClientError) as started:
        sfn.start_execution(stateMachineArn=arn, input=value)
    assert error_of(started) == ("InvalidExecutionInput", message)
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []
    express = machine(sfn, PASS, kind="EXPRESS")
    with pytest.raises(ClientError) as synced:
        sfn.start_sync_execution(stateMachineArn=express, input=value)
    assert error_of(synced) == ("InvalidExecutionInput", message)
    with pytest.raises(ClientError) as tested:
        sfn.test_state(definition=PASS_STATE, roleArn=ROLE, input=value)
    assert error_of(tested) == ("InvalidExecutionInput", message)

    good = sfn.start_execution(stateMachineArn=arn, input='{"ok": "\\ud83d\\ude00"}')
    described = finished(sfn, good["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"ok": "\U0001f600"}


def test_test_state_variables_and_mock_result_must_be_json_step_functions_takes(
    sfn: Any,
) -> None:
    with pytest.raises(ClientError) as variables:
        sfn.test_state(definition=PASS_STATE, roleArn=ROLE, variables='{"v": ' + LONE + "}")
    assert error_of(variables)[0] == "ValidationException"
    task = ('{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",'
            ' "Arguments": {"FunctionName": "f"}, "QueryLanguage": "JSONata", "End": true}')
    with pytest.raises(ClientError) as mocked:
        sfn.test_state(definition=task, roleArn=ROLE, mock={"result": BIG_NUMBER})
    assert error_of(mocked)[0] == "ValidationException"


def test_task_output_that_is_not_json_step_functions_takes(sfn: Any) -> None:
    """SendTaskSuccess answers InvalidOutput; the task is still open and a good answer ends
    it."""
    activity = sfn.create_activity(name=unique("lone"))["activityArn"]
    arn = machine(sfn, activity_machine(activity))
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    token = sfn.get_activity_task(activityArn=activity, workerName="w")["taskToken"]
    for output in (LONE, BIG_NUMBER, "NaN"):
        with pytest.raises(ClientError) as answered:
            sfn.send_task_success(taskToken=token, output=output)
        assert error_of(answered)[0] == "InvalidOutput"
    sfn.send_task_success(taskToken=token, output='{"done": true}')
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"result": {"done": True}}


def test_string_to_json_of_a_lone_surrogate_fails_the_state_cleanly(sfn: Any) -> None:
    """JSON text made at run time gets the same parser: the intrinsic fails with
    States.IntrinsicFailure, the execution fails, nothing crashes."""
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.text)"}, "End": True,
    }}}
    arn = machine(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"text": LONE}))
    described = finished(sfn, execution["executionArn"])
    assert described["status"] == "FAILED"
    assert described["error"] == "States.IntrinsicFailure"


def test_input_with_a_syntax_error_says_where(sfn: Any) -> None:
    with pytest.raises(ClientError) as started:
        sfn.start_execution(stateMachineArn=machine(sfn, PASS), input='{"a": ')
    assert error_of(started) == (
        "InvalidExecutionInput",
        "Invalid State Machine Execution Input: 'Expecting value: line 1 column 7 (char 6)'",
    )
