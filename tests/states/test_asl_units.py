"""Unit tests of the ASL building blocks: paths, intrinsics, JSONata, retry math, validation."""

from __future__ import annotations

from typing import Any

import pytest

from batchyard.states.asl import InvalidDefinitionError, parse_definition
from batchyard.states.asl import jsonata as jn
from batchyard.states.asl.definition import Retrier, find_catcher, retry_delay
from batchyard.states.asl.errors import (
    IntrinsicFailure,
    QueryEvaluationError,
    RuntimeFailure,
    error_matches,
)
from batchyard.states.asl.intrinsics import (
    evaluate_intrinsic,
    java_round,
    parse_intrinsic,
    payload_template,
)
from batchyard.states.asl.paths import (
    PathNotFound,
    Scope,
    check_reference_path,
    resolve,
    resolve_field,
    result_path,
)
from batchyard.states.asl.values import MISSING

SCOPE = Scope(
    context={"Execution": {"Name": "ex1"}, "State": {"Name": "S"}},
    variables={"v": {"a": [1, 2, 3]}, "n": None},
)
DATA = {"a": {"b": [10, 20, 30]}, "items": [{"x": 1}, {"x": 2}], "s-k": "hy"}


# -- paths ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("$", DATA),
        ("$.a.b[1]", 20),
        ("$.a.b[-1]", 30),
        ("$.a.b[1:]", [20, 30]),
        ("$.items[*].x", [1, 2]),
        ("$.items[?(@.x == 2)]", [{"x": 2}]),
        ("$['s-k']", "hy"),
        ("$.s-k", "hy"),
        ("$$.Execution.Name", "ex1"),
        ("$v.a[0]", 1),
        ("$n", None),
    ],
)
def test_resolve_jayway_dialect(expr: str, want: Any) -> None:
    assert resolve(expr, DATA, SCOPE) == want


def test_resolve_missing_path_and_variable() -> None:
    with pytest.raises(PathNotFound):
        resolve("$.nope", DATA, SCOPE)
    with pytest.raises(RuntimeFailure, match="not defined"):
        resolve("$nope", DATA, SCOPE)
    with pytest.raises(RuntimeFailure) as info:
        resolve_field("$.nope", {"q": 1}, SCOPE, "x.$")
    assert info.value.cause == (
        "The JSONPath '$.nope' specified for the field 'x.$' could not be found in the input "
        "'{\"q\":1}'"
    )


def test_result_path_creates_and_discards() -> None:
    assert result_path(MISSING, {"a": 1}, 5) == 5
    assert result_path(None, {"a": 1}, 5) == {"a": 1}
    assert result_path("$.r.s", {"a": 1}, 5) == {"a": 1, "r": {"s": 5}}
    assert result_path("$.a", {"a": 1}, [1]) == {"a": [1]}
    assert check_reference_path("$.a.b[0]")
    assert not check_reference_path("$.a[*]")
    assert not check_reference_path("$$.Execution")


def test_payload_template_paths_intrinsics_and_literals() -> None:
    tpl = {
        "lit": "$.not.a.path",
        "p.$": "$.a.b[0]",
        "ctx.$": "$$.State.Name",
        "fn.$": "States.Format('{}-{}', $.a.b[2], $v.a[1])",
        "nested": {"q.$": "$.items[1]"},
    }
    assert payload_template(tpl, DATA, SCOPE) == {
        "lit": "$.not.a.path",
        "p": 10,
        "ctx": "S",
        "fn": "30-2",
        "nested": {"q": {"x": 2}},
    }


# -- intrinsics ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "want"),
    [
        ("States.Format('a{}b\\{\\}', 'x')", "axb{}"),
        ("States.Format('{}', $.obj)", "{k=[1, 2], m=null}"),
        ("States.StringToJson('{\"a\": 1}')", {"a": 1}),
        ("States.JsonToString($.obj)", '{"k":[1,2],"m":null}'),
        ("States.Array(1, 'two', true, null)", [1, "two", True, None]),
        ("States.ArrayPartition(States.ArrayRange(1, 5, 1), 2)", [[1, 2], [3, 4], [5]]),
        ("States.ArrayContains($.obj.k, 2)", True),
        ("States.ArrayRange(10, 1, -3)", [10, 7, 4, 1]),
        ("States.ArrayGetItem($.obj.k, 1)", 2),
        ("States.ArrayLength($.obj.k)", 2),
        ("States.ArrayUnique(States.Array(1, 1, 2, 1.0))", [1, 2]),
        ("States.Base64Encode('hi')", "aGk="),
        ("States.Base64Decode('aGk=')", "hi"),
        ("States.Hash('input data', 'SHA-1')", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        (
            "States.JsonMerge($.obj, States.StringToJson('{\"m\": 3}'), false)",
            {"k": [1, 2], "m": 3},
        ),
        ("States.MathAdd(1.5, -2.5)", 0),
        ("States.StringSplit('a,b;;c', ',;')", ["a", "b", "c"]),
    ],
)
def test_intrinsics(call: str, want: Any) -> None:
    assert evaluate_intrinsic(call, {"obj": {"k": [1, 2], "m": None}}, SCOPE) == want


