"""JSONata (``{% ... %}``) evaluation for JSONata-mode states, on jsonata-python.

Expressions see ``$states`` (input, result, errorOutput, context) and the visible workflow
variables, plus the Step Functions functions ``$partition``, ``$range``, ``$hash``,
``$random``, ``$uuid`` and ``$parse``. Failures become ``States.QueryEvaluationError``.
"""

from __future__ import annotations

import random
import uuid
from functools import lru_cache
from typing import Any

from jsonata import Jsonata
from jsonata.jexception import JException
from jsonata.utils import Utils

from batchyard.states.asl.errors import IntrinsicFailure, QueryEvaluationError
from batchyard.states.asl.intrinsics import array_range, hash_value
from batchyard.states.asl.values import JsonTextError, dumps, loads

_JSON_TYPES = {
    bool: "boolean", int: "number", float: "number", str: "string", dict: "object",
    list: "array", type(None): "null",
}


def is_expr(value: Any) -> bool:
    """True for a ``{% ... %}`` string."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def expr_body(value: str) -> str:
    """The expression between ``{%`` and ``%}``, without surrounding blanks."""
    return value[2:-2].strip()


def json_type(value: Any) -> str:
    """The JSON type of a plain value, as AWS names it in its causes."""
    return _JSON_TYPES.get(type(value), "object")


def unexpected_type(expression: str, field: str, expected: str, value: Any) -> QueryEvaluationError:
    """AWS's failure for a ``{% %}`` field whose result is not of the type the field takes
    (recorded for Items; the other typed fields are refused the same way)."""
    return QueryEvaluationError(
        f"The JSONata expression '{expr_body(expression)}' specified for the field '{field}' "
        f"returned an unexpected result type. Expected '{expected}', but was "
        f"'{json_type(value)}' for value: {dumps(value)}",
        field,
    )


def _partition(arr: Any, size: Any) -> list[Any]:
    if not isinstance(arr, list) or not isinstance(size, int | float) or size < 1:
        raise QueryEvaluationError("$partition expects an array and a positive chunk size")
    n = int(size)
    return [list(arr[i : i + n]) for i in range(0, len(arr), n)]


def _range(start: Any, end: Any, step: Any) -> Any:
    try:
        out = array_range([start, end, step])
    except IntrinsicFailure as exc:
        raise QueryEvaluationError(exc.message) from None
    # A JSONata sequence, so a single element collapses to a scalar as JSONata's ranges do.
    return Utils.create_sequence_from_iter(out)


def _hash(data: Any, algorithm: Any) -> str:
    try:
        return hash_value(data, algorithm)
    except IntrinsicFailure as exc:
        raise QueryEvaluationError(exc.message) from None


def _random(seed: Any = None) -> float:
    if seed is None:
        return random.random()
    return random.Random(int(seed)).random()


def _uuid() -> str:
    return str(uuid.uuid4())


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise QueryEvaluationError("$parse expects a string")
    try:
        return _to_jsonata(loads(text))
    except JsonTextError:
        raise QueryEvaluationError(f"$parse could not parse '{text}' as JSON") from None


@lru_cache(maxsize=2048)
def _compile(body: str) -> Jsonata:
    expr = Jsonata(body)
    expr.set_output_convert_nulls(False)
    expr.register_lambda("partition", _partition)
    expr.register_lambda("range", _range)
    expr.register_lambda("hash", _hash)
    expr.register_lambda("random", _random)
    expr.register_lambda("uuid", _uuid)
    expr.register_lambda("parse", _parse)
    return expr


def _to_jsonata(value: Any) -> Any:
    # jsonata-python tells JSON null from "undefined" only by its NULL_VALUE marker at the top.
    return Utils.NULL_VALUE if value is None else value


class _Unsupported(Exception):
    """The result holds a value JSON cannot carry (a function or lambda)."""


def _plain(value: Any) -> Any:
    if value is Utils.NULL_VALUE:
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    # Functions and lambdas come back as the library's own objects, not all of them callable.
    raise _Unsupported


def evaluate(
    expression: str,
    states: dict[str, Any],
    variables: dict[str, Any],
    field: str,
) -> Any:
    """Evaluate one ``{% %}`` string; ``field`` names it in AWS's error causes.

    Returns the plain JSON value; an undefined result raises States.QueryEvaluationError.
    """
    body = expr_body(expression)
    try:
        compiled = _compile(body)
    except JException as exc:
        raise QueryEvaluationError(
            f"The JSONata expression '{body}' specified for the field '{field}' is invalid: {exc}",
            field,
        ) from None
    bindings = {k: _to_jsonata(v) for k, v in variables.items()}
    bindings["states"] = states
    try:
        result = compiled.evaluate(None, bindings)
    except QueryEvaluationError as exc:
        raise QueryEvaluationError(
            f"The JSONata expression '{body}' specified for the field '{field}' threw an "
            f"error during evaluation: {exc.message}",
            field,
        ) from None
    except (JException, RecursionError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise QueryEvaluationError(
            f"The JSONata expression '{body}' specified for the field '{field}' threw an "
            f"error during evaluation: {exc}",
            field,
        ) from None
    if result is None:
        raise QueryEvaluationError(
            f"The JSONata expression '{body}' specified for the field '{field}' returned "
            "nothing (undefined).",
            field,
        )
    try:
        return _plain(result)
    except _Unsupported:
        raise QueryEvaluationError(
            f"The JSONata expression '{body}' specified for the field '{field}' returned an "
            "unsupported result type.",
            field,
        ) from None


def evaluate_template(
    template: Any, states: dict[str, Any], variables: dict[str, Any], field: str
) -> Any:
    """Evaluate every ``{% %}`` string inside a JSON template (Arguments, Output, Assign ...).

    Non-expression values are copied as they are.
    """
    if is_expr(template):
        return evaluate(template, states, variables, field)
    if isinstance(template, dict):
        return {
            k: evaluate_template(v, states, variables, f"{field}/{k}") for k, v in template.items()
        }
    if isinstance(template, list):
        return [
            evaluate_template(v, states, variables, f"{field}[{i}]") for i, v in enumerate(template)
        ]
    return template
