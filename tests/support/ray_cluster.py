"""A real Ray cluster for tests: a head and worker nodes, each a ``ray start --block`` process.

Every node has its own loopback address (the head 127.0.0.2, workers 127.0.0.3 …), its own
ports and its own temporary directory, so the nodes behave as separate hosts to Ray and to the
jobs (a multi-node job's main node has an address of its own) and the cluster never meets
another Ray on this machine (there is a Redis on 6379, and other sessions may run Ray too).
Nothing uses 127.0.0.1: Ray replaces that address (and ``localhost``) by the machine's own
outward address, which some sandboxes cannot connect to (CI could not reach its GCS there). A
Ray driver must run on a Ray node; the drivers of the tests (``bridge`` processes) find the
head's, as it runs on this machine.
Each node runs in a process group of its own: killing that group is a node dying with
everything on it (its workers notice their raylet is gone and exit), which is how the tests
simulate a lost host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from batchyard.compute.ray import RayProvider

T = TypeVar("T")


class Lines:
    """Output lines of one attempt as the provider delivers them, with when they came."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.arrived: list[float] = []
        self._changed = threading.Condition()

    def __call__(self, timestamp: int, stream: str, text: str) -> None:
        with self._changed:
            self.lines.append((stream, text))
            self.arrived.append(time.monotonic())
            self._changed.notify_all()

    def texts(self, stream: str = "stdout") -> list[str]:
        """The lines of ``stream`` so far."""
        with self._changed:
            return [text for s, text in self.lines if s == stream]

    def wait_for(self, text: str, timeout: float = 60.0) -> float:
        """Wait until a stdout line ``text`` has arrived; when it did (monotonic)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for (stream, line), at in zip(self.lines, self.arrived, strict=True):
                    if stream == "stdout" and line == text:
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line {text!r} within {timeout}s: {self.lines}")
                self._changed.wait(left)


class ProviderHarness:
    """A ``RayProvider`` living on an event loop in a thread, shared by the Ray tests."""

    def __init__(self, address: str, work_root: Path, log_file: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.work_root = work_root
        self.log_file = log_file
        self.provider = self.run(self._make(address))

    async def _make(self, address: str) -> RayProvider:
        provider = RayProvider(
            address, work_root=str(self.work_root), log_file=self.log_file, connect_timeout=60
        )
        health = await provider.connect(timeout=90)
        assert health.status == "VALID", health
        return provider

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        """Run ``coroutine`` on the provider's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.provider.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


RAY = str(Path(sys.executable).with_name("ray"))
# Ray keeps at least 75 MiB of object store per node; tests move only small objects.
OBJECT_STORE_BYTES = 80 * 1024 * 1024
# Fields Ray reports per node that the tests read (see ``RayCluster.alive_nodes``).
NODE_FIELDS = ("NodeID", "NodeManagerAddress", "Alive", "Resources")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def ray_environment() -> dict[str, str]:
    """The environment Ray processes (and drivers) of the tests run with."""
    env = dict(os.environ)
    env.update(
        {
            "RAY_USAGE_STATS_ENABLED": "0",
            # Workers are started on demand; prestarting a worker per CPU for every driver
            # that connects costs this 2-core machine more than the tests themselves.
            "RAY_prestart_worker_first_driver": "0",
            # A killed node is declared dead within a few seconds, not Ray's default ~30 s.
            "RAY_health_check_period_ms": "500",
            "RAY_health_check_failure_threshold": "4",
            "RAY_health_check_initial_delay_ms": "0",
        }
    )
    return env


