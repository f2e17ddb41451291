"""The operations that look at a definition without storing it: ValidateStateMachineDefinition
(the definition checks reported as diagnostics) and TestState (one state run on its own).

TestState wraps the state under test in a one-state machine whose transition targets are
Succeed stubs, run by the interpreter with instant waits; its history tells the output and the
next state. Task states call the real integrations unless the request carries a mock.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.protocol.errors import ServiceError
from batchyard.states.asl import (
    ExecutionInfo,
    ExecutionResult,
    Interpreter,
    InvalidDefinitionError,
    SystemClock,
    TaskFailure,
    TaskInvoker,
    TaskRequest,
    parse_definition,
)
from batchyard.states.asl.definition import Retrier, find_retrier, retry_delay
from batchyard.states.asl.values import JsonTextError, dumps, loads

_PREFIX = "Invalid State Machine Definition: '"
# Problems are joined with ", "; a new one starts with its upper-case code and a colon.
_SPLIT = re.compile(r", (?=[A-Z][A-Z_]+: )")
_PROBLEM = re.compile(r"^([A-Z][A-Z_]+): (.*?)(?: at (/\S*))?$", re.DOTALL)
_SETUP = "__batchyard_test_setup__"


# -- ValidateStateMachineDefinition ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem ValidateStateMachineDefinition reports."""

    code: str
    message: str
    location: str | None = None
    severity: str = "ERROR"


@dataclass(frozen=True, slots=True)
class Validation:
    """ValidateStateMachineDefinition's answer."""

    result: str
    diagnostics: list[Diagnostic]
    truncated: bool


def validate(
    definition: str, max_results: int | None, recognizes: Callable[[str], bool] | None = None
) -> Validation:
    """The answer of ValidateStateMachineDefinition for ``definition``; ``recognizes`` tells
    which Task resources exist."""
    try:
        parse_definition(definition, recognizes)
    except InvalidDefinitionError as exc:
        found = _problems(exc.message)
    else:
        found = []
    limit = max_results or 100
    return Validation("FAIL" if found else "OK", found[:limit], len(found) > limit)


def _problems(message: str) -> list[Diagnostic]:
    body = message
    if body.startswith(_PREFIX) and body.endswith("'"):
        body = body[len(_PREFIX):-1]
    out = []
    for part in _SPLIT.split(body):
        match = _PROBLEM.match(part)
        if match is None:
            out.append(Diagnostic("SCHEMA_VALIDATION_FAILED", part))
            continue
        code, detail, location = match.groups()
        out.append(Diagnostic(code, detail, location or None))
    return out


# -- TestState ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Mock:
    """What a mocked Task answers: its result (JSON text) or its error."""

    result: str | None = None
    error: str | None = None
    cause: str | None = None
    fails: bool = False


@dataclass(frozen=True, slots=True)
class StateTest:
    """A TestState request: the state (alone, or ``state_name`` of a whole definition) and
    what to run it with."""

    definition: str
    role_arn: str = ""
    input: str | None = None
    state_name: str | None = None
    variables: str | None = None
    inspection_level: str | None = None
    mock: Mock | None = None
    # stateConfiguration.retrierRetryCount: how often the Retry that takes the error has
    # already retried it.
    retrier_retry_count: int = 0


@dataclass(frozen=True, slots=True)
class InspectionErrorDetails:
    """The Retry or Catch of the tested state that took its error."""

    catch_index: int | None = None
    retry_index: int | None = None
    retry_backoff_interval_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class InspectionData:
    """What TestState shows at DEBUG and TRACE: the state's input, then its data after each
    step of its processing that it has (JSON texts), the Map settings it ran with, the
    handler that took its error and the variables after it."""

    input: str
    after_input_path: str | None = None
    after_parameters: str | None = None
    after_arguments: str | None = None
    result: str | None = None
    after_result_selector: str | None = None
    after_result_path: str | None = None
    after_items_path: str | None = None
    after_item_selector: str | None = None
    max_concurrency: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None
    error_details: InspectionErrorDetails | None = None
    variables: str | None = None


