"""The Parallel state: runs every branch on the same input; the result is their outputs."""

from __future__ import annotations

import asyncio
from typing import Any

from batchyard.states.asl.definition import ParallelState
from batchyard.states.asl.errors import FailureError
from batchyard.states.asl.runtime import Outcome, StateRun


async def run_parallel(run: StateRun) -> Outcome:
    """Run a Parallel state; a resumed one only re-runs the branches not yet finished."""
    st = run.state
    assert isinstance(st, ParallelState)
    interp, frame = run.interp, run.frame
    if "branch_input" not in run.resume:
        data = run.effective_input()
        run.emit("ParallelStateStarted")
        run.remember(branch_input=data, results={}, start_cursor=frame.cursor)
    # Finished branches land in the frame's progress, so a checkpoint carries them.
    data = frame.entered_data["branch_input"]
    results: dict[str, Any] = frame.entered_data["results"]
    resumed = dict(run.resume_children)
    start_cursor = frame.entered_data["start_cursor"]

    async def branch(i: int) -> None:
        key = str(i)
        child = interp.child_frame(frame, st.branches[i], key, start_cursor)
        results_out = await interp.run_frame(child, data, resumed.get(key))
        results[key] = results_out
        frame.children.pop(key, None)

    tasks = [
        asyncio.ensure_future(branch(i)) for i in range(len(st.branches)) if str(i) not in results
    ]
    try:
        await _gather_first_failure(tasks)
    except FailureError as exc:
        frame.children.clear()
        # Emitted by the interpreter once it knows no retrier takes the failure.
        exc.pending_event = (  # type: ignore[attr-defined]
            "ParallelStateFailed",
            getattr(exc, "frame_cursor", frame.cursor),
        )
        raise
    frame.cursor = interp.last_event_id
    run.emit("ParallelStateSucceeded", update=False)
    return run.finish([results[str(i)] for i in range(len(st.branches))])


async def _gather_first_failure(tasks: list[asyncio.Future[Any]]) -> None:
    """Wait for all tasks; on the first failure cancel the rest and re-raise it."""
    if not tasks:
        return
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                if t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
    finally:
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
