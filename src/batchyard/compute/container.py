"""The container provider: each attempt runs in its image on a Docker Engine API.

It speaks the Docker Engine API through the Docker SDK for Python, so it runs on Docker and
on Podman's Docker-compatible service (``podman system service``); ``engine`` finds one.

Every field of the job's container is honoured as Docker (and so AWS) runs it: the command
replaces the image's CMD and keeps its ENTRYPOINT; vCPUs become a CFS quota, memory a hard
limit with no swap unless ``maxSwap`` gives some; GPUs are device requests pinned by index.
An attempt's output is read from the engine's log stream while it runs, by one thread per
attempt (the SDK blocks), and handed to the event loop line by line.

Containers outlive the server: each is labelled with its attempt, job and server, and a
new server re-attaches to it from the ``identity`` it reported (``reattach``): its output
continues where the stored lines end and its real exit status is reported, even when it
ended meanwhile. So a container is removed only by ``release``, once its end is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import DeviceRequest, Ulimit
from docker.utils import parse_repository_tag

from batchyard.compute.container_spec import ContainerSpec
from batchyard.compute.engine import Engine, engine_host, engine_process_limits
from batchyard.compute.group_networks import LABEL_GROUP, GroupNetworks
from batchyard.compute.oom_log import OomLog
from batchyard.compute.output import LineSplitter
from batchyard.compute.provider import (
    OUT_OF_MEMORY_REASON,
    AttemptSpec,
    ExitStatus,
    GpuPool,
    HostCapacity,
    LaunchError,
    LineCallback,
    access_environment,
)
from batchyard.compute.relay import EndpointRelay

LABEL_ATTEMPT = "batchyard.attempt-id"
LABEL_JOB = "batchyard.job-id"
LABEL_SERVER = "batchyard.server"
# The name a container reaches this server by (an /etc/hosts entry for the gateway): a
# name in the reserved .internal domain, which no public DNS answers for.
ENDPOINT_HOST = "batchyard.internal"
# The Docker log stream's frame header: stream kind, three zero bytes, payload length.
FRAME_HEADER = struct.Struct(">BxxxL")
STDERR_KINDS = (2, 3)
# The engine's NanoCpus: CPUs in units of 10^-9 (a CFS quota over its period).
NANO_CPUS = 1_000_000_000


class PullPolicy(StrEnum):
    """When an attempt's image is pulled before its container is made."""

    MISSING = "missing"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True)
class Endpoint:
    """How containers reach this server: the name in their hosts file and the port."""

    gateway: str
    port: int

    @property
    def url(self) -> str:
        """``AWS_ENDPOINT_URL`` as the container sees it."""
        return f"http://{ENDPOINT_HOST}:{self.port}"


def container_name(attempt_id: str) -> str:
    """The engine's name of an attempt's container (what finds it when its id is unknown)."""
    return f"batchyard-{attempt_id}"


