"""Multi-node parallel jobs: one job ``<id>`` run as ``numNodes`` node jobs ``<id>#<n>``.

The job is placed as one demand, the sum of its nodes', so either every node starts or none
does. All nodes run on this host, so the main node's address is 127.0.0.1; nodes are not
single-tenant here. A submission resolves each node's container (overrides applied,
``Ref::`` substituted) into the job's ``nodeProperties``, one range per run of nodes
configured alike.
"""

from __future__ import annotations

from collections.abc import Callable

from batchyard.aws.documents import JsonObject, copy_json
from batchyard.batch.errors import client_error
from batchyard.batch.jobs.model import Attempt, Demand, Job, NodeDetails, node_id
from batchyard.batch.resources.definition_rules import (
    MAX_NODES,
    node_range_for,
    parse_target_nodes,
)
from batchyard.batch.resources.model import JobDefinition

# Builds a node's container from (node range container, containerOverrides, parameters).
ContainerBuilder = Callable[[JsonObject, JsonObject, dict[str, str]], JsonObject]


def check_definition(definition: JobDefinition, reference: str) -> None:
    """Refuse multinode definitions this server cannot run (node ranges without a container)."""
    ranges = (definition.node_properties or {}).get("nodeRangeProperties") or []
    if any(r.get("container") is None for r in ranges):
        raise client_error(
            "This server runs multi-node node ranges with a container only; "
            f"job definition {reference} has other node ranges."
        )


def _narrowest(ranges: list[JsonObject], count: int, index: int) -> JsonObject | None:
    best: tuple[int, JsonObject] | None = None
    for entry in ranges:
        start, end = parse_target_nodes(entry["targetNodes"], count)
        if start <= index <= end and (best is None or end - start < best[0]):
            best = (end - start, entry)
    return best[1] if best else None


def node_properties(
    defined: JsonObject,
    overrides: JsonObject,
    parameters: dict[str, str],
    build: ContainerBuilder,
) -> JsonObject:
    """The job's ``nodeProperties`` from the definition's and the submission's
    ``nodeOverrides``."""
    count = overrides.get("numNodes") or defined["numNodes"]
    if not 1 <= count <= MAX_NODES:
        raise client_error(f"numNodes must be between 1 and {MAX_NODES}.")
    if not 0 <= defined["mainNode"] < count:
        raise client_error("The main node must be less than numNodes.")
    resized = {**defined, "numNodes": count}
    node_overrides = overrides.get("nodePropertyOverrides") or []
    ranges: list[JsonObject] = []
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


def container_of(properties: JsonObject, index: int) -> JsonObject:
    """The resolved container of node ``index``."""
    entry = node_range_for(properties, index)
    assert entry is not None, index
    container: JsonObject = entry["container"]
    return container


def demand_of(job: Job) -> Demand:
    """What placing the job reserves: its container's demand, or all its nodes' together."""
    if not job.is_multinode:
        return Demand.of(job.container)
    properties = job.node_properties or {}
    demands = [Demand.of(container_of(properties, i)) for i in range(properties["numNodes"])]
    return Demand(
        vcpus=sum(d.vcpus for d in demands),
        memory=sum(d.memory for d in demands),
        gpus=sum(d.gpus for d in demands),
        nodes=len(demands),
    )


def node_count(job: Job) -> int:
    """How many nodes the multi-node job runs."""
    return int((job.node_properties or {})["numNodes"])


def main_node(job: Job) -> int:
    """The index of the job's main node."""
    return int((job.node_properties or {})["mainNode"])


def node_job(job: Job, index: int, attempts: list[Attempt]) -> Job:
    """Node ``index`` of ``job`` about to start an attempt (``attempts`` are its earlier ones).

    A node has no retry strategy or timeout of its own: both belong to the whole job.
    """
    properties = job.node_properties or {}
    return job.member(
        node_id(job.job_id, index),
        node_id(job.job_arn, index),
        job.status,
        attempts=attempts,
        parameters=copy_json(job.parameters),
        propagate_tags=job.propagate_tags,
        platform_capabilities=list(job.platform_capabilities),
        container=copy_json(container_of(properties, index)),
        node_details=NodeDetails(index, index == properties["mainNode"]),
        node_properties=copy_json(properties),
        scheduling_priority=job.scheduling_priority,
        share_identifier=job.share_identifier,
        consumable_resource_properties=copy_json(job.consumable_resource_properties),
        is_cancelled=job.is_cancelled,
        is_terminated=job.is_terminated,
    )
