"""The container provider's parts that need no engine: the typed container spec, the
engine arguments built from it, the line splitter, the kernel-log OOM reader, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.podman import PodmanService

from batchyard.compute.container import ENDPOINT_HOST, Endpoint, _epoch_ms, create_arguments
from batchyard.compute.container_spec import (
    ContainerSpec,
    Device,
    EfsVolume,
    LinuxParameters,
    MountPoint,
    Tmpfs,
    Ulimit,
    Volume,
    container_spec,
)
from batchyard.compute.engine import engine_process_limits, standard_sockets
from batchyard.compute.oom_log import OomLog
from batchyard.compute.output import MAX_LINE_BYTES, LineSplitter
from batchyard.compute.provider import AttemptSpec, LaunchError, ServiceAccess
from batchyard.config import load_settings

PROPERTIES = {
    "image": "public.ecr.aws/example/job:1",
    "command": ["python3", "job.py"],
    "user": "1000:1000",
    "privileged": True,
    "readonlyRootFilesystem": True,
    "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
    "linuxParameters": {
        "devices": [
            {"hostPath": "/dev/fuse", "permissions": ["READ", "WRITE"]},
            {"hostPath": "/dev/zero", "containerPath": "/dev/z"},
        ],
        "initProcessEnabled": True,
        "sharedMemorySize": 64,
        "tmpfs": [{"containerPath": "/run", "size": 16, "mountOptions": ["noexec"]}],
        "maxSwap": 128,
        "swappiness": 30,
    },
    "volumes": [
        {"name": "data", "host": {"sourcePath": "/srv/data"}},
        {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/a"}},
        {"name": "scratch"},
    ],
    "mountPoints": [
        {"sourceVolume": "data", "containerPath": "/data", "readOnly": True},
        {"sourceVolume": "efs", "containerPath": "/efs"},
        {"sourceVolume": "scratch", "containerPath": "/scratch"},
    ],
}


def test_container_spec_reads_every_field_of_container_properties() -> None:
    assert container_spec(PROPERTIES) == ContainerSpec(
        image="public.ecr.aws/example/job:1",
        user="1000:1000",
        privileged=True,
        readonly_root_filesystem=True,
        ulimits=(Ulimit("nofile", 1024, 4096),),
        linux=LinuxParameters(
            devices=(Device("/dev/fuse", "/dev/fuse", "rw"), Device("/dev/zero", "/dev/z", "rwm")),
            init_process_enabled=True,
            shared_memory_mib=64,
            tmpfs=(Tmpfs("/run", 16, ("noexec",)),),
            max_swap_mib=128,
            swappiness=30,
        ),
        volumes=(
            Volume("data", host_path="/srv/data"),
            Volume("efs", efs=EfsVolume("fs-1", "/a")),
            Volume("scratch"),
        ),
        mount_points=(
            MountPoint("/data", "data", read_only=True),
            MountPoint("/efs", "efs"),
            MountPoint("/scratch", "scratch"),
        ),
    )
    assert container_spec({"image": "busybox"}) == ContainerSpec(image="busybox")


def _spec(**kwargs: object) -> AttemptSpec:
    return AttemptSpec(
        attempt_id="a1",
        job_id="j1",
        command=["python3", "job.py"],
        environment={"AWS_BATCH_JOB_ID": "j1", "AWS_REGION": "job-wins"},
        **kwargs,  # type: ignore[arg-type]
    )


def test_engine_arguments_of_a_full_container() -> None:
    config, host = create_arguments(
        _spec(vcpus=1.5, memory_mib=256, gpus=2, access=ServiceAccess("eu-west-1", "AK", "SK")),
        container_spec(PROPERTIES),
        labels={"batchyard.attempt-id": "a1"},
        network="jobs",
        gpus=[2, 3],
        endpoint=Endpoint("10.88.0.1", 4580),
        efs_root=Path("/mnt/efs"),
        ulimit_defaults={"nproc": (100, 200)},
        host_cpus=8,
    )
    assert config["image"] == "public.ecr.aws/example/job:1"
    assert config["command"] == ["python3", "job.py"]
    assert config["entrypoint"] is None
    assert config["user"] == "1000:1000"
    assert config["name"] == "batchyard-a1"
    assert config["volumes"] == ["/scratch"]
    environment = config["environment"]
    assert environment["AWS_ENDPOINT_URL"] == f"http://{ENDPOINT_HOST}:4580"
    assert environment["AWS_ACCESS_KEY_ID"] == "AK" and environment["AWS_SECRET_ACCESS_KEY"] == "SK"
    assert environment["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert environment["AWS_REGION"] == "job-wins", "the job's own environment wins"
    assert environment["NVIDIA_VISIBLE_DEVICES"] == "2,3"
    assert host["network_mode"] == "jobs"
    assert host["nano_cpus"] == 1_500_000_000
    assert (host["mem_limit"], host["memswap_limit"], host["mem_swappiness"]) == (
        "256m",
        "384m",
        30,
    )
    assert host["privileged"] and host["read_only"] and host["init"]
    assert host["binds"] == ["/srv/data:/data:ro", "/mnt/efs/fs-1/a:/efs:rw"]
    assert host["devices"] == ["/dev/fuse:/dev/fuse:rw", "/dev/zero:/dev/z:rwm"]
    assert host["tmpfs"] == {"/run": "size=16m,noexec"}
    assert host["shm_size"] == "64m"
    assert [(u.name, u.soft, u.hard) for u in host["ulimits"]] == [
        ("nofile", 1024, 4096),
        ("nproc", 100, 200),
    ]
    assert host["extra_hosts"] == {ENDPOINT_HOST: "10.88.0.1"}
    (request,) = host["device_requests"]
    assert request["DeviceIDs"] == ["2", "3"] and request["Capabilities"] == [["gpu"]]


def test_engine_arguments_of_a_plain_container() -> None:
    config, host = create_arguments(
        _spec(),
        ContainerSpec(image="busybox", entrypoint=("/bin/echo",)),
        labels={},
        network=None,
        gpus=[],
        endpoint=None,
        efs_root=None,
        ulimit_defaults={"nproc": (100, 200)},
    )
    assert config["entrypoint"] == ["/bin/echo"]
    assert "AWS_ENDPOINT_URL" not in config["environment"]
    # No ulimits asked for: none set, not even the defaults; no memory: no limit, no swap.
    assert host == {"privileged": False, "nano_cpus": 1_000_000_000}


def test_efs_without_a_host_directory_cannot_start() -> None:
    with pytest.raises(LaunchError, match="container_efs_root"):
        create_arguments(
            _spec(),
            container_spec(PROPERTIES),
            labels={},
            network=None,
            gpus=[],
            endpoint=None,
            efs_root=None,
            ulimit_defaults={},
        )


def test_line_splitter_cuts_the_same_lines_however_the_bytes_arrive() -> None:
    output = b"one\ntwo\n" + b"x" * (MAX_LINE_BYTES * 2 + 10) + b"\nthree\nrest"

    def split(chunk_size: int) -> list[str]:
        splitter = LineSplitter()
        lines: list[str] = []
        for start in range(0, len(output), chunk_size):
            lines += splitter.feed(output[start : start + chunk_size])
        return lines + splitter.close()

    whole = split(len(output))
    assert whole[:2] == ["one", "two"]
    assert [len(line) for line in whole[2:5]] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 10]
    assert whole[5:] == ["three", "rest"]
    for chunk_size in (1, 7, 4096, 65536, MAX_LINE_BYTES):
        assert split(chunk_size) == whole, chunk_size


def test_oom_log_finds_kills_by_container_id(tmp_path: Path) -> None:
    podman_id, docker_id, other = "a" * 64, "b" * 64, "c" * 64
    log = tmp_path / "kmsg"
    log.write_bytes(
        b"6,1395,1713982480,-;[  pid  ]   uid  tgid total_vm      rss name\n"
        b"6,1396,1713982485,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,"
        b"mems_allowed=0,oom_memcg=/libpod_parent/libpod-" + podman_id.encode() + b",task_memcg="
        b"/libpod_parent/libpod-" + podman_id.encode() + b",task=sh,pid=20224,uid=0\n"
        b"6,1397,1713982486,-;oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/system.slice/"
        b"docker-" + docker_id.encode() + b".scope,task_memcg=/x,task=python3,pid=1,uid=0\n"
        b"3,1398,1713982501,-;Memory cgroup out of memory: Killed process 20224 (sh) "
        + other.encode()
        + b"\n"
    )
    reader = OomLog(log)
    assert reader.killed_in(podman_id) and reader.killed_in(docker_id)
    assert not reader.killed_in(other)
    reader.close()
    assert not OomLog(tmp_path / "missing").killed_in(podman_id)


def test_engine_timestamps_are_used_only_when_finer_than_a_second() -> None:
    assert _epoch_ms(b"2026-12-04T19:03:45Z") is None
    assert _epoch_ms(b"2026-12-04T19:03:45.123456789Z") == 1796411025123
    assert _epoch_ms(b"2026-12-04T19:03:45.5+00:00") == 1796411025500
    assert _epoch_ms(b"garbage.x") is None


def test_auto_tries_docker_host_first_then_the_standard_sockets() -> None:
    found = standard_sockets({"DOCKER_HOST": "tcp://10.0.0.1:2375", "XDG_RUNTIME_DIR": "/run/u"})
    assert found == [
        "tcp://10.0.0.1:2375",
        "unix:///var/run/docker.sock",
        "unix:///run/podman/podman.sock",
        "unix:///run/u/podman/podman.sock",
        "unix:///run/u/docker.sock",
    ]


def test_the_engines_own_limits_are_read_from_the_process_serving_its_socket(
    podman: PodmanService,
) -> None:
    limits = engine_process_limits(podman.url)
    assert set(limits) == {"nofile", "nproc"}
    assert limits["nproc"][1] > 0
    assert engine_process_limits("unix:///nonexistent/socket") == {}


def test_container_settings() -> None:
    settings = load_settings(environ={}, config_file=Path("/nonexistent"))
    assert (settings.container_engine, settings.container_pull_policy) == ("auto", "missing")
    assert (settings.container_network, settings.container_efs_root) == ("", "")
    settings = load_settings(
        environ={"BATCHYARD_CONTAINER_ENGINE": "none", "BATCHYARD_CONTAINER_PULL_POLICY": "never"},
        config_file=Path("/nonexistent"),
    )
    assert (settings.container_engine, settings.container_pull_policy) == ("none", "never")
