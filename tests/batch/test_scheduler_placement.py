"""One scheduling pass, without a server: priorities, environment order, FIFO heads,
blocked jobs, and a cost that does not grow with the number of waiting jobs."""

from __future__ import annotations

from batchyard.batch.jobs.model import BLOCKED_BY_REQUIREMENT, Demand, QueuedJob
from batchyard.batch.scheduler.ordering import FifoOrdering, QueueOrdering
from batchyard.batch.scheduler.placement import (
    COMPUTE_ENVIRONMENT_MAX_RESOURCE,
    CapacityLedger,
    EnvironmentView,
    QueueView,
    Topology,
    plan,
)
from batchyard.compute.provider import HostCapacity, Resources

ONE = Demand(1.0, 0, 0)


def _env(name: str, max_vcpus: float, usable: bool = True) -> EnvironmentView:
    return EnvironmentView(f"arn:ce/{name}", name, max_vcpus, usable)


def _queue(name: str, priority: int, *envs: EnvironmentView, usable: bool = True) -> QueueView:
    return QueueView(f"arn:jq/{name}", name, priority, usable, envs)


def _fifo(queue: QueueView, *demands: Demand) -> FifoOrdering:
    ordering = FifoOrdering()
    for i, demand in enumerate(demands):
        ordering.add(QueuedJob(f"{queue.name}-{i}", queue.arn, i, demand))
    return ordering


def _ledger(memory: int = 1024, gpus: int = 0) -> CapacityLedger:
    return CapacityLedger(lambda _host: HostCapacity(memory_mib=memory, gpus=gpus))


def test_higher_priority_queue_takes_shared_capacity_first() -> None:
    env = _env("shared", 1)
    low, high = _queue("low", 1, env), _queue("high", 10, env)
    topology = Topology((high, low))
    orderings = {low.arn: _fifo(low, ONE), high.arn: _fifo(high, ONE)}
    result = plan(topology, orderings, _ledger())
    assert [p.job.job_id for p in result.placements] == ["high-0"]
    assert len(orderings[low.arn]) == 1


def test_environments_are_tried_in_order_and_fifo_heads_block_their_queue() -> None:
    first, second = _env("first", 1), _env("second", 2)
    queue = _queue("q", 1, first, second)
    ordering = _fifo(queue, ONE, ONE, Demand(4.0, 0, 0), ONE)
    result = plan(Topology((queue,)), {queue.arn: ordering}, _ledger())
    assert [(p.job.job_id, p.environment.name) for p in result.placements] == [
        ("q-0", "first"),
        ("q-1", "second"),
    ]
    # The 4-vCPU head fits no environment's maximum: reported, and the job behind it waits.
    assert [(b.job.job_id, b.reason) for b in result.blocked] == [
        ("q-2", COMPUTE_ENVIRONMENT_MAX_RESOURCE)
    ]
    assert ordering.head().job_id == "q-2"  # type: ignore[union-attr]


def test_disabled_environments_and_queues_hold_jobs() -> None:
    off = _env("off", 4, usable=False)
    queue = _queue("q", 1, off)
    stopped = _queue("stopped", 5, _env("on", 4), usable=False)
    orderings = {queue.arn: _fifo(queue, ONE), stopped.arn: _fifo(stopped, ONE)}
    result = plan(Topology((stopped, queue)), orderings, _ledger())
    assert result.placements == [] and result.blocked == []


def test_host_memory_and_gpus_bound_every_environment() -> None:
    queue = _queue("q", 1, _env("a", 8), _env("b", 8))
    ordering = _fifo(queue, Demand(1, 600, 0), Demand(1, 600, 0))
    result = plan(Topology((queue,)), {queue.arn: ordering}, _ledger(memory=1000))
    assert len(result.placements) == 1 and result.blocked == []
    gpu = _fifo(queue, Demand(1, 0, 1))
    assert plan(Topology((queue,)), {queue.arn: gpu}, _ledger()).blocked[0].reason == (
        BLOCKED_BY_REQUIREMENT
    )


def test_on_a_cluster_a_job_must_fit_one_node_and_a_multinode_job_enough_nodes() -> None:
    """Two nodes of 2 vCPUs and 1 GiB (and a head without vCPUs, with much memory): a job of
    3 vCPUs or 1.5 GiB fits the cluster's sum but no node, and waits blocked."""
    nodes = (Resources(0.0, 16384, 0.0), Resources(2.0, 1024, 0.0), Resources(2.0, 1024, 0.0))
    cluster = HostCapacity(memory_mib=18432, gpus=0, vcpus=4.0, nodes=nodes)
    queue = _queue("q", 1, _env("ray", 16))
    for too_big in (Demand(3.0, 0, 0), Demand(1.0, 1536, 0), Demand(3.0, 0, 0, nodes=3)):
        result = plan(
            Topology((queue,)), {queue.arn: _fifo(queue, too_big)},
            CapacityLedger(lambda _host: cluster),
        )
        assert result.placements == [], too_big
        assert [b.reason for b in result.blocked] == [BLOCKED_BY_REQUIREMENT], too_big
    fitting = _fifo(queue, Demand(2.0, 1024, 0), Demand(4.0, 0, 0, nodes=2))
    result = plan(Topology((queue,)), {queue.arn: fitting}, CapacityLedger(lambda _h: cluster))
    assert [p.job.job_id for p in result.placements] == ["q-0"]
    assert result.blocked == []  # the gang waits for the node the first job holds


def test_released_capacity_is_offered_again() -> None:
    env = _env("e", 1)
    queue = _queue("q", 1, env)
    ordering = _fifo(queue, ONE, ONE)
    ledger = _ledger()
    topology = Topology((queue,))
    assert len(plan(topology, {queue.arn: ordering}, ledger).placements) == 1
    assert plan(topology, {queue.arn: ordering}, ledger).placements == []
    ledger.release(env, ONE)
    assert [p.job.job_id for p in plan(topology, {queue.arn: ordering}, ledger).placements] == [
        "q-1"
    ]


class CountingOrdering:
    """A FIFO ordering that counts how often a pass looks at it."""

    def __init__(self, inner: FifoOrdering) -> None:
        self.inner = inner
        self.looks = 0

    def __len__(self) -> int:
        return len(self.inner)

    def head(self) -> QueuedJob | None:
        self.looks += 1
        return self.inner.head()

    def remove(self, job_id: str) -> QueuedJob | None:
        return self.inner.remove(job_id)


def test_a_pass_over_a_full_environment_costs_the_same_at_any_depth() -> None:
    looks = []
    for depth in (10, 200_000):
        env = _env("full", 1)
        queue = _queue("q", 1, env)
        counting = CountingOrdering(_fifo(queue, *([ONE] * depth)))
        ledger = _ledger()
        ledger.reserve(env, ONE)
        orderings: dict[str, QueueOrdering] = {queue.arn: counting}  # type: ignore[dict-item]
        assert plan(Topology((queue,)), orderings, ledger).placements == []
        looks.append(counting.looks)
    assert looks == [1, 1]


def test_fifo_ordering_puts_retries_first() -> None:
    ordering = FifoOrdering()
    for i in range(3):
        ordering.add(QueuedJob(f"j{i}", "q", i, ONE))
    ordering.add_front(QueuedJob("retry", "q", 99, ONE))
    assert [job.job_id for job in ordering.first(10)] == ["retry", "j0", "j1", "j2"]
    assert ordering.remove("j1") is not None and ordering.remove("j1") is None
    assert [job.job_id for job in ordering.first(2)] == ["retry", "j0"]
