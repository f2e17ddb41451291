"""Retry and Catch as AWS has them: what CreateStateMachine refuses in a retrier or catcher
(AWS's words where they are on record), how retries are spaced, which errors the wildcards
take, and the error output a catcher hands on (LocalStack's AWS-validated recordings of
Task tests the public corpus leaves out)."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.states_api.conftest import ROLE, client, unique
from tests.support.server import ServerProcess

from batchyard.states.asl import (
    EchoInvoker,
    Interpreter,
    InvalidDefinitionError,
    TaskFailure,
    TaskRequest,
    VirtualClock,
    parse_definition,
)
from batchyard.states.asl.errors import RuntimeFailure

FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:raise"
INVOKE = "arn:aws:states:::lambda:invoke"
CAUSE = '{"errorMessage":"Some exception was raised.","errorType":"Exception"}'
PREFIX = "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "


async def _raise(_request: TaskRequest) -> Any:
    raise TaskFailure("Exception", CAUSE)


def _task(**fields: Any) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": FUNCTION, **fields}
    if "Next" not in state:
        state["End"] = True
    return state


def _machine(state: dict[str, Any], **others: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": state, **others}}


def _refusal(definition: dict[str, Any]) -> str:
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(definition)
    return info.value.message


def _run(definition: dict[str, Any], data: Any = None, invoker: Any = None) -> Any:
    clock = VirtualClock()
    interp = Interpreter(
        parse_definition(definition), {} if data is None else data,
        invoker=invoker or EchoInvoker({FUNCTION: _raise, INVOKE: _raise}), clock=clock,
        rng=random.Random(7),
    )
    return asyncio.run(interp.run())


def _types(result: Any) -> list[str]:
    return [e["type"] for e in result.events]


# -- what CreateStateMachine refuses -------------------------------------------------------
def test_a_catcher_without_next_is_refused_at_the_catcher() -> None:
    message = _refusal(_machine(_task(Catch=[{"ErrorEquals": ["States.ALL"]}])))
    assert message == PREFIX + "These fields are required: [Next] at /States/S/Catch[0]'"


@pytest.mark.parametrize("field", ["Retry", "Catch"])
def test_an_empty_error_equals_is_refused(field: str) -> None:
    item: dict[str, Any] = {"ErrorEquals": []}
    if field == "Catch":
        item["Next"] = "S"
    message = _refusal(_machine(_task(**{field: [item]})))
    assert message == PREFIX + f"Value cannot be empty at /States/S/{field}[0]/ErrorEquals'"


def test_a_retrier_without_error_equals_is_refused() -> None:
    message = _refusal(_machine(_task(Retry=[{"MaxAttempts": 1}])))
    assert message == PREFIX + "These fields are required: [ErrorEquals] at /States/S/Retry[0]'"


@pytest.mark.parametrize("errors", [
    [["States.ALL", "Custom"]],
    [["States.ALL"], ["Custom"]],
])
@pytest.mark.parametrize("field", ["Retry", "Catch"])
def test_states_all_must_stand_alone_in_the_last_retrier_or_catcher(
    field: str, errors: list[list[str]]
) -> None:
    items = [{"ErrorEquals": e, **({"Next": "S"} if field == "Catch" else {})} for e in errors]
    message = _refusal(_machine(_task(**{field: items})))
    assert message == (
        PREFIX + f"States.ALL must appear alone and at end of list at /States/S/{field}[0]"
        "/ErrorEquals'"
    )


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("MaxAttempts", -1, "Minimum value is 0"),
    ("MaxAttempts", 100_000_000, "Maximum value is 99999999"),
    ("MaxAttempts", "3", "Expected value of type Integer"),
    ("IntervalSeconds", -1, "Minimum value is 0"),
    ("IntervalSeconds", 100_000_000, "Maximum value is 99999999"),
    ("MaxDelaySeconds", 0, "Minimum value is 1"),
    ("MaxDelaySeconds", 31_622_401, "Maximum value is 31622400"),
    ("BackoffRate", 0.5, "Minimum value is 1"),
    ("JitterStrategy", "PARTIAL", "Value should be one of the following: [NONE, FULL]"),
])
def test_a_retrier_field_out_of_its_range_is_refused_in_aws_words(
    field: str, value: Any, problem: str
) -> None:
    message = _refusal(_machine(_task(Retry=[{"ErrorEquals": ["States.ALL"], field: value}])))
    assert message == PREFIX + f"{problem} at /States/S/Retry[0]/{field}'"


def test_retriers_and_catchers_take_their_boundaries_a_comment_and_empty_lists() -> None:
    edges = {
        "ErrorEquals": ["States.ALL"], "Comment": "every field at its limit",
        "IntervalSeconds": 0, "MaxAttempts": 99_999_999, "BackoffRate": 1,
        "MaxDelaySeconds": 31_622_400, "JitterStrategy": "FULL",
    }
    parse_definition(_machine(_task(Retry=[edges])))
    parse_definition(_machine(_task(Retry=[], Catch=[])))
    catch = [{"ErrorEquals": ["States.ALL"], "Comment": "c", "Next": "S", "ResultPath": None}]
    parse_definition(_machine(_task(Next="S", Catch=catch)))


@pytest.mark.parametrize("field", ["Retry", "Catch"])
def test_a_field_a_retrier_or_catcher_does_not_have_is_refused_at_it(field: str) -> None:
    item = {"ErrorEquals": ["States.ALL"], "Next": "S", "Intervall": 1}
    if field == "Retry":
        del item["Next"]
    message = _refusal(_machine(_task(**{field: [item]})))
    assert message == PREFIX + f"Field 'Intervall' is not supported at /States/S/{field}[0]'"


def test_a_field_a_state_does_not_have_is_refused_at_the_state() -> None:
    # AWS's words and place, as a CloudFormation deploy reported them.
    message = _refusal(_machine({"Type": "Pass", "_comment": "x", "End": True}))
    assert message == PREFIX + "Field '_comment' is not supported at /States/S'"


@pytest.mark.parametrize(("language", "field", "value"), [
    ("JSONata", "ResultPath", "$.error"),
    ("JSONPath", "Output", {"error": "x"}),
])
def test_a_catcher_shapes_its_output_in_its_state_query_language(
    language: str, field: str, value: Any
) -> None:
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "S", field: value}]
    definition = _machine(_task(Next="S", Catch=catch))
    definition["QueryLanguage"] = language
    assert _refusal(definition) == (
        PREFIX + f"The field '{field}' is not supported when QueryLanguage is '{language}' "
        f"at /States/S/Catch[0]/{field}'"
    )


@pytest.fixture(scope="module")
def sfn(server: ServerProcess) -> Any:
    """A Step Functions client on the shared server."""
    return client(server)


def test_create_state_machine_refuses_a_bad_retrier_and_validation_places_it(sfn: Any) -> None:
    definition = json.dumps(_machine(_task(Retry=[{"ErrorEquals": [], "MaxAttempts": -1}])))
    with pytest.raises(ClientError) as info:
        sfn.create_state_machine(name=unique("retry"), definition=definition, roleArn=ROLE)
    assert info.value.response["Error"]["Code"] == "InvalidDefinition"
    assert info.value.response["Error"]["Message"] == (
        PREFIX + "Value cannot be empty at /States/S/Retry[0]/ErrorEquals, "
        "SCHEMA_VALIDATION_FAILED: Minimum value is 0 at /States/S/Retry[0]/MaxAttempts'"
    )
    answer = sfn.validate_state_machine_definition(definition=definition)
    assert answer["result"] == "FAIL"
    assert [(d["code"], d["location"], d["message"]) for d in answer["diagnostics"]] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Retry[0]/ErrorEquals", "Value cannot be empty"),
        ("SCHEMA_VALIDATION_FAILED", "/States/S/Retry[0]/MaxAttempts", "Minimum value is 0"),
    ]


# -- retries -------------------------------------------------------------------------------
def _scheduled_at(result: Any) -> list[datetime]:
    return [e["timestamp"] for e in result.events if e["type"] == "LambdaFunctionScheduled"]


def _gaps(result: Any) -> list[float]:
    times = _scheduled_at(result)
    return [(b - a).total_seconds() for a, b in pairwise(times)]


def test_every_retry_repeats_the_task_events_after_the_last_failure() -> None:
    # AWS's recording (RETRY_INTERVAL_FEATURES): two retries, then the last failure ends it.
    retrier = {
        "ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 2,
        "BackoffRate": 2, "MaxDelaySeconds": 5, "JitterStrategy": "FULL",
    }
    result = _run(_machine(_task(Retry=[retrier])))
    assert [(e["id"], e["previousEventId"], e["type"]) for e in result.events] == [
        (1, 0, "ExecutionStarted"), (2, 0, "TaskStateEntered"),
        (3, 2, "LambdaFunctionScheduled"), (4, 3, "LambdaFunctionStarted"),
        (5, 4, "LambdaFunctionFailed"), (6, 5, "LambdaFunctionScheduled"),
        (7, 6, "LambdaFunctionStarted"), (8, 7, "LambdaFunctionFailed"),
        (9, 8, "LambdaFunctionScheduled"), (10, 9, "LambdaFunctionStarted"),
        (11, 10, "LambdaFunctionFailed"), (12, 11, "ExecutionFailed"),
    ]
    assert (result.error, result.cause) == ("Exception", CAUSE)
    # Full jitter waits a random share of the capped backoff: of 3 s, then of min(6, 5) s.
    first, second = _gaps(result)
    assert 0 <= first <= 3 and 0 <= second <= 5


def test_without_jitter_the_backoff_grows_by_its_rate_up_to_the_cap() -> None:
    retrier = {
        "ErrorEquals": ["Exception"], "IntervalSeconds": 3, "MaxAttempts": 3,
        "BackoffRate": 2, "MaxDelaySeconds": 10, "JitterStrategy": "NONE",
    }
    assert _gaps(_run(_machine(_task(Retry=[retrier])))) == [3, 6, 10]


def test_a_retrier_without_interval_and_rate_waits_one_then_two_seconds() -> None:
    result = _run(_machine(_task(Retry=[{"ErrorEquals": ["Exception"], "MaxAttempts": 2}])))
    assert _gaps(result) == [1, 2]


def test_an_interval_of_zero_retries_at_once() -> None:
    retrier = {"ErrorEquals": ["Exception"], "IntervalSeconds": 0, "MaxAttempts": 1}
    assert _gaps(_run(_machine(_task(Retry=[retrier])))) == [0]


def test_max_attempts_zero_never_retries() -> None:
    # AWS's recording (RETRY_INTERVAL_FEATURES_MAX_ATTEMPTS_ZERO) of an optimised integration.
    retrier = {
        "ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 0,
        "BackoffRate": 2, "MaxDelaySeconds": 5, "JitterStrategy": "FULL",
    }
    state = {
        "Type": "Task", "Resource": INVOKE, "Retry": [retrier], "End": True,
        "Parameters": {"FunctionName.$": "$.FunctionName",
                       "Payload": {"RetryAttempt.$": "$$.State.RetryCount"}},
    }
    result = _run(_machine(state), {"FunctionName": "f"})
    assert _types(result) == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed",
        "ExecutionFailed",
    ]
    assert json.loads(result.events[2]["taskScheduledEventDetails"]["parameters"]) == {
        "FunctionName": "f", "Payload": {"RetryAttempt": 0},
    }


def test_an_empty_retry_list_fails_at_the_first_error() -> None:
    # AWS's recording (LAMBDA_EMPTY_RETRY).
    assert _types(_run(_machine(_task(Retry=[])))) == [
        "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled",
        "LambdaFunctionStarted", "LambdaFunctionFailed", "ExecutionFailed",
    ]


def test_each_retrier_counts_its_own_attempts() -> None:
    errors = iter(["A", "B", "A", "B", "A"])

    async def alternate(_request: TaskRequest) -> Any:
        raise TaskFailure(next(errors), None)

    retry = [
        {"ErrorEquals": ["A"], "MaxAttempts": 2, "IntervalSeconds": 0},
        {"ErrorEquals": ["B"], "MaxAttempts": 2, "IntervalSeconds": 0},
    ]
    result = _run(_machine(_task(Retry=retry)), invoker=EchoInvoker({FUNCTION: alternate}))
    # A, B, A and B are retried; the third A exhausts its retrier.
    assert (result.error, _types(result).count("LambdaFunctionScheduled")) == ("A", 5)


# -- which errors the wildcards take -------------------------------------------------------
def test_states_all_does_not_retry_states_runtime() -> None:
    async def broken(_request: TaskRequest) -> Any:
        raise RuntimeFailure("The resource broke.")

    retry = [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 5, "IntervalSeconds": 0}]
    result = _run(_machine(_task(Retry=retry)), invoker=EchoInvoker({FUNCTION: broken}))
    assert result.error == "States.Runtime"
    assert _types(result).count("LambdaFunctionScheduled") == 1


def test_states_task_failed_takes_a_task_error_but_not_a_timeout() -> None:
    catch = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]
    caught = _run(_machine(_task(Catch=catch, Next="Caught"),
                           Caught={"Type": "Pass", "End": True}))
    assert (caught.status, caught.output) == ("SUCCEEDED", {"Error": "Exception", "Cause": CAUSE})

    async def never(_request: TaskRequest) -> Any:
        await asyncio.Future()

    timed_out = _run(
        _machine(_task(Catch=catch, Next="Caught", TimeoutSeconds=1),
                 Caught={"Type": "Pass", "End": True}),
        invoker=EchoInvoker({FUNCTION: never}),
    )
    assert (timed_out.status, timed_out.error) == ("FAILED", "States.Timeout")


# -- what a catcher hands on ---------------------------------------------------------------
def test_a_jsonpath_catcher_puts_the_error_output_at_its_result_path() -> None:
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Caught"}]
    result = _run(
        _machine(_task(Catch=catch, Next="Caught"), Caught={"Type": "Pass", "End": True}),
        {"input": 1},
    )
    assert result.output == {"input": 1, "failure": {"Error": "Exception", "Cause": CAUSE}}


def test_a_jsonpath_catcher_assigns_from_the_error_output() -> None:
    assign = {"why.$": "$.Cause", "input.$": "$$.Execution.Input"}
    catch = [{"ErrorEquals": ["States.ALL"], "Assign": assign, "ResultPath": None,
              "Next": "Caught"}]
    result = _run(
        _machine(_task(Catch=catch, Next="Caught"),
                 Caught={"Type": "Pass", "OutputPath": "$why", "End": True}),
        {"input": 1},
    )
    assert result.output == CAUSE
    assert result.events[5]["stateExitedEventDetails"]["assignedVariables"] == {
        "why": json.dumps(CAUSE), "input": '{"input":1}',
    }


def _jsonata_catch(catcher: dict[str, Any], fallback: dict[str, Any]) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Task",
        "States": {
            "Task": {
                "Type": "Task", "Resource": INVOKE,
                "Arguments": {"FunctionName": "f", "Payload": {"foo": "foobar"}},
                "Catch": [{"ErrorEquals": ["States.ALL"], **catcher, "Next": "Fallback"}],
                "Output": {"stateInput": "{% $states.input %}",
                           "stateResult": "{% $states.result %}"},
                "Next": "Finish",
            },
            "Fallback": {"Type": "Pass", **fallback, "End": True},
            "Finish": {"Type": "Pass", "End": True},
        },
    }


def test_a_jsonata_catcher_output_sees_the_input_and_the_error_output() -> None:
    # AWS's recording (TASK_CATCH_ERROR_OUTPUT): the catcher's Output is the state's output.
    definition = _jsonata_catch(
        {"Output": {"stateInput": "{% $states.input %}",
                    "stateError": "{% $states.errorOutput %}"}},
        {"Output": {"error": "{% $states.input %}"}},
    )
    result = _run(definition, {"inputData": "dummy"})
    caught = {"stateInput": {"inputData": "dummy"},
              "stateError": {"Error": "Exception", "Cause": CAUSE}}
    assert _types(result) == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed",
        "TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded",
    ]
    assert json.loads(result.events[5]["stateExitedEventDetails"]["output"]) == caught
    assert result.output == {"error": caught}


def test_a_jsonata_catcher_assign_keeps_the_error_output_as_the_state_output() -> None:
    # AWS's recording (TASK_CATCH_ERROR_VARIABLE_SAMPLING): without Output the error output
    # is what the state hands on, and the catcher's Assign (not the state's) is applied.
    definition = _jsonata_catch(
        {"Assign": {"inputVar": "{% $states.input %}", "errorVar": "{% $states.errorOutput %}"}},
        {"Output": {"error": "{% $errorVar %}"}},
    )
    definition["States"]["Task"]["Assign"] = {"resultVar": "{% $states.result %}"}
    result = _run(definition, {"inputData": "dummy"})
    error_output = {"Error": "Exception", "Cause": CAUSE}
    exited = result.events[5]["stateExitedEventDetails"]
    assert json.loads(exited["output"]) == error_output
    assert {k: json.loads(v) for k, v in exited["assignedVariables"].items()} == {
        "inputVar": {"inputData": "dummy"}, "errorVar": error_output,
    }
    assert result.output == {"error": error_output}


def test_states_all_does_not_retry_a_state_output_over_the_quota() -> None:
    async def big(_request: TaskRequest) -> Any:
        return "x" * (256 * 1024 - 100)

    retry = [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3, "IntervalSeconds": 0}]
    # The result fits; the state's output, the input with the result beside it, does not.
    state = _task(Retry=retry, ResultSelector={"r.$": "$"}, ResultPath="$.result")
    result = _run(_machine(state), {"input": "y" * 100},
                  invoker=EchoInvoker({FUNCTION: big}))
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert _types(result).count("LambdaFunctionScheduled") == 1
