"""The one small interface every place an attempt can run implements.

The scheduler decides *where* and *when*; a provider only starts one attempt, streams its
output, stops it on request and reports how it ended. Providers know nothing about jobs,
queues or the store.

Attempts of a provider that can outlive the server (containers) are also *durable*: a new
server re-attaches to them from the ``identity`` they reported (``Reattaching``), and what
is left of one is removed only once its end is committed (``DurableAttempt.release``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from batchyard.compute.container_spec import ContainerSpec

# Called once per output line: (epoch milliseconds, "stdout" | "stderr", text without newline).
LineCallback = Callable[[int, str, str], None]

OUT_OF_MEMORY_REASON = "OutOfMemoryError: Container killed due to memory usage"


@dataclass(frozen=True)
class ServiceAccess:
    """How an attempt's AWS SDKs reach this server: the job's region and account keys."""

    region: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class AttemptSpec:
    """Everything needed to run one attempt of a job.

    ``environment`` is the whole environment the job defines (its own variables, secrets,
    ``AWS_BATCH_*``); ``container`` the rest of its container properties, for providers that
    run images (None: only ``image`` is known); ``access`` the credentials its SDKs get;
    ``group`` the attempt of the multi-node job this is a node of (its nodes get a network
    of their own where the provider makes networks).
    """

    attempt_id: str
    job_id: str
    command: list[str]
    environment: dict[str, str]
    vcpus: float = 1.0
    memory_mib: int | None = None
    gpus: int = 0
    image: str | None = None
    container: ContainerSpec | None = None
    access: ServiceAccess | None = None
    group: str | None = None


def access_environment(access: ServiceAccess | None, endpoint_url: str | None) -> dict[str, str]:
    """The variables that point an attempt's AWS SDKs at this server as the job's account.

    Only the global ``AWS_ENDPOINT_URL``: every SDK that reads the per-service variables
    reads it too, and a per-service one set here would beat a job's own global one. The
    job's environment is applied over these, so a job that sets any of them keeps its own.
    """
    found: dict[str, str] = {}
    if endpoint_url:
        found["AWS_ENDPOINT_URL"] = endpoint_url
    if access is not None:
        found["AWS_REGION"] = access.region
        found["AWS_DEFAULT_REGION"] = access.region
        found["AWS_ACCESS_KEY_ID"] = access.access_key_id
        found["AWS_SECRET_ACCESS_KEY"] = access.secret_access_key
        if access.session_token:
            found["AWS_SESSION_TOKEN"] = access.session_token
    return found


@dataclass(frozen=True)
class ExitStatus:
    """How an attempt ended, in the container terms AWS reports.

    ``exit_code`` follows the shell convention (128 + signal for a killed process);
    ``reason`` is the container reason (e.g. the out-of-memory text), None for a plain exit.
    """

    exit_code: int | None
    reason: str | None = None
    out_of_memory: bool = False


@dataclass(frozen=True, slots=True)
class Resources:
    """An amount of vCPUs, MiB of memory and GPUs (what one node of a cluster has)."""

    vcpus: float
    memory_mib: int
    gpus: float

    def holds(self, vcpus: float, memory_mib: int, gpus: float) -> bool:
        """Whether this much covers the request."""
        return (
            vcpus <= self.vcpus + 1e-9 and memory_mib <= self.memory_mib and gpus <= self.gpus
        )


@dataclass(frozen=True)
class HostCapacity:
    """What the machine behind a provider can give all its attempts together; ``vcpus``
    None: as many as the compute environments' ``maxvCpus`` allow (a cluster knows its own).

    ``nodes``: the separate machines of a cluster, each attempt running on one of them (a
    single-node job must fit one node, a multi-node job needs as many nodes); empty for one
    machine.
    """

    memory_mib: int
    gpus: int
    vcpus: float | None = None
    nodes: tuple[Resources, ...] = ()


class LaunchError(Exception):
    """The attempt could not be started; ``reason`` is the container reason to report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunningAttempt(Protocol):
    """A started attempt."""

    identity: dict[str, Any]

    async def wait(self) -> ExitStatus:
        """Wait until the attempt has ended and its output has been delivered."""
        ...

    async def stop(self, grace_seconds: float) -> None:
        """Ask the attempt to stop (SIGTERM), forcing it (SIGKILL) after ``grace_seconds``."""
        ...

    def kill(self) -> None:
        """Kill the attempt at once, without waiting for it (server shutdown)."""
        ...


@runtime_checkable
class ReleasedAttempt(RunningAttempt, Protocol):
    """An attempt that leaves something behind until its end is committed: its container,
    or the record of its exit status."""

    async def release(self) -> None:
        """Remove what is left of the ended attempt; call it once its end is committed, so
        that a server dying in between still finds the real exit status."""
        ...


@runtime_checkable
class DurableAttempt(ReleasedAttempt, Protocol):
    """An attempt that can outlive the server that started it."""

    def detach(self) -> None:
        """Stop watching the attempt and leave it running (server shutdown); its ``wait``
        is cancelled. A later server re-attaches with ``Reattaching.reattach``."""
        ...


class ComputeProvider(Protocol):
    """Where attempts run."""

    @property
    def capacity(self) -> HostCapacity:
        """What the machine (or cluster) behind the provider gives all its attempts."""
        ...

    async def start(self, spec: AttemptSpec, on_line: LineCallback) -> RunningAttempt:
        """Start ``spec``; raise LaunchError when it cannot start."""
        ...

    def reap(self, identity: dict[str, Any]) -> bool:
        """Stop what is left of an attempt started by an earlier server process.

        ``identity`` is what the attempt reported when it started. Returns True when
        something was still running and has been killed.
        """
        ...

    def sweep(self) -> None:
        """Remove what attempts of earlier server processes left behind (working directories,
        control groups); called at start-up once they have been reaped."""
        ...


class Reattaching(Protocol):
    """A provider whose attempts outlive the server (containers)."""

    async def reattach(
        self, identity: dict[str, Any], on_line: LineCallback, delivered: int
    ) -> DurableAttempt | None:
        """Attach again to the attempt an earlier server started and recorded as ``identity``.

        Returns None when nothing of it is left (the host lost it). Otherwise the attempt is
        driven like a fresh one: its output continues after the first ``delivered`` lines (the
        lines already stored; the rest, and everything it prints from now on, goes to
        ``on_line``) and ``wait`` gives its real exit status, at once if it ended while no
        server watched it.
        """
        ...


@dataclass
class GpuPool:
    """Hands out whole host GPUs by index so each is pinned to one attempt at a time."""

    count: int
    in_use: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, indexes: Iterable[int]) -> GpuPool:
        """A pool of only these GPU indexes (those Ray assigned one task): the host's other
        GPUs count as taken for good."""
        chosen = set(indexes)
        count = max(chosen, default=-1) + 1
        return cls(count, set(range(count)) - chosen)

    def take(self, wanted: int) -> list[int]:
        """Reserve ``wanted`` free GPU indexes; raise LaunchError when too few are free."""
        free = [i for i in range(self.count) if i not in self.in_use]
        if wanted > len(free):
            raise LaunchError(
                f"CannotStartContainerError: {wanted} GPU(s) requested, {len(free)} free"
            )
        chosen = free[:wanted]
        self.in_use.update(chosen)
        return chosen

    def give_back(self, indexes: list[int]) -> None:
        """Return GPUs taken with ``take``."""
        self.in_use.difference_update(indexes)
