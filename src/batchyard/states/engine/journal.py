"""An execution's journal: its history events and checkpoints on their way to the store.

Events are appended as the interpreter emits them and a flusher writes them out at once,
group-committed with every other execution's. Each flush stores the new events together with
a checkpoint taken at that same moment, so the store never holds an event the checkpoint does
not account for: a resumed execution continues right after its last stored event.
Express executions keep their journal in memory only, as AWS does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from batchyard.states.engine import records
from batchyard.states.engine.records import Execution, HistoryEvent
from batchyard.store import Store

END_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)


class Journal:
    """The history and checkpoint of one execution."""

    def __init__(
        self,
        execution: Execution,
        store: Store | None,
        snapshot: Callable[[], dict[str, Any] | None] = lambda: None,
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

    def record(self, event: dict[str, Any]) -> HistoryEvent:
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
        if not final:
            execution.checkpoint = self.snapshot()
        arn, last, checkpoint = execution.arn, execution.last_event_id, execution.checkpoint

        def write(conn: Any) -> None:
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
