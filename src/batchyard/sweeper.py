"""A background task that runs one sweep now and then again every interval while the server
runs (expiring retained data, for instance). A failed sweep is logged and tried again at the
next interval; the first one runs beside serving, so a backlog never holds up start-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class Sweeper:
    """Runs ``sweep`` at once and then every ``interval`` seconds until stopped."""

    def __init__(self, what: str, sweep: Callable[[], Awaitable[Any]], interval: float) -> None:
        self._what = what
        self._sweep = sweep
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sweeping (from the running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop sweeping; a sweep under way is cancelled."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self._sweep()
            except Exception:
                log.exception("%s failed", self._what)
            await asyncio.sleep(self._interval)
