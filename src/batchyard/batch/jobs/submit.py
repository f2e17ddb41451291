"""SubmitJob: check a request against its queue and definition and build the job document.

Precedence follows AWS: submit-time ``parameters`` (merged), ``retryStrategy``, ``timeout``,
``propagateTags`` and ``schedulingPriorityOverride`` replace the definition's;
``containerOverrides.command`` replaces the command, ``environment`` merges by name and
``resourceRequirements`` replace per type. ``Ref::`` placeholders are substituted into the
command here, so DescribeJobs shows the command that runs.
"""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from batchyard.batch.arrays import submission as array_submission
from batchyard.batch.consumables import demands
from batchyard.batch.jobs import records
from batchyard.batch.jobs.model import SUBMITTED, Demand
from batchyard.batch.jobs.parameters import substitute
from batchyard.batch.multinode import nodes
from batchyard.batch.resources import job_definitions, job_queues, tags
from batchyard.batch.resources.container_rules import check_environment, check_resources
from batchyard.batch.resources.job_definition_rules import check_retry_strategy, check_timeout
from batchyard.batch.resources.names import client_error, require_name

MAX_SCHEDULING_PRIORITY = 9999
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


@dataclass
class NewJob:
    """A job ready to be stored: its document, its FIFO position and its demand."""

    document: dict[str, Any]
    seq: int
    demand: Demand


class Sequencer:
    """Strictly increasing FIFO positions (microseconds since the epoch, bumped on ties)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """The next position."""
        self._last = max(time.time_ns() // 1000, self._last + 1)
        return self._last


def _resolve_queue(conn: Connection, reference: str) -> dict[str, Any]:
    queue = job_queues.get(conn, reference)
    if queue is None or queue.get("status") in ("DELETING", "DELETED"):
        raise client_error(f"Job Queue {reference} does not exist.")
    if queue["state"] != "ENABLED":
        raise client_error(f"Job Queue {reference} is not in ENABLED state.")
    if queue.get("status") == "INVALID":
        raise client_error(f"Job Queue {reference} is in INVALID status.")
    return queue


def _resolve_definition(conn: Connection, reference: str) -> dict[str, Any]:
    definition = job_definitions.resolve(conn, reference)
    if definition is None:
        raise client_error(f"Job definition {reference} does not exist.")
    if definition["status"] != "ACTIVE":
        raise client_error(f"Job definition {reference} is INACTIVE.")
    if definition["type"] == "multinode":
        nodes.check_definition(definition, reference)
    elif "containerProperties" not in definition:
        raise client_error(
            "This server runs container jobs (containerProperties or multi-node) only; "
            f"job definition {reference} is not one."
        )
    return definition


def _check_unsupported(params: dict[str, Any]) -> None:
    for member, what in (
        ("eksPropertiesOverride", "EKS jobs"),
        ("ecsPropertiesOverride", "Multi-container ECS jobs"),
    ):
        if params.get(member):
            raise client_error(f"{what} ({member}) are not supported by this server yet.")


def _requirements(
    properties: dict[str, Any], overrides: dict[str, Any]
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
    definition: dict[str, Any], params: dict[str, Any], parameters: dict[str, str]
) -> dict[str, Any]:
    properties = definition["containerProperties"]
    overrides = params.get("containerOverrides") or {}
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
    fargate = "FARGATE" in (definition.get("platformCapabilities") or [])
    check_resources(container, fargate=fargate, required=False)
    if overrides.get("instanceType"):
        container["instanceType"] = overrides["instanceType"]
    return container


def _check_sharing(queue: dict[str, Any], params: dict[str, Any]) -> None:
    share = params.get("shareIdentifier")
    if queue.get("schedulingPolicyArn") and not share:
        raise client_error("Share identifier is required for job queues with a scheduling policy.")
    if not queue.get("schedulingPolicyArn") and share:
        raise client_error(
            "Share identifier is not supported for job queues without a scheduling policy."
        )
    priority = params.get("schedulingPriorityOverride")
    if priority is not None and not 0 <= priority <= MAX_SCHEDULING_PRIORITY:
        raise client_error(
            f"schedulingPriorityOverride must be between 0 and {MAX_SCHEDULING_PRIORITY}."
        )


def _node_container(
    properties: dict[str, Any], overrides: dict[str, Any], parameters: dict[str, str]
) -> dict[str, Any]:
    return _container(
        {"containerProperties": properties}, {"containerOverrides": overrides}, parameters
    )


def _add_work(
    document: dict[str, Any],
    definition: dict[str, Any],
    params: dict[str, Any],
    parameters: dict[str, str],
) -> None:
    """The job's ``container``, or the ``nodeProperties`` of a multi-node job."""
    if definition["type"] == "multinode":
        document["nodeProperties"] = nodes.node_properties(
            definition, params, parameters, _node_container
        )
    elif params.get("nodeOverrides"):
        raise client_error("nodeOverrides can only be used with multi-node parallel jobs.")
    else:
        document["container"] = _container(definition, params, parameters)


