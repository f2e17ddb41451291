"""The one small interface every place an attempt can run implements.

The scheduler decides *where* and *when*; a provider only starts one attempt, streams its
output, stops it on request and reports how it ended. Providers know nothing about jobs,
queues or the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

# Called once per output line: (epoch milliseconds, "stdout" | "stderr", text without newline).
LineCallback = Callable[[int, str, str], None]

OUT_OF_MEMORY_REASON = "OutOfMemoryError: Container killed due to memory usage"


@dataclass(frozen=True)
class AttemptSpec:
    """Everything needed to run one attempt of a job."""

    attempt_id: str
    job_id: str
    command: list[str]
    environment: dict[str, str]
    vcpus: float = 1.0
    memory_mib: int | None = None
    gpus: int = 0
    image: str | None = None


@dataclass(frozen=True)
class ExitStatus:
    """How an attempt ended, in the container terms AWS reports.

    ``exit_code`` follows the shell convention (128 + signal for a killed process);
    ``reason`` is the container reason (e.g. the out-of-memory text), None for a plain exit.
    """

    exit_code: int | None
    reason: str | None = None
    out_of_memory: bool = False


@dataclass(frozen=True)
class HostCapacity:
    """What the machine behind a provider can give all its attempts together."""

    memory_mib: int
    gpus: int


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


class ComputeProvider(Protocol):
    """Where attempts run."""

    capacity: HostCapacity

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


@dataclass
class GpuPool:
    """Hands out whole host GPUs by index so each is pinned to one attempt at a time."""

    count: int
    in_use: set[int] = field(default_factory=set)

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
