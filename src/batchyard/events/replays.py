"""Run replays: one task per replay puts the archived events back on their bus.

A replay reads its archive a page at a time in event-time order (AWS works through the time
range a minute at a time, which is the same order) and hands each event, with ``replay-name``
added to its envelope, to the dispatcher for the rules of its destination. After each page
it commits where it has got to (EventLastReplayedTime and a cursor) and reads back the
replay's state: a CancelReplay committed meanwhile (CANCELLING) ends it as CANCELLED. A replay
that has put every event is COMPLETED; one that cannot go on (its archive was deleted) is
FAILED with the reason. A server that stops in the middle resumes its replays at start-up
from their cursors, so an event may be replayed twice but none is skipped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.events import archive_records
from batchyard.events.archive_records import DAY
from batchyard.events.archives import REPLAY_NAME, Replay, ReplayState
from batchyard.events.catalog import RuleCatalog, bus_key
from batchyard.events.dispatch import Dispatcher
from batchyard.store import Store

log = logging.getLogger(__name__)

PAGE = 100


class Replayer:
    """The replays of one server (made on the event loop they run on)."""

    def __init__(self, store: Store, catalog: RuleCatalog, dispatcher: Dispatcher) -> None:
        self._store = store
        self._catalog = catalog
        self._dispatcher = dispatcher
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, owner: Caller, name: str) -> None:
        """Run the replay ``name`` of ``owner`` (committed as STARTING)."""
        task = asyncio.get_running_loop().create_task(self._run(owner, name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resume(self) -> None:
        """Take over the replays a previous process left unfinished."""
        for owner, replay in await self._store.read(archive_records.unfinished_replays):
            self.start(owner, replay.replay_name)

    async def settled(self) -> None:
        """Return once every replay started so far has ended."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop the replays (they resume at the next start)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, owner: Caller, name: str) -> None:
        try:
            replay = await self._store.write(partial(self._begin, owner=owner, name=name))
            if replay is not None:
                await self._replay(owner, replay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("replay %s failed", name)
            await self._store.write(
                partial(
                    self._end, owner=owner, name=name, state=ReplayState.FAILED, reason=str(exc)
                )
            )

    async def _replay(self, owner: Caller, replay: Replay) -> None:
        archive = self._catalog.archive(replay.event_source_arn)
        if archive is None:
            name = replay.event_source_arn.rsplit("/", 1)[-1]
            await self._store.write(
                partial(
                    self._end, owner=owner, name=replay.replay_name, state=ReplayState.FAILED,
                    reason=f"Archive {name} does not exist.",
                )
            )
            return
        found = await self._store.read(
            partial(archive_records.archive_by_arn, owner=owner, arn=archive.arn)
        )
        retention = found[1].retention_days if found else 0
        bus = bus_key(owner, replay.destination.arn.rsplit("event-bus/", 1)[-1])
        only = frozenset(replay.destination.filter_arns) if replay.destination.filter_arns else None
        start, end = replay.event_start_time.timestamp(), replay.event_end_time.timestamp()
        cursor = await self._store.read(
            partial(archive_records.replay_cursor, owner=owner, name=replay.replay_name)
        )
        while True:
            now = datetime.now(UTC).timestamp()
            cutoff = now - retention * DAY if retention > 0 else None
            page = await self._store.read(
                partial(
                    archive_records.archived, archive_seq=archive.seq, start=start, end=end,
                    after=cursor, limit=PAGE, cutoff=cutoff,
                )
            )
            for item in page:
                self._dispatcher.publish(bus, {**item.event, REPLAY_NAME: replay.replay_name}, only)
            if page:
                last = page[-1]
                cursor = (last.event_time, last.seq)
                state = await self._store.write(
                    partial(
                        self._advance, owner=owner, name=replay.replay_name, cursor=cursor,
                        last=datetime.fromtimestamp(last.event_time, UTC),
                    )
                )
                if state == ReplayState.CANCELLING:
                    break
            if len(page) < PAGE:
                break
        await self._store.write(
            partial(
                self._end, owner=owner, name=replay.replay_name, state=ReplayState.COMPLETED
            )
        )

    @staticmethod
    def _begin(conn: Connection, owner: Caller, name: str) -> Replay | None:
        """RUNNING; None (and CANCELLED) for a replay cancelled before it began."""
        replay = archive_records.get_replay(conn, owner, name)
        if replay.state == ReplayState.CANCELLING:
            Replayer._end(conn, owner, name, ReplayState.CANCELLED)
            return None
        running = dataclasses.replace(replay, state=ReplayState.RUNNING)
        archive_records.save_replay(conn, owner, running)
        return running

    @staticmethod
    def _advance(
        conn: Connection, owner: Caller, name: str, cursor: tuple[float, int], last: datetime
    ) -> ReplayState:
        replay = archive_records.get_replay(conn, owner, name)
        advanced = dataclasses.replace(replay, event_last_replayed_time=last)
        archive_records.save_replay(conn, owner, advanced, cursor)
        return replay.state

    @staticmethod
    def _end(
        conn: Connection, owner: Caller, name: str, state: ReplayState, reason: str | None = None
    ) -> None:
        """Finish a replay: a cancellation asked for meanwhile makes it CANCELLED instead."""
        replay = archive_records.get_replay(conn, owner, name)
        if replay.state == ReplayState.CANCELLING:
            state, reason = ReplayState.CANCELLED, None
        ended = dataclasses.replace(
            replay, state=state, state_reason=reason, replay_end_time=datetime.now(UTC)
        )
        archive_records.save_replay(conn, owner, ended)
