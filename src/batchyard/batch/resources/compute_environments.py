"""Compute environments: Create / Describe / Update / Delete and lookups for the scheduler.

Public lookups (``connection`` is a SQLAlchemy Connection, e.g. inside ``store.read``):

- ``get(connection, reference)`` -> the stored document (Describe shape, without tags) of the
  environment named or ARN'd by ``reference``, or None.
- ``get_many(connection, references)`` -> documents of several environments, in creation order.

A document holds ``computeEnvironmentName``, ``computeEnvironmentArn``, ``type``, ``state``,
``status``, ``statusReason``, ``computeResources`` (managed; AWS defaults filled in),
``unmanagedvCpus`` (unmanaged) and the rest of the Describe fields.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sqlalchemy import Connection

from batchyard.batch.resources import compute_environment_rules as rules
from batchyard.batch.resources import lifecycle, records, tags
from batchyard.batch.resources.events import publish
from batchyard.batch.resources.names import COMPUTE_ENVIRONMENT, client_error, require_name
from batchyard.batch.resources.pagination import decode_token, page_size
from batchyard.runtime import Runtime
from batchyard.store.tables.batch_resources import compute_environments as table
from batchyard.store.tables.batch_resources import job_queues as queue_table

ALREADY_EXISTS = "Object already exists"
BEING_MODIFIED = "Cannot delete, resource is being modified"
NOT_DISABLED = "Cannot delete, resource is not in DISABLED state"
HAS_QUEUES = "Cannot delete, found existing JobQueue relationship"
MAX_REFERENCES = 100
TRANSITIONAL = lifecycle.TRANSITIONAL


def get(connection: Connection, reference: str) -> dict[str, Any] | None:
    """The environment named or ARN'd by ``reference`` (Describe shape, no tags), or None."""
    return records.find(connection, table, reference)


def get_many(connection: Connection, references: list[str]) -> list[dict[str, Any]]:
    """The environments named or ARN'd by ``references`` that exist, in creation order."""
    return [document for _, document in records.find_many(connection, table, references)]


def queues_using(connection: Connection, arn: str) -> list[dict[str, Any]]:
    """Job queue documents whose ``computeEnvironmentOrder`` names environment ``arn``."""
    return [
        queue
        for queue in records.all_documents(connection, queue_table)
        if any(entry["computeEnvironment"] == arn for entry in queue["computeEnvironmentOrder"])
    ]


def _service_role(runtime: Runtime, given: str | None) -> str:
    if given:
        return given
    account = runtime.settings.account_id
    return (
        f"arn:aws:iam::{account}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
    )


