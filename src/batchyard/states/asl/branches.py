"""The states that run frames of their own: Parallel (its branches, all on the same input)
and Map, inline and distributed (with inline items): ItemsPath/Items, ItemSelector (or the
legacy Parameters), ItemProcessor (or Iterator), MaxConcurrency(Path),
ToleratedFailureCount/Percentage(Path) and Label.

A resumed Parallel or Map only re-runs the branches and iterations that had not finished:
finished ones are kept in the state's progress, which every checkpoint carries.
"""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

from batchyard.states.asl import jsonata, paths
from batchyard.states.asl.definition import MapState, ParallelState
from batchyard.states.asl.errors import (
    STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD,
    STATES_TIMEOUT,
    FailureError,
    QueryEvaluationError,
    RuntimeFailure,
)
from batchyard.states.asl.intrinsics import payload_template
from batchyard.states.asl.runtime import (
    Frame,
    ItemStatus,
    MapRunStart,
    Outcome,
    StateRun,
    gather_first_failure,
)
from batchyard.states.asl.values import MISSING, dumps


def _cursor_left(exc: FailureError, default: int) -> int:
    """The cursor of the frame the failure came from (where the *StateFailed event follows)."""
    return exc.frame_cursor if exc.frame_cursor is not None else default


# -- Parallel ------------------------------------------------------------------------------------
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
        await gather_first_failure(tasks)
    except FailureError as exc:
        interp.abort_threads(frame, exc, None)
        interp.keep_finished(exc, frame, results)
        frame.children.clear()
        # Emitted by the interpreter once it knows no retrier takes the failure.
        exc.pending_event = ("ParallelStateFailed", _cursor_left(exc, frame.cursor))
        raise
    frame.cursor = interp.last_event_id
    run.emit("ParallelStateSucceeded", update=False)
    return run.finish([results[str(i)] for i in range(len(st.branches))])


# -- Map -----------------------------------------------------------------------------------------
def _shown(value: Any) -> str:
    return value if isinstance(value, str) else dumps(value)


_INTEGER_TEXT = re.compile(r"-?\d+")
_NUMBER_TEXT = re.compile(r"-?\d+(?:\.\d+)?")


def _int_field(run: StateRun, value: Any, path: Any, name: str) -> int | None:
    st = run.state
    if value is not MISSING:
        if st.is_jsonata and jsonata.is_expr(value):
            got = run.jsonata(value, name)
            if not isinstance(got, int) or isinstance(got, bool):
                raise jsonata.unexpected_type(value, name, "integer", got)
            return got
        # A literal was checked when the definition was created.
        literal: int = value
        return literal
    if path is MISSING:
        return None
    got = paths.resolve_field(path, run.raw_input, run.scope(), f"{name}Path")
    # AWS reads the value as a number even when it is a JSON string of one ("1").
    if isinstance(got, str) and _INTEGER_TEXT.fullmatch(got):
        got = int(got)
    if (
        isinstance(got, bool)
        or not isinstance(got, int | float)
        or (isinstance(got, float) and not got.is_integer())
    ):
        raise RuntimeFailure(
            f'The {name}Path field refers to value "{_shown(got)}" which is not a valid '
            f"integer: {path}"
        )
    return int(got)


def _percentage(run: StateRun) -> float | None:
    st = run.state
    assert isinstance(st, MapState)
    value, path = st.tolerated_failure_percentage, st.tolerated_failure_percentage_path
    if value is not MISSING:
        if st.is_jsonata and jsonata.is_expr(value):
            value = run.jsonata(value, "ToleratedFailurePercentage")
        got = value
    elif path is not MISSING:
        got = paths.resolve_field(
            path, run.raw_input, run.scope(), "ToleratedFailurePercentagePath"
        )
        if isinstance(got, str) and _NUMBER_TEXT.fullmatch(got):
            got = float(got)
        if isinstance(got, bool) or not isinstance(got, int | float):
            raise RuntimeFailure(
                f'The ToleratedFailurePercentagePath field refers to value "{_shown(got)}" '
                f"which is not a valid float: {path}"
            )
    else:
        return None
    if not 0 <= got <= 100:
        raise RuntimeFailure("ToleratedFailurePercentage must be between 0 and 100.")
    return float(got)


def _items(run: StateRun, data: Any) -> list[Any]:
    st = run.state
    assert isinstance(st, MapState)
    if st.is_jsonata:
        if st.items is MISSING:
            items = run.raw_input
        elif jsonata.is_expr(st.items):
            items = jsonata.evaluate(
                st.items, run.states_binding(), run.frame.visible_variables(), "Items"
            )
            if not isinstance(items, list):
                raise jsonata.unexpected_type(st.items, "Items", "array", items)
        else:
            items = run.jsonata(st.items, "Items")
    else:
        items_path = "$" if st.items_path is MISSING else st.items_path
        items = paths.resolve_field(items_path, data, run.scope(), "ItemsPath")
    if not isinstance(items, list):
        raise QueryEvaluationError(
            f"Map state input must be an array but was: {dumps(items)}"
        )
    return items


