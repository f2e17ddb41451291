"""A server given a Ray cluster runs the jobs of environments tagged ``batchyard:provider=ray``
on it (issue 16), planning with the cluster's own resource view."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.batch.jobs_support import (
    ENVIRONMENTS_INVALID,
    describe,
    make_definition,
    make_multinode_definition,
    submit,
    wait_blocked,
    wait_status,
)
from tests.batch.resource_support import (
    describe_ce,
    ec2_resources,
    make_ce,
    make_queue,
    wait_ce_status,
)
from tests.support.job_logs import job_messages
from tests.support.multinode import EXCHANGE
from tests.support.ray_cluster import RayCluster, free_port, ray_environment
from tests.support.server import ServerProcess, wait_for

RAY = {"batchyard:provider": "ray"}


@pytest.fixture(scope="module")
def ray_server(
    ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server whose default Ray cluster is the test cluster."""
    env = {**ray_environment(), "BATCHYARD_RAY_ADDRESS": ray_cluster.address}
    process = ServerProcess(tmp_path_factory.mktemp("ray-server"), env=env).start()
    yield process
    process.stop()


def _environment(batch: Any, tags: dict[str, str], max_vcpus: int = 16) -> str:
    """An environment on Ray (tagged ``tags``), VALID once the server reached the cluster."""
    status = "INVALID" if "batchyard:ray-cluster" in tags else "VALID"
    resources = ec2_resources(maxvCpus=max_vcpus)
    return make_ce(batch, status=status, timeout=120, computeResources=resources, tags=tags)


def _definition(batch: Any, command: list[str], vcpus: int = 1) -> str:
    resources = [{"type": "VCPU", "value": str(vcpus)}, {"type": "MEMORY", "value": "64"}]
    return make_definition(batch, command, resourceRequirements=resources)


def test_a_ray_environment_reports_the_cluster_and_runs_jobs_on_it(
    ray_server: ServerProcess, ray_cluster: RayCluster
) -> None:
    batch = ray_server.client("batch")
    name = _environment(batch, RAY)
    valid = wait_for(
        lambda: (found := describe_ce(batch, name)) and found["status"] == "VALID" and found,
        timeout=120,
        what="the Ray environment VALID once the server reached the cluster",
    )
    # Other tests add and kill nodes of the shared cluster: the size is read, not assumed.
    where = f"a Ray task on the cluster default at {ray_cluster.address}"
    assert re.fullmatch(
        rf"ComputeEnvironment Healthy; each attempt runs as {re.escape(where)} "
        r"\(\d+ vCPUs on \d+ nodes\)",
        valid["statusReason"],
    ), valid["statusReason"]
    queue = make_queue(batch, [name])
    job = wait_status(
        batch,
        submit(batch, queue, _definition(batch, ["sh", "-c", "echo ray $AWS_BATCH_JOB_ID"])),
        timeout=120,
    )
    assert job["status"] == "SUCCEEDED", job
    header, *output = job_messages(ray_server, job)
    assert f"runs as a Ray task on the cluster default at {ray_cluster.address} (" in header
    assert header.endswith("; its image busybox is not run")
    assert output == [f"ray {job['jobId']}"]


def test_a_job_larger_than_the_cluster_waits_with_the_blocked_reason(
    ray_server: ServerProcess,
) -> None:
    """The environment allows 64 vCPUs, the cluster has a few: the cluster's view decides."""
    batch = ray_server.client("batch")
    name = _environment(batch, RAY, max_vcpus=64)
    queue = make_queue(batch, [name])
    job_id = submit(batch, queue, _definition(batch, ["true"], vcpus=32))
    wait_for(
        lambda: describe(batch, job_id).get("statusReason", "").startswith(
            "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
        ),
        timeout=60,
        what="the job blocked on the cluster's size",
    )
    assert describe(batch, job_id)["status"] == "RUNNABLE"
    batch.cancel_job(jobId=job_id, reason="too big")


def test_a_job_that_fits_the_cluster_but_no_node_waits_with_the_blocked_reason(
    ray_server: ServerProcess,
) -> None:
    """The worker nodes have 1 GiB each, the head no vCPUs: 1.5 GiB fits their sum, no node."""
    batch = ray_server.client("batch")
    queue = make_queue(batch, [_environment(batch, RAY)])
    resources = [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "1536"}]
    job_id = submit(batch, queue, make_definition(batch, ["true"], resourceRequirements=resources))
    wait_for(
        lambda: describe(batch, job_id).get("statusReason", "").startswith(
            "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
        ),
        timeout=60,
        what="the job blocked on the size of the cluster's nodes",
    )
    assert describe(batch, job_id)["status"] == "RUNNABLE"
    batch.cancel_job(jobId=job_id, reason="too big for any node")


