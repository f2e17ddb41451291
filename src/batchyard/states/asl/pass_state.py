"""The Pass state: hands on its input, or a fixed Result, shaped by the usual I/O fields."""

from __future__ import annotations

import copy

from batchyard.states.asl.definition import MISSING, PassState
from batchyard.states.asl.runtime import Outcome, StateRun


async def run_pass(run: StateRun) -> Outcome:
    """Run a Pass state."""
    st = run.state
    assert isinstance(st, PassState)
    if st.is_jsonata:
        if st.result is not MISSING:
            return run.finish(copy.deepcopy(st.result))
        return run.finish(run.raw_input, has_result=False)
    data = run.effective_input()
    result = copy.deepcopy(st.result) if st.result is not MISSING else data
    return run.finish(result)