def build(
    conn: Connection, params: dict[str, Any], *, arn_prefix: str, sequencer: Sequencer
) -> NewJob:
    """Validate a SubmitJob request on ``conn`` and build the job; raises ClientException."""
    require_name(params["jobName"], "Job name")
    _check_unsupported(params)
    queue = _resolve_queue(conn, params["jobQueue"])
    definition = _resolve_definition(conn, params["jobDefinition"])
    _check_sharing(queue, params)
    array = array_submission.array_properties(params)
    dependencies = params.get("dependsOn") or []
    array_submission.check_dependencies(conn, dependencies, array and array["size"])
    retry = params.get("retryStrategy", definition.get("retryStrategy"))
    if params.get("retryStrategy") is not None:
        check_retry_strategy(params["retryStrategy"])
    timeout = params.get("timeout", definition.get("timeout"))
    if params.get("timeout") is not None:
        check_timeout(params["timeout"])
    job_tags = params.get("tags") or {}
    tags.validate_tags(job_tags)
    parameters = {**(definition.get("parameters") or {}), **(params.get("parameters") or {})}
    job_id = str(uuid.uuid4())
    document: dict[str, Any] = {
        "jobArn": f"{arn_prefix}job/{job_id}",
        "jobName": params["jobName"],
        "jobId": job_id,
        "jobQueue": queue["jobQueueArn"],
        "status": SUBMITTED,
        "attempts": [],
        "createdAt": int(time.time() * 1000),
        "dependsOn": copy.deepcopy(dependencies),
        "jobDefinition": definition["jobDefinitionArn"],
        "parameters": parameters,
        "tags": dict(job_tags),
        "propagateTags": params.get("propagateTags", definition.get("propagateTags", False)),
        "platformCapabilities": definition.get("platformCapabilities") or ["EC2"],
    }
    _add_work(document, definition, params, parameters)
    if array is not None:
        if "nodeProperties" in document:
            raise client_error("Array jobs can't be multi-node parallel jobs.")
        document["arrayProperties"] = array
    if retry is not None:
        document["retryStrategy"] = copy.deepcopy(retry)
    if timeout is not None:
        document["timeout"] = copy.deepcopy(timeout)
    priority = params.get("schedulingPriorityOverride", definition.get("schedulingPriority"))
    if priority is not None:
        document["schedulingPriority"] = priority
    if params.get("shareIdentifier"):
        document["shareIdentifier"] = params["shareIdentifier"]
    consumables = demands.job_properties(conn, definition, params)
    if consumables is not None:
        document["consumableResourceProperties"] = consumables
    return NewJob(document, sequencer.next(), nodes.demand_of(document))


def store(conn: Connection, job: NewJob) -> None:
    """Insert ``job`` and its tags."""
    records.insert(conn, job.seq, job.document, job.demand)
    demands.record(conn, job.document, job.seq)
    if job.document["tags"]:
        tags.add_tags(conn, job.document["jobArn"], job.document["tags"])
