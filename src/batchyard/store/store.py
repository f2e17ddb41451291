"""The store handle services use: group-committed writes, concurrent reads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, MetaData

from batchyard.store.engine import READ_ONLY, create_store_engine
from batchyard.store.migrate import DEFAULT_ACCOUNT, DEFAULT_REGION, upgrade
from batchyard.store.writer import GroupCommitWriter

T = TypeVar("T")
# Alembic's record of the schema's revisions, kept by a reset.
VERSION_TABLE = "alembic_version"


class Store:
    """Open a database, bring its schema up to date, and run reads and writes on it."""

    def __init__(
        self, url: str, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
    ) -> None:
        """Open ``url``; rows stored before accounts and regions existed are migrated into
        ``account_id`` and ``region``."""
        self.url = url
        self.engine: Engine = create_store_engine(url)
        upgrade(self.engine, account_id, region)
        self._writer = GroupCommitWriter(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(connection)`` inside a transaction; returns once it is committed."""
        return await self._writer.write(fn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(connection)`` on a pooled connection in a worker thread."""
        return await asyncio.to_thread(self.read_sync, fn)

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        """Run a read on the calling thread (start-up recovery, tests)."""
        with self.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})
            return fn(connection)

    def observe_commits(self, observe: Callable[[float], None]) -> None:
        """Call ``observe(seconds)`` on the writer thread after each group commit, with the
        time its writes and COMMIT took."""
        self._writer.observe_commit = observe

    def close(self) -> None:
        """Flush queued writes and release every connection."""
        self._writer.close()
        self.engine.dispose()


def empty(url: str) -> None:
    """Delete every row of the database at ``url`` but its schema's version: every service's
    state at once (a development server's reset). Only while no server has it open."""
    engine = create_store_engine(url)
    try:
        found = MetaData()
        found.reflect(engine)
        with engine.begin() as connection:
            for table in reversed(found.sorted_tables):
                if table.name != VERSION_TABLE:
                    connection.execute(table.delete())
    finally:
        engine.dispose()
