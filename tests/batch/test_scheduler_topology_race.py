"""The scheduler plans only with a snapshot of queues and environments taken after the last
announced change, even when the change lands while a reload is in flight (no server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from batchyard.batch.jobs.attempts import AttemptServices
from batchyard.batch.jobs.model import Demand, QueuedJob
from batchyard.batch.jobs.transitions import JobLifecycle
from batchyard.batch.scheduler import dispatcher
from batchyard.batch.scheduler.dispatcher import Scheduler
from batchyard.batch.scheduler.placement import EnvironmentView, QueueView, Topology
from batchyard.bus import Bus
from batchyard.compute.provider import HostCapacity

QUEUE = "arn:aws:batch:us-east-1:000000000000:job-queue/q"
CE = "arn:aws:batch:us-east-1:000000000000:compute-environment/ce"


def _topology(enabled: bool) -> Topology:
    environment = EnvironmentView(CE, "ce", 4.0, usable=enabled)
    return Topology((QueueView(QUEUE, "q", 1, True, (environment,)),))


class _Store:
    """Reads wait for the test to answer them; writes are recorded and change nothing."""

    def __init__(self) -> None:
        self.reads: asyncio.Queue[asyncio.Future[Any]] = asyncio.Queue()
        self.writes: list[Callable[..., Any]] = []

    async def read(self, fn: Callable[..., Any]) -> Any:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self.reads.put(answer)
        return await answer

    async def write(self, fn: Callable[..., Any]) -> Any:
        self.writes.append(fn)
        return {}


class _Providers:
    def capacity(self, _host: str) -> HostCapacity:
        return HostCapacity(memory_mib=1024, gpus=0)


def test_a_change_announced_during_a_reload_is_read_before_planning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatcher, "load", lambda conn, **_: None)

    async def main() -> None:
        store = _Store()
        lifecycle = JobLifecycle(store, Bus())  # type: ignore[arg-type]
        services = AttemptServices(store, lifecycle, _Providers(), None, None, None, 1.0)  # type: ignore[arg-type]
        scheduler = Scheduler(services)
        job = QueuedJob("job-1", QUEUE, 1, Demand(1.0, 0, 0))
        scheduler._ordering_of(QUEUE).add(job)
        running = asyncio.create_task(scheduler._pass())
        first = await asyncio.wait_for(store.reads.get(), timeout=5)
        # The environment is disabled while the first reload is still being answered with
        # what the store held before.
        scheduler.resources_changed("batch.resources", {})
        first.set_result(_topology(enabled=True))
        try:
            second = await asyncio.wait_for(store.reads.get(), timeout=5)
        except TimeoutError:
            pytest.fail(f"planned with the snapshot read before the change: {store.writes}")
        second.set_result(_topology(enabled=False))
        await asyncio.wait_for(running, timeout=5)
        assert store.writes == [], "the job was placed on a disabled environment"
        assert len(scheduler.front_of_queue(QUEUE, 10)) == 1

    asyncio.run(main())
