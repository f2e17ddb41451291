"""Job queues: what Create / Update / Delete / Describe do in the store, and the lookups
SubmitJob and the scheduler need.

Every function runs on a store connection; the facade commits, announces and settles.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.aws.lifecycle import Status
from batchyard.batch.errors import TAG_RULES, client_error, require_name
from batchyard.batch.resources import compute_environments, store
from batchyard.batch.resources import environment_rules as ce_rules
from batchyard.batch.resources.model import (
    JOB_QUEUE,
    ComputeEnvironment,
    EnvironmentOrder,
    JobQueue,
    State,
    TimeLimitAction,
)
from batchyard.batch.resources.store import ResourceTags
from batchyard.store.tables.batch_resources import job_queues as table
from batchyard.store.tables.batch_resources import scheduling_policies as policy_table

HEALTHY = "JobQueue Healthy"
KIND = store.Kind(table, "jobQueues", JobQueue.from_document)
MAX_COMPUTE_ENVIRONMENTS = 3
MAX_PRIORITY = 1000
MIN_LIMIT_SECONDS = 600
MAX_LIMIT_SECONDS = 86400
MAX_TIME_LIMIT_ACTIONS = 5
TIME_LIMIT_REASONS = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
)
QUEUE_TYPES = {
    "EC2": "ECS",
    "FARGATE": "ECS_FARGATE",
    "EKS": "EKS",
    "ECS_MANAGED_INSTANCES": "ECS_MANAGED_INSTANCES",
}


@dataclass(frozen=True, slots=True)
class NewJobQueue:
    """A CreateJobQueue request."""

    name: str
    priority: int
    compute_environment_order: list[JsonObject] = field(default_factory=list)
    state: str = State.ENABLED
    scheduling_policy_arn: str | None = None
    service_environment_order: list[JsonObject] | None = None
    job_queue_type: str | None = None
    job_state_time_limit_actions: list[JsonObject] | None = None
    tags: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class QueueChange:
    """An UpdateJobQueue request: what is not None changes."""

    state: str | None = None
    scheduling_policy_arn: str | None = None
    priority: int | None = None
    compute_environment_order: list[JsonObject] | None = None
    service_environment_order: list[JsonObject] | None = None
    job_state_time_limit_actions: list[JsonObject] | None = None


def get(connection: Connection, caller: Caller | None, reference: str) -> JobQueue | None:
    """The queue named or ARN'd by ``reference``, or None."""
    document = store.find(connection, table, caller, reference)
    return JobQueue.from_document(document) if document is not None else None


def list_all(connection: Connection, caller: Caller | None = None) -> list[JobQueue]:
    """Every job queue (of the caller's account and region), in creation order."""
    return [JobQueue.from_document(d) for d in store.all_documents(connection, table, caller)]


def _require(connection: Connection, caller: Caller, reference: str) -> JobQueue:
    queue = get(connection, caller, reference)
    if queue is None:
        raise client_error(f"JobQueue {reference} does not exist")
    return queue


def compute_environments_of(connection: Connection, queue: JobQueue) -> list[ComputeEnvironment]:
    """The compute environments of ``queue`` that exist, lowest ``order`` first."""
    wanted = [entry.compute_environment for entry in queue.compute_environment_order]
    found = {
        environment.arn: environment
        for environment in compute_environments.get_many(connection, None, wanted)
    }
    return [
        found[entry.compute_environment]
        for entry in queue.compute_environment_order
        if entry.compute_environment in found
    ]


def _check_priority(priority: int) -> None:
    if not 0 <= priority <= MAX_PRIORITY:
        raise client_error(f"priority must be between 0 and {MAX_PRIORITY}.")


