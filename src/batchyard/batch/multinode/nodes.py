"""Nodes of a multi-node parallel job: ids, the containers a submission resolves per node,
the demand of the whole job and the documents of its node jobs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from batchyard.batch.jobs.model import Demand
from batchyard.batch.resources.job_definition_rules import (
    MAX_NODES,
    node_range_for,
    parse_target_nodes,
)
from batchyard.batch.resources.names import client_error

SEPARATOR = "#"
# Members of the job's document a node does not inherit.
NOT_INHERITED = ("attempts", "dependsOn", "statusReason", "startedAt", "stoppedAt", "tags")

# Builds a node's container from (node range container, containerOverrides, parameters).
ContainerBuilder = Callable[[dict[str, Any], dict[str, Any], dict[str, str]], dict[str, Any]]


def node_id(job_id: str, index: int) -> str:
    """The id of node ``index`` of job ``job_id``."""
    return f"{job_id}{SEPARATOR}{index}"


def split(job_id: str) -> tuple[str, int] | None:
    """(job id, node index) of a node id, None for any other id."""
    job, separator, index = job_id.rpartition(SEPARATOR)
    if not separator or not job or not index.isdigit():
        return None
    return job, int(index)


def is_multinode(document: dict[str, Any]) -> bool:
    """Whether ``document`` is a whole multi-node job (not one of its nodes)."""
    return "nodeProperties" in document and "nodeDetails" not in document


def check_definition(definition: dict[str, Any], reference: str) -> None:
    """Refuse multinode definitions this server cannot run (node ranges without a container)."""
    ranges = definition["nodeProperties"]["nodeRangeProperties"]
    if any(r.get("container") is None for r in ranges):
        raise client_error(
            "This server runs multi-node node ranges with a container only; "
            f"job definition {reference} has other node ranges."
        )


def _narrowest(ranges: list[dict[str, Any]], count: int, index: int) -> dict[str, Any] | None:
    best: tuple[int, dict[str, Any]] | None = None
    for entry in ranges:
        start, end = parse_target_nodes(entry["targetNodes"], count)
        if start <= index <= end and (best is None or end - start < best[0]):
            best = (end - start, entry)
    return best[1] if best else None


def node_properties(
    definition: dict[str, Any],
    params: dict[str, Any],
    parameters: dict[str, str],
    build: ContainerBuilder,
) -> dict[str, Any]:
    """The job's ``nodeProperties``: node ranges with their containers resolved (overrides
    applied, ``Ref::`` substituted), one range per run of nodes configured alike."""
    defined = definition["nodeProperties"]
    overrides = params.get("nodeOverrides") or {}
    count = overrides.get("numNodes") or defined["numNodes"]
    if not 1 <= count <= MAX_NODES:
        raise client_error(f"numNodes must be between 1 and {MAX_NODES}.")
    if not 0 <= defined["mainNode"] < count:
        raise client_error("The main node must be less than numNodes.")
    resized = {**defined, "numNodes": count}
    node_overrides = overrides.get("nodePropertyOverrides") or []
    ranges: list[dict[str, Any]] = []
    for index in range(count):
        entry = node_range_for(resized, index)
        if entry is None:
            raise client_error(f"No node range of the job definition covers node {index}.")
        override = _narrowest(node_overrides, count, index) or {}
        container = build(entry["container"], override.get("containerOverrides") or {}, parameters)
        if ranges and ranges[-1]["container"] == container:
            start = ranges[-1]["targetNodes"].split(":")[0]
            ranges[-1]["targetNodes"] = f"{start}:{index}"
        else:
            ranges.append({"targetNodes": f"{index}:{index}", "container": container})
    return {"numNodes": count, "mainNode": defined["mainNode"], "nodeRangeProperties": ranges}


def container_of(properties: dict[str, Any], index: int) -> dict[str, Any]:
    """The resolved container of node ``index``."""
    entry = node_range_for(properties, index)
    assert entry is not None, index
    return entry["container"]


def demand_of(document: dict[str, Any]) -> Demand:
    """What placing the job reserves: its container's demand, or all its nodes' together."""
    if not is_multinode(document):
        return Demand.of(document.get("container") or {})
    properties = document["nodeProperties"]
    demands = [Demand.of(container_of(properties, i)) for i in range(properties["numNodes"])]
    return Demand(
        vcpus=sum(d.vcpus for d in demands),
        memory=sum(d.memory for d in demands),
        gpus=sum(d.gpus for d in demands),
    )


def node_document(job: dict[str, Any], index: int, attempts: list[Any]) -> dict[str, Any]:
    """Node ``index`` of ``job`` about to start an attempt (``attempts`` are its earlier ones).

    A node has no retry strategy or timeout of its own: both belong to the whole job.
    """
    properties = job["nodeProperties"]
    node = {
        k: copy.deepcopy(v)
        for k, v in job.items()
        if k not in NOT_INHERITED and k not in ("retryStrategy", "timeout")
    }
    node["jobId"] = node_id(job["jobId"], index)
    node["jobArn"] = node_id(job["jobArn"], index)
    node["nodeDetails"] = {"nodeIndex": index, "isMainNode": index == properties["mainNode"]}
    node["container"] = copy.deepcopy(container_of(properties, index))
    node["attempts"] = attempts
    node["tags"] = {}
    return node