# The data-processing steps the ASL layer notes, by the field that reports each as JSON text.
_STEPS = {
    "after_input_path": "afterInputPath", "after_parameters": "afterParameters",
    "after_arguments": "afterArguments", "result": "result",
    "after_result_selector": "afterResultSelector", "after_result_path": "afterResultPath",
    "after_items_path": "afterItemsPath", "after_item_selector": "afterItemSelector",
}


def _inspection(text: str, notes: JsonObject, variables: JsonObject) -> InspectionData:
    """The inspection data of a state from what it noted while it ran."""
    handler = notes.get("errorDetails")
    error_details = None
    if handler is not None:
        delay = handler.get("retryBackoffIntervalSeconds")
        error_details = InspectionErrorDetails(
            catch_index=handler.get("catchIndex"), retry_index=handler.get("retryIndex"),
            retry_backoff_interval_seconds=None if delay is None else round(delay),
        )
    return InspectionData(
        input=text,
        **{attr: dumps(notes[step]) for attr, step in _STEPS.items() if step in notes},
        max_concurrency=notes.get("maxConcurrency"),
        tolerated_failure_count=notes.get("toleratedFailureCount"),
        tolerated_failure_percentage=notes.get("toleratedFailurePercentage"),
        error_details=error_details,
        variables=dumps(variables) if variables else None,
    )


@dataclass(frozen=True, slots=True)
class StateTestResult:
    """TestState's answer."""

    status: str
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection_data: InspectionData | None = field(default=None)


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidDefinition", message)


def _load(text: str, what: str, error: str) -> Any:
    try:
        return loads(text)
    except JsonTextError as exc:
        raise ServiceError(error, f"Invalid {what}: '{exc.message}'") from None


def _targets(state: JsonObject) -> set[str]:
    names = {state.get("Next"), state.get("Default")}
    names |= {rule.get("Next") for rule in state.get("Choices", []) if isinstance(rule, dict)}
    names |= {c.get("Next") for c in state.get("Catch", []) if isinstance(c, dict)}
    return {n for n in names if isinstance(n, str)}


class MockInvoker:
    """Answers every task with the request's mocked result or error; a result that is not
    JSON Step Functions takes is refused before the state runs."""

    def __init__(self, mock: Mock) -> None:
        self.mock = mock
        text = mock.result if mock.result is not None else "null"
        self.result = _load(text, "mock result", "ValidationException")

    async def invoke(self, request: TaskRequest) -> Any:
        if self.mock.fails:
            raise TaskFailure(self.mock.error, self.mock.cause)
        return copy.deepcopy(self.result)


def _wrap(test: StateTest) -> tuple[str, JsonObject]:
    """(name of the state under test, the wrapper machine)."""
    document = _load(test.definition, "State Machine Definition", "InvalidDefinition")
    if not isinstance(document, dict):
        raise _invalid("Invalid State Machine Definition: 'The state definition must be an object'")
    query_language = document.get("QueryLanguage", "JSONPath")
    if test.state_name is not None:
        name = test.state_name
        state = document.get("States", {}).get(name)
        if state is None:
            raise ServiceError("ValidationException", f"State '{name}' not found in definition")
    else:
        name, state = "TestState", document
    state = copy.deepcopy(state)
    query_language = state.get("QueryLanguage", query_language)
    states: JsonObject = {t: {"Type": "Succeed"} for t in _targets(state) if t != name}
    states[name] = state
    machine: JsonObject = {"QueryLanguage": query_language, "StartAt": name, "States": states}
    if test.variables:
        values = _load(test.variables, "Variables", "ValidationException")
        if not isinstance(values, dict):
            raise ServiceError("ValidationException", "Variables must be a JSON object")
        states[_SETUP] = {"Type": "Pass", "Assign": values, "Next": name}
        machine["StartAt"] = _SETUP
    return name, machine