def _time_limit_actions(actions: list[JsonObject]) -> list[TimeLimitAction]:
    if len(actions) > MAX_TIME_LIMIT_ACTIONS:
        raise client_error(
            f"jobStateTimeLimitActions can contain at most {MAX_TIME_LIMIT_ACTIONS} entries."
        )
    seen: set[str] = set()
    for action in actions:
        if action["reason"] not in TIME_LIMIT_REASONS:
            raise client_error(
                f"jobStateTimeLimitActions reason {action['reason']} is not supported. "
                f"Valid reasons are: {', '.join(TIME_LIMIT_REASONS)}."
            )
        if action["reason"] in seen:
            raise client_error(
                f"jobStateTimeLimitActions contains reason {action['reason']} more than once."
            )
        seen.add(action["reason"])
        if action["state"] != "RUNNABLE":
            raise client_error("jobStateTimeLimitActions state must be RUNNABLE.")
        if action["action"] != "CANCEL":
            raise client_error("jobStateTimeLimitActions action must be CANCEL for this job queue.")
        if not MIN_LIMIT_SECONDS <= action["maxTimeSeconds"] <= MAX_LIMIT_SECONDS:
            raise client_error(
                f"jobStateTimeLimitActions maxTimeSeconds must be between {MIN_LIMIT_SECONDS} "
                f"and {MAX_LIMIT_SECONDS}."
            )
    return [TimeLimitAction.of(copy.deepcopy(action)) for action in actions]


def _resolve_order(
    connection: Connection, caller: Caller, order: list[JsonObject], queue_type: str | None
) -> tuple[list[EnvironmentOrder], str]:
    """Check a ``computeEnvironmentOrder`` and return it with ARNs, plus the queue type."""
    if not 1 <= len(order) <= MAX_COMPUTE_ENVIRONMENTS:
        raise client_error(
            f"computeEnvironmentOrder must contain between 1 and {MAX_COMPUTE_ENVIRONMENTS} "
            "compute environments."
        )
    orders = [entry["order"] for entry in order]
    if len(set(orders)) != len(orders):
        raise client_error("computeEnvironmentOrder contains duplicate order values.")
    if any(value < 0 for value in orders):
        raise client_error(
            "computeEnvironmentOrder order values must be greater than or equal to 0."
        )
    resolved: list[EnvironmentOrder] = []
    kinds: set[str] = set()
    architectures: set[str] = set()
    for entry in sorted(order, key=lambda item: item["order"]):
        environment = compute_environments.get(connection, caller, entry["computeEnvironment"])
        if environment is None or environment.status in (Status.DELETING, Status.DELETED):
            raise client_error(f"Compute environment {entry['computeEnvironment']} does not exist")
        if environment.status != Status.VALID:
            raise client_error(
                f"Compute environment {environment.arn} is not VALID "
                f"(status {environment.status})"
            )
        kinds.add(ce_rules.kind_of(environment))
        types = (environment.compute_resources or {}).get("instanceTypes")
        if types:
            architectures |= ce_rules.architecture_of(types)
        resolved.append(EnvironmentOrder(entry["order"], environment.arn))
    if len({entry.compute_environment for entry in resolved}) != len(resolved):
        raise client_error(
            "computeEnvironmentOrder contains the same compute environment more than once."
        )
    if len(kinds) > 1:
        raise client_error(
            "All compute environments in a job queue must be of the same type: EC2 and SPOT "
            "compute environments can't be mixed with FARGATE and FARGATE_SPOT ones, nor ECS "
            "with EKS."
        )
    if len(architectures) > 1:
        raise client_error(
            "All compute environments in a job queue must use the same architecture."
        )
    derived = QUEUE_TYPES[kinds.pop()]
    if queue_type is not None and queue_type != derived:
        raise client_error(
            f"jobQueueType {queue_type} doesn't match its compute environments ({derived})."
        )
    return resolved, derived


def _check_policy(connection: Connection, caller: Caller, arn: str) -> None:
    if not arn.startswith("arn:") or store.find(connection, policy_table, caller, arn) is None:
        raise client_error(f"Scheduling policy {arn} does not exist")


