"""One execution in flight: the interpreter, its journal, and the one place an execution's
status changes.

The runner hands the interpreter an event sink that feeds the journal, and lets the journal
take the interpreter's checkpoint whenever it flushes: the interpreter is then parked at an
``await``, so the checkpoint and the events recorded so far describe the same moment.

The journal writes events out as they come, group-committed with every other execution's.
Each flush stores the new events together with a checkpoint taken at that same moment, so the
store never holds an event the checkpoint does not account for: a resumed execution continues
right after its last stored event. Express executions keep their journal in memory only, as
AWS does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from batchyard.aws.documents import JsonObject
from batchyard.bus import Bus
from batchyard.states import records
from batchyard.states.arns import parse_arn
from batchyard.states.asl import (
    ExecutionInfo,
    ExecutionResult,
    Interpreter,
    MapRunObserver,
    SystemClock,
    TaskInvoker,
    load_definition,
)
from batchyard.states.model import Checkpoint, Execution, ExecutionStatus, HistoryEvent
from batchyard.states.tasks import make_token
from batchyard.store import Store

log = logging.getLogger(__name__)

EXECUTION_TOPIC = "states.execution"
"""The bus topic of execution status changes: each start, end and redrive of an execution is
published once, as :meth:`Execution.status_change` describes it."""

STATE_TOPIC = "states.state"
"""The bus topic of state transitions: each state an execution enters is published once, as
``{"stateMachineArn": …, "stateType": …}`` (``Task``, ``Choice`` …)."""

END_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)


class Lifecycle:
    """The one place an execution's status changes: the change (as
    :data:`~batchyard.states.model.TRANSITIONS` allows), its commit together with the
    events that record it, and its announcement on the bus."""

    def __init__(self, store: Store | None, bus: Bus) -> None:
        self._store = store
        self._bus = bus

    def started(self, execution: Execution) -> None:
        """Announce a new execution (its row, if any, is committed)."""
        self._bus.publish(EXECUTION_TOPIC, execution.status_change())

    async def change(
        self,
        execution: Execution,
        status: ExecutionStatus,
        *,
        journal: Journal | None = None,
        event: tuple[str, JsonObject] | None = None,
        error: str | None = None,
        cause: str | None = None,
        output: str | None = None,
        checkpoint: Checkpoint | None = None,
        committed: Callable[[], None] = lambda: None,
    ) -> None:
        """Move ``execution`` to ``status``, commit, call ``committed()``, then announce.

        An end commits with the last events of ``journal`` (a running execution's), or with
        ``event`` (type and details) when nothing runs it; RUNNING again is a redrive.
        """
        now = time.time()
        execution.move_to(status)
        if status == ExecutionStatus.RUNNING:
            execution.redrive_count += 1
            execution.redrive_date, execution.stopped = now, None
        else:
            execution.stopped = now
        execution.error, execution.cause, execution.output = error, cause, output
        if checkpoint is not None:
            execution.checkpoint = checkpoint
        try:
            if journal is not None:
                await journal.close()
            elif event is not None:
                await self._commit(execution, event, now)
        finally:
            # Readers waiting for the end to be committed must not wait for ever.
            committed()
        self._bus.publish(EXECUTION_TOPIC, execution.status_change())

    async def _commit(
        self, execution: Execution, event: tuple[str, JsonObject], now: float
    ) -> None:
        kind, details = event
        key = kind[0].lower() + kind[1:] + "EventDetails"
        recorded = HistoryEvent(
            id=execution.last_event_id + 1, previous_event_id=execution.last_event_id,
            type=kind, timestamp=now, details={key: details},
        )
        execution.last_event_id = recorded.id
        if self._store is None:
            return

        def write(conn: Connection) -> None:
            records.append_events(conn, execution.arn, [recorded])
            records.save(conn, execution)

        await self._store.write(write)


class Journal:
    """The history and checkpoint of one execution."""

    def __init__(
        self,
        execution: Execution,
        store: Store | None,
        snapshot: Callable[[], Checkpoint | None] = lambda: None,
    ) -> None:
        self.execution = execution
        self.store = store
        self.snapshot = snapshot
        # Express executions have no store: their history lives here for as long as they run.
        self.events: list[HistoryEvent] = []
        self._unsaved: list[HistoryEvent] = []
        # Progress to save even without new events (the silent iterations of a distributed Map).
        self._moved = False
        self._flusher: asyncio.Task[None] | None = None

    @property
    def last_event_id(self) -> int:
        return self.execution.last_event_id

    def record(self, event: JsonObject) -> HistoryEvent:
        """Add an event (``id``, ``previousEventId``, ``type``, ``timestamp``, its details)."""
        details = {
            k: v for k, v in event.items()
            if k not in ("id", "previousEventId", "type", "timestamp")
        }
        item = HistoryEvent(
            id=event["id"], previous_event_id=event.get("previousEventId", 0), type=event["type"],
            timestamp=event.get("timestamp") or time.time(), details=details,
        )
        self.execution.last_event_id = max(self.execution.last_event_id, item.id)
        if self.store is None:
            self.events.append(item)
        else:
            self._unsaved.append(item)
            self._start_flusher()
        return item

    def moved(self) -> None:
        """The execution moved on (a state transition): save its checkpoint soon, with or
        without events, so what it hands out next (a task token) survives a restart."""
        if self.store is not None:
            self._moved = True
            self._start_flusher()

    def _start_flusher(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        # The execution's last event waits for the final write, which commits it with the
        # execution's end: a progress write would store it under a RUNNING row, and a restart
        # in between would run the end of the execution again.
        while (self._unsaved or self._moved) and not self._ending():
            await self._flush_once()

    def _ending(self) -> bool:
        return any(event.type in END_EVENTS for event in self._unsaved)

    async def _flush_once(self, final: bool = False) -> None:
        assert self.store is not None
        # Taken together, before any await: the events and the checkpoint agree.
        events, self._unsaved, self._moved = self._unsaved, [], False
        execution = self.execution
        checkpoint = None if final else self.snapshot()
        if checkpoint is not None:
            execution.checkpoint = checkpoint
        arn, last = execution.arn, execution.last_event_id

        def write(conn: Connection) -> None:
            records.append_events(conn, arn, events)
            if final:
                records.save(conn, execution)
            else:
                records.save_progress(conn, arn, last, checkpoint)

        await self.store.write(write)

    async def flushed(self) -> None:
        """Return once every event recorded so far is committed."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def close(self) -> None:
        """Write every remaining event together with the execution's final row."""
        await self.flushed()
        if self.store is not None:
            await self._flush_once(final=True)


def execution_info(execution: Execution) -> ExecutionInfo:
    """Who the interpreter should say it is running, from the execution's ARN and source."""
    arn = parse_arn(execution.arn, "execution", "express")
    express = arn.kind == "express"
    return ExecutionInfo(
        name=execution.name,
        state_machine_name=execution.source.machine_name,
        region=arn.region,
        account=arn.account,
        partition=arn.partition,
        role_arn=execution.source.role_arn,
        express=express,
        redrive_count=execution.redrive_count,
        start_time=datetime.fromtimestamp(execution.started).astimezone(),
        redrive_time=(
            datetime.fromtimestamp(execution.redrive_date).astimezone()
            if execution.redrive_date is not None else None
        ),
        express_id=arn.parts[2] if express else "",
    )


def scaled_clock(time_scale: float) -> SystemClock:
    """Wall-clock time whose sleeps are divided by ``time_scale`` (BATCHYARD_TIME_SCALE)."""
    return SystemClock(1.0 / time_scale if time_scale > 0 else 0.0)


class ExecutionRunner:
    """Drive one execution to its end, persisting as it goes (Standard) or not (Express)."""

    def __init__(
        self,
        execution: Execution,
        store: Store | None,
        invoker: TaskInvoker,
        time_scale: float,
        bus: Bus,
        map_runs: MapRunObserver | None = None,
    ) -> None:
        self.execution = execution
        self._bus = bus
        self.journal = Journal(execution, store, self._snapshot)
        self.lifecycle = Lifecycle(store, bus)
        self.done = asyncio.Event()
        # A resumed or redriven run may fail before its first transition: where it started
        # over is still where the next redrive starts.
        self._redrive_point: JsonObject | None = execution.checkpoint.redrive
        self._output_text: str | None = None
        self.interpreter = Interpreter(
            load_definition(execution.source.definition),
            json.loads(execution.input),
            execution_info(execution),
            invoker=invoker,
            clock=scaled_clock(time_scale),
            event_sink=self._on_event,
            checkpoint_sink=self._on_transition,
            input_text=execution.input,
            task_tokens=self._task_token,
            map_runs=map_runs,
        )
        self.task: asyncio.Task[None] | None = None

    def _on_event(self, event: JsonObject) -> None:
        stamp = event.get("timestamp")
        if isinstance(stamp, datetime):
            event = {**event, "timestamp": stamp.timestamp()}
        self.journal.record(event)
        kind: str = event["type"]
        if kind.endswith("StateEntered"):
            self._bus.publish(STATE_TOPIC, {
                "stateMachineArn": self.execution.machine_arn,
                "stateType": kind.removesuffix("StateEntered"),
            })
        elif kind == "ExecutionSucceeded":
            self._output_text = event["executionSucceededEventDetails"]["output"]

    async def _task_token(self, _context: JsonObject, attempt: str) -> str:
        # Committed before it is handed out: a resumed execution re-enters this task attempt
        # under the same name, so whoever holds the token can still answer after a crash.
        await self.journal.flushed()
        return make_token(self.execution.arn, self.execution.source.salt, attempt)

    def _on_transition(self, checkpoint: JsonObject) -> None:
        # Where a redrive starts over: the entry of the state that was running last.
        self._redrive_point = checkpoint
        self.journal.moved()

    def _snapshot(self) -> Checkpoint | None:
        root = self.interpreter.root
        if root is None or root.state_name is None:
            # Not yet in its first state: a resume simply starts the execution over.
            return None
        return Checkpoint(self.interpreter.checkpoint(), self._redrive_point)

    def start(self, checkpoint: JsonObject | None = None) -> asyncio.Task[None]:
        """Run (or resume from ``checkpoint``) in the background; a fresh start is announced."""
        if checkpoint is None:
            self.lifecycle.started(self.execution)
        self.task = asyncio.get_running_loop().create_task(self._run(checkpoint))
        return self.task

    async def _run(self, checkpoint: JsonObject | None) -> None:
        try:
            result = await self.interpreter.run(checkpoint)
        except asyncio.CancelledError:
            self.done.set()
            raise
        except Exception:
            log.exception("execution %s crashed", self.execution.arn)
            result = ExecutionResult(
                "FAILED", error="States.Runtime",
                cause="An internal error occurred while running the execution.",
            )
            self._on_event({
                "id": self.journal.last_event_id + 1, "previousEventId": self.journal.last_event_id,
                "type": "ExecutionFailed",
                "executionFailedEventDetails": {"error": result.error, "cause": result.cause},
            })
        await self.finish(result)

    async def finish(self, result: ExecutionResult) -> None:
        """Record how the execution ended, committed with its last events, then announce it."""
        status = ExecutionStatus(result.status)
        if result.redrive_point is not None:
            self._redrive_point = result.redrive_point
        await self.lifecycle.change(
            self.execution, status, journal=self.journal, error=result.error,
            cause=result.cause,
            output=self._output_text if status == ExecutionStatus.SUCCEEDED else None,
            checkpoint=Checkpoint(None, self._redrive_point), committed=self.done.set,
        )

    async def abort(self, error: str | None, cause: str | None) -> None:
        """StopExecution: cancel the interpreter and record ExecutionAborted."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        details: dict[str, Any] = {}
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        last = self.journal.last_event_id
        self._on_event({
            "id": last + 1, "previousEventId": last, "type": "ExecutionAborted",
            "executionAbortedEventDetails": details,
        })
        await self.finish(ExecutionResult("ABORTED", error=error, cause=cause))
