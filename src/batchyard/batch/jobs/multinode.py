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
from dataclasses import replace
from functools import partial

from sqlalchemy import Connection

from batchyard.aws.clock import now_ms
from batchyard.batch.jobs import nodes, records
from batchyard.batch.jobs.attempts import AttemptRun, AttemptServices, JobCallback, Launch
from batchyard.batch.jobs.model import MAIN_NODE_EXITED, STARTING, TIMED_OUT, Job, node_id
from batchyard.batch.jobs.transitions import AttemptEnd, Transitions
from batchyard.compute.provider import AttemptSpec, LaunchError, LineCallback, RunningAttempt
from batchyard.compute.ray import RayProvider


class MultiNodeRun:
    """Drives one attempt of a multi-node parallel job."""

    def __init__(
        self,
        services: AttemptServices,
        launch: Launch,
        on_end: JobCallback,
        _on_running: JobCallback | None = None,
    ) -> None:
        self._services = services
        self._launch = launch
        self._on_end = on_end
        self._runs: dict[int, AttemptRun] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._ended: dict[int, Job] = {}
        self._main_ended = asyncio.Event()
        self._main_running = asyncio.Event()
        # Where the other nodes reach the main node: the address its provider reported.
        self._main_address: str | None = None
        self._gang: _Gang | None = None
        self._stopped_by: str | None = None
        self.job_id = launch.job.job_id
        self._count = nodes.node_count(launch.job)
        self._main = nodes.main_node(launch.job)

    def terminate(self, reason: str) -> None:
        """TerminateJob: stop every node; the job fails with ``reason``."""
        if self._stopped_by is None:
            self._stopped_by = reason
        for run in self._runs.values():
            run.terminate(reason)

    def kill_now(self, detach: bool = True) -> None:
        """Server shutdown: kill every node at once (or detach those that outlive it)."""
        for run in self._runs.values():
            run.kill_now(detach)

    async def run(self) -> None:
        """Run the attempt to its committed end."""
        lifecycle = self._services.lifecycle
        started = await lifecycle.write(partial(_start_nodes, self.job_id, self._count))
        try:
            timed_out = await self._run_nodes(started)
        except asyncio.CancelledError:
            # Server shutdown: the nodes are left to start-up recovery, like any attempt.
            for task in self._tasks:
                task.cancel()
            raise
        attempt = self._ended[self._main].attempts[-1]
        end = AttemptEnd(
            exit_code=attempt.exit_code,
            reason=attempt.reason,
            status_reason=TIMED_OUT if timed_out else attempt.status_reason,
            stopped_at=now_ms(),
            started_at=attempt.started_at,
            stopped_by=self._stopped_by,
            final=timed_out,
        )
        job = await lifecycle.write(partial(_finish_job, self.job_id, end))
        self._on_end(job)

    async def _run_nodes(self, started: list[Job]) -> bool:
        """Start the main node, then the others once it runs (on Ray: every node at once, as
        one placement group); wait until the main node and then every node has ended. True
        when the job's timeout stopped it."""
        backing = self._launch.backing
        provider = backing.provider if backing is not None else None
        if isinstance(provider, RayProvider):
            self._gang = _Gang(provider, self._launch.attempt_id, len(started), self._main)
            for node in started:
                self._start_node(node)
        else:
            self._start_node(started[self._main])
        running = asyncio.ensure_future(self._main_running.wait())
        ended = asyncio.ensure_future(self._main_ended.wait())
        await asyncio.wait({running, ended}, return_when=asyncio.FIRST_COMPLETED)
        running.cancel()
        if self._gang is None and self._main_running.is_set() and self._stopped_by is None:
            for node in started:
                if node.node_details is not None and node.node_details.node_index != self._main:
                    self._start_node(node)
        limit = self._launch.job.attempt_duration_seconds
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

    def _start_node(self, node: Job) -> None:
        assert node.node_details is not None
        index = node.node_details.node_index
        run = AttemptRun(
            self._services,
            replace(
                self._launch,
                job=node,
                attempt_id=f"{self._launch.attempt_id}-{index}",
                main_address=self._main_address,
                group=self._launch.attempt_id,
            ),
            partial(self._node_ended, index),
            self._main_started if index == self._main else None,
            partial(self._gang.start, index) if self._gang is not None else None,
        )
        self._runs[index] = run
        if self._stopped_by is not None:
            run.terminate(self._stopped_by)
        self._tasks.append(asyncio.get_running_loop().create_task(run.run()))

    def _node_ended(self, index: int, node: Job) -> None:
        if self._gang is not None:
            self._gang.ended(index)
        self._ended[index] = node
        if index == self._main:
            self._main_ended.set()

    def _main_started(self, main: Job) -> None:
        if self._main_running.is_set():
            return
        address = (main.runtime.identity or {}).get("privateIpv4Address")
        self._main_address = address if isinstance(address, str) else None
        self._main_running.set()
        asyncio.get_running_loop().create_task(self._job_running(main.started_at or now_ms()))

    async def _job_running(self, started_at: int) -> None:
        await self._services.lifecycle.write(partial(_mark_job_running, self.job_id, started_at))


