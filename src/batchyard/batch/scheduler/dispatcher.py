"""The scheduler loop: woken by events, it admits new jobs, runs passes and starts attempts.

Wake-ups come from submissions, finished attempts, cancellations and resource changes on
``batch.resources``; between them the loop sleeps on an ``asyncio.Event``. Each wake-up
handles everything that accumulated: all newly submitted jobs are made RUNNABLE in one store
write, and all placements of a pass are marked STARTING in one write.

In memory it keeps only what placement needs: per-queue orderings of small ``QueuedJob``
entries (rebuilt from the store at start-up), the capacity ledger, the running attempts, and
the PENDING jobs waiting on each dependency.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection

from batchyard.aws.clock import now_ms
from batchyard.batch.jobs import nodes, records
from batchyard.batch.jobs.attempts import AttemptRun, AttemptServices, Launch
from batchyard.batch.jobs.model import (
    CANCELLABLE,
    DEPENDENCY_FAILED,
    FAILED,
    ON_HOST,
    PENDING,
    RUNNABLE,
    STARTING,
    SUBMITTED,
    SUCCEEDED,
    Demand,
    Job,
    QueuedJob,
    reason_code,
    split_child,
    split_node,
    time_limit_reason,
)
from batchyard.batch.jobs.multinode import MultiNodeRun
from batchyard.batch.jobs.transitions import AttemptEnd, Transitions
from batchyard.batch.scheduler import arrays
from batchyard.batch.scheduler.arrays import ArrayCursor, ArrayOrdering, ArrayRelease
from batchyard.batch.scheduler.ordering import OrderingFactory, fifo
from batchyard.batch.scheduler.placement import (
    Blocked,
    CapacityLedger,
    EnvironmentView,
    Placement,
    Topology,
    load,
    plan,
)
from batchyard.compute.provider import RunningAttempt

log = logging.getLogger(__name__)

# Jobs admitted per store write, so a burst of submissions never holds the writer for long.
ADMIT_BATCH = 2000


@dataclass
class _Active:
    """An attempt on the host: where it holds capacity and what drives it."""

    environment: EnvironmentView
    queue_arn: str
    demand: Demand
    run: AttemptRun | MultiNodeRun
    task: asyncio.Task[None] | None = None


class Scheduler:
    """Places RUNNABLE jobs and runs their attempts, one instance per server."""

    def __init__(self, services: AttemptServices, ordering: OrderingFactory = fifo) -> None:
        self._services = services
        self._store = services.store
        self._lifecycle = services.lifecycle
        self._ordering = ordering
        self._orderings: dict[str, ArrayOrdering] = {}
        self._ledger = CapacityLedger(services.providers.capacity)
        self._topology = Topology(())
        self._topology_stale = True
        # Ordered set of SUBMITTED/PENDING jobs to evaluate next pass.
        self._intake: dict[str, None] = {}
        self._waiting: dict[str, set[str]] = defaultdict(set)
        # Jobs that ended while an admission write was in flight: their dependents may have
        # been read as still waiting on them.
        self._admitting = False
        self._ended_while_admitting: set[str] = set()
        self._blocked: set[str] = set()
        self._active: dict[str, _Active] = {}
        self._arrays = arrays.ArrayProgress(services.lifecycle, self._release_dependents)
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    # -- life cycle -------------------------------------------------------------------

    async def start(self, resumed: Sequence[tuple[Job, RunningAttempt]] = ()) -> None:
        """Rebuild the in-memory queues from the store, take over the ``resumed`` attempts
        (RUNNING jobs whose attempts outlived the last server), then start the loop."""
        if resumed:
            self._topology = await self._store.read(self._load_topology)
            self._topology_stale = False
        for resumed_job, running in resumed:
            self._adopt(resumed_job, running)
        for job in await self._store.read(lambda c: list(records.queued(c, [RUNNABLE]))):
            self._ordering_of(job.queue_arn).add(job)
        waiting = await self._store.read(lambda c: list(records.queued(c, [SUBMITTED, PENDING])))
        self._intake.update(dict.fromkeys(job.job_id for job in waiting))
        self._loop = asyncio.get_running_loop().create_task(self._run())
        self.wake()

    async def stop(self, keep_attempts: bool = True) -> None:
        """Stop the loop and kill running attempts (start-up recovery settles their jobs),
        leaving those that outlive the server running unless ``keep_attempts`` is False.

        The attempts' drivers are cancelled first, so a killed attempt is not recorded as a
        failure of the job: to the next start-up it looks like any attempt lost with its host.
        """
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        drivers = [a.task for a in self._active.values() if a.task is not None]
        for task in drivers:
            task.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)
        for active in list(self._active.values()):
            active.run.kill_now(detach=keep_attempts)

    def wake(self) -> None:
        """Ask for a pass soon."""
        self._wake.set()

    def resources_changed(self, _topic: str, _event: dict[str, Any]) -> None:
        """Bus subscriber on ``batch.resources``: queues or environments changed."""
        self._topology_stale = True
        self.wake()

    # -- views ------------------------------------------------------------------------

    def front_of_queue(self, queue_arn: str, count: int) -> list[QueuedJob]:
        """The first ``count`` RUNNABLE jobs of a queue, in dispatch order."""
        ordering = self._orderings.get(queue_arn)
        return ordering.first(count) if ordering is not None else []

    def vcpus_in_use(self, queue_arn: str) -> float:
        """vCPUs held by the placed attempts of a queue's jobs."""
        return sum(a.demand.vcpus for a in self._active.values() if a.queue_arn == queue_arn)

    # -- inputs -----------------------------------------------------------------------

    def submitted(self, job_id: str) -> None:
        """A job was committed in SUBMITTED."""
        self._intake[job_id] = None
        self.wake()

    async def cancel(self, job_ids: list[str], reason: str, *, terminate: bool) -> None:
        """CancelJob / TerminateJob of existing jobs, in one store write.

        Jobs not yet placed fail at once, but a cancelled one waiting on unfinished
        dependencies fails once they are resolved; TerminateJob also stops a placed attempt,
        whose job then fails when the attempt has ended. Neither is retried.
        """
        done = await self._lifecycle.write(partial(_cancel_all, job_ids, reason, terminate))
        for job_id, outcome in done:
            if isinstance(outcome, arrays.CancelOutcome):
                if not outcome.deferred:
                    self._array_cancelled(job_id, outcome, reason, terminate=terminate)
            elif outcome is not None:
                self._forget(job_id, outcome)
                self._release_dependents(job_id)
                self.wake()
            elif terminate and job_id in self._active:
                self._active[job_id].run.terminate(reason)

    # -- the loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._pass()
            except Exception:
                log.exception("scheduling pass failed")

    async def _pass(self) -> None:
        if self._intake:
            await self._admit()
        # A change announced while a reload (or the admission) was awaited may not be in the
        # snapshot: reload until one started after the last announcement, then plan at once,
        # so a job submitted after its environment was disabled is never placed on it.
        while self._topology_stale:
            self._topology_stale = False
            self._topology = await self._store.read(self._load_topology)
        result = plan(self._topology, self._orderings, self._ledger)
        fresh = [b for b in result.blocked if b.job.job_id not in self._blocked]
        if fresh:
            self._blocked.update(b.job.job_id for b in fresh)
            since = await self._lifecycle.write(partial(_block, fresh))
            for blocked in fresh:
                if blocked.job.job_id in since:
                    self._arm_time_limit(blocked, since[blocked.job.job_id])
        if result.placements:
            await self._place(result.placements)

    async def _admit(self) -> None:
        batch = list(itertools.islice(self._intake, ADMIT_BATCH))
        for job_id in batch:
            del self._intake[job_id]
        if self._intake:
            self.wake()
        self._admitting = True
        try:
            admitted = await self._lifecycle.write(partial(_admit, batch))
        finally:
            self._admitting = False
        for job_id, outcome in admitted.items():
            if isinstance(outcome, QueuedJob):
                self._ordering_of(outcome.queue_arn).add(outcome)
            elif outcome == FAILED:
                self._release_dependents(job_id)
            elif isinstance(outcome, ArrayRelease):
                self._release_array(outcome)
            else:
                for dependency in outcome:
                    self._waiting[dependency].add(job_id)
        for job_id in self._ended_while_admitting:
            self._release_dependents(job_id)
        self._ended_while_admitting.clear()

    async def _place(self, placements: list[Placement]) -> None:
        attempt_ids = {p.job.job_id: uuid.uuid4().hex for p in placements}
        started = await self._lifecycle.write(partial(_start, placements, attempt_ids))
        for placement in placements:
            job = placement.job
            self._blocked.discard(job.job_id)
            placed = started.get(job.job_id)
            if placed is None:
                self._ledger.release(placement.environment, job.demand)
                continue
            runner = MultiNodeRun if placed.is_multinode else AttemptRun
            launch = Launch(
                placed,
                attempt_ids[job.job_id],
                placement.queue.name,
                placement.environment.name,
                placement.environment.backing,
            )
            run = runner(self._services, launch, self._ended)
            active = _Active(placement.environment, placement.queue.arn, job.demand, run)
            self._active[job.job_id] = active
            active.task = asyncio.get_running_loop().create_task(self._drive(run))
        if any(job_id not in started for job_id in attempt_ids):
            self.wake()

    def _load_topology(self, conn: Connection) -> Topology:
        return load(conn, tags=self._services.tags, providers=self._services.providers)

    def _adopt(self, job: Job, running: RunningAttempt) -> None:
        """Drive a re-attached attempt, holding its capacity on its environment as before."""
        arn = job.runtime.compute_environment_arn or ""
        environment = self._topology.environment(arn) or EnvironmentView(
            arn, arn.rsplit("/", 1)[-1], float("inf"), usable=False
        )
        launch = Launch(
            job,
            job.runtime.attempt_id or "",
            job.job_queue.rsplit("/", 1)[-1],
            environment.name,
            environment.backing,
        )
        run = AttemptRun(self._services, launch, self._ended)
        demand = nodes.demand_of(job)
        self._ledger.reserve(environment, demand)
        active = _Active(environment, job.job_queue, demand, run)
        self._active[job.job_id] = active
        active.task = asyncio.get_running_loop().create_task(self._drive(run, running))

    async def _drive(
        self, run: AttemptRun | MultiNodeRun, resumed: RunningAttempt | None = None
    ) -> None:
        try:
            if resumed is not None and isinstance(run, AttemptRun):
                await run.resume(resumed)
            else:
                await run.run()
        except Exception:
            log.exception("attempt of job %s failed unexpectedly", run.job_id)
            active = self._active.pop(run.job_id, None)
            if active is not None:
                self._ledger.release(active.environment, active.demand)
            self.wake()

    def _ended(self, job: Job) -> None:
        active = self._active.pop(job.job_id, None)
        if active is not None:
            self._ledger.release(active.environment, active.demand)
        if job.status == RUNNABLE:
            queued = QueuedJob(
                job.job_id,
                job.job_queue,
                job.seq,
                active.demand if active else nodes.demand_of(job),
            )
            self._ordering_of(queued.queue_arn).add_front(queued)
        else:
            self._release_dependents(job.job_id)
        self.wake()

    # -- helpers ----------------------------------------------------------------------

    def _arm_time_limit(self, blocked: Blocked, runnable_since: int) -> None:
        """Cancel a blocked head once its queue's time limit for that reason has passed
        since it became RUNNABLE (``runnable_since``, epoch ms)."""
        code = reason_code(blocked.reason)
        seconds = blocked.queue.time_limit(code)
        if seconds is None:
            return
        elapsed = (now_ms() - runnable_since) / 1000
        job_id = blocked.job.job_id

        def expire() -> None:
            if job_id in self._blocked:
                asyncio.get_running_loop().create_task(
                    self.cancel([job_id], time_limit_reason(code), terminate=False)
                )

        remaining = max(seconds / self._services.time_scale - elapsed, 0.0)
        asyncio.get_running_loop().call_later(remaining, expire)

    def _ordering_of(self, queue_arn: str) -> ArrayOrdering:
        ordering = self._orderings.get(queue_arn)
        if ordering is None:
            ordering = self._orderings[queue_arn] = ArrayOrdering(self._ordering(queue_arn))
        return ordering

    def _release_array(self, release: ArrayRelease) -> None:
        """Queue a released array's children: one cursor entry, or the ones to admit now."""
        if release.entry is not None and not self._arrays.follows(release.parent_id):
            cursor = ArrayCursor(release.size, release.skipped)
            self._ordering_of(release.entry.queue_arn).add_array(release.entry, cursor)
        self._arrays.released(release)
        if release.evaluate:
            self._intake.update(dict.fromkeys(release.evaluate))
            self.wake()

    def _array_cancelled(
        self, parent_id: str, outcome: arrays.CancelOutcome, reason: str, *, terminate: bool
    ) -> None:
        """Cancel/terminate of a whole array: forget its queued children, stop placed ones."""
        self._forget(parent_id, outcome.queue_arn)
        for child in outcome.failed:
            self._forget(child, outcome.queue_arn)
            self._release_dependents(child)
        if terminate:
            for child in outcome.on_host:
                if child in self._active:
                    self._active[child].run.terminate(reason)
        followers = self._arrays.cancelled(parent_id, outcome.ended_unstored)
        self._intake.update(dict.fromkeys(followers))
        if outcome.parent_failed:
            self._release_dependents(parent_id)
        self.wake()

    def _forget(self, job_id: str, queue_arn: str) -> None:
        ordering = self._orderings.get(queue_arn)
        if ordering is not None:
            ordering.remove(job_id)
        self._blocked.discard(job_id)
        self._intake.pop(job_id, None)

    def _release_dependents(self, job_id: str) -> None:
        """Job ``job_id`` reached a final state: re-evaluate the jobs waiting on it."""
        if self._admitting:
            self._ended_while_admitting.add(job_id)
        dependents = self._waiting.pop(job_id, set())
        dependents.update(self._arrays.ended(job_id))
        if dependents:
            self._intake.update(dict.fromkeys(dependents))
            self.wake()