def create_arguments(
    spec: AttemptSpec,
    container: ContainerSpec,
    *,
    labels: dict[str, str],
    network: str | None,
    gpus: list[int],
    endpoint: Endpoint | None,
    efs_root: Path | None,
    ulimit_defaults: dict[str, tuple[int, int]],
    host_cpus: int = 0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``create_container`` and ``create_host_config`` arguments of one attempt.

    Raises LaunchError for what the engine would refuse less clearly (a mount point of an
    undefined volume, an EFS volume without a configured host directory).
    """
    environment = access_environment(spec.access, endpoint.url if endpoint else None)
    environment.update(spec.environment)
    if gpus:
        environment.setdefault("NVIDIA_VISIBLE_DEVICES", ",".join(map(str, gpus)))
    binds, anonymous = _mounts(container, efs_root)
    linux = container.linux
    host: dict[str, Any] = {
        "network_mode": network,
        "privileged": container.privileged,
        "read_only": container.readonly_root_filesystem or None,
        "init": True if linux.init_process_enabled else None,
        "binds": binds or None,
        "devices": [f"{d.host_path}:{d.container_path}:{d.permissions}" for d in linux.devices]
        or None,
        "tmpfs": {
            t.container_path: ",".join([f"size={t.size_mib}m", *t.mount_options])
            for t in linux.tmpfs
        }
        or None,
        "shm_size": f"{linux.shared_memory_mib}m" if linux.shared_memory_mib else None,
        "ulimits": _ulimits(container, ulimit_defaults) or None,
        "extra_hosts": {ENDPOINT_HOST: endpoint.gateway} if endpoint else None,
    }
    if spec.vcpus > 0:
        # Engines refuse a quota above the host's CPUs, which a job can use no more of.
        vcpus = min(spec.vcpus, host_cpus) if host_cpus > 0 else spec.vcpus
        host["nano_cpus"] = round(vcpus * NANO_CPUS)
    if spec.memory_mib:
        host["mem_limit"] = f"{spec.memory_mib}m"
        swap = linux.max_swap_mib or 0
        host["memswap_limit"] = f"{spec.memory_mib + swap}m"
        if linux.max_swap_mib is not None and linux.swappiness is not None:
            host["mem_swappiness"] = linux.swappiness
    if gpus:
        host["device_requests"] = [
            DeviceRequest(device_ids=[str(g) for g in gpus], capabilities=[["gpu"]])
        ]
    config: dict[str, Any] = {
        "image": container.image,
        "command": list(spec.command) or None,
        "entrypoint": list(container.entrypoint) if container.entrypoint is not None else None,
        "environment": environment,
        "user": container.user,
        "labels": labels,
        "volumes": anonymous or None,
        "name": container_name(spec.attempt_id),
    }
    return config, {k: v for k, v in host.items() if v is not None}


def _mounts(container: ContainerSpec, efs_root: Path | None) -> tuple[list[str], list[str]]:
    """Host binds (``source:target:mode``) and targets of engine-made volumes."""
    volumes = {v.name: v for v in container.volumes}
    binds: list[str] = []
    anonymous: list[str] = []
    for mount in container.mount_points:
        volume = volumes.get(mount.source_volume)
        if volume is None:
            raise LaunchError(
                f"CannotCreateContainerError: mount point {mount.container_path} names "
                f"volume {mount.source_volume!r}, which the job does not define"
            )
        source = volume.host_path
        if volume.efs is not None:
            if efs_root is None:
                raise LaunchError(
                    f"CannotCreateContainerError: EFS volume {volume.name!r}: no host "
                    "directory is configured for EFS file systems (container_efs_root)"
                )
            source = str(
                efs_root / volume.efs.file_system_id / volume.efs.root_directory.lstrip("/")
            )
        if source is None:
            anonymous.append(mount.container_path)
            continue
        binds.append(f"{source}:{mount.container_path}:{'ro' if mount.read_only else 'rw'}")
    return binds, anonymous


def _ulimits(container: ContainerSpec, defaults: dict[str, tuple[int, int]]) -> list[Ulimit]:
    """The container's rlimits; ``defaults`` fill in those the job leaves out when it sets
    any (see ``ContainerProvider._ulimit_defaults``)."""
    limits = [Ulimit(name=u.name, soft=u.soft, hard=u.hard) for u in container.ulimits]
    if limits:
        named = {u.name for u in container.ulimits}
        for name, (soft, hard) in defaults.items():
            if name not in named:
                limits.append(Ulimit(name=name, soft=soft, hard=hard))
    return limits


def discard(api: docker.APIClient, container_id: str) -> None:
    """Kill and remove a container and the volumes the engine made for it.

    The kill comes first because Podman's forced removal stops a running container with
    SIGTERM and its stop timeout (10 s) before it kills it.
    """
    with contextlib.suppress(APIError):
        api.kill(container_id, signal="SIGKILL")
    with contextlib.suppress(NotFound):
        api.remove_container(container_id, v=True, force=True)


def _inspect_image(api: docker.APIClient, image: str) -> None:
    """Raise ImageNotFound when the engine does not have ``image``."""
    api.inspect_image(image)  # type: ignore[no-untyped-call]  # the stubs leave it untyped


def _reason(kind: str, error: Exception) -> str:
    """An engine error as the container reason AWS reports (``CannotPullContainerError: …``)."""
    if isinstance(error, APIError):
        return f"{kind}: Error response from daemon: {error.explanation or error}"
    return f"{kind}: {error}"


class ContainerAttempt:
    """One container: its output streamed by a watcher thread, its end as an ExitStatus."""

    def __init__(
        self,
        provider: ContainerProvider,
        container_id: str,
        identity: dict[str, Any],
        gpus: list[int],
        on_line: LineCallback,
        delivered: int,
    ) -> None:
        self._provider = provider
        self._api = provider.engine.api
        self.container_id = container_id
        self.identity = identity
        self._gpus = gpus
        self._on_line = on_line
        # Lines of the container's output already handed on (by this or an earlier server).
        self._position = delivered
        self._loop = asyncio.get_running_loop()
        self._result: asyncio.Future[ExitStatus] = self._loop.create_future()
        # The socket of the log stream being read, for ``detach`` to cut.
        self._stream: socket.socket | None = None
        self._detached = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name=f"batchyard-container-{container_id[:12]}", daemon=True
        )

    def begin(self) -> None:
        """Start streaming output and waiting for the end."""
        self._thread.start()

    async def wait(self) -> ExitStatus:
        """The exit status, once the container has ended and its output was delivered."""
        return await asyncio.shield(self._result)

    async def stop(self, grace_seconds: float) -> None:
        """SIGTERM the container, SIGKILL it if it outlives ``grace_seconds``."""
        if self._result.done():
            return
        await asyncio.to_thread(self._signal, "SIGTERM")
        try:
            await asyncio.wait_for(asyncio.shield(self._result), timeout=grace_seconds)
        except TimeoutError:
            await asyncio.to_thread(self._signal, "SIGKILL")

    def kill(self) -> None:
        """SIGKILL the container without waiting for the engine's answer."""
        threading.Thread(target=self._signal, args=("SIGKILL",), daemon=True).start()

    def detach(self) -> None:
        """Stop watching and leave the container running; ``wait`` is cancelled."""
        self._detached.set()
        stream = self._stream
        if stream is not None:
            # Ends the watcher's blocking read at once; closing the response from this
            # thread instead would wait for the reader's lock, i.e. for the container's end.
            with contextlib.suppress(OSError):
                stream.shutdown(socket.SHUT_RDWR)
        self._provider._forget(self)
        if not self._result.done():
            self._result.cancel()

    async def release(self) -> None:
        """Remove the ended container and the volumes the engine made for it (and its
        multi-node job's network after its last node)."""
        self._provider._forget(self)
        await asyncio.to_thread(self._remove)
        group = self.identity.get("group")
        if isinstance(group, str):
            await self._provider.networks.leave(group, str(self.identity.get("attemptId")))

    def _remove(self) -> None:
        discard(self._api, self.container_id)

    def _signal(self, name: str) -> None:
        # The container may have ended meanwhile: the engine then refuses the signal.
        with contextlib.suppress(APIError):
            self._api.kill(self.container_id, signal=name)

    def _watch(self) -> None:
        """Thread: stream the output to its end, then learn how the container ended."""
        try:
            broken = False
            try:
                self._read_output(follow=True)
            except Exception:
                if self._detached.is_set():
                    return  # the cut stream fails in whatever way the layer it hit fails
                broken = True
            self._api.wait(self.container_id, timeout=None)
            if self._detached.is_set():
                return
            if broken:
                # What the broken stream did not deliver is still in the engine's log.
                self._read_output(follow=False)
            status = self._exit_status()
        except NotFound:
            status = ExitStatus(None, "CannotInspectContainerError: the container no longer exists")
        except (DockerException, requests.RequestException, OSError) as error:
            if self._detached.is_set():
                return
            status = ExitStatus(None, _reason("CannotInspectContainerError", error))
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._finish, status)

    def _exit_status(self) -> ExitStatus:
        state = self._api.inspect_container(self.container_id)["State"]
        code = state.get("ExitCode")
        oom_log = self._provider.oom_log
        out_of_memory = bool(state.get("OOMKilled")) or (
            oom_log is not None and oom_log.killed_in(self.container_id)
        )
        if out_of_memory:
            return ExitStatus(exit_code=code, reason=OUT_OF_MEMORY_REASON, out_of_memory=True)
        return ExitStatus(exit_code=code)

    def _finish(self, status: ExitStatus) -> None:
        self._provider.gpu_pool.give_back(self._gpus)
        self._gpus = []
        if not self._result.done():
            self._result.set_result(status)

    def _read_output(self, follow: bool) -> None:
        """Read the container's log from its start, handing on the lines not yet handed on.

        The log is the engine's record of the output, the same bytes in the same order at
        every read, so counting lines from its start says which are new.
        """
        api = self._api
        response = api.get(
            f"{api.base_url}/v{api.api_version}/containers/{self.container_id}/logs",
            params={"stdout": 1, "stderr": 1, "follow": int(follow), "timestamps": 1},
            stream=True,
            timeout=None,
        )
        connection = response.raw.connection if response.raw is not None else None
        self._stream = getattr(connection, "sock", None)
        try:
            if self._detached.is_set():
                return
            if response.status_code == 404:
                raise NotFound(f"container {self.container_id}")
            response.raise_for_status()
            splitters = {"stdout": LineSplitter(), "stderr": LineSplitter()}
            index = 0
            while True:
                header = response.raw.read(FRAME_HEADER.size)
                if len(header) < FRAME_HEADER.size:
                    break
                kind, length = FRAME_HEADER.unpack(header)
                payload = response.raw.read(length) if length else b""
                stamp, _, text = payload.partition(b" ")
                name = "stderr" if kind in STDERR_KINDS else "stdout"
                index = self._hand_on(index, _epoch_ms(stamp), name, splitters[name].feed(text))
            if self._detached.is_set():
                return
            now = int(time.time() * 1000)
            for name, splitter in splitters.items():
                index = self._hand_on(index, now, name, splitter.close())
        finally:
            self._stream = None
            response.close()

    def _hand_on(self, index: int, timestamp: int | None, name: str, lines: list[str]) -> int:
        """Deliver those of ``lines`` (numbered from ``index``) not delivered yet."""
        end = index + len(lines)
        if end > self._position and not self._detached.is_set():
            fresh = lines[max(0, self._position - index) :]
            self._position = end
            when = timestamp if timestamp is not None else int(time.time() * 1000)
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._emit, when, name, fresh)
        return end

    def _emit(self, timestamp: int, name: str, lines: list[str]) -> None:
        if self._detached.is_set():
            return
        for line in lines:
            self._on_line(timestamp, name, line)


