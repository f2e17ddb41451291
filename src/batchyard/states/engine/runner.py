"""One execution in flight: the interpreter, its journal, and how the execution ends.

The runner hands the interpreter an event sink that feeds the journal, and lets the journal
take the interpreter's checkpoint whenever it flushes: the interpreter is then parked at an
``await``, so the checkpoint and the events recorded so far describe the same moment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from typing import Any

from batchyard.bus import Bus
from batchyard.states.asl import (
    ExecutionInfo,
    ExecutionResult,
    Interpreter,
    MapRunObserver,
    SystemClock,
    TaskInvoker,
    load_definition,
)
from batchyard.states.engine import records
from batchyard.states.engine.journal import Journal
from batchyard.states.engine.records import Execution
from batchyard.states.engine.tokens import make_token
from batchyard.states.resources.arns import parse_arn
from batchyard.store import Store

log = logging.getLogger(__name__)

EXECUTION_TOPIC = "states.execution"


def execution_info(execution: Execution) -> ExecutionInfo:
    """Who the interpreter should say it is running, from the execution's ARN and source."""
    arn = parse_arn(execution.arn, "execution", "express")
    express = arn.kind == "express"
    return ExecutionInfo(
        name=execution.name,
        state_machine_name=execution.source["machineName"],
        region=arn.region,
        account=arn.account,
        partition=arn.partition,
        role_arn=execution.source["roleArn"],
        express=express,
        redrive_count=execution.redrive_count,
        start_time=datetime.fromtimestamp(execution.started).astimezone(),
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
        self.journal = Journal(execution, store, self._snapshot)
        self.bus = bus
        self.done = asyncio.Event()
        self._redrive_point: dict[str, Any] | None = None
        self._output_text: str | None = None
        machine = load_definition(execution.source["definition"])
        self.interpreter = Interpreter(
            machine,
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

    def _on_event(self, event: dict[str, Any]) -> None:
        stamp = event.get("timestamp")
        if isinstance(stamp, datetime):
            event = {**event, "timestamp": stamp.timestamp()}
        self.journal.record(event)
        if event["type"] == "ExecutionSucceeded":
            self._output_text = event["executionSucceededEventDetails"]["output"]

    async def _task_token(self, _context: dict[str, Any], attempt: str) -> str:
        # Committed before it is handed out: a resumed execution re-enters this task attempt
        # under the same name, so whoever holds the token can still answer after a crash.
        await self.journal.flushed()
        return make_token(self.execution.arn, self.execution.source["salt"], attempt)

    def _on_transition(self, checkpoint: dict[str, Any]) -> None:
        # Where a redrive starts over: the entry of the state that was running last.
        self._redrive_point = checkpoint
        self.journal.moved()

    def _snapshot(self) -> dict[str, Any] | None:
        root = self.interpreter.root
        if root is None or root.state_name is None:
            # Not yet in its first state: a resume simply starts the execution over.
            return None
        return {"resume": self.interpreter.checkpoint(), "redrive": self._redrive_point}

    def start(self, checkpoint: dict[str, Any] | None = None) -> asyncio.Task[None]:
        """Run (or resume from ``checkpoint``) in the background; a fresh start is announced."""
        if checkpoint is None:
            self.bus.publish(EXECUTION_TOPIC, self.execution.status_change())
        self.task = asyncio.get_running_loop().create_task(self._run(checkpoint))
        return self.task

    async def _run(self, checkpoint: dict[str, Any] | None) -> None:
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
        execution = self.execution
        execution.status = result.status
        execution.stopped = time.time()
        execution.error, execution.cause = result.error, result.cause
        if result.status == records.SUCCEEDED:
            execution.output = self._output_text
        execution.checkpoint = {"resume": None, "redrive": self._redrive_point}
        try:
            await self.journal.close()
        finally:
            # Readers waiting for the end to be committed must not wait for ever.
            self.done.set()
        self.bus.publish(EXECUTION_TOPIC, execution.status_change())

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
        await self.finish(ExecutionResult(records.ABORTED, error=error, cause=cause))
