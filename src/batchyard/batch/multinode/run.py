"""One attempt of a multi-node parallel job, with the interface of ``AttemptRun``.

The whole job was placed at once (its demand is every node's). The attempt gives each node a
job row in STARTING, starts the main node, and starts the other nodes once the main node is
RUNNING (the job turns RUNNING with it). A node that ends ends alone, except the main node:
its end stops every other node and, once they are gone, ends the job with the main node's
exit code, reason and status reason, retried only if the main node's failure allows it.
The job's timeout covers the whole attempt.
"""

from __future__ import annotations

import asyncio
import copy
from functools import partial
from typing import Any

from sqlalchemy import Connection

from batchyard.batch.jobs import events, records, transitions
from batchyard.batch.jobs.attempts import AttemptRun, AttemptServices, EndCallback, now_ms
from batchyard.batch.jobs.events import TOPIC
from batchyard.batch.jobs.model import RUNNING, STARTING, TIMED_OUT
from batchyard.batch.jobs.records import JobRecord
from batchyard.batch.jobs.transitions import AttemptEnd
from batchyard.batch.multinode import nodes

MAIN_NODE_EXITED = "Main node exited; the job's other nodes are stopped"


class MultiNodeRun:
    """Drives one attempt of a multi-node parallel job."""

    def __init__(
        self,
        services: AttemptServices,
        document: dict[str, Any],
        attempt_id: str,
        queue_name: str,
        environment_name: str,
        on_end: EndCallback,
    ) -> None:
        self._services = services
        self._document = document
        self._attempt_id = attempt_id
        self._queue_name = queue_name
        self._environment_name = environment_name
        self._on_end = on_end
        self._runs: dict[int, AttemptRun] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._ended: dict[int, JobRecord] = {}
        self._main_ended = asyncio.Event()
        self._main_running = asyncio.Event()
        self._stopped_by: str | None = None
        self.job_id: str = document["jobId"]
        properties = document["nodeProperties"]
        self._count: int = properties["numNodes"]
        self._main: int = properties["mainNode"]

    def terminate(self, reason: str) -> None:
        """TerminateJob: stop every node; the job fails with ``reason``."""
        if self._stopped_by is None:
            self._stopped_by = reason
        for run in self._runs.values():
            run.terminate(reason)

    def kill_now(self) -> None:
        """Server shutdown: kill every node at once."""
        for run in self._runs.values():
            run.kill_now()

    async def run(self) -> None:
        """Run the attempt to its committed end."""
        services = self._services
        documents = await services.store.write(partial(_start_nodes, self.job_id, self._count))
        events.publish(services.bus, documents)
        unsubscribe = services.bus.subscribe(TOPIC, self._watch_main)
        try:
            timed_out = await self._run_nodes(documents)
        except asyncio.CancelledError:
            # Server shutdown: the nodes are left to start-up recovery, like any attempt.
            for task in self._tasks:
                task.cancel()
            raise
        finally:
            unsubscribe()
        attempt = self._ended[self._main].document["attempts"][-1]
        end = AttemptEnd(
            exit_code=attempt["container"].get("exitCode"),
            reason=attempt["container"].get("reason"),
            status_reason=TIMED_OUT if timed_out else attempt["statusReason"],
            stopped_at=now_ms(),
            started_at=attempt.get("startedAt"),
            stopped_by=self._stopped_by,
            final=timed_out,
        )
        record, snapshots = await services.store.write(partial(_finish_job, self.job_id, end))
        events.publish(services.bus, snapshots)
        self._on_end(record)

    async def _run_nodes(self, documents: list[dict[str, Any]]) -> bool:
        """Start the main node, then the others once it runs; wait until the main node and
        then every node has ended. True when the job's timeout stopped it."""
        self._launch(documents[self._main])
        running = asyncio.ensure_future(self._main_running.wait())
        ended = asyncio.ensure_future(self._main_ended.wait())
        await asyncio.wait({running, ended}, return_when=asyncio.FIRST_COMPLETED)
        running.cancel()
        if self._main_running.is_set() and self._stopped_by is None:
            for document in documents:
                if document["nodeDetails"]["nodeIndex"] != self._main:
                    self._launch(document)
        limit = (self._document.get("timeout") or {}).get("attemptDurationSeconds")
        timed_out = False
        try:
            await asyncio.wait_for(
                asyncio.shield(ended), limit / self._services.time_scale if limit else None
            )
        except TimeoutError:
            timed_out = self._stopped_by is None
            for run in self._runs.values():
                run.terminate(TIMED_OUT)
            await ended
        for index, run in self._runs.items():
            if index != self._main:
                run.terminate(self._stopped_by or MAIN_NODE_EXITED)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return timed_out

    def _launch(self, document: dict[str, Any]) -> None:
        index = document["nodeDetails"]["nodeIndex"]
        run = AttemptRun(
            self._services,
            document,
            f"{self._attempt_id}-{index}",
            self._queue_name,
            self._environment_name,
            partial(self._node_ended, index),
        )
        self._runs[index] = run
        if self._stopped_by is not None:
            run.terminate(self._stopped_by)
        self._tasks.append(asyncio.get_running_loop().create_task(run.run()))

    def _node_ended(self, index: int, record: JobRecord) -> None:
        self._ended[index] = record
        if index == self._main:
            self._main_ended.set()

    def _watch_main(self, _topic: str, snapshot: dict[str, Any]) -> None:
        if snapshot.get("jobId") != nodes.node_id(self.job_id, self._main):
            return
        if snapshot.get("status") == RUNNING and not self._main_running.is_set():
            self._main_running.set()
            asyncio.get_running_loop().create_task(self._job_running(snapshot))

    async def _job_running(self, main: dict[str, Any]) -> None:
        snapshots = await self._services.store.write(
            partial(_mark_job_running, self.job_id, main["startedAt"])
        )
        events.publish(self._services.bus, snapshots)


def _start_nodes(job_id: str, count: int, conn: Connection) -> list[dict[str, Any]]:
    """Give every node a row in STARTING for this attempt (earlier attempts kept)."""
    job = records.load(conn, job_id)
    assert job is not None, job_id
    snapshots = []
    for index in range(count):
        existing = records.load(conn, nodes.node_id(job_id, index))
        attempts = existing.document.get("attempts", []) if existing else []
        document = nodes.node_document(job.document, index, attempts)
        document["status"] = STARTING
        record = existing or JobRecord(document["jobId"], job.seq, document, {}, stored=False)
        record.document = document
        record.runtime = {}
        records.save(conn, record)
        snapshots.append(copy.deepcopy(document))
    return snapshots


def _mark_job_running(job_id: str, started: int, conn: Connection) -> list[dict[str, Any]]:
    record = records.load(conn, job_id)
    if record is None or record.status != STARTING:
        return []
    record.document["startedAt"] = started
    record.runtime["startedAt"] = started
    record.document["status"] = RUNNING
    records.save(conn, record)
    return [copy.deepcopy(record.document)]


def _finish_job(
    job_id: str, end: AttemptEnd, conn: Connection
) -> tuple[JobRecord, list[dict[str, Any]]]:
    record = records.load(conn, job_id)
    assert record is not None, job_id
    snapshots = transitions.finish(record, end)
    records.save(conn, record)
    return record, snapshots
