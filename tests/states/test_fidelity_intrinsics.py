"""The intrinsic functions' arguments and limits as the developer guide gives them: each
function's results, States.IntrinsicFailure for arguments it cannot take (the causes are our
own words: AWS's are on no record), and the caps on text, ranges and nesting."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from typing import Any

import pytest

from batchyard.states.asl import (
    EchoInvoker,
    Interpreter,
    InvalidDefinitionError,
    TaskRequest,
    VirtualClock,
    parse_definition,
)

DATA = {
    "array": [1, 2, 3], "object": {"a": 1}, "text": "a,b;c", "none": None,
    "long": "x" * 10_001, "edge": "y" * 10_000,
}
FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:f"


def _machine(expression: str) -> dict[str, Any]:
    return {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"value.$": expression}, "End": True}},
    }


def _result(expression: str) -> Any:
    machine = parse_definition(_machine(expression))
    return asyncio.run(Interpreter(machine, DATA, clock=VirtualClock()).run())


def _value(expression: str) -> Any:
    result = _result(expression)
    assert result.status == "SUCCEEDED", result.cause
    return result.output["value"]


@pytest.mark.parametrize(("expression", "value"), [
    ("States.Format('{} and {}', $.text, 3)", "a,b;c and 3"),
    ("States.StringToJson('{\"k\": [1]}')", {"k": [1]}),
    ("States.JsonToString($.object)", '{"a":1}'),
    ("States.Array()", []),
    ("States.Array($.none, 'x', 1)", [None, "x", 1]),
    ("States.ArrayPartition($.array, 2)", [[1, 2], [3]]),
    ("States.ArrayContains($.array, 2)", True),
    ("States.ArrayRange(1, 9, 3)", [1, 4, 7]),
    ("States.ArrayRange(5, 1, -2)", [5, 3, 1]),
    ("States.ArrayGetItem($.array, 2)", 3),
    ("States.ArrayLength($.array)", 3),
    ("States.ArrayUnique(States.Array(1, 1, 2, 1))", [1, 2]),
    ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
    ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
    ("States.JsonMerge($.object, States.StringToJson('{\"b\": 2}'), false)", {"a": 1, "b": 2}),
    ("States.MathAdd(111, -1)", 110),
    ("States.StringSplit($.text, ',;')", ["a", "b", "c"]),
])
def test_each_function_computes_what_the_developer_guide_shows(
    expression: str, value: Any
) -> None:
    assert _value(expression) == value


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"])
def test_hash_takes_the_five_algorithms_of_the_guide(algorithm: str) -> None:
    digest = hashlib.new(algorithm.replace("-", "").lower(), b"a,b;c").hexdigest()
    assert _value(f"States.Hash($.text, '{algorithm}')") == digest


def test_math_random_stays_in_its_range_and_uuid_is_a_version_4_uuid() -> None:
    assert 1 <= _value("States.MathRandom(1, 3)") < 3
    assert _value("States.MathRandom(1, 1000, 7)") == _value("States.MathRandom(1, 1000, 7)")
    assert uuid.UUID(_value("States.UUID()")).version == 4


@pytest.mark.parametrize(("expression", "cause"), [
    # Argument counts.
    ("States.ArrayRange(1, 2)", "Function States.ArrayRange expects 3 argument(s) but got 2"),
    ("States.ArrayPartition($.array)",
     "Function States.ArrayPartition expects 2 argument(s) but got 1"),
    ("States.UUID(1)", "Function States.UUID expects 0 argument(s) but got 1"),
    ("States.MathRandom(1)", "Function States.MathRandom expects 2 to 3 argument(s) but got 1"),
    ("States.JsonMerge($.object, $.object)",
     "Function States.JsonMerge expects 3 argument(s) but got 2"),
    ("States.Format('{} {}', 1)",
     "Number of arguments in States.Format does not match the number of placeholders"),
    # Argument types.
    ("States.ArrayLength($.object)", "The argument of States.ArrayLength must be an array"),
    ("States.ArrayContains($.object, 1)",
     "The first argument of States.ArrayContains must be an array"),
    ("States.ArrayRange(1.5, 3, 1)", "States.ArrayRange expects integer arguments"),
    ("States.ArrayPartition($.array, 0)",
     "States.ArrayPartition expects an array and a positive chunk size"),
    ("States.ArrayGetItem($.array, 3)", "Index 3 is out of bounds for an array of length 3"),
    ("States.MathAdd('1', 2)", "States.MathAdd expects numeric arguments"),
    ("States.StringToJson(1)", "The argument of States.StringToJson must be a string"),
    ("States.Base64Decode('not base64!')", "Invalid base64 input to States.Base64Decode"),
    ("States.Hash($.none, 'MD5')", "The data argument of States.Hash cannot be null"),
    ("States.Hash($.text, 'SHA-224')",
     "The algorithm 'SHA-224' is not supported: use one of MD5, SHA-1, SHA-256, SHA-384, "
     "SHA-512"),
    # The guide's limits.
    ("States.JsonMerge($.object, $.object, true)",
     "States.JsonMerge only supports a shallow merge (false)"),
    ("States.ArrayRange(0, 1000, 1)", "States.ArrayRange cannot produce more than 1000 elements"),
    ("States.ArrayRange(1, 3, 0)", "The step of States.ArrayRange cannot be 0"),
    ("States.Base64Encode($.long)", "The input to States.Base64Encode exceeds 10000 characters"),
    ("States.Base64Decode($.long)", "The input to States.Base64Decode exceeds 10000 characters"),
    ("States.Hash($.long, 'MD5')", "The input to States.Hash exceeds 10000 characters"),
])
def test_an_argument_the_function_cannot_take_is_an_intrinsic_failure(
    expression: str, cause: str
) -> None:
    result = _result(expression)
    assert (result.status, result.error) == ("FAILED", "States.IntrinsicFailure")
    assert result.cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). " + cause
    )


def test_the_limits_themselves_are_taken() -> None:
    assert len(_value("States.ArrayRange(1, 1000, 1)")) == 1000
    assert _value("States.Base64Encode($.edge)") == base64.b64encode(b"y" * 10_000).decode()
    assert _value("States.Hash($.edge, 'MD5')") == hashlib.md5(b"y" * 10_000).hexdigest()


def _nested(calls: int) -> str:
    expression = "$.text"
    for _ in range(calls):
        expression = f"States.Format('{{}}', {expression})"
    return expression


def test_a_field_may_call_up_to_ten_intrinsic_functions() -> None:
    assert _value(_nested(10)) == "a,b;c"
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(_machine(_nested(11)))
    assert info.value.message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field "
        "'value.$' must be a valid JSONPath or a valid intrinsic function call at "
        "/States/P/Parameters'"
    )


def test_a_task_catches_the_intrinsic_failure_of_its_parameters_unscheduled() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": FUNCTION, "Next": "Done",
                  "Parameters": {"n.$": "States.ArrayLength($.object)"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}]},
            "Done": {"Type": "Pass", "End": True},
        },
    }
    calls: list[TaskRequest] = []

    async def record(request: TaskRequest) -> Any:
        calls.append(request)
        return {}

    interp = Interpreter(parse_definition(definition), DATA,
                         invoker=EchoInvoker({FUNCTION: record}), clock=VirtualClock())
    result = asyncio.run(interp.run())
    assert (result.status, result.output["Error"]) == ("SUCCEEDED", "States.IntrinsicFailure")
    assert calls == []
    assert "LambdaFunctionScheduled" not in [e["type"] for e in result.events]
