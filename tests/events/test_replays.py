"""Replays and archives on the EventBridge facade over a real store (SQLite and PostgreSQL):
a replay goes STARTING -> RUNNING and stops CANCELLING -> CANCELLED when cancelled; one left
RUNNING by a stopped server resumes after the last event it put; an archive's retention drops
old events."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.events import EventBridge, PutEventsEntry, Target, TargetEvent, archive_records
from batchyard.events.archives import Replay, ReplayDestination, ReplayState
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.tables.events import archived_events
from tests.support.postgres import PostgresServer

OWNER = Caller("123456789012", "us-east-1")
BUS = "arn:aws:events:us-east-1:123456789012:event-bus/default"
SINK = "arn:aws:test:us-east-1:123456789012:sink/s"


class _Sink:
    """Delivers ``test:sink`` targets; awaits ``on_first()`` at the first event delivered."""

    def __init__(self, on_first: Callable[[], Awaitable[None]] | None = None) -> None:
        self.received: list[TargetEvent] = []
        self._on_first = on_first

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        self.received.append(event)
        if self._on_first is not None:
            on_first, self._on_first = self._on_first, None
            await on_first()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store of either backend."""
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'batchyard.db'}")
        yield store
        store.close()
        return
    server = PostgresServer().start()
    try:
        store = Store(server.database())
        yield store
        store.close()
    finally:
        server.stop()


async def _started(store: Store, sink: _Sink) -> EventBridge:
    events = EventBridge(store, time_scale=1000.0)
    events.register_target("test:sink", sink)
    await events.start()
    return events


async def _archived(events: EventBridge, count: int) -> tuple[str, datetime]:
    """An archive of the default bus holding ``count`` events of one second each, ending
    now; its ARN and the time of its first event."""
    arn = (await events.create_archive(OWNER, "all", BUS)).archive_arn
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=count)
    for start in range(0, count, 10):
        await events.put_events(
            OWNER,
            [
                PutEventsEntry(
                    "my.app", "t", json.dumps({"n": n}), time=first + timedelta(seconds=n)
                )
                for n in range(start, min(start + 10, count))
            ],
        )
    await events.put_rule(OWNER, "sink", event_pattern=json.dumps({"source": ["my.app"]}))
    await events.put_targets(OWNER, "sink", [Target("s", SINK)])
    return arn, first


def test_a_cancelled_replay_stops_before_its_end(store: Store) -> None:
    async def scenario() -> None:
        seen: list[ReplayState] = []

        async def cancel() -> None:
            # Read on the loop's own thread: the replay must not get ahead of the cancellation.
            found = store.read_sync(partial(archive_records.get_replay, owner=OWNER, name="c"))
            seen.append(found.state)
            seen.append((await events.cancel_replay(OWNER, "c")).state)

        sink = _Sink(cancel)
        events = await _started(store, sink)
        arn, first = await _archived(events, 300)
        started = await events.start_replay(
            OWNER, "c", arn, first, datetime.now(UTC), ReplayDestination(BUS)
        )
        await asyncio.wait_for(events.settled(), timeout=20)
        replay = await events.describe_replay(OWNER, "c")
        assert [started.state, *seen, replay.state] == [
            ReplayState.STARTING, ReplayState.RUNNING, ReplayState.CANCELLING,
            ReplayState.CANCELLED,
        ]
        assert replay.replay_end_time is not None and replay.event_last_replayed_time is not None
        # the page being put when the cancellation came, and the next one: not all 300
        assert 100 <= len(sink.received) < 300, len(sink.received)
        await events.stop()

    asyncio.run(scenario())


def test_a_replay_cancelled_before_it_began_replays_nothing(store: Store) -> None:
    async def scenario() -> None:
        sink = _Sink()
        events = await _started(store, sink)
        arn, first = await _archived(events, 3)
        await events.start_replay(OWNER, "c", arn, first, datetime.now(UTC), ReplayDestination(BUS))
        assert (await events.cancel_replay(OWNER, "c")).state == ReplayState.CANCELLING
        await asyncio.wait_for(events.settled(), timeout=20)
        assert (await events.describe_replay(OWNER, "c")).state == ReplayState.CANCELLED
        assert sink.received == []
        await events.stop()

    asyncio.run(scenario())


