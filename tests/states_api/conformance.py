"""Run cases of the recorded AWS conformance corpus through the live API and compare."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.server import SHARED, wait_for
from tests.support.sfn_corpus import as_recorded, in_block

CASES = SHARED / "conformance" / "sfn" / "cases.jsonl"
ROLE = "arn:aws:iam::123456789012:role/conformance"
# Placeholders the recorder put where AWS's values were volatile; "date" replaced timestamps.
_TOKENS = r"<[^<>\s]+>|\bdate\b"


def load_cases(path: Path = CASES) -> Iterator[dict[str, Any]]:
    """Every case of the corpus, in file order."""
    with path.open() as fh:
        for line in fh:
            yield json.loads(line)


def sample(features: list[str], per_feature: int) -> list[dict[str, Any]]:
    """The first ``per_feature`` cases with a recorded history (or of another API) per feature."""
    chosen: dict[str, dict[str, Any]] = {}
    for feature in features:
        taken = 0
        for case in load_cases():
            meta = case["meta"]
            if feature not in meta["features"] and feature != meta["api"]:
                continue
            if meta["api"] == "start_execution" and case["history"] is None:
                continue
            if case["id"] not in chosen:
                chosen[case["id"]] = case
            taken += 1
            if taken == per_feature:
                break
    return list(chosen.values())


class Names:
    """This run's names for the resources the recording called by placeholders."""

    def __init__(self, machine: str, execution: str, role: str) -> None:
        self.machine = machine
        self.execution = execution
        self.role = role

    def normalise(self, value: Any) -> Any:
        """Replace this run's volatile values by the recording's placeholders."""
        if isinstance(value, dict):
            return {k: self.normalise(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.normalise(v) for v in value]
        if not isinstance(value, str):
            return value
        text = value.replace(ROLE, self.role).replace("arn:aws:", "arn:<partition>:")
        text = text.replace(":us-east-1:", ":<region>:").replace("123456789012", "111111111111")
        text = text.replace(self.machine, "<ArnPart_0idx>")
        return text.replace(self.execution, "<ExecArnPart_0idx>")


def wildcards(case: dict[str, Any]) -> re.Pattern[str]:
    """The tokens that match anything in ``case``: the standard ones and the values the
    recording replaced by JSONPath (random numbers, start times ...)."""
    extra = [
        re.escape(p["replacement"]) for p in case["meta"]["placeholders"] if p["kind"] == "jsonpath"
    ]
    # Bare words such as "timestamp" replaced a whole value only: they match only as one.
    whole = [f"^{re.escape(w)}$" for w in case["meta"]["wildcards"] if not w.startswith("<")]
    return re.compile("|".join([_TOKENS, *extra, *whole]))


def matches(expected: Any, actual: Any, tokens: re.Pattern[str]) -> bool:
    """Structural equality where placeholder tokens in expected strings match any text."""
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(matches(v, actual[k], tokens) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a, tokens) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, str) and tokens.search(expected):
        if tokens.fullmatch(expected):
            return actual is not None
        pattern = ".*".join(re.escape(p) for p in tokens.split(expected))
        return isinstance(actual, str) and re.fullmatch(pattern, actual, re.DOTALL) is not None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual


