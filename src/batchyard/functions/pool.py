"""Warm workers per function: a bounded pool, reused while the function stays unchanged.

A pool belongs to one revision of one version of a function. When ``$LATEST`` changes (code
or configuration) its old pool is retired: idle workers die at once, busy ones when they
finish. A published version never changes, so its pool lives until the version is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from batchyard.functions.names import LATEST
from batchyard.functions.worker import Worker, WorkerSpec

# Warm workers that sit unused this long are stopped, as Lambda recycles idle environments.
IDLE_SECONDS = 600.0
POOL_SIZE = max(4, os.cpu_count() or 1)


def new_stream_name(version: str) -> str:
    """A log stream name shaped like Lambda's: ``2024/05/01/[$LATEST]<32 hex>``."""
    day = datetime.now(UTC).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{secrets.token_hex(16)}"


class FunctionPool:
    """Up to ``size`` workers of one function revision; callers wait for a free one."""

    def __init__(self, revision: str, spec: WorkerSpec, size: int = POOL_SIZE,
                 version: str = LATEST) -> None:
        self.revision = revision
        self.version = version
        self.spec = spec
        self.size = size
        self.closed = False
        self._idle: list[Worker] = []
        self._count = 0
        self._available = asyncio.Condition()
        self._reaper: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def acquire(self) -> Worker:
        """An idle warm worker, else a new one while under the bound, else wait."""
        async with self._available:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    self._count -= 1
                if self._count < self.size:
                    self._count += 1
                    break
                await self._available.wait()
        try:
            return await Worker.start(self.spec, new_stream_name(self.version))
        except BaseException:
            async with self._available:
                self._count -= 1
                self._available.notify()
            raise

    async def release(self, worker: Worker, reusable: bool) -> None:
        """Hand ``worker`` back; it is stopped unless it is healthy and the pool current."""
        keep = reusable and worker.alive and not self.closed
        if not keep:
            await worker.kill()
        async with self._available:
            if keep:
                worker.idle_since = time.monotonic()
                self._idle.append(worker)
                self._schedule_reaper()
            else:
                self._count -= 1
            self._available.notify()

    def _schedule_reaper(self) -> None:
        if self._reaper is None:
            loop = asyncio.get_running_loop()
            self._reaper = loop.call_later(IDLE_SECONDS, self._reap)

    def _reap(self) -> None:
        self._reaper = None
        task = asyncio.get_running_loop().create_task(self._stop_idle(IDLE_SECONDS))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stop_idle(self, older_than: float) -> None:
        cutoff = time.monotonic() - older_than
        async with self._available:
            stale = [w for w in self._idle if w.idle_since <= cutoff]
            self._idle = [w for w in self._idle if w.idle_since > cutoff]
            self._count -= len(stale)
            if self._idle:
                self._schedule_reaper()
            self._available.notify(len(stale))
        for worker in stale:
            await worker.kill()

    async def close(self) -> None:
        """Retire the pool: stop idle workers now; busy ones stop on release."""
        self.closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        await self._stop_idle(-1.0)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class WorkerPools:
    """The current pool of every function that has been invoked."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self.size = size
        self._pools: dict[tuple[str, str], FunctionPool] = {}

    async def pool_for(self, name: str, version: str, revision: str,
                       spec: Callable[[], WorkerSpec]) -> FunctionPool:
        """The pool of ``name``'s ``version`` at ``revision``, retiring an older revision's."""
        pool = self._pools.get((name, version))
        if pool is not None and pool.revision == revision:
            return pool
        fresh = FunctionPool(revision, spec(), self.size, version)
        self._pools[(name, version)] = fresh
        if pool is not None:
            await pool.close()
        return fresh

    async def retire(self, name: str, version: str | None = LATEST) -> None:
        """Stop the workers of a changed ``$LATEST``, a deleted version or (``version`` None)
        every version of a deleted function."""
        keys = [k for k in self._pools if k[0] == name and version in (None, k[1])]
        for key in keys:
            await self._pools.pop(key).close()

    async def close(self) -> None:
        """Stop every worker (server shutdown)."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()
