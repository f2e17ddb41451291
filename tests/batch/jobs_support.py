"""Helpers for the job tests: an environment + queue + definition, and waiting on jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from batchyard.aws.caller import Caller
from batchyard.batch.resources.compute_environments import NewComputeEnvironment
from batchyard.batch.resources.job_queues import NewJobQueue
from batchyard.batch.resources.model import JobDefinition
from batchyard.config import Settings
from batchyard.server.app import BatchyardApp
from batchyard.server.compose import Server
from tests.batch.resource_support import ec2_resources, make_ce, make_queue, unique
from tests.support.server import wait_for

FINAL = ("SUCCEEDED", "FAILED")


def make_stack(batch: Any, max_vcpus: int = 4, priority: int = 1) -> tuple[str, str]:
    """A compute environment of ``max_vcpus`` and a queue on it; returns (ce, queue)."""
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=max_vcpus))
    return ce, make_queue(batch, [ce], priority=priority)


def make_definition(batch: Any, command: list[str], **container: Any) -> str:
    """Register a container job definition running ``command``; returns its name."""
    name = unique("jd")
    container.setdefault(
        "resourceRequirements",
        [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "128"}],
    )
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={"image": "busybox", "command": command, **container},
    )
    return name


def make_multinode_definition(
    batch: Any,
    command: list[str],
    num_nodes: int,
    container: dict[str, Any] | None = None,
    **params: Any,
) -> str:
    """Register a multi-node definition: ``num_nodes`` nodes (main node 0) that all run
    ``command`` with 1 vCPU and 64 MiB plus ``container``; ``params`` go to
    RegisterJobDefinition. Returns its name."""
    name = unique("mnp")
    container = {
        "image": "busybox",
        "command": command,
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
        **(container or {}),
    }
    batch.register_job_definition(
        jobDefinitionName=name,
        type="multinode",
        nodeProperties={
            "numNodes": num_nodes,
            "mainNode": 0,
            "nodeRangeProperties": [{"targetNodes": "0:", "container": container}],
        },
        **params,
    )
    return name


def describe(batch: Any, job_id: str) -> dict[str, Any]:
    """The job as DescribeJobs shows it."""
    return batch.describe_jobs(jobs=[job_id])["jobs"][0]


def wait_status(batch: Any, job_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
    """Wait until the job is in one of ``statuses`` (default: a final one)."""
    wanted = statuses or FINAL
    return wait_for(
        lambda: (job := describe(batch, job_id))["status"] in wanted and job,
        timeout=timeout,
        interval=0.05,
        what=f"job {job_id} in {wanted}",
    )


def submit(batch: Any, queue: str, definition: str, **params: Any) -> str:
    """Submit a job; returns its id."""
    return batch.submit_job(
        jobName=params.pop("jobName", unique("job")),
        jobQueue=queue,
        jobDefinition=definition,
        **params,
    )["jobId"]


CONTAINER = {
    "image": "busybox",
    "command": ["true"],
    "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "16"}],
}


async def in_process_stack(batch: Any, caller: Any, name: str, max_vcpus: int) -> None:
    """A VALID environment and queue named ``name``-ce / ``name``-q on a started facade, and
    the ``name``-jd container definition."""
    resources = {
        "type": "EC2", "minvCpus": 0, "maxvCpus": max_vcpus, "subnets": ["subnet-1"],
        "instanceRole": "ecsInstanceRole",
    }
    await batch.create_compute_environment(
        caller, NewComputeEnvironment(f"{name}-ce", "MANAGED", compute_resources=resources)
    )
    await batch.settled()
    order = [{"order": 1, "computeEnvironment": f"{name}-ce"}]
    await batch.create_job_queue(caller, NewJobQueue(f"{name}-q", 1, order))
    await batch.settled()
    await batch.register_job_definition(
        caller, JobDefinition(f"{name}-jd", "container", container_properties=CONTAINER)
    )


@asynccontextmanager
async def in_process_server(data_dir: Path) -> AsyncIterator[tuple[Server, Caller]]:
    """A started server in this process and the caller of its default account and region."""
    settings = Settings(data_dir=data_dir, container_engine="none")
    app = BatchyardApp(settings)
    await app.startup()
    assert app.server is not None
    try:
        yield app.server, Caller(settings.account_id, settings.region)
    finally:
        await app.shutdown()


ENVIRONMENTS_INVALID = "ACTION_REQUIRED - CE(s) associated with the job queue are invalid."


def wait_blocked(batch: Any, job_id: str, reason: str, timeout: float = 30) -> dict[str, Any]:
    """Wait until the job waits RUNNABLE with ``reason`` as its statusReason."""
    job: dict[str, Any] = wait_for(
        lambda: (found := describe(batch, job_id)).get("statusReason") == reason and found,
        timeout=timeout,
        what=f"job {job_id} blocked with {reason!r}",
    )
    assert job["status"] == "RUNNABLE", job
    return job
