"""Asynchronous status transitions: CREATING/UPDATING -> VALID | INVALID, DELETING -> gone.

AWS answers Create/Update/Delete at once and settles the resource's ``status`` moments later;
so do we. After a change is committed its family calls ``schedule(runtime, resource, name)``;
a background task commits the settled status and publishes it on the bus. At start-up
``recover`` settles whatever a previous process left half-way.

Families register a settle function with ``register``: ``settle(connection, name)`` returns
``(action, document)`` to publish, or None when there was nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table

from batchyard.batch.resources import records, tags
from batchyard.batch.resources.events import publish
from batchyard.runtime import Runtime

log = logging.getLogger(__name__)

Settle = Callable[[Connection, str], tuple[str, dict[str, Any]] | None]
Pending = Callable[[Connection], list[str]]

_families: dict[str, tuple[Settle, Pending]] = {}


TRANSITIONAL = ("CREATING", "UPDATING", "DELETING")


def settle_row(
    connection: Connection,
    table: Table,
    name: str,
    arn_key: str,
    health: Callable[[dict[str, Any]], tuple[str, str]],
) -> tuple[str, dict[str, Any]] | None:
    """Settle row ``name``: a DELETING row goes (with its tags), others take ``health(doc)``."""
    document = records.find(connection, table, name)
    if document is None or document["status"] not in TRANSITIONAL:
        return None
    if document["status"] == "DELETING":
        records.remove(connection, table, name)
        tags.drop_tags(connection, document[arn_key])
        document["status"] = "DELETED"
        document["statusReason"] = "Deleted"
        return "deleted", document
    document["status"], document["statusReason"] = health(document)
    records.replace(connection, table, name, document)
    return "status", document


def register(resource: str, settle: Settle, pending: Pending) -> None:
    """Register how ``resource`` settles one name, and how to find names left unsettled."""
    _families[resource] = (settle, pending)


class Settler:
    """Runs the settle tasks of one server; kept in ``runtime.components``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.tasks: set[asyncio.Task[None]] = set()

    def schedule(self, resource: str, name: str) -> None:
        """Settle ``resource`` ``name`` in the background, right after the current request."""
        task = asyncio.get_running_loop().create_task(self.settle(resource, name))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def settle(self, resource: str, name: str) -> None:
        """Commit the settled status of ``resource`` ``name`` and announce it."""
        settle, _ = _families[resource]
        try:
            outcome = await self.runtime.store.write(lambda connection: settle(connection, name))
        except Exception:
            log.exception("settling %s %s failed", resource, name)
            return
        if outcome is not None:
            action, document = outcome
            publish(self.runtime.bus, resource, action, document)

    async def recover(self) -> None:
        """Settle every resource a previous process left in a transitional status."""
        for resource, (_, pending) in _families.items():
            for name in await self.runtime.store.read(pending):
                await self.settle(resource, name)

    async def drain(self) -> None:
        """Wait for the settle tasks in flight (clean shutdown)."""
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def settler(runtime: Runtime) -> Settler:
    """The runtime's Settler, created on first use."""
    found = runtime.components.get(Settler)
    if found is None:
        found = runtime.add(Settler(runtime))
    return found


def schedule(runtime: Runtime, resource: str, name: str) -> None:
    """Settle ``resource`` ``name`` in the background."""
    settler(runtime).schedule(resource, name)