# -- store writes (run in the writer thread) -----------------------------------------------


def _admit(
    job_ids: list[str], conn: Connection, transitions: Transitions
) -> dict[str, QueuedJob | arrays.Admission]:
    """SUBMITTED/PENDING jobs: RUNNABLE, PENDING on unfinished dependencies, or FAILED;
    array parents are released (``ArrayRelease``) once their own dependencies are met."""
    outcomes: dict[str, QueuedJob | arrays.Admission] = {}
    for job_id in job_ids:
        job = records.load(conn, job_id)
        if job is None or job.status not in (SUBMITTED, PENDING):
            continue
        array = arrays.admit(conn, job, transitions)
        if array is not None:
            if array != arrays.NOT_YET:
                outcomes[job_id] = array
            continue
        resolved = records.resolution(conn, [d.job_id for d in job.depends_on if d.job_id])
        cancel = job.runtime.cancel_reason
        if resolved == FAILED or (resolved == SUCCEEDED and cancel is not None):
            if job.status == SUBMITTED:
                transitions.pend(job)
            if cancel is not None:
                transitions.fail(job, cancel, now_ms(), cancelled=True)
            else:
                transitions.fail(job, DEPENDENCY_FAILED, now_ms())
            outcomes[job_id] = FAILED
        elif resolved == SUCCEEDED:
            transitions.make_runnable(job)
            outcomes[job_id] = QueuedJob(job_id, job.job_queue, job.seq, nodes.demand_of(job))
        else:
            if job.status == SUBMITTED:
                transitions.pend(job)
            outcomes[job_id] = resolved
        records.save(conn, job)
    return outcomes


