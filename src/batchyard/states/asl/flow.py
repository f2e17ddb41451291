"""The states that run nothing of their own: Pass, Succeed, Fail, Wait and Choice.

Pass hands on its input or a fixed Result; Succeed ends its frame; Fail fails it with
Error/Cause (static, from paths, or JSONata); Wait sleeps for Seconds or until a Timestamp
through the interpreter's clock; Choice picks the next state by its JSONPath comparison rules
(And/Or/Not and every operator) or its JSONata Conditions.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from batchyard.states.asl import jsonata, paths
from batchyard.states.asl.definition import (
    ChoiceRule,
    ChoiceState,
    FailState,
    PassState,
    WaitState,
)
from batchyard.states.asl.errors import (
    STATES_NO_CHOICE_MATCHED,
    FailureError,
    QueryEvaluationError,
    RuntimeFailure,
)
from batchyard.states.asl.intrinsics import evaluate_intrinsic, is_intrinsic
from batchyard.states.asl.paths import PathNotFound, Scope
from batchyard.states.asl.runtime import Outcome, StateRun
from batchyard.states.asl.timestamps import parse_timestamp
from batchyard.states.asl.values import MISSING, dumps


# -- Pass and Succeed ------------------------------------------------------------------------
async def run_pass(run: StateRun) -> Outcome:
    """Run a Pass state."""
    st = run.state
    assert isinstance(st, PassState)
    if st.is_jsonata:
        if st.result is not MISSING:
            return run.finish(copy.deepcopy(st.result))
        return run.finish(run.raw_input, has_result=False)
    if st.result is MISSING:
        return run.finish(run.effective_input())
    run.effective_input(inspected=False)
    result = copy.deepcopy(st.result)
    run.note("result", result)
    return run.finish(result)


async def run_succeed(run: StateRun) -> Outcome:
    """Run a Succeed state."""
    st = run.state
    if st.is_jsonata:
        out = run.finish(run.raw_input, has_result=False)
    else:
        data = paths.input_path(st.input_path, run.raw_input, run.scope())
        run.note("afterInputPath", data)
        out = run.finish(data, has_result=False)
    out.next = None
    return out


# -- Fail ----------------------------------------------------------------------------------------
def _text(run: StateRun, value: Any, path: Any, field: str) -> str | None:
    if run.state.is_jsonata:
        if value is MISSING:
            return None
        out = run.jsonata(value, field)
        if not isinstance(out, str):
            raise jsonata.unexpected_type(value, field, "string", out)
        return out
    if value is not MISSING:
        # A JSONPath Fail gives Error and Cause as the definition's strings.
        static: str | None = value
        return static
    if path is MISSING:
        return None
    scope = run.scope()
    if is_intrinsic(path):
        out = evaluate_intrinsic(path, run.raw_input, scope)
    else:
        out = paths.resolve_field(path, run.raw_input, scope, f"{field}Path")
    return out if isinstance(out, str) else dumps(out)


async def run_fail(run: StateRun) -> Outcome:
    """Run a Fail state: always raises :class:`FailureError`."""
    st = run.state
    assert isinstance(st, FailState)
    if not st.is_jsonata:
        # A Fail state has no InputPath: AWS shows its input unchanged.
        run.note("afterInputPath", run.raw_input)
    error = _text(run, st.error, st.error_path, "Error")
    cause = _text(run, st.cause, st.cause_path, "Cause")
    raise FailureError(error, cause)


# -- Wait ----------------------------------------------------------------------------------------
def _is_long(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


# AWS keeps a Wait's delay in a signed 32-bit count of seconds: a longer one fails the state.
MAX_WAIT_SECONDS = 2**31 - 1


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else dumps(value)


def _bounded(start: datetime, until: datetime) -> datetime:
    if (until - start).total_seconds() > MAX_WAIT_SECONDS:
        raise RuntimeFailure("Wait state delay is too long.")
    return until


def _wait_path(run: StateRun, path: str, field: str) -> Any:
    """The value a Wait's SecondsPath or TimestampPath selects; AWS words a miss its own way."""
    try:
        return paths.resolve(path, run.raw_input, run.scope())
    except paths.PathNotFound:
        raise RuntimeFailure(
            f"The {field} parameter does not reference an input value: {path}"
        ) from None


def _deadline(run: StateRun) -> datetime:
    st = run.state
    assert isinstance(st, WaitState)
    start = run.entered_time
    if st.is_jsonata:
        if st.seconds is not MISSING:
            secs = run.jsonata(st.seconds, "Seconds")
            if not _is_long(secs):
                raise jsonata.unexpected_type(st.seconds, "Seconds", "integer", secs)
            if secs < 0:
                # Our own words: AWS's for a negative Seconds are on no record.
                raise QueryEvaluationError(
                    f"The JSONata expression '{jsonata.expr_body(st.seconds)}' specified for "
                    f"the field 'Seconds' returned a negative value: {dumps(secs)}",
                    "Seconds",
                )
            return _bounded(start, start + timedelta(seconds=int(secs)))
        text = run.jsonata(st.timestamp, "Timestamp")
        when = parse_timestamp(text) if isinstance(text, str) else None
        if when is None:
            raise QueryEvaluationError(
                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
                f"format string: {_shown(text)}",
                "Timestamp",
                after_entry=True,
            )
        return _bounded(start, when)
    if st.seconds is not MISSING:
        return _bounded(start, start + timedelta(seconds=int(st.seconds)))
    if st.timestamp is not MISSING:
        when = parse_timestamp(st.timestamp)
        assert when is not None  # validated at create time
        return _bounded(start, when)
    if st.seconds_path is not MISSING:
        value = _wait_path(run, st.seconds_path, "SecondsPath")
        shown = f"{st.seconds_path} == {dumps(value)}"
        if not _is_long(value):
            raise RuntimeFailure(
                f"The SecondsPath parameter cannot be parsed as a long value: {shown}"
            )
        if value < 0:
            raise RuntimeFailure(f"The SecondsPath parameter references a negative value: {shown}")
        return _bounded(start, start + timedelta(seconds=int(value)))
    value = _wait_path(run, st.timestamp_path, "TimestampPath")
    when = parse_timestamp(value) if isinstance(value, str) else None
    if when is None:
        raise RuntimeFailure(
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: {st.timestamp_path} == {_shown(value)}"
        )
    return _bounded(start, when)


async def run_wait(run: StateRun) -> Outcome:
    """Run a Wait state; a resumed one keeps its original wake-up time."""
    st = run.state
    if "wait_until" in run.resume:
        until = datetime.fromisoformat(run.resume["wait_until"])
    else:
        until = _deadline(run)
        run.remember(wait_until=until.isoformat())
    await run.interp.sleep_until(until)
    if st.is_jsonata:
        return run.finish(run.raw_input, has_result=False)
    data = paths.input_path(st.input_path, run.raw_input, run.scope())
    run.note("afterInputPath", data)
    return run.finish(data, has_result=False)


# -- Choice --------------------------------------------------------------------------------------
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
        raise jsonata.unexpected_type(cond, "Condition", "boolean", value)
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
        run.note("afterInputPath", data)
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
