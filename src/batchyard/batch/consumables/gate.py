"""A queue ordering whose head waits for its consumable resources.

AWS holds a job that reaches the head of its queue in RUNNABLE until every consumable
resource it needs is available; the jobs behind it wait too. ``ConsumableGate`` wraps a
queue's ordering: a head whose needs are short is not handed out (``on_held`` is told why),
and a plain job that leaves the ordering after being handed out takes its units at once, so
the next head of any queue in the same pass already sees them gone.

An array entry hands out its children without leaving the ordering, so a child's units are
claimed in the entry's name when it is handed out (``claim_key``) and pass to the child when
it reaches STARTING; an array entry hands out at most one child per pass, and a claim no
child took by the next pass (the child did not fit after all) is given back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from batchyard.batch.consumables.pool import ConsumablePool
from batchyard.batch.jobs.records import QueuedJob
from batchyard.batch.scheduler.job_traits import JobTraits
from batchyard.batch.scheduler.ordering import QueueOrdering

HeldCallback = Callable[[str, str], None]
Defer = Callable[[Callable[[], None]], None]


def claim_key(entry_id: str) -> str:
    """Under which id an array entry's handed-out child holds units until it starts."""
    return f"{entry_id}|claim"


def _call_soon(callback: Callable[[], None]) -> None:
    asyncio.get_running_loop().call_soon(callback)


class ConsumableGate:
    """``inner`` with heads held back while their consumable resources are short."""

    def __init__(
        self,
        inner: QueueOrdering,
        pool: ConsumablePool,
        traits: JobTraits,
        on_held: HeldCallback,
        defer: Defer = _call_soon,
    ) -> None:
        self._inner = inner
        self._pool = pool
        self._traits = traits
        self._on_held = on_held
        self._defer = defer
        self._approved: str | None = None
        self._claim: str | None = None
        # An array entry handed out a child in the current pass (same event-loop turn).
        self._array_turn = False

    def __len__(self) -> int:
        return len(self._inner)

    def add(self, job: QueuedJob) -> None:
        """A job became RUNNABLE."""
        self._inner.add(job)

    def add_front(self, job: QueuedJob) -> None:
        """A job is RUNNABLE again after a failed attempt."""
        self._inner.add_front(job)

    def head(self) -> QueuedJob | None:
        """The inner head, unless it must wait for consumable resources."""
        if self._array_turn:
            return None
        self._approved = None
        if self._claim is not None:
            self._pool.release(self._claim)
            self._claim = None
        job = self._inner.head()
        if job is None:
            return None
        needs = self._traits.needs(job.job_id)
        if not needs:
            return job
        reason = self._pool.shortfall(needs)
        if reason is not None:
            self._on_held(job.job_id, reason)
            return None
        self._approved = job.job_id
        if self._traits.is_array(job.job_id):
            self._claim = claim_key(job.job_id)
            self._pool.take(self._claim, needs)
            self._array_turn = True
            self._defer(self._end_turn)
        return job

    def remove(self, job_id: str) -> QueuedJob | None:
        """Forget a job; a plain job handed out by ``head`` takes its units now."""
        job = self._inner.remove(job_id)
        if job_id == self._approved:
            self._approved = None
            if job is not None and not self._traits.is_array(job_id):
                self._pool.take(job_id, self._traits.needs(job_id))
        return job

    def first(self, count: int) -> list[QueuedJob]:
        """The inner order (a held head stays first)."""
        return self._inner.first(count)

    def member_placed(self, entry_id: str, job: QueuedJob) -> None:
        """Passed on: an array's claim moves to its child when the child starts."""
        self._inner.member_placed(entry_id, job)

    def _end_turn(self) -> None:
        self._array_turn = False
