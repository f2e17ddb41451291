"""The Ray provider as the server sees it: attempts, health and capacity of one Ray cluster.

The server does not import Ray. ``RayProvider`` starts a driver process (``bridge``) for its
cluster, sends it requests and receives the supervisor's news of the attempts (output lines,
exits) and the cluster's resource view. When the driver ends (the cluster stopped answering,
or could not be reached at all) the provider reports INVALID with the reason, starts another
driver with a growing pause, and once one is connected takes its running attempts over again,
so an outage of the connection costs the attempts nothing. A new server does the same for the
attempts an earlier one started: ``reattach`` with the identity they reported.

With ``images`` (``NodeImages``) each attempt runs the job's image on its node's own engine
instead of the command on the node (see ``node_container``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import socket
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from batchyard.compute.provider import (
    OUT_OF_MEMORY_REASON,
    AttemptSpec,
    ExitStatus,
    HostCapacity,
    LaunchError,
    LineCallback,
    Resources,
    access_environment,
)
from batchyard.compute.ray import framing

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# Pauses between attempts to (re)connect a driver, in seconds.
BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
DEFAULT_WORK_ROOT = "/tmp/batchyard-attempts"
# How many exits a provider keeps after telling the supervisor it has recorded them.
RELEASED_REMEMBERED = 20_000


@dataclass(frozen=True, slots=True)
class NodeImages:
    """How the nodes run attempts' images: ``engine`` is the Docker Engine API address on
    every node (``auto``: each node's ``DOCKER_HOST``, then Docker's and Podman's standard
    sockets); ``pull_policy`` and ``efs_root`` are the container provider's, applied on the
    node."""

    engine: str
    pull_policy: str = "missing"
    efs_root: str | None = None

    @property
    def where(self) -> str:
        """Which engine runs them, as the environments' status and the log headers say it."""
        if self.engine == "auto":
            return "on the node's own Docker or Podman engine"
        return f"on the node's engine at {self.engine}"


class ClusterStatus(StrEnum):
    """A compute environment's status as AWS Batch names it."""

    VALID = "VALID"
    INVALID = "INVALID"


@dataclass(frozen=True, slots=True)
class ClusterHealth:
    """Whether the cluster can take attempts now, and if not, why."""

    status: ClusterStatus
    reason: str | None = None


