"""The Docker Engine API jobs run on: finding it, and what it says about its host.

``choose_engine`` reads the ``container_engine`` setting: a socket URL, ``auto`` (the
first standard Docker or Podman socket that answers) or ``none``, and says in one sentence
what it found, for the server's log and the compute environments' status.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import requests
from docker.errors import DockerException

from batchyard.compute.provider import HostCapacity

# Where Docker and Podman listen by default, rootful first; DOCKER_HOST goes before them all.
STANDARD_SOCKETS = (
    "unix:///var/run/docker.sock",
    "unix:///run/podman/podman.sock",
    "unix://{runtime}/podman/podman.sock",
    "unix://{runtime}/docker.sock",
)
PING_TIMEOUT_SECONDS = 10
API_TIMEOUT_SECONDS = 60


# The engines' names of CPU architectures (Go's and the kernel's) in Batch's terms.
ARCHITECTURES = {"amd64": "X86_64", "x86_64": "X86_64", "arm64": "ARM64", "aarch64": "ARM64"}


class EngineUnavailable(Exception):
    """No engine answers at the configured address."""


@dataclass(frozen=True)
class Engine:
    """A Docker Engine API that answered: its address, client and product name."""

    url: str
    api: docker.APIClient
    product: str
    # The host's CPU architecture as Batch names it (X86_64, ARM64), "" when not reported.
    architecture: str = ""

    @property
    def podman(self) -> bool:
        """Whether the engine is Podman's compatible service."""
        return "podman" in self.product.lower()

    @property
    def local(self) -> bool:
        """Whether the engine runs on this host (a Unix socket): its processes, cgroups and
        kernel log are this host's."""
        return self.url.startswith("unix://")


@dataclass(frozen=True)
class EngineChoice:
    """What the ``container_engine`` setting found; ``summary`` says so in one sentence."""

    engine: Engine | None
    summary: str


def connect(url: str, timeout: int = PING_TIMEOUT_SECONDS) -> Engine:
    """The engine at ``url``; raises EngineUnavailable when it does not answer."""
    try:
        api = docker.APIClient(base_url=url, version="auto", timeout=timeout)
        version = api.version()
    except (DockerException, requests.RequestException, OSError) as error:
        raise EngineUnavailable(f"{url}: {error}") from None
    api.timeout = API_TIMEOUT_SECONDS
    names = [c.get("Name", "") for c in version.get("Components") or []]
    product = next((n for n in names if "podman" in n.lower()), None)
    if product is None:
        product = (version.get("Platform") or {}).get("Name") or "Docker Engine"
    return Engine(
        url=url,
        api=api,
        product=f"{product} {version.get('Version', '')}".strip(),
        architecture=ARCHITECTURES.get(str(version.get("Arch") or "").lower(), ""),
    )


def standard_sockets(environ: dict[str, str] | None = None) -> list[str]:
    """The addresses ``auto`` tries, in order."""
    environ = dict(os.environ if environ is None else environ)
    runtime = environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    found = [environ["DOCKER_HOST"]] if environ.get("DOCKER_HOST") else []
    for pattern in STANDARD_SOCKETS:
        url = pattern.format(runtime=runtime)
        if url not in found:
            found.append(url)
    return found


def choose_engine(setting: str, candidates: Sequence[str] | None = None) -> EngineChoice:
    """The engine the ``container_engine`` setting names, or None with the reason.

    ``none``: no engine. ``auto`` (or empty): the first of ``candidates`` (by default
    ``standard_sockets()``) that answers, None when none does. Anything else is an address
    that must answer: EngineUnavailable otherwise, since the operator asked for it.
    """
    setting = setting.strip()
    if setting.lower() == "none":
        return EngineChoice(None, "jobs run as local processes: container_engine is none")
    if setting.lower() in ("", "auto"):
        tried = list(candidates if candidates is not None else standard_sockets())
        for url in tried:
            try:
                engine = connect(url)
            except EngineUnavailable:
                continue
            return EngineChoice(engine, f"jobs run in containers on {engine.product} at {url}")
        return EngineChoice(
            None,
            "jobs run as local processes: no Docker or Podman engine answered at "
            + ", ".join(tried),
        )
    engine = connect(setting)
    return EngineChoice(engine, f"jobs run in containers on {engine.product} at {setting}")


def engine_host(engine: Engine) -> tuple[HostCapacity, int]:
    """The engine host's capacity (memory, and NVIDIA GPUs when that host is this one) and
    its CPU count."""
    info = engine.api.info()
    memory = int(info.get("MemTotal") or 0) // (1024 * 1024)
    gpus = 0
    if engine.local and Path("/dev").is_dir():
        gpus = sum(1 for _ in Path("/dev").glob("nvidia[0-9]*"))
    return HostCapacity(memory_mib=memory, gpus=gpus), int(info.get("NCPU") or 0)


def _process_limits(pid: int) -> dict[str, tuple[int, int]]:
    """``nofile`` and ``nproc`` (soft, hard) of process ``pid``, from /proc/<pid>/limits."""
    names = {"Max open files": "nofile", "Max processes": "nproc"}
    found: dict[str, tuple[int, int]] = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        for title, name in names.items():
            if line.startswith(title):
                soft, hard = line[len(title) :].split()[:2]
                if soft.isdigit() and hard.isdigit():
                    found[name] = (int(soft), int(hard))
    return found


def engine_process_limits(url: str) -> dict[str, tuple[int, int]]:
    """The ``nofile``/``nproc`` limits of the process serving the local socket ``url``
    (its peer credentials name it); empty when that cannot be told."""
    path = url.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(PING_TIMEOUT_SECONDS)
            client.connect(path)
            credentials = client.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
            )
        pid, _uid, _gid = struct.unpack("3i", credentials)
        return _process_limits(pid) if pid > 0 else {}
    except OSError:
        return {}
