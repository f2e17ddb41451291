"""Map Runs: the records DescribeMapRun, ListMapRuns and ListExecutions(mapRunArn) show.

The interpreter reports each distributed Map's Map Run and the fate of every item's child
execution (it is the :class:`~batchyard.states.asl.MapRunObserver`); the tracker keeps a row
per Map Run and per child. The item and execution counts are counted from the children rows
when asked, so they are right while the run goes on as well as at its end. Writes queue up in
order and go out together, group-committed, without holding up the execution.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from batchyard.aws.documents import JsonObject
from batchyard.bus import Bus
from batchyard.protocol.errors import ServiceError
from batchyard.states import arns
from batchyard.states.asl import ItemStatus, MapRunStart
from batchyard.states.asl.values import dumps
from batchyard.states.model import (
    ExecutionStatus,
    MapRun,
    MapRunChild,
    MapRunCounts,
    MapRunStatus,
)
from batchyard.states.runner import EXECUTION_TOPIC
from batchyard.store import Store
from batchyard.store.tables.states import map_run_children, map_runs

log = logging.getLogger(__name__)

Write = Callable[[Connection], None]

_STOPPED = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED})
_SETTINGS = ("maxConcurrency", "toleratedFailurePercentage", "toleratedFailureCount")


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


def _child(row: Row[Any]) -> MapRunChild:
    return MapRunChild(
        row.arn, row.map_run_arn, child_machine_arn(row.map_run_arn),
        ExecutionStatus(row.status), row.started, row.stopped, row.input, row.output,
        row.error, row.cause,
    )


def _map_run(row: Row[Any], counts: MapRunCounts | None = None) -> MapRun:
    settings = row.settings
    return MapRun(
        arn=row.arn, execution_arn=row.execution_arn, status=MapRunStatus(row.status),
        started=row.started, stopped=row.stopped, max_concurrency=settings["maxConcurrency"],
        tolerated_failure_percentage=settings["toleratedFailurePercentage"],
        tolerated_failure_count=settings["toleratedFailureCount"], total=row.counts["total"],
        counts=counts,
    )


def _abort_children(conn: Connection, map_run_arn: str, now: float) -> None:
    conn.execute(
        sa.update(map_run_children)
        .where(map_run_children.c.map_run_arn == map_run_arn)
        .where(map_run_children.c.status == ExecutionStatus.RUNNING)
        .values(status=ExecutionStatus.ABORTED, stopped=now)
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
                    arn=run.map_run_arn, execution_arn=run.execution_arn,
                    status=MapRunStatus.RUNNING, started=now, settings=settings,
                    counts={"total": len(run.inputs)},
                ))

        self._queue(write)

    def item(self, map_run_arn: str, index: int, status: ItemStatus, data: Any = None) -> None:
        """An item's child execution started (again, after a resume) or ended."""
        now = time.time()
        arn = child_arn(map_run_arn, index)
        state = ExecutionStatus(status)

        def write(conn: Connection) -> None:
            row = conn.execute(
                sa.select(map_run_children.c.status).where(map_run_children.c.arn == arn)
            ).first()
            if row is None:
                conn.execute(sa.insert(map_run_children).values(
                    arn=arn, map_run_arn=map_run_arn, item_index=index,
                    status=ExecutionStatus.RUNNING, started=now,
                    input=dumps(data) if state == ExecutionStatus.RUNNING else "null",
                ))
            if state == ExecutionStatus.RUNNING:
                return
            failed = state != ExecutionStatus.SUCCEEDED and isinstance(data, dict)
            failure: JsonObject = data if failed else {}
            conn.execute(
                sa.update(map_run_children).where(map_run_children.c.arn == arn).values(
                    status=state, stopped=now,
                    output=dumps(data) if state == ExecutionStatus.SUCCEEDED else None,
                    error=failure.get("Error"), cause=failure.get("Cause"),
                )
            )

        self._queue(write)

    def ended(self, map_run_arn: str, succeeded: bool) -> None:
        """The Map Run ended; children still running are aborted with it."""
        now = time.time()
        state = MapRunStatus.SUCCEEDED if succeeded else MapRunStatus.FAILED

        def write(conn: Connection) -> None:
            conn.execute(
                sa.update(map_runs).where(map_runs.c.arn == map_run_arn)
                .where(map_runs.c.status == MapRunStatus.RUNNING)
                .values(status=state, stopped=now)
            )
            _abort_children(conn, map_run_arn, now)

        self._queue(write)

    def _execution_changed(self, _topic: str, event: JsonObject) -> None:
        # An execution that stops, fails or times out mid-Map leaves its Map Run aborted. One
        # that succeeded ended every Map Run it started, so it costs no write.
        if event["status"] not in _STOPPED:
            return
        execution_arn, now = event["executionArn"], time.time()

        def write(conn: Connection) -> None:
            open_runs = conn.execute(
                sa.select(map_runs.c.arn).where(map_runs.c.execution_arn == execution_arn)
                .where(map_runs.c.status == MapRunStatus.RUNNING)
            ).scalars().all()
            for run in open_runs:
                conn.execute(
                    sa.update(map_runs).where(map_runs.c.arn == run)
                    .values(status=MapRunStatus.ABORTED, stopped=now)
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
    async def describe(self, arn: str) -> MapRun:
        """DescribeMapRun, with item and execution counts as of now."""
        await self.flushed()

        def read(conn: Connection) -> tuple[Row[Any] | None, dict[str, int]]:
            row = conn.execute(sa.select(map_runs).where(map_runs.c.arn == arn)).first()
            tallies = conn.execute(
                sa.select(map_run_children.c.status, sa.func.count())
                .where(map_run_children.c.map_run_arn == arn)
                .group_by(map_run_children.c.status)
            ).all()
            return row, {state: n for state, n in tallies}

        row, tallies = await self.store.read(read)
        if row is None:
            raise arns.resource_not_found(arn)
        counts = MapRunCounts(total=row.counts["total"])
        for state, n in tallies.items():
            field = ExecutionStatus(state).name.lower()
            setattr(counts, field, getattr(counts, field) + n)
        counts.pending = max(0, counts.total - sum(tallies.values()))
        return _map_run(row, counts)

    async def children(self, arn: str, state: ExecutionStatus | None) -> list[MapRunChild]:
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

    async def list_for(self, execution_arn: str) -> list[MapRun]:
        """The Map Runs of an execution (ListMapRuns), oldest first."""
        await self.flushed()
        rows = await self.store.read(lambda conn: list(conn.execute(
            sa.select(map_runs).where(map_runs.c.execution_arn == execution_arn)
            .order_by(map_runs.c.started)
        )))
        return [_map_run(row) for row in rows]

    async def update(
        self, arn: str, max_concurrency: int | None, tolerated_failure_percentage: float | None,
        tolerated_failure_count: int | None,
    ) -> None:
        """UpdateMapRun: change the concurrency and tolerated failures of a Map Run."""
        current = await self.describe(arn)
        if (max_concurrency, tolerated_failure_percentage, tolerated_failure_count) == (
            None, None, None
        ):
            raise ServiceError(
                "ValidationException",
                "At least one of the parameters maxConcurrency, toleratedFailurePercentage or "
                "toleratedFailureCount must be specified",
            )
        settings = dict(zip(_SETTINGS, (
            current.max_concurrency if max_concurrency is None else max_concurrency,
            current.tolerated_failure_percentage if tolerated_failure_percentage is None
            else tolerated_failure_percentage,
            current.tolerated_failure_count if tolerated_failure_count is None
            else tolerated_failure_count,
        ), strict=True))
        await self.store.write(lambda conn: conn.execute(
            sa.update(map_runs).where(map_runs.c.arn == arn).values(settings=settings)
        ))
