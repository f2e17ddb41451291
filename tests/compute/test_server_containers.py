"""Jobs submitted to a server with a container engine run in their images, on the provider
each compute environment's ``batchyard:provider`` tag chooses (issue 15)."""

from __future__ import annotations

import ipaddress
import platform
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
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
    ec2_resources,
    fargate_resources,
    make_ce,
    make_queue,
    unique,
    wait_ce_status,
)
from tests.support.images import BUSYBOX, CGROUP_LIMITS, JOB_UID, JOB_USER
from tests.support.job_logs import HEADER, job_messages
from tests.support.multinode import EXCHANGE
from tests.support.podman import PodmanService
from tests.support.server import ServerProcess, wait_for

from batchyard.compute.container import LABEL_JOB
from batchyard.compute.group_networks import LABEL_GROUP

# This machine's CPU architecture as Batch names it, and the other one Batch knows.
HOST_CPU = "ARM64" if platform.machine() in ("aarch64", "arm64") else "X86_64"
OTHER_CPU = "X86_64" if HOST_CPU == "ARM64" else "ARM64"
NO_ENGINE_PIN = (
    "CLIENT_ERROR - batchyard:provider is container but this server has no container engine "
    "(jobs run as local processes: container_engine is none)"
)


@pytest.fixture(scope="module")
def engine_server(
    podman: PodmanService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server whose jobs run on the test Podman, on its network."""
    process = ServerProcess(
        tmp_path_factory.mktemp("engine-server"),
        env={
            "BATCHYARD_CONTAINER_ENGINE": podman.url,
            "BATCHYARD_CONTAINER_NETWORK": podman.network,
            "BATCHYARD_CONTAINER_PULL_POLICY": "never",
            "BATCHYARD_TIME_SCALE": "10",
        },
    ).start()
    yield process
    process.stop()


def _stack(batch: Any, **tags: str) -> str:
    """An environment tagged with ``tags`` and a queue on it; returns the queue."""
    extra = {"tags": tags} if tags else {}
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=4), **extra)
    return make_queue(batch, [ce])


def _definition(batch: Any, command: list[str], image: str = BUSYBOX, **container: Any) -> str:
    return make_definition(batch, command, image=image, **container)


def _lines(server: ServerProcess, job: dict[str, Any]) -> list[str]:
    return job_messages(server, job)


def _run(server: ServerProcess, queue: str, definition: str, **submit_args: Any) -> Any:
    batch = server.client("batch")
    return wait_status(batch, submit(batch, queue, definition, **submit_args), timeout=90)


def test_an_untagged_environment_runs_its_jobs_in_their_images(
    engine_server: ServerProcess, podman: PodmanService
) -> None:
    batch = engine_server.client("batch")
    queue = _stack(batch)
    environment = batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0][
        "computeEnvironmentOrder"
    ][0]["computeEnvironment"]
    reason = batch.describe_compute_environments(computeEnvironments=[environment])[
        "computeEnvironments"
    ][0]["statusReason"]
    assert reason.startswith("ComputeEnvironment Healthy; each attempt runs as a container on ")
    assert "podman" in reason.lower() and reason.endswith(f"at {podman.url}")
    script = "id -u; id -un; echo $AWS_BATCH_CE_NAME"
    job = _run(engine_server, queue, _definition(batch, ["sh", "-c", script], user=str(JOB_UID)))
    assert job["status"] == "SUCCEEDED", job
    header, *output = _lines(engine_server, job)
    attempt = job["container"]["logStreamName"].rsplit("/", 1)[1]
    assert header.startswith(f"batchyard: attempt {attempt} runs as a container on ")
    assert header.endswith(f"at {podman.url}, image {BUSYBOX}")
    # The command ran as the definition's user, whose name only the image's passwd knows.
    assert output == [str(JOB_UID), JOB_USER, environment.rsplit("/", 1)[1]]
    assert "where jobs run: jobs run in containers on" in engine_server.log()


def test_an_environment_tagged_local_runs_host_processes_on_the_same_server(
    engine_server: ServerProcess,
) -> None:
    batch = engine_server.client("batch")
    queue = _stack(batch, **{"batchyard:provider": "local"})
    job = _run(engine_server, queue, _definition(batch, ["echo", "on the host"]))
    assert job["status"] == "SUCCEEDED", job
    header, *output = _lines(engine_server, job)
    assert header.endswith(f"runs as a local process on this host; its image {BUSYBOX} is not run")
    assert output == ["on the host"]


def test_exit_codes_and_terminate_reach_the_job(engine_server: ServerProcess) -> None:
    batch = engine_server.client("batch")
    queue = _stack(batch)
    failed = _run(engine_server, queue, _definition(batch, ["sh", "-c", "exit 3"]))
    assert failed["status"] == "FAILED"
    assert failed["container"]["exitCode"] == 3
    assert failed["statusReason"] == "Essential container in task exited"
    # The command is the container's PID 1, which has no default action for SIGTERM: the
    # trap shows the TERM arrived (without it the kill after the grace ends it, 137).
    trapping = ["sh", "-c", "trap 'exit 143' TERM; sleep 600 & wait"]
    sleeper = submit(batch, queue, _definition(batch, trapping))
    wait_status(batch, sleeper, "RUNNING", timeout=60)
    batch.terminate_job(jobId=sleeper, reason="enough")
    stopped = wait_status(batch, sleeper, timeout=60)
    assert stopped["status"] == "FAILED"
    assert stopped["statusReason"] == "enough"
    assert stopped["container"]["exitCode"] == 143


def _fargate(batch: Any, command: list[str], **container: Any) -> tuple[str, str]:
    """A queue on a Fargate environment and a Fargate definition of 0.25 vCPU and 512 MiB
    running ``command`` with ``container`` added: (queue, definition name)."""
    queue = make_queue(batch, [make_ce(batch, computeResources=fargate_resources(maxvCpus=4))])
    name = unique("fargate")
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": BUSYBOX,
            "command": command,
            "resourceRequirements": [
                {"type": "VCPU", "value": "0.25"},
                {"type": "MEMORY", "value": "512"},
            ],
            "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            **container,
        },
    )
    return queue, name


def test_a_fargate_job_runs_in_a_container_with_its_fractional_vcpus_and_memory(
    engine_server: ServerProcess,
) -> None:
    batch = engine_server.client("batch")
    queue, name = _fargate(
        batch,
        ["sh", "-c", CGROUP_LIMITS],
        networkConfiguration={"assignPublicIp": "ENABLED"},
        fargatePlatformConfiguration={"platformVersion": "LATEST"},
        runtimePlatform={"operatingSystemFamily": "LINUX", "cpuArchitecture": HOST_CPU},
        ephemeralStorage={"sizeInGiB": 30},
    )
    job = _run(engine_server, queue, name)
    assert job["status"] == "SUCCEEDED", job
    header, *output = job_messages(engine_server, job)
    assert "cpu 25000 100000" in output and f"memory {512 * 1024 * 1024}" in output, output
    # What this server cannot give the job is said where the job's own output begins.
    assert header.endswith("; its ephemeralStorage of 30 GiB is not enforced"), header


@pytest.mark.parametrize(
    ("runtime_platform", "needs"),
    [
        (
            {"cpuArchitecture": OTHER_CPU},
            f"the job needs the {OTHER_CPU} CPU architecture; the host of ",
        ),
        (
            {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"},
            "the job needs a WINDOWS_SERVER_2022_CORE container; ",
        ),
    ],
)
def test_a_runtime_platform_the_engine_host_is_not_fails_to_start_saying_so(
    engine_server: ServerProcess, runtime_platform: dict[str, str], needs: str
) -> None:
    """The engine reports its host's architecture; it runs Linux containers only."""
    batch = engine_server.client("batch")
    queue, name = _fargate(batch, ["true"], runtimePlatform=runtime_platform)
    job = _run(engine_server, queue, name)
    assert job["status"] == "FAILED", job
    reason = job["attempts"][-1]["container"]["reason"]
    assert reason.startswith(f"CannotStartContainerError: {needs}"), reason


def test_a_job_describes_itself_with_boto3_from_inside_its_container(
    engine_server: ServerProcess, python_image: str
) -> None:
    """The job's SDK finds the server and its account's keys from the environment alone."""
    batch = engine_server.client("batch")
    queue = _stack(batch)
    program = (
        "import os, boto3\n"
        "me = os.environ['AWS_BATCH_JOB_ID']\n"
        "[job] = boto3.client('batch').describe_jobs(jobs=[me])['jobs']\n"
        "print(job['jobId'] == me, job['status'], os.environ['AWS_ACCESS_KEY_ID'])\n"
    )
    job = _run(engine_server, queue, _definition(batch, ["python3", "-c", program], python_image))
    assert job["status"] == "SUCCEEDED", (job, _lines(engine_server, job))
    # In development mode a job signs with its account id, which is its own account.
    assert _lines(engine_server, job)[1:] == ["True RUNNING 123456789012"]


def test_multinode_nodes_are_containers_on_a_network_of_their_own(
    engine_server: ServerProcess, python_image: str, podman: PodmanService
) -> None:
    batch = engine_server.client("batch")
    queue = _stack(batch)
    definition = make_multinode_definition(
        batch, ["python3", "-c", EXCHANGE], 2, container={"image": python_image}
    )
    job = _run(engine_server, queue, definition)
    assert job["status"] == "SUCCEEDED", job
    main, other = (describe(batch, f"{job['jobId']}#{i}") for i in (0, 1))
    assert _lines(engine_server, main)[1:] == ["main got hello"]
    [reached] = _lines(engine_server, other)[1:]
    address = reached.removeprefix("reached ")
    assert address not in ("127.0.0.1", reached)
    # The main node was reached on the job's own network, not the one all containers share.
    assert ipaddress.IPv4Address(address) not in podman.subnet
    assert all(HEADER.fullmatch(_lines(engine_server, n)[0]) for n in (main, other))
    # The network goes with the job's last node.
    task = main["attempts"][0]["container"]["taskArn"].rsplit("/", 1)[1]
    group = task.rsplit("-", 1)[0]
    client = podman.client()
    try:
        wait_for(
            lambda: not client.networks(filters={"label": f"{LABEL_GROUP}={group}"}),
            timeout=30,
            what="the job's network to be removed after its nodes ended",
        )
    finally:
        client.close()


def test_a_pin_to_a_provider_the_server_lacks_makes_the_environment_invalid(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server()
    batch = server.client("batch")
    pinned = make_ce(batch, status="INVALID", tags={"batchyard:provider": "container"})
    assert wait_ce_status(batch, pinned, "INVALID")["statusReason"] == NO_ENGINE_PIN
    queue = make_queue(batch, [pinned])
    job_id = submit(batch, queue, _definition(batch, ["true"]))
    wait_blocked(batch, job_id, ENVIRONMENTS_INVALID)
    # Unpinned, the environment is VALID again and the job runs as a local process.
    batch.untag_resource(
        resourceArn=describe_arn(batch, pinned), tagKeys=["batchyard:provider"]
    )
    assert wait_status(batch, job_id, timeout=30)["status"] == "SUCCEEDED"
    unknown = make_ce(batch, status="INVALID", tags={"batchyard:provider": "kubernetes"})
    assert wait_ce_status(batch, unknown, "INVALID")["statusReason"] == (
        "CLIENT_ERROR - batchyard:provider must be one of local, container, ray, not 'kubernetes'"
    )


def _containers_of(podman: PodmanService, job_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = podman.client().containers(
        all=True, filters={"label": f"{LABEL_JOB}={job_id}"}
    )
    return listed


def test_containers_outlive_a_killed_server_and_the_next_one_takes_them_over(
    new_server: Callable[..., ServerProcess], podman: PodmanService, tmp_path: Path
) -> None:
    env = {
        "BATCHYARD_CONTAINER_ENGINE": podman.url,
        "BATCHYARD_CONTAINER_NETWORK": podman.network,
        "BATCHYARD_CONTAINER_PULL_POLICY": "never",
    }
    first = new_server(env=env, data_dir=tmp_path / "data")
    batch = first.client("batch")
    queue = _stack(batch)
    slow = submit(batch, queue, _definition(
        batch, ["sh", "-c", "for i in 1 2 3 4 5 6; do echo line $i; sleep 1; done; exit 7"]
    ))
    quick = submit(batch, queue, _definition(batch, ["sh", "-c", "echo quick; sleep 1; exit 4"]))
    for job_id in (slow, quick):
        wait_status(batch, job_id, "RUNNING", timeout=60)
    wait_for(
        lambda: "line 2" in _lines(first, describe(batch, slow)),
        timeout=30,
        what="the slow job's output",
    )
    first.kill()
    # The quick one ends while no server watches it; the slow one is still running.
    wait_for(
        lambda: [c["State"] for c in _containers_of(podman, quick)] == ["exited"],
        timeout=30,
        what="the quick container to exit",
    )
    assert [c["State"] for c in _containers_of(podman, slow)] == ["running"]
    second = new_server(env=env, data_dir=tmp_path / "data")
    batch = second.client("batch")
    ended = {job_id: wait_status(batch, job_id, timeout=60) for job_id in (slow, quick)}
    assert [ended[slow]["status"], ended[quick]["status"]] == ["FAILED", "FAILED"]
    assert ended[slow]["container"]["exitCode"] == 7
    assert ended[quick]["container"]["exitCode"] == 4
    # One attempt each, not run again; every line once, after the line saying where it ran.
    assert [len(ended[slow]["attempts"]), len(ended[quick]["attempts"])] == [1, 1]
    header, *output = _lines(second, ended[slow])
    assert HEADER.fullmatch(header)
    assert output == [f"line {i}" for i in range(1, 7)]
    assert _lines(second, ended[quick])[1:] == ["quick"]
    assert f"re-attached to the attempt of job {slow}" in second.log()
    # Once their ends are committed, the containers are removed.
    wait_for(
        lambda: not _containers_of(podman, slow) and not _containers_of(podman, quick),
        timeout=30,
        what="the ended containers removed",
    )


def describe_arn(batch: Any, name: str) -> str:
    """The ARN of compute environment ``name``."""
    [found] = batch.describe_compute_environments(computeEnvironments=[name])[
        "computeEnvironments"
    ]
    return str(found["computeEnvironmentArn"])


def test_an_engine_that_does_not_answer_stops_the_server_from_starting(
    new_server: Callable[..., ServerProcess], tmp_path: Any
) -> None:
    missing = f"unix://{tmp_path}/no-engine.sock"
    with pytest.raises(AssertionError, match="no container engine answers at"):
        new_server(env={"BATCHYARD_CONTAINER_ENGINE": missing})


def test_a_reset_removes_the_containers_of_running_jobs(
    new_server: Callable[..., ServerProcess], podman: PodmanService
) -> None:
    server = new_server(env={
        "BATCHYARD_CONTAINER_ENGINE": podman.url,
        "BATCHYARD_CONTAINER_NETWORK": podman.network,
        "BATCHYARD_CONTAINER_PULL_POLICY": "never",
    })
    batch = server.client("batch")
    job = submit(batch, _stack(batch), _definition(batch, ["sleep", "300"]))
    wait_status(batch, job, "RUNNING", timeout=60)
    assert [c["State"] for c in _containers_of(podman, job)] == ["running"]
    answer = httpx.post(f"{server.endpoint}/_batchyard/reset", timeout=120)
    assert answer.status_code == 200, answer.text
    assert _containers_of(podman, job) == []
    assert batch.describe_jobs(jobs=[job])["jobs"] == []
