"""Job states, AWS's status-reason texts, and a job's resource demand."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

SUBMITTED = "SUBMITTED"
PENDING = "PENDING"
RUNNABLE = "RUNNABLE"
STARTING = "STARTING"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TERMINAL = frozenset({SUCCEEDED, FAILED})
# CancelJob only stops jobs that have not been placed yet.
CANCELLABLE = frozenset({SUBMITTED, PENDING, RUNNABLE})
ON_HOST = frozenset({STARTING, RUNNING})
# The key in a job's ``runtime`` of the epoch ms it became RUNNABLE at: a queue's RUNNABLE
# time limit counts from there, across restarts.
RUNNABLE_SINCE = "runnableAt"

ESSENTIAL_EXITED = "Essential container in task exited"
TIMED_OUT = "Job attempt duration exceeded timeout"
FAILED_TO_START = "Task failed to start"
DEPENDENCY_FAILED = "Dependent Job failed"
BLOCKED_BY_REQUIREMENT = (
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement "
    "(vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue."
)


def reason_code(status_reason: str) -> str:
    """The code of a blocked-queue status reason (``MISCONFIGURATION:...``), as used by
    ``jobStateTimeLimitActions``."""
    return status_reason.split(" - ", 1)[0]


def time_limit_reason(code: str) -> str:
    """The status reason of a job cancelled by a queue's ``jobStateTimeLimitActions``."""
    return f"Canceled by JobStateTimeLimit action due to reason: {code}"


def host_lost_reason() -> str:
    """The status reason of an attempt whose server died under it.

    It starts like AWS's instance-loss text so ``onStatusReason: "Host EC2*"`` retry rules
    written for Spot interruptions match it.
    """
    return (
        f"Host EC2 (instance {socket.gethostname()}) terminated: "
        "the batchyard server stopped while the attempt was running."
    )


@dataclass(frozen=True, slots=True)
class Demand:
    """What one attempt of a job reserves while placed: vCPUs, MiB of memory, GPUs."""

    vcpus: float
    memory: int
    gpus: int

    @classmethod
    def of(cls, container: dict[str, Any]) -> Demand:
        """The demand a job's ``container`` block states (resourceRequirements win)."""
        values = {r["type"]: r["value"] for r in container.get("resourceRequirements") or []}
        vcpus = float(values.get("VCPU", container.get("vcpus") or 1))
        memory = int(float(values.get("MEMORY", container.get("memory") or 0)))
        gpus = int(float(values.get("GPU", 0)))
        return cls(vcpus=vcpus, memory=memory, gpus=gpus)
