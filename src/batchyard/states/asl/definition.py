"""Typed model of an ASL definition, :func:`parse_definition`, and how Retry and Catch pick
their retrier or catcher.

The model keeps each state's raw JSON (``raw``) beside the typed fields: the state modules read
the typed fields, while the raw form keeps definitions round-trippable for DescribeStateMachine.
A parsed definition is shared by every execution of the same text (:func:`load_definition`),
so nothing may change it once it is built.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from batchyard.states.asl.errors import InvalidDefinitionError, error_matches, is_terminal
from batchyard.states.asl.validate import Recognizes, validate_definition
from batchyard.states.asl.values import JSONATA, JSONPATH, MISSING, JsonTextError, loads

# Distinct definitions whose parsed form is kept (each version of each machine has one).
DEFINITION_CACHE = 512


@dataclass(frozen=True, slots=True)
class Retrier:
    """One element of a ``Retry`` array."""

    error_equals: list[str]
    interval_seconds: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter_strategy: str = "NONE"


@dataclass(frozen=True, slots=True)
class Catcher:
    """One element of a ``Catch`` array."""

    error_equals: list[str]
    next: str
    result_path: Any = MISSING  # JSONPath only; None discards, MISSING means "$"
    output: Any = MISSING  # JSONata only
    assign: Any = MISSING


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """A top-level rule of a Choice state (the raw rule is evaluated by :mod:`choice`)."""

    next: str
    raw: dict[str, Any]
    condition: Any = MISSING  # JSONata: a "{% %}" string or a boolean
    assign: Any = MISSING
    output: Any = MISSING


@dataclass(frozen=True, slots=True)
class State:
    """Fields every state type has; subclasses add their own."""

    name: str
    type: str
    query_language: str
    raw: dict[str, Any]
    comment: str | None = None
    next: str | None = None
    end: bool = False
    input_path: Any = MISSING
    output_path: Any = MISSING
    assign: Any = MISSING
    output: Any = MISSING

    @property
    def is_jsonata(self) -> bool:
        return self.query_language == JSONATA


@dataclass(frozen=True, slots=True)
class PassState(State):
    result: Any = MISSING
    result_path: Any = MISSING
    parameters: Any = MISSING


@dataclass(frozen=True, slots=True)
class SucceedState(State):
    pass


@dataclass(frozen=True, slots=True)
class FailState(State):
    error: Any = MISSING
    error_path: Any = MISSING
    cause: Any = MISSING
    cause_path: Any = MISSING


@dataclass(frozen=True, slots=True)
class WaitState(State):
    seconds: Any = MISSING
    seconds_path: Any = MISSING
    timestamp: Any = MISSING
    timestamp_path: Any = MISSING


@dataclass(frozen=True, slots=True)
class ChoiceState(State):
    choices: list[ChoiceRule] = field(default_factory=list)
    default: str | None = None


@dataclass(frozen=True, slots=True)
class _Resilient(State):
    """States with Retry/Catch, a result and result shaping."""

    retry: list[Retrier] = field(default_factory=list)
    catch: list[Catcher] = field(default_factory=list)
    result_selector: Any = MISSING
    result_path: Any = MISSING
    parameters: Any = MISSING
    arguments: Any = MISSING


@dataclass(frozen=True, slots=True)
class TaskState(_Resilient):
    resource: str = ""
    timeout_seconds: Any = MISSING
    timeout_seconds_path: Any = MISSING
    heartbeat_seconds: Any = MISSING
    heartbeat_seconds_path: Any = MISSING
    credentials: Any = MISSING


@dataclass(frozen=True, slots=True)
class ParallelState(_Resilient):
    branches: list[StateMachine] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MapState(_Resilient):
    processor: StateMachine | None = None
    mode: str = "INLINE"
    execution_type: str | None = None
    items_path: Any = MISSING
    items: Any = MISSING
    item_selector: Any = MISSING  # ItemSelector, or the legacy Parameters
    max_concurrency: Any = MISSING
    max_concurrency_path: Any = MISSING
    tolerated_failure_count: Any = MISSING
    tolerated_failure_count_path: Any = MISSING
    tolerated_failure_percentage: Any = MISSING
    tolerated_failure_percentage_path: Any = MISSING
    label: str | None = None
    item_batcher: Any = MISSING


@dataclass(frozen=True, slots=True)
class StateMachine:
    """A whole definition, or one Parallel branch / Map item processor."""

    start_at: str
    states: dict[str, State]
    query_language: str = JSONPATH
    timeout_seconds: int | None = None
    comment: str | None = None
    version: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _get(raw: dict[str, Any], key: str) -> Any:
    return raw.get(key, MISSING)


def _retriers(raw: Any) -> list[Retrier]:
    out: list[Retrier] = []
    for r in raw or []:
        out.append(
            Retrier(
                error_equals=list(r["ErrorEquals"]),
                interval_seconds=r.get("IntervalSeconds", 1),
                max_attempts=r.get("MaxAttempts", 3),
                backoff_rate=r.get("BackoffRate", 2.0),
                max_delay_seconds=r.get("MaxDelaySeconds"),
                jitter_strategy=r.get("JitterStrategy", "NONE"),
            )
        )
    return out


def _catchers(raw: Any) -> list[Catcher]:
    return [
        Catcher(
            error_equals=list(c["ErrorEquals"]),
            next=c["Next"],
            result_path=_get(c, "ResultPath"),
            output=_get(c, "Output"),
            assign=_get(c, "Assign"),
        )
        for c in raw or []
    ]


def _build_state(name: str, raw: dict[str, Any], parent_ql: str) -> State:
    ql = raw.get("QueryLanguage", parent_ql)
    common: dict[str, Any] = {
        "name": name,
        "type": raw["Type"],
        "query_language": ql,
        "raw": raw,
        "comment": raw.get("Comment"),
        "next": raw.get("Next"),
        "end": bool(raw.get("End", False)),
        "input_path": _get(raw, "InputPath"),
        "output_path": _get(raw, "OutputPath"),
        "assign": _get(raw, "Assign"),
        "output": _get(raw, "Output"),
    }
    t = raw["Type"]
    if t == "Pass":
        return PassState(
            **common,
            result=_get(raw, "Result"),
            result_path=_get(raw, "ResultPath"),
            parameters=_get(raw, "Parameters"),
        )
    if t == "Succeed":
        return SucceedState(**common)
    if t == "Fail":
        return FailState(
            **common,
            error=_get(raw, "Error"),
            error_path=_get(raw, "ErrorPath"),
            cause=_get(raw, "Cause"),
            cause_path=_get(raw, "CausePath"),
        )
    if t == "Wait":
        return WaitState(
            **common,
            seconds=_get(raw, "Seconds"),
            seconds_path=_get(raw, "SecondsPath"),
            timestamp=_get(raw, "Timestamp"),
            timestamp_path=_get(raw, "TimestampPath"),
        )
    if t == "Choice":
        rules = [
            ChoiceRule(
                next=c["Next"],
                raw=c,
                condition=_get(c, "Condition"),
                assign=_get(c, "Assign"),
                output=_get(c, "Output"),
            )
            for c in raw.get("Choices", [])
        ]
        return ChoiceState(**common, choices=rules, default=raw.get("Default"))
    resilient: dict[str, Any] = {
        "retry": _retriers(raw.get("Retry")),
        "catch": _catchers(raw.get("Catch")),
        "result_selector": _get(raw, "ResultSelector"),
        "result_path": _get(raw, "ResultPath"),
        "arguments": _get(raw, "Arguments"),
    }
    if t == "Task":
        return TaskState(
            **common,
            **resilient,
            parameters=_get(raw, "Parameters"),
            resource=raw.get("Resource", ""),
            timeout_seconds=_get(raw, "TimeoutSeconds"),
            timeout_seconds_path=_get(raw, "TimeoutSecondsPath"),
            heartbeat_seconds=_get(raw, "HeartbeatSeconds"),
            heartbeat_seconds_path=_get(raw, "HeartbeatSecondsPath"),
            credentials=_get(raw, "Credentials"),
        )
    if t == "Parallel":
        return ParallelState(
            **common,
            **resilient,
            parameters=_get(raw, "Parameters"),
            branches=[_build_machine(b, ql) for b in raw.get("Branches", [])],
        )
    if t == "Map":
        proc_raw = raw.get("ItemProcessor", raw.get("Iterator"))
        config = (proc_raw or {}).get("ProcessorConfig", {})
        item_selector = _get(raw, "ItemSelector")
        if item_selector is MISSING:
            item_selector = _get(raw, "Parameters")
        return MapState(
            **common,
            **resilient,
            processor=_build_machine(proc_raw, ql) if proc_raw is not None else None,
            mode=config.get("Mode", "INLINE"),
            execution_type=config.get("ExecutionType"),
            items_path=_get(raw, "ItemsPath"),
            items=_get(raw, "Items"),
            item_selector=item_selector,
            max_concurrency=_get(raw, "MaxConcurrency"),
            max_concurrency_path=_get(raw, "MaxConcurrencyPath"),
            tolerated_failure_count=_get(raw, "ToleratedFailureCount"),
            tolerated_failure_count_path=_get(raw, "ToleratedFailureCountPath"),
            tolerated_failure_percentage=_get(raw, "ToleratedFailurePercentage"),
            tolerated_failure_percentage_path=_get(raw, "ToleratedFailurePercentagePath"),
            label=raw.get("Label"),
            item_batcher=_get(raw, "ItemBatcher"),
        )
    raise InvalidDefinitionError(f"Invalid State Machine Definition: unknown state type {t}")


def _build_machine(raw: dict[str, Any], parent_ql: str) -> StateMachine:
    ql = raw.get("QueryLanguage", parent_ql)
    return StateMachine(
        start_at=raw["StartAt"],
        states={n: _build_state(n, s, ql) for n, s in raw["States"].items()},
        query_language=ql,
        timeout_seconds=raw.get("TimeoutSeconds"),
        comment=raw.get("Comment"),
        version=raw.get("Version"),
        raw=raw,
    )


def parse_definition(
    text: str | dict[str, Any], recognizes: Recognizes | None = None
) -> StateMachine:
    """Parse and statically validate a definition (JSON text or an already-decoded dict).

    Raises :class:`InvalidDefinitionError` with AWS's ``Invalid State Machine Definition: ...``
    message when CreateStateMachine would reject it; ``recognizes`` tells which Task resources
    exist (unchecked without it).
    """
    if isinstance(text, str):
        try:
            raw = loads(text)
        except JsonTextError as exc:
            where = ""
            if exc.position is not None:
                where = " at (line {}, column {})".format(*exc.position)
            raise InvalidDefinitionError(
                "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: "
                f"{exc.reason}{where}'"
            ) from exc
    else:
        raw = text
    validate_definition(raw, recognizes)
    return _build_machine(raw, raw.get("QueryLanguage", JSONPATH))


@lru_cache(maxsize=DEFINITION_CACHE)
def load_definition(text: str) -> StateMachine:
    """:func:`parse_definition` of a definition's text, parsed and validated once per content:
    every start, resume and redrive of the same version shares the result."""
    return parse_definition(text)


def find_retrier(
    retriers: Sequence[Retrier],
    error: str | None,
    wildcards: bool | None = None,
    aliases: Sequence[str] = (),
) -> int | None:
    """Index of the first retrier whose ErrorEquals matches, or None (``wildcards`` and
    ``aliases`` as :func:`~batchyard.states.asl.errors.error_matches` takes them)."""
    if is_terminal(error):
        return None
    for i, r in enumerate(retriers):
        if error_matches(r.error_equals, error, wildcards, aliases):
            return i
    return None


def find_catcher(
    catchers: Sequence[Catcher],
    error: str | None,
    wildcards: bool | None = None,
    aliases: Sequence[str] = (),
) -> Catcher | None:
    """The first catcher whose ErrorEquals matches, or None (``wildcards`` and ``aliases`` as
    :func:`~batchyard.states.asl.errors.error_matches` takes them)."""
    if is_terminal(error):
        return None
    for c in catchers:
        if error_matches(c.error_equals, error, wildcards, aliases):
            return c
    return None


def retry_delay(retrier: Retrier, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) of ``retrier``.

    IntervalSeconds * BackoffRate^attempt, capped at MaxDelaySeconds; with FULL jitter a
    uniformly random share of that.
    """
    delay = float(retrier.interval_seconds) * (float(retrier.backoff_rate) ** attempt)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, float(retrier.max_delay_seconds))
    if retrier.jitter_strategy == "FULL":
        delay = (rng or random).uniform(0, delay)
    return delay
