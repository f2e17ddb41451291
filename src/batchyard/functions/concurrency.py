"""Reserved concurrency: how many invocations of a function may run at once.

A function with ``ReservedConcurrentExecutions`` N runs at most N invocations together, over
all of its versions and aliases; a synchronous invocation beyond that is throttled
(TooManyRequestsException, 429) and an Event invocation waits for room, as Lambda retries a
throttled asynchronous event until it is older than the event age limit. N = 0 throttles
every invocation.

The account's concurrency is AWS's default quota, 1,000 per account and region, of which
reservations may take all but the 100 Lambda keeps unreserved; GetAccountSettings reports what
is left. Functions without a reservation are not throttled against that pool: each of their
versions runs as many invocations at once as it has warm workers, and further ones wait for a
worker. The invocations running are counted in this server process.
"""

from __future__ import annotations

import asyncio
import contextlib

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.functions.configuration import invalid
from batchyard.functions.registry import Missing, owned
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.tables.functions import functions

ACCOUNT_CONCURRENCY = 1000
MIN_UNRESERVED = 100
# Lambda keeps an asynchronous event this long (its default MaximumEventAgeInSeconds) while
# it is throttled; the server's time scale divides it.
MAX_EVENT_AGE_SECONDS = 6 * 3600.0


def throttled() -> ServiceError:
    """What Invoke answers when the function's reserved concurrency is all in use."""
    return ServiceError(
        "TooManyRequestsException", "Rate Exceeded.", Type="User",
        Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
    )


def _reserved_elsewhere(connection: Connection, owner: Caller, name: str) -> int:
    total = connection.execute(
        sa.select(sa.func.coalesce(sa.func.sum(functions.c.reserved_concurrency), 0)).where(
            functions.c.account_id == owner.account_id, functions.c.region == owner.region,
            functions.c.name != name,
        )
    ).scalar_one()
    return int(total)


class Reservations:
    """The reserved concurrency of functions, in the store; ``missing`` builds the error for
    an unknown function."""

    def __init__(self, store: Store, missing: Missing) -> None:
        self.store = store
        self.missing = missing

    async def put(self, owner: Caller, name: str, reserved: int | None) -> None:
        """Set (or, with None, remove) function ``name``'s reservation, refused when it would
        leave the account less than its unreserved minimum."""

        def write(connection: Connection) -> None:
            exists = connection.execute(
                sa.select(functions.c.name).where(owned(functions, owner, name))
            ).first()
            if exists is None:
                raise self.missing(owner, name)
            if reserved is not None:
                others = _reserved_elsewhere(connection, owner, name)
                if others + reserved > ACCOUNT_CONCURRENCY - MIN_UNRESERVED:
                    raise invalid(
                        "Specified ReservedConcurrentExecutions for function decreases "
                        "account's UnreservedConcurrentExecution below its minimum value of "
                        f"[{MIN_UNRESERVED}]."
                    )
            connection.execute(
                functions.update().where(owned(functions, owner, name))
                .values(reserved_concurrency=reserved)
            )

        await self.store.write(write)

    async def unreserved(self, owner: Caller) -> int:
        """The account's concurrency no function has reserved."""
        total = await self.store.read(
            lambda connection: _reserved_elsewhere(connection, owner, "")
        )
        return ACCOUNT_CONCURRENCY - total


class ConcurrencyGate:
    """The invocations running now, per function (its key), against its reservation."""

    def __init__(self) -> None:
        self._running: dict[str, int] = {}
        self._changed: dict[str, asyncio.Event] = {}

    def enter(self, key: str, reserved: int | None) -> bool:
        """Count one more invocation of ``key`` unless ``reserved`` are running already."""
        running = self._running.get(key, 0)
        if reserved is not None and running >= reserved:
            return False
        self._running[key] = running + 1
        return True

    def leave(self, key: str) -> None:
        """One invocation of ``key`` has ended; wake whoever waits for room."""
        running = self._running.get(key, 0) - 1
        if running > 0:
            self._running[key] = running
        else:
            self._running.pop(key, None)
        self.changed(key)

    def changed(self, key: str) -> None:
        """Wake the waiters of ``key``: room was freed, or its reservation or the function
        itself changed."""
        event = self._changed.pop(key, None)
        if event is not None:
            event.set()

    async def wait(self, key: str, timeout: float) -> None:
        """Until something changes for ``key`` (see :meth:`changed`), or ``timeout`` s."""
        event = self._changed.setdefault(key, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
