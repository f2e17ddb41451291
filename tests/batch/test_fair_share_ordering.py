"""Fair-share ordering, share usage and the consumable pool as plain Python (no server)."""

from __future__ import annotations

import time
from collections.abc import Callable

from batchyard.batch.jobs.model import ArrayProperties, Demand, Job, JobStatus, QueuedJob, child_id
from batchyard.batch.resources.model import ConsumableResource, ConsumableType
from batchyard.batch.scheduler.arrays import ArrayCursor, ArrayOrdering
from batchyard.batch.scheduler.consumables import ConsumableGate, ConsumablePool, claim_key
from batchyard.batch.scheduler.ordering import (
    FairShareOrdering,
    JobTraits,
    QueueSetting,
    SharePolicy,
    ShareUsage,
)

ONE = Demand(1.0, 0, 0)
LIC = "arn:aws:batch:r:1:consumable-resource/lic"
ONCE = "arn:aws:batch:r:1:consumable-resource/once"


def resource(arn: str, kind: str, total: int, generation: int) -> ConsumableResource:
    return ConsumableResource(
        arn.rsplit("/", 1)[-1], arn, ConsumableType(kind), total, 0, generation
    )


def waiting(
    job_id: str, status: JobStatus, needs: tuple[tuple[str, int], ...], size: int | None = None
) -> Job:
    """A waiting job of account 1 in region r that needs consumable resources (by name)."""
    return Job(
        job_id,
        f"arn:aws:batch:r:1:job/{job_id}",
        job_id,
        "arn:aws:batch:r:1:job-queue/q",
        "arn:aws:batch:r:1:job-definition/d:1",
        status,
        0,
        "1",
        "r",
        1,
        consumable_resource_properties={
            "consumableResourceList": [
                {"consumableResource": n, "quantity": q} for n, q in needs
            ]
        },
        array_properties=ArrayProperties(size) if size else None,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def build(
    policy: SharePolicy | None,
    traits: dict[str, tuple[str | None, int]],
    max_vcpus: float = 100.0,
    clock: Callable[[], float] | None = None,
) -> tuple[FairShareOrdering, ShareUsage, list[str]]:
    """An ordering whose placed jobs run forever (charged to their share)."""
    usage = ShareUsage(clock or Clock())
    decay = policy.decay_seconds if policy else 0.0
    placed: list[str] = []

    def on_placed(job: QueuedJob, share: str | None) -> None:
        placed.append(job.job_id)
        usage.start(share or "", job.demand.vcpus, decay)

    ordering = FairShareOrdering(
        lambda: QueueSetting(policy, max_vcpus),
        usage,
        lambda job_id: traits.get(job_id, (None, 0)),
        on_placed,
    )
    return ordering, usage, placed


def job(job_id: str, seq: int, vcpus: float = 1.0) -> QueuedJob:
    return QueuedJob(job_id, "q", seq, Demand(vcpus, 0, 0))


def drain(ordering: FairShareOrdering, count: int) -> list[str]:
    taken = []
    for _ in range(count):
        head = ordering.head()
        if head is None:
            break
        ordering.remove(head.job_id)
        taken.append(head.job_id)
    return taken


def test_weights_split_capacity_by_inverse_weight() -> None:
    policy = SharePolicy(weights=(("a", 1.0), ("b", 3.0)))
    traits = {f"{s}{i}": (s, 0) for s in "ab" for i in range(40)}
    ordering, usage, _ = build(policy, traits)
    seq = 0
    for i in range(40):
        for share in "ab":
            seq += 1
            ordering.add(job(f"{share}{i}", seq))
    taken = drain(ordering, 40)
    assert sum(1 for t in taken if t.startswith("a")) == 30
    assert usage.running("a") == 30 and usage.running("b") == 10


def test_prefix_shares_one_weight_and_one_account() -> None:
    policy = SharePolicy(weights=(("blue*", 1.0),))
    traits = {"b1": ("blue1", 0), "b2": ("blue2", 0), "r1": ("red", 0), "r2": ("red", 0)}
    ordering, _, _ = build(policy, traits)
    for seq, job_id in enumerate(["b1", "b2", "r1", "r2"]):
        ordering.add(job(job_id, seq))
    # blue1 and blue2 are one share: after b1 runs, red (no usage) goes before b2.
    assert drain(ordering, 4) == ["b1", "r1", "b2", "r2"]


def test_priority_orders_within_a_share_then_fifo() -> None:
    traits = {"low": ("s", 1), "high": ("s", 9), "mid1": ("s", 5), "mid2": ("s", 5)}
    ordering, _, _ = build(SharePolicy(), traits)
    for seq, job_id in enumerate(["low", "mid1", "high", "mid2"]):
        ordering.add(job(job_id, seq))
    assert [j.job_id for j in ordering.first(10)] == ["high", "mid1", "mid2", "low"]
    assert drain(ordering, 4) == ["high", "mid1", "mid2", "low"]


def test_first_predicts_the_hand_out_order() -> None:
    policy = SharePolicy(weights=(("a", 1.0), ("b", 2.5)))
    traits = {f"{s}{i}": (s, i % 3) for s in "ab" for i in range(6)}
    ordering, _, _ = build(policy, traits)
    for seq, job_id in enumerate(sorted(traits)):
        ordering.add(job(job_id, seq))
    predicted = [j.job_id for j in ordering.first(12)]
    assert predicted == drain(ordering, 12)


def test_compute_reservation_keeps_room_for_shares_not_yet_active() -> None:
    policy = SharePolicy(reservation=50, weights=())
    traits = {f"a{i}": ("a", 0) for i in range(10)} | {"b0": ("b", 0)}
    ordering, usage, _ = build(policy, traits, max_vcpus=4)
    for i in range(10):
        ordering.add(job(f"a{i}", i))
    # One active share: (50/100)^1 of 4 vCPUs stays free.
    assert len(drain(ordering, 10)) == 2
    assert ordering.head() is None
    ordering.add(job("b0", 100))
    # Two active shares: 25% reserved, so 3 vCPUs may be used; the newcomer gets the third.
    assert drain(ordering, 10) == ["b0"]
    assert usage.total_running() == 3


def test_decayed_usage_remembers_past_runs() -> None:
    clock = Clock()
    usage = ShareUsage(clock)
    usage.start("a", 2.0, 10.0)
    clock.now = 10.0
    usage.stop("a", 2.0, 10.0)
    remembered = usage.charge("a", 10.0)
    assert 1.2 < remembered < 1.3  # 2 * (1 - e^-1)
    clock.now = 20.0
    assert abs(usage.charge("a", 10.0) - remembered * 0.3679) < 0.01
    assert usage.active("a", 10.0) and not usage.active("a", 5.0)
    usage.start("b", 1.0, 0.0)
    usage.stop("b", 1.0, 0.0)
    assert usage.charge("b", 0.0) == 0.0


def test_fifo_jobs_keep_plain_fifo_with_retries_first() -> None:
    ordering, _, placed = build(None, {})
    for seq in range(3):
        ordering.add(job(f"j{seq}", seq))
    ordering.add_front(job("retry", 99))
    assert drain(ordering, 4) == ["retry", "j0", "j1", "j2"]
    assert placed == ["retry", "j0", "j1", "j2"]


def test_removing_waiting_jobs_does_not_count_as_placement() -> None:
    traits = {f"j{i}": ("s", 0) for i in range(200)}
    ordering, _, placed = build(SharePolicy(), traits)
    for i in range(200):
        ordering.add(job(f"j{i}", i))
    for i in range(1, 199):
        ordering.remove(f"j{i}")
    assert placed == [] and len(ordering) == 2
    assert drain(ordering, 5) == ["j0", "j199"]


def gate_for(
    pool: ConsumablePool, needs: dict[str, tuple[tuple[str, int], ...]]
) -> tuple[ConsumableGate, list[tuple[str, str]]]:
    traits = JobTraits()
    for job_id, wanted in needs.items():
        traits.on_job(waiting(job_id, JobStatus.RUNNABLE, wanted))
    inner, _, _ = build(None, {})
    held: list[tuple[str, str]] = []
    return ConsumableGate(
        inner, pool, traits, lambda j, r: held.append((j, r)), lambda _: None
    ), held


def test_gate_holds_the_head_until_every_resource_is_there() -> None:
    pool = ConsumablePool()
    pool.put(resource(LIC, "REPLENISHABLE", 3, 1))
    pool.put(resource(ONCE, "NON_REPLENISHABLE", 1, 2))
    gate, held = gate_for(pool, {"a": (("lic", 2),), "b": (("lic", 2), ("once", 1))})
    gate.add(job("a", 1))
    gate.add(job("b", 2))
    assert drain_gate(gate) == ["a"]
    assert held == [("b", "Waiting for consumable resources: lic (needs 2, 1 available)")]
    assert pool.resources[LIC].in_use == 2 and pool.resources[LIC].available == 1
    pool.started("a")
    pool.release("a")
    assert drain_gate(gate) == ["b"]
    assert pool.started("b") == [(ONCE, 2, 0)]
    pool.release("b")
    assert pool.resources[ONCE].total == 0
    assert pool.resources[LIC].in_use == 0 and pool.resources[LIC].total == 3


def test_lowering_a_held_total_converges_as_holders_finish() -> None:
    pool = ConsumablePool()
    pool.put(resource(LIC, "REPLENISHABLE", 3, 1))
    pool.take("a", ((LIC, 3),))
    pool.resources[LIC].total = 1
    assert pool.resources[LIC].available == 0
    assert pool.resources[LIC].reported_total == 3
    pool.release("a")
    assert pool.resources[LIC].reported_total == 1
    pool.take("b", ((LIC, 1),))
    pool.drop(LIC)
    pool.put(resource(LIC, "REPLENISHABLE", 5, 7))
    pool.release("b")
    assert pool.resources[LIC].in_use == 0 and pool.resources[LIC].available == 5


def drain_gate(gate: ConsumableGate) -> list[str]:
    taken = []
    while (head := gate.head()) is not None:
        gate.remove(head.job_id)
        taken.append(head.job_id)
    return taken


def test_handing_out_costs_the_same_at_any_depth() -> None:
    # A scan of the waiting jobs would be 250x slower at the larger depth; heaps stay
    # within a few x (cache effects only).
    timings = []
    for depth in (2_000, 500_000):
        traits = {}
        ordering, _, _ = build(SharePolicy(weights=(("a", 1.0), ("b", 2.0))), traits)
        for seq in range(depth):
            job_id = f"j{seq}"
            traits[job_id] = ("ab"[seq % 2], seq % 7)
            ordering.add(job(job_id, seq))
        rounds = []
        for _ in range(3):
            started = time.perf_counter()
            assert len(ordering.first(100)) == 100
            assert len(drain(ordering, 300)) == 300
            rounds.append(time.perf_counter() - started)
        timings.append(min(rounds))
    assert timings[1] < timings[0] * 12, timings


def test_an_array_child_claims_units_in_its_arrays_name_until_it_starts() -> None:
    pool = ConsumablePool()
    pool.put(resource(LIC, "REPLENISHABLE", 3, 1))
    traits = JobTraits()
    for job_id, size in (("arr", 3), ("plain", None)):
        traits.on_job(waiting(job_id, JobStatus.PENDING, (("lic", 2),), size))
    turns: list[Callable[[], None]] = []

    def gate(job_id: str) -> ConsumableGate:
        made = ConsumableGate(build(None, {})[0], pool, traits, lambda *_: None, turns.append)
        made.add(job(job_id, 1))
        return made

    arrays, plain = gate("arr"), gate("plain")
    assert arrays.head().job_id == "arr"  # type: ignore[union-attr]
    # The handed-out child's units are claimed at once: another queue cannot take them,
    # and the array hands out no second child in this pass.
    assert pool.resources[LIC].available == 1
    assert arrays.head() is None and plain.head() is None
    turns.pop()()
    # The child did not fit after all: the next pass gives the claim back and claims anew.
    assert arrays.head().job_id == "arr"  # type: ignore[union-attr]
    assert pool.resources[LIC].available == 1
    turns.pop()()
    pool.transfer(claim_key("arr"), "arr:0")  # the child reached STARTING
    assert arrays.head() is None and pool.holds("arr:0")
    pool.release("arr:0")
    assert pool.resources[LIC].available == 3


def test_each_array_child_is_charged_to_its_share_when_handed_out() -> None:
    traits = {"arr": ("arrays", 0), **{f"s{i}": ("singles", 0) for i in range(4)}}
    inner, usage, placed = build(SharePolicy(), traits)
    ordering = ArrayOrdering(inner)
    ordering.add_array(job("arr", 1), ArrayCursor(8))
    for i in range(4):
        ordering.add(job(f"s{i}", 2 + i))
    taken = []
    for _ in range(8):
        head = ordering.head()
        assert head is not None
        ordering.remove(head.job_id)
        taken.append(head.job_id)
    arr = [child_id("arr", i) for i in range(4)]
    assert taken == [arr[0], "s0", arr[1], "s1", arr[2], "s2", arr[3], "s3"]
    assert placed == taken
    assert usage.running("arrays") == 4 and usage.running("singles") == 4
