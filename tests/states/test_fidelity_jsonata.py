"""JSONata and variables as AWS has them: which fields each query language takes, where a
state may go back to JSONPath, what an Assign sees, how far a variable reaches and how large
it may be (LocalStack's AWS-validated recordings where they exist, the developer guide
otherwise)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from batchyard.states.asl import Interpreter, InvalidDefinitionError, VirtualClock, parse_definition

PREFIX = "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "
FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:f"
PROCESSOR = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def _run(definition: dict[str, Any], data: Any = None) -> Any:
    machine = parse_definition(definition)
    return asyncio.run(
        Interpreter(machine, {} if data is None else data, clock=VirtualClock()).run()
    )


def _refusal(definition: dict[str, Any]) -> str:
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(definition)
    return info.value.message


def _one(state: dict[str, Any], language: str | None = None) -> dict[str, Any]:
    definition: dict[str, Any] = {"StartAt": "S", "States": {"S": state}}
    if language is not None:
        definition["QueryLanguage"] = language
    return definition


# -- which fields each language takes ------------------------------------------------------
@pytest.mark.parametrize(("state", "field"), [
    ({"Type": "Pass", "InputPath": "$"}, "InputPath"),
    ({"Type": "Pass", "Parameters": {}}, "Parameters"),
    ({"Type": "Pass", "ResultPath": "$.r"}, "ResultPath"),
    ({"Type": "Pass", "OutputPath": "$"}, "OutputPath"),
    ({"Type": "Task", "Resource": FUNCTION, "ResultSelector": {}}, "ResultSelector"),
    ({"Type": "Task", "Resource": FUNCTION, "TimeoutSecondsPath": "$.t"}, "TimeoutSecondsPath"),
    ({"Type": "Wait", "SecondsPath": "$.s"}, "SecondsPath"),
    ({"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": PROCESSOR}, "ItemsPath"),
    ({"Type": "Map", "MaxConcurrencyPath": "$.m", "ItemProcessor": PROCESSOR},
     "MaxConcurrencyPath"),
])
def test_a_jsonpath_field_is_refused_in_a_jsonata_state(state: dict[str, Any], field: str) -> None:
    # Our own words: AWS refuses these fields in JSONata states, its text is not on record.
    message = _refusal(_one({**state, "End": True}, "JSONata"))
    assert message == (
        PREFIX + f"The field '{field}' is not supported when QueryLanguage is 'JSONata' "
        f"at /States/S/{field}'"
    )


@pytest.mark.parametrize(("state", "field"), [
    ({"Type": "Task", "Resource": FUNCTION, "Arguments": {}}, "Arguments"),
    ({"Type": "Pass", "Output": {}}, "Output"),
    ({"Type": "Map", "Items": [1], "ItemProcessor": PROCESSOR}, "Items"),
])
def test_a_jsonata_field_is_refused_in_a_jsonpath_state(state: dict[str, Any], field: str) -> None:
    assert _refusal(_one({**state, "End": True})) == (
        PREFIX + f"The field '{field}' is not supported when QueryLanguage is 'JSONPath' "
        f"at /States/S/{field}'"
    )


@pytest.mark.parametrize("state", [
    {"Type": "Pass", "Arguments": {}},
    {"Type": "Map", "Arguments": {}, "ItemProcessor": PROCESSOR},
    {"Type": "Fail", "Output": {}},
    {"Type": "Fail", "Assign": {}},
])
def test_arguments_output_and_assign_go_only_where_aws_takes_them(state: dict[str, Any]) -> None:
    # The fields each type takes are AWS's (measured with ValidateStateMachineDefinition).
    fields = {k: v for k, v in state.items() if k in ("Arguments", "Output", "Assign")}
    if state["Type"] != "Fail":
        state = {**state, "End": True}
    (field,) = fields
    assert _refusal(_one(state, "JSONata")) == (
        PREFIX + f"Field '{field}' is not supported at /States/S'"
    )


def test_a_jsonata_machine_keeps_its_states_jsonata() -> None:
    # AWS's recording (INVALID_DOWNGRADE_QUERY_LANGUAGE), at the state.
    message = _refusal(_one({"Type": "Pass", "QueryLanguage": "JSONPath", "End": True},
                            "JSONata"))
    assert message == (
        PREFIX + "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state "
        "machine at /States/S'"
    )


def test_a_jsonpath_machine_may_run_jsonpath_states_inside_a_jsonata_map() -> None:
    # AWS validates this definition OK (localstack/localstack#12958).
    definition = _one({
        "Type": "Map", "QueryLanguage": "JSONata", "Items": [1, 2], "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Pass", "States": {
            "Pass": {"QueryLanguage": "JSONPath", "Type": "Pass", "Parameters": {"v.$": "$"},
                     "End": True}}},
    })
    definition["QueryLanguage"] = "JSONPath"
    assert _run(definition).output == [{"v": 1}, {"v": 2}]


# -- what an Assign sees -------------------------------------------------------------------
@pytest.mark.parametrize("language", ["JSONata", "JSONPath"])
def test_an_assign_reads_the_variables_from_before_its_state(language: str) -> None:
    jsonata = language == "JSONata"
    second = {"x": 1, "y": "{% $x %}"} if jsonata else {"x": 1, "y.$": "$x"}
    read = (
        {"Output": {"x": "{% $x %}", "y": "{% $y %}"}} if jsonata
        else {"Parameters": {"x.$": "$x", "y.$": "$y"}}
    )
    definition = {
        "QueryLanguage": language, "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": 0}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": second, "Next": "C"},
            "C": {"Type": "Pass", **read, "End": True},
        },
    }
    assert _run(definition).output == {"x": 1, "y": 0}


def test_an_assign_cannot_read_a_variable_it_sets_for_the_first_time() -> None:
    definition = _one({"Type": "Pass", "Assign": {"x": 1, "y": "{% $x %}"}, "End": True},
                      "JSONata")
    result = _run(definition)
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). The "
        "JSONata expression '$x' specified for the field 'Assign/y' returned nothing "
        "(undefined)."
    )


def test_output_path_sees_the_variable_its_own_assign_replaces() -> None:
    # AWS's recording (BASE_EVALUATION_ORDER_PASS_STATE): the state hands on 42, then sets
    # answer to "<omitted>".
    definition = {
        "StartAt": "State0",
        "States": {
            "State0": {"Type": "Pass", "Result": {"theQuestion": "What is the answer?"},
                       "Assign": {"question.$": "$.theQuestion", "answer": 42},
                       "Next": "State1"},
            "State1": {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer",
                       "OutputPath": "$answer", "Assign": {"answer": "<omitted>"},
                       "End": True},
        },
    }
    result = _run(definition)
    assert result.output == 42
    assert result.events[4]["stateExitedEventDetails"]["assignedVariables"] == {
        "answer": '"<omitted>"',
    }


# -- how far a variable reaches ------------------------------------------------------------
def test_an_iteration_reads_the_outer_variables_and_keeps_its_own() -> None:
    # AWS's recording (BASE_SCOPE_MAP): every iteration reads x, and after the Map x is 42.
    definition = {
        "StartAt": "State0",
        "States": {
            "State0": {"Type": "Pass", "Assign": {"x": 42, "items": [1, 2, 3]},
                       "Next": "State1"},
            "State1": {"Type": "Map", "ItemsPath": "$items", "MaxConcurrency": 1,
                       "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                                         "StartAt": "Inner", "States": {
                                             "Inner": {"Type": "Pass",
                                                       "Assign": {"innerX.$": "$x"},
                                                       "End": True}}},
                       "Next": "State2"},
            "State2": {"Type": "Pass", "Assign": {"final.$": "$x"}, "End": True},
        },
    }
    result = _run(definition, {"input_value": "input_value_literal"})
    assigned = [e["stateExitedEventDetails"].get("assignedVariables") for e in result.events
                if e["type"] == "PassStateExited"]
    assert assigned == [
        {"x": "42", "items": "[1,2,3]"}, {"innerX": "42"}, {"innerX": "42"}, {"innerX": "42"},
        {"final": "42"},
    ]
    assert result.output == [1, 2, 3]


def test_a_variable_an_iteration_assigns_is_gone_after_the_map() -> None:
    definition = {
        "QueryLanguage": "JSONata", "StartAt": "M",
        "States": {
            "M": {"Type": "Map", "Items": [1], "Next": "After", "ItemProcessor": {
                "StartAt": "I", "States": {"I": {"Type": "Pass", "Assign": {"inner": 1},
                                                 "End": True}}}},
            "After": {"Type": "Pass", "Output": "{% $inner %}", "End": True},
        },
    }
    result = _run(definition)
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause.endswith(
        "The JSONata expression '$inner' specified for the field 'Output' returned nothing "
        "(undefined)."
    )


def test_the_error_output_is_only_a_catchers() -> None:
    result = _run(_one({"Type": "Pass", "Output": "{% $states.errorOutput %}", "End": True},
                       "JSONata"))
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")


# -- variable names and sizes --------------------------------------------------------------
def test_a_variable_name_is_a_unicode_identifier_of_up_to_80_characters() -> None:
    name = "größe_" + "x" * 74
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {name: {"v": 3}}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"v.$": f"${name}.v"}, "End": True},
        },
    }
    assert _run(definition).output == {"v": 3}


@pytest.mark.parametrize(("name", "problem"), [
    ("x" * 81, "is not valid"),
    ("1x", "is not valid"),
    ("a-b", "is not valid"),
    ("states", "is reserved"),
])
def test_a_variable_name_aws_refuses_is_refused(name: str, problem: str) -> None:
    # Our own words: AWS refuses these names, its text is not on record.
    assert _refusal(_one({"Type": "Pass", "Assign": {name: 1}, "End": True}, "JSONata")) == (
        PREFIX + f"The variable name '{name}' {problem} at /States/S/Assign/{name}'"
    )


def _assign(**values: str) -> dict[str, Any]:
    return _one({"Type": "Pass", "Assign": values, "Output": {}, "End": True}, "JSONata")


def test_a_variable_may_hold_256_kib() -> None:
    # 262,142 characters and the quotes of a JSON string: 262,144 bytes.
    result = _run(_assign(v="{% $pad('', 262142, 'x') %}"))
    assert result.status == "SUCCEEDED"
    assert len(json.loads(result.events[2]["stateExitedEventDetails"]["assignedVariables"]
                          ["v"])) == 262_142


def test_a_variable_over_256_kib_exceeds_the_data_limit() -> None:
    result = _run(_assign(v="{% $pad('', 262143, 'x') %}"))
    assert (result.status, result.error, result.cause) == (
        "FAILED", "States.DataLimitExceeded",
        "The state/task 'S' assigned the variable 'v' a value of 262145 bytes, over the "
        "maximum of 262144.",
    )


def test_the_variables_of_one_assign_share_the_256_kib() -> None:
    result = _run(_assign(a="{% $pad('', 140000, 'x') %}", b="{% $pad('', 140000, 'y') %}"))
    assert (result.status, result.error, result.cause) == (
        "FAILED", "States.DataLimitExceeded",
        "The state/task 'S' assigned variables of 280004 bytes together, over the maximum "
        "of 262144.",
    )


# -- results of the wrong type ----------------------------------------------------------------
@pytest.mark.parametrize(("state", "field", "expected", "actual", "shown"), [
    ({"Type": "Choice", "Default": "D",
      "Choices": [{"Condition": "{% $states.input.n %}", "Next": "D"}]},
     "Condition", "boolean", "number", "1"),
    ({"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "D"},
     "Seconds", "integer", "string", '"soon"'),
    ({"Type": "Task", "Resource": FUNCTION, "TimeoutSeconds": "{% $states.input.s %}",
      "Next": "D"}, "TimeoutSeconds", "integer", "string", '"soon"'),
    ({"Type": "Map", "Items": [1], "MaxConcurrency": "{% $states.input.s %}",
      "ItemProcessor": PROCESSOR, "Next": "D"}, "MaxConcurrency", "integer", "string",
     '"soon"'),
    ({"Type": "Fail", "Error": "{% $states.input.n %}"}, "Error", "string", "number", "1"),
])
def test_a_typed_field_whose_expression_gives_another_type_fails_the_state(
    state: dict[str, Any], field: str, expected: str, actual: str, shown: str
) -> None:
    # AWS's words for Items, in the same form for every typed field.
    definition = {"QueryLanguage": "JSONata", "StartAt": "S",
                  "States": {"S": state, "D": {"Type": "Succeed"}}}
    if state["Type"] == "Fail":
        del definition["States"]["D"]
    result = _run(definition, {"n": 1, "s": "soon"})
    expression = state.get(field) or state["Choices"][0]["Condition"]
    body = expression[2:-2].strip()
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). The "
        f"JSONata expression '{body}' specified for the field '{field}' returned an unexpected "
        f"result type. Expected '{expected}', but was '{actual}' for value: {shown}"
    )
    failed = next(e for e in result.events if e["type"] == "EvaluationFailed")
    assert failed["evaluationFailedEventDetails"]["location"] == field