def _check_service_environments(order: list[JsonObject] | None) -> None:
    if order:
        raise client_error(f"Service environment {order[0]['serviceEnvironment']} does not exist")


def check_new(request: NewJobQueue) -> None:
    """The checks of a CreateJobQueue request that need no store."""
    require_name(request.name, "Job queue name")
    _check_priority(request.priority)
    _time_limit_actions(request.job_state_time_limit_actions or [])
    _check_service_environments(request.service_environment_order)


def insert(
    connection: Connection, caller: Caller, request: NewJobQueue, tags: ResourceTags
) -> JobQueue:
    """Store a new queue, CREATING, with its tags."""
    arn = caller.arn("batch", f"{JOB_QUEUE}/{request.name}")
    TAG_RULES.check(arn, request.tags or {})
    if store.exists(connection, table, caller, request.name):
        raise client_error(compute_environments.ALREADY_EXISTS)
    order, queue_type = _resolve_order(
        connection, caller, request.compute_environment_order, request.job_queue_type
    )
    queue = JobQueue(
        request.name,
        arn,
        State(request.state),
        Status.CREATING,
        "Creation in progress",
        request.priority,
        order,
        queue_type,
        _time_limit_actions(request.job_state_time_limit_actions or []),
    )
    if request.scheduling_policy_arn is not None:
        _check_policy(connection, caller, request.scheduling_policy_arn)
        queue.scheduling_policy_arn = request.scheduling_policy_arn
    store.add(connection, table, caller, queue.name, arn, queue.to_document())
    tags.add(connection, arn, request.tags or {})
    return queue


def _apply(
    connection: Connection, caller: Caller, queue: JobQueue, change: QueueChange
) -> JobQueue:
    if queue.status in (Status.DELETING, Status.DELETED):
        raise client_error(f"{queue.name} is being deleted")
    updated = copy.deepcopy(queue)
    if change.priority is not None:
        _check_priority(change.priority)
        updated.priority = change.priority
    if change.state is not None:
        updated.state = State(change.state)
    if change.job_state_time_limit_actions is not None:
        updated.job_state_time_limit_actions = _time_limit_actions(
            change.job_state_time_limit_actions
        )
    _check_service_environments(change.service_environment_order)
    if change.compute_environment_order is not None:
        updated.compute_environment_order, _ = _resolve_order(
            connection, caller, change.compute_environment_order, queue.job_queue_type
        )
    policy = change.scheduling_policy_arn
    if policy is not None:
        if queue.scheduling_policy_arn is None:
            raise client_error(
                "A scheduling policy can't be added to a job queue that was created without one "
                "(FIFO job queue)."
            )
        if policy == "":
            raise client_error(
                "The scheduling policy of a fair-share job queue can be replaced but not removed."
            )
        _check_policy(connection, caller, policy)
        updated.scheduling_policy_arn = policy
    updated.status = Status.UPDATING
    updated.status_reason = "Update in progress"
    return updated


def update(connection: Connection, caller: Caller, reference: str, change: QueueChange) -> JobQueue:
    """Apply ``change`` to the queue; it goes UPDATING."""
    queue = _require(connection, caller, reference)
    updated = _apply(connection, caller, queue, change)
    store.save(connection, table, updated)
    return updated


def delete(connection: Connection, caller: Caller, reference: str) -> JobQueue:
    """Start deleting a DISABLED, settled queue; it goes DELETING."""
    queue = _require(connection, caller, reference)
    store.start_deleting(connection, table, queue)
    return queue


def health(_queue: JobQueue) -> tuple[Status, str]:
    """A queue always settles VALID."""
    return Status.VALID, HEALTHY


def pending(connection: Connection) -> list[str]:
    """ARNs of the queues a previous process left in a transitional status."""
    return store.pending(connection, table)


def exists(connection: Connection, caller: Caller, arn: str) -> bool:
    """Whether ``arn`` names a queue of the caller's."""
    return get(connection, caller, arn) is not None
