"""With ``ray_container_engine`` set, a job on a Ray environment runs its image on the Ray node,
on the node's own engine (issue 16): here the nodes of the shared test cluster, which reach the
test Podman at its socket as every node of a real cluster reaches its own engine."""

from __future__ import annotations

import os
import pwd
import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.batch.jobs_support import (
    describe,
    make_definition,
    make_multinode_definition,
    submit,
    wait_status,
)
from tests.batch.resource_support import describe_ce, ec2_resources, make_ce, make_queue
from tests.support.images import BUSYBOX, JOB_UID, JOB_USER
from tests.support.job_logs import job_messages
from tests.support.multinode import EXCHANGE
from tests.support.podman import PodmanService
from tests.support.ray_cluster import RayCluster, descendants, free_port, ray_environment
from tests.support.server import ServerProcess, wait_for

from batchyard.compute.container import LABEL_JOB
from batchyard.compute.provider import OUT_OF_MEMORY_REASON

RAY = {"batchyard:provider": "ray"}


def _env(ray_cluster: RayCluster, engine: str) -> dict[str, str]:
    return {
        **ray_environment(),
        "BATCHYARD_RAY_ADDRESS": ray_cluster.address,
        "BATCHYARD_RAY_CONTAINER_ENGINE": engine,
        "BATCHYARD_CONTAINER_PULL_POLICY": "never",
        "BATCHYARD_TIME_SCALE": "10",
    }