def _new_document(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    name = params["computeEnvironmentName"]
    settings = runtime.settings
    eks = params.get("eksConfiguration")
    document: dict[str, Any] = {
        "computeEnvironmentName": name,
        "computeEnvironmentArn": runtime.arn("batch", f"{COMPUTE_ENVIRONMENT}/{name}"),
        "type": params["type"],
        "state": params.get("state", "ENABLED"),
        "status": "CREATING",
        "statusReason": "Creation in progress",
        "serviceRole": _service_role(runtime, params.get("serviceRole")),
        "containerOrchestrationType": "EKS" if eks else "ECS",
        "uuid": str(uuid.uuid4()),
    }
    if not eks:
        document["ecsClusterArn"] = (
            f"arn:aws:ecs:{settings.region}:{settings.account_id}:cluster/"
            f"{name}_Batch_{document['uuid']}"
        )
    else:
        document["eksConfiguration"] = copy.deepcopy(eks)
    if params["type"] == "MANAGED":
        document["computeResources"] = rules.with_defaults(
            params["computeResources"], eks=bool(eks)
        )
        document["updatePolicy"] = {
            "terminateJobsOnUpdate": False,
            "jobExecutionTimeoutMinutes": rules.DEFAULT_JOB_EXECUTION_TIMEOUT_MINUTES,
        }
    elif params.get("unmanagedvCpus") is not None:
        document["unmanagedvCpus"] = params["unmanagedvCpus"]
    for optional in ("context", "ecsSettings"):
        if params.get(optional) is not None:
            document[optional] = copy.deepcopy(params[optional])
    return document


async def create(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """CreateComputeEnvironment: validate, store as CREATING, settle in the background."""
    name = require_name(params["computeEnvironmentName"], "Compute environment name")
    rules.check_new(params)
    new_tags = params.get("tags") or {}
    tags.validate_tags(new_tags)
    document = _new_document(runtime, params)
    arn = document["computeEnvironmentArn"]

    def write(connection: Connection) -> None:
        if records.exists(connection, table, name):
            raise client_error(ALREADY_EXISTS)
        records.add(connection, table, name, arn, document)
        tags.add_tags(connection, arn, new_tags)

    await runtime.store.write(write)
    publish(runtime.bus, COMPUTE_ENVIRONMENT, "created", document)
    lifecycle.schedule(runtime, COMPUTE_ENVIRONMENT, name)
    return {"computeEnvironmentName": name, "computeEnvironmentArn": arn}


def _apply_update(document: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(document)
    if document["status"] in ("DELETING", "DELETED"):
        raise client_error(f"{document['computeEnvironmentName']} is being deleted")
    managed = document["type"] == "MANAGED"
    if params.get("computeResources") is not None:
        if not managed:
            raise client_error(
                "computeResources can't be updated for an UNMANAGED compute environment."
            )
        merged, infrastructure = rules.merge_update(
            document["computeResources"], params["computeResources"]
        )
        rules.check_resources(merged, eks=bool(document.get("eksConfiguration")))
        service_role = params.get("serviceRole", document.get("serviceRole"))
        if infrastructure and merged["type"] not in rules.FARGATE_TYPES:
            rules.check_infrastructure_update(merged, service_role)
        tags.validate_tags(merged.get("tags") or {})
        updated["computeResources"] = merged
    if params.get("unmanagedvCpus") is not None:
        if managed:
            raise client_error(
                "unmanagedvCpus can only be specified for an UNMANAGED compute environment."
            )
        if params["unmanagedvCpus"] < 0:
            raise client_error("unmanagedvCpus must be greater than or equal to 0.")
        updated["unmanagedvCpus"] = params["unmanagedvCpus"]
    if params.get("updatePolicy") is not None:
        if not managed:
            raise client_error(
                "updatePolicy can only be specified for a MANAGED compute environment."
            )
        updated["updatePolicy"] = {**document.get("updatePolicy", {}), **params["updatePolicy"]}
    for field in ("state", "serviceRole", "context"):
        if params.get(field) is not None:
            updated[field] = params[field]
    if params.get("ecsSettings") is not None:
        updated["ecsSettings"] = copy.deepcopy(params["ecsSettings"])
    if params.get("eksConfiguration") is not None:
        if not document.get("eksConfiguration"):
            raise client_error(
                "eksConfiguration can only be updated on an Amazon EKS compute environment."
            )
        updated["eksConfiguration"] = {**document["eksConfiguration"], **params["eksConfiguration"]}
    updated["status"] = "UPDATING"
    updated["statusReason"] = "Update in progress"
    return updated


async def update(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateComputeEnvironment: merge the change, go UPDATING, settle in the background."""
    reference = params["computeEnvironment"]

    def write(connection: Connection) -> dict[str, Any]:
        document = get(connection, reference)
        if document is None:
            raise client_error(f"ComputeEnvironment {reference} does not exist")
        updated = _apply_update(document, params)
        records.replace(connection, table, document["computeEnvironmentName"], updated)
        return updated

    updated = await runtime.store.write(write)
    publish(runtime.bus, COMPUTE_ENVIRONMENT, "updated", updated)
    lifecycle.schedule(runtime, COMPUTE_ENVIRONMENT, updated["computeEnvironmentName"])
    return {
        "computeEnvironmentName": updated["computeEnvironmentName"],
        "computeEnvironmentArn": updated["computeEnvironmentArn"],
    }


async def delete(runtime: Runtime, params: dict[str, Any]) -> None:
    """DeleteComputeEnvironment: only DISABLED, settled and detached environments go."""
    reference = params["computeEnvironment"]

    def write(connection: Connection) -> dict[str, Any]:
        document = get(connection, reference)
        if document is None:
            raise client_error(f"ComputeEnvironment {reference} does not exist")
        if document["status"] in TRANSITIONAL:
            raise client_error(BEING_MODIFIED)
        if document["state"] != "DISABLED":
            raise client_error(NOT_DISABLED)
        if queues_using(connection, document["computeEnvironmentArn"]):
            raise client_error(HAS_QUEUES)
        document["status"] = "DELETING"
        document["statusReason"] = "Delete in progress"
        records.replace(connection, table, document["computeEnvironmentName"], document)
        return document

    document = await runtime.store.write(write)
    publish(runtime.bus, COMPUTE_ENVIRONMENT, "updated", document)
    lifecycle.schedule(runtime, COMPUTE_ENVIRONMENT, document["computeEnvironmentName"])


async def describe(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeComputeEnvironments: by names/ARNs or all, paginated, with tags."""
    references = params.get("computeEnvironments") or None
    if references is not None and len(references) > MAX_REFERENCES:
        raise client_error(f"computeEnvironments can contain at most {MAX_REFERENCES} entries.")
    size = page_size(params.get("maxResults"))
    after = decode_token("DescribeComputeEnvironments", params.get("nextToken"))

    def read(connection: Connection) -> tuple[list[dict[str, Any]], str | None]:
        return records.describe_page(
            connection,
            table,
            "DescribeComputeEnvironments",
            references,
            after,
            size,
            "computeEnvironmentArn",
        )

    documents, token = await runtime.store.read(read)
    result: dict[str, Any] = {"computeEnvironments": documents}
    if token:
        result["nextToken"] = token
    return result


def _settle(connection: Connection, name: str) -> tuple[str, dict[str, Any]] | None:
    return lifecycle.settle_row(connection, table, name, "computeEnvironmentArn", rules.health)


def _pending(connection: Connection) -> list[str]:
    return [
        document["computeEnvironmentName"]
        for document in records.all_documents(connection, table)
        if document["status"] in TRANSITIONAL
    ]


def _exists(connection: Connection, arn: str) -> bool:
    document = records.find(connection, table, arn)
    return document is not None and document["status"] != "DELETED"


lifecycle.register(COMPUTE_ENVIRONMENT, _settle, _pending)
tags.register_taggable(COMPUTE_ENVIRONMENT, _exists)
