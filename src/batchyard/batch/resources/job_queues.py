"""Job queues: Create / Describe / Update / Delete and lookups for the scheduler.

Public lookups (``connection`` is a SQLAlchemy Connection, e.g. inside ``store.read``):

- ``get(connection, reference)`` -> the queue named or ARN'd by ``reference`` (Describe shape,
  no tags; ``computeEnvironmentOrder`` sorted by ``order``), or None.
- ``compute_environments_of(connection, queue)`` -> the queue's compute environment documents
  in ``order`` (lowest first), skipping any that no longer exist.
- ``list_enabled(connection)`` -> ENABLED queues, highest ``priority`` first (then oldest).
- ``list_all(connection)`` -> every queue in creation order.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Connection

from batchyard.batch.resources import compute_environment_rules as ce_rules
from batchyard.batch.resources import compute_environments, lifecycle, records, tags
from batchyard.batch.resources.events import publish
from batchyard.batch.resources.names import JOB_QUEUE, client_error, require_name
from batchyard.batch.resources.pagination import decode_token, page_size
from batchyard.runtime import Runtime
from batchyard.store.tables.batch_resources import job_queues as table
from batchyard.store.tables.batch_resources import scheduling_policies as policy_table

HEALTHY = "JobQueue Healthy"
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
TRANSITIONAL = lifecycle.TRANSITIONAL


def get(connection: Connection, reference: str) -> dict[str, Any] | None:
    """The queue named or ARN'd by ``reference`` (Describe shape, no tags), or None."""
    return records.find(connection, table, reference)


def compute_environments_of(connection: Connection, queue: dict[str, Any]) -> list[dict[str, Any]]:
    """The compute environment documents of ``queue``, lowest ``order`` first."""
    ordered = sorted(queue["computeEnvironmentOrder"], key=lambda entry: entry["order"])
    found = {
        document["computeEnvironmentArn"]: document
        for document in compute_environments.get_many(
            connection, [entry["computeEnvironment"] for entry in ordered]
        )
    }
    return [
        found[entry["computeEnvironment"]]
        for entry in ordered
        if entry["computeEnvironment"] in found
    ]


def list_all(connection: Connection) -> list[dict[str, Any]]:
    """Every job queue, in creation order."""
    return records.all_documents(connection, table)


def list_enabled(connection: Connection) -> list[dict[str, Any]]:
    """ENABLED job queues, highest priority first; ties keep creation order."""
    enabled = [queue for queue in list_all(connection) if queue["state"] == "ENABLED"]
    return sorted(enabled, key=lambda queue: -queue["priority"])


def _check_priority(priority: int) -> None:
    if not 0 <= priority <= MAX_PRIORITY:
        raise client_error(f"priority must be between 0 and {MAX_PRIORITY}.")


def _check_time_limit_actions(actions: list[dict[str, Any]]) -> None:
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


def _resolve_order(
    connection: Connection, order: list[dict[str, Any]], queue_type: str | None
) -> tuple[list[dict[str, Any]], str]:
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
    resolved = []
    kinds: set[str] = set()
    architectures: set[str] = set()
    for entry in sorted(order, key=lambda item: item["order"]):
        environment = compute_environments.get(connection, entry["computeEnvironment"])
        if environment is None or environment["status"] in ("DELETING", "DELETED"):
            raise client_error(f"Compute environment {entry['computeEnvironment']} does not exist")
        if environment["status"] != "VALID":
            raise client_error(
                f"Compute environment {environment['computeEnvironmentArn']} is not VALID "
                f"(status {environment['status']})"
            )
        kinds.add(ce_rules.kind_of(environment))
        types = (environment.get("computeResources") or {}).get("instanceTypes")
        if types:
            architectures |= ce_rules.architecture_of(types)
        resolved.append(
            {"order": entry["order"], "computeEnvironment": environment["computeEnvironmentArn"]}
        )
    if len({environment["computeEnvironment"] for environment in resolved}) != len(resolved):
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


def _check_policy(connection: Connection, arn: str) -> None:
    if not records.exists_arn(connection, policy_table, arn):
        raise client_error(f"Scheduling policy {arn} does not exist")


def _check_service_environments(order: list[dict[str, Any]] | None) -> None:
    if order:
        raise client_error(f"Service environment {order[0]['serviceEnvironment']} does not exist")