def _parse_braced(value: Any) -> Any:
    """The recorder parsed JSON texts starting with '{' inside event details: do the same."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, dict):
        return {k: _parse_braced(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_parse_braced(v) for v in value]
    return value


def _same_event(expected: dict[str, Any], actual: dict[str, Any], tokens: re.Pattern[str]) -> bool:
    # JSON texts in details: AWS keeps some callers' spacing, so compare their values too.
    return matches(expected, actual, tokens) or matches(
        _texts_parsed(expected), _texts_parsed(actual), tokens
    )


def _texts_parsed(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in '["':
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, dict):
        return {k: _texts_parsed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_texts_parsed(v) for v in value]
    return value


def history_problems(
    case: dict[str, Any], events: list[dict[str, Any]], names: Names, tokens: re.Pattern[str]
) -> list[str]:
    """How our history differs from the recording: every event with its id, previousEventId
    and details, in order; a Parallel block the recorder sorted, as a multiset."""
    actual = [
        names.normalise(_parse_braced({k: v for k, v in e.items() if k != "timestamp"}))
        for e in events
    ]
    expected = case["history"]
    if case["meta"]["history_parallel_sorted"]:
        actual = as_recorded(actual)
    want = [e["type"] for e in expected]
    got = [e["type"] for e in actual]
    outside = [e["type"] for e in expected if not in_block(e)]
    if sorted(want) != sorted(got) or outside != [e["type"] for e in actual if not in_block(e)]:
        return [f"history {got} != {want}"]
    problems: list[str] = []
    block: list[dict[str, Any]] = []
    for exp, act in zip(expected, actual, strict=True):
        if in_block(exp) and in_block(act):
            block.append(act)
        elif not _same_event(exp, act, tokens):
            problems.append(f"event {act} != {exp}")
    for exp in (e for e in expected if in_block(e)):
        hit = next((i for i, a in enumerate(block) if _same_event(exp, a, tokens)), None)
        if hit is None:
            problems.append(f"parallel event not found: {exp}")
        else:
            block.pop(hit)
    return problems


@dataclass
class Started:
    """A case whose execution is under way (or, for a sync one, already answered)."""

    case: dict[str, Any]
    names: Names
    arn: str | None = None
    result: dict[str, Any] | None = None


def start_case(sfn: Any, case: dict[str, Any]) -> Started | list[str]:
    """Create the case's machine and start it; the mismatches already found if it ends here."""
    meta = case["meta"]
    expected = case["expected"]
    express = meta["state_machine_type"] == "EXPRESS"
    role = next(
        (p["replacement"] for p in meta["placeholders"] if p.get("of") == "role_arn"),
        "snf_role_arn",
    )
    names = Names(f"conf-{uuid.uuid4().hex[:12]}", f"run-{uuid.uuid4().hex[:12]}", role)
    try:
        machine = sfn.create_state_machine(
            name=names.machine, definition=json.dumps(case["definition"]), roleArn=ROLE,
            type="EXPRESS" if express else "STANDARD",
        )["stateMachineArn"]
    except sfn.exceptions.InvalidDefinition:
        return [] if expected["status"] == "INVALID_DEFINITION" else ["definition rejected"]
    if expected["status"] == "INVALID_DEFINITION":
        return ["definition accepted"]
    payload = json.dumps(case["input"])
    if meta["api"] == "start_sync_execution":
        result = sfn.start_sync_execution(
            stateMachineArn=machine, name=names.execution, input=payload
        )
        return Started(case, names, result=result)
    arn = sfn.start_execution(
        stateMachineArn=machine, name=names.execution, input=payload
    )["executionArn"]
    return Started(case, names, arn=arn)


def finish_case(sfn: Any, started: Started) -> list[str]:
    """Wait for a started case to end; returns the mismatches found (empty: it conforms)."""
    case, names = started.case, started.names
    expected = case["expected"]
    problems: list[str] = []
    tokens = wildcards(case)
    events = None
    result = started.result
    if started.arn is not None:
        arn = started.arn
        result = wait_for(
            lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
            timeout=30, what=f"{case['id']} to finish",
        )
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    assert result is not None
    if result["status"] != expected["status"]:
        problems.append(f"status {result['status']} != {expected['status']}")
    elif expected["status"] == "SUCCEEDED":
        actual = names.normalise(json.loads(result["output"]))
        if not matches(expected["output"], actual, tokens):
            problems.append(f"output {actual!r} != {expected['output']!r}")
    else:
        for key in ("error", "cause"):
            want = expected.get(key)
            got = result.get(key) or None
            if isinstance(want, dict) and got is not None:
                got = json.loads(got)
            if not matches(want, names.normalise(got), tokens):
                problems.append(f"{key} {got!r} != {want!r}")
    if events is not None and case["history"] is not None:
        problems += history_problems(case, events, names, tokens)
    return problems


def run_case(sfn: Any, case: dict[str, Any]) -> list[str]:
    """Run one case through the API; returns the mismatches found (empty: it conforms)."""
    started = start_case(sfn, case)
    return started if isinstance(started, list) else finish_case(sfn, started)