def _item_input(run: StateRun, data: Any, index: int, value: Any) -> Any:
    st = run.state
    assert isinstance(st, MapState)
    item = {"Index": index, "Value": value}
    if st.item_selector is MISSING:
        return value
    if st.is_jsonata:
        return jsonata.evaluate_template(
            st.item_selector,
            run.states_binding(map_item=item),
            run.frame.visible_variables(),
            "ItemSelector",
        )
    return payload_template(st.item_selector, data, run.scope(map_item=item))


def _batch_limit(run: StateRun, batcher: dict[str, Any], name: str) -> int | None:
    limit = _int_field(run, batcher.get(name, MISSING), batcher.get(f"{name}Path", MISSING), name)
    if limit is not None and limit < 1:
        # Our own words, after AWS's "field MaxItems must be positive" for an ItemReader.
        raise RuntimeFailure(f"field {name} must be positive")
    return limit


def _batches(run: StateRun, data: Any, inputs: list[Any]) -> list[Any]:
    """The items grouped by the Map's ItemBatcher: each child gets ``{"Items": [...]}`` (and
    the BatchInput, when there is one), a batch holding as many items as both limits allow."""
    st = run.state
    assert isinstance(st, MapState)
    batcher: dict[str, Any] = st.item_batcher
    max_items = _batch_limit(run, batcher, "MaxItemsPerBatch")
    max_bytes = _batch_limit(run, batcher, "MaxInputBytesPerBatch")
    head: dict[str, Any] = {}
    if "BatchInput" in batcher:
        template = batcher["BatchInput"]
        head["BatchInput"] = (
            run.jsonata(template, "ItemBatcher/BatchInput") if st.is_jsonata
            else payload_template(template, data, run.scope())
        )

    def size(items: list[Any]) -> int:
        return len(dumps({**head, "Items": items}).encode())

    batches: list[list[Any]] = []
    for item in inputs:
        current = batches[-1] if batches else None
        if (
            current is not None
            and (max_items is None or len(current) < max_items)
            and (max_bytes is None or size([*current, item]) <= max_bytes)
        ):
            current.append(item)
            continue
        if max_bytes is not None and size([item]) > max_bytes:
            # Our own words: AWS's for an item no batch can hold are not on record.
            raise RuntimeFailure(
                f"An item of {size([item])} bytes does not fit in a batch of "
                f"MaxInputBytesPerBatch {max_bytes}."
            )
        batches.append([item])
    return [{**head, "Items": items} for items in batches]


