"""Which waiting job of a queue is offered capacity next.

An ordering holds the RUNNABLE jobs of one queue. The scheduler only ever looks at the head,
so a pass costs the same with ten jobs waiting or a million. FIFO is the default; a
fair-share ordering implements the same protocol.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from batchyard.batch.jobs.records import QueuedJob


class QueueOrdering(Protocol):
    """The waiting jobs of one queue, in dispatch order."""

    def __len__(self) -> int: ...

    def add(self, job: QueuedJob) -> None:
        """A job became RUNNABLE."""
        ...

    def add_front(self, job: QueuedJob) -> None:
        """A job is RUNNABLE again after a failed attempt: it goes first."""
        ...

    def head(self) -> QueuedJob | None:
        """The job to place next, None when empty."""
        ...

    def remove(self, job_id: str) -> QueuedJob | None:
        """Forget a job (placed, cancelled ...); returns it if it was here."""
        ...

    def first(self, count: int) -> list[QueuedJob]:
        """Up to ``count`` jobs in dispatch order (queue snapshots)."""
        ...

    def member_placed(self, entry_id: str, job: QueuedJob) -> None:
        """``job``, one member of the entry ``entry_id`` handed out by ``head`` (an array's
        child), has been placed while the entry stays queued."""
        ...


class FifoOrdering:
    """First in, first out by submission; retried jobs jump the queue."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, QueuedJob] = OrderedDict()

    def __len__(self) -> int:
        return len(self._jobs)

    def add(self, job: QueuedJob) -> None:
        """Append ``job``."""
        self._jobs[job.job_id] = job

    def add_front(self, job: QueuedJob) -> None:
        """Put ``job`` first."""
        self._jobs[job.job_id] = job
        self._jobs.move_to_end(job.job_id, last=False)

    def head(self) -> QueuedJob | None:
        """The oldest job."""
        return next(iter(self._jobs.values()), None)

    def remove(self, job_id: str) -> QueuedJob | None:
        """Drop ``job_id``."""
        return self._jobs.pop(job_id, None)

    def first(self, count: int) -> list[QueuedJob]:
        """The ``count`` oldest jobs."""
        result = []
        for job in self._jobs.values():
            if len(result) == count:
                break
            result.append(job)
        return result

    def member_placed(self, entry_id: str, job: QueuedJob) -> None:
        """Nothing to account for in FIFO order."""


OrderingFactory = Callable[[str], QueueOrdering]


def fifo(_queue_arn: str) -> QueueOrdering:
    """The default ordering factory: FIFO for every queue."""
    return FifoOrdering()