def test_intrinsic_random_uuid_and_errors() -> None:
    n = evaluate_intrinsic("States.MathRandom(5, 10)", {}, SCOPE)
    assert 5 <= n < 10
    seeded = [evaluate_intrinsic("States.MathRandom(0, 1000, 7)", {}, SCOPE) for _ in range(2)]
    assert seeded[0] == seeded[1]
    assert len(evaluate_intrinsic("States.UUID()", {}, SCOPE)) == 36
    for bad in (
        "States.Nope(1)",
        "States.Format('{}')",
        "States.ArrayGetItem(States.Array(1), 3)",
        "States.Format('x'",
        "States.StringToJson('{')",
    ):
        with pytest.raises(IntrinsicFailure):
            evaluate_intrinsic(bad, {}, SCOPE)
    call = parse_intrinsic("States.Array($.a[?(@.x, 1)], 'q')")
    assert len(call.args) == 2


def test_java_round_halves_up() -> None:
    assert [java_round(x) for x in (0.5, -0.5, 1.5, -1.5, -2.5, 2.4)] == [1, 0, 2, -1, -2, 2]


# -- JSONata -------------------------------------------------------------------------------
def _ev(expr: str, variables: dict[str, Any] | None = None) -> Any:
    return jn.evaluate(expr, {"input": {"a": [1, 2, 3]}}, variables or {}, "Output")


def test_jsonata_states_and_variables() -> None:
    assert _ev("{% $states.input.a[1] %}") == 2
    assert _ev("{% $x %}", {"x": None}) is None
    assert _ev("{% $x & '!' %}", {"x": "hi"}) == "hi!"


def test_jsonata_step_functions_functions() -> None:
    assert _ev("{% $partition([1,2,3], 2) %}") == [[1, 2], [3]]
    assert _ev("{% $range(0, 10, 5) %}") == [0, 5, 10]
    assert _ev("{% $range(1, 9, 9) %}") == 1
    assert _ev("{% $hash('input data', 'MD5') %}") == "812f45842bc6d66ee14572ce20db8e86"
    assert 0 <= _ev("{% $random() %}") < 1
    assert _ev("{% $random(3) %}") == _ev("{% $random(3) %}")
    assert len(_ev("{% $uuid() %}")) == 36
    assert _ev("{% $parse('{\"k\": [1]}') %}") == {"k": [1]}


def test_jsonata_errors_are_query_evaluation_errors() -> None:
    with pytest.raises(QueryEvaluationError, match=r"returned nothing \(undefined\)"):
        _ev("{% $nothing %}")
    with pytest.raises(QueryEvaluationError, match="threw an error"):
        _ev("{% 1 + 'a' %}")
    with pytest.raises(QueryEvaluationError):
        _ev("{% $x( %}")


def test_jsonata_template_names_fields() -> None:
    with pytest.raises(QueryEvaluationError) as info:
        jn.evaluate_template({"r": ["{% $no %}"]}, {"input": {}}, {}, "Output")
    assert info.value.location == "Output/r[0]"


# -- retry ---------------------------------------------------------------------------------
def test_retry_backoff_math() -> None:
    r = Retrier(["States.ALL"], interval_seconds=2, backoff_rate=3.0, max_attempts=5)
    assert [retry_delay(r, i) for i in range(4)] == [2.0, 6.0, 18.0, 54.0]
    capped = Retrier(["X"], interval_seconds=2, backoff_rate=3.0, max_delay_seconds=10)
    assert [retry_delay(capped, i) for i in range(4)] == [2.0, 6.0, 10.0, 10.0]
    jitter = Retrier(["X"], interval_seconds=4, backoff_rate=2.0, jitter_strategy="FULL")
    import random

    rng = random.Random(1)
    assert all(0 <= retry_delay(jitter, 2, rng) <= 16 for _ in range(50))


def test_error_matching_rules() -> None:
    assert error_matches(["States.ALL"], "Custom")
    assert not error_matches(["States.ALL"], "States.Runtime")
    assert error_matches(["States.TaskFailed"], "Custom")
    assert not error_matches(["States.TaskFailed"], "States.Timeout")
    assert not error_matches(["State.ALL"], "Custom")
    assert find_catcher([], "X") is None


# -- validation ----------------------------------------------------------------------------
def _invalid(defn: dict[str, Any]) -> str:
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(defn)
    return info.value.message


def test_validation_messages() -> None:
    msg = _invalid({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}})
    assert msg == (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: "
        "B at /States/A/Next'"
    )
    msg = _invalid(
        {"StartAt": "A", "States": {"A": {"Type": "Wait", "Timestamp": "2016-12-05", "End": True}}}
    )
    assert "String does not match RFC3339 timestamp at /States/A/Timestamp" in msg
    msg = _invalid(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Parameters": {}, "End": True}},
        }
    )
    assert "SCHEMA_VALIDATION_FAILED" in msg and "/States/A/Parameters" in msg
    msg = _invalid({"StartAt": "A", "States": {"A": {"Type": "Pass", "Output": 1, "End": True}}})
    assert "/States/A/Output" in msg
    msg = _invalid(
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "End": True}, "B": {"Type": "Pass", "End": True}},
        }
    )
    assert 'State "B" is not reachable' in msg
    assert "INVALID_JSON_DESCRIPTION" in _invalid_text("{nope")


def _invalid_text(text: str) -> str:
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(text)
    return info.value.message


def test_parse_typed_states() -> None:
    m = parse_definition(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.xs",
                    "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
                    "Next": "T",
                },
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True},
            },
        }
    )
    assert m.states["M"].processor.start_at == "P"  # type: ignore[attr-defined]
    assert m.states["M"].retry[0].max_attempts == 1  # type: ignore[attr-defined]
    assert m.states["T"].resource.endswith("lambda:invoke")  # type: ignore[attr-defined]