async def run_state(caller: Caller, test: StateTest, invoker: TaskInvoker) -> StateTestResult:
    """Run the state of ``test`` on its own, in the caller's account and region."""
    name, machine_doc = _wrap(test)
    try:
        machine = parse_definition(machine_doc)
    except InvalidDefinitionError as exc:
        message = exc.message
        if test.state_name is None:
            # The state was sent on its own: locations are relative to it, as AWS reports them.
            message = message.replace(f" at /States/{name}/", " at /").replace(
                f" at /States/{name}'", " at /'"
            )
        raise _invalid(message) from None
    text = test.input or "{}"
    value = _load(text, "State Machine Execution Input", "InvalidExecutionInput")
    interpreter = Interpreter(
        machine, value,
        # AWS runs the state as an Express execution: its context object has no RedriveCount.
        ExecutionInfo(name="TestState", state_machine_name="TestState", region=caller.region,
                      account=caller.account_id, role_arn=test.role_arn, express=True),
        invoker=MockInvoker(test.mock) if test.mock else invoker,
        clock=SystemClock(0.0), input_text=text,
    )
    notes: dict[str, Any] = {}
    interpreter.inspection = notes
    result = await interpreter.run()
    inspection = None
    if test.inspection_level in ("DEBUG", "TRACE"):
        assert interpreter.root is not None
        inspection = _inspection(text, notes.get(name, {}), interpreter.root.variables)
    state = machine.states[name]
    return _report(
        name, getattr(state, "retry", []), result, notes.get(name, {}), inspection,
        test.retrier_retry_count,
    )


def _retry_details(retrier: Retrier, index: int, done: int) -> InspectionErrorDetails:
    """The Retry that takes the error: its index and, while it has attempts left, the
    backoff before its next one."""
    if done >= retrier.max_attempts:
        return InspectionErrorDetails(retry_index=index)
    return InspectionErrorDetails(
        retry_index=index, retry_backoff_interval_seconds=round(retry_delay(retrier, done))
    )


def _report(
    name: str, retriers: list[Retrier], result: ExecutionResult, notes: JsonObject,
    inspection: InspectionData | None, retried: int = 0,
) -> StateTestResult:
    events = result.events
    exited = next(
        (e for e in events if e["type"].endswith("StateExited")
         and e["stateExitedEventDetails"]["name"] == name), None,
    )
    entered_after = [
        e["stateEnteredEventDetails"]["name"] for e in events
        if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] != name
        and e["stateEnteredEventDetails"]["name"] != _SETUP
    ]
    failures = [e for e in events if e["type"] in ("TaskFailed", "TaskTimedOut")]
    first_error = failures[0] if failures else None
    if first_error is not None:
        details = first_error.get("taskFailedEventDetails") or first_error.get(
            "taskTimedOutEventDetails", {}
        )
        index = find_retrier(retriers, details.get("error"))
        if index is not None:
            handler = _retry_details(retriers[index], index, retried)
            if inspection is not None:
                inspection = replace(inspection, error_details=handler)
            if handler.retry_backoff_interval_seconds is not None:
                return StateTestResult(
                    "RETRIABLE", error=details.get("error"), cause=details.get("cause"),
                    inspection_data=inspection,
                )
    if result.status != "SUCCEEDED":
        return StateTestResult(
            "FAILED", error=result.error, cause=result.cause, inspection_data=inspection
        )
    if exited is not None:
        output = exited["stateExitedEventDetails"]["output"]
    else:
        output = json.dumps(result.output, separators=(",", ":"))
    # A Catch took the state's error: AWS reports the error with the catcher's output.
    caught = notes.get("caught")
    if caught is not None and entered_after:
        return StateTestResult(
            "CAUGHT_ERROR", output=output, error=caught.get("Error"), cause=caught.get("Cause"),
            next_state=entered_after[0], inspection_data=inspection,
        )
    return StateTestResult(
        "SUCCEEDED", output=output, next_state=entered_after[0] if entered_after else None,
        inspection_data=inspection,
    )