@pytest.fixture(scope="module")
def image_server(
    ray_cluster: RayCluster, podman: PodmanService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server whose Ray nodes run jobs' images on the test Podman."""
    data = tmp_path_factory.mktemp("ray-image-server")
    process = ServerProcess(data, env=_env(ray_cluster, podman.url)).start()
    yield process
    process.stop()


def _queue(server: ServerProcess) -> str:
    """A Ray environment, VALID once the server reached the cluster, and a queue on it."""
    batch = server.client("batch")
    name = make_ce(
        batch, status="VALID", timeout=120, computeResources=ec2_resources(maxvCpus=16), tags=RAY
    )
    return make_queue(batch, [name])


def _definition(
    batch: Any, command: list[str], memory: int = 64, image: str = BUSYBOX, **container: Any
) -> str:
    resources = [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": str(memory)}]
    return make_definition(
        batch, command, image=image, resourceRequirements=resources, **container
    )


def _containers_of(podman: PodmanService, job_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = podman.client().containers(
        all=True, filters={"label": f"{LABEL_JOB}={job_id}"}
    )
    return listed


def _output(server: ServerProcess, job: dict[str, Any]) -> list[str]:
    return job_messages(server, job)[1:]


def test_a_job_runs_its_image_on_a_ray_node_as_its_user_with_live_output(
    image_server: ServerProcess, podman: PodmanService, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    batch = image_server.client("batch")
    queue = _queue(image_server)
    environment = batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0][
        "computeEnvironmentOrder"
    ][0]["computeEnvironment"]
    where = (
        rf"a container on a node of the Ray cluster default at {re.escape(ray_cluster.address)} "
        rf"\(\d+ vCPUs on \d+ nodes\), on the node's engine at {re.escape(podman.url)}"
    )
    reason = describe_ce(batch, environment.rsplit("/", 1)[1])["statusReason"]  # type: ignore[index]
    assert re.fullmatch(rf"ComputeEnvironment Healthy; each attempt runs as {where}", reason)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    script = (
        "echo first; id -u; id -un; tr '\\0' ' ' </proc/1/cmdline; echo; "
        "while [ ! -e /shared/release ]; do sleep 0.05; done; echo last"
    )
    definition = _definition(
        batch,
        ["sh", "-c", script],
        user=str(JOB_UID),
        volumes=[{"name": "shared", "host": {"sourcePath": str(shared)}}],
        mountPoints=[{"sourceVolume": "shared", "containerPath": "/shared", "readOnly": True}],
    )
    job_id = submit(batch, queue, definition)
    running = wait_status(batch, job_id, "RUNNING", timeout=120)
    wait_for(
        lambda: "first" in _output(image_server, running),
        timeout=60,
        what="the first line while the job runs",
    )
    assert describe(batch, job_id)["status"] == "RUNNING"
    [container] = _containers_of(podman, job_id)
    settings = podman.client().inspect_container(container["Id"])
    # The container provider's limits: the job's memory, its vCPU as a CPU quota.
    assert settings["HostConfig"]["NetworkMode"] == "host"
    assert settings["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert settings["HostConfig"]["NanoCpus"] == 1_000_000_000
    (shared / "release").touch()
    job = wait_status(batch, job_id, timeout=60)
    assert job["status"] == "SUCCEEDED", job
    header, *output = job_messages(image_server, job)
    attempt = job["container"]["logStreamName"].rsplit("/", 1)[1]
    assert re.fullmatch(rf"batchyard: attempt {attempt} runs as {where}, image {BUSYBOX}", header)
    # The image's own passwd names the user (the host has no such user), and the container's
    # first process is the job's command.
    with pytest.raises(KeyError):
        pwd.getpwnam(JOB_USER)
    assert output == ["first", str(JOB_UID), JOB_USER, f"sh -c {script} ", "last"]
    # The task removed the container before it reported the end.
    assert _containers_of(podman, job_id) == []


def test_exit_code_memory_kill_and_terminate_reach_the_job(
    image_server: ServerProcess, podman: PodmanService
) -> None:
    batch = image_server.client("batch")
    queue = _queue(image_server)
    failed = wait_status(
        batch, submit(batch, queue, _definition(batch, ["sh", "-c", "exit 3"])), timeout=120
    )
    assert failed["status"] == "FAILED"
    assert failed["container"]["exitCode"] == 3
    assert failed["statusReason"] == "Essential container in task exited"
    # The shell keeps the whole 200 MB string in its own memory; the limit is 32 MiB.
    hog = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"
    killed = wait_status(
        batch, submit(batch, queue, _definition(batch, ["sh", "-c", hog], memory=32)), timeout=120
    )
    assert killed["status"] == "FAILED"
    assert killed["statusReason"] == OUT_OF_MEMORY_REASON
    assert killed["container"]["reason"] == OUT_OF_MEMORY_REASON
    assert killed["container"]["exitCode"] == 137
    assert "survived" not in _output(image_server, killed)
    # The command is the container's PID 1, which has no default action for SIGTERM: the
    # trap shows the TERM arrived through the engine.
    trapping = ["sh", "-c", "trap 'echo term; exit 143' TERM; echo armed; sleep 600 & wait"]
    sleeper = submit(batch, queue, _definition(batch, trapping))
    running = wait_status(batch, sleeper, "RUNNING", timeout=120)
    wait_for(lambda: "armed" in _output(image_server, running), timeout=60, what="armed")
    batch.terminate_job(jobId=sleeper, reason="enough")
    stopped = wait_status(batch, sleeper, timeout=60)
    assert stopped["status"] == "FAILED"
    assert stopped["statusReason"] == "enough"
    assert stopped["container"]["exitCode"] == 143
    assert _output(image_server, stopped) == ["armed", "term"]
    for job in (failed, killed, stopped):
        assert _containers_of(podman, job["jobId"]) == []


def _ray_worker_of(ray_cluster: RayCluster, attempt_id: str) -> int:
    """The pid of the Ray worker running ``attempt_id``'s task (Ray names the process after
    the task)."""
    for node in ray_cluster.nodes:
        if not node.alive:
            continue
        for pid in descendants(node.process.pid):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if f"batchyard-attempt-{attempt_id}".encode() in title:
                return pid
    return 0


def test_a_lost_task_leaves_no_container_behind(
    image_server: ServerProcess, podman: PodmanService, ray_cluster: RayCluster
) -> None:
    batch = image_server.client("batch")
    queue = _queue(image_server)
    job_id = submit(batch, queue, _definition(batch, ["sh", "-c", "echo up; exec sleep 600"]))
    running = wait_status(batch, job_id, "RUNNING", timeout=120)
    wait_for(lambda: "up" in _output(image_server, running), timeout=60, what="up")
    attempt = running["container"]["logStreamName"].rsplit("/", 1)[1]
    worker = wait_for(
        lambda: _ray_worker_of(ray_cluster, attempt), timeout=30, what="the task's Ray worker"
    )
    os.kill(worker, signal.SIGKILL)
    job = wait_status(batch, job_id, timeout=60)
    assert job["status"] == "FAILED"
    assert job["container"]["reason"].startswith("WorkerCrashedError"), job["container"]
    wait_for(
        lambda: _containers_of(podman, job_id) == [],
        timeout=60,
        what="the lost task's container removed from its node",
    )


def test_a_node_whose_engine_does_not_answer_fails_the_attempt_naming_the_node(
    new_server: Callable[..., ServerProcess], ray_cluster: RayCluster, tmp_path: Path
) -> None:
    missing = f"unix://{tmp_path}/no-engine.sock"
    server = new_server(env=_env(ray_cluster, missing))
    batch = server.client("batch")
    queue = _queue(server)
    job = wait_status(batch, submit(batch, queue, _definition(batch, ["true"])), timeout=120)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Task failed to start"
    reason = job["container"]["reason"]
    assert re.match(
        rf"CannotStartContainerError: the Ray node 127\.0\.0\.\d+ has no container engine "
        rf"answering at {re.escape(missing)}: ",
        reason,
    ), reason


def test_a_restarted_server_takes_over_a_container_running_on_a_ray_node(
    new_server: Callable[..., ServerProcess],
    ray_cluster: RayCluster,
    podman: PodmanService,
    tmp_path: Path,
) -> None:
    env = _env(ray_cluster, podman.url)
    first = new_server(env=env, data_dir=tmp_path / "data")
    batch = first.client("batch")
    queue = _queue(first)
    script = "for i in 1 2 3 4 5 6; do echo r $i; sleep 1; done; exit 5"
    job_id = submit(batch, queue, _definition(batch, ["sh", "-c", script]))
    running = wait_status(batch, job_id, "RUNNING", timeout=120)
    wait_for(lambda: "r 2" in _output(first, running), timeout=60, what="the job's output")
    first.kill()
    assert [c["State"] for c in _containers_of(podman, job_id)] == ["running"]
    second = new_server(env=env, data_dir=tmp_path / "data")
    batch = second.client("batch")
    job = wait_status(batch, job_id, timeout=90)
    assert job["status"] == "FAILED"
    assert job["container"]["exitCode"] == 5
    assert len(job["attempts"]) == 1
    assert f"re-attached to the attempt of job {job_id}" in second.log()
    output = _output(second, job)
    # As for a command on Ray: lines the killed server had taken but not stored are lost,
    # none is repeated, the rest arrive in order through the end.
    assert output == sorted(set(output), key=output.index)
    assert output[:2] == ["r 1", "r 2"] and output[-1] == "r 6"
    assert _containers_of(podman, job_id) == []


def test_a_multinode_job_runs_its_image_on_distinct_nodes_that_reach_the_main_node(
    image_server: ServerProcess, python_image: str
) -> None:
    batch = image_server.client("batch")
    queue = _queue(image_server)
    port = free_port("127.0.0.1")
    definition = make_multinode_definition(
        batch,
        ["python3", "-c", EXCHANGE],
        2,
        container={
            "image": python_image,
            "environment": [
                {"name": "PORT", "value": str(port)},
                {"name": "ALSO_SHOW", "value": "/etc/os-release"},
            ],
        },
    )
    job = wait_status(batch, submit(batch, queue, definition), timeout=120)
    assert job["status"] == "SUCCEEDED", job
    main, other = (describe(batch, f"{job['jobId']}#{i}") for i in (0, 1))
    assert _output(image_server, main) == ["main got hello"]
    [reached] = _output(image_server, other)
    # The main node's Ray node address, from inside the Debian image.
    assert re.fullmatch(r'reached 127\.0\.0\.\d+ PRETTY_NAME="Debian GNU/Linux.*"', reached)
    assert reached.split()[1] != "127.0.0.1"