def _start_nodes(job_id: str, count: int, conn: Connection, transitions: Transitions) -> list[Job]:
    """Give every node a row in STARTING for this attempt (earlier attempts kept)."""
    job = records.load(conn, job_id)
    assert job is not None, job_id
    started = []
    for index in range(count):
        existing = records.load(conn, node_id(job_id, index))
        node = nodes.node_job(job, index, existing.attempts if existing else [])
        node.stored = existing is not None
        transitions.start_node(node)
        records.save(conn, node)
        started.append(node.snapshot())
    return started


def _mark_job_running(
    job_id: str, started: int, conn: Connection, transitions: Transitions
) -> None:
    job = records.load(conn, job_id)
    if job is None or job.status != STARTING:
        return
    transitions.run_multinode(job, started)
    records.save(conn, job)


def _finish_job(job_id: str, end: AttemptEnd, conn: Connection, transitions: Transitions) -> Job:
    job = records.load(conn, job_id)
    assert job is not None, job_id
    transitions.finish(job, end)
    records.save(conn, job)
    return job


class _Gang:
    """The nodes of one attempt started together as one Ray placement group: each node's
    run hands in its spec, and the group starts once every node has; a node that ends
    without handing one in (it could not start) makes the whole group fail to start."""

    def __init__(self, provider: RayProvider, gang_id: str, count: int, main_index: int) -> None:
        self._provider = provider
        self._gang_id = gang_id
        self._count = count
        self._main_index = main_index
        self._handed: dict[int, tuple[AttemptSpec, LineCallback]] = {}
        self._started: asyncio.Future[list[RunningAttempt]] = (
            asyncio.get_running_loop().create_future()
        )

    async def start(self, index: int, spec: AttemptSpec, on_line: LineCallback) -> RunningAttempt:
        """Node ``index``'s attempt, once the whole group has started."""
        self._handed[index] = (spec, on_line)
        if len(self._handed) == self._count and not self._started.done():
            order = [self._handed[i] for i in sorted(self._handed)]
            try:
                attempts = await self._provider.start_gang(
                    self._gang_id,
                    [spec for spec, _ in order],
                    self._main_index,
                    [callback for _, callback in order],
                )
            except LaunchError as error:
                self._started.set_exception(error)
            else:
                self._started.set_result(list(attempts))
        return (await asyncio.shield(self._started))[index]

    def ended(self, index: int) -> None:
        """Node ``index`` ended; before the group started, the group cannot start."""
        if index not in self._handed and not self._started.done():
            self._started.set_exception(
                LaunchError(f"CannotStartContainerError: node {index} could not be started")
            )
