"""JSONPath member names as Jayway (and so AWS) reads them, and the path and intrinsic fields
CreateStateMachine checks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from batchyard.states.asl import (
    Interpreter,
    InvalidDefinitionError,
    VirtualClock,
    parse_definition,
)

DATA = {
    "a-b": 1, "a.b": 2, "a b": 3, "ü": 4, "a": {"b": 5}, "arr": [1, 2, 3],
    "$x": 9, "@": 10, "*": 11, "1": 12, 'Test\\""Name"': 'Value"\\',
}


def _select(path: str, data: Any = DATA) -> Any:
    definition = {
        "StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": path}, "End": True}},
    }
    result = asyncio.run(
        Interpreter(parse_definition(definition), data, clock=VirtualClock()).run()
    )
    assert result.status == "SUCCEEDED", result.cause
    return result.output["v"]


@pytest.mark.parametrize(("path", "value"), [
    ("$.a-b", 1), ("$['a.b']", 2), ('$["a b"]', 3), ("$.ü", 4), ("$['a']['b']", 5),
    ("$.arr[-1]", 3), ("$.$x", 9), ("$.@", 10), ("$['*']", 11), ("$.1", 12), ("$['1']", 12),
])
def test_a_definite_path_selects_the_member_it_names(path: str, value: Any) -> None:
    assert _select(path) == value


def test_a_backslash_in_a_bracketed_name_is_part_of_the_name() -> None:
    # AWS's recording: $['Test\""Name"'] selects the key Test\""Name" as written.
    assert _select("$['Test\\\"\"Name\"']") == 'Value"\\'


def test_a_wildcard_still_selects_a_list() -> None:
    assert _select("$.a.*") == [5]


def test_a_bracketed_name_works_as_a_result_path() -> None:
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": '$["a b"].c', "End": True}},
    }
    result = asyncio.run(Interpreter(parse_definition(definition), {}, clock=VirtualClock()).run())
    assert result.output == {"a b": {"c": 1}}


def _rejected(state: dict[str, Any]) -> str:
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition({"StartAt": "S", "States": {"S": {**state, "End": True}}})
    return info.value.message


@pytest.mark.parametrize(("state", "field"), [
    ({"Type": "Pass", "InputPath": "$.a b"}, "InputPath"),
    ({"Type": "Wait", "SecondsPath": "seconds"}, "SecondsPath"),
    ({"Type": "Wait", "TimestampPath": "$.a b"}, "TimestampPath"),
    ({"Type": "Map", "ItemsPath": "items", "ItemProcessor": {
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}, "ItemsPath"),
    ({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "TimeoutSecondsPath": "timeout"}, "TimeoutSecondsPath"),
])
def test_a_path_field_that_is_no_path_is_rejected_at_create_time(
    state: dict[str, Any], field: str
) -> None:
    assert _rejected(state) == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field "
        f"'{field}' must be a valid JSONPath at /States/S/{field}'"
    )


@pytest.mark.parametrize("value", [
    # AWS's recordings: a backslash may escape only ', {, } and itself in an intrinsic string.
    "States.StringToJson('{\"text\":\"An \\\"escaped double quote\\\" here\"}')",
    "States.Format('He said, \\\"Hello, {}!\\\"', 'Test \\\"Name\\\" Here')",
    "States.NoSuchFunction(1)",
    "States.Format('unterminated'",
    "no path",
])
def test_a_template_value_that_is_neither_path_nor_intrinsic_is_rejected(value: str) -> None:
    message = _rejected({"Type": "Pass", "Parameters": {"parsed.$": value}})
    assert message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field "
        "'parsed.$' must be a valid JSONPath or a valid intrinsic function call at "
        "/States/S/Parameters'"
    )


def test_a_filter_with_blanks_is_a_valid_path() -> None:
    data = {"users": [{"status": 0}, {"status": 1}]}
    assert _select("$.users[?(@.status == 0)]", data) == [{"status": 0}]


@pytest.mark.parametrize(("rule", "field"), [
    ({"Variable": "value", "IsPresent": True}, "Variable"),
    ({"Variable": "$.value", "StringEqualsPath": "other"}, "StringEqualsPath"),
])
def test_a_choice_rule_path_that_is_no_path_is_rejected_at_create_time(
    rule: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition({
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice", "Choices": [{**rule, "Next": "D"}], "Default": "D"},
                "D": {"Type": "Succeed"},
            },
        })
    assert info.value.message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field "
        f"'{field}' must be a valid JSONPath at /States/C/Choices[0]/{field}'"
    )


def test_a_choice_rule_may_compare_with_a_variable_or_the_context_object() -> None:
    parse_definition({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$$.Execution.Name", "StringEqualsPath": "$expected", "Next": "D"},
            ], "Default": "D"},
            "D": {"Type": "Succeed"},
        },
    })
