"""Runs every case of the shared ASL conformance corpus (recorded against AWS Step Functions).

Each case is one test id. A case we cannot pass yet is listed in KNOWN_GAPS with its reason and
is expected to fail (xfail strict), so a fix shows up as an XPASS failure and the list shrinks.
The list and the recorder's Parallel-block rewrite are shared with the live-API runner
(``tests/support/sfn_corpus.py``).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.support.sfn_corpus import KNOWN_GAPS, as_recorded, in_block

from batchyard.states.asl import (
    ExecutionInfo,
    Interpreter,
    InvalidDefinitionError,
    VirtualClock,
    parse_definition,
)

CORPUS = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "sfn" / "cases.jsonl"
)

# Names our runs use; normalised to the recorder's placeholders before comparing.
ACCOUNT = "111111111111"
REGION = "us-east-1"
SM_NAME = "conformance-sm"
EXEC_NAME = "conformance-exec-7f3a"
EXPRESS_ID = "5b1d7c0e-2f6a-4c8e-9a1b-3d4e5f607182"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/batchyard-conformance"


def _load() -> list[dict[str, Any]]:
    with CORPUS.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


CASES = _load()

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})")
_MAP_RUN = re.compile(r"mapRun:<ArnPart_0idx>/[^:\"]+:[0-9a-f-]{36}")
_TOKEN = re.compile(r"<[A-Za-z0-9_:\-]+>")


def _real_time(text: str) -> bool:
    # The recorder only replaced timestamps that are real calendar times.
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _placeholder(case: dict[str, Any], of: str, default: str) -> str:
    for p in case["meta"]["placeholders"]:
        if p.get("kind") == "value" and p.get("of") == of:
            return p["replacement"]
    return default


class Normaliser:
    """Turns our run's volatile values into the recorder's placeholder tokens."""

    def __init__(self, case: dict[str, Any]) -> None:
        express = case["meta"]["state_machine_type"] == "EXPRESS"
        self.pairs: list[tuple[str, str]] = []
        for p in case["meta"]["placeholders"]:
            if p.get("kind") == "literal":
                self.pairs.append((p["text"], p["replacement"]))
        exec_token = _placeholder(
            case, "execution_name", "<SyncExecArn_Part1_0idx>" if express else "<ExecArnPart_0idx>"
        )
        self.pairs += [
            (ROLE_ARN, _placeholder(case, "role_arn", "snf_role_arn")),
            (f"arn:aws:states:{REGION}:", "arn:<partition>:states:<region>:"),
            (SM_NAME, "<ArnPart_0idx>"),
            (EXEC_NAME, exec_token),
            (EXPRESS_ID, _placeholder(case, "express_execution_id", "<SyncExecArn_Part2_0idx>")),
        ]
        self.bare = frozenset(w for w in case["meta"]["wildcards"] if not w.startswith("<"))
        self.keys = {
            p["path"].rsplit(".", 1)[-1]: p["replacement"]
            for p in case["meta"]["placeholders"]
            if p.get("kind") == "jsonpath"
        }

    def text(self, s: str) -> str:
        for old, new in self.pairs:
            s = s.replace(old, new)
        s = _MAP_RUN.sub("mapRun:<ArnPart_0idx>/<MapRunArnPart0_0idx>:<MapRunArnPart1_0idx>", s)
        return _ISO.sub(lambda m: "date" if _real_time(m.group(0)) else m.group(0), s)

    def value(self, v: Any) -> Any:
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {k: (self.keys[k] if k in self.keys else self.value(x)) for k, x in v.items()}
        return v


def _parse_braced(v: Any) -> Any:
    """The recorder parsed JSON strings starting with '{' inside event details; do the same."""
    if isinstance(v, str) and v.startswith("{"):
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v
    if isinstance(v, dict):
        return {k: _parse_braced(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_parse_braced(x) for x in v]
    return v


def _str_match(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    if expected[:1] in '[{"' and actual[:1] == expected[:1]:
        # JSON texts in events: AWS keeps some callers' spacing; compare their values.
        try:
            if json.loads(expected) == json.loads(actual):
                return True
        except json.JSONDecodeError:
            pass
    if not _TOKEN.search(expected):
        return False
    pattern = "".join(
        ".*" if _TOKEN.fullmatch(part) else re.escape(part)
        for part in re.split(f"({_TOKEN.pattern})", expected)
    )
    return re.fullmatch(pattern, actual, re.DOTALL) is not None


def json_match(expected: Any, actual: Any, bare: frozenset[str] = frozenset()) -> bool:
    """Structural equality: key order ignored, numbers by value, placeholder tokens wild.

    ``bare`` are the case's wildcard tokens without brackets (``timestamp``, ``date`` ...):
    they match anything only when they are the whole expected value.
    """
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    if isinstance(actual, str) and isinstance(expected, list | dict):
        # The recorder parsed some JSON texts of event details, not all: accept either form.
        try:
            actual = json.loads(actual)
        except json.JSONDecodeError:
            return False
    if isinstance(expected, str):
        if expected in bare or (_TOKEN.fullmatch(expected) and expected != actual):
            return True  # a whole-value placeholder matches any value
        return isinstance(actual, str) and _str_match(expected, actual)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(json_match(e, a, bare) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(json_match(expected[k], actual[k], bare) for k in expected)
        )
    return expected == actual


def _event_view(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "timestamp"}


def _check_history(case: dict[str, Any], events: list[dict[str, Any]], norm: Normaliser) -> None:
    actual = [norm.value(_parse_braced(_event_view(e))) for e in events]
    expected = case["history"]
    if case["meta"]["history_parallel_sorted"]:
        # The recorder rewrote the Parallel blocks of these histories: rewrite ours alike.
        actual = as_recorded(actual)
    assert [e["type"] for e in actual if not in_block(e)] == [
        e["type"] for e in expected if not in_block(e)
    ], "event types differ"
    assert len(actual) == len(expected), "event counts differ"
    unmatched: list[dict[str, Any]] = []
    for exp, act in zip(expected, actual, strict=True):
        if in_block(exp):
            assert in_block(act), f"event differs:\nexpected {exp}\nactual   {act}"
            unmatched.append(act)
            continue
        assert json_match(exp, act, norm.bare), f"event differs:\nexpected {exp}\nactual   {act}"
    # A rewritten block's events are compared as a multiset: each recorded one takes one of ours.
    for exp in (e for e in expected if in_block(e)):
        hit = next((i for i, a in enumerate(unmatched) if json_match(exp, a, norm.bare)), None)
        assert hit is not None, f"parallel event not found: {exp}"
        unmatched.pop(hit)


def _run_case(case: dict[str, Any]) -> None:
    expected = case["expected"]
    if expected["status"] == "INVALID_DEFINITION":
        with pytest.raises(InvalidDefinitionError) as info:
            parse_definition(json.dumps(case["definition"]))
        if "cause" in expected:
            assert info.value.message == expected["cause"]
        return
    machine = parse_definition(json.dumps(case["definition"]))
    express = case["meta"]["state_machine_type"] == "EXPRESS"
    info_ = ExecutionInfo(
        name=EXEC_NAME,
        state_machine_name=SM_NAME,
        region=REGION,
        account=ACCOUNT,
        role_arn=ROLE_ARN,
        express=express,
        express_id=EXPRESS_ID,
    )
    interp = Interpreter(
        machine, case["input"], info_, clock=VirtualClock(), input_text=json.dumps(case["input"])
    )
    result = asyncio.run(interp.run())
    norm = Normaliser(case)
    assert result.status == expected["status"], (result.error, result.cause)
    if result.status == "SUCCEEDED":
        out = norm.value(result.output)
        assert json_match(expected["output"], out, norm.bare), f"output {out!r}"
    else:
        assert (result.error or None) == expected.get("error")
        want_cause = expected.get("cause")
        got_cause: Any = norm.value(result.cause) if result.cause else None
        if isinstance(want_cause, dict | list) and isinstance(got_cause, str):
            got_cause = json.loads(got_cause)
        assert (
            json_match(want_cause, got_cause, norm.bare)
            if want_cause is not None
            else not got_cause
        ), f"cause {got_cause!r}"
    if case["history"] is not None:
        _check_history(case, result.events, norm)


def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = []
        if case["id"] in KNOWN_GAPS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[case["id"]]))
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


def test_known_gaps_are_real_cases() -> None:
    ids = {c["id"] for c in CASES}
    assert set(KNOWN_GAPS) <= ids


@pytest.mark.parametrize("case", _params())
def test_case(case: dict[str, Any]) -> None:
    _run_case(case)
