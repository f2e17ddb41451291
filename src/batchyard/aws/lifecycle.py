"""Asynchronous resource status: CREATING/UPDATING -> VALID | INVALID, DELETING -> gone.

AWS answers Create, Update and Delete at once and settles the resource's status moments later;
so do the services here. After a change is committed the service calls :meth:`Settler.schedule`;
a background task commits the settled status and announces it. At start-up :meth:`recover`
settles whatever a previous process left half-way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy import Connection

from batchyard.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")


class Status(StrEnum):
    """The statuses a resource with an asynchronous lifecycle passes through."""

    CREATING = "CREATING"
    UPDATING = "UPDATING"
    DELETING = "DELETING"
    DELETED = "DELETED"
    VALID = "VALID"
    INVALID = "INVALID"


TRANSITIONAL = frozenset({Status.CREATING, Status.UPDATING, Status.DELETING})


@dataclass(frozen=True, slots=True)
class Family(Generic[T]):
    """How one kind of resource settles: ``settle(conn, name)`` commits the settled status of
    ``name`` and returns what to announce (None: nothing to do); ``pending(conn)`` lists the
    names left in a transitional status."""

    settle: Callable[[Connection, str], T | None]
    pending: Callable[[Connection], list[str]]


class Settler(Generic[T]):
    """Runs the settle tasks of one service; ``announce(kind, outcome)`` publishes each."""

    def __init__(self, store: Store, announce: Callable[[str, T], None]) -> None:
        self._store = store
        self._announce = announce
        self._families: dict[str, Family[T]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add_family(self, kind: str, family: Family[T]) -> None:
        """Settle resources of ``kind`` as ``family`` says."""
        self._families[kind] = family

    def schedule(self, kind: str, name: str) -> None:
        """Settle ``kind`` ``name`` in the background, right after the current request."""
        task = asyncio.get_running_loop().create_task(self.settle(kind, name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self, kind: str, name: str) -> None:
        """Commit the settled status of ``kind`` ``name`` and announce it."""
        family = self._families[kind]
        try:
            outcome = await self._store.write(lambda conn: family.settle(conn, name))
        except Exception:
            log.exception("settling %s %s failed", kind, name)
            return
        if outcome is not None:
            self._announce(kind, outcome)

    async def recover(self) -> None:
        """Settle every resource a previous process left in a transitional status."""
        for kind, family in self._families.items():
            for name in await self._store.read(family.pending):
                await self.settle(kind, name)

    async def drain(self) -> None:
        """Wait for the settle tasks in flight (clean shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
