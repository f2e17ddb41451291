"""The container provider against a real Podman: every container field, seen from inside.

Each test runs real containers of the session's private Podman (``tests/support/podman.py``)
from images made here (``tests/support/images.py``) and looks from inside the container:
``id -u``, the cgroup's limit files, mounted files, ``ulimit``, ``/dev/shm``, mounts,
capabilities, PID 1. Waits are on conditions with deadlines.
"""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tests.support.images import BUSYBOX, CGROUP_LIMITS, ENTRYPOINT, JOB_UID
from tests.support.podman import PodmanService
from tests.support.server import ServerProcess, free_port

from batchyard.compute.container import (
    ENDPOINT_HOST,
    LABEL_SERVER,
    ContainerProvider,
    PullPolicy,
    discard,
)
from batchyard.compute.container_spec import container_spec
from batchyard.compute.engine import EngineUnavailable, choose_engine, connect
from batchyard.compute.group_networks import LABEL_GROUP, network_name
from batchyard.compute.output import MAX_LINE_BYTES
from batchyard.compute.provider import (
    OUT_OF_MEMORY_REASON,
    AttemptSpec,
    ExitStatus,
    LaunchError,
    ServiceAccess,
)

T = TypeVar("T")
DEADLINE = 60.0
# CAP_SYS_ADMIN, which only a privileged container has.
CAP_SYS_ADMIN_BIT = 21


