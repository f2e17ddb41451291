"""What an attempt runs with: its command, environment, limits and log destination."""

from __future__ import annotations

from typing import Any

from batchyard.batch.jobs.model import Demand
from batchyard.compute.provider import AttemptSpec

DEFAULT_LOG_GROUP = "/aws/batch/job"
# AWS keeps the first 200 characters of the definition name in the stream name.
STREAM_PREFIX_LIMIT = 200


def definition_name(document: dict[str, Any]) -> str:
    """The job definition's name, from its ARN."""
    return str(document["jobDefinition"]).rsplit("/", 1)[-1].rsplit(":", 1)[0]


def log_target(document: dict[str, Any], attempt_id: str) -> tuple[str, str]:
    """(log group, log stream) of an attempt: ``<definition>/default/<attempt id>`` in
    ``/aws/batch/job`` unless the awslogs options of the job say otherwise."""
    configuration = (document.get("container") or {}).get("logConfiguration") or {}
    options = (
        configuration.get("options") or {} if configuration.get("logDriver") == "awslogs" else {}
    )
    group = options.get("awslogs-group") or DEFAULT_LOG_GROUP
    prefix = options.get("awslogs-stream-prefix") or definition_name(document)[:STREAM_PREFIX_LIMIT]
    return group, f"{prefix}/default/{attempt_id}"


def member_environment(document: dict[str, Any]) -> dict[str, str]:
    """The variables of an array child (its index, the array's size) or of a multi-node
    node (its index, the node count, the main node and, on other nodes, its address)."""
    array = document.get("arrayProperties") or {}
    if "index" in array:
        return {
            "AWS_BATCH_JOB_ARRAY_INDEX": str(array["index"]),
            "AWS_BATCH_JOB_ARRAY_SIZE": str(array["size"]),
        }
    node = document.get("nodeDetails") or {}
    if "nodeIndex" not in node:
        return {}
    nodes = document["nodeProperties"]
    found = {
        "AWS_BATCH_JOB_NODE_INDEX": str(node["nodeIndex"]),
        "AWS_BATCH_JOB_NUM_NODES": str(nodes["numNodes"]),
        "AWS_BATCH_JOB_MAIN_NODE_INDEX": str(nodes["mainNode"]),
    }
    if not node.get("isMainNode"):
        # Every node runs on this host, so the main node is reached on the loopback address.
        found["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = "127.0.0.1"
    return found


def attempt_spec(
    document: dict[str, Any], attempt_id: str, queue_name: str, environment_name: str
) -> AttemptSpec:
    """The provider-facing description of the next attempt of ``document``."""
    container = document.get("container") or {}
    demand = Demand.of(container)
    environment = {e["name"]: e.get("value", "") for e in container.get("environment") or []}
    environment.update(
        {
            "AWS_BATCH_JOB_ID": document["jobId"],
            "AWS_BATCH_JOB_ATTEMPT": str(len(document.get("attempts") or []) + 1),
            "AWS_BATCH_JQ_NAME": queue_name,
            "AWS_BATCH_CE_NAME": environment_name,
        }
    )
    environment.update(member_environment(document))
    return AttemptSpec(
        attempt_id=attempt_id,
        job_id=document["jobId"],
        command=list(container.get("command") or []),
        environment=environment,
        vcpus=demand.vcpus,
        memory_mib=demand.memory or None,
        gpus=demand.gpus,
        image=container.get("image"),
    )
