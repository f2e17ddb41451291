"""Why a RUNNABLE job at the head of its queue can never be placed, in AWS's words.

AWS sets the blocking reason on the job's ``statusReason`` and announces a "Batch Job Queue
Blocked" event; ``jobStateTimeLimitActions`` match on the code before `` - ``.
"""

from __future__ import annotations

from collections.abc import Iterable

from batchyard.batch.jobs.model import BLOCKED_BY_REQUIREMENT, Demand
from batchyard.batch.scheduler.topology import EnvironmentView

COMPUTE_ENVIRONMENT_MAX_RESOURCE = (
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue "
    "cannot meet the CPU requirement of the job."
)
JOB_RESOURCE_REQUIREMENT = BLOCKED_BY_REQUIREMENT
ENVIRONMENTS_INVALID = "ACTION_REQUIRED - CE(s) associated with the job queue are invalid."


def all_invalid(environments: Iterable[EnvironmentView]) -> bool:
    """Whether the queue has environments and every one of them is INVALID: its head waits
    for the user to fix them (ACTION_REQUIRED)."""
    found = list(environments)
    return bool(found) and all(environment.invalid for environment in found)


def never_placeable(demand: Demand, environments: Iterable[EnvironmentView]) -> str:
    """The reason for a job that fits none of ``environments`` even when they are empty.

    When every environment's ``maxvCpus`` is below the job's vCPUs, the environments are
    the cause (COMPUTE_ENVIRONMENT_MAX_RESOURCE); otherwise the job asks for more memory or
    GPUs than the host behind them has (JOB_RESOURCE_REQUIREMENT).
    """
    if all(demand.vcpus > environment.max_vcpus for environment in environments):
        return COMPUTE_ENVIRONMENT_MAX_RESOURCE
    return JOB_RESOURCE_REQUIREMENT
