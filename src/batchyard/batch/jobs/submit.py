"""SubmitJob: check a request against its queue and definition and build the job.

Precedence follows AWS: submit-time ``parameters`` (merged), ``retryStrategy``, ``timeout``,
``propagateTags`` and ``schedulingPriorityOverride`` replace the definition's;
``containerOverrides.command`` replaces the command, ``environment`` merges by name and
``resourceRequirements`` replace per type. ``Ref::name`` placeholders (a parameter name of
letters, digits, ``_`` and ``-``) are substituted into the command wherever they appear in an
argument, so DescribeJobs shows the command that runs; one naming no parameter is left as
written, as AWS does.

``arrayProperties.size`` is 2-10,000. ``dependsOn`` has at most 20 entries: a plain entry
names any existing job (an array parent means the whole array, ``<id>:<index>`` one child);
``N_TO_N`` names an array of the same size, child ``i`` waiting for child ``i``;
``SEQUENTIAL`` makes an array's children run one after the other (a jobId beside it is a
plain dependency of the array). Both typed forms belong to array jobs only.

The job definition's ``consumableResourceProperties`` list the consumable resources a job
needs; ``consumableResourcePropertiesOverride`` replaces the quantity of the resources it
names (and may add resources), never a resource's total.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject, copy_json
from batchyard.aws.lifecycle import Status
from batchyard.batch.errors import TAG_RULES, client_error, require_name
from batchyard.batch.jobs import nodes, records
from batchyard.batch.jobs.model import (
    N_TO_N,
    SEQUENTIAL,
    SUBMITTED,
    ArrayProperties,
    Dependency,
    Job,
)
from batchyard.batch.resources import consumable_resources, job_definitions, job_queues
from batchyard.batch.resources.definition_rules import (
    check_environment,
    check_resources,
    check_retry_strategy,
    check_timeout,
)
from batchyard.batch.resources.model import DefinitionStatus, JobDefinition, JobQueue, State
from batchyard.batch.resources.store import ResourceTags

MAX_SCHEDULING_PRIORITY = 9999
MIN_ARRAY_SIZE = 2
MAX_ARRAY_SIZE = 10_000
MAX_DEPENDENCIES = 20
MAX_CONSUMABLES_PER_JOB = 5
DEPRECATED_KEY_CONFLICT = (
    "This value was submitted using a deprecated key and may conflict with the value provided "
    "by the job definition's resource requirements."
)
# containerProperties members a job's ``container`` block carries over unchanged.
COPIED_CONTAINER_FIELDS = (
    "image",
    "jobRoleArn",
    "executionRoleArn",
    "volumes",
    "mountPoints",
    "readonlyRootFilesystem",
    "ulimits",
    "privileged",
    "user",
    "instanceType",
    "linuxParameters",
    "logConfiguration",
    "secrets",
    "networkConfiguration",
    "fargatePlatformConfiguration",
    "ephemeralStorage",
    "runtimePlatform",
    "repositoryCredentials",
    "enableExecuteCommand",
)
_PLACEHOLDER = re.compile(r"Ref::([A-Za-z0-9_-]+)")


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A SubmitJob request; the overrides are the JSON objects the client sent."""

    job_name: str
    job_queue: str
    job_definition: str
    share_identifier: str | None = None
    scheduling_priority_override: int | None = None
    array_size: int | None = None
    depends_on: list[Dependency] = field(default_factory=list)
    parameters: dict[str, str] | None = None
    container_overrides: JsonObject | None = None
    node_overrides: JsonObject | None = None
    retry_strategy: JsonObject | None = None
    propagate_tags: bool | None = None
    timeout: JsonObject | None = None
    tags: dict[str, str] | None = None
    eks_properties_override: JsonObject | None = None
    ecs_properties_override: JsonObject | None = None
    consumable_resource_properties_override: JsonObject | None = None

    @classmethod
    def from_input(cls, params: JsonObject) -> JobRequest:
        """The request of a SubmitJob input as botocore's model validated it (camelCase
        members): what the API, EventBridge targets and Step Functions tasks submit."""
        return cls(
            params["jobName"],
            params["jobQueue"],
            params["jobDefinition"],
            params.get("shareIdentifier"),
            params.get("schedulingPriorityOverride"),
            (params.get("arrayProperties") or {}).get("size"),
            [Dependency.of(entry) for entry in params.get("dependsOn") or ()],
            params.get("parameters"),
            params.get("containerOverrides"),
            params.get("nodeOverrides"),
            params.get("retryStrategy"),
            params.get("propagateTags"),
            params.get("timeout"),
            params.get("tags"),
            params.get("eksPropertiesOverride"),
            params.get("ecsPropertiesOverride"),
            params.get("consumableResourcePropertiesOverride"),
        )


