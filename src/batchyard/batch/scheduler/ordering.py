"""Which waiting job of a queue is offered capacity next: FIFO, and fair share.

An ordering holds the RUNNABLE jobs of one queue. The scheduler only ever looks at the head,
so a pass costs the same with ten jobs waiting or a million. FIFO is the default.

A queue with a scheduling policy hands its next job to the share with the least weighted
usage (``ShareUsage`` charge x ``weightFactor``; a lower weight is a larger share), and within
a share to the highest ``schedulingPriority``, then the oldest. Identifiers matching a
``prefix*`` entry of the policy form one share with that entry's weight. While fewer shares
are active than could be, ``computeReservation`` keeps ``(computeReservation/100)^active`` of
the queue's vCPUs free for shares that have not shown up yet. Jobs wait in one heap per share
identifier, so finding the next job costs the number of identifiers, never the number of
waiting jobs. Jobs without a share identifier (every job of a FIFO queue) keep plain FIFO
order.

AWS charges a share identifier its vCPU usage over time; ``shareDecaySeconds`` is how far back
that usage reaches. Here each identifier keeps the vCPUs its jobs hold now and an
exponentially decayed average of them, with ``shareDecaySeconds`` as the time constant (0:
only what runs now counts). The charge compared between shares is the average plus what runs
now, so jobs handed out in one scheduling pass count at once, before any time has passed.

A waiting job's share identifier, scheduling priority and consumable-resource needs are
taken from its changes as the job lifecycle announces them (the scheduler queues a job after
its PENDING / RUNNABLE change) and from the store at start-up (``JobTraits``). Only jobs that
have any of them take memory here, plus the ids of waiting array parents (their children,
not they, are what gets placed).
"""

from __future__ import annotations

import heapq
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.jobs.model import TERMINAL, WAITING, Job, QueuedJob
from batchyard.batch.resources.model import FairsharePolicy
from batchyard.store.tables.batch_jobs import jobs
from batchyard.store.tables.batch_scheduling import consumable_demands

Clock = Callable[[], float]
# (consumable resource ARN, quantity) pairs one attempt of a job takes.
Needs = tuple[tuple[str, int], ...]


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
        result: list[QueuedJob] = []
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


@dataclass(slots=True)
class _Account:
    running: float = 0.0
    average: float = 0.0
    at: float = 0.0
    last_active: float = 0.0


class ShareUsage:
    """Running and decayed vCPU usage per share identifier of one queue."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._accounts: dict[str, _Account] = {}

    def start(self, share: str, vcpus: float, decay_seconds: float) -> None:
        """A job of ``share`` holding ``vcpus`` left the queue for the host."""
        account = self._advance(share, decay_seconds)
        account.running += vcpus

    def stop(self, share: str, vcpus: float, decay_seconds: float) -> None:
        """A job of ``share`` holding ``vcpus`` left the host."""
        account = self._advance(share, decay_seconds)
        account.running = max(0.0, account.running - vcpus)
        if account.running <= 1e-9 and decay_seconds <= 0:
            # Without a decay window an idle share has no history worth keeping.
            del self._accounts[share]

    def charge(self, share: str, decay_seconds: float) -> float:
        """The usage ``share`` is compared by (not yet weighted)."""
        account = self._accounts.get(share)
        if account is None:
            return 0.0
        account = self._advance(share, decay_seconds)
        return account.average + account.running

    def running(self, share: str) -> float:
        """vCPUs ``share``'s jobs hold now."""
        account = self._accounts.get(share)
        return account.running if account else 0.0

    def total_running(self) -> float:
        """vCPUs all shares' jobs hold now."""
        return sum(account.running for account in self._accounts.values())

    def active(self, share: str, decay_seconds: float) -> bool:
        """Whether ``share`` ran a job within the decay window (or runs one now)."""
        account = self._accounts.get(share)
        if account is None:
            return False
        return account.running > 0 or self._clock() - account.last_active <= decay_seconds

    def shares(self) -> list[str]:
        """Identifiers with any usage on record."""
        return list(self._accounts)

    def _advance(self, share: str, decay_seconds: float) -> _Account:
        now = self._clock()
        account = self._accounts.get(share)
        if account is None:
            account = self._accounts[share] = _Account(at=now, last_active=now)
            return account
        elapsed = max(0.0, now - account.at)
        if decay_seconds <= 0:
            account.average = account.running
        elif elapsed:
            keep = math.exp(-elapsed / decay_seconds)
            account.average = account.average * keep + account.running * (1.0 - keep)
        account.at = now
        if account.running > 0:
            account.last_active = now
        return account


