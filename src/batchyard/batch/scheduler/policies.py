"""Scheduling policies on the live scheduler: fair share and consumable resources.

``SchedulingPolicies`` is the ordering factory the ``Scheduler`` is built with. Every queue
gets a ``FairShareOrdering`` (plain FIFO for jobs without a share identifier) wrapped in a
``ConsumableGate``. Beside the orderings it keeps:

* each queue's fair-share policy and vCPU ceiling, reloaded when ``batch.resources`` says a
  queue, environment or policy changed;
* the jobs on the host per queue and share (``ShareUsage``), charged the moment a job is
  handed out and discharged when the job lifecycle says it left the host;
* the consumable pool's holders: units taken at hand-out (or at STARTING for array
  children), NON_REPLENISHABLE consumption committed at STARTING, returns at the job's end;
* the status reason of heads held for consumable resources.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import Connection

from batchyard.batch.jobs import records
from batchyard.batch.jobs.model import (
    RUNNABLE,
    STARTING,
    TERMINAL,
    Demand,
    Job,
    QueuedJob,
    split_child,
)
from batchyard.batch.jobs.transitions import JobLifecycle, Transitions
from batchyard.batch.resources import consumable_resources, job_queues, scheduling_policies
from batchyard.batch.scheduler.consumables import ConsumableGate, ConsumablePool, claim_key
from batchyard.batch.scheduler.ordering import (
    FairShareOrdering,
    JobTraits,
    QueueOrdering,
    QueueSetting,
    SharePolicy,
    ShareUsage,
)
from batchyard.batch.scheduler.placement import load as load_topology
from batchyard.store import Store

log = logging.getLogger(__name__)

_LEFT_HOST = frozenset({*TERMINAL, RUNNABLE})
_FIFO = QueueSetting(None, 0.0)


def load_settings(conn: Connection, time_scale: float) -> dict[str, QueueSetting]:
    """Each queue's fair-share policy (None for FIFO) and the vCPUs its environments offer."""
    ceilings = {
        queue.arn: sum(e.max_vcpus for e in queue.environments if e.usable)
        for queue in load_topology(conn).queues
    }
    settings: dict[str, QueueSetting] = {}
    for queue in job_queues.list_all(conn):
        policy = None
        if queue.scheduling_policy_arn:
            found = scheduling_policies.get(conn, None, queue.scheduling_policy_arn)
            fairshare = found.fairshare_policy if found else None
            policy = SharePolicy.of(fairshare, time_scale) if fairshare else SharePolicy()
        settings[queue.arn] = QueueSetting(policy, ceilings.get(queue.arn, 0))
    return settings


