"""One entry per released array in a queue's RUNNABLE index, however many children wait.

``ArrayOrdering`` wraps any queue ordering (FIFO, fair share ...). An array whose children
have no dependencies of their own is added to the wrapped ordering once, as an entry keyed
by the parent id at the parent's position; a cursor beside it yields the children in index
order. When that entry is the head, the head is the cursor's next child; removing that child
(it was placed) advances the cursor, and the entry leaves the wrapped ordering with its last
child. Children leaving out of order (cancelled alone) are skipped when the cursor gets
there. Children that have a queue entry of their own (retried ones) are plain entries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from batchyard.batch.arrays import children
from batchyard.batch.jobs.records import QueuedJob
from batchyard.batch.scheduler.ordering import QueueOrdering


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
        return dataclasses.replace(job, job_id=children.child_id(job.job_id, array[1].next))

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
        member = children.split(job_id)
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
                    else dataclasses.replace(job, job_id=children.child_id(job.job_id, index))
                )
        return result