async def create(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """CreateJobQueue: validate against the stored environments and policies, store CREATING."""
    name = require_name(params["jobQueueName"], "Job queue name")
    _check_priority(params["priority"])
    _check_time_limit_actions(params.get("jobStateTimeLimitActions") or [])
    _check_service_environments(params.get("serviceEnvironmentOrder"))
    new_tags = params.get("tags") or {}
    tags.validate_tags(new_tags)
    arn = runtime.arn("batch", f"{JOB_QUEUE}/{name}")

    def write(connection: Connection) -> dict[str, Any]:
        if records.exists(connection, table, name):
            raise client_error(compute_environments.ALREADY_EXISTS)
        order, queue_type = _resolve_order(
            connection, params.get("computeEnvironmentOrder") or [], params.get("jobQueueType")
        )
        document: dict[str, Any] = {
            "jobQueueName": name,
            "jobQueueArn": arn,
            "state": params.get("state", "ENABLED"),
            "status": "CREATING",
            "statusReason": "Creation in progress",
            "priority": params["priority"],
            "computeEnvironmentOrder": order,
            "jobQueueType": queue_type,
            "jobStateTimeLimitActions": copy.deepcopy(params.get("jobStateTimeLimitActions") or []),
        }
        if params.get("schedulingPolicyArn") is not None:
            _check_policy(connection, params["schedulingPolicyArn"])
            document["schedulingPolicyArn"] = params["schedulingPolicyArn"]
        records.add(connection, table, name, arn, document)
        tags.add_tags(connection, arn, new_tags)
        return document

    document = await runtime.store.write(write)
    publish(runtime.bus, JOB_QUEUE, "created", document)
    lifecycle.schedule(runtime, JOB_QUEUE, name)
    return {"jobQueueName": name, "jobQueueArn": arn}


def _apply_update(
    connection: Connection, document: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    if document["status"] in ("DELETING", "DELETED"):
        raise client_error(f"{document['jobQueueName']} is being deleted")
    updated = copy.deepcopy(document)
    if params.get("priority") is not None:
        _check_priority(params["priority"])
        updated["priority"] = params["priority"]
    if params.get("state") is not None:
        updated["state"] = params["state"]
    if params.get("jobStateTimeLimitActions") is not None:
        _check_time_limit_actions(params["jobStateTimeLimitActions"])
        updated["jobStateTimeLimitActions"] = copy.deepcopy(params["jobStateTimeLimitActions"])
    _check_service_environments(params.get("serviceEnvironmentOrder"))
    if params.get("computeEnvironmentOrder") is not None:
        order, _ = _resolve_order(
            connection, params["computeEnvironmentOrder"], document.get("jobQueueType")
        )
        updated["computeEnvironmentOrder"] = order
    policy = params.get("schedulingPolicyArn")
    if policy is not None:
        current = document.get("schedulingPolicyArn")
        if current is None:
            raise client_error(
                "A scheduling policy can't be added to a job queue that was created without one "
                "(FIFO job queue)."
            )
        if policy == "":
            raise client_error(
                "The scheduling policy of a fair-share job queue can be replaced but not removed."
            )
        _check_policy(connection, policy)
        updated["schedulingPolicyArn"] = policy
    updated["status"] = "UPDATING"
    updated["statusReason"] = "Update in progress"
    return updated


async def update(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateJobQueue: apply the change, go UPDATING, settle in the background."""
    reference = params["jobQueue"]

    def write(connection: Connection) -> dict[str, Any]:
        document = get(connection, reference)
        if document is None:
            raise client_error(f"JobQueue {reference} does not exist")
        updated = _apply_update(connection, document, params)
        records.replace(connection, table, document["jobQueueName"], updated)
        return updated

    updated = await runtime.store.write(write)
    publish(runtime.bus, JOB_QUEUE, "updated", updated)
    lifecycle.schedule(runtime, JOB_QUEUE, updated["jobQueueName"])
    return {"jobQueueName": updated["jobQueueName"], "jobQueueArn": updated["jobQueueArn"]}


async def delete(runtime: Runtime, params: dict[str, Any]) -> None:
    """DeleteJobQueue: only a DISABLED, settled queue can be deleted."""
    reference = params["jobQueue"]

    def write(connection: Connection) -> dict[str, Any]:
        document = get(connection, reference)
        if document is None:
            raise client_error(f"JobQueue {reference} does not exist")
        if document["status"] in TRANSITIONAL:
            raise client_error(compute_environments.BEING_MODIFIED)
        if document["state"] != "DISABLED":
            raise client_error(compute_environments.NOT_DISABLED)
        document["status"] = "DELETING"
        document["statusReason"] = "Delete in progress"
        records.replace(connection, table, document["jobQueueName"], document)
        return document

    document = await runtime.store.write(write)
    publish(runtime.bus, JOB_QUEUE, "updated", document)
    lifecycle.schedule(runtime, JOB_QUEUE, document["jobQueueName"])


async def describe(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeJobQueues: by names/ARNs or all, paginated, with tags."""
    references = params.get("jobQueues") or None
    if references is not None and len(references) > compute_environments.MAX_REFERENCES:
        raise client_error(
            f"jobQueues can contain at most {compute_environments.MAX_REFERENCES} entries."
        )
    size = page_size(params.get("maxResults"))
    after = decode_token("DescribeJobQueues", params.get("nextToken"))

    def read(connection: Connection) -> tuple[list[dict[str, Any]], str | None]:
        return records.describe_page(
            connection, table, "DescribeJobQueues", references, after, size, "jobQueueArn"
        )

    documents, token = await runtime.store.read(read)
    result: dict[str, Any] = {"jobQueues": documents}
    if token:
        result["nextToken"] = token
    return result


def _settle(connection: Connection, name: str) -> tuple[str, dict[str, Any]] | None:
    return lifecycle.settle_row(
        connection, table, name, "jobQueueArn", lambda _document: ("VALID", HEALTHY)
    )


def _pending(connection: Connection) -> list[str]:
    return [
        queue["jobQueueName"] for queue in list_all(connection) if queue["status"] in TRANSITIONAL
    ]


def _exists(connection: Connection, arn: str) -> bool:
    return records.find(connection, table, arn) is not None


lifecycle.register(JOB_QUEUE, _settle, _pending)
tags.register_taggable(JOB_QUEUE, _exists)
