"""The AWS Batch API (rest-json): each operation's input, as botocore's model parsed and
checked it (camelCase members), handed to the :class:`Batch` facade.

:data:`RULES` are the API's rules without its operations (Batch's validation error, the
enums it takes in any case, its request size limits), for code that checks a Batch request
outside an HTTP request (a Step Functions task's SubmitJob).
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, TypeVar

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.batch.jobs.model import Job, JobStatus
from batchyard.batch.jobs.queries import Filters
from batchyard.batch.jobs.submit import JobRequest
from batchyard.batch.resources.compute_environments import (
    EnvironmentChange,
    NewComputeEnvironment,
)
from batchyard.batch.resources.job_queues import NewJobQueue, QueueChange
from batchyard.batch.resources.model import JobDefinition
from batchyard.batch.service import Batch
from batchyard.protocol.service import Params, ServiceApi

R = TypeVar("R")
# How CreateComputeEnvironment and UpdateComputeEnvironment name the members whose field
# names do not say it.
_ENVIRONMENT = {"name": "computeEnvironmentName", "unmanaged_vcpus": "unmanagedvCpus"}

RULES = ServiceApi(
    "batch",
    "ClientException",
    {},
    # The guide: evaluateOnExit's action "isn't case sensitive".
    case_insensitive_enums=frozenset({"RetryAction"}),
    body_limits={
        "SubmitJob": (30 * 1024, "SubmitJob request exceeds the maximum size of 30 KiB"),
        "RegisterJobDefinition": (
            24 * 1024,
            "RegisterJobDefinition request exceeds the maximum size of 24 KiB",
        ),
    },
)


def _filters(params: Params) -> Filters:
    return [
        (str(entry.get("name")), entry.get("values") or [])
        for entry in params.get("filters") or ()
    ]


# (field, member) pairs of each request class and renaming, worked out once.
_MEMBERS: dict[tuple[type[Any], tuple[tuple[str, str], ...]], tuple[tuple[str, str], ...]] = {}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _request(request: type[R], params: Params, **renamed: str) -> R:
    """``request`` from the members of ``params`` named as its fields are (camelCase), or as
    ``renamed`` says; absent members keep the field's default."""
    key = (request, tuple(renamed.items()))
    members = _MEMBERS.get(key)
    if members is None:
        members = _MEMBERS[key] = tuple(
            (field.name, renamed.get(field.name) or _camel(field.name))
            for field in fields(request)  # type: ignore[arg-type]  # request is a dataclass
        )
    return request(
        **{field: params[member] for field, member in members if params.get(member) is not None}
    )


def _vcpus(quantity: float) -> list[JsonObject]:
    return [{"capacityUnit": "vCPU", "quantity": quantity}]


async def _job_queue_snapshot(batch: Batch, caller: Caller, params: Params) -> JsonObject:
    snapshot = await batch.get_job_queue_snapshot(caller, params["jobQueue"])
    utilization: JsonObject = {
        "totalCapacityUsage": _vcpus(snapshot.vcpus_in_use),
        "lastUpdatedAt": snapshot.at,
    }
    if snapshot.active_shares is not None:
        utilization["fairshareUtilization"] = {
            "activeShareCount": snapshot.active_shares,
            "topCapacityUtilization": [
                {"shareIdentifier": share, "capacityUsage": _vcpus(vcpus)}
                for share, vcpus in snapshot.busiest_shares or ()
            ],
        }
    return {
        "frontOfQueue": {
            "jobs": [
                {"jobArn": arn, "earliestTimeAtPosition": since} for arn, since in snapshot.front
            ],
            "lastUpdatedAt": snapshot.at,
        },
        "queueUtilization": utilization,
    }


async def _describe_jobs(batch: Batch, caller: Caller, params: Params) -> JsonObject:
    jobs: list[Job] = await batch.describe_jobs(caller, params["jobs"])
    return {"jobs": [job.describe() for job in jobs]}


