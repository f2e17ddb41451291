"""Placement against a live server: capacity limits, queue priority, held and blocked jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.batch.jobs_support import describe, make_definition, make_stack, submit, wait_status
from tests.batch.resource_support import (
    ec2_resources,
    make_ce,
    make_queue,
    wait_ce_status,
)
from tests.support.server import ServerProcess, wait_for


def test_max_vcpus_bounds_concurrency(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=2)[1]
    definition = make_definition(batch, ["sleep", "1"])
    job_ids = [submit(batch, queue, definition) for _ in range(6)]
    jobs = [wait_status(batch, job_id, timeout=30) for job_id in job_ids]
    assert [job["status"] for job in jobs] == ["SUCCEEDED"] * 6
    edges = sorted(
        [(job["startedAt"], 1) for job in jobs] + [(job["stoppedAt"], -1) for job in jobs],
        key=lambda edge: (edge[0], edge[1]),
    )
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    assert peak == 2
    # FIFO: the first two submitted start before the last two.
    assert max(j["startedAt"] for j in jobs[:2]) <= min(j["startedAt"] for j in jobs[4:])


def test_higher_priority_queue_goes_first(batch: Any) -> None:
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=1))
    low = make_queue(batch, [ce], priority=1)
    high = make_queue(batch, [ce], priority=10)
    blocker_definition = make_definition(batch, ["sleep", "30"])
    definition = make_definition(batch, ["true"])
    blocker = submit(batch, low, blocker_definition)
    wait_status(batch, blocker, "RUNNING")
    first_submitted = submit(batch, low, definition)
    second_submitted = submit(batch, high, definition)
    wait_status(batch, first_submitted, "RUNNABLE")
    wait_status(batch, second_submitted, "RUNNABLE")
    assert describe(batch, blocker)["status"] == "RUNNING"
    batch.terminate_job(jobId=blocker, reason="make room")
    early, late = wait_status(batch, second_submitted), wait_status(batch, first_submitted)
    assert early["status"] == late["status"] == "SUCCEEDED"
    assert early["startedAt"] <= late["startedAt"]
    assert early["stoppedAt"] <= late["startedAt"]


def test_disabled_environment_holds_jobs_until_enabled(batch: Any) -> None:
    held_ce, held_queue = make_stack(batch, max_vcpus=2)
    other_queue = make_stack(batch, max_vcpus=2)[1]
    definition = make_definition(batch, ["true"])
    batch.update_compute_environment(computeEnvironment=held_ce, state="DISABLED")
    wait_ce_status(batch, held_ce, "VALID")
    held = submit(batch, held_queue, definition)
    wait_status(batch, held, "RUNNABLE")
    # A job elsewhere finishing proves passes ran while the held job stayed put.
    assert wait_status(batch, submit(batch, other_queue, definition))["status"] == "SUCCEEDED"
    assert describe(batch, held)["status"] == "RUNNABLE"
    batch.update_compute_environment(computeEnvironment=held_ce, state="ENABLED")
    assert wait_status(batch, held)["status"] == "SUCCEEDED"


def test_job_bigger_than_every_environment_is_blocked_with_aws_reason(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=2)[1]
    definition = make_definition(batch, ["true"])
    big = submit(
        batch,
        queue,
        definition,
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "8"}]},
    )
    job = wait_for(
        lambda: (j := describe(batch, big)).get("statusReason") and j,
        timeout=10,
        what="blocked reason",
    )
    assert job["status"] == "RUNNABLE"
    assert job["statusReason"] == (
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job "
        "queue cannot meet the CPU requirement of the job."
    )
    batch.cancel_job(jobId=big, reason="too big")
    assert wait_status(batch, big)["statusReason"] == "too big"


def test_queue_time_limit_cancels_a_blocked_head_and_frees_the_queue(
    new_server: Callable[..., ServerProcess],
) -> None:
    batch = new_server(env={"BATCHYARD_TIME_SCALE": "600"}).client("batch")
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=2))
    reason = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
    queue = make_queue(
        batch,
        [ce],
        jobStateTimeLimitActions=[
            {"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": 600, "action": "CANCEL"}
        ],
    )
    definition = make_definition(batch, ["true"])
    big = submit(
        batch,
        queue,
        definition,
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "8"}]},
    )
    behind = submit(batch, queue, definition)
    cancelled = wait_status(batch, big, timeout=20)
    assert cancelled["status"] == "FAILED"
    assert (
        cancelled["statusReason"] == f"Canceled by JobStateTimeLimit action due to reason: {reason}"
    )
    assert wait_status(batch, behind)["status"] == "SUCCEEDED"


def test_queue_snapshot_shows_dispatch_order_and_usage(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=1)[1]
    blocker = submit(batch, queue, make_definition(batch, ["sleep", "30"]))
    wait_status(batch, blocker, "RUNNING")
    definition = make_definition(batch, ["true"])
    waiting = [submit(batch, queue, definition) for _ in range(3)]
    for job_id in waiting:
        wait_status(batch, job_id, "RUNNABLE")
    snapshot = batch.get_job_queue_snapshot(jobQueue=queue)
    front = [job["jobArn"].rsplit("/", 1)[-1] for job in snapshot["frontOfQueue"]["jobs"]]
    assert front == waiting
    assert snapshot["queueUtilization"]["totalCapacityUsage"] == [
        {"capacityUnit": "vCPU", "quantity": 1.0}
    ]
    batch.terminate_job(jobId=blocker, reason="done")
    for job_id in waiting:
        assert wait_status(batch, job_id)["status"] == "SUCCEEDED"