class Sequencer:
    """Strictly increasing FIFO positions (microseconds since the epoch, bumped on ties)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """The next position."""
        self._last = max(time.time_ns() // 1000, self._last + 1)
        return self._last


def substitute(command: list[str], parameters: dict[str, str]) -> list[str]:
    """``command`` with every known ``Ref::name`` replaced by its parameter value."""

    def replace(match: re.Match[str]) -> str:
        return parameters.get(match.group(1), match.group(0))

    return [_PLACEHOLDER.sub(replace, argument) for argument in command]


def _resolve_queue(conn: Connection, caller: Caller, reference: str) -> JobQueue:
    queue = job_queues.get(conn, caller, reference)
    if queue is None or queue.status in (Status.DELETING, Status.DELETED):
        raise client_error(f"Job Queue {reference} does not exist.")
    if queue.state != State.ENABLED:
        raise client_error(f"Job Queue {reference} is not in ENABLED state.")
    if queue.status == Status.INVALID:
        raise client_error(f"Job Queue {reference} is in INVALID status.")
    return queue


def _resolve_definition(conn: Connection, caller: Caller, reference: str) -> JobDefinition:
    definition = job_definitions.resolve(conn, caller, reference)
    if definition is None:
        raise client_error(f"Job definition {reference} does not exist.")
    if definition.status != DefinitionStatus.ACTIVE:
        raise client_error(f"Job definition {reference} is INACTIVE.")
    if definition.type == "multinode":
        nodes.check_definition(definition, reference)
    elif definition.container_properties is None:
        raise client_error(
            "This server runs container jobs (containerProperties or multi-node) only; "
            f"job definition {reference} is not one."
        )
    return definition


def _check_unsupported(request: JobRequest) -> None:
    for given, member, what in (
        (request.eks_properties_override, "eksPropertiesOverride", "EKS jobs"),
        (request.ecs_properties_override, "ecsPropertiesOverride", "Multi-container ECS jobs"),
    ):
        if given:
            raise client_error(f"{what} ({member}) are not supported by this server yet.")


def _requirements(
    properties: JsonObject, overrides: JsonObject
) -> tuple[list[dict[str, str]], dict[str, int]]:
    """Merged resourceRequirements and the legacy vcpus/memory values that still apply."""
    merged = {r["type"]: r["value"] for r in properties.get("resourceRequirements") or []}
    legacy = {k: properties[k] for k in ("vcpus", "memory") if properties.get(k) is not None}
    for key, kind in (("vcpus", "VCPU"), ("memory", "MEMORY")):
        if overrides.get(key) is None:
            continue
        if kind in merged:
            raise client_error(DEPRECATED_KEY_CONFLICT)
        legacy[key] = overrides[key]
    for requirement in overrides.get("resourceRequirements") or []:
        merged[requirement["type"]] = requirement["value"]
    for key, kind in (("vcpus", "VCPU"), ("memory", "MEMORY")):
        if kind in merged:
            legacy.pop(key, None)
    return [{"type": k, "value": v} for k, v in merged.items()], legacy


def _container(
    properties: JsonObject, overrides: JsonObject, parameters: dict[str, str], fargate: bool
) -> JsonObject:
    container = {
        k: copy.deepcopy(properties[k]) for k in COPIED_CONTAINER_FIELDS if k in properties
    }
    command = overrides.get("command")
    if command is not None and any(argument == "" for argument in command):
        raise client_error("Container override command cannot contain empty strings.")
    container["command"] = substitute(
        list(command if command is not None else properties.get("command") or []), parameters
    )
    environment = {e["name"]: e.get("value", "") for e in properties.get("environment") or []}
    override_environment = overrides.get("environment") or []
    check_environment(override_environment, "containerOverrides.environment")
    environment.update({e["name"]: e.get("value", "") for e in override_environment})
    container["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
    requirements, legacy = _requirements(properties, overrides)
    container["resourceRequirements"] = requirements
    container.update(legacy)
    # The overrides go through the definition's rules, so the job's demand is always a number.
    check_resources(container, fargate=fargate, required=False)
    if overrides.get("instanceType"):
        container["instanceType"] = overrides["instanceType"]
    return container


def _node_container(
    properties: JsonObject, overrides: JsonObject, parameters: dict[str, str]
) -> JsonObject:
    return _container(properties, overrides, parameters, fargate=False)


def _check_sharing(queue: JobQueue, request: JobRequest) -> None:
    share = request.share_identifier
    if queue.scheduling_policy_arn and not share:
        raise client_error("Share identifier is required for job queues with a scheduling policy.")
    if not queue.scheduling_policy_arn and share:
        raise client_error(
            "Share identifier is not supported for job queues without a scheduling policy."
        )
    priority = request.scheduling_priority_override
    if priority is not None and not 0 <= priority <= MAX_SCHEDULING_PRIORITY:
        raise client_error(
            f"schedulingPriorityOverride must be between 0 and {MAX_SCHEDULING_PRIORITY}."
        )


def _array_size(request: JobRequest) -> int | None:
    size = request.array_size
    if size is not None and not MIN_ARRAY_SIZE <= size <= MAX_ARRAY_SIZE:
        raise client_error(
            f"Array size must be between {MIN_ARRAY_SIZE} and {MAX_ARRAY_SIZE}; got {size}."
        )
    return size


def _check_dependencies(
    conn: Connection, caller: Caller, dependencies: list[Dependency], array_size: int | None
) -> None:
    """Refuse a ``dependsOn`` list AWS would refuse (ClientException)."""
    if len(dependencies) > MAX_DEPENDENCIES:
        raise client_error(f"A job can depend on at most {MAX_DEPENDENCIES} jobs.")
    for dependency in dependencies:
        kind, job_id = dependency.type, dependency.job_id
        if kind in (N_TO_N, SEQUENTIAL) and array_size is None:
            raise client_error(f"{kind} dependencies can only be used by array jobs.")
        if not job_id:
            if kind != SEQUENTIAL:
                raise client_error(
                    "dependsOn entries need a jobId, except SEQUENTIAL entries of array jobs."
                )
            continue
        found = records.load_many(conn, [job_id], caller).get(job_id)
        if found is None:
            raise client_error(f"Dependent job {job_id} does not exist.")
        if kind == N_TO_N and found.array_size != array_size:
            raise client_error(
                f"An N_TO_N dependency needs an array job of the same size ({array_size}); "
                f"job {job_id} is not one."
            )


def _consumables(
    conn: Connection, caller: Caller, definition: JobDefinition, request: JobRequest
) -> JsonObject | None:
    """The job's ``consumableResourceProperties``, None when it needs none."""
    listed = (definition.consumable_resource_properties or {}).get("consumableResourceList")
    merged: dict[str, JsonObject] = {
        _resource_name(item["consumableResource"]): dict(item) for item in listed or ()
    }
    override = (request.consumable_resource_properties_override or {}).get(
        "consumableResourceList"
    )
    for item in override or ():
        reference = item.get("consumableResource")
        if not reference:
            raise client_error("consumableResourceList entries must name a consumableResource.")
        merged[_resource_name(reference)] = {
            "consumableResource": reference,
            "quantity": item.get("quantity"),
        }
    if not merged:
        return None
    if len(merged) > MAX_CONSUMABLES_PER_JOB:
        raise client_error(
            f"A job can require at most {MAX_CONSUMABLES_PER_JOB} consumable resources."
        )
    for name, item in merged.items():
        if item.get("quantity") is None or item["quantity"] < 1:
            raise client_error("consumableResourceList quantity must be at least 1.")
        if consumable_resources.find(conn, caller, item["consumableResource"]) is None:
            raise client_error(f"Consumable resource {name} does not exist.")
    return {"consumableResourceList": list(merged.values())}


