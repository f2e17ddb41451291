"""The Fail state: fails its frame with Error/Cause (static, from paths, or JSONata)."""

from __future__ import annotations

from typing import Any

from batchyard.states.asl import paths
from batchyard.states.asl.definition import MISSING, FailState
from batchyard.states.asl.errors import FailureError, RuntimeFailure
from batchyard.states.asl.intrinsics import evaluate_intrinsic, is_intrinsic
from batchyard.states.asl.runtime import Outcome, StateRun


def _text(run: StateRun, value: Any, path: Any, field: str) -> str | None:
    if run.state.is_jsonata:
        if value is MISSING:
            return None
        out = run.jsonata(value, field)
        if not isinstance(out, str):
            raise RuntimeFailure(
                f"The {field} field must evaluate to a string, but was: {paths.dumps(out)}"
            )
        return out
    if value is not MISSING:
        return value
    if path is MISSING:
        return None
    scope = run.scope()
    if is_intrinsic(path):
        out = evaluate_intrinsic(path, run.raw_input, scope)
    else:
        out = paths.resolve_field(path, run.raw_input, scope, f"{field}Path")
    return out if isinstance(out, str) else paths.dumps(out)


async def run_fail(run: StateRun) -> Outcome:
    """Run a Fail state: always raises :class:`FailureError`."""
    st = run.state
    assert isinstance(st, FailState)
    error = _text(run, st.error, st.error_path, "Error")
    cause = _text(run, st.cause, st.cause_path, "Cause")
    raise FailureError(error, cause)