def _resources(ray_resources: dict[str, float]) -> Resources:
    """From Ray's resource dict (``CPU``, ``memory`` in bytes, ``GPU``)."""
    return Resources(
        vcpus=float(ray_resources.get("CPU", 0.0)),
        memory_mib=int(ray_resources.get("memory", 0.0) // MIB),
        gpus=float(ray_resources.get("GPU", 0.0)),
    )


@dataclass(frozen=True, slots=True)
class NodeView:
    """One live Ray node: its id, address, what it has and what is free on it now."""

    node_id: str
    ip: str
    total: Resources
    available: Resources


@dataclass(frozen=True, slots=True)
class ClusterCapacity:
    """The cluster's resources as Ray's GCS reports them, node by node."""

    nodes: tuple[NodeView, ...]

    @property
    def total(self) -> Resources:
        """Everything the live nodes have together (``DescribeComputeEnvironments``' vCPUs)."""
        return _sum(node.total for node in self.nodes)

    @property
    def available(self) -> Resources:
        """Everything free on the live nodes together."""
        return _sum(node.available for node in self.nodes)

    def fits(self, spec: AttemptSpec) -> bool:
        """Whether some node could ever run ``spec`` (its totals hold the request)."""
        return any(node.total.holds(*_request(spec)) for node in self.nodes)

    def fits_now(self, spec: AttemptSpec) -> bool:
        """Whether some node has enough free right now to start ``spec``."""
        return any(node.available.holds(*_request(spec)) for node in self.nodes)

    def gang_fits(self, specs: Sequence[AttemptSpec]) -> bool:
        """Whether ``specs`` could ever each get a node of their own (``STRICT_SPREAD``)."""
        return _distinct_nodes(list(specs), [node.total for node in self.nodes])

    @classmethod
    def parse(cls, nodes: list[dict[str, Any]]) -> ClusterCapacity:
        """From the driver's ``capacity`` event."""
        return cls(
            tuple(
                NodeView(
                    node_id=entry["node_id"],
                    ip=entry["ip"],
                    total=_resources(entry["total"]),
                    available=_resources(entry["available"]),
                )
                for entry in nodes
            )
        )


def _sum(items: Any) -> Resources:
    vcpus, memory, gpus = 0.0, 0, 0.0
    for item in items:
        vcpus, memory, gpus = vcpus + item.vcpus, memory + item.memory_mib, gpus + item.gpus
    return Resources(vcpus, memory, gpus)


def _request(spec: AttemptSpec) -> tuple[float, int, float]:
    return spec.vcpus, spec.memory_mib or 0, float(spec.gpus)


def _distinct_nodes(specs: list[AttemptSpec], nodes: list[Resources]) -> bool:
    """Whether every spec can be matched to a node of its own (small: tried exhaustively)."""
    if not specs:
        return True
    first, rest = specs[0], specs[1:]
    for index, node in enumerate(nodes):
        others = nodes[:index] + nodes[index + 1 :]
        if node.holds(*_request(first)) and _distinct_nodes(rest, others):
            return True
    return False


def _describe(spec: AttemptSpec) -> str:
    memory = f", {spec.memory_mib} MiB" if spec.memory_mib else ""
    gpus = f", {spec.gpus} GPU" if spec.gpus else ""
    return f"{spec.vcpus:g} vCPU{memory}{gpus}"


class RayAttempt:
    """An attempt running in the Ray cluster, fed by the provider with what its driver hears."""

    def __init__(self, provider: RayProvider, spec: AttemptSpec, on_line: LineCallback) -> None:
        self._provider = provider
        self.attempt_id = spec.attempt_id
        self._on_line = on_line
        self._next = 0
        self._exit: asyncio.Future[ExitStatus] = asyncio.get_running_loop().create_future()
        self.identity: dict[str, Any] = {
            "provider": "ray",
            "cluster": provider.name,
            "attemptId": spec.attempt_id,
            "jobId": spec.job_id,
        }

    def _started(self, started: dict[str, Any] | None) -> None:
        if not started:
            return
        self.identity.update(nodeId=started["node_id"], nodeIp=started["node_ip"])
        if started.get("container_id"):
            self.identity["containerId"] = started["container_id"]
        else:
            self.identity.update(pid=started["pid"], startTicks=started["start_ticks"])

    def skip_to(self, delivered: int) -> None:
        """Hand on only the lines after the first ``delivered`` (already stored elsewhere)."""
        self._next = max(self._next, delivered)

    def _deliver(self, first: int, lines: list[tuple[int, str, str]]) -> int:
        """Hand new lines to the callback (skipping ones delivered before); the next seq."""
        for offset, (timestamp, stream, text) in enumerate(lines):
            if first + offset >= self._next:
                self._on_line(timestamp, stream, text)
        self._next = max(self._next, first + len(lines))
        return self._next

    def _end(self, status: ExitStatus) -> None:
        if not self._exit.done():
            self._exit.set_result(status)

    @property
    def ended(self) -> bool:
        """Whether the exit is known (and every line before it delivered)."""
        return self._exit.done()

    async def wait(self) -> ExitStatus:
        """Wait until the attempt has ended and its output has been delivered."""
        return await asyncio.shield(self._exit)

    async def stop(self, grace_seconds: float) -> None:
        """SIGTERM the process group (or container) on its node, SIGKILL it after
        ``grace_seconds``."""
        if self.ended:
            return
        with contextlib.suppress(LaunchError):
            await self._provider._request(
                "stop", attempt_id=self.attempt_id, grace=grace_seconds
            )

    def kill(self) -> None:
        """SIGKILL the process group (or container) on its node, without waiting for it."""
        if not self.ended:
            self._provider._notify("kill", attempt_id=self.attempt_id)


def _exit_status(exit_: dict[str, Any]) -> ExitStatus:
    if exit_["out_of_memory"]:
        code = 137 if exit_["code"] is None else exit_["code"]
        return ExitStatus(exit_code=code, reason=OUT_OF_MEMORY_REASON, out_of_memory=True)
    return ExitStatus(exit_code=exit_["code"], reason=exit_["reason"])


def _launch(
    spec: AttemptSpec,
    work_root: str,
    images: NodeImages | None,
    server: str,
    endpoint_url: str | None,
) -> dict[str, Any]:
    image = None
    # Keys only with an address to use them at: without one the SDKs would send them to AWS.
    environment = access_environment(spec.access, endpoint_url) if endpoint_url else {}
    environment.update(spec.environment)
    if images is not None:
        # The environment travels beside it (a gang's supervisor adds to it). A multi-node
        # job's nodes are on separate Ray nodes and meet on the nodes' network, not on a
        # network of their own as on one engine.
        bare = replace(spec, environment={}, access=None, group=None)
        image = {
            "engine": images.engine,
            "pull_policy": images.pull_policy,
            "efs_root": images.efs_root,
            "server": server,
            "spec": pickle.dumps(bare, protocol=pickle.HIGHEST_PROTOCOL),
        }
    return {
        "attempt_id": spec.attempt_id,
        "command": list(spec.command),
        "environment": environment,
        "work_root": work_root,
        "num_cpus": float(spec.vcpus),
        "memory": (spec.memory_mib or 0) * MIB,
        "num_gpus": float(spec.gpus),
        "image": image,
    }


class _Driver:
    """One driver process and the socket to it."""

    def __init__(
        self, process: subprocess.Popen[bytes], reader: asyncio.StreamReader, writer: Any
    ) -> None:
        self.process = process
        self.reader = reader
        self.writer: asyncio.StreamWriter = writer
        self.replies: dict[int, asyncio.Future[Any]] = {}
        self.fatal: str | None = None

    def send(self, message: dict[str, Any]) -> None:
        self.writer.write(framing.encode(message))

    def close(self) -> None:
        self.writer.close()
        if self.process.poll() is None:
            self.process.kill()


class RayProvider:
    """Runs attempts as Ray work on the cluster at ``address``.

    ``name`` is the cluster's name in the configuration (it goes into attempt identities);
    ``supervisor`` the detached actor's name, one per batchyard installation sharing a
    cluster; ``work_root`` the directory on each node under which attempts get theirs;
    ``connect_timeout`` how long a driver may take to reach the cluster before it counts as
    unreachable; ``reconnect_pauses`` the pauses between connection attempts (the last
    repeats); ``log_file`` where the driver process's own output goes; ``images`` how the
    nodes run attempts' images (None: the command runs on the node, the image is not run);
    ``endpoint_url`` this server's address as the nodes reach it, given to attempts' SDKs
    with their account's keys (None: attempts get neither).
    """

    def __init__(
        self,
        address: str,
        *,
        name: str = "default",
        supervisor: str = "batchyard-supervisor",
        namespace: str = "batchyard",
        work_root: str = DEFAULT_WORK_ROOT,
        connect_timeout: float = 15.0,
        reconnect_pauses: Sequence[float] = BACKOFF,
        log_file: Path | None = None,
        images: NodeImages | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.address = address
        self.images = images
        self.endpoint_url = endpoint_url
        self.name = name
        self._supervisor = supervisor
        self._namespace = namespace
        self._work_root = work_root
        self._connect_timeout = connect_timeout
        self._pauses = tuple(reconnect_pauses)
        self._log_file = log_file
        self._health = ClusterHealth(ClusterStatus.INVALID, "not connected to the Ray cluster yet")
        self._cluster: ClusterCapacity | None = None
        self._driver: _Driver | None = None
        self._connected = asyncio.Event()
        # Set when a connection attempt has come to an end, either way.
        self._settled = asyncio.Event()
        self._attempts: dict[str, RayAttempt] = {}
        # Exits this provider released: asked for again, they are answered from here, since the
        # supervisor may be handling the release and a new attach in either order.
        self._released: OrderedDict[str, ExitStatus] = OrderedDict()
        self._ids = itertools.count(1)
        self._loop: asyncio.Task[None] | None = None
        self._closed = False
        # Called when the cluster's health or resource view changes (the scheduler replans).
        self.on_change: Callable[[], None] | None = None

    # Connection -----------------------------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> ClusterHealth:
        """Start (once) the loop that keeps a driver connected and wait for its first outcome.

        Waits up to ``timeout`` s (default: the connect timeout and a little) for the current
        connection attempt to succeed or fail; returns the health then: VALID when connected,
        INVALID with why not. The loop keeps trying in the background either way.
        """
        if self._loop is None:
            self._loop = asyncio.get_running_loop().create_task(self._keep_connected())
        if not self._connected.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._settled.wait(),
                    self._connect_timeout + 5 if timeout is None else timeout,
                )
        return self._health

    def health(self) -> ClusterHealth:
        """VALID while a driver is connected to the cluster; INVALID with the reason otherwise."""
        return self._health

    def cluster_capacity(self) -> ClusterCapacity | None:
        """The last resource view the cluster sent (None before the first connection)."""
        return self._cluster

    @property
    def capacity(self) -> HostCapacity:
        """The live nodes' vCPUs, memory and GPUs together (what ``ComputeProvider`` asks)."""
        if self._cluster is None:
            return HostCapacity(memory_mib=0, gpus=0, vcpus=0.0)
        total = self._cluster.total
        return HostCapacity(
            memory_mib=total.memory_mib,
            gpus=int(total.gpus),
            vcpus=total.vcpus,
            nodes=tuple(node.total for node in self._cluster.nodes),
        )

    async def aclose(self) -> None:
        """Stop the driver; the attempts run on in the cluster for a later ``reattach``."""
        self._closed = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self._driver is not None:
            self._driver.close()
            await asyncio.to_thread(self._driver.process.wait)

    async def _keep_connected(self) -> None:
        for attempt in itertools.count():
            driver = None
            self._settled.clear()
            try:
                driver = await self._spawn()
                await self._serve(driver)
            except (OSError, asyncio.IncompleteReadError) as error:
                reason = driver.fatal if driver and driver.fatal else f"Ray driver failed: {error}"
                self._lost(reason)
            finally:
                if driver is not None:
                    driver.close()
                    await asyncio.to_thread(driver.process.wait)
            if self._closed:
                return
            await asyncio.sleep(self._pauses[min(attempt, len(self._pauses) - 1)])

    async def _spawn(self) -> _Driver:
        ours, theirs = socket.socketpair()
        command = [
            sys.executable,
            "-m",
            "batchyard.compute.ray.bridge",
            f"--fd={theirs.fileno()}",
            f"--address={self.address}",
            f"--namespace={self._namespace}",
            f"--name={self._supervisor}",
            f"--connect-timeout={self._connect_timeout}",
        ]

        def start() -> subprocess.Popen[bytes]:
            output = self._log_file.open("ab") if self._log_file else subprocess.DEVNULL
            try:
                return subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    pass_fds=[theirs.fileno()],
                    start_new_session=True,
                    env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
                )
            finally:
                if not isinstance(output, int):
                    output.close()

        try:
            process = await asyncio.to_thread(start)
        finally:
            theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours)
        return _Driver(process, reader, writer)

    async def _serve(self, driver: _Driver) -> None:
        """Read the driver's messages until it ends, then say why the cluster is lost."""
        try:
            while True:
                message = await framing.read(driver.reader)
                event = message.get("event")
                if event is None:
                    future = driver.replies.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif event == "ready":
                    await self._ready(driver, message)
                elif event == "capacity":
                    self._cluster = ClusterCapacity.parse(message["nodes"])
                    self._changed()
                elif event == "updates":
                    self._updates(driver, message["updates"])
                elif event == "fatal":
                    driver.fatal = message["reason"]
        except asyncio.IncompleteReadError:
            code = await asyncio.to_thread(driver.process.wait)
            self._lost(driver.fatal or f"the Ray driver process ended (exit status {code})")
        finally:
            lost = LaunchError(f"CannotStartContainerError: {self._health.reason}")
            for future in driver.replies.values():
                if not future.done():
                    future.set_exception(lost)

    async def _ready(self, driver: _Driver, message: dict[str, Any]) -> None:
        self._cluster = ClusterCapacity.parse(message["nodes"])
        self._driver = driver
        self._health = ClusterHealth(ClusterStatus.VALID)
        self._connected.set()
        self._settled.set()
        self._changed()
        log.info("connected to the Ray cluster %s at %s", self.name, self.address)
        if self._attempts:
            asyncio.get_running_loop().create_task(self._attach(list(self._attempts)))

    def _lost(self, reason: str) -> None:
        if self._health.status is ClusterStatus.VALID:
            log.warning("lost the Ray cluster %s: %s", self.name, reason)
        self._driver = None
        self._connected.clear()
        self._health = ClusterHealth(ClusterStatus.INVALID, reason)
        self._settled.set()
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # Requests --------------------------------------------------------------------------------

    async def _request(self, op: str, **args: Any) -> Any:
        """Send ``op`` to the connected driver and wait for its answer.

        Raises ``LaunchError`` when no driver is connected or it ended before answering.
        """
        driver = self._driver
        if driver is None:
            raise LaunchError(
                f"CannotStartContainerError: the Ray cluster {self.name!r} is unavailable: "
                f"{self._health.reason}"
            )
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        driver.replies[request_id] = future
        driver.send({"id": request_id, "op": op, "args": args})
        reply = await future
        if not reply["ok"]:
            raise LaunchError(f"CannotStartContainerError: {reply['error']}")
        return reply["value"]

    def _notify(self, op: str, **args: Any) -> None:
        """Send ``op`` without waiting for its answer (none is expected to matter)."""
        if self._driver is not None:
            self._driver.send({"id": next(self._ids), "op": op, "args": args})

    async def _ensure_connected(self) -> None:
        if self._driver is None:
            await self.connect()

    # Attempts --------------------------------------------------------------------------------

    def _check(self, specs: Sequence[AttemptSpec]) -> None:
        for spec in specs:
            # An image without a command runs its own CMD.
            if not spec.command and self.images is None:
                raise LaunchError("CannotStartContainerError: the job has no command to run")
        cluster = self._cluster
        if cluster is None:
            return
        for spec in specs:
            if not cluster.fits(spec):
                largest = max(
                    (node.total for node in cluster.nodes),
                    key=lambda r: (r.vcpus, r.memory_mib, r.gpus),
                    default=Resources(0.0, 0, 0.0),
                )
                raise LaunchError(
                    f"CannotStartContainerError: the attempt needs {_describe(spec)}; no node "
                    f"of the Ray cluster {self.name!r} has that much (largest: "
                    f"{largest.vcpus:g} vCPU, {largest.memory_mib} MiB, {largest.gpus:g} GPU)"
                )
        if len(specs) > 1 and not cluster.gang_fits(specs):
            raise LaunchError(
                f"CannotStartContainerError: the job needs {len(specs)} distinct nodes; the Ray "
                f"cluster {self.name!r} has {len(cluster.nodes)} that could hold its nodes"
            )

    async def start(self, spec: AttemptSpec, on_line: LineCallback) -> RayAttempt:
        """Start ``spec`` as a Ray task with its resources; return once its command (or its
        image's container) runs.

        Raises ``LaunchError`` when the cluster is unavailable, no node could ever hold the
        request (Ray would leave it pending for good), or the command or container cannot
        start. A request that fits a node but not what is free now waits in Ray's queue until
        it does.
        """
        await self._ensure_connected()
        self._check([spec])
        attempt = RayAttempt(self, spec, on_line)
        self._attempts[spec.attempt_id] = attempt
        try:
            state = await self._request("start", launch=self._launch(spec))
        except BaseException:
            self._attempts.pop(spec.attempt_id, None)
            raise
        self._apply(attempt, state)
        return attempt

    async def start_gang(
        self,
        gang_id: str,
        specs: Sequence[AttemptSpec],
        main_index: int,
        on_lines: Sequence[LineCallback],
    ) -> list[RayAttempt]:
        """Start a multi-node job: one attempt per node, each on a Ray node of its own, together.

        ``specs[i]`` is node ``i``; a placement group with one bundle per node and
        ``STRICT_SPREAD`` reserves them at once (gang), every node but the main one gets
        ``AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS`` (the main node's Ray node address),
        and the group is removed when the last node ends.
        """
        await self._ensure_connected()
        self._check(specs)
        attempts = [RayAttempt(self, s, cb) for s, cb in zip(specs, on_lines, strict=True)]
        for attempt in attempts:
            self._attempts[attempt.attempt_id] = attempt
        launches = [self._launch(spec) for spec in specs]
        try:
            states = await self._request(
                "start_gang", gang_id=gang_id, launches=launches, main_index=main_index
            )
        except BaseException:
            for attempt in attempts:
                self._attempts.pop(attempt.attempt_id, None)
            raise
        failed = [s["reason"] for s in states if s["state"] == "failed"]
        for attempt, state in zip(attempts, states, strict=True):
            if failed and state["state"] != "failed":
                await attempt.stop(0)
            else:
                with contextlib.suppress(LaunchError):
                    self._apply(attempt, state)
        if failed:
            raise LaunchError(failed[0])
        return attempts

    def _launch(self, spec: AttemptSpec) -> dict[str, Any]:
        return _launch(spec, self._work_root, self.images, self._supervisor, self.endpoint_url)

    async def reattach(
        self, identity: dict[str, Any], on_line: LineCallback, delivered: int = 0
    ) -> RayAttempt:
        """Take over an attempt an earlier driver or server started, from its ``identity``.

        Its output continues after the last line a driver acknowledged, skipping the first
        ``delivered`` lines (those already stored); one that ended meanwhile reports its real
        exit. One the cluster has no record of ends with a reason.
        """
        spec = AttemptSpec(
            attempt_id=identity["attemptId"], job_id=identity.get("jobId", ""), command=[],
            environment={},
        )
        attempt = RayAttempt(self, spec, on_line)
        attempt.identity.update(identity)
        released = self._released.get(attempt.attempt_id)
        if released is not None:
            attempt._end(released)
            return attempt
        await self._ensure_connected()
        attempt.skip_to(delivered)
        self._attempts[attempt.attempt_id] = attempt
        states = await self._request("attach", attempt_ids=[attempt.attempt_id])
        self._apply(attempt, states[attempt.attempt_id])
        return attempt

    def _apply(self, attempt: RayAttempt, state: dict[str, Any]) -> None:
        kind = state["state"]
        if kind == "failed":
            self._attempts.pop(attempt.attempt_id, None)
            raise LaunchError(state["reason"])
        if kind == "unknown":
            self._attempts.pop(attempt.attempt_id, None)
            attempt._end(
                ExitStatus(
                    exit_code=None,
                    reason=f"the Ray cluster {self.name!r} has no record of attempt "
                    f"{attempt.attempt_id} (was the cluster restarted?)",
                )
            )
        elif kind == "released":
            self._attempts.pop(attempt.attempt_id, None)
            attempt._end(_exit_status(state["exit"]))
        else:
            attempt._started(state.get("started"))

    async def _attach(self, attempt_ids: list[str]) -> None:
        with contextlib.suppress(LaunchError):
            states = await self._request("attach", attempt_ids=attempt_ids)
            for attempt_id, state in states.items():
                attempt = self._attempts.get(attempt_id)
                if attempt is not None:
                    with contextlib.suppress(LaunchError):
                        self._apply(attempt, state)

    def _updates(self, driver: _Driver, updates: list[Any]) -> None:
        acks: dict[str, int] = {}
        released: list[str] = []
        for attempt_id, first, lines, started, exit_ in updates:
            attempt = self._attempts.get(attempt_id)
            if attempt is None:
                continue
            if started:
                attempt._started(started)
            acks[attempt_id] = attempt._deliver(first, lines)
            if exit_ is not None:
                status = _exit_status(exit_)
                attempt._end(status)
                self._attempts.pop(attempt_id, None)
                released.append(attempt_id)
                self._released[attempt_id] = status
                while len(self._released) > RELEASED_REMEMBERED:
                    self._released.popitem(last=False)
        driver.send({"op": "ack", "acks": acks, "released": released})

    async def attempts(self) -> list[str]:
        """The attempt ids the cluster's supervisor holds (running or not yet recorded)."""
        await self._ensure_connected()
        found: list[str] = await self._request("attempts")
        return found

    def reap(self, identity: dict[str, Any]) -> bool:
        """Kill an attempt an earlier server started (``ComputeProvider``); True if one was
        asked to stop. Ray attempts are better taken over with ``reattach``."""
        attempt_id = identity.get("attemptId")
        if self._driver is None or not isinstance(attempt_id, str):
            return False
        self._notify("kill", attempt_id=attempt_id)
        return True

    def sweep(self) -> None:
        """Nothing to sweep: each attempt's task removes its working directory on its node,
        and the supervisor forgets an attempt once its exit has been taken."""

