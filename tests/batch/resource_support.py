"""Helpers for the Batch resource tests: unique names and ready-made resources."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import wait_for


def unique(prefix: str) -> str:
    """A resource name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ec2_resources(**overrides: Any) -> dict[str, Any]:
    """A minimal valid EC2 ``computeResources`` block."""
    return {
        "type": "EC2", "minvCpus": 0, "maxvCpus": 16, "subnets": ["subnet-1"],
        "instanceRole": "ecsInstanceRole", **overrides,
    }


def fargate_resources(**overrides: Any) -> dict[str, Any]:
    """A minimal valid FARGATE ``computeResources`` block."""
    return {"type": "FARGATE", "maxvCpus": 16, "subnets": ["subnet-1"], **overrides}


def describe_ce(batch: Any, name: str) -> dict[str, Any] | None:
    """The compute environment ``name`` as Describe shows it, None when gone."""
    found = batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]
    return found[0] if found else None


def describe_queue(batch: Any, name: str) -> dict[str, Any] | None:
    """The job queue ``name`` as Describe shows it, None when gone."""
    found = batch.describe_job_queues(jobQueues=[name])["jobQueues"]
    return found[0] if found else None


def wait_ce_status(batch: Any, name: str, status: str, timeout: float = 10) -> dict[str, Any]:
    """Wait until compute environment ``name`` reports ``status``."""
    return wait_for(
        lambda: (ce := describe_ce(batch, name)) and ce["status"] == status and ce,
        timeout=timeout,
        what=f"compute environment {name} {status}",
    )


def wait_queue_status(batch: Any, name: str, status: str) -> dict[str, Any]:
    """Wait until job queue ``name`` reports ``status``."""
    return wait_for(
        lambda: (queue := describe_queue(batch, name)) and queue["status"] == status and queue,
        timeout=10,
        what=f"job queue {name} {status}",
    )


def make_ce(
    batch: Any, name: str | None = None, status: str = "VALID", timeout: float = 10, **params: Any
) -> str:
    """Create a compute environment (EC2 by default), wait up to ``timeout`` s until it is
    ``status`` (VALID unless told), return its name."""
    name = name or unique("ce")
    params.setdefault("type", "MANAGED")
    if params["type"] == "MANAGED":
        params.setdefault("computeResources", ec2_resources())
    batch.create_compute_environment(computeEnvironmentName=name, **params)
    wait_ce_status(batch, name, status, timeout)
    return name


def make_queue(batch: Any, environments: list[str], name: str | None = None, **params: Any) -> str:
    """Create a job queue on ``environments`` (in order), wait until VALID, return its name."""
    name = name or unique("jq")
    params.setdefault("priority", 1)
    order = [{"order": i + 1, "computeEnvironment": ce} for i, ce in enumerate(environments)]
    batch.create_job_queue(jobQueueName=name, computeEnvironmentOrder=order, **params)
    wait_queue_status(batch, name, "VALID")
    return name


def client_error(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call and expect a ClientException; returns its error document (Code, Message)."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == "ClientException", error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error


def snapshot(batch: Any) -> dict[str, Any]:
    """Everything the resource API shows, without request metadata."""
    policies = batch.list_scheduling_policies()["schedulingPolicies"]
    listed = {
        "computeEnvironments": batch.describe_compute_environments()["computeEnvironments"],
        "jobQueues": batch.describe_job_queues()["jobQueues"],
        "jobDefinitions": batch.describe_job_definitions()["jobDefinitions"],
        "schedulingPolicies": batch.describe_scheduling_policies(arns=[p["arn"] for p in policies])[
            "schedulingPolicies"
        ],
    }
    arns = [ce["computeEnvironmentArn"] for ce in listed["computeEnvironments"]]
    arns += [queue["jobQueueArn"] for queue in listed["jobQueues"]]
    arns += [d["jobDefinitionArn"] for d in listed["jobDefinitions"]]
    arns += [p["arn"] for p in listed["schedulingPolicies"]]
    listed["tags"] = {arn: batch.list_tags_for_resource(resourceArn=arn)["tags"] for arn in arns}
    return listed

# A settled environment of a server without a container engine says where its attempts run.
LOCAL_HEALTHY = "ComputeEnvironment Healthy; each attempt runs as a local process on this host"
