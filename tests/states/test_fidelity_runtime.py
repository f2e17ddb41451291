"""Run-time checks of Wait and Map fields as AWS recorded them (LocalStack's AWS-validated
snapshots of tests the public corpus leaves out): the error, its cause text and where the
EvaluationFailed event points."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from batchyard.states.asl import Interpreter, VirtualClock, parse_definition

START = datetime(2024, 6, 3, 12, 0, 0, tzinfo=UTC)


def _run(definition: dict[str, Any], data: Any) -> Any:
    machine = parse_definition(definition)
    return asyncio.run(Interpreter(machine, data, clock=VirtualClock(START)).run())


def _prefixed(state: str, text: str, entered: int = 2) -> str:
    return (
        f"An error occurred while executing the state '{state}' (entered at the event id "
        f"#{entered}). {text}"
    )


def _wait(**fields: Any) -> dict[str, Any]:
    state = {"Type": "Wait", **fields, "End": True}
    return {"StartAt": "WaitState", "States": {"WaitState": state}}


@pytest.mark.parametrize("text", [
    "2016-12-05 21:29:29Z", "2016-12-05T21:29:29", "2016-13-05T21:29:29Z",
    "2016-12-05T25:29:29Z", "05-12-2016T21:29:29Z",
])
def test_a_jsonata_timestamp_that_is_not_iso_8601_fails_after_the_state_entered(
    text: str,
) -> None:
    definition = _wait(Timestamp="{% $states.input.TimestampValue %}")
    definition["QueryLanguage"] = "JSONata"
    result = _run(definition, {"TimestampValue": text})
    cause = _prefixed(
        "WaitState",
        "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
        f"string: {text}",
    )
    assert (result.status, result.error, result.cause) == (
        "FAILED", "States.QueryEvaluationError", cause,
    )
    failed = result.events[2]
    assert (failed["type"], failed["previousEventId"]) == ("EvaluationFailed", 2)
    assert failed["evaluationFailedEventDetails"] == {
        "error": "States.QueryEvaluationError", "cause": cause,
        "location": "Timestamp", "state": "WaitState",
    }


def test_a_seconds_path_that_selects_nothing_does_not_reference_an_input_value() -> None:
    result = _run(_wait(SecondsPath="$.input.waitSeconds"), {})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == _prefixed(
        "WaitState", "The SecondsPath parameter does not reference an input value: "
        "$.input.waitSeconds",
    )
    assert [e["type"] for e in result.events] == [
        "ExecutionStarted", "WaitStateEntered", "ExecutionFailed",
    ]


@pytest.mark.parametrize(("days", "status"), [(24855, "SUCCEEDED"), (24856, "FAILED")])
def test_a_wait_longer_than_a_signed_32_bit_count_of_seconds_is_too_long(
    days: int, status: str
) -> None:
    # AWS's boundary: 24,855 days waits, 24,856 days (past 2**31 - 1 seconds) fails at once.
    until = (START + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    result = _run(_wait(TimestampPath="$.start_at"), {"start_at": until})
    assert result.status == status
    if status == "FAILED":
        assert (result.error, result.cause) == (
            "States.Runtime", _prefixed("WaitState", "Wait state delay is too long."),
        )


def _map(**fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Pass", "Assign": fields.pop("assign", {}),
                "Result": {"Values": [1, 2, 3]}, "Next": "MapState",
            },
            "MapState": {
                "Type": "Map", "ItemsPath": "$.Values", **fields,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "HandleItem",
                    "States": {"HandleItem": {"Type": "Pass", "End": True}},
                },
                "End": True,
            },
        },
    }


@pytest.mark.parametrize(("field", "variable"), [
    ("MaxConcurrencyPath", "maxConcurrency"),
    ("ToleratedFailureCountPath", "toleratedFailureCount"),
])
def test_a_count_path_takes_a_variable_holding_an_integer_as_text(
    field: str, variable: str
) -> None:
    result = _run(_map(assign={variable: "1"}, **{field: f"${variable}"}), {})
    assert (result.status, result.output) == ("SUCCEEDED", [1, 2, 3])


def test_a_negative_max_concurrency_path_fails_the_state_instead_of_the_server() -> None:
    result = _run(_map(assign={"limit": -1}, MaxConcurrencyPath="$limit"), {})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == _prefixed("MapState", "MaxConcurrency cannot be negative.", 4)


def test_jsonata_items_that_evaluate_to_a_function_are_an_unsupported_result() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "MapIterateState",
        "States": {
            "MapIterateState": {
                "Type": "Map", "Items": "{% $fn := function($x){$x} %}",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Pass",
                    "States": {"Pass": {"Type": "Pass", "End": True}},
                },
                "End": True,
            },
        },
    }
    result = _run(definition, {})
    cause = _prefixed(
        "MapIterateState",
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' "
        "returned an unsupported result type.",
    )
    assert (result.status, result.error, result.cause) == (
        "FAILED", "States.QueryEvaluationError", cause,
    )
    assert [(e["type"], e["previousEventId"]) for e in result.events] == [
        ("ExecutionStarted", 0), ("MapStateEntered", 0), ("EvaluationFailed", 0),
        ("MapStateFailed", 3), ("ExecutionFailed", 4),
    ]


def test_a_jsonata_output_holding_a_function_is_an_unsupported_result() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": {"f": "{% function($x){$x} %}"}, "End": True}},
    }
    result = _run(definition, {})
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause == _prefixed(
        "P", "The JSONata expression 'function($x){$x}' specified for the field 'Output/f' "
        "returned an unsupported result type.",
    )
