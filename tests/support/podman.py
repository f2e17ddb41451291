"""A private Podman for the tests: one ``podman system service`` serving the Docker Engine API
on a socket in a temporary directory, with its own storage, run root and network, so that
nothing of the machine's own Podman (images, containers, networks) is touched or seen.

Debian's ``podman`` and ``runc`` packages (``.ci/run`` installs them) are what it runs:
``runc`` as the OCI runtime and a containers.conf with ``default_ulimits = []`` (with
rlimits in a container spec Podman also raises nproc and nofile past what this machine lets
even root set, and the container cannot start), cgroupfs (there is no systemd here).

Its network is an *internal* bridge of its own: containers on it reach the host's side of
the bridge (its gateway address: the provider's relay to a test server listens there) but
no route leads anywhere else, so no test container can send traffic off the machine. The
bridge and subnet are unique to the service, so test runs in parallel never share one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import docker
import requests
from docker.errors import DockerException

REQUIRED_PROGRAMS = ("podman", "runc", "conmon")
INSTALL_HINT = "apt-get install podman runc (.ci/run installs them)"
START_TIMEOUT = 60.0


def _routes() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this host has routes to (/proc/net/route: little-endian hex)."""
    found = []
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        destination = socket.inet_ntoa(int(fields[1], 16).to_bytes(4, "little"))
        mask = socket.inet_ntoa(int(fields[7], 16).to_bytes(4, "little"))
        found.append(ipaddress.IPv4Network(f"{destination}/{mask}", strict=False))
    return found


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.89.0.0/16 that no route of this host overlaps."""
    used = [route for route in _routes() if route.prefixlen > 0]
    candidates = list(ipaddress.IPv4Network("10.89.0.0/16").subnets(new_prefix=24))
    random.shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(route) for route in used):
            return subnet
    raise RuntimeError("no free /24 in 10.89.0.0/16 for the test network")


class PodmanService:
    """One running ``podman system service`` and the private state it works in."""

    def __init__(self, root: Path | None = None) -> None:
        """A service in a new temporary directory (``root``: the one of an earlier one)."""
        missing = [p for p in REQUIRED_PROGRAMS if shutil.which(p) is None]
        if missing:
            raise RuntimeError(
                f"the container tests need a real Podman; missing {', '.join(missing)}: "
                f"{INSTALL_HINT}"
            )
        self.root = root or Path(tempfile.mkdtemp(prefix="batchyard-podman-"))
        self.socket = self.root / "podman.sock"
        self.url = f"unix://{self.socket}"
        tag = uuid.uuid4().hex[:6]
        self.network = f"batchyard-test-{tag}"
        self.interface = f"byt{tag}"
        self.subnet = _free_subnet()
        self.gateway = str(self.subnet.network_address + 1)
        self.process: subprocess.Popen[bytes] | None = None
        self._log = self.root / "service.log"
        self._environment = {
            **os.environ,
            "CONTAINERS_CONF": str(self.root / "containers.conf"),
            # Image imports stage their layers in TMPDIR (default /var/tmp).
            "TMPDIR": str(self.root / "tmp"),
        }

    @property
    def _global_options(self) -> list[str]:
        return [
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            "--storage-driver",
            "overlay",
        ]

    def _write_configuration(self) -> None:
        for name in ("tmp", "networks", "volumes", "storage", "run"):
            (self.root / name).mkdir()
        (self.root / "containers.conf").write_text(
            "[containers]\n"
            "default_ulimits = []\n"
            "[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'tmp_dir = "{self.root / "tmp"}"\n'
            f'volume_path = "{self.root / "volumes"}"\n'
            "[network]\n"
            'network_backend = "netavark"\n'
            f'network_config_dir = "{self.root / "networks"}"\n'
            f'default_network = "{self.network}"\n'
        )
        # Written rather than made with `podman network create`: Podman 4.3 cannot name the
        # bridge, and its own choice (podman1, podman2 …) would collide between services.
        (self.root / "networks" / f"{self.network}.json").write_text(
            json.dumps(
                {
                    "name": self.network,
                    "id": uuid.uuid4().hex + uuid.uuid4().hex,
                    "driver": "bridge",
                    "network_interface": self.interface,
                    "created": "2026-01-01T00:00:00Z",
                    "subnets": [{"subnet": str(self.subnet), "gateway": self.gateway}],
                    "ipv6_enabled": False,
                    "internal": True,
                    "dns_enabled": False,
                    "ipam_options": {"driver": "host-local"},
                },
                indent=1,
            )
        )

    @classmethod
    def sweep_stale(cls) -> None:
        """Stop what services of test sessions that died without their teardown (a killed
        pytest) left running, and remove their directories."""
        for root in Path(tempfile.gettempdir()).glob("batchyard-podman-*"):
            try:
                owner, service = map(int, (root / "owner").read_text().split())
            except (OSError, ValueError):
                continue
            if Path(f"/proc/{owner}").exists():
                continue
            stale = cls(root)
            with contextlib.suppress(OSError):
                # The pid is that service's only while its command line names this root.
                if str(root) in Path(f"/proc/{service}/cmdline").read_text(errors="replace"):
                    os.kill(service, signal.SIGKILL)
            stale.stop()

    def start(self) -> PodmanService:
        """Start the service; returns once the Docker API answers on its socket."""
        self.sweep_stale()
        self._write_configuration()
        log = self._log.open("wb")
        self.process = subprocess.Popen(
            ["podman", *self._global_options, "system", "service", "--time=0", self.url],
            env=self._environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        (self.root / "owner").write_text(f"{os.getpid()} {self.process.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self._log.read_text(errors="replace")
                self.stop()
                raise RuntimeError(f"podman system service did not start:\n{output}")
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            client = docker.APIClient(base_url=self.url, version="1.41", timeout=5)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except (DockerException, requests.RequestException, OSError):
            return False

    def podman(self, *arguments: str, timeout: float = 300) -> str:
        """Run the podman command on this service's storage; its standard output."""
        finished = subprocess.run(
            ["podman", *self._global_options, *arguments],
            env=self._environment,
            capture_output=True,
            timeout=timeout,
        )
        if finished.returncode != 0:
            raise RuntimeError(
                f"podman {' '.join(arguments)} failed ({finished.returncode}): "
                f"{finished.stderr.decode(errors='replace')}"
            )
        return finished.stdout.decode()

    def client(self) -> docker.APIClient:
        """A Docker SDK client of the service."""
        return docker.APIClient(base_url=self.url, version="auto", timeout=60)

    def stop(self) -> None:
        """Stop the service, remove every container and image it made, and its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.process = None
        # Containers left running, their overlay mounts and the bridge go with a reset.
        for arguments in (
            ("rm", "--all", "--force", "--time", "0"),
            ("system", "reset", "--force"),
        ):
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.podman(*arguments, timeout=120)
        shutil.rmtree(self.root, ignore_errors=True)