def _resource_name(reference: str) -> str:
    return reference.rsplit("/", 1)[-1]


def build(
    conn: Connection,
    caller: Caller,
    request: JobRequest,
    sequencer: Sequencer,
    job_id: str | None = None,
) -> Job:
    """Validate a SubmitJob request on ``conn`` and build the job (``job_id`` when given, a
    fresh one otherwise); raises ClientException. Its FIFO position is taken last, so a job
    holds its place in its queue from its ``createdAt`` on."""
    require_name(request.job_name, "Job name")
    _check_unsupported(request)
    queue = _resolve_queue(conn, caller, request.job_queue)
    definition = _resolve_definition(conn, caller, request.job_definition)
    _check_sharing(queue, request)
    size = _array_size(request)
    _check_dependencies(conn, caller, request.depends_on, size)
    if request.retry_strategy is not None:
        check_retry_strategy(request.retry_strategy)
    if request.timeout is not None:
        check_timeout(request.timeout)
    job_id = job_id or str(uuid.uuid4())
    job_arn = caller.arn("batch", f"job/{job_id}")
    TAG_RULES.check(job_arn, request.tags or {})
    parameters = {**definition.parameters, **(request.parameters or {})}
    job = Job(
        job_id,
        job_arn,
        request.job_name,
        queue.arn,
        definition.arn,
        SUBMITTED,
        int(time.time() * 1000),
        caller.account_id,
        caller.region,
        0,
        depends_on=[Dependency(d.job_id, d.type) for d in request.depends_on],
        parameters=parameters,
        tags=dict(request.tags or {}),
        propagate_tags=bool(
            request.propagate_tags
            if request.propagate_tags is not None
            else definition.propagate_tags
        ),
        platform_capabilities=list(definition.platform_capabilities or ["EC2"]),
    )
    if definition.type == "multinode":
        job.node_properties = nodes.node_properties(
            definition.node_properties or {},
            request.node_overrides or {},
            parameters,
            _node_container,
        )
    elif request.node_overrides:
        raise client_error("nodeOverrides can only be used with multi-node parallel jobs.")
    else:
        job.container = _container(
            definition.container_properties or {},
            request.container_overrides or {},
            parameters,
            "FARGATE" in (definition.platform_capabilities or ()),
        )
    if size is not None:
        if job.node_properties is not None:
            raise client_error("Array jobs can't be multi-node parallel jobs.")
        job.array_properties = ArrayProperties(size)
    retry = request.retry_strategy
    if retry is None:
        retry = definition.retry_strategy
    if retry is not None:
        job.retry_strategy = copy_json(retry)
    timeout = request.timeout if request.timeout is not None else definition.timeout
    if timeout is not None:
        job.timeout = copy_json(timeout)
    if request.scheduling_priority_override is not None:
        job.scheduling_priority = request.scheduling_priority_override
    else:
        job.scheduling_priority = definition.scheduling_priority
    if request.share_identifier:
        job.share_identifier = request.share_identifier
    job.consumable_resource_properties = _consumables(conn, caller, definition, request)
    job.seq = sequencer.next()
    return job


def store(conn: Connection, job: Job, tags: ResourceTags) -> None:
    """Insert ``job``, what it asks of consumable resources, and its tags."""
    records.insert(conn, job, nodes.demand_of(job))
    listed = (job.consumable_resource_properties or {}).get("consumableResourceList")
    if listed:
        needs = [(_resource_name(i["consumableResource"]), int(i["quantity"])) for i in listed]
        records.add_demands(conn, job, needs)
    tags.add(conn, job.job_arn, job.tags)
