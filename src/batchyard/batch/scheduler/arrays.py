"""Array jobs on the live scheduler: admitting them, following their children, and one
queue entry per released array however many children wait.

An array parent waits for its own dependencies like any job, then is *released* (in the store
writer): it turns PENDING for good and its children may run. Children never wait for
admission before their parent is released. Releasing (and re-releasing after a restart, which
is the same computation) reads only the rows children already have, so it costs nothing for a
fresh 10,000-child array.

``ArrayProgress`` follows released arrays in memory: which children have ended, who waits on
them, and settling the parent when the last one ends. Per array it keeps one byte per child,
so a 10,000-child array costs 10 KB. A child's end also wakes the children that wait on it
without a row or a waiting-list entry of their own: the next child of a SEQUENTIAL array and
child ``i`` of every array that depends on this one N_TO_N. Cancel and terminate of a whole
array are here too: every child not yet placed fails at once (those without a row by the
parent's record alone), and the parent fails when the children still on the host have ended.

``ArrayOrdering`` wraps any queue ordering (FIFO, fair share ...). An array whose children
have no dependencies of their own is added to the wrapped ordering once, as an entry keyed
by the parent id at the parent's position; a cursor beside it yields the children in index
order. When that entry is the head, the head is the cursor's next child; removing that child
(it was placed) advances the cursor, and the entry leaves the wrapped ordering with its last
child. Children leaving out of order (cancelled alone) are skipped when the cursor gets
there. Children that have a queue entry of their own (retried ones) are plain entries.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection

from batchyard.aws.clock import now_ms
from batchyard.batch.jobs import arrays, records
from batchyard.batch.jobs.model import (
    CANCELLABLE,
    CHILD_FAILED,
    DEPENDENCY_FAILED,
    FAILED,
    ON_HOST,
    SUBMITTED,
    SUCCEEDED,
    TERMINAL,
    ArrayCancel,
    Demand,
    Job,
    QueuedJob,
    child_id,
    split_child,
)
from batchyard.batch.jobs.queries import status_summary
from batchyard.batch.jobs.transitions import JobLifecycle, Transitions
from batchyard.batch.scheduler.ordering import QueueOrdering


@dataclass(slots=True)
class ArrayRelease:
    """A released array: what the scheduler needs to queue and follow its children.

    ``entry`` is the array's place in its queue when its children have no dependencies of
    their own (``skipped`` are children already out of that cursor); ``ended`` are indexes
    of children already finished; ``evaluate`` are children to admit now.
    """

    parent_id: str
    size: int
    entry: QueuedJob | None
    sources: list[str]
    sequential: bool
    skipped: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    evaluate: list[str] = field(default_factory=list)


# An admission's outcome: the array FAILED, the dependencies it still awaits, or released.
Admission = str | list[str] | ArrayRelease
# A child admitted before its parent was released: leave it to the release.
NOT_YET = "NOT_YET"


def ended_children(conn: Connection, parent_id: str) -> tuple[int, set[int]]:
    """(size, indexes of the finished children) of array ``parent_id``; (0, empty) if none."""
    parent = records.load(conn, parent_id)
    size = None if parent is None else parent.array_size
    if parent is None or size is None:
        return 0, set()
    stored = records.stored_children(conn, parent_id)
    ended = {i for i, status in stored.items() if status in TERMINAL}
    if arrays.implicit_state(parent).status == FAILED:
        ended.update(i for i in range(size) if i not in stored)
    return size, ended


def admit(conn: Connection, job: Job, transitions: Transitions) -> Admission | None:
    """Admit ``job`` if it is an array parent or child; None for any other job (the outcome
    is FAILED, the list of dependencies still awaited, an ``ArrayRelease``, or ``NOT_YET``
    for a child of an unreleased array)."""
    if job.array_size is not None:
        return _admit_parent(conn, job, transitions)
    member = split_child(job.job_id)
    if member is None or job.array_properties is None:
        return None
    parent = records.load(conn, member[0])
    if parent is None or not arrays.state(parent).released:
        return NOT_YET
    return None


def _admit_parent(conn: Connection, parent: Job, transitions: Transitions) -> Admission:
    state = arrays.state(parent)
    if not state.released:
        resolved = records.resolution(conn, arrays.own_dependencies(parent))
        # Children with a row (cancelled one by one) announce their own changes.
        stored = frozenset(records.stored_children(conn, parent.job_id))
        if parent.status == SUBMITTED:
            transitions.pend(parent)
            transitions.children(parent, stored)
        cancel = parent.runtime.cancel_reason
        if resolved == FAILED or (resolved == SUCCEEDED and cancel is not None):
            now = now_ms()
            if cancel is not None:
                state.cancel = ArrayCancel(cancel, False, now)
                transitions.fail(parent, cancel, now, cancelled=True)
            else:
                transitions.fail(parent, DEPENDENCY_FAILED, now)
            transitions.children(parent, stored)
            records.save(conn, parent)
            return FAILED
        if isinstance(resolved, list):
            records.save(conn, parent)
            return resolved
        state.released = True
        state.released_at = now_ms()
        if not arrays.waits_per_child(parent):
            transitions.children(parent, stored)
        records.save(conn, parent)
    return release(conn, parent)


def release(conn: Connection, parent: Job) -> ArrayRelease:
    """What the scheduler needs for the released array ``parent``."""
    parent_id = parent.job_id
    size = parent.array_size or 0
    stored = records.stored_children(conn, parent_id)
    cancelled = arrays.state(parent).cancel is not None
    ended = {i for i, status in stored.items() if status in TERMINAL}
    if cancelled:
        ended.update(i for i in range(size) if i not in stored)
    sources = arrays.n_to_n_sources(parent)
    sequential = arrays.is_sequential(parent)
    result = ArrayRelease(parent_id, size, None, sources, sequential, ended=sorted(ended))
    if cancelled:
        return result
    if not sources and not sequential:
        demand = Demand.of(parent.container)
        result.entry = QueuedJob(parent_id, parent.job_queue, parent.seq, demand)
        result.skipped = sorted(stored)
        return result
    ready: set[int] = set()
    if sequential:
        ready.add(next((i for i in range(size) if i not in ended), size))
    for source in sources:
        ready.update(ended_children(conn, source)[1])
    result.evaluate = [child_id(parent_id, i) for i in sorted(ready) if i < size]
    return result


@dataclass(slots=True)
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


@dataclass(slots=True)
class CancelOutcome:
    """What a CancelJob / TerminateJob of an array parent did in the store (``deferred``:
    nothing yet, the array waits on its own dependencies)."""

    queue_arn: str
    failed: list[str] = field(default_factory=list)
    on_host: list[str] = field(default_factory=list)
    ended_unstored: list[int] = field(default_factory=list)
    parent_failed: bool = False
    deferred: bool = False


class ArrayProgress:
    """Released arrays of this server and the arrays that follow them N_TO_N."""

    def __init__(self, lifecycle: JobLifecycle, on_settled: Callable[[str], None]) -> None:
        self._lifecycle = lifecycle
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
        member = split_child(job_id)
        if member is None:
            # An array that ended without its children ending one by one (its dependency
            # failed, or it was cancelled before release): all its children failed.
            followers = self._followers.pop(job_id, set()) if job_id not in self._arrays else ()
            return [
                child_id(f, i)
                for f in followers
                if f in self._arrays
                for i in range(self._arrays[f].size)
            ]
        parent_id, index = member
        array = self._arrays.get(parent_id)
        if array is not None and not array.mark(index):
            return []
        found = [
            child_id(f, index)
            for f in self._followers.get(parent_id, ())
            if f in self._arrays and index < self._arrays[f].size
        ]
        if array is not None:
            if array.sequential and index + 1 < array.size:
                found.append(child_id(parent_id, index + 1))
            self._settle_if_done(parent_id)
        return found

    def cancelled(self, parent_id: str, indexes: Iterable[int]) -> list[str]:
        """Children ``indexes`` of ``parent_id`` failed with a cancel; returns the children
        that may go on now (their N_TO_N followers)."""
        found: list[str] = []
        for index in indexes:
            found += self.ended(child_id(parent_id, index))
        return found

    def _settle_if_done(self, parent_id: str) -> None:
        array = self._arrays.get(parent_id)
        if array is None or array.count < array.size or parent_id in self._settling:
            return
        task = asyncio.get_running_loop().create_task(self._settle(parent_id))
        self._settling[parent_id] = task

    async def _settle(self, parent_id: str) -> None:
        try:
            await self._lifecycle.write(partial(settle, parent_id))
        finally:
            del self._settling[parent_id]
        array = self._arrays.pop(parent_id, None)
        for source in array.sources if array else ():
            self._followers.get(source, set()).discard(parent_id)
        # Every child ended one by one, so the followers have all been woken already.
        self._followers.pop(parent_id, None)
        self._on_settled(parent_id)


def settle(parent_id: str, conn: Connection, transitions: Transitions) -> None:
    """Every child of ``parent_id`` has ended: SUCCEEDED, or FAILED if any child failed."""
    parent = records.load(conn, parent_id)
    if parent is None or parent.status in TERMINAL:
        return
    failure = CHILD_FAILED if records.any_child_failed(conn, parent_id) else None
    transitions.settle_array(parent, failure, status_summary(conn, parent))
    records.save(conn, parent)


def cancel(
    parent_id: str, reason: str, terminated: bool, conn: Connection, transitions: Transitions
) -> CancelOutcome | None:
    """Cancel (or terminate) array ``parent_id``; None if it is not one.

    Children not yet placed fail now; children on the host are left to the caller (a
    TerminateJob stops them). A parent not yet released fails at once, unless a CancelJob
    finds it waiting on unfinished dependencies: then admission cancels it once they are
    resolved.
    """
    parent = records.load(conn, parent_id)
    size = None if parent is None else parent.array_size
    if parent is None or size is None:
        return None
    result = CancelOutcome(parent.job_queue)
    if parent.status in TERMINAL:
        return result
    now = now_ms()
    state = arrays.state(parent)
    if (
        not terminated
        and not state.released
        and state.cancel is None
        and isinstance(records.resolution(conn, arrays.own_dependencies(parent)), list)
    ):
        transitions.defer_cancel(parent, reason)
        records.save(conn, parent)
        result.deferred = True
        return result
    stored = records.stored_children(conn, parent_id)
    if state.cancel is None:
        result.ended_unstored = [i for i in range(size) if i not in stored]
        state.cancel = ArrayCancel(reason, terminated, now)
    for index, status in sorted(stored.items()):
        job_id = child_id(parent_id, index)
        if status in ON_HOST:
            result.on_host.append(job_id)
        elif status in CANCELLABLE:
            child = records.load(conn, job_id)
            assert child is not None, job_id
            transitions.fail(
                child, reason, now, cancelled=not terminated, terminated=terminated
            )
            records.save(conn, child)
            result.failed.append(job_id)
    if result.ended_unstored:
        transitions.children(parent, frozenset(stored))
    if not state.released:
        transitions.fail(parent, reason, now, cancelled=not terminated, terminated=terminated)
        result.parent_failed = True
    records.save(conn, parent)
    return result


class ArrayCursor:
    """The indexes of an array's children still waiting in the parent's entry."""

    def __init__(self, size: int, skipped: Iterable[int] = ()) -> None:
        self.size = size
        self._skipped = set(skipped)
        self.next = 0
        self._settle()

    def _settle(self) -> None:
        while self.next in self._skipped:
            self._skipped.discard(self.next)
            self.next += 1

    def __len__(self) -> int:
        return max(self.size - self.next - len(self._skipped), 0)

    def skip(self, index: int) -> bool:
        """Drop ``index`` from the cursor; False when it was not waiting in it."""
        if index < self.next or index >= self.size or index in self._skipped:
            return False
        if index == self.next:
            self.next += 1
        else:
            self._skipped.add(index)
        self._settle()
        return True

    def indexes(self) -> Iterator[int]:
        """The waiting indexes, in order."""
        return (i for i in range(self.next, self.size) if i not in self._skipped)


class ArrayOrdering:
    """A queue ordering in which an array's waiting children take one entry."""

    def __init__(self, inner: QueueOrdering) -> None:
        self._inner = inner
        self._arrays: dict[str, tuple[QueuedJob, ArrayCursor]] = {}
        # The child the last head() offered: removing it means it was placed.
        self._offered: str | None = None

    def __len__(self) -> int:
        return len(self._inner) + sum(len(c) - 1 for _, c in self._arrays.values())

    def add_array(self, entry: QueuedJob, cursor: ArrayCursor) -> None:
        """Queue the waiting children of the array ``entry.job_id`` at ``entry``'s place."""
        if len(cursor):
            self._arrays[entry.job_id] = (entry, cursor)
            self._inner.add(entry)

    def add(self, job: QueuedJob) -> None:
        """A job became RUNNABLE."""
        self._inner.add(job)

    def add_front(self, job: QueuedJob) -> None:
        """A job is RUNNABLE again after a failed attempt."""
        self._inner.add_front(job)

    def _expand(self, job: QueuedJob) -> QueuedJob:
        array = self._arrays.get(job.job_id)
        if array is None:
            return job
        return dataclasses.replace(job, job_id=child_id(job.job_id, array[1].next))

    def head(self) -> QueuedJob | None:
        """The job to place next: a plain job, or an array's next child."""
        job = self._inner.head()
        if job is None:
            self._offered = None
            return None
        expanded = self._expand(job)
        self._offered = expanded.job_id if expanded is not job else None
        return expanded

    def remove(self, job_id: str) -> QueuedJob | None:
        """Forget a job, a whole array (by its parent id) or one child of an array."""
        if self._arrays.pop(job_id, None) is not None:
            self._offered = None
            return self._inner.remove(job_id)
        member = split_child(job_id)
        array = None if member is None else self._arrays.get(member[0])
        if member is None or array is None or not array[1].skip(member[1]):
            return self._inner.remove(job_id)
        entry, cursor = array
        child = dataclasses.replace(entry, job_id=job_id)
        if job_id == self._offered:
            self._offered = None
            self._inner.member_placed(entry.job_id, child)
        if not len(cursor):
            del self._arrays[entry.job_id]
            self._inner.remove(entry.job_id)
        return child

    def first(self, count: int) -> list[QueuedJob]:
        """Up to ``count`` jobs in dispatch order, an array's children one by one."""
        result: list[QueuedJob] = []
        for job in self._inner.first(count):
            array = self._arrays.get(job.job_id)
            indexes = [None] if array is None else array[1].indexes()
            for index in indexes:
                if len(result) == count:
                    return result
                result.append(
                    job
                    if index is None
                    else dataclasses.replace(job, job_id=child_id(job.job_id, index))
                )
        return result
