"""TestState: run one state on its own and report what it did.

The state under test is wrapped in a one-state machine whose transition targets are Succeed
stubs, run by the interpreter with instant waits; its history tells the output and the next
state. Task states call the real integrations unless the request carries a ``mock``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from batchyard.protocol.errors import ServiceError
from batchyard.states.asl import ExecutionInfo, Interpreter, SystemClock
from batchyard.states.asl.definition import parse_definition
from batchyard.states.asl.errors import InvalidDefinitionError, TaskFailure, error_matches
from batchyard.states.asl.runtime import TaskInvoker, TaskRequest

_SETUP = "__batchyard_test_setup__"


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidDefinition", message)


def _load(text: str, what: str, error: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ServiceError(error, f"Invalid {what}: '{exc}'") from None


def _targets(state: dict[str, Any]) -> set[str]:
    names = {state.get("Next"), state.get("Default")}
    names |= {rule.get("Next") for rule in state.get("Choices", []) if isinstance(rule, dict)}
    names |= {c.get("Next") for c in state.get("Catch", []) if isinstance(c, dict)}
    return {n for n in names if isinstance(n, str)}


class MockInvoker:
    """Answers every task with the request's mocked result or error."""

    def __init__(self, mock: dict[str, Any]) -> None:
        self.mock = mock

    async def invoke(self, request: TaskRequest) -> Any:
        failure = self.mock.get("errorOutput")
        if failure is not None:
            raise TaskFailure(failure.get("error"), failure.get("cause"))
        return json.loads(self.mock.get("result", "null"))


def _wrap(params: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    """(name of the state under test, the wrapper machine, its query language)."""
    document = _load(params["definition"], "State Machine Definition", "InvalidDefinition")
    if not isinstance(document, dict):
        raise _invalid("Invalid State Machine Definition: 'The state definition must be an object'")
    query_language = document.get("QueryLanguage", "JSONPath")
    if "stateName" in params:
        name = params["stateName"]
        state = document.get("States", {}).get(name)
        if state is None:
            raise ServiceError("ValidationException", f"State '{name}' not found in definition")
    else:
        name, state = "TestState", document
    state = copy.deepcopy(state)
    query_language = state.get("QueryLanguage", query_language)
    states: dict[str, Any] = {t: {"Type": "Succeed"} for t in _targets(state) if t != name}
    states[name] = state
    machine = {"QueryLanguage": query_language, "StartAt": name, "States": states}
    variables = params.get("variables")
    if variables:
        values = _load(variables, "Variables", "ValidationException")
        if not isinstance(values, dict):
            raise ServiceError("ValidationException", "Variables must be a JSON object")
        states[_SETUP] = {"Type": "Pass", "Assign": values, "Next": name}
        machine["StartAt"] = _SETUP
    return name, machine, query_language


async def test_state(params: dict[str, Any], invoker: TaskInvoker, region: str,
                     account: str) -> dict[str, Any]:
    """TestState's answer."""
    name, machine_doc, _ = _wrap(params)
    try:
        machine = parse_definition(machine_doc)
    except InvalidDefinitionError as exc:
        message = exc.message
        if "stateName" not in params:
            # The state was sent on its own: locations are relative to it, as AWS reports them.
            message = message.replace(f" at /States/{name}/", " at /").replace(
                f" at /States/{name}'", " at /'"
            )
        raise _invalid(message) from None
    text = params.get("input") or "{}"
    value = _load(text, "State Machine Execution Input", "InvalidExecutionInput")
    mock = params.get("mock")
    interpreter = Interpreter(
        machine, value,
        ExecutionInfo(name="TestState", state_machine_name="TestState", region=region,
                      account=account, role_arn=params.get("roleArn", "")),
        invoker=MockInvoker(mock) if mock else invoker,
        clock=SystemClock(0.0), input_text=text,
    )
    result = await interpreter.run()
    return _report(name, machine.states[name].raw, result, params, text)


def _report(
    name: str, state: dict[str, Any], result: Any, params: dict[str, Any], text: str
) -> dict[str, Any]:
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
    out: dict[str, Any] = {}
    if params.get("inspectionLevel") in ("DEBUG", "TRACE"):
        out["inspectionData"] = {"input": text}
    first_error = failures[0] if failures else None
    if first_error is not None:
        details = first_error.get("taskFailedEventDetails") or first_error.get(
            "taskTimedOutEventDetails", {}
        )
        if any(
            error_matches(r.get("ErrorEquals", []), details.get("error"))
            for r in state.get("Retry", [])
        ):
            out.update(status="RETRIABLE", error=details.get("error"), cause=details.get("cause"))
            return {k: v for k, v in out.items() if v is not None}
    if result.status != "SUCCEEDED":
        out.update(status="FAILED", error=result.error, cause=result.cause)
        return {k: v for k, v in out.items() if v is not None}
    caught = first_error is not None or any(e["type"].endswith("Failed") for e in events)
    if exited is not None:
        out["output"] = exited["stateExitedEventDetails"]["output"]
    else:
        out["output"] = json.dumps(result.output, separators=(",", ":"))
    if entered_after:
        out["nextState"] = entered_after[0]
    out["status"] = "CAUGHT_ERROR" if caught and entered_after else "SUCCEEDED"
    return out