class Output:
    """The lines an attempt delivered, with a way to wait for one."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.stamps: list[int] = []
        self._changed: asyncio.Event | None = None

    def __call__(self, timestamp: int, stream: str, text: str) -> None:
        self.lines.append((stream, text))
        self.stamps.append(timestamp)
        if self._changed is not None:
            self._changed.set()

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.lines]

    async def until(self, text: str, timeout: float = DEADLINE) -> None:
        """Wait until a line equal to ``text`` has arrived."""
        if self._changed is None:
            self._changed = asyncio.Event()
        deadline = time.monotonic() + timeout
        while text not in self.texts:
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line {text!r} within {timeout}s: {self.lines}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue


def _attempt(
    properties: dict[str, Any],
    command: list[str] | None = None,
    environment: dict[str, str] | None = None,
    **kwargs: Any,
) -> AttemptSpec:
    """An attempt of a job whose container block is ``properties`` (image: busybox)."""
    properties = {"image": BUSYBOX, **properties}
    return AttemptSpec(
        attempt_id=uuid.uuid4().hex,
        job_id=str(uuid.uuid4()),
        command=command or [],
        environment={"AWS_BATCH_JOB_ATTEMPT": "1", **(environment or {})},
        image=properties["image"],
        container=container_spec(properties),
        **kwargs,
    )


def _shell(script: str, properties: dict[str, Any] | None = None, **kwargs: Any) -> AttemptSpec:
    return _attempt(properties or {}, ["sh", "-c", script], **kwargs)


@pytest.fixture
def provider(podman: PodmanService) -> Iterator[Callable[..., ContainerProvider]]:
    """Providers on the session's Podman, each with a server id of its own; their
    containers are removed after the test."""
    made: list[ContainerProvider] = []

    def make(**kwargs: Any) -> ContainerProvider:
        kwargs.setdefault("server_id", f"test-{uuid.uuid4().hex[:12]}")
        kwargs.setdefault("network", podman.network)
        made.append(ContainerProvider(connect(podman.url), **kwargs))
        return made[-1]

    yield make
    client = podman.client()
    for each in made:
        if each.oom_log is not None:
            each.oom_log.close()
        each.engine.api.close()
        for listed in client.containers(
            all=True, filters={"label": f"{LABEL_SERVER}={each.server_id}"}
        ):
            discard(client, listed["Id"])
    client.close()


def _within(awaitable: Awaitable[T], timeout: float = DEADLINE) -> Awaitable[T]:
    return asyncio.wait_for(awaitable, timeout)


def _run(provider: ContainerProvider, spec: AttemptSpec) -> tuple[ExitStatus, list[str]]:
    """Run ``spec`` to its end: its exit status and output lines."""

    async def go() -> tuple[ExitStatus, list[str]]:
        output = Output()
        attempt = await provider.start(spec, output)
        status = await _within(attempt.wait())
        await attempt.release()
        return status, output.texts

    return asyncio.run(go())


def test_command_environment_output_and_exit_code(
    provider: Callable[..., ContainerProvider],
) -> None:
    spec = _shell(
        "echo $GREETING $AWS_BATCH_JOB_ATTEMPT; echo to-stderr >&2; printf 'no-newline'; exit 3",
        environment={"GREETING": "hello"},
    )
    output = Output()

    async def go() -> ExitStatus:
        attempt = await provider().start(spec, output)
        status = await _within(attempt.wait())
        await attempt.release()
        return status

    status = asyncio.run(go())
    assert status == ExitStatus(exit_code=3)
    assert ("stdout", "hello 1") in output.lines
    assert ("stderr", "to-stderr") in output.lines
    assert ("stdout", "no-newline") in output.lines


def test_long_lines_are_cut_and_timestamped_when_they_arrive(
    provider: Callable[..., ContainerProvider],
) -> None:
    began = int(time.time() * 1000)
    # 300,000 bytes in one line: the engine's log has it in 8 KiB pieces, put together again.
    script = "head -c 300000 /dev/zero | tr '\\0' a; echo; echo after"
    output = Output()

    async def go() -> ExitStatus:
        attempt = await provider().start(_shell(script), output)
        status = await _within(attempt.wait())
        await attempt.release()
        return status

    assert asyncio.run(go()).exit_code == 0
    assert [len(text) for text in output.texts] == [MAX_LINE_BYTES, 300000 - MAX_LINE_BYTES, 5]
    assert set(output.texts[0]) == {"a"} and output.texts[2] == "after"
    assert all(began - 1000 <= stamp <= time.time() * 1000 for stamp in output.stamps)


def test_command_replaces_cmd_and_keeps_the_image_entrypoint(
    provider: Callable[..., ContainerProvider],
) -> None:
    made = provider()
    assert _run(made, _attempt({"image": ENTRYPOINT}, ["hello"]))[1] == ["from-entrypoint hello"]
    assert _run(made, _attempt({"image": ENTRYPOINT}))[1] == ["from-entrypoint default-command"]
    # Without a command the image's CMD runs (busybox: sh, which reads nothing and exits).
    assert _run(made, _attempt({}))[0].exit_code == 0


def test_user_runs_the_command_as_that_user(provider: Callable[..., ContainerProvider]) -> None:
    made = provider()
    assert _run(made, _shell("id -u"))[1] == ["0"]
    assert _run(made, _shell("id -u", {"user": str(JOB_UID)}))[1] == [str(JOB_UID)]
    assert _run(made, _shell("id -un; id -u", {"user": "jobuser"}))[1] == ["jobuser", str(JOB_UID)]




def test_vcpus_and_memory_are_the_containers_cgroup_limits(
    provider: Callable[..., ContainerProvider],
) -> None:
    status, lines = _run(provider(), _shell(CGROUP_LIMITS, vcpus=0.5, memory_mib=64))
    assert status.exit_code == 0, lines[-3:]
    assert "cpu 50000 100000" in lines
    assert f"memory {64 * 1024 * 1024}" in lines
    # No maxSwap: no swap at all.
    assert "swap 0" in lines


def test_more_vcpus_than_the_host_has_are_all_of_its_cpus(
    provider: Callable[..., ContainerProvider],
) -> None:
    made = provider()
    status, lines = _run(made, _shell(CGROUP_LIMITS, vcpus=made.host_cpus + 6.0))
    assert status.exit_code == 0, lines[-3:]
    assert f"cpu {made.host_cpus * 100000} 100000" in lines


def test_max_swap_and_swappiness(provider: Callable[..., ContainerProvider]) -> None:
    properties = {"linuxParameters": {"maxSwap": 16, "swappiness": 10}}
    status, lines = _run(provider(), _shell(CGROUP_LIMITS, properties, memory_mib=64))
    assert status.exit_code == 0, lines[-3:]
    assert f"swap {16 * 1024 * 1024}" in lines
    if any(line.startswith("swappiness") for line in lines):
        assert "swappiness 10" in lines


def test_memory_overrun_is_an_out_of_memory_kill(
    provider: Callable[..., ContainerProvider],
) -> None:
    # The shell keeps the whole 200 MB string in its own memory.
    script = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"
    status, lines = _run(provider(), _shell(script, memory_mib=32))
    assert status == ExitStatus(exit_code=137, reason=OUT_OF_MEMORY_REASON, out_of_memory=True)
    assert "survived" not in lines


def test_a_kill_that_is_not_for_memory_is_just_its_exit_code(
    provider: Callable[..., ContainerProvider],
) -> None:
    status, _lines = _run(provider(), _shell("sleep 30 & kill -9 $!; wait $!", memory_mib=64))
    assert status == ExitStatus(exit_code=137)


def test_volumes_mount_points_and_efs(
    provider: Callable[..., ContainerProvider], tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "input.txt").write_text("from the host\n")
    efs_root = tmp_path / "efs"
    (efs_root / "fs-12345678" / "projects").mkdir(parents=True)
    (efs_root / "fs-12345678" / "projects" / "data.txt").write_text("on efs\n")
    properties = {
        "volumes": [
            {"name": "shared", "host": {"sourcePath": str(shared)}},
            {"name": "readonly", "host": {"sourcePath": str(shared)}},
            {
                "name": "efs",
                "efsVolumeConfiguration": {
                    "fileSystemId": "fs-12345678",
                    "rootDirectory": "/projects",
                },
            },
            {"name": "scratch"},
        ],
        "mountPoints": [
            {"sourceVolume": "shared", "containerPath": "/data"},
            {"sourceVolume": "readonly", "containerPath": "/ro", "readOnly": True},
            {"sourceVolume": "efs", "containerPath": "/mnt/efs"},
            {"sourceVolume": "scratch", "containerPath": "/scratch"},
        ],
    }
    script = (
        "cat /data/input.txt; echo written > /data/output.txt;"
        "touch /ro/nope 2>/dev/null && echo ro-writable || echo ro-refused;"
        "cat /mnt/efs/data.txt; echo anonymous > /scratch/x && cat /scratch/x"
    )
    status, lines = _run(provider(efs_root=efs_root), _shell(script, properties))
    assert status.exit_code == 0, lines[-3:]
    assert lines == ["from the host", "ro-refused", "on efs", "anonymous"]
    assert (shared / "output.txt").read_text() == "written\n"


def test_a_mount_of_an_undefined_volume_or_unconfigured_efs_cannot_start(
    provider: Callable[..., ContainerProvider],
) -> None:
    made = provider()
    undefined = {"mountPoints": [{"sourceVolume": "nope", "containerPath": "/x"}]}
    efs = {
        "volumes": [{"name": "e", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
        "mountPoints": [{"sourceVolume": "e", "containerPath": "/x"}],
    }
    for properties in (undefined, efs):
        with pytest.raises(LaunchError, match=r"^CannotCreateContainerError: "):
            _run(made, _shell("true", properties))


def test_ulimits(provider: Callable[..., ContainerProvider]) -> None:
    properties = {
        "ulimits": [
            {"name": "nofile", "softLimit": 1024, "hardLimit": 2048},
            {"name": "core", "softLimit": 0, "hardLimit": 0},
        ]
    }
    status, lines = _run(provider(), _shell("ulimit -n; ulimit -Hn; ulimit -c", properties))
    assert (status.exit_code, lines) == (0, ["1024", "2048", "0"])


def test_shared_memory_and_tmpfs(provider: Callable[..., ContainerProvider]) -> None:
    properties = {
        "linuxParameters": {
            "sharedMemorySize": 32,
            "tmpfs": [{"containerPath": "/fast", "size": 8, "mountOptions": ["noexec", "nosuid"]}],
        }
    }
    script = (
        "df -k /dev/shm | tail -1 | awk '{print \"shm\", $2}';"
        "df -k /fast | tail -1 | awk '{print \"fast\", $2}';"
        "grep ' /fast ' /proc/mounts | cut -d' ' -f3,4"
    )
    status, lines = _run(provider(), _shell(script, properties))
    assert status.exit_code == 0, lines[-3:]
    assert lines[:2] == ["shm 32768", "fast 8192"]
    kind, options = lines[2].split()
    assert kind == "tmpfs" and {"noexec", "nosuid"} <= set(options.split(","))


def test_readonly_root_filesystem(provider: Callable[..., ContainerProvider]) -> None:
    made = provider()
    script = "touch /marker 2>/dev/null && echo writable || echo read-only"
    assert _run(made, _shell(script))[1] == ["writable"]
    assert _run(made, _shell(script, {"readonlyRootFilesystem": True}))[1] == ["read-only"]


def test_privileged(provider: Callable[..., ContainerProvider]) -> None:
    made = provider()
    script = "grep CapEff /proc/self/status | cut -f2"
    plain = int(_run(made, _shell(script))[1][0], 16)
    privileged = int(_run(made, _shell(script, {"privileged": True}))[1][0], 16)
    assert not plain & (1 << CAP_SYS_ADMIN_BIT)
    assert privileged & (1 << CAP_SYS_ADMIN_BIT)


def test_init_process(provider: Callable[..., ContainerProvider]) -> None:
    made = provider()
    # The trailing command keeps sh from exec'ing cat as PID 1.
    script = "cat /proc/1/comm; true"
    assert _run(made, _shell(script))[1] == ["sh"]
    init = _run(made, _shell(script, {"linuxParameters": {"initProcessEnabled": True}}))[1]
    assert init != ["sh"] and init[0] in ("catatonit", "podman-init", "docker-init", "tini"), init


def test_devices(provider: Callable[..., ContainerProvider]) -> None:
    properties = {
        "linuxParameters": {
            "devices": [
                {
                    "hostPath": "/dev/zero",
                    "containerPath": "/dev/job-zero",
                    "permissions": ["READ"],
                },
            ]
        }
    }
    status, lines = _run(provider(), _shell("head -c 5 /dev/job-zero | wc -c", properties))
    assert (status.exit_code, lines) == (0, ["5"])


def test_a_missing_program_cannot_start(provider: Callable[..., ContainerProvider]) -> None:
    with pytest.raises(
        LaunchError, match=r"^CannotStartContainerError: Error response from daemon: "
    ):
        _run(provider(), _attempt({}, ["/no/such/program"]))


def test_a_failed_pull_is_cannot_pull_container_error(
    provider: Callable[..., ContainerProvider],
) -> None:
    # A registry on a closed loopback port: refused at once, nothing leaves the machine.
    with pytest.raises(
        LaunchError, match=r"^CannotPullContainerError: Error response from daemon: "
    ):
        _run(provider(), _attempt({"image": "127.0.0.1:1/nosuch/image:1"}, ["true"]))
    with pytest.raises(LaunchError, match=r"^CannotPullContainerError: .*never"):
        _run(
            provider(pull_policy=PullPolicy.NEVER),
            _attempt({"image": "localhost/absent:1"}, ["true"]),
        )
    # A present image is used as it is, also under "never".
    assert _run(provider(pull_policy="never"), _shell("true"))[0].exit_code == 0


@pytest.mark.parametrize(
    ("script", "grace", "exit_code"),
    [
        # SIGTERM handled: the container ends on it, long before the grace.
        ("trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.1; done", 30.0, 0),
        # SIGTERM ignored: SIGKILL once the grace is over.
        ("trap '' TERM; echo ready; sleep 60", 1.0, 137),
    ],
    ids=["handled", "ignored"],
)
def test_stop_is_sigterm_then_sigkill_after_the_grace(
    provider: Callable[..., ContainerProvider], script: str, grace: float, exit_code: int
) -> None:
    output = Output()

    async def go() -> tuple[ExitStatus, float]:
        attempt = await provider().start(_shell(script), output)
        await output.until("ready")
        began = time.monotonic()
        await attempt.stop(grace)
        status = await _within(attempt.wait())
        await attempt.release()
        return status, time.monotonic() - began

    status, elapsed = asyncio.run(go())
    assert status == ExitStatus(exit_code=exit_code)
    if exit_code == 0:
        assert "got-term" in output.texts
        assert elapsed < 20
    else:
        assert grace <= elapsed < grace + 20


def test_kill_ends_the_container_at_once(provider: Callable[..., ContainerProvider]) -> None:
    output = Output()

    async def go() -> ExitStatus:
        attempt = await provider().start(_shell("trap '' TERM; echo ready; sleep 60"), output)
        await output.until("ready")
        attempt.kill()
        status = await _within(attempt.wait(), 30)
        await attempt.release()
        return status

    assert asyncio.run(go()) == ExitStatus(exit_code=137)


def test_lines_arrive_while_the_container_runs(
    provider: Callable[..., ContainerProvider], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    properties = {
        "volumes": [{"name": "gate", "host": {"sourcePath": str(gate)}}],
        "mountPoints": [{"sourceVolume": "gate", "containerPath": "/gate"}],
    }
    script = "echo first; while [ ! -e /gate/open ]; do sleep 0.05; done; echo second"
    output = Output()

    async def go() -> ExitStatus:
        attempt = await provider().start(_shell(script, properties), output)
        await output.until("first")
        # The container is still running: it waits for the gate, which only opens now.
        assert output.texts == ["first"]
        (gate / "open").touch()
        status = await _within(attempt.wait())
        await attempt.release()
        return status

    assert asyncio.run(go()).exit_code == 0
    assert output.texts == ["first", "second"]


def _gated(gate: Path, script: str) -> AttemptSpec:
    return _shell(
        script,
        {
            "volumes": [{"name": "gate", "host": {"sourcePath": str(gate)}}],
            "mountPoints": [{"sourceVolume": "gate", "containerPath": "/gate"}],
        },
    )


GATED = "echo one; echo two; while [ ! -e /gate/open ]; do sleep 0.05; done; echo three; exit 7"


async def _until_the_server_goes(first: ContainerProvider, gate: Path, output: Output) -> Any:
    """Start ``GATED`` and let its server go away once "two" arrived; its identity."""
    attempt = await first.start(_gated(gate, GATED), output)
    await output.until("two")
    attempt.detach()
    await first.close()
    return attempt.identity


def test_a_new_provider_reattaches_to_a_running_container(
    provider: Callable[..., ContainerProvider], tmp_path: Path
) -> None:
    """A server restart: the container goes on, the new server's provider finds it from the
    recorded identity, its output continues after the stored lines and its exit is seen."""
    server_id = f"restart-{uuid.uuid4().hex[:8]}"
    before, after = Output(), Output()

    async def go() -> tuple[ExitStatus, bool]:
        identity = await _until_the_server_goes(provider(server_id=server_id), tmp_path, before)
        # Only "one" was stored before the server went away: "two" comes again.
        second = provider(server_id=server_id)
        again = await second.reattach(identity, after, delivered=1)
        assert again is not None
        await after.until("two")
        (tmp_path / "open").touch()
        status = await _within(again.wait())
        await again.release()
        return status, await second.reattach(identity, after, delivered=0) is None

    status, gone = asyncio.run(go())
    assert status == ExitStatus(exit_code=7)
    assert before.texts == ["one", "two"]
    assert after.texts == ["two", "three"]
    assert gone, "a released container is not found again"


def test_a_container_that_ended_while_no_server_watched_reports_its_real_exit(
    provider: Callable[..., ContainerProvider], podman: PodmanService, tmp_path: Path
) -> None:
    server_id = f"ended-{uuid.uuid4().hex[:8]}"
    before, after = Output(), Output()

    async def go() -> ExitStatus:
        identity = await _until_the_server_goes(provider(server_id=server_id), tmp_path, before)
        (tmp_path / "open").touch()
        client = podman.client()
        assert (await asyncio.to_thread(client.wait, identity["containerId"]))["StatusCode"] == 7
        client.close()
        second = provider(server_id=server_id)
        again = await second.reattach(identity, after, delivered=2)
        assert again is not None
        status = await _within(again.wait())
        await again.release()
        return status

    assert asyncio.run(go()) == ExitStatus(exit_code=7)
    assert after.texts == ["three"]


def test_reap_and_sweep_find_containers_by_their_labels(
    provider: Callable[..., ContainerProvider], podman: PodmanService
) -> None:
    """A server that died before recording the container's id: its job's label finds it."""
    server_id = f"reap-{uuid.uuid4().hex[:8]}"
    spec = _shell("echo ready; sleep 60")
    output = Output()

    async def start() -> tuple[dict[str, Any], str]:
        attempt = await provider(server_id=server_id).start(spec, output)
        await output.until("ready")
        attempt.detach()
        other = await provider().start(_shell("sleep 60"), Output())
        other.detach()
        return attempt.identity, other.container_id

    identity, others = asyncio.run(start())
    later = provider(server_id=server_id)
    assert later.reap({"jobId": spec.job_id})
    assert not later.reap({"jobId": spec.job_id})
    leftover = asyncio.run(_detached_start(later))
    later.sweep()
    client = podman.client()
    remaining = {c["Id"] for c in client.containers(all=True)}
    client.close()
    assert identity["containerId"] not in remaining
    assert leftover not in remaining
    assert others in remaining, "another server's containers are not swept"


def test_a_groups_nodes_share_a_network_of_their_own_until_the_last_is_released(
    provider: Callable[..., ContainerProvider], podman: PodmanService
) -> None:
    made = provider()
    group = uuid.uuid4().hex
    name = network_name(made.server_id, group)
    client = podman.client()

    def networks() -> list[str]:
        return [n["Name"] for n in client.networks(filters={"label": f"{LABEL_GROUP}={group}"})]

    async def scenario() -> None:
        first, second = [
            await made.start(_shell("echo up; sleep 60", group=group), Output()) for _ in "12"
        ]
        assert networks() == [name]
        inside = client.inspect_network(name)["IPAM"]["Config"][0]["Subnet"]
        address = first.identity["privateIpv4Address"]
        assert ipaddress.IPv4Address(address) in ipaddress.IPv4Network(inside)
        # The second node reaches the first on the group's network.
        probe = _shell(f"ping -c 1 -W 5 {address} >/dev/null && echo reached", group=group)
        output = Output()
        prober = await made.start(probe, output)
        assert (await _within(prober.wait())).exit_code == 0
        assert output.texts == ["reached"]
        await prober.release()
        for attempt in (first, second):
            await attempt.stop(0)
            await _within(attempt.wait())
        await first.release()
        assert networks() == [name], "the network stays while a node's container is left"
        await second.release()
        assert networks() == []
        # A server killed with a node running leaves the network; the next one sweeps it.
        left = await made.start(_shell("sleep 60", group=group), Output())
        left.detach()
        later = provider(server_id=made.server_id)
        assert later.reap(left.identity)
        later.sweep()
        assert networks() == []

    try:
        asyncio.run(scenario())
    finally:
        client.close()


async def _detached_start(made: ContainerProvider) -> str:
    attempt = await made.start(_shell("sleep 60"), Output())
    attempt.detach()
    return attempt.container_id


class _HostServer(http.server.ThreadingHTTPServer):
    """A plain HTTP server on the host's loopback, standing in for batchyard."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", free_port()), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HostServer

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        body = b"hello from the host\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_job_reaches_the_server_on_the_hosts_loopback_and_nothing_else(
    provider: Callable[..., ContainerProvider],
) -> None:
    host = _HostServer()
    private = _HostServer()  # also on the loopback, but not the server's endpoint
    access = ServiceAccess("eu-west-1", "AKIDEXAMPLE", "secret-example")
    script = (
        "echo $AWS_ENDPOINT_URL $AWS_REGION $AWS_DEFAULT_REGION $AWS_ACCESS_KEY_ID;"
        "wget -q -O- $AWS_ENDPOINT_URL/from-the-job;"
        f"wget -q -O- http://{ENDPOINT_HOST}:{private.server_address[1]}/ 2>&1"
        " && echo private-reached || echo private-refused;"
        f"wget -q -O- http://{ENDPOINT_HOST}:5432/ 2>&1 | grep -q refused && echo no-store;"
        "ip route | grep -q default && echo has-default-route || echo no-default-route"
    )

    async def go() -> tuple[ExitStatus, list[str]]:
        made = provider(endpoint_url=host.url)
        output = Output()
        attempt = await made.start(_shell(script, access=access), output)
        status = await _within(attempt.wait())
        await attempt.release()
        await made.close()
        return status, output.texts

    try:
        status, lines = asyncio.run(go())
    finally:
        host.shutdown()
        private.shutdown()
    port = host.server_address[1]
    assert status.exit_code == 0, lines[-3:]
    assert lines[0] == f"http://{ENDPOINT_HOST}:{port} eu-west-1 eu-west-1 AKIDEXAMPLE"
    assert lines[1] == "hello from the host"
    assert host.requests == [("/from-the-job", f"{ENDPOINT_HOST}:{port}")]
    assert "private-refused" in lines and not private.requests
    assert "no-store" in lines
    assert "no-default-route" in lines


