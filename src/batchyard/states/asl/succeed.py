"""The Succeed state: ends its frame successfully with its (filtered) input."""

from __future__ import annotations

from batchyard.states.asl import paths
from batchyard.states.asl.runtime import Outcome, StateRun


async def run_succeed(run: StateRun) -> Outcome:
    """Run a Succeed state."""
    st = run.state
    if st.is_jsonata:
        out = run.finish(run.raw_input, has_result=False)
    else:
        data = paths.input_path(st.input_path, run.raw_input, run.scope())
        out = run.finish(data, has_result=False)
    out.next = None
    return out
