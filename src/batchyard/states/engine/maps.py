"""Map Runs: the records DescribeMapRun, ListMapRuns and ListExecutions(mapRunArn) show.

The interpreter reports each distributed Map's Map Run and the fate of every item's child
execution (:class:`MapRunObserver`); the tracker keeps a row per Map Run and per child. The
item and execution counts are counted from the children rows when asked, so they are right
while the run goes on as well as at its end. Writes queue up in order and go out together,
group-committed, without holding up the execution.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.bus import Bus
from batchyard.protocol.errors import ServiceError
from batchyard.states.asl import MapRunStart
from batchyard.states.asl.values import dumps
from batchyard.states.engine import records
from batchyard.states.engine import records as status
from batchyard.states.engine.runner import EXECUTION_TOPIC
from batchyard.states.resources import arns
from batchyard.store import Store
from batchyard.store.tables.states import map_run_children, map_runs

log = logging.getLogger(__name__)

# Counted per child status; AWS's remaining counters stay 0 (no ResultWriter, no redrive).
_BY_STATUS = {
    status.RUNNING: "running", status.SUCCEEDED: "succeeded", status.FAILED: "failed",
    status.TIMED_OUT: "timedOut", status.ABORTED: "aborted",
}
_COUNT_KEYS = (
    "pending", "running", "succeeded", "failed", "timedOut", "aborted", "total",
    "resultsWritten", "failuresNotRedrivable", "pendingRedrive",
)

Write = Callable[[Connection], None]


def not_found(arn: str) -> ServiceError:
    """AWS's ResourceNotFound for an unknown Map Run."""
    return ServiceError("ResourceNotFound", f"Resource not found: '{arn}'", resourceName=arn)


def child_arn(map_run_arn: str, index: int) -> str:
    """The ARN of item ``index``'s child execution, the same every time it is asked for.

    ``…:mapRun:<machine>/<label>:<run id>`` gives ``…:execution:<machine>/<label>:<child id>``.
    """
    parsed = arns.parse_arn(map_run_arn, "mapRun")
    child_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{map_run_arn}#{index}")
    return f"{parsed.prefix}:execution:{parsed.parts[0]}:{child_id}"


def child_machine_arn(map_run_arn: str) -> str:
    """The state machine ARN a Map Run's children report: ``…:stateMachine:<machine>/<label>``."""
    parsed = arns.parse_arn(map_run_arn, "mapRun")
    return f"{parsed.prefix}:stateMachine:{parsed.parts[0]}"


@dataclass
class MapRunChild:
    """One item's child execution, as ListExecutions(mapRunArn) lists it."""

    arn: str
    map_run_arn: str
    status: str
    started: float
    stopped: float | None
    input: str = "null"
    output: str | None = None
    error: str | None = None
    cause: str | None = None

    def describe(self) -> dict[str, Any]:
        """DescribeExecution of the child: what it was given and how it ended."""
        out = self.list_item()
        del out["itemCount"]
        out.update(input=self.input, inputDetails={"included": True}, redriveCount=0)
        if self.status == status.SUCCEEDED and self.output is not None:
            out.update(output=self.output, outputDetails={"included": True})
        for key, value in (("error", self.error), ("cause", self.cause)):
            if value is not None:
                out[key] = value
        return out

    def list_item(self) -> dict[str, Any]:
        """A ListExecutions item (each child processes one item: no ItemBatcher)."""
        out: dict[str, Any] = {
            "executionArn": self.arn, "stateMachineArn": child_machine_arn(self.map_run_arn),
            "name": self.arn.rsplit(":", 1)[1], "status": self.status,
            "startDate": self.started, "mapRunArn": self.map_run_arn, "itemCount": 1,
        }
        if self.stopped is not None:
            out["stopDate"] = self.stopped
        return out


def _child(row: Any) -> MapRunChild:
    return MapRunChild(row.arn, row.map_run_arn, row.status, row.started, row.stopped,
                       row.input, row.output, row.error, row.cause)


