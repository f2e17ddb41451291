"""Following released arrays in memory: which children have ended, who waits on them, and
settling the parent when the last one ends.

Per array the tracker keeps one byte per child, so a 10,000-child array costs 10 KB. A
child's end also wakes the children that wait on it without a row or a waiting-list entry
of their own: the next child of a SEQUENTIAL array and child ``i`` of every array that
depends on this one N_TO_N. Cancel and terminate of a whole array are here too: every child
not yet placed fails at once (those without a row by the parent's record alone), and the
parent fails when the children still on the host have ended.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.aws.documents import copy_json
from batchyard.batch.arrays import children
from batchyard.batch.arrays.admission import ArrayRelease, stored_children
from batchyard.batch.arrays.announcements import ChildChanges
from batchyard.batch.arrays.listing import status_summary
from batchyard.batch.jobs import events, records, transitions
from batchyard.batch.jobs.attempts import now_ms
from batchyard.batch.jobs.events import Snapshot
from batchyard.batch.jobs.model import CANCELLABLE, FAILED, ON_HOST, SUCCEEDED, TERMINAL
from batchyard.bus import Bus
from batchyard.store import Store
from batchyard.store.tables.batch_jobs import jobs

CHILD_FAILED = "Array Child Job failed"


@dataclass
class _Array:
    size: int
    sequential: bool
    sources: list[str]
    ended: bytearray
    count: int = 0

    def mark(self, index: int) -> bool:
        if index >= self.size or self.ended[index]:
            return False
        self.ended[index] = 1
        self.count += 1
        return True


@dataclass
class ArrayCancel:
    """What a CancelJob / TerminateJob of an array parent did in the store."""

    queue_arn: str
    snapshots: list[Snapshot]
    failed: list[str] = field(default_factory=list)
    on_host: list[str] = field(default_factory=list)
    ended_unstored: list[int] = field(default_factory=list)
    parent_failed: bool = False


class ArrayProgress:
    """Released arrays of this server and the arrays that follow them N_TO_N."""

    def __init__(self, store: Store, bus: Bus, on_settled: Callable[[str], None]) -> None:
        self._store = store
        self._bus = bus
        self._on_settled = on_settled
        self._arrays: dict[str, _Array] = {}
        self._followers: dict[str, set[str]] = defaultdict(set)
        self._settling: dict[str, asyncio.Task[None]] = {}

    def follows(self, parent_id: str) -> bool:
        """Whether array ``parent_id`` is already being followed."""
        return parent_id in self._arrays

    def released(self, release: ArrayRelease) -> None:
        """Start following a released array (again, after a restart)."""
        array = self._arrays.get(release.parent_id)
        if array is None:
            array = self._arrays[release.parent_id] = _Array(
                release.size, release.sequential, release.sources, bytearray(release.size)
            )
            for source in release.sources:
                self._followers[source].add(release.parent_id)
        for index in release.ended:
            array.mark(index)
        self._settle_if_done(release.parent_id)

    def ended(self, job_id: str) -> list[str]:
        """Job ``job_id`` reached a final state; returns the children that may go on now."""
        member = children.split(job_id)
        if member is None:
            # An array that ended without its children ending one by one (its dependency
            # failed, or it was cancelled before release): all its children failed.
            followers = self._followers.pop(job_id, set()) if job_id not in self._arrays else ()
            return [
                children.child_id(f, i)
                for f in followers
                if f in self._arrays
                for i in range(self._arrays[f].size)
            ]
        parent_id, index = member
        array = self._arrays.get(parent_id)
        if array is not None and not array.mark(index):
            return []
        found = [
            children.child_id(f, index)
            for f in self._followers.get(parent_id, ())
            if f in self._arrays and index < self._arrays[f].size
        ]
        if array is not None:
            if array.sequential and index + 1 < array.size:
                found.append(children.child_id(parent_id, index + 1))
            self._settle_if_done(parent_id)
        return found

    def cancelled(self, parent_id: str, indexes: Iterable[int]) -> list[str]:
        """Children ``indexes`` of ``parent_id`` failed with a cancel; returns the children
        that may go on now (their N_TO_N followers)."""
        found: list[str] = []
        for index in indexes:
            found += self.ended(children.child_id(parent_id, index))
        return found

    def _settle_if_done(self, parent_id: str) -> None:
        array = self._arrays.get(parent_id)
        if array is None or array.count < array.size or parent_id in self._settling:
            return
        task = asyncio.get_running_loop().create_task(self._settle(parent_id))
        self._settling[parent_id] = task

    async def _settle(self, parent_id: str) -> None:
        try:
            snapshots = await self._store.write(partial(settle, parent_id))
        finally:
            del self._settling[parent_id]
        array = self._arrays.pop(parent_id, None)
        for source in array.sources if array else ():
            self._followers.get(source, set()).discard(parent_id)
        # Every child ended one by one, so the followers have all been woken already.
        self._followers.pop(parent_id, None)
        events.publish(self._bus, snapshots)
        self._on_settled(parent_id)


def settle(parent_id: str, conn: Connection) -> list[dict[str, Any]]:
    """Every child of ``parent_id`` has ended: SUCCEEDED, or FAILED if any child failed."""
    record = records.load(conn, parent_id)
    if record is None or record.status in TERMINAL:
        return []
    now = now_ms()
    low, high = parent_id + children.SEPARATOR, parent_id + chr(ord(children.SEPARATOR) + 1)
    any_failed = (
        conn.execute(
            sa.select(jobs.c.job_id).where(
                jobs.c.job_id > low, jobs.c.job_id < high, jobs.c.status == FAILED
            )
        ).first()
        is not None
    )
    cancel = children.array_state(record.runtime).get("cancel")
    if cancel:
        snapshots = transitions.fail(record, cancel["reason"], now, **{cancel["flag"]: True})
    elif any_failed:
        snapshots = transitions.fail(record, CHILD_FAILED, now)
    else:
        record.document["status"] = SUCCEEDED
        record.document["stoppedAt"] = now
        snapshots = [copy_json(record.document)]
    records.save(conn, record)
    snapshots[-1]["arrayProperties"]["statusSummary"] = status_summary(conn, record)
    return snapshots


def cancel(parent_id: str, reason: str, flag: str, conn: Connection) -> ArrayCancel | None:
    """Cancel (or terminate, ``flag`` isTerminated) array ``parent_id``; None if it is not one.

    Children not yet placed fail now; children on the host are left to the caller (a
    TerminateJob stops them). A parent not yet released fails at once.
    """
    record = records.load(conn, parent_id)
    size = None if record is None else children.size_of(record.document)
    if record is None or size is None:
        return None
    result = ArrayCancel(record.document["jobQueue"], [])
    if record.status in TERMINAL:
        return result
    now = now_ms()
    state = children.array_state(record.runtime)
    stored = stored_children(conn, parent_id)
    if not state.get("cancel"):
        result.ended_unstored = [i for i in range(size) if i not in stored]
    state["cancel"] = state.get("cancel") or {"reason": reason, "flag": flag, "at": now}
    record.runtime["array"] = state
    for index, status in sorted(stored.items()):
        job_id = children.child_id(parent_id, index)
        if status in ON_HOST:
            result.on_host.append(job_id)
        elif status in CANCELLABLE:
            child = records.load(conn, job_id)
            assert child is not None, job_id
            result.snapshots += transitions.fail(child, reason, now, **{flag: True})
            records.save(conn, child)
            result.failed.append(job_id)
    if result.ended_unstored:
        result.snapshots.append(ChildChanges.of(record, frozenset(stored)))
    if not state.get("released"):
        result.snapshots += transitions.fail(record, reason, now, **{flag: True})
        result.parent_failed = True
    records.save(conn, record)
    return result