def _start(
    placements: list[Placement],
    attempt_ids: dict[str, str],
    conn: Connection,
    transitions: Transitions,
) -> dict[str, Job]:
    """Mark placed jobs STARTING; jobs no longer RUNNABLE (cancelled meanwhile) are skipped."""
    started: dict[str, Job] = {}
    for placement in placements:
        job = records.load(conn, placement.job.job_id)
        if job is None or job.status != RUNNABLE:
            continue
        transitions.start(job, placement.environment.arn, attempt_ids[job.job_id])
        records.save(conn, job)
        started[job.job_id] = job
    return started


def _block(blocked: list[Blocked], conn: Connection, transitions: Transitions) -> dict[str, int]:
    """Record why blocked heads wait (announced as blocking their queue); returns since when
    each still RUNNABLE one is RUNNABLE (epoch ms)."""
    since = {}
    for entry in blocked:
        job = records.load(conn, entry.job.job_id)
        if job is not None and job.status == RUNNABLE:
            since[job.job_id] = transitions.block(job, entry.reason)
            records.save(conn, job)
    return since


def _cancel_all(
    job_ids: list[str], reason: str, terminate: bool, conn: Connection, transitions: Transitions
) -> list[tuple[str, arrays.CancelOutcome | str | None]]:
    """CancelJob / TerminateJob of each of ``job_ids``: what :func:`arrays.cancel` did for
    an array parent, else what :func:`_cancel` did."""
    done: list[tuple[str, arrays.CancelOutcome | str | None]] = []
    for job_id in job_ids:
        array = arrays.cancel(job_id, reason, terminate, conn, transitions)
        done.append((job_id, array or _cancel(job_id, reason, terminate, conn, transitions)))
    return done


