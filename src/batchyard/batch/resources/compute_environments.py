"""Compute environments: what Create / Update / Delete / Describe do in the store, and the
lookups the scheduler and the job queues need.

Every function runs on a store connection (inside ``store.read`` or ``store.write``); the
facade commits, announces and settles. Status settles asynchronously: CREATING and UPDATING
become VALID (or INVALID, when a role cannot work), DELETING removes the row.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.aws.lifecycle import TRANSITIONAL, Status
from batchyard.batch.errors import TAG_RULES, client_error, require_name
from batchyard.batch.resources import environment_rules as rules
from batchyard.batch.resources import store
from batchyard.batch.resources.model import COMPUTE_ENVIRONMENT, ComputeEnvironment, State
from batchyard.batch.resources.store import ResourceTags
from batchyard.store.tables.batch_resources import compute_environments as table
from batchyard.store.tables.batch_resources import job_queues as queue_table

ALREADY_EXISTS = "Object already exists"
HAS_QUEUES = "Cannot delete, found existing JobQueue relationship"
KIND = store.Kind(table, "computeEnvironments", ComputeEnvironment.from_document)


@dataclass(frozen=True, slots=True)
class NewComputeEnvironment:
    """A CreateComputeEnvironment request."""

    name: str
    type: str
    state: str = State.ENABLED
    compute_resources: JsonObject | None = None
    unmanaged_vcpus: int | None = None
    service_role: str | None = None
    eks_configuration: JsonObject | None = None
    context: str | None = None
    ecs_settings: JsonObject | None = None
    tags: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class EnvironmentChange:
    """An UpdateComputeEnvironment request: what is not None changes."""

    state: str | None = None
    unmanaged_vcpus: int | None = None
    compute_resources: JsonObject | None = None
    service_role: str | None = None
    update_policy: JsonObject | None = None
    context: str | None = None
    ecs_settings: JsonObject | None = None
    eks_configuration: JsonObject | None = None


def get(connection: Connection, caller: Caller, reference: str) -> ComputeEnvironment | None:
    """The environment named or ARN'd by ``reference``, or None."""
    document = store.find(connection, table, caller, reference)
    return ComputeEnvironment.from_document(document) if document is not None else None


def get_many(
    connection: Connection, caller: Caller | None, references: list[str]
) -> list[ComputeEnvironment]:
    """The environments named or ARN'd by ``references`` that exist, in creation order."""
    return [
        ComputeEnvironment.from_document(document)
        for _, document in store.find_many(connection, table, caller, references)
    ]


def _require(connection: Connection, caller: Caller, reference: str) -> ComputeEnvironment:
    environment = get(connection, caller, reference)
    if environment is None:
        raise client_error(f"ComputeEnvironment {reference} does not exist")
    return environment


def _service_role(caller: Caller, given: str | None) -> str:
    if given:
        return given
    return (
        f"arn:aws:iam::{caller.account_id}:role/aws-service-role/batch.amazonaws.com/"
        "AWSServiceRoleForBatch"
    )


def new(caller: Caller, request: NewComputeEnvironment) -> ComputeEnvironment:
    """The environment a CreateComputeEnvironment request makes, CREATING; raises
    ClientException for a request AWS refuses."""
    name = require_name(request.name, "Compute environment name")
    eks = request.eks_configuration
    rules.check_new(request.type, request.compute_resources, request.unmanaged_vcpus, bool(eks))
    arn = caller.arn("batch", f"{COMPUTE_ENVIRONMENT}/{name}")
    TAG_RULES.check(arn, request.tags or {})
    identifier = str(uuid.uuid4())
    environment = ComputeEnvironment(
        name,
        arn,
        request.type,
        State(request.state),
        Status.CREATING,
        "Creation in progress",
        _service_role(caller, request.service_role),
        "EKS" if eks else "ECS",
        identifier,
        context=request.context,
        ecs_settings=copy.deepcopy(request.ecs_settings),
    )
    if eks:
        environment.eks_configuration = copy.deepcopy(eks)
    else:
        environment.ecs_cluster_arn = caller.arn("ecs", f"cluster/{name}_Batch_{identifier}")
    if environment.managed:
        assert request.compute_resources is not None
        environment.compute_resources = rules.with_defaults(
            request.compute_resources, eks=bool(eks)
        )
        environment.update_policy = {
            "terminateJobsOnUpdate": False,
            "jobExecutionTimeoutMinutes": rules.DEFAULT_JOB_EXECUTION_TIMEOUT_MINUTES,
        }
    else:
        environment.unmanaged_vcpus = request.unmanaged_vcpus
    return environment


