"""Map Runs: the records DescribeMapRun / ListMapRuns show for distributed Map states.

The interpreter announces a Map Run in the history (MapRunStarted, then MapRunSucceeded or
MapRunFailed); the tracker turns those events into rows, counting the items from the
MapStateStarted event that precedes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.protocol.errors import ServiceError
from batchyard.states.engine.records import Execution
from batchyard.states.resources import arns
from batchyard.store import Store
from batchyard.store.tables.states import map_runs

log = logging.getLogger(__name__)

_COUNT_KEYS = (
    "pending", "running", "succeeded", "failed", "timedOut", "aborted", "total",
    "resultsWritten", "failuresNotRedrivable", "pendingRedrive",
)


def _counts(total: int, **values: int) -> dict[str, int]:
    out = dict.fromkeys(_COUNT_KEYS, 0)
    out["total"] = total
    out.update(values)
    return out


def not_found(arn: str) -> ServiceError:
    """AWS's ResourceNotFound for an unknown Map Run."""
    return ServiceError("ResourceNotFound", f"Resource not found: '{arn}'", resourceName=arn)


class MapRunTracker:
    """Keep Map Run rows in step with the history events of the executions that own them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lengths: dict[str, int] = {}
        self._open: dict[str, str] = {}
        self._writes: set[asyncio.Task[Any]] = set()

    def observe(self, execution: Execution, event: dict[str, Any]) -> None:
        """Look at one history event of ``execution`` (the runner's event hook)."""
        kind = event["type"]
        arn = execution.arn
        if kind == "MapStateStarted":
            self._lengths[arn] = event["mapStateStartedEventDetails"]["length"]
        elif kind == "MapRunStarted":
            run = event["mapRunStartedEventDetails"]["mapRunArn"]
            total = self._lengths.get(arn, 0)
            self._open[arn] = run
            self._write(lambda conn: conn.execute(sa.insert(map_runs).values(
                arn=run, execution_arn=arn, status="RUNNING", started=time.time(),
                settings={"maxConcurrency": 0, "toleratedFailurePercentage": 0.0,
                          "toleratedFailureCount": 0},
                counts=_counts(total, running=total),
            )))
        elif kind in ("MapRunSucceeded", "MapRunFailed", "MapRunAborted") and arn in self._open:
            run = self._open.pop(arn)
            total = self._lengths.get(arn, 0)
            status = kind.removeprefix("MapRun").upper()
            counts = _counts(total, succeeded=total) if status == "SUCCEEDED" else _counts(
                total, failed=total
            )
            self._write(lambda conn: conn.execute(
                sa.update(map_runs).where(map_runs.c.arn == run).values(
                    status=status, stopped=time.time(), counts=counts,
                )
            ))

    def _write(self, fn: Any) -> None:
        task = asyncio.get_running_loop().create_task(self.store.write(fn))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def describe(self, arn: str) -> dict[str, Any]:
        """DescribeMapRun."""
        arns.parse_arn(arn, "mapRun")

        def read(conn: Connection) -> Any:
            return conn.execute(sa.select(map_runs).where(map_runs.c.arn == arn)).first()

        row = await self.store.read(read)
        if row is None:
            raise not_found(arn)
        out = {
            "mapRunArn": row.arn, "executionArn": row.execution_arn, "status": row.status,
            "startDate": row.started, **row.settings, "itemCounts": row.counts,
            "executionCounts": row.counts, "redriveCount": 0,
        }
        if row.stopped is not None:
            out["stopDate"] = row.stopped
        return out

    async def list_for(self, execution_arn: str) -> list[dict[str, Any]]:
        """ListMapRuns items of an execution."""
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