DESCRIBE_MYSELF = """
import os, boto3
job = boto3.client("batch").describe_jobs(jobs=[os.environ["AWS_BATCH_JOB_ID"]])["jobs"][0]
print("I am", job["status"], "in", os.environ["AWS_REGION"])
"""


def test_a_job_on_ray_reaches_this_server_with_its_accounts_keys(
    ray_server: ServerProcess,
) -> None:
    """The cluster is on this machine's loopback: its nodes reach the server there."""
    batch = ray_server.client("batch")
    queue = make_queue(batch, [_environment(batch, RAY)])
    job = wait_status(
        batch,
        submit(batch, queue, _definition(batch, [sys.executable, "-c", DESCRIBE_MYSELF])),
        timeout=120,
    )
    assert job["status"] == "SUCCEEDED", (job, job_messages(ray_server, job))
    assert job_messages(ray_server, job)[1:] == ["I am RUNNING in us-east-1"]


def test_an_unknown_cluster_makes_the_environment_invalid(ray_server: ServerProcess) -> None:
    batch = ray_server.client("batch")
    name = _environment(batch, {**RAY, "batchyard:ray-cluster": "elsewhere"})
    assert wait_ce_status(batch, name, "INVALID")["statusReason"] == (
        "CLIENT_ERROR - no Ray cluster named 'elsewhere' is configured (configured: default; "
        "BATCHYARD_RAY_ADDRESS sets the default one)"
    )


def test_a_restarted_server_takes_over_the_attempts_running_on_the_cluster(
    new_server: Callable[..., ServerProcess], ray_cluster: RayCluster, tmp_path: Path
) -> None:
    env = {**ray_environment(), "BATCHYARD_RAY_ADDRESS": ray_cluster.address}
    first = new_server(env=env, data_dir=tmp_path / "data")
    batch = first.client("batch")
    name = _environment(batch, RAY)
    queue = make_queue(batch, [name])
    script = "for i in 1 2 3 4 5 6; do echo r $i; sleep 1; done; exit 5"
    job_id = submit(batch, queue, _definition(batch, ["sh", "-c", script]))
    running = wait_status(batch, job_id, "RUNNING", timeout=60)
    wait_for(
        lambda: "r 2" in _output(first, running),
        timeout=60,
        what="the job's output",
    )
    first.kill()
    second = new_server(env=env, data_dir=tmp_path / "data")
    batch = second.client("batch")
    job = wait_status(batch, job_id, timeout=90)
    assert job["status"] == "FAILED"
    assert job["container"]["exitCode"] == 5
    assert len(job["attempts"]) == 1
    assert f"re-attached to the attempt of job {job_id}" in second.log()
    output = _output(second, job)
    # Lines the killed server had taken from the cluster but not yet stored are lost; none
    # is repeated and the rest arrive in order, through the end.
    assert output == sorted(set(output), key=output.index)
    assert output[:2] == ["r 1", "r 2"] and output[-1] == "r 6"


def _output(server: ServerProcess, job: dict[str, Any]) -> list[str]:
    return job_messages(server, job)[1:]


def test_a_multinode_job_is_one_placement_group_whose_nodes_reach_the_main_node(
    ray_server: ServerProcess,
) -> None:
    batch = ray_server.client("batch")
    name = _environment(batch, RAY)
    queue = make_queue(batch, [name])
    port = free_port("127.0.0.1")
    definition = make_multinode_definition(
        batch,
        [sys.executable, "-c", EXCHANGE],
        2,
        container={"environment": [{"name": "PORT", "value": str(port)}]},
    )
    job = wait_status(batch, submit(batch, queue, definition), timeout=120)
    assert job["status"] == "SUCCEEDED", job
    main, other = (describe(batch, f"{job['jobId']}#{i}") for i in (0, 1))
    assert _output(ray_server, main) == ["main got hello"]
    [reached] = _output(ray_server, other)
    # The main node's Ray node address, not this host's loopback one.
    assert reached.startswith("reached 127.0.0.") and reached != "reached 127.0.0.1"


def test_an_unreachable_cluster_makes_the_environment_invalid_and_its_jobs_wait(
    new_server: Callable[..., ServerProcess],
) -> None:
    nowhere = f"127.0.0.2:{free_port('127.0.0.2')}"
    server = new_server(env={**ray_environment(), "BATCHYARD_RAY_ADDRESS": nowhere})
    batch = server.client("batch")
    name = make_ce(batch, status="INVALID", computeResources=ec2_resources(), tags=RAY)
    assert describe_ce(batch, name)["statusReason"].startswith("INFRASTRUCTURE_ERROR - ")  # type: ignore[index]
    job_id = submit(batch, make_queue(batch, [name]), _definition(batch, ["true"]))
    wait_blocked(batch, job_id, ENVIRONMENTS_INVALID)