async def run_map(run: StateRun) -> Outcome:
    """Run one attempt of a Map state."""
    st = run.state
    assert isinstance(st, MapState)
    assert st.processor is not None
    interp, frame = run.interp, run.frame
    distributed = st.mode == "DISTRIBUTED"
    if "inputs" not in run.resume:
        if st.is_jsonata:
            data = run.raw_input
        else:
            data = paths.input_path(st.input_path, run.raw_input, run.scope())
            run.note("afterInputPath", data)
        max_conc = _int_field(run, st.max_concurrency, st.max_concurrency_path, "MaxConcurrency")
        if max_conc is not None and max_conc < 0:
            raise RuntimeFailure("MaxConcurrency cannot be negative.")
        run.note("maxConcurrency", max_conc or 0)
        try:
            items = _items(run, data)
        except QueryEvaluationError as exc:
            interp.report_evaluation_failed(run, exc)
            exc.pending_event = ("MapStateFailed", None)
            raise
        if not st.is_jsonata:
            run.note("afterItemsPath", items)
        run.emit("MapStateStarted", {"mapStateStartedEventDetails": {"length": len(items)}})
        tol_count = _int_field(
            run,
            st.tolerated_failure_count,
            st.tolerated_failure_count_path,
            "ToleratedFailureCount",
        )
        if tol_count is not None and tol_count < 0:
            raise RuntimeFailure("ToleratedFailureCount cannot be negative.")
        tol_pct = _percentage(run)
        if tol_count is not None:
            run.note("toleratedFailureCount", tol_count)
        if tol_pct is not None:
            run.note("toleratedFailurePercentage", tol_pct)
        inputs = [_item_input(run, data, i, v) for i, v in enumerate(items)]
        if st.item_selector is not MISSING:
            run.note("afterItemSelector", inputs)
        if st.item_batcher is not MISSING:
            inputs = _batches(run, data, inputs)
        new_run = None
        if distributed:
            new_run = interp.map_run_arn(st.label)
            run.emit("MapRunStarted", {"mapRunStartedEventDetails": {"mapRunArn": new_run}})
            if interp.map_runs is not None:
                interp.map_runs.started(MapRunStart(
                    new_run, interp.info.execution_arn, inputs, max_conc or 0, tol_count or 0,
                    tol_pct or 0.0,
                ))
        run.remember(
            inputs=inputs,
            results={},
            failures=0,
            max_concurrency=max_conc or 0,
            tolerated_count=tol_count,
            tolerated_pct=tol_pct,
            start_cursor=frame.cursor,
            map_run=new_run,
        )
    progress = frame.entered_data
    processor = st.processor
    # Only a distributed Map has a Map Run whose progress is reported.
    map_run: str = progress.get("map_run") or ""
    observer = interp.map_runs if map_run else None
    inputs = progress["inputs"]
    results: dict[str, Any] = progress["results"]
    resumed = dict(run.resume_children)
    limit = progress["max_concurrency"] or len(inputs) or 1
    sem = asyncio.Semaphore(limit)
    # Iterations hand on the cursor: each starts after the last event of the one before.
    shared = {"cursor": progress["start_cursor"]}
    tolerated = distributed and (
        progress["tolerated_count"] is not None or progress["tolerated_pct"] is not None
    )

    def iteration_ended(outcome: str, child: Frame, i: int) -> None:
        details = {f"mapIteration{outcome}EventDetails": {"index": i, "name": st.name}}
        interp.emit(child, f"MapIteration{outcome}", details, update=False)

    async def iteration(i: int) -> None:
        key = str(i)
        async with sem:
            if shared.get("failed"):
                return
            snapshot = resumed.get(key)
            child = interp.child_frame(
                frame, processor, key, shared["cursor"], silent=distributed
            )
            if snapshot is None:
                interp.emit(
                    child,
                    "MapIterationStarted",
                    {"mapIterationStartedEventDetails": {"index": i, "name": st.name}},
                )
            if observer is not None:
                observer.item(map_run, i, ItemStatus.RUNNING, inputs[i])
            try:
                out = await interp.run_frame(child, inputs[i], snapshot)
            except FailureError as exc:
                if observer is not None:
                    timed_out = exc.error == STATES_TIMEOUT
                    observer.item(
                        map_run,
                        i,
                        ItemStatus.TIMED_OUT if timed_out else ItemStatus.FAILED,
                        exc.error_output(),
                    )
                iteration_ended("Failed", child, i)
                shared["cursor"] = child.cursor
                if not tolerated:
                    shared["failed"] = True
                    exc.frame_cursor = child.cursor
                    raise
                frame.children.pop(key, None)
                progress["failures"] += 1
                results[key] = exc.error_output()
                return
            if observer is not None:
                observer.item(map_run, i, ItemStatus.SUCCEEDED, out)
            iteration_ended("Succeeded", child, i)
            shared["cursor"] = child.cursor
            results[key] = out
            frame.children.pop(key, None)

    tasks = [
        asyncio.ensure_future(iteration(i)) for i in range(len(inputs)) if str(i) not in results
    ]
    try:
        await gather_first_failure(tasks)
        if tolerated:
            _check_tolerance(progress, len(inputs))
    except FailureError as exc:
        interp.abort_threads(frame, exc, st.name)
        interp.keep_finished(exc, frame, results)
        frame.children.clear()
        if distributed:
            run.emit("MapRunFailed", update=False)
            if observer is not None:
                observer.ended(map_run, succeeded=False)
        # Emitted by the interpreter once it knows no retrier takes the failure.
        exc.pending_event = ("MapStateFailed", _cursor_left(exc, frame.cursor))
        raise
    if distributed:
        run.emit("MapRunSucceeded", update=False)
        if observer is not None:
            observer.ended(map_run, succeeded=True)
    else:
        frame.cursor = interp.last_event_id
    run.emit("MapStateSucceeded", prev=interp.last_event_id, update=False)
    return run.finish([results[str(i)] for i in range(len(inputs))])


def _check_tolerance(progress: dict[str, Any], total: int) -> None:
    failures = progress["failures"]
    if failures == 0:
        return
    count, pct = progress["tolerated_count"], progress["tolerated_pct"]
    ok = (count is not None and failures <= count) or (
        pct is not None and total and failures * 100 <= math.floor(pct * total)
    )
    if not ok:
        raise FailureError(
            STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD,
            "The specified tolerated failure threshold was exceeded",
        )