def insert(
    connection: Connection,
    caller: Caller,
    environment: ComputeEnvironment,
    tags: ResourceTags,
    new_tags: dict[str, str],
) -> ComputeEnvironment:
    """Store a new environment and its tags; refused when the name is taken."""
    if store.exists(connection, table, caller, environment.name):
        raise client_error(ALREADY_EXISTS)
    store.add(
        connection, table, caller, environment.name, environment.arn, environment.to_document()
    )
    tags.add(connection, environment.arn, new_tags)
    return environment


def _apply(environment: ComputeEnvironment, change: EnvironmentChange) -> ComputeEnvironment:
    if environment.status in (Status.DELETING, Status.DELETED):
        raise client_error(f"{environment.name} is being deleted")
    updated = copy.deepcopy(environment)
    if change.compute_resources is not None:
        if not environment.managed:
            raise client_error(
                "computeResources can't be updated for an UNMANAGED compute environment."
            )
        merged, infrastructure = rules.merge_update(
            environment.compute_resources or {}, change.compute_resources
        )
        rules.check_resources(merged, eks=bool(environment.eks_configuration))
        service_role = change.service_role or environment.service_role
        if infrastructure and merged["type"] not in rules.FARGATE_TYPES:
            rules.check_infrastructure_update(merged, service_role)
        TAG_RULES.check(environment.arn, merged.get("tags") or {})
        updated.compute_resources = merged
    if change.unmanaged_vcpus is not None:
        if environment.managed:
            raise client_error(
                "unmanagedvCpus can only be specified for an UNMANAGED compute environment."
            )
        if change.unmanaged_vcpus < 0:
            raise client_error("unmanagedvCpus must be greater than or equal to 0.")
        updated.unmanaged_vcpus = change.unmanaged_vcpus
    if change.update_policy is not None:
        if not environment.managed:
            raise client_error(
                "updatePolicy can only be specified for a MANAGED compute environment."
            )
        updated.update_policy = {**(environment.update_policy or {}), **change.update_policy}
    if change.state is not None:
        updated.state = State(change.state)
    if change.service_role is not None:
        updated.service_role = change.service_role
    if change.context is not None:
        updated.context = change.context
    if change.ecs_settings is not None:
        updated.ecs_settings = copy.deepcopy(change.ecs_settings)
    if change.eks_configuration is not None:
        if not environment.eks_configuration:
            raise client_error(
                "eksConfiguration can only be updated on an Amazon EKS compute environment."
            )
        updated.eks_configuration = {**environment.eks_configuration, **change.eks_configuration}
    updated.status = Status.UPDATING
    updated.status_reason = "Update in progress"
    return updated


def update(
    connection: Connection, caller: Caller, reference: str, change: EnvironmentChange
) -> ComputeEnvironment:
    """Merge ``change`` into the environment; it goes UPDATING."""
    environment = _require(connection, caller, reference)
    updated = _apply(environment, change)
    store.save(connection, table, updated)
    return updated


def _queues_using(connection: Connection, caller: Caller, arn: str) -> bool:
    return any(
        entry["computeEnvironment"] == arn
        for queue in store.all_documents(connection, queue_table, caller)
        for entry in queue["computeEnvironmentOrder"]
    )


def delete(connection: Connection, caller: Caller, reference: str) -> ComputeEnvironment:
    """Start deleting a DISABLED, settled environment no queue uses; it goes DELETING."""
    environment = _require(connection, caller, reference)
    # The status and state checks come first, as AWS makes them.
    settled = environment.status not in TRANSITIONAL and environment.state == State.DISABLED
    if settled and _queues_using(connection, caller, environment.arn):
        raise client_error(HAS_QUEUES)
    store.start_deleting(connection, table, environment)
    return environment


def pending(connection: Connection) -> list[str]:
    """ARNs of the environments a previous process left in a transitional status."""
    return store.pending(connection, table)


def exists(connection: Connection, caller: Caller, arn: str) -> bool:
    """Whether ``arn`` names an environment of the caller's that is not deleted."""
    environment = get(connection, caller, arn)
    return environment is not None and environment.status != Status.DELETED
