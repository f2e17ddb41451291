"""Consumable resources on the live scheduler: what is left of each, and the gate that holds
a queue's head until its units are there.

The pool keeps every consumable resource (by ARN) and the jobs holding units of it. A job
takes all it needs or nothing. Lowering ``total`` below what is in use lowers ``available``
at once and shows ``total`` converging as holders finish. A resource deleted while held, and
recreated under the same name, is a new generation: returns for the old one are ignored.

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
from dataclasses import dataclass, field

from batchyard.batch.jobs.model import QueuedJob
from batchyard.batch.resources.model import ConsumableResource, ConsumableType
from batchyard.batch.scheduler.ordering import JobTraits, Needs, QueueOrdering

HeldCallback = Callable[[str, str], None]
Defer = Callable[[Callable[[], None]], None]


@dataclass(slots=True)
class _Taken:
    arn: str
    generation: int
    quantity: int
    replenishable: bool


@dataclass(slots=True)
class Holding:
    """What one job took, and whether its job reached STARTING."""

    parts: list[_Taken] = field(default_factory=list)
    started: bool = False


class ConsumablePool:
    """Every consumable resource (by ARN) and the jobs holding units of them."""

    def __init__(self) -> None:
        self.resources: dict[str, ConsumableResource] = {}
        self._holdings: dict[str, Holding] = {}

    def put(self, resource: ConsumableResource) -> None:
        """A resource was created (or recreated) or its stored total changed."""
        current = self.resources.get(resource.arn)
        if current is not None and current.generation == resource.generation:
            current.total = resource.total
        else:
            self.resources[resource.arn] = resource

    def drop(self, arn: str) -> None:
        """A resource was deleted; what its holders return is ignored."""
        self.resources.pop(arn, None)

    def shortfall(self, needs: Needs) -> str | None:
        """Why ``needs`` cannot all be taken now, None when they can."""
        missing: list[str] = []
        for arn, quantity in needs:
            resource = self.resources.get(arn)
            name = arn.rsplit("/", 1)[-1]
            if resource is None:
                missing.append(f"{name} (does not exist)")
            elif resource.available < quantity:
                missing.append(f"{name} (needs {quantity}, {resource.available} available)")
        if not missing:
            return None
        return "Waiting for consumable resources: " + ", ".join(missing)

    def holds(self, job_id: str) -> bool:
        """Whether ``job_id`` holds units now."""
        return job_id in self._holdings

    def take(self, job_id: str, needs: Needs) -> None:
        """``job_id`` takes ``needs`` (checked with ``shortfall`` just before)."""
        holding = self._holdings.setdefault(job_id, Holding())
        for arn, quantity in needs:
            resource = self.resources.get(arn)
            if resource is None:
                continue
            replenishable = resource.resource_type != ConsumableType.NON_REPLENISHABLE
            if replenishable:
                resource.in_use += quantity
            else:
                resource.total -= quantity
            holding.parts.append(_Taken(arn, resource.generation, quantity, replenishable))

    def transfer(self, from_id: str, to_id: str) -> None:
        """Hand what ``from_id`` holds over to ``to_id`` (an array child takes its entry's
        claim)."""
        holding = self._holdings.pop(from_id, None)
        if holding is not None:
            self._holdings[to_id] = holding

    def started(self, job_id: str) -> list[tuple[str, int, int]]:
        """The job reached STARTING: its NON_REPLENISHABLE units are consumed for good.

        Returns (ARN, generation, new total) of each resource it consumed, for the store.
        """
        holding = self._holdings.get(job_id)
        if holding is None or holding.started:
            return []
        holding.started = True
        totals: list[tuple[str, int, int]] = []
        for part in holding.parts:
            resource = self.resources.get(part.arn)
            if part.replenishable or resource is None or resource.generation != part.generation:
                continue
            totals.append((part.arn, part.generation, resource.total))
        return totals

    def release(self, job_id: str) -> None:
        """The job left the host, or never got there: give back what can be given back.

        REPLENISHABLE units always return; NON_REPLENISHABLE ones only when the job never
        reached STARTING.
        """
        holding = self._holdings.pop(job_id, None)
        if holding is None:
            return
        for part in holding.parts:
            resource = self.resources.get(part.arn)
            if resource is None or resource.generation != part.generation:
                continue
            if part.replenishable:
                resource.in_use = max(0, resource.in_use - part.quantity)
            elif not holding.started:
                resource.total += part.quantity


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
