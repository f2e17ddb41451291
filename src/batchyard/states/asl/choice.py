"""The Choice state: JSONPath comparison rules (And/Or/Not and every operator) or JSONata
Conditions; the first matching rule picks the next state."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from batchyard.states.asl import jsonata, paths
from batchyard.states.asl.definition import MISSING, ChoiceRule, ChoiceState
from batchyard.states.asl.errors import (
    STATES_NO_CHOICE_MATCHED,
    FailureError,
    QueryEvaluationError,
    RuntimeFailure,
)
from batchyard.states.asl.paths import PathNotFound, Scope
from batchyard.states.asl.runtime import Outcome, StateRun
from batchyard.states.asl.wait import parse_timestamp

_ABSENT: Any = object()

_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def string_matches(value: str, pattern: str) -> bool:
    """StringMatches: ``*`` is a wildcard; ``\\*`` and ``\\\\`` are literal."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    return re.fullmatch("".join(out), value, re.DOTALL) is not None


def _compare(kind: str, op: str, left: Any, right: Any) -> bool:
    if kind == "String":
        if not isinstance(left, str) or not isinstance(right, str):
            return False
        return _CMP[op](left, right)
    if kind == "Numeric":
        if not _is_number(left) or not _is_number(right):
            return False
        return _CMP[op](left, right)
    if kind == "Timestamp":
        lt = parse_timestamp(left) if isinstance(left, str) else None
        rt = parse_timestamp(right) if isinstance(right, str) else None
        if lt is None or rt is None:
            return False
        return _CMP[op](lt, rt)
    raise AssertionError(kind)


def _lookup(path: str, data: Any, scope: Scope) -> Any:
    try:
        return paths.resolve(path, data, scope)
    except PathNotFound:
        return _ABSENT


def evaluate_rule(rule: dict[str, Any], data: Any, scope: Scope) -> bool:
    """Evaluate one JSONPath-mode choice rule against the state input."""
    if "And" in rule:
        return all(evaluate_rule(r, data, scope) for r in rule["And"])
    if "Or" in rule:
        return any(evaluate_rule(r, data, scope) for r in rule["Or"])
    if "Not" in rule:
        return not evaluate_rule(rule["Not"], data, scope)
    var_path = rule["Variable"]
    value = _lookup(var_path, data, scope)
    for op_name, operand in rule.items():
        if op_name in ("Variable", "Next", "Assign", "Comment"):
            continue
        if op_name == "IsPresent":
            return (value is not _ABSENT) == bool(operand)
        if value is _ABSENT:
            raise RuntimeFailure(
                f"Invalid path '{var_path}': The choice state's condition path references an "
                "invalid value."
            )
        if op_name == "IsNull":
            return (value is None) == bool(operand)
        if op_name == "IsNumeric":
            return _is_number(value) == bool(operand)
        if op_name == "IsString":
            return isinstance(value, str) == bool(operand)
        if op_name == "IsBoolean":
            return isinstance(value, bool) == bool(operand)
        if op_name == "IsTimestamp":
            is_ts = isinstance(value, str) and parse_timestamp(value) is not None
            return is_ts == bool(operand)
        if op_name.endswith("Path"):
            base = op_name[:-4]
            operand = _lookup(operand, data, scope)
            if operand is _ABSENT:
                raise RuntimeFailure(
                    f"Invalid path '{rule[op_name]}': The choice state's condition path "
                    "references an invalid value."
                )
        else:
            base = op_name
        if base == "BooleanEquals":
            return isinstance(value, bool) and isinstance(operand, bool) and value == operand
        if base == "StringMatches":
            return (
                isinstance(value, str)
                and isinstance(operand, str)
                and string_matches(value, operand)
            )
        for kind in ("String", "Numeric", "Timestamp"):
            if base.startswith(kind):
                return _compare(kind, base[len(kind) :], value, operand)
        raise RuntimeFailure(f"Unsupported choice operator '{op_name}'")
    raise RuntimeFailure("The choice rule has no comparison operator")


def _jsonata_condition(run: StateRun, rule: ChoiceRule, index: int) -> bool:
    cond = rule.condition
    if isinstance(cond, bool):
        return cond
    value = jsonata.evaluate(cond, run.states_binding(), run.frame.visible_variables(), "Condition")
    if not isinstance(value, bool):
        raise QueryEvaluationError(
            f"The JSONata expression '{jsonata.expr_body(cond)}' specified for the field "
            f"'Condition' returned an unexpected result type. Expected 'boolean', but was "
            f"'{type(value).__name__}' for value: {paths.dumps(value)}",
            "Condition",
        )
    return value


async def run_choice(run: StateRun) -> Outcome:
    """Run a Choice state: pick the first matching rule, else Default, else fail."""
    st = run.state
    assert isinstance(st, ChoiceState)
    if st.is_jsonata:
        data = run.raw_input
        scope = None
    else:
        scope = run.scope()
        data = paths.input_path(st.input_path, run.raw_input, scope)
    chosen: ChoiceRule | None = None
    for i, rule in enumerate(st.choices):
        hit = (
            _jsonata_condition(run, rule, i)
            if st.is_jsonata
            else evaluate_rule(rule.raw, data, scope)  # type: ignore[arg-type]
        )
        if hit:
            chosen = rule
            break
    if chosen is None and st.default is None:
        raise FailureError(STATES_NO_CHOICE_MATCHED, "No Matches!")
    nxt = chosen.next if chosen else st.default
    assign = chosen.assign if chosen and chosen.assign is not MISSING else st.assign
    output_tpl = chosen.output if chosen and chosen.output is not MISSING else st.output
    out = run.finish(data, has_result=False, assign=assign, output=output_tpl)
    out.next = nxt
    return out