@dataclass
class RayNode:
    """One ``ray start --block`` process and what it was started with."""

    ip: str
    num_cpus: int
    temp_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    resources: dict[str, float] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        """Whether the node's ``ray start`` process still runs."""
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL every process of the node at once, its workers too: the host is gone."""
        for pid in descendants(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (Ray's workers sit in sessions of their own and
    rename themselves ``ray::…``, so neither their group nor their command line finds them)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


class RayCluster:
    """A head node plus worker nodes on this machine; ``address`` is the GCS address."""

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        # Unix socket paths must stay short (108 bytes), so the nodes live under /tmp.
        self.root = Path(tempfile.mkdtemp(prefix="byray-", dir=root or "/tmp"))
        self.port = port or free_port()
        self.address = f"127.0.0.2:{self.port}"
        self.nodes: list[RayNode] = []
        self._next_ip = 2
        self.env = ray_environment()

    def start_head(self, num_cpus: int, timeout: float = 90.0) -> RayNode:
        """Start the head node (GCS, no dashboard) and wait until it answers."""
        head = self._start(
            num_cpus,
            [
                "--head",
                f"--port={self.port}",
                "--include-dashboard=false",
                f"--dashboard-port={free_port()}",
                f"--ray-client-server-port={free_port()}",
            ],
        )
        self._wait_nodes(1, timeout)
        return head

    def add_node(
        self,
        num_cpus: int,
        memory_mib: int = 1024,
        resources: dict[str, float] | None = None,
        timeout: float = 90.0,
    ) -> RayNode:
        """Start a worker node on the next loopback address and wait until it has joined.

        ``memory_mib`` is the node's ``memory`` resource (Ray's default is a share of the
        whole machine's memory for every node, which would make them all look huge).
        """
        extra = [f"--address={self.address}", f"--memory={memory_mib * 1024 * 1024}"]
        if resources:
            extra.append(f"--resources={json.dumps(resources)}")
        node = self._start(num_cpus, extra, resources or {})
        self._wait_nodes(len(self.alive_nodes()) + 1, timeout, ip=node.ip)
        return node

    def _start(
        self, num_cpus: int, extra: list[str], resources: dict[str, float] | None = None
    ) -> RayNode:
        ip = f"127.0.0.{self._next_ip}"
        self._next_ip += 1
        temp_dir = self.root / f"n{len(self.nodes)}"
        temp_dir.mkdir()
        log_path = self.root / f"n{len(self.nodes)}.log"
        command = [
            RAY,
            "start",
            "--block",
            "--disable-usage-stats",
            f"--node-ip-address={ip}",
            f"--num-cpus={num_cpus}",
            "--num-gpus=0",
            f"--object-store-memory={OBJECT_STORE_BYTES}",
            f"--temp-dir={temp_dir}",
            # Worker output is not forwarded to drivers, so nothing needs to watch it.
            "--include-log-monitor=false",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            *extra,
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        node = RayNode(ip, num_cpus, temp_dir, process, log_path, dict(resources or {}))
        self.nodes.append(node)
        return node

    def alive_nodes(self) -> list[dict[str, object]]:
        """The live nodes as the GCS sees them (asked from a short-lived driver process)."""
        script = (
            "import json, ray, sys\n"
            f"ray.init(address={self.address!r}, logging_level='error', log_to_driver=False)\n"
            f"fields = {NODE_FIELDS!r}\n"
            "nodes = [{k: n[k] for k in fields} for n in ray.nodes() if n['Alive']]\n"
            "sys.stdout.write(json.dumps(nodes))\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            return []
        nodes: list[dict[str, object]] = json.loads(result.stdout or b"[]")
        return nodes

    def _wait_nodes(self, count: int, timeout: float, ip: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while True:
            failed = [node for node in self.nodes if not node.alive]
            if failed:
                raise RuntimeError(
                    f"ray node {failed[0].ip} exited: {failed[0].log_path.read_text()[-4000:]}"
                )
            nodes = self.alive_nodes()
            ips = {node["NodeManagerAddress"] for node in nodes}
            if len(nodes) >= count and (ip is None or ip in ips):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Ray cluster did not reach {count} node(s) in {timeout}s")
            time.sleep(0.2)

    def memory(self) -> tuple[int, int]:
        """(RSS, PSS) in bytes of every process of the cluster's nodes, workers included.

        RSS counts pages shared between processes once per process; PSS shares them out.
        """
        rss = pss = 0
        for node in self.nodes:
            if not node.alive:
                continue
            for pid in descendants(node.process.pid):
                with contextlib.suppress(OSError, IndexError, ValueError):
                    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                        if line.startswith("Rss:"):
                            rss += int(line.split()[1]) * 1024
                        elif line.startswith("Pss:"):
                            pss += int(line.split()[1]) * 1024
        return rss, pss

    def stop(self) -> None:
        """Kill every node and whatever it started, and remove their directories.

        Nothing of a test cluster needs a graceful end, and ``ray start``'s own takes ~30 s.
        """
        for node in self.nodes:
            if node.alive:
                node.kill()
        shutil.rmtree(self.root, ignore_errors=True)
