"""TestState's inspectionData at DEBUG and TRACE, through boto3: each step of the tested
state's data processing that the state has, as AWS reports it (a Pass with a Result shows no
input processing, a Pass without one no result, Choice/Succeed/Fail only their input path,
JSONata states their Arguments and variables), the Map settings, and the Retry or Catch that
took an error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.states_api.conftest import ROLE

LAMBDA = "arn:aws:states:::lambda:invoke"
LEVELS = ["DEBUG", "TRACE"]


def inspect(sfn: Any, state: dict[str, Any], level: str, **kwargs: Any) -> dict[str, Any]:
    """The answer of TestState with every JSON text of its inspectionData parsed."""
    answer = sfn.test_state(
        definition=json.dumps(state), roleArn=ROLE, inspectionLevel=level, **kwargs
    )
    data = answer["inspectionData"]
    for key, value in data.items():
        if isinstance(value, str):
            data[key] = json.loads(value)
    return answer


@pytest.mark.parametrize("level", LEVELS)
def test_pass_without_result_shows_its_input_processing(sfn: Any, level: str) -> None:
    state = {
        "Type": "Pass", "InputPath": "$.given",
        "Parameters": {"fixed": "f", "picked.$": "$.a"}, "ResultPath": "$.made", "End": True,
    }
    given = {"a": 1, "b": 2}
    answer = inspect(sfn, state, level, input=json.dumps({"given": given, "other": 3}))
    assert answer["inspectionData"] == {
        "input": {"given": given, "other": 3},
        "afterInputPath": given,
        "afterParameters": {"fixed": "f", "picked": 1},
        "afterResultSelector": {"fixed": "f", "picked": 1},
        "afterResultPath": {"given": given, "other": 3, "made": {"fixed": "f", "picked": 1}},
    }


@pytest.mark.parametrize("level", LEVELS)
def test_pass_with_result_shows_the_result_not_the_input_processing(
    sfn: Any, level: str
) -> None:
    state = {"Type": "Pass", "Result": {"r": True}, "ResultPath": "$.out", "Next": "After"}
    answer = inspect(sfn, state, level, input='{"in": 0}')
    assert answer["nextState"] == "After"
    assert answer["inspectionData"] == {
        "input": {"in": 0},
        "result": {"r": True},
        "afterResultSelector": {"r": True},
        "afterResultPath": {"in": 0, "out": {"r": True}},
    }


@pytest.mark.parametrize("level", LEVELS)
def test_task_shows_every_step(sfn: Any, level: str) -> None:
    state = {
        "Type": "Task", "Resource": LAMBDA, "InputPath": "$.request",
        "Parameters": {"FunctionName": "f", "Payload.$": "$"},
        "ResultSelector": {"value.$": "$.Payload.value"}, "ResultPath": "$.response",
        "End": True,
    }
    answer = inspect(
        sfn, state, level, input='{"request": {"n": 7}}',
        mock={"result": '{"Payload": {"value": 49}, "StatusCode": 200}'},
    )
    assert answer["status"] == "SUCCEEDED"
    assert answer["inspectionData"] == {
        "input": {"request": {"n": 7}},
        "afterInputPath": {"n": 7},
        "afterParameters": {"FunctionName": "f", "Payload": {"n": 7}},
        "result": {"Payload": {"value": 49}, "StatusCode": 200},
        "afterResultSelector": {"value": 49},
        "afterResultPath": {"request": {"n": 7}, "response": {"value": 49}},
    }


@pytest.mark.parametrize("level", LEVELS)
def test_jsonata_task_shows_its_arguments_result_and_variables(sfn: Any, level: str) -> None:
    state = {
        "Type": "Task", "QueryLanguage": "JSONata", "Resource": LAMBDA,
        "Arguments": {"FunctionName": "f", "Payload": "{% $states.input.n * $factor %}"},
        "Assign": {"seen": "{% $states.result.Payload %}"},
        "Output": "{% $states.result.Payload + 1 %}",
        "End": True,
    }
    answer = inspect(
        sfn, state, level, input='{"n": 3}', variables='{"factor": 2}',
        mock={"result": '{"Payload": 6}'},
    )
    assert answer["output"] == "7"
    assert answer["inspectionData"] == {
        "input": {"n": 3},
        "afterArguments": {"FunctionName": "f", "Payload": 6},
        "result": {"Payload": 6},
        "variables": {"factor": 2, "seen": 6},
    }


@pytest.mark.parametrize("level", LEVELS)
def test_choice_succeed_and_fail_show_only_their_input_path(sfn: Any, level: str) -> None:
    choice = {
        "Type": "Choice", "InputPath": "$.inner", "Default": "No",
        "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Next": "Yes"}],
    }
    chosen = inspect(sfn, choice, level, input='{"inner": {"v": 1}}')
    assert chosen["nextState"] == "Yes"
    assert chosen["inspectionData"] == {"input": {"inner": {"v": 1}}, "afterInputPath": {"v": 1}}
    succeed = inspect(sfn, {"Type": "Succeed", "InputPath": "$.x"}, level, input='{"x": [1]}')
    assert succeed["inspectionData"] == {"input": {"x": [1]}, "afterInputPath": [1]}
    failed = inspect(sfn, {"Type": "Fail", "Error": "E"}, level, input='{"k": "v"}')
    assert failed["status"] == "FAILED"
    assert failed["inspectionData"] == {"input": {"k": "v"}, "afterInputPath": {"k": "v"}}


@pytest.mark.parametrize("level", LEVELS)
def test_map_shows_its_items_and_settings(sfn: Any, level: str) -> None:
    state = {
        "Type": "Map", "InputPath": "$.job", "ItemsPath": "$.items", "MaxConcurrency": 2,
        "ItemSelector": {"item.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
        "ToleratedFailureCount": 1,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}},
        },
        "ResultPath": "$.results", "End": True,
    }
    answer = inspect(sfn, state, level, input='{"job": {"items": [1, 2], "tag": "t"}}')
    selected = [{"item": 1, "tag": "t"}, {"item": 2, "tag": "t"}]
    assert answer["status"] == "SUCCEEDED"
    assert answer["inspectionData"] == {
        "input": {"job": {"items": [1, 2], "tag": "t"}},
        "afterInputPath": {"items": [1, 2], "tag": "t"},
        "afterItemsPath": [1, 2],
        "afterItemSelector": selected,
        "maxConcurrency": 2,
        "toleratedFailureCount": 1,
        "afterResultSelector": selected,
        "afterResultPath": {"job": {"items": [1, 2], "tag": "t"}, "results": selected},
    }
    plain = inspect(sfn, {**state, "MaxConcurrency": 0, "ToleratedFailureCount": 0}, level,
                    input='{"job": {"items": [], "tag": "t"}}')["inspectionData"]
    # An unlimited Map reports 0, as AWS does.
    assert (plain["maxConcurrency"], plain["toleratedFailureCount"]) == (0, 0)


@pytest.mark.parametrize("level", LEVELS)
def test_the_handler_that_took_the_error(sfn: Any, level: str) -> None:
    task = {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": "f"},
            "End": True}
    failing = {"errorOutput": {"error": "Boom", "cause": "it broke"}}
    caught = inspect(sfn, {**task, "Catch": [
        {"ErrorEquals": ["Other"], "Next": "A"}, {"ErrorEquals": ["Boom"], "Next": "B"},
    ]}, level, mock=failing)
    assert (caught["status"], caught["nextState"]) == ("CAUGHT_ERROR", "B")
    assert (caught["error"], caught["cause"]) == ("Boom", "it broke")
    assert caught["inspectionData"]["errorDetails"] == {"catchIndex": 1}
    assert caught["inspectionData"]["afterParameters"] == {"FunctionName": "f"}
    assert "result" not in caught["inspectionData"]
    retried = inspect(sfn, {**task, "Retry": [
        {"ErrorEquals": ["Other"]}, {"ErrorEquals": ["Boom"], "IntervalSeconds": 3},
    ]}, level, mock=failing)
    assert retried["status"] == "RETRIABLE"
    assert retried["inspectionData"]["errorDetails"] == {
        "retryIndex": 1, "retryBackoffIntervalSeconds": 3,
    }


@pytest.mark.parametrize("level", LEVELS)
def test_a_retry_that_already_retried(sfn: Any, level: str) -> None:
    state = {
        "Type": "Task", "QueryLanguage": "JSONata", "Resource": LAMBDA,
        "Arguments": {"FunctionName": "f"},
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 5,
                   "BackoffRate": 2.0}],
        "End": True,
    }
    failing = {"errorOutput": {"error": "Flaky", "cause": "again"}}
    fourth = inspect(sfn, state, level, mock=failing,
                     stateConfiguration={"retrierRetryCount": 4})
    assert (fourth["status"], fourth["error"], fourth["cause"]) == ("RETRIABLE", "Flaky", "again")
    assert fourth["inspectionData"]["errorDetails"] == {
        "retryIndex": 0, "retryBackoffIntervalSeconds": 16,
    }
    spent = inspect(sfn, state, level, mock=failing, stateConfiguration={"retrierRetryCount": 5})
    # Its attempts are spent: the state fails, and the Retry is still named.
    assert (spent["status"], spent["error"], spent["cause"]) == ("FAILED", "Flaky", "again")
    assert spent["inspectionData"]["errorDetails"] == {"retryIndex": 0}


def test_a_map_within_its_tolerated_failures_succeeded(sfn: Any) -> None:
    state = {
        "Type": "Map", "ToleratedFailureCount": 1,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Pick", "States": {
                "Pick": {"Type": "Choice", "Default": "Ok", "Choices": [
                    {"Variable": "$", "NumericEquals": 2, "Next": "Bad"},
                ]},
                "Bad": {"Type": "Fail", "Error": "Two"},
                "Ok": {"Type": "Pass", "End": True},
            },
        },
        "End": True,
    }
    answer = inspect(sfn, state, "DEBUG", input="[1, 2, 3]")
    # One failed iteration is tolerated: nothing was caught, the state succeeded.
    assert answer["status"] == "SUCCEEDED"
    assert "error" not in answer
    assert json.loads(answer["output"])[0::2] == [1, 3]


def test_info_shows_no_inspection_data(sfn: Any) -> None:
    answer = sfn.test_state(
        definition=json.dumps({"Type": "Pass", "End": True}), roleArn=ROLE, input="{}",
        inspectionLevel="INFO",
    )
    assert "inspectionData" not in answer
