"""What a Ray node runs for an attempt whose image runs: the job's container on the node's
own Docker or Podman, made, streamed and ended by the container provider.

``node`` (shipped to the cluster by value, needing only Ray) imports this module on the node
for such attempts alone, so a node that runs images has batchyard installed, the same version
as the server: the attempt arrives as the server's pickled ``AttemptSpec``, and its container
is built by ``ContainerProvider`` exactly as on a server's own engine (command and entry
point, user, memory and swap limits, CPU quota, ulimits, devices, mounts, the out-of-memory
verdict) with two differences that come from running on a Ray node: it joins the node's
network (``host``), as a plain Ray attempt's command does, so a multi-node job's nodes reach
the main node at its Ray node address; and its GPUs are the ones Ray assigned the task.

Finding the engine costs Podman's ``/version`` and ``/info`` (about a second on the test
machine), so a Ray worker process, which runs one attempt after another, keeps the engine it
found (checked with a ping before each reuse), that engine host's facts and one reader of
the kernel's out-of-memory records.

The provider is asyncio-based and a Ray task is a plain generator, so each attempt runs the
provider on an event loop in a thread of its own and hands what happens to the task through
a queue: ``("started", container id)`` or ``("failed", reason)``, then ``("line", (epoch ms,
stream, text))`` items, then ``("exit", (code, reason, out of memory))`` once the container
has ended and been removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import queue
import signal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import requests
from docker.errors import APIError, DockerException

from batchyard.compute.container import ContainerProvider, container_name, discard
from batchyard.compute.engine import (
    Engine,
    EngineUnavailable,
    connect,
    engine_host,
    standard_sockets,
)
from batchyard.compute.oom_log import OomLog
from batchyard.compute.provider import AttemptSpec, HostCapacity, LaunchError

# The node's network: what a plain Ray attempt's command has, and where the other nodes of
# a multi-node job find the main node (at its Ray node address).
NETWORK = "host"
AUTO = "auto"


def find_engine(setting: str, node_ip: str) -> Engine:
    """The engine ``setting`` names on this node: an address, or ``auto`` (the node's
    ``DOCKER_HOST``, then Docker's and Podman's standard sockets, the first that answers).

    Raises LaunchError naming the node when none answers.
    """
    if setting != AUTO:
        try:
            return connect(setting)
        except EngineUnavailable as error:
            raise LaunchError(
                f"CannotStartContainerError: the Ray node {node_ip} has no container engine "
                f"answering at {error}"
            ) from None
    tried = standard_sockets()
    for url in tried:
        with contextlib.suppress(EngineUnavailable):
            return connect(url)
    raise LaunchError(
        f"CannotStartContainerError: the Ray node {node_ip} has no container engine: no "
        f"Docker or Podman answered at {', '.join(tried)}"
    )


@dataclass(frozen=True)
class NodeEngine:
    """An engine of this node as attempts share it: the client, what ``engine_host`` said
    of its host, and the kernel log reader (None when the engine is not on this host)."""

    engine: Engine
    host: tuple[HostCapacity, int]
    oom_log: OomLog | None


_found: dict[str, NodeEngine] = {}
_finding = threading.Lock()


def node_engine(setting: str, node_ip: str) -> NodeEngine:
    """The engine ``setting`` names on this node, found once per worker process and pinged
    before each reuse (one that stopped answering is looked for again, as ``find_engine``
    does). Raises LaunchError naming the node when none answers."""
    with _finding:
        known = _found.pop(setting, None)
        if known is not None:
            try:
                known.engine.api.ping()
            except (DockerException, requests.RequestException, OSError):
                _close(known)
            else:
                _found[setting] = known
                return known
        engine = find_engine(setting, node_ip)
        try:
            host = engine_host(engine)
        except (DockerException, requests.RequestException) as error:
            engine.api.close()
            raise LaunchError(
                f"CannotStartContainerError: the container engine of the Ray node {node_ip} "
                f"at {engine.url} failed: {error}"
            ) from None
        found = NodeEngine(engine, host, OomLog() if engine.local else None)
        _found[setting] = found
        return found


def _close(known: NodeEngine) -> None:
    known.engine.api.close()
    if known.oom_log is not None:
        known.oom_log.close()


class ImageAttempt:
    """One attempt's container on this node, run by a ``ContainerProvider`` in a thread.

    ``image`` is the launch's image part (the pickled spec, the engine setting, the pull
    policy, the EFS directory and the server's label); ``environment`` the attempt's whole
    environment (a multi-node job's supervisor adds the main node's address to it).
    """

    def __init__(
        self,
        image: Mapping[str, Any],
        environment: dict[str, str],
        node_ip: str,
        gpus: Sequence[int],
    ) -> None:
        spec: AttemptSpec = pickle.loads(image["spec"])
        self._spec = replace(spec, environment=dict(environment))
        self._image = image
        self._node_ip = node_ip
        self._gpus = list(gpus)
        self.engine_url = ""
        self.events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._gone = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"batchyard-image-{spec.attempt_id}", daemon=True
        )

    def begin(self) -> None:
        """Start the container in the background; its events follow on ``events``."""
        self._thread.start()

    def close(self) -> None:
        """Remove the container unless it is gone already (the task ended before it)."""
        if not self._gone.is_set() and self.engine_url:
            with contextlib.suppress(LaunchError, DockerException, requests.RequestException):
                discard_container(self.engine_url, self._spec.attempt_id, self._node_ip)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        started = False
        try:
            # Not closed after the attempt: its client and kernel log reader are the worker
            # process's (``node_engine``), and it has no relay to stop.
            provider = await asyncio.to_thread(self._provider)
            attempt = await provider.start(self._spec, self._line)
            started = True
            self.events.put(("started", attempt.container_id))
            status = await attempt.wait()
            # Removed now, not once the server has committed the end as the container
            # provider does: the supervisor keeps the exit until the server has it.
            await attempt.release()
            self._gone.set()
            self.events.put(("exit", (status.exit_code, status.reason, status.out_of_memory)))
        except LaunchError as error:
            # The provider leaves nothing behind when its start fails.
            self._gone.set()
            self.events.put(("failed", error.reason))
        except Exception as error:  # whatever ends the thread ends the attempt
            reason = f"CannotInspectContainerError: {type(error).__name__}: {error}"
            self.events.put(("exit", (None, reason, False)) if started else ("failed", reason))

    def _provider(self) -> ContainerProvider:
        found = node_engine(self._image["engine"], self._node_ip)
        self.engine_url = found.engine.url
        efs_root = self._image.get("efs_root")
        return ContainerProvider(
            found.engine,
            server_id=self._image["server"],
            network=NETWORK,
            pull_policy=self._image["pull_policy"],
            efs_root=Path(efs_root) if efs_root else None,
            oom_log=found.oom_log,
            gpus=self._gpus,
            host=found.host,
        )

    def _line(self, timestamp: int, stream: str, text: str) -> None:
        self.events.put(("line", (timestamp, stream, text)))


def signal_container(engine_url: str, container_id: str, signum: int, node_ip: str) -> bool:
    """Send ``signum`` to a container of this node's engine; False when it has ended."""
    api = node_engine(engine_url, node_ip).engine.api
    try:
        api.kill(container_id, signal=signal.Signals(signum).name)
    except APIError:
        return False
    return True


def discard_container(setting: str, attempt_id: str, node_ip: str) -> None:
    """Kill and remove the container of ``attempt_id`` on this node's engine, if there is one
    (what is left of an attempt whose task ended before its container)."""
    discard(node_engine(setting, node_ip).engine.api, container_name(attempt_id))
