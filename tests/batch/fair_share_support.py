"""Helpers for the fair-share tests: a policy queue, held submissions, measured usage."""

from __future__ import annotations

from typing import Any

from tests.batch.jobs_support import describe, submit, wait_status
from tests.batch.resource_support import ec2_resources, make_ce, make_queue, unique, wait_ce_status


def fair_share_stack(
    batch: Any, max_vcpus: int, shares: dict[str, float], **policy: Any
) -> tuple[str, str]:
    """A compute environment of ``max_vcpus`` and a queue with a fair-share policy whose
    ``shareDistribution`` gives ``shares`` their weight factors; returns (ce, queue)."""
    arn = batch.create_scheduling_policy(
        name=unique("sp"),
        fairsharePolicy={
            **policy,
            "shareDistribution": [
                {"shareIdentifier": share, "weightFactor": weight}
                for share, weight in shares.items()
            ],
        },
    )["arn"]
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=max_vcpus))
    return ce, make_queue(batch, [ce], schedulingPolicyArn=arn)


def set_ce_state(batch: Any, ce: str, state: str) -> None:
    """Enable or disable a compute environment and wait until it settles."""
    batch.update_compute_environment(computeEnvironment=ce, state=state)
    wait_ce_status(batch, ce, "VALID")


def submit_share(batch: Any, queue: str, definition: str, share: str, **params: Any) -> str:
    """Submit one job of ``share``; returns its id."""
    return submit(batch, queue, definition, shareIdentifier=share, **params)


def finished(batch: Any, job_ids: list[str], timeout: float = 60) -> list[dict[str, Any]]:
    """Wait for every job to end; returns them as DescribeJobs shows them."""
    jobs = [wait_status(batch, job_id, timeout=timeout) for job_id in job_ids]
    assert [j["status"] for j in jobs] == ["SUCCEEDED"] * len(jobs), [
        (j["status"], j.get("statusReason")) for j in jobs
    ]
    return jobs


def vcpu_seconds(jobs: list[dict[str, Any]], start: int, end: int, vcpus: float = 1.0) -> float:
    """vCPU-milliseconds ``jobs`` ran within [start, end] (from their recorded times)."""
    return sum(
        max(0, min(job["stoppedAt"], end) - max(job["startedAt"], start)) * vcpus for job in jobs
    )


def peak_concurrency(jobs: list[dict[str, Any]]) -> int:
    """The most of ``jobs`` that ran at once, from their recorded start and stop times."""
    edges = sorted(
        [(job["startedAt"], 1) for job in jobs] + [(job["stoppedAt"], -1) for job in jobs]
    )
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak


def status_of(batch: Any, job_id: str) -> str:
    """The job's status now."""
    return str(describe(batch, job_id)["status"])