def _cancel(
    job_id: str, reason: str, terminate: bool, conn: Connection, transitions: Transitions
) -> str | None:
    """Fail ``job_id`` if it has not been placed yet; returns its queue when it did.

    A CancelJob of a job still waiting on unfinished dependencies is deferred until they
    are resolved (admission fails it then); a TerminateJob fails it at once. The children of
    an array not released yet have no dependencies of their own to wait for: they fail now.
    """
    job = records.load(conn, job_id)
    if job is None or job.status not in CANCELLABLE:
        return None
    if not terminate and job.status != RUNNABLE and _waits(conn, job):
        transitions.defer_cancel(job, reason)
        records.save(conn, job)
        return None
    transitions.fail(job, reason, now_ms(), cancelled=not terminate, terminated=terminate)
    records.save(conn, job)
    return job.job_queue


def _waits(conn: Connection, job: Job) -> bool:
    """Whether SUBMITTED or PENDING ``job`` still waits on a dependency that has not ended."""
    member = split_child(job.job_id)
    if member is not None:
        parent = records.load(conn, member[0])
        array = None if parent is None else parent.runtime.array
        if array is None or not array.released:
            return False
    dependencies = [d.job_id for d in job.depends_on if d.job_id]
    return isinstance(records.resolution(conn, dependencies), list)


def recover(
    reap: Callable[[dict[str, Any]], bool],
    reason: str,
    resumed: Collection[str],
    conn: Connection,
    transitions: Transitions,
) -> None:
    """Settle jobs a dead server left on the host.

    STARTING jobs never ran (an attempt counts from RUNNING): they go back to RUNNABLE,
    except the nodes of a multi-node job, which are started again only with their job.
    RUNNING attempts failed with the host: the attempt is recorded with ``reason`` and the
    job retried if its strategy allows. Leftover processes are killed first, so no attempt
    runs twice at once. The ``resumed`` jobs, whose attempts this server took over, stay
    as they are.
    """
    for job in records.in_statuses(conn, ON_HOST):
        if job.job_id in resumed:
            continue
        reap(job.runtime.identity or {"jobId": job.job_id})
        if job.status == STARTING and split_node(job.job_id) is None:
            transitions.requeue(job)
        else:
            transitions.finish(
                job,
                AttemptEnd(exit_code=None, reason=None, status_reason=reason, stopped_at=now_ms()),
            )
        records.save(conn, job)