def _epoch_ms(stamp: bytes) -> int | None:
    """The engine's timestamp of a log frame, when it is finer than a second.

    Docker stamps frames to the nanosecond; Podman 4 only to the second, which would put a
    line up to a second early, so there the time it arrived is used instead.
    """
    whole, dot, rest = stamp.decode("ascii", "replace").partition(".")
    if not dot:
        return None
    digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
    zone = rest[len(digits) :]
    try:
        moment = datetime.fromisoformat(
            f"{whole}.{digits[:6].ljust(6, '0')}{'+00:00' if zone == 'Z' else zone}"
        )
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


class ContainerProvider:
    """Runs attempts as containers of one engine, on one of its networks."""

    def __init__(
        self,
        engine: Engine,
        *,
        server_id: str,
        network: str | None = None,
        pull_policy: PullPolicy | str = PullPolicy.MISSING,
        efs_root: Path | None = None,
        endpoint_url: str | None = None,
        capacity: HostCapacity | None = None,
        oom_log: OomLog | None = None,
        gpus: Sequence[int] | None = None,
        host: tuple[HostCapacity, int] | None = None,
    ) -> None:
        """``server_id`` tells this server's containers from others' on a shared engine (a
        digest of its data directory); ``network`` is the engine network jobs join (None:
        the engine's default); ``endpoint_url`` is this server's own address, which jobs
        reach through a relay on that network's gateway; ``gpus`` the host GPUs attempts
        may be given (None: all of them); ``host`` what ``engine_host`` says of the engine's
        host, when the caller has asked it already."""
        self.engine = engine
        self.server_id = server_id
        self.network = network
        self.pull_policy = PullPolicy(pull_policy)
        self.efs_root = efs_root
        host_capacity, self.host_cpus = host if host is not None else engine_host(engine)
        self.capacity = capacity or host_capacity
        self.gpu_pool = GpuPool(self.capacity.gpus) if gpus is None else GpuPool.of(gpus)
        self.oom_log = oom_log if oom_log is not None else (OomLog() if engine.local else None)
        self._endpoint_url = endpoint_url
        self._endpoint: Endpoint | None = None
        self._relay: EndpointRelay | None = None
        self._opening: asyncio.Lock | None = None
        self._pulls: dict[str, asyncio.Task[None]] = {}
        self._attached: dict[str, ContainerAttempt] = {}
        self._engine_limits: dict[str, tuple[int, int]] | None = None
        self.networks = GroupNetworks(engine, server_id, LABEL_SERVER, network)

    async def open(self) -> None:
        """Start the relay that lets containers reach ``endpoint_url`` (once; ``start``
        does it when it has not been done). Raises LaunchError when it cannot listen."""
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._endpoint_url is None or self._relay is not None:
                return
            target = urlsplit(self._endpoint_url)
            if target.hostname is None or target.port is None:
                raise ValueError(f"endpoint_url needs a host and a port: {self._endpoint_url}")
            gateway = await asyncio.to_thread(self._gateway)
            relay = EndpointRelay(gateway, target.port, target.hostname, target.port)
            try:
                await relay.open()
            except OSError as error:
                raise LaunchError(
                    f"CannotStartContainerError: cannot relay {gateway}:{target.port} to "
                    f"{self._endpoint_url}: {error}"
                ) from None
            self._relay = relay
            self._endpoint = Endpoint(gateway, target.port)

    def _gateway(self) -> str:
        name = self.network or ("podman" if self.engine.podman else "bridge")
        network = self.engine.api.inspect_network(name)
        for config in (network.get("IPAM") or {}).get("Config") or []:
            gateway = config.get("Gateway")
            if gateway and ":" not in gateway:
                return str(gateway)
        raise LaunchError(f"CannotStartContainerError: network {name} has no IPv4 gateway")

    async def close(self) -> None:
        """Stop the relay and close the engine client (running containers are left alone)."""
        if self._relay is not None:
            await self._relay.close()
            self._relay = None
        if self.oom_log is not None:
            self.oom_log.close()
        self.engine.api.close()

    async def start(self, spec: AttemptSpec, on_line: LineCallback) -> ContainerAttempt:
        """Pull the image as the policy says, create and start the attempt's container."""
        container = spec.container or ContainerSpec(image=spec.image or "")
        if not container.image:
            raise LaunchError("CannotStartContainerError: the job has no image to run")
        self._check_platform(container)
        await self._ensure_image(container.image)
        await self.open()
        group_network = None
        if spec.group is not None:
            group_network = await self.networks.join(spec.group, spec.attempt_id)
        gpus = self.gpu_pool.take(spec.gpus)
        try:
            labels = {
                LABEL_ATTEMPT: spec.attempt_id,
                LABEL_JOB: spec.job_id,
                LABEL_SERVER: self.server_id,
            }
            if spec.group is not None:
                labels[LABEL_GROUP] = spec.group
            config, host = create_arguments(
                spec,
                container,
                labels=labels,
                network=self.network,
                gpus=gpus,
                endpoint=self._endpoint,
                efs_root=self.efs_root,
                ulimit_defaults=self._ulimit_defaults(container),
                host_cpus=self.host_cpus,
            )
            container_id = await asyncio.to_thread(
                self._create_and_start, config, host, group_network
            )
        except BaseException:
            self.gpu_pool.give_back(gpus)
            if spec.group is not None:
                await self.networks.leave(spec.group, spec.attempt_id)
            raise
        identity: dict[str, Any] = {
            "provider": "container",
            "containerId": container_id,
            "attemptId": spec.attempt_id,
            "jobId": spec.job_id,
            "gpus": gpus,
        }
        if spec.group is not None:
            identity["group"] = spec.group
        address = await asyncio.to_thread(self._address, container_id, group_network)
        if address:
            identity["privateIpv4Address"] = address
        return self._attach(container_id, identity, gpus, on_line, delivered=0)

    def _check_platform(self, container: ContainerSpec) -> None:
        """Refuse a ``runtimePlatform`` this engine's host is not: the attempt would fail
        later and less clearly (an exec format error), or never run as the job asks."""
        platform, engine = container.platform, self.engine
        if platform is None:
            return
        if platform.operating_system_family != "LINUX":
            raise LaunchError(
                f"CannotStartContainerError: the job needs a "
                f"{platform.operating_system_family} container; {engine.product} at "
                f"{engine.url} runs Linux containers only"
            )
        if engine.architecture and platform.cpu_architecture != engine.architecture:
            raise LaunchError(
                f"CannotStartContainerError: the job needs the {platform.cpu_architecture} "
                f"CPU architecture; the host of {engine.product} at {engine.url} is "
                f"{engine.architecture}"
            )

    def _address(self, container_id: str, group_network: str | None) -> str | None:
        """The container's IPv4 address on its multi-node job's network, else on its own
        (how other nodes of a multi-node job reach it); None when the engine reports none."""
        try:
            settings = self.engine.api.inspect_container(container_id).get("NetworkSettings")
        except (DockerException, requests.RequestException):
            return None
        networks = (settings or {}).get("Networks") or {}
        preferred = [networks.get(name or "") for name in (group_network, self.network)]
        for network in [*preferred, *networks.values()]:
            if network and network.get("IPAddress"):
                return str(network["IPAddress"])
        return (settings or {}).get("IPAddress") or None

    def _ulimit_defaults(self, container: ContainerSpec) -> dict[str, tuple[int, int]]:
        """Podman raises ``nofile`` and ``nproc`` to 1048576 whenever a container sets any
        rlimit and leaves those two out; where the engine may not raise a hard limit (no
        CAP_SYS_RESOURCE, as on this development host) the container then cannot start. So
        they are given the engine's own values, which a container otherwise inherits."""
        if not container.ulimits or not self.engine.podman:
            return {}
        if self._engine_limits is None:
            self._engine_limits = (
                engine_process_limits(self.engine.url) if self.engine.local else {}
            )
        return self._engine_limits

    def _create_and_start(
        self, config: dict[str, Any], host: dict[str, Any], group_network: str | None
    ) -> str:
        api = self.engine.api
        try:
            created = api.create_container(**config, host_config=api.create_host_config(**host))
        except (DockerException, requests.RequestException) as error:
            raise LaunchError(_reason("CannotCreateContainerError", error)) from None
        container_id = str(created["Id"])
        try:
            if group_network is not None:
                api.connect_container_to_network(container_id, group_network)
            api.start(container_id)
        except (DockerException, requests.RequestException) as error:
            with contextlib.suppress(DockerException, requests.RequestException):
                discard(api, container_id)
            raise LaunchError(_reason("CannotStartContainerError", error)) from None
        return container_id

    def _attach(
        self,
        container_id: str,
        identity: dict[str, Any],
        gpus: list[int],
        on_line: LineCallback,
        delivered: int,
    ) -> ContainerAttempt:
        attempt = ContainerAttempt(self, container_id, identity, gpus, on_line, delivered)
        self._attached[container_id] = attempt
        attempt.begin()
        return attempt

    def _forget(self, attempt: ContainerAttempt) -> None:
        if self._attached.get(attempt.container_id) is attempt:
            del self._attached[attempt.container_id]

    async def _ensure_image(self, image: str) -> None:
        """Pull ``image`` when the policy asks for it; one pull per image at a time."""
        pulling = self._pulls.get(image)
        if pulling is None:
            pulling = asyncio.ensure_future(asyncio.to_thread(self._pull, image))
            self._pulls[image] = pulling
            pulling.add_done_callback(lambda _done: self._pulls.pop(image, None))
        await asyncio.shield(pulling)

    def _pull(self, image: str) -> None:
        api = self.engine.api
        if self.pull_policy is not PullPolicy.ALWAYS:
            try:
                _inspect_image(api, image)
                return
            except ImageNotFound:
                if self.pull_policy is PullPolicy.NEVER:
                    raise LaunchError(
                        f"CannotPullContainerError: Error response from daemon: No such "
                        f"image: {image} (the image pull policy is never)"
                    ) from None
            except (DockerException, requests.RequestException) as error:
                raise LaunchError(_reason("CannotPullContainerError", error)) from None
        repository, tag = parse_repository_tag(image)
        try:
            for message in api.pull(repository, tag=tag, stream=True, decode=True):
                if isinstance(message, dict) and message.get("error"):
                    raise LaunchError(
                        f"CannotPullContainerError: Error response from daemon: {message['error']}"
                    )
            _inspect_image(api, image)
        except (DockerException, requests.RequestException) as error:
            raise LaunchError(_reason("CannotPullContainerError", error)) from None

    async def reattach(
        self, identity: dict[str, Any], on_line: LineCallback, delivered: int
    ) -> ContainerAttempt | None:
        """The attempt ``identity`` names, watched again; None when its container is gone.

        Its output continues after the first ``delivered`` lines and ``wait`` reports its real
        exit status, at once when it ended while no server was watching.
        """
        found = await asyncio.to_thread(self._find, identity)
        if found is None:
            return None
        container_id, _running = found
        gpus = [int(g) for g in identity.get("gpus") or []]
        self.gpu_pool.in_use.update(gpus)
        group, attempt_id = identity.get("group"), identity.get("attemptId")
        if isinstance(group, str) and isinstance(attempt_id, str):
            self.networks.rejoin(group, attempt_id)
        return self._attach(container_id, dict(identity), gpus, on_line, delivered)

    def _find(self, identity: dict[str, Any]) -> tuple[str, bool] | None:
        """(container id, running) of the container of ``identity``'s attempt, if any.

        By its recorded id, or, when the server died before recording one, by the labels of
        its attempt (or job) among this server's containers.
        """
        api = self.engine.api
        container_id = identity.get("containerId")
        if isinstance(container_id, str):
            try:
                state = api.inspect_container(container_id)
            except NotFound:
                return None
            labels = (state.get("Config") or {}).get("Labels") or {}
            if labels.get(LABEL_SERVER) != self.server_id:
                return None
            return str(state["Id"]), bool((state.get("State") or {}).get("Running"))
        filters = [f"{LABEL_SERVER}={self.server_id}"]
        if isinstance(identity.get("attemptId"), str):
            filters.append(f"{LABEL_ATTEMPT}={identity['attemptId']}")
        elif isinstance(identity.get("jobId"), str):
            filters.append(f"{LABEL_JOB}={identity['jobId']}")
        else:
            return None
        for listed in api.containers(all=True, filters={"label": filters}):
            return str(listed["Id"]), listed.get("State") == "running"
        return None

    def reap(self, identity: dict[str, Any]) -> bool:
        """Kill and remove the container of an earlier server's attempt; True if it ran."""
        found = self._find(identity)
        if found is None:
            return False
        container_id, running = found
        discard(self.engine.api, container_id)
        return running

    def sweep(self) -> None:
        """Remove this server's containers that no attempt of this provider is attached to,
        and the multi-node jobs' networks none uses (call it after re-attaching to the
        attempts that are still wanted)."""
        api = self.engine.api
        for listed in api.containers(
            all=True, filters={"label": f"{LABEL_SERVER}={self.server_id}"}
        ):
            if listed["Id"] not in self._attached:
                discard(api, listed["Id"])
        self.networks.sweep()