def test_a_job_calls_batchyard_with_boto3_from_inside_its_container(
    provider: Callable[..., ContainerProvider], python_image: str, server: ServerProcess
) -> None:
    """The SDK in the image finds the server from the environment alone, no endpoint_url."""
    name = f"q-{uuid.uuid4().hex[:8]}"
    batch = server.client("batch")
    environment_arn = batch.create_compute_environment(
        computeEnvironmentName=f"ce-{name}", type="UNMANAGED"
    )["computeEnvironmentArn"]
    batch.create_job_queue(
        jobQueueName=name,
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment_arn}],
    )
    program = (
        "import boto3\n"
        f"queues = boto3.client('batch').describe_job_queues(jobQueues=[{name!r}])['jobQueues']\n"
        "print(*[q['jobQueueName'] for q in queues])\n"
    )
    access = ServiceAccess("us-east-1", "AKIDEXAMPLE", "secret-example")
    spec = _attempt({"image": python_image}, ["python3", "-c", program], access=access)

    async def go() -> tuple[ExitStatus, list[str]]:
        made = provider(endpoint_url=server.endpoint)
        output = Output()
        attempt = await made.start(spec, output)
        status = await _within(attempt.wait(), 120)
        await attempt.release()
        await made.close()
        return status, output.texts

    status, lines = asyncio.run(go())
    assert status.exit_code == 0, lines[-3:]
    assert lines == [name]


def test_engine_choice(podman: PodmanService) -> None:
    assert choose_engine("none").engine is None
    missing = "unix:///nonexistent/batchyard-test.sock"
    chosen = choose_engine("auto", candidates=[missing, podman.url])
    assert chosen.engine is not None and chosen.engine.podman
    assert chosen.summary.startswith("jobs run in containers on Podman Engine")
    nothing = choose_engine("auto", candidates=[missing])
    assert nothing.engine is None and missing in nothing.summary
    with pytest.raises(EngineUnavailable):
        choose_engine(missing)
    assert choose_engine(podman.url).engine is not None
