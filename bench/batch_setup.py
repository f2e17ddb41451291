"""Create the compute environment, queue and job definition a Batch benchmark submits to.

The same calls work on batchyard and on moto's server (which also wants an IAM role).
"""

from __future__ import annotations

from typing import Any

from harness import client

QUEUE = "bench-queue"
DEFINITION = "bench-true"


def create_batch_target(
    endpoint: str,
    *,
    state: str = "ENABLED",
    max_vcpus: int = 256,
    command: tuple[str, ...] = ("true",),
    with_role: bool = False,
) -> dict[str, Any]:
    """A queue on one environment and a one-vCPU definition running ``command``."""
    batch = client(endpoint, "batch")
    role = "arn:aws:iam::123456789012:role/bench"
    if with_role:
        iam = client(endpoint, "iam")
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = batch.create_compute_environment(
        computeEnvironmentName="bench-ce", type="MANAGED", state=state, serviceRole=role,
        computeResources={
            "type": "EC2", "minvCpus": 0, "maxvCpus": max_vcpus, "instanceTypes": ["optimal"],
            "subnets": ["subnet-bench"], "securityGroupIds": ["sg-bench"],
            "instanceRole": "arn:aws:iam::123456789012:instance-profile/bench",
        },
    ) if not with_role else batch.create_compute_environment(
        computeEnvironmentName="bench-ce", type="UNMANAGED", state=state, serviceRole=role,
    )
    _wait_valid(batch, environment["computeEnvironmentArn"])
    batch.create_job_queue(
        jobQueueName=QUEUE, state="ENABLED", priority=1,
        computeEnvironmentOrder=[
            {"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}
        ],
    )
    batch.register_job_definition(
        jobDefinitionName=DEFINITION, type="container",
        containerProperties={
            "image": "busybox", "command": list(command),
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}
            ],
        },
    )
    arn = environment["computeEnvironmentArn"]
    return {"queue": QUEUE, "definition": DEFINITION, "environment": arn}


def _wait_valid(batch: Any, arn: str) -> None:
    from tests.support.server import wait_for

    def valid() -> bool:
        found = batch.describe_compute_environments(computeEnvironments=[arn])
        environments = found["computeEnvironments"]
        return bool(environments) and environments[0].get("status") == "VALID"

    wait_for(valid, timeout=30, what="compute environment VALID")


UNFINISHED = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


def wait_drained(endpoint: str, queue: str, timeout: float) -> None:
    """Wait until ``queue`` has no job left in a non-terminal status."""
    from tests.support.server import wait_for

    batch = client(endpoint, "batch")

    def drained() -> bool:
        return all(
            not batch.list_jobs(jobQueue=queue, jobStatus=status, maxResults=1)["jobSummaryList"]
            for status in UNFINISHED
        )

    wait_for(drained, timeout=timeout, interval=0.1, what=f"{queue} drained")


def job_summaries(endpoint: str, queue: str, status: str) -> list[dict[str, Any]]:
    """Every top-level job of ``queue`` in ``status`` (ListJobs pages followed to the end)."""
    batch = client(endpoint, "batch")
    pages = batch.get_paginator("list_jobs").paginate(jobQueue=queue, jobStatus=status)
    return [job for page in pages for job in page["jobSummaryList"]]