def test_a_replay_left_running_resumes_after_its_last_event(store: Store) -> None:
    async def scenario() -> None:
        events = await _started(store, _Sink())
        arn, first = await _archived(events, 5)
        await events.stop()
        # What a server that stopped after putting the first two events of the replay left.
        stored = Replay(
            "resumed", OWNER.arn("events", "replay/resumed"), arn, ReplayDestination(BUS),
            first, datetime.now(UTC), datetime.now(UTC), state=ReplayState.RUNNING,
        )
        [archive] = await store.read(archive_records.all_archives)
        page = await store.read(
            partial(
                archive_records.archived, archive_seq=archive.seq, start=first.timestamp(),
                end=datetime.now(UTC).timestamp(), after=None, limit=2, cutoff=None,
            )
        )

        def write(conn: Connection) -> None:
            archive_records.create_replay(conn, OWNER, stored, quota=10)
            archive_records.save_replay(conn, OWNER, stored, (page[-1].event_time, page[-1].seq))

        await store.write(write)

        sink = _Sink()
        restarted = await _started(store, sink)
        await asyncio.wait_for(restarted.settled(), timeout=20)
        done = await restarted.describe_replay(OWNER, "resumed")
        assert done.state == ReplayState.COMPLETED
        replayed = sorted(json.loads(e.input)["detail"]["n"] for e in sink.received)
        assert replayed == [2, 3, 4]
        assert all(json.loads(e.input)["replay-name"] == "resumed" for e in sink.received)
        await restarted.stop()

    asyncio.run(scenario())


def test_retention_drops_events_older_than_the_archive_keeps(store: Store) -> None:
    async def scenario() -> None:
        events = await _started(store, _Sink())
        await events.create_archive(OWNER, "week", BUS, retention_days=7)
        await events.create_archive(OWNER, "forever", BUS)
        [week, forever] = await store.read(archive_records.all_archives)
        old = datetime.now(UTC) - timedelta(days=8)
        event = {"id": "e", "time": "2020-01-01T00:00:00Z"}
        for archive in (week, forever):
            await store.write(
                partial(
                    archive_records.archive_events, entries=[(archive.seq, 0.0, event, 10)],
                    now=old.timestamp(),
                )
            )
        assert (await events.describe_archive(OWNER, "week")).event_count == 0
        assert (await events.describe_archive(OWNER, "forever")).event_count == 1
        await events.put_events(OWNER, [PutEventsEntry("my.app", "t", "{}")])
        described = await events.describe_archive(OWNER, "week")
        assert described.event_count == 1 and described.size_bytes > 10
        assert (await events.describe_archive(OWNER, "forever")).event_count == 2
        remaining = await store.read(
            lambda conn: conn.execute(
                archived_events.select().where(archived_events.c.archive_seq == week.seq)
            ).all()
        )
        assert len(remaining) == 1  # the old event is gone from the store, not just uncounted
        await events.stop()

    asyncio.run(scenario())


def test_replays_count_against_the_quota_while_active(store: Store) -> None:
    async def scenario() -> None:
        events = await _started(store, _Sink())
        arn, first = await _archived(events, 1)
        await events.stop()
        for n in range(10):
            replay = Replay(
                f"r{n}", OWNER.arn("events", f"replay/r{n}"), arn, ReplayDestination(BUS),
                first, datetime.now(UTC), datetime.now(UTC),
            )
            await store.write(
                partial(archive_records.create_replay, owner=OWNER, replay=replay, quota=10)
            )
        over = dataclasses.replace(replay, replay_name="r10")
        with pytest.raises(ServiceError) as caught:
            await store.write(
                partial(archive_records.create_replay, owner=OWNER, replay=over, quota=10)
            )
        assert caught.value.code == "LimitExceededException"

    asyncio.run(scenario())
