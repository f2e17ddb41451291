"""Fair-share scheduling against a live server: share weights, compute reservation,
scheduling priority, the submit rules and the queue snapshot's order."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.batch.fair_share_support import (
    fair_share_stack,
    finished,
    peak_concurrency,
    set_ce_state,
    submit_share,
    vcpu_seconds,
)
from tests.batch.jobs_support import describe, make_definition, make_stack, submit, wait_status
from tests.batch.resource_support import client_error
from tests.support.server import ServerProcess, wait_for


def test_weights_one_and_three_split_capacity_three_to_one(batch: Any) -> None:
    # AWS: a share is charged its vCPU usage x weightFactor and the least charged share
    # goes next, so at equilibrium usage_a * 1 == usage_b * 3: a gets 3/4 of the capacity.
    ce, queue = fair_share_stack(batch, 4, {"alpha": 1.0, "beta": 3.0})
    definition = make_definition(batch, ["sleep", "0.4"])
    set_ce_state(batch, ce, "DISABLED")
    alpha, beta = [], []
    for index in range(60):
        alpha.append(submit_share(batch, queue, definition, "alpha"))
        if index % 3 == 0:
            beta.append(submit_share(batch, queue, definition, "beta"))
    set_ce_state(batch, ce, "ENABLED")
    alpha_jobs, beta_jobs = finished(batch, alpha, 120), finished(batch, beta, 120)
    # Measure while both shares still had jobs waiting: from the first start until the
    # earlier of the two shares started its last job.
    start = min(j["startedAt"] for j in alpha_jobs + beta_jobs)
    end = min(max(j["startedAt"] for j in alpha_jobs), max(j["startedAt"] for j in beta_jobs))
    ratio = vcpu_seconds(alpha_jobs, start, end) / vcpu_seconds(beta_jobs, start, end)
    print(f"alpha:beta capacity ratio {ratio:.3f} over {(end - start) / 1000:.1f}s (expected 3)")
    assert 2.7 <= ratio <= 3.3
    assert peak_concurrency(alpha_jobs + beta_jobs) <= 4


def test_compute_reservation_lets_a_late_share_start_at_once(batch: Any) -> None:
    # computeReservation 50 keeps (50/100)^1 of 4 vCPUs free while one share is active;
    # with two active shares only (50/100)^2 is kept, so the newcomer starts at once.
    _, queue = fair_share_stack(batch, 4, {"flood": 1.0, "late": 1.0}, computeReservation=50)
    long = make_definition(batch, ["sleep", "3"])
    flood = [submit_share(batch, queue, long, "flood") for _ in range(6)]
    wait_for(
        lambda: sum(describe(batch, j)["status"] == "RUNNING" for j in flood) == 2,
        timeout=20,
        what="two flood jobs running",
    )
    assert sum(describe(batch, j)["status"] == "RUNNABLE" for j in flood) == 4
    submitted = int(time.time() * 1000)
    late = submit_share(batch, queue, make_definition(batch, ["true"]), "late")
    late_job = wait_status(batch, late, timeout=30)
    flood_jobs = finished(batch, flood, 60)
    first_pair_end = min(sorted(flood_jobs, key=lambda j: j["startedAt"])[1]["stoppedAt"], 10**15)
    assert late_job["status"] == "SUCCEEDED"
    assert late_job["startedAt"] - submitted < 2000
    assert late_job["startedAt"] < first_pair_end, "the late share waited for the flood"
    alone = [j for j in flood_jobs if j["startedAt"] < submitted]
    assert peak_concurrency(alone) == 2


def test_scheduling_priority_orders_jobs_within_a_share(batch: Any) -> None:
    ce, queue = fair_share_stack(batch, 1, {"team": 1.0})
    definition = make_definition(batch, ["true"])
    set_ce_state(batch, ce, "DISABLED")
    low = submit_share(batch, queue, definition, "team", schedulingPriorityOverride=1)
    high = submit_share(batch, queue, definition, "team", schedulingPriorityOverride=90)
    middle = submit_share(batch, queue, definition, "team", schedulingPriorityOverride=50)
    wait_status(batch, low, "RUNNABLE")
    set_ce_state(batch, ce, "ENABLED")
    jobs = finished(batch, [high, middle, low])
    assert [j["jobId"] for j in sorted(jobs, key=lambda j: j["startedAt"])] == [high, middle, low]
    assert [j["schedulingPriority"] for j in jobs] == [90, 50, 1]


def test_snapshot_order_is_the_order_jobs_start(batch: Any) -> None:
    # One vCPU, so jobs start one at a time; a long decay window makes each finished job
    # count against its share, as the snapshot's projection assumes.
    _, queue = fair_share_stack(batch, 1, {"a": 1.0, "b": 2.5, "hold": 1.0}, shareDecaySeconds=3600)
    blocker = submit_share(batch, queue, make_definition(batch, ["sleep", "3"]), "hold")
    wait_status(batch, blocker, "RUNNING")
    definition = make_definition(batch, ["sleep", "1"])
    jobs = [submit_share(batch, queue, definition, share) for share in "aaabb"]
    wait_for(
        lambda: len(batch.get_job_queue_snapshot(jobQueue=queue)["frontOfQueue"]["jobs"]) == 5,
        timeout=10,
        what="five jobs in the snapshot",
    )
    snapshot = batch.get_job_queue_snapshot(jobQueue=queue)
    front = [entry["jobArn"].rsplit("/", 1)[-1] for entry in snapshot["frontOfQueue"]["jobs"]]
    started = [j["jobId"] for j in sorted(finished(batch, jobs), key=lambda j: j["startedAt"])]
    assert front == started
    # a (weight 1) and b (weight 2.5) alternate by charge: a, b, a, a, b.
    assert front == [jobs[0], jobs[3], jobs[1], jobs[2], jobs[4]]
    created = {job_id: describe(batch, job_id)["createdAt"] for job_id in jobs}
    last_created = max(created.values())
    for entry in snapshot["frontOfQueue"]["jobs"]:
        # Every share's insertion may reorder the front, so each place dates from the last one.
        assert last_created <= entry["earliestTimeAtPosition"]
        assert entry["earliestTimeAtPosition"] <= snapshot["frontOfQueue"]["lastUpdatedAt"]
    usage = snapshot["queueUtilization"]["fairshareUtilization"]
    assert usage["activeShareCount"] == 3
    assert usage["topCapacityUtilization"][0]["shareIdentifier"] == "hold"


def test_share_identifier_rules_at_submit(batch: Any) -> None:
    _, fair_queue = fair_share_stack(batch, 2, {"x": 1.0})
    fifo_queue = make_stack(batch, max_vcpus=2)[1]
    definition = make_definition(batch, ["true"])
    missing = client_error(
        batch.submit_job, jobName="j", jobQueue=fair_queue, jobDefinition=definition
    )
    assert "Share identifier" in missing["Message"]
    extra = client_error(
        batch.submit_job,
        jobName="j",
        jobQueue=fifo_queue,
        jobDefinition=definition,
        shareIdentifier="x",
    )
    assert "Share identifier" in extra["Message"]
    job = wait_status(batch, submit(batch, fair_queue, definition, shareIdentifier="other"))
    assert job["status"] == "SUCCEEDED" and job["shareIdentifier"] == "other"


def test_an_array_takes_its_share_not_the_whole_queue(batch: Any) -> None:
    ce, queue = fair_share_stack(batch, 2, {"arrays": 1.0, "singles": 1.0})
    definition = make_definition(batch, ["sleep", "0.5"])
    set_ce_state(batch, ce, "DISABLED")
    parent = submit_share(batch, queue, definition, "arrays", arrayProperties={"size": 8})
    singles = [submit_share(batch, queue, definition, "singles") for _ in range(4)]
    wait_status(batch, singles[-1], "RUNNABLE")
    set_ce_state(batch, ce, "ENABLED")
    children = finished(batch, [f"{parent}:{index}" for index in range(8)])
    single_jobs = finished(batch, singles)
    assert all(child["shareIdentifier"] == "arrays" for child in children)
    # Equal weights on 2 vCPUs: every round of two starts takes one job of each share, so
    # the four singles are among the first eight starts instead of after the array.
    order = sorted(
        [(j["startedAt"], "single") for j in single_jobs]
        + [(c["startedAt"], "child") for c in children]
    )
    assert [share for _, share in order[:8]].count("single") == 4, order


def test_shares_and_priorities_of_waiting_jobs_survive_a_restart(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = new_server(data_dir=tmp_path / "data")
    batch = server.client("batch")
    ce, queue = fair_share_stack(batch, 1, {"team": 1.0})
    definition = make_definition(batch, ["true"])
    set_ce_state(batch, ce, "DISABLED")
    priorities = [5, 70, 30]
    jobs = [
        submit_share(batch, queue, definition, "team", schedulingPriorityOverride=p)
        for p in priorities
    ]
    wait_status(batch, jobs[-1], "RUNNABLE")
    server.stop()
    batch = new_server(data_dir=tmp_path / "data").client("batch")
    set_ce_state(batch, ce, "ENABLED")
    ended = sorted(finished(batch, jobs), key=lambda j: j["startedAt"])
    assert [j["schedulingPriority"] for j in ended] == [70, 30, 5]
