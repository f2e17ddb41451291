"""``POST /_batchyard/reset``: a development server forgets everything, as if new.

Test suites start each test clean without restarting the server (as moto's and LocalStack's
reset endpoints let them). The server waits for the requests in progress and holds new ones,
stops every service and kills every attempt (containers and Ray tasks too), empties the
store, and starts the services again on it. Refused once credentials are configured: a
shared server's state is not one caller's to drop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

RESET_PATH = "/_batchyard/reset"
REFUSED = (
    "The reset is served only in development mode (no credentials configured): it would "
    "drop every account's resources, jobs and executions."
)


class RequestGate:
    """Lets requests through together, and a reset alone: it waits for the requests in
    progress and holds new ones until it is done."""

    def __init__(self) -> None:
        self._active = 0
        self._resetting = False
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        """Hold one request's place while it is served."""
        async with self._changed:
            await self._changed.wait_for(lambda: not self._resetting)
            self._active += 1
        try:
            yield
        finally:
            async with self._changed:
                self._active -= 1
                self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Run alone: after the requests in progress, before any new one."""
        async with self._changed:
            await self._changed.wait_for(lambda: not self._resetting)
            self._resetting = True
            await self._changed.wait_for(lambda: self._active == 0)
        try:
            yield
        finally:
            async with self._changed:
                self._resetting = False
                self._changed.notify_all()