def api(batch: Batch) -> ServiceApi:
    """The Batch API served by ``batch``."""
    return replace(
        RULES,
        operations={
            "CreateComputeEnvironment": lambda c, p: batch.create_compute_environment(
                c, _request(NewComputeEnvironment, p, **_ENVIRONMENT)
            ),
            "UpdateComputeEnvironment": lambda c, p: batch.update_compute_environment(
                c, p["computeEnvironment"], _request(EnvironmentChange, p, **_ENVIRONMENT)
            ),
            "DeleteComputeEnvironment": lambda c, p: batch.delete_compute_environment(
                c, p["computeEnvironment"]
            ),
            "DescribeComputeEnvironments": lambda c, p: batch.describe_compute_environments(
                c, p.get("computeEnvironments") or None, p.get("maxResults"), p.get("nextToken")
            ),
            "CreateJobQueue": lambda c, p: batch.create_job_queue(
                c, _request(NewJobQueue, p, name="jobQueueName")
            ),
            "UpdateJobQueue": lambda c, p: batch.update_job_queue(
                c, p["jobQueue"], _request(QueueChange, p)
            ),
            "DeleteJobQueue": lambda c, p: batch.delete_job_queue(c, p["jobQueue"]),
            "DescribeJobQueues": lambda c, p: batch.describe_job_queues(
                c, p.get("jobQueues") or None, p.get("maxResults"), p.get("nextToken")
            ),
            "GetJobQueueSnapshot": lambda c, p: _job_queue_snapshot(batch, c, p),
            "RegisterJobDefinition": lambda c, p: batch.register_job_definition(
                c, _request(JobDefinition, p, name="jobDefinitionName")
            ),
            "DeregisterJobDefinition": lambda c, p: batch.deregister_job_definition(
                c, p["jobDefinition"]
            ),
            "DescribeJobDefinitions": lambda c, p: batch.describe_job_definitions(
                c,
                p.get("jobDefinitions") or None,
                p.get("jobDefinitionName"),
                p.get("status"),
                p.get("maxResults"),
                p.get("nextToken"),
            ),
            "CreateSchedulingPolicy": lambda c, p: batch.create_scheduling_policy(
                c, p["name"], p.get("fairsharePolicy"), p.get("quotaSharePolicy"), p.get("tags")
            ),
            "UpdateSchedulingPolicy": lambda c, p: batch.update_scheduling_policy(
                c, p["arn"], p.get("fairsharePolicy"), p.get("quotaSharePolicy")
            ),
            "DeleteSchedulingPolicy": lambda c, p: batch.delete_scheduling_policy(c, p["arn"]),
            "DescribeSchedulingPolicies": lambda c, p: batch.describe_scheduling_policies(
                c, p["arns"]
            ),
            "ListSchedulingPolicies": lambda c, p: batch.list_scheduling_policies(
                c, p.get("maxResults"), p.get("nextToken")
            ),
            "CreateConsumableResource": lambda c, p: batch.create_consumable_resource(
                c,
                p["consumableResourceName"],
                p.get("resourceType"),
                p.get("totalQuantity"),
                p.get("tags"),
            ),
            "DescribeConsumableResource": lambda c, p: batch.describe_consumable_resource(
                c, p["consumableResource"]
            ),
            "ListConsumableResources": lambda c, p: batch.list_consumable_resources(
                c, _filters(p), p.get("maxResults"), p.get("nextToken")
            ),
            "UpdateConsumableResource": lambda c, p: batch.update_consumable_resource(
                c, p["consumableResource"], p.get("operation"), p.get("quantity"),
                p.get("clientToken"),
            ),
            "DeleteConsumableResource": lambda c, p: batch.delete_consumable_resource(
                c, p["consumableResource"]
            ),
            "ListJobsByConsumableResource": lambda c, p: batch.list_jobs_by_consumable_resource(
                c, p["consumableResource"], _filters(p), p.get("maxResults"), p.get("nextToken")
            ),
            "TagResource": lambda c, p: batch.tag_resource(c, p["resourceArn"], p["tags"]),
            "UntagResource": lambda c, p: batch.untag_resource(c, p["resourceArn"], p["tagKeys"]),
            "ListTagsForResource": lambda c, p: batch.list_tags_for_resource(
                c, p["resourceArn"]
            ),
            "SubmitJob": lambda c, p: batch.submit_job(c, JobRequest.from_input(p)),
            "DescribeJobs": lambda c, p: _describe_jobs(batch, c, p),
            "ListJobs": lambda c, p: batch.list_jobs(
                c,
                job_queue=p.get("jobQueue"),
                array_job_id=p.get("arrayJobId"),
                multi_node_job_id=p.get("multiNodeJobId"),
                job_status=JobStatus(p["jobStatus"]) if p.get("jobStatus") else None,
                filters=_filters(p),
                max_results=p.get("maxResults"),
                next_token=p.get("nextToken"),
            ),
            "CancelJob": lambda c, p: batch.cancel_job(c, p["jobId"], p["reason"]),
            "TerminateJob": lambda c, p: batch.terminate_job(c, p["jobId"], p["reason"]),
            "CancelJobs": lambda c, p: batch.cancel_jobs(c, p["jobs"], p["reason"]),
            "TerminateJobs": lambda c, p: batch.terminate_jobs(c, p["jobs"], p["reason"]),
        },
    )