def _abort_children(conn: Connection, map_run_arn: str, now: float) -> None:
    conn.execute(
        sa.update(map_run_children)
        .where(map_run_children.c.map_run_arn == map_run_arn)
        .where(map_run_children.c.status == status.RUNNING)
        .values(status=status.ABORTED, stopped=now)
    )


class MapRunTracker:
    """Keep Map Run and child execution rows in step with what the interpreter reports."""

    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self._queued: list[Write] = []
        self._flusher: asyncio.Task[None] | None = None
        bus.subscribe(EXECUTION_TOPIC, self._execution_changed)

    # -- what the interpreter reports (MapRunObserver) --------------------------------------
    def started(self, run: MapRunStart) -> None:
        """A Map Run began: its row, RUNNING, with its settings and item total."""
        now = time.time()
        settings = {
            "maxConcurrency": run.max_concurrency,
            "toleratedFailurePercentage": run.tolerated_failure_percentage,
            "toleratedFailureCount": run.tolerated_failure_count,
        }

        def write(conn: Connection) -> None:
            exists = conn.execute(
                sa.select(map_runs.c.arn).where(map_runs.c.arn == run.map_run_arn)
            ).first()
            if exists is None:
                conn.execute(sa.insert(map_runs).values(
                    arn=run.map_run_arn, execution_arn=run.execution_arn, status=status.RUNNING,
                    started=now, settings=settings, counts={"total": len(run.inputs)},
                ))

        self._queue(write)

    def item(self, map_run_arn: str, index: int, state: str, data: Any = None) -> None:
        """An item's child execution started (again, after a resume) or ended."""
        now = time.time()
        arn = child_arn(map_run_arn, index)

        def write(conn: Connection) -> None:
            row = conn.execute(
                sa.select(map_run_children.c.status).where(map_run_children.c.arn == arn)
            ).first()
            if row is None:
                conn.execute(sa.insert(map_run_children).values(
                    arn=arn, map_run_arn=map_run_arn, item_index=index, status=status.RUNNING,
                    started=now, input=dumps(data) if state == status.RUNNING else "null",
                ))
            if state == status.RUNNING:
                return
            failure = data if state != status.SUCCEEDED and isinstance(data, dict) else {}
            conn.execute(
                sa.update(map_run_children).where(map_run_children.c.arn == arn).values(
                    status=state, stopped=now,
                    output=dumps(data) if state == status.SUCCEEDED else None,
                    error=failure.get("Error"), cause=failure.get("Cause"),
                )
            )

        self._queue(write)

    def ended(self, map_run_arn: str, succeeded: bool) -> None:
        """The Map Run ended; children still running are aborted with it."""
        now = time.time()
        state = status.SUCCEEDED if succeeded else status.FAILED

        def write(conn: Connection) -> None:
            conn.execute(
                sa.update(map_runs).where(map_runs.c.arn == map_run_arn)
                .where(map_runs.c.status == status.RUNNING)
                .values(status=state, stopped=now)
            )
            _abort_children(conn, map_run_arn, now)

        self._queue(write)

    def _execution_changed(self, _topic: str, event: dict[str, Any]) -> None:
        # An execution that stops, fails or times out mid-Map leaves its Map Run aborted. One
        # that succeeded ended every Map Run it started, so it costs no write.
        if event["status"] not in (records.FAILED, records.TIMED_OUT, records.ABORTED):
            return
        execution_arn, now = event["executionArn"], time.time()

        def write(conn: Connection) -> None:
            open_runs = conn.execute(
                sa.select(map_runs.c.arn).where(map_runs.c.execution_arn == execution_arn)
                .where(map_runs.c.status == status.RUNNING)
            ).scalars().all()
            for run in open_runs:
                conn.execute(
                    sa.update(map_runs).where(map_runs.c.arn == run)
                    .values(status=status.ABORTED, stopped=now)
                )
                _abort_children(conn, run, now)

        self._queue(write)

    # -- writing ---------------------------------------------------------------------------
    def _queue(self, write: Write) -> None:
        self._queued.append(write)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []

            def write(conn: Connection, batch: list[Write] = batch) -> None:
                for one in batch:
                    one(conn)

            try:
                await self.store.write(write)
            except Exception:
                log.exception("could not record the progress of a Map Run")

    async def flushed(self) -> None:
        """Return once everything reported so far is committed."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    # -- reading ---------------------------------------------------------------------------
    async def describe(self, arn: str) -> dict[str, Any]:
        """DescribeMapRun, with item and execution counts as of now."""
        arns.parse_arn(arn, "mapRun")
        await self.flushed()

        def read(conn: Connection) -> tuple[Any, dict[str, int]]:
            row = conn.execute(sa.select(map_runs).where(map_runs.c.arn == arn)).first()
            tallies = conn.execute(
                sa.select(map_run_children.c.status, sa.func.count())
                .where(map_run_children.c.map_run_arn == arn)
                .group_by(map_run_children.c.status)
            ).all()
            return row, {state: n for state, n in tallies}

        row, tallies = await self.store.read(read)
        if row is None:
            raise not_found(arn)
        counts = dict.fromkeys(_COUNT_KEYS, 0)
        counts["total"] = row.counts["total"]
        for state, n in tallies.items():
            counts[_BY_STATUS[state]] += n
        counts["pending"] = max(0, counts["total"] - sum(tallies.values()))
        out = {
            "mapRunArn": row.arn, "executionArn": row.execution_arn, "status": row.status,
            "startDate": row.started, **row.settings, "itemCounts": counts,
            "executionCounts": dict(counts), "redriveCount": 0,
        }
        if row.stopped is not None:
            out["stopDate"] = row.stopped
        return out

    async def children(self, arn: str, state: str | None) -> list[MapRunChild]:
        """ListExecutions(mapRunArn): the Map Run's child executions, newest first."""
        await self.describe(arn)

        def read(conn: Connection) -> list[MapRunChild]:
            query = sa.select(map_run_children).where(map_run_children.c.map_run_arn == arn)
            if state is not None:
                query = query.where(map_run_children.c.status == state)
            query = query.order_by(
                map_run_children.c.started.desc(), map_run_children.c.item_index.desc()
            )
            return [_child(row) for row in conn.execute(query)]

        return await self.store.read(read)

    async def child(self, arn: str) -> MapRunChild | None:
        """The child execution ``arn`` of some Map Run, or None."""
        await self.flushed()
        row = await self.store.read(lambda conn: conn.execute(
            sa.select(map_run_children).where(map_run_children.c.arn == arn)
        ).first())
        return _child(row) if row is not None else None

    async def list_for(self, execution_arn: str) -> list[dict[str, Any]]:
        """ListMapRuns items of an execution."""
        await self.flushed()
        rows = await self.store.read(lambda conn: list(conn.execute(
            sa.select(map_runs).where(map_runs.c.execution_arn == execution_arn)
            .order_by(map_runs.c.started)
        )))
        out = []
        for row in rows:
            item = {"executionArn": row.execution_arn, "mapRunArn": row.arn,
                    "startDate": row.started}
            if row.stopped is not None:
                item["stopDate"] = row.stopped
            out.append(item)
        return out

    async def update(self, arn: str, params: dict[str, Any]) -> None:
        """UpdateMapRun: change the concurrency and tolerated failures of a Map Run."""
        current = await self.describe(arn)
        settings = {
            key: params.get(key, current[key])
            for key in ("maxConcurrency", "toleratedFailurePercentage", "toleratedFailureCount")
        }
        if not any(key in params for key in settings):
            raise ServiceError(
                "ValidationException",
                "At least one of the parameters maxConcurrency, toleratedFailurePercentage or "
                "toleratedFailureCount must be specified",
            )
        await self.store.write(lambda conn: conn.execute(
            sa.update(map_runs).where(map_runs.c.arn == arn).values(settings=settings)
        ))