class SchedulingPolicies:
    """Fair-share orderings, consumable gates and the accounts behind them."""

    def __init__(self, store: Store, lifecycle: JobLifecycle, time_scale: float) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._time_scale = time_scale
        self.traits = JobTraits()
        self.pool = ConsumablePool()
        self._fair: dict[str, FairShareOrdering] = {}
        self._settings: dict[str, QueueSetting] = {}
        self._usage: dict[str, ShareUsage] = {}
        # Jobs handed to the host: job id -> (queue ARN, share identifier, vCPUs).
        self._on_host: dict[str, tuple[str, str | None, float]] = {}
        self._held: dict[str, str] = {}
        self._pending_reasons: dict[str, str] = {}
        self._writing: asyncio.Task[None] | None = None
        self._reload: asyncio.Task[None] | None = None
        self._reload_again = False
        self._wake: Callable[[], None] = lambda: None
        lifecycle.listen(self.on_job)

    async def start(self) -> None:
        """Load settings, the waiting jobs' traits and the consumable resources."""
        time_scale = self._time_scale

        def read(conn: Connection) -> dict[str, QueueSetting]:
            self.traits.load(conn)
            for resource in consumable_resources.load_all(conn):
                self.pool.put(resource)
            return load_settings(conn, time_scale)

        self._settings = await self._store.read(read)

    def attach(self, wake: Callable[[], None]) -> None:
        """Ask ``wake`` for a scheduling pass when policies or resources change."""
        self._wake = wake

    def wake(self) -> None:
        """Something a held head waits for may have changed."""
        self._wake()

    # -- the ordering factory ---------------------------------------------------------

    def ordering(self, queue_arn: str) -> QueueOrdering:
        """A new queue's ordering (the ``Scheduler``'s ordering factory)."""
        usage = self._usage.setdefault(queue_arn, ShareUsage())
        inner = FairShareOrdering(
            partial(self.setting, queue_arn),
            usage,
            self.traits.sharing,
            partial(self._handed_out, queue_arn),
        )
        self._fair[queue_arn] = inner
        return ConsumableGate(inner, self.pool, self.traits, self._hold)

    def setting(self, queue_arn: str) -> QueueSetting:
        """The queue's current policy and vCPU ceiling."""
        return self._settings.get(queue_arn, _FIFO)

    def usage(self, queue_arn: str) -> ShareUsage:
        """The queue's share accounts."""
        return self._usage.setdefault(queue_arn, ShareUsage())

    def position_since(self, queue_arn: str, job: QueuedJob) -> int:
        """Epoch ms since when ``job`` holds its place in the queue's order: its submission,
        or the last time a job left or joined ahead of it, whichever is later."""
        ordering = self._fair.get(queue_arn)
        return max(job.seq // 1000, ordering.moved_at if ordering else 0)

    def share_utilization(self, queue_arn: str) -> tuple[int, list[tuple[str, float]]]:
        """(active share count, [(share identifier, vCPUs in use)] most used first)."""
        usage = self.usage(queue_arn)
        decay = self._decay(queue_arn)
        ordering = self._fair.get(queue_arn)
        active = {share for share in usage.shares() if share and usage.active(share, decay)}
        if ordering is not None:
            active.update(ordering.waiting_shares())
        used = sorted(((s, usage.running(s)) for s in active), key=lambda item: -item[1])
        return len(active), used

    # -- accounts ---------------------------------------------------------------------

    def _decay(self, queue_arn: str) -> float:
        policy = self.setting(queue_arn).policy
        return policy.decay_seconds if policy else 0.0

    def _charge(self, job_id: str, queue_arn: str, share: str | None, vcpus: float) -> None:
        self._on_host[job_id] = (queue_arn, share, vcpus)
        self.usage(queue_arn).start(share or "", vcpus, self._decay(queue_arn))

    def _handed_out(self, queue_arn: str, job: QueuedJob, share: str | None) -> None:
        if not self.traits.is_array(job.job_id):
            self._held.pop(job.job_id, None)
            self._charge(job.job_id, queue_arn, share, job.demand.vcpus)

    def on_job(self, job: Job) -> None:
        """A job changed (a listener of the job lifecycle): keep traits, shares and
        consumables in step."""
        if job.node_details is not None:
            # A node of a multi-node job: the job as a whole is charged and holds units.
            return
        self.traits.on_job(job)
        job_id = job.job_id
        if job.status == STARTING:
            self._started(job)
        elif job.status in _LEFT_HOST:
            self._held.pop(job_id, None)
            placed = self._on_host.pop(job_id, None)
            if placed is not None:
                queue_arn, share, vcpus = placed
                self.usage(queue_arn).stop(share or "", vcpus, self._decay(queue_arn))
            if self.pool.holds(job_id):
                self.pool.release(job_id)
                self.wake()
            if job.status in TERMINAL and self.pool.holds(claim_key(job_id)):
                # An array ended (cancelled) while a child's claim was still open.
                self.pool.release(claim_key(job_id))
                self.wake()

    def _started(self, job: Job) -> None:
        job_id = job.job_id
        if job_id not in self._on_host:
            vcpus = Demand.of(job.container).vcpus
            self._charge(job_id, job.job_queue, job.share_identifier, vcpus)
        needs = job.needs()
        if needs and not self.pool.holds(job_id):
            member = split_child(job_id)
            if member is not None:
                # An array child takes the claim made in its array's name when it was
                # handed out; the array's next child may be handed out now.
                self.pool.transfer(claim_key(member[0]), job_id)
                self.wake()
            if not self.pool.holds(job_id):
                self.pool.take(job_id, needs)
        consumed = self.pool.started(job_id)
        if consumed:
            asyncio.get_running_loop().create_task(self._consume(consumed))

    async def _consume(self, consumed: list[tuple[str, int, int]]) -> None:
        try:
            await self._store.write(partial(consumable_resources.set_totals, totals=consumed))
        except Exception:
            log.exception("recording consumed NON_REPLENISHABLE units failed")

    # -- held heads -------------------------------------------------------------------

    def _hold(self, job_id: str, reason: str) -> None:
        if self._held.get(job_id) == reason:
            return
        self._held[job_id] = reason
        self._pending_reasons[job_id] = reason
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._write_reasons())

    async def _write_reasons(self) -> None:
        while self._pending_reasons:
            batch, self._pending_reasons = self._pending_reasons, {}
            try:
                await self._lifecycle.write(partial(_set_reasons, batch))
            except Exception:
                log.exception("recording why jobs wait for consumable resources failed")

    # -- resource changes -------------------------------------------------------------

    def resources_changed(self, _topic: str, event: dict[str, Any]) -> None:
        """Bus subscriber on ``batch.resources``: reload queue settings."""
        if event.get("resource") == "job-definition":
            return
        if self._reload is not None and not self._reload.done():
            self._reload_again = True
            return
        self._reload = asyncio.get_running_loop().create_task(self._reload_settings())

    async def _reload_settings(self) -> None:
        time_scale = self._time_scale
        while True:
            self._reload_again = False
            try:
                self._settings = await self._store.read(
                    lambda conn: load_settings(conn, time_scale)
                )
            except Exception:
                log.exception("reloading scheduling settings failed")
            if not self._reload_again:
                break
        self.wake()


def _set_reasons(reasons: dict[str, str], conn: Connection, transitions: Transitions) -> None:
    for job_id, reason in reasons.items():
        job = records.load(conn, job_id)
        if job is not None and job.status == RUNNABLE:
            transitions.block(job, reason, announce=False)
            records.save(conn, job)
