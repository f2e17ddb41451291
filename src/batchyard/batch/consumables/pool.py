"""What is left of each consumable resource, at every moment.

``total`` is the stored quantity; ``in_use`` counts REPLENISHABLE units held by jobs between
STARTING and their end. A NON_REPLENISHABLE unit is gone for good when its job starts: it
leaves ``total`` instead. Lowering ``total`` below what is in use lowers ``available`` at once
and shows ``total`` converging as holders finish.

A job takes all it needs or nothing. A resource deleted while held, and recreated under
the same name, is a new generation: returns for the old one are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from batchyard.batch.scheduler.job_traits import Needs

REPLENISHABLE = "REPLENISHABLE"
NON_REPLENISHABLE = "NON_REPLENISHABLE"


@dataclass(slots=True)
class Resource:
    """One consumable resource as the scheduler sees it."""

    name: str
    arn: str
    resource_type: str
    total: int
    created_at: int
    generation: int
    in_use: int = 0

    @property
    def available(self) -> int:
        """Units a job could take now."""
        return max(0, self.total - self.in_use)

    @property
    def reported_total(self) -> int:
        """``totalQuantity`` as AWS reports it while a lowered total converges."""
        return max(self.total, self.in_use)


@dataclass(slots=True)
class _Taken:
    name: str
    generation: int
    quantity: int
    replenishable: bool


@dataclass
class Holding:
    """What one job took, and whether its job reached STARTING."""

    parts: list[_Taken] = field(default_factory=list)
    started: bool = False


class ConsumablePool:
    """Every consumable resource and the jobs holding units of them."""

    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}
        self._holdings: dict[str, Holding] = {}

    def put(self, resource: Resource) -> None:
        """A resource was created (or recreated) or its stored total changed."""
        current = self.resources.get(resource.name)
        if current is not None and current.generation == resource.generation:
            current.total = resource.total
        else:
            self.resources[resource.name] = resource

    def drop(self, name: str) -> None:
        """A resource was deleted; what its holders return is ignored."""
        self.resources.pop(name, None)

    def shortfall(self, needs: Needs) -> str | None:
        """Why ``needs`` cannot all be taken now, None when they can."""
        missing = []
        for name, quantity in needs:
            resource = self.resources.get(name)
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
        for name, quantity in needs:
            resource = self.resources.get(name)
            if resource is None:
                continue
            replenishable = resource.resource_type != NON_REPLENISHABLE
            if replenishable:
                resource.in_use += quantity
            else:
                resource.total -= quantity
            holding.parts.append(_Taken(name, resource.generation, quantity, replenishable))

    def transfer(self, from_id: str, to_id: str) -> None:
        """Hand what ``from_id`` holds over to ``to_id`` (an array child takes its entry's
        claim)."""
        holding = self._holdings.pop(from_id, None)
        if holding is not None:
            self._holdings[to_id] = holding

    def started(self, job_id: str) -> list[tuple[str, int, int]]:
        """The job reached STARTING: its NON_REPLENISHABLE units are consumed for good.

        Returns (name, generation, new total) of each resource it consumed, for the store.
        """
        holding = self._holdings.get(job_id)
        if holding is None or holding.started:
            return []
        holding.started = True
        totals = []
        for part in holding.parts:
            resource = self.resources.get(part.name)
            if part.replenishable or resource is None or resource.generation != part.generation:
                continue
            totals.append((part.name, part.generation, resource.total))
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
            resource = self.resources.get(part.name)
            if resource is None or resource.generation != part.generation:
                continue
            if part.replenishable:
                resource.in_use = max(0, resource.in_use - part.quantity)
            elif not holding.started:
                resource.total += part.quantity
