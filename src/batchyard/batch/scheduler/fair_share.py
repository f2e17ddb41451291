"""Fair-share ordering: which waiting job of a fair-share queue goes next.

A queue with a scheduling policy hands its next job to the share with the least weighted
usage (``ShareUsage`` charge x ``weightFactor``; a lower weight is a larger share), and within
a share to the highest ``schedulingPriority``, then the oldest. Identifiers matching a
``prefix*`` entry of the policy form one share with that entry's weight. While fewer shares
are active than could be, ``computeReservation`` keeps ``(computeReservation/100)^active`` of
the queue's vCPUs free for shares that have not shown up yet.

Jobs wait in one heap per share identifier, so finding the next job costs the number of
identifiers, never the number of waiting jobs. Jobs without a share identifier (every job
of a FIFO queue) keep plain FIFO order.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from batchyard.batch.jobs.records import QueuedJob
from batchyard.batch.scheduler.ordering import FifoOrdering
from batchyard.batch.scheduler.share_usage import ShareUsage

_Entry = tuple[int, int, str]  # (-schedulingPriority, seq, job id)


@dataclass(frozen=True)
class SharePolicy:
    """A ``fairsharePolicy`` as the ordering uses it (decay already time-scaled)."""

    decay_seconds: float = 0.0
    reservation: int = 0
    weights: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, fairshare: dict, time_scale: float) -> SharePolicy:
        """The policy of a stored ``fairsharePolicy`` document."""
        return cls(
            decay_seconds=float(fairshare.get("shareDecaySeconds", 0)) / time_scale,
            reservation=int(fairshare.get("computeReservation", 0)),
            weights=tuple(
                (share["shareIdentifier"], float(share.get("weightFactor", 1.0)))
                for share in fairshare.get("shareDistribution") or []
            ),
        )

    def bucket(self, share: str) -> str:
        """The share ``share`` is charged to: its own, or the ``prefix*`` entry it matches."""
        for identifier, _ in self.weights:
            if identifier == share:
                return share
            if identifier.endswith("*") and share.startswith(identifier[:-1]):
                return identifier
        return share

    def weight(self, bucket: str) -> float:
        """The weight factor of ``bucket`` (1.0 unless the policy says otherwise)."""
        return next((weight for identifier, weight in self.weights if identifier == bucket), 1.0)

    def allowed_vcpus(self, max_vcpus: float, active_shares: int) -> float:
        """vCPUs the queue may use while ``active_shares`` shares are active."""
        if not self.reservation:
            return max_vcpus
        return max_vcpus * (1.0 - (self.reservation / 100.0) ** max(active_shares, 1))


@dataclass(frozen=True)
class QueueSetting:
    """What a fair-share ordering needs to know about its queue right now."""

    policy: SharePolicy | None
    max_vcpus: float


# (share identifier, schedulingPriority) of a job, None share for a FIFO job.
TraitsLookup = Callable[[str], tuple[str | None, int]]
# Called when a job handed out by ``head`` leaves the ordering: (job, share identifier).
PlacedCallback = Callable[[QueuedJob, str | None], None]


class FairShareOrdering:
    """The waiting jobs of one queue, in fair-share order (FIFO for jobs without a share)."""

    def __init__(
        self,
        setting: Callable[[], QueueSetting],
        usage: ShareUsage,
        traits: TraitsLookup,
        on_placed: PlacedCallback,
    ) -> None:
        self._setting = setting
        self._usage = usage
        self._traits = traits
        self._on_placed = on_placed
        self._fifo = FifoOrdering()
        self._jobs: dict[str, tuple[QueuedJob, str, _Entry]] = {}
        self._heaps: dict[str, list[_Entry]] = {}
        self._stale = 0
        self._approved: str | None = None
        # Epoch ms of the last change that could move waiting jobs forward or back.
        self.moved_at = 0

    def __len__(self) -> int:
        return len(self._jobs) + len(self._fifo)

    def add(self, job: QueuedJob) -> None:
        """A job became RUNNABLE."""
        share, priority = self._traits(job.job_id)
        if share is None:
            self._fifo.add(job)
            return
        self._moved()
        entry = (-priority, job.seq, job.job_id)
        self._jobs[job.job_id] = (job, share, entry)
        heapq.heappush(self._heaps.setdefault(share, []), entry)

    def add_front(self, job: QueuedJob) -> None:
        """A retried job: it keeps its priority and its original place in its share."""
        if self._traits(job.job_id)[0] is None:
            self._moved()
            self._fifo.add_front(job)
        else:
            self.add(job)

    def head(self) -> QueuedJob | None:
        """The next job, or None when empty or when the compute reservation holds it back."""
        self._approved = None
        job = self._fifo.head()
        if job is None and self._jobs:
            job = self._fair_head()
        if job is not None:
            self._approved = job.job_id
        return job

    def remove(self, job_id: str) -> QueuedJob | None:
        """Forget a job; one handed out by ``head`` is reported as placed."""
        found = self._jobs.pop(job_id, None)
        if found is None:
            job = self._fifo.remove(job_id)
            share = None
        else:
            job, share, entry = found
            heap = self._heaps[share]
            if heap and heap[0] == entry:
                heapq.heappop(heap)
            else:
                self._stale += 1
            if not heap:
                del self._heaps[share]
            if self._stale > len(self._jobs) + 64:
                self._compact()
        if job is not None:
            self._moved()
        if job is not None and job_id == self._approved:
            self._approved = None
            self._on_placed(job, share)
        return job

    def first(self, count: int) -> list[QueuedJob]:
        """Up to ``count`` jobs in the order they would be handed out if all fitted now."""
        result = self._fifo.first(count)
        if len(result) >= count or not self._jobs:
            return result
        policy = self._policy()
        charges = self._charges(policy)
        cursors = {share: _sorted(heap) for share, heap in self._heaps.items()}
        fronts: dict[str, _Entry] = {}
        for share, cursor in cursors.items():
            entry = self._next_live(cursor, set())
            if entry is not None:
                fronts[share] = entry
        seen: set[str] = set()
        while len(result) < count and fronts:
            share = self._pick(policy, charges, fronts)
            entry = fronts.pop(share)
            seen.add(entry[2])
            job = self._jobs[entry[2]][0]
            result.append(job)
            bucket = policy.bucket(share)
            charges[bucket] = charges.get(bucket, 0.0) + job.demand.vcpus
            following = self._next_live(cursors[share], seen)
            if following is not None:
                fronts[share] = following
        return result

    def member_placed(self, entry_id: str, job: QueuedJob) -> None:
        """An array child handed out under the approved entry ``entry_id``: its share is
        charged now, so the next head of the same pass already sees it."""
        found = self._jobs.get(entry_id)
        if entry_id != self._approved or found is None:
            return
        self._approved = None
        self._moved()
        self._on_placed(job, found[1])

    def waiting_shares(self) -> list[str]:
        """Share identifiers with jobs waiting here."""
        return list(self._heaps)

    # -- internals --------------------------------------------------------------------

    def _moved(self) -> None:
        self.moved_at = int(time.time() * 1000)

    def _policy(self) -> SharePolicy:
        return self._setting().policy or SharePolicy()

    def _charges(self, policy: SharePolicy) -> dict[str, float]:
        charges: dict[str, float] = {}
        for share in self._usage.shares():
            bucket = policy.bucket(share)
            charges[bucket] = charges.get(bucket, 0.0) + self._usage.charge(
                share, policy.decay_seconds
            )
        return charges

    def _fair_head(self) -> QueuedJob | None:
        setting = self._setting()
        policy = setting.policy or SharePolicy()
        fronts: dict[str, _Entry] = {}
        for share in list(self._heaps):
            entry = self._top(share)
            if entry is not None:
                fronts[share] = entry
        if not fronts:
            return None
        share = self._pick(policy, self._charges(policy), fronts)
        job = self._jobs[fronts[share][2]][0]
        if policy.reservation:
            active = {policy.bucket(s) for s in fronts}
            active.update(
                policy.bucket(s)
                for s in self._usage.shares()
                if self._usage.active(s, policy.decay_seconds)
            )
            allowed = policy.allowed_vcpus(setting.max_vcpus, len(active))
            if self._usage.total_running() + job.demand.vcpus > allowed + 1e-9:
                return None
        return job

    @staticmethod
    def _pick(policy: SharePolicy, charges: dict[str, float], fronts: dict[str, _Entry]) -> str:
        """The identifier whose front job goes next: least weighted charge of its share,
        then (within a share, and on ties) highest priority, then oldest."""
        best_bucket: dict[str, str] = {}
        for share, entry in fronts.items():
            bucket = policy.bucket(share)
            current = best_bucket.get(bucket)
            if current is None or entry < fronts[current]:
                best_bucket[bucket] = share
        return min(
            best_bucket.values(),
            key=lambda share: (
                policy.weight(policy.bucket(share)) * charges.get(policy.bucket(share), 0.0),
                fronts[share][1],
            ),
        )

    def _top(self, share: str) -> _Entry | None:
        heap = self._heaps[share]
        while heap and self._jobs.get(heap[0][2], (None, None, None))[2] != heap[0]:
            heapq.heappop(heap)
            self._stale = max(0, self._stale - 1)
        if not heap:
            del self._heaps[share]
            return None
        return heap[0]

    def _next_live(self, cursor: Iterator[_Entry], seen: set[str]) -> _Entry | None:
        for entry in cursor:
            live = self._jobs.get(entry[2])
            if live is not None and live[2] == entry and entry[2] not in seen:
                return entry
        return None

    def _compact(self) -> None:
        heaps: dict[str, list[_Entry]] = {}
        for _, share, entry in self._jobs.values():
            heaps.setdefault(share, []).append(entry)
        for heap in heaps.values():
            heapq.heapify(heap)
        self._heaps = heaps
        self._stale = 0


def _sorted(heap: list[_Entry]) -> Iterator[_Entry]:
    """The entries of a binary heap in order, without changing it (k log k for k taken)."""
    if not heap:
        return
    frontier = [(heap[0], 0)]
    while frontier:
        entry, index = heapq.heappop(frontier)
        yield entry
        for child in (2 * index + 1, 2 * index + 2):
            if child < len(heap):
                heapq.heappush(frontier, (heap[child], child))