_Entry = tuple[int, int, str]  # (-schedulingPriority, seq, job id)


@dataclass(frozen=True, slots=True)
class SharePolicy:
    """A ``fairsharePolicy`` as the ordering uses it (decay already time-scaled)."""

    decay_seconds: float = 0.0
    reservation: int = 0
    weights: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, fairshare: FairsharePolicy, time_scale: float) -> SharePolicy:
        """The policy of a scheduling policy's ``fairsharePolicy``."""
        return cls(
            decay_seconds=float(fairshare.share_decay_seconds) / time_scale,
            reservation=int(fairshare.compute_reservation),
            weights=tuple(
                (share.share_identifier, share.weight_factor)
                for share in fairshare.share_distribution
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


@dataclass(frozen=True, slots=True)
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


class JobTraits:
    """Share identifier, scheduling priority and consumable needs of waiting jobs."""

    def __init__(self) -> None:
        self._sharing: dict[str, tuple[str, int]] = {}
        self._needs: dict[str, Needs] = {}
        self._arrays: set[str] = set()

    def on_job(self, job: Job) -> None:
        """A job changed (a listener of the job lifecycle)."""
        job_id = job.job_id
        if job.status in WAITING:
            if job.share_identifier:
                self._sharing[job_id] = (job.share_identifier, job.scheduling_priority or 0)
            needs = job.needs()
            if needs:
                self._needs[job_id] = needs
            if job.array_size is not None:
                self._arrays.add(job_id)
        elif job.status in TERMINAL:
            self._sharing.pop(job_id, None)
            self._needs.pop(job_id, None)
            self._arrays.discard(job_id)

    def sharing(self, job_id: str) -> tuple[str | None, int]:
        """(share identifier, scheduling priority); None share for a FIFO job."""
        return self._sharing.get(job_id) or (None, 0)

    def needs(self, job_id: str) -> Needs:
        """The consumable resources one attempt of ``job_id`` takes."""
        return self._needs.get(job_id, ())

    def is_array(self, job_id: str) -> bool:
        """Whether ``job_id`` is a queued array entry whose children are what gets placed."""
        return job_id in self._arrays

    def load(self, conn: Connection) -> None:
        """Learn the waiting jobs of a previous run (start-up, before the scheduler starts)."""
        priority = jobs.c.document["schedulingPriority"].as_integer()
        array = jobs.c.document["arrayProperties"]
        waiting = jobs.c.status.in_([status.value for status in WAITING])
        rows = conn.execute(
            sa.select(jobs.c.job_id, jobs.c.share_identifier, priority, array).where(
                waiting, jobs.c.share_identifier.is_not(None)
            )
        )
        for job_id, share, job_priority, properties in rows:
            self._sharing[job_id] = (share, int(job_priority or 0))
            if _is_parent(properties):
                self._arrays.add(job_id)
        demands = conn.execute(
            sa.select(
                consumable_demands.c.job_id,
                consumable_demands.c.resource_name,
                consumable_demands.c.quantity,
                jobs.c.account_id,
                jobs.c.region,
                array,
            )
            .join(jobs, jobs.c.job_id == consumable_demands.c.job_id)
            .where(waiting)
        )
        for job_id, name, quantity, account, region, properties in demands:
            arn = f"arn:aws:batch:{region}:{account}:consumable-resource/{name}"
            self._needs[job_id] = (*self._needs.get(job_id, ()), (arn, int(quantity)))
            if _is_parent(properties):
                self._arrays.add(job_id)


def _is_parent(array_properties: dict[str, int] | None) -> bool:
    properties = array_properties or {}
    return properties.get("size") is not None and "index" not in properties
