"""What AWS accepts in RegisterJobDefinition, beyond the model's shapes.

``check_registration(params)`` raises ``ClientException`` for the first broken rule;
``node_range_for(node_properties, index)`` tells which node range configures a node (the
narrowest range containing it wins, as AWS does for nested ranges).
"""

from __future__ import annotations

import re
from typing import Any

from batchyard.batch.resources.container_rules import (
    check_container,
    check_environment,
    check_resources,
)
from batchyard.batch.resources.names import client_error

MAX_ATTEMPTS = 10
MAX_EVALUATE_ON_EXIT = 5
MAX_PATTERN = 512
MIN_ATTEMPT_SECONDS = 60
MAX_SCHEDULING_PRIORITY = 9999
MAX_NODES = 1000
MAX_NODE_RANGES = 5
MAX_CONSUMABLE_RESOURCES = 5
MAX_ECS_CONTAINERS = 10
MAX_EKS_CONTAINERS = 10
RESERVED_LABEL_PREFIXES = ("kubernetes.io/", "k8s.io/", "batch.amazonaws.com/")

_EXIT_CODE = re.compile(r"\d*\*?")
_REASON = re.compile(r"[A-Za-z0-9.: \t]*\*?")
_TARGET_NODES = re.compile(r"(\d*):(\d*)")
_EKS_CPU = re.compile(r"\d+(?:\.\d+)?")
_EKS_MEMORY = re.compile(r"(\d+)Mi")


def check_retry_strategy(strategy: dict[str, Any]) -> None:
    """``attempts`` 1-10; ``evaluateOnExit`` at most 5 entries with valid patterns."""
    attempts = strategy.get("attempts")
    if attempts is not None and not 1 <= attempts <= MAX_ATTEMPTS:
        raise client_error(f"retryStrategy.attempts must be between 1 and {MAX_ATTEMPTS}.")
    conditions = strategy.get("evaluateOnExit") or []
    if len(conditions) > MAX_EVALUATE_ON_EXIT:
        raise client_error(
            f"retryStrategy.evaluateOnExit can contain at most {MAX_EVALUATE_ON_EXIT} entries."
        )
    if conditions and attempts is None:
        raise client_error(
            "retryStrategy.attempts must be specified when evaluateOnExit is specified."
        )
    for condition in conditions:
        for field, pattern, rule in (
            ("onExitCode", _EXIT_CODE, "can contain only numbers"),
            (
                "onReason",
                _REASON,
                "can contain only letters, numbers, periods (.), colons (:), and white space",
            ),
            (
                "onStatusReason",
                _REASON,
                "can contain only letters, numbers, periods (.), colons (:), and white space",
            ),
        ):
            value = condition.get(field)
            if value is None:
                continue
            if len(value) > MAX_PATTERN:
                raise client_error(
                    f"evaluateOnExit.{field} can be up to {MAX_PATTERN} characters long."
                )
            if not pattern.fullmatch(value):
                raise client_error(
                    f"Invalid evaluateOnExit.{field} {value}: it {rule}, and can optionally end "
                    "with an asterisk (*)."
                )


def check_timeout(timeout: dict[str, Any]) -> None:
    """``attemptDurationSeconds`` is at least 60 seconds."""
    seconds = timeout.get("attemptDurationSeconds")
    if seconds is not None and seconds < MIN_ATTEMPT_SECONDS:
        raise client_error(
            f"timeout.attemptDurationSeconds must be at least {MIN_ATTEMPT_SECONDS} seconds."
        )


def parse_target_nodes(text: str, num_nodes: int) -> tuple[int, int]:
    """The inclusive (start, end) of a ``targetNodes`` range such as ``0:3``, ``4:`` or ``:2``."""
    match = _TARGET_NODES.fullmatch(text)
    if match is None or text == ":":
        raise client_error(f"Invalid targetNodes {text}: use start:end, start: or :end.")
    start = int(match.group(1)) if match.group(1) else 0
    end = int(match.group(2)) if match.group(2) else num_nodes - 1
    if start > end or end >= num_nodes:
        raise client_error(f"targetNodes {text} is outside the job's nodes 0:{num_nodes - 1}.")
    return start, end


def node_range_for(node_properties: dict[str, Any], index: int) -> dict[str, Any] | None:
    """The node range that configures node ``index`` (narrowest containing range), or None."""
    best: tuple[int, dict[str, Any]] | None = None
    for node_range in node_properties["nodeRangeProperties"]:
        start, end = parse_target_nodes(node_range["targetNodes"], node_properties["numNodes"])
        if start <= index <= end and (best is None or end - start < best[0]):
            best = (end - start, node_range)
    return best[1] if best else None


def _check_node_properties(nodes: dict[str, Any], *, fargate: bool) -> None:
    if fargate:
        raise client_error("Multi-node parallel job definitions aren't supported on Fargate.")
    count = nodes["numNodes"]
    if not 1 <= count <= MAX_NODES:
        raise client_error(f"nodeProperties.numNodes must be between 1 and {MAX_NODES}.")
    if not 0 <= nodes["mainNode"] < count:
        raise client_error("nodeProperties.mainNode must be less than numNodes.")
    ranges = nodes["nodeRangeProperties"]
    if not 1 <= len(ranges) <= MAX_NODE_RANGES:
        raise client_error(
            f"nodeProperties.nodeRangeProperties must contain between 1 and {MAX_NODE_RANGES} "
            "node ranges."
        )
    spans = []
    for node_range in ranges:
        span = parse_target_nodes(node_range["targetNodes"], count)
        for other in spans:
            nested = (other[0] <= span[0] and span[1] <= other[1]) or (
                span[0] <= other[0] and other[1] <= span[1]
            )
            if span == other or (not nested and span[0] <= other[1] and other[0] <= span[1]):
                raise client_error(
                    f"targetNodes {node_range['targetNodes']} overlaps another node range; "
                    "node ranges may only be nested."
                )
        spans.append(span)
        bodies = [
            k
            for k in ("container", "ecsProperties", "eksProperties")
            if node_range.get(k) is not None
        ]
        if len(bodies) > 1:
            raise client_error(
                "A node range can specify only one of container, ecsProperties and eksProperties."
            )
        if node_range.get("container") is not None:
            check_container(node_range["container"], fargate=False, node_range=True)
        if node_range.get("ecsProperties") is not None:
            _check_ecs(node_range["ecsProperties"], fargate=False)
        if node_range.get("eksProperties") is not None:
            _check_eks(node_range["eksProperties"])
        if len(node_range.get("instanceTypes") or []) > 1:
            raise client_error("A node range's instanceTypes can contain only one instance type.")
    covered = set()
    for start, end in spans:
        covered.update(range(start, end + 1))
    if len(covered) != count:
        raise client_error(f"The node ranges must cover every node from 0 to {count - 1}.")


def _check_ecs(properties: dict[str, Any], *, fargate: bool) -> None:
    tasks = properties["taskProperties"]
    if len(tasks) != 1:
        raise client_error("ecsProperties.taskProperties must contain exactly one element.")
    containers = tasks[0]["containers"]
    if not 1 <= len(containers) <= MAX_ECS_CONTAINERS:
        raise client_error(
            f"taskProperties.containers must contain between 1 and {MAX_ECS_CONTAINERS} containers."
        )
    names = [container.get("name") for container in containers]
    if len(containers) > 1 and (None in names or len(set(names)) != len(names)):
        raise client_error(
            "Each container of a multi-container job definition needs a unique name."
        )
    if not any(container.get("essential", True) for container in containers):
        raise client_error("At least one container must be essential.")
    if fargate and not tasks[0].get("executionRoleArn"):
        raise client_error("Fargate job definitions require an executionRoleArn.")
    for container in containers:
        check_resources(container, fargate=fargate, required=False)
        check_environment(container.get("environment") or [])


def _check_eks(properties: dict[str, Any]) -> None:
    pod = properties.get("podProperties") or {}
    containers = pod.get("containers") or []
    if not 1 <= len(containers) <= MAX_EKS_CONTAINERS:
        raise client_error(
            f"podProperties.containers must contain between 1 and {MAX_EKS_CONTAINERS} containers."
        )
    if len(pod.get("initContainers") or []) > MAX_EKS_CONTAINERS:
        raise client_error(
            f"podProperties.initContainers can contain at most {MAX_EKS_CONTAINERS} containers."
        )
    for container in [*containers, *(pod.get("initContainers") or [])]:
        check_environment(container.get("env") or [], where="env")
        _check_eks_resources(container.get("resources") or {})
    metadata = pod.get("metadata") or {}
    for key in [*(metadata.get("labels") or {}), *(metadata.get("annotations") or {})]:
        if key.startswith(RESERVED_LABEL_PREFIXES):
            raise client_error(f"Pod metadata key {key} uses a reserved prefix.")


def _check_eks_resources(resources: dict[str, Any]) -> None:
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    for where in (limits, requests):
        cpu = where.get("cpu")
        if cpu is not None and (
            not _EKS_CPU.fullmatch(cpu) or float(cpu) < 0.25 or (float(cpu) * 4) % 1
        ):
            raise client_error(
                f"Invalid cpu value {cpu}: use a multiple of 0.25 that is at least 0.25."
            )
        memory = where.get("memory")
        if memory is not None:
            match = _EKS_MEMORY.fullmatch(memory)
            if match is None or int(match.group(1)) < 4:
                raise client_error(
                    f"Invalid memory value {memory}: use a whole number of at least 4 followed "
                    "by Mi."
                )
    if "memory" in limits and "memory" in requests and limits["memory"] != requests["memory"]:
        raise client_error("Memory requests must equal memory limits.")
    if (
        "nvidia.com/gpu" in limits
        and "nvidia.com/gpu" in requests
        and limits["nvidia.com/gpu"] != requests["nvidia.com/gpu"]
    ):
        raise client_error("GPU requests must equal GPU limits.")
    if "cpu" in limits and "cpu" in requests and float(requests["cpu"]) > float(limits["cpu"]):
        raise client_error("CPU requests must not be greater than CPU limits.")


def check_registration(params: dict[str, Any]) -> None:
    """Every RegisterJobDefinition rule beyond the request's shape."""
    kind = params["type"]
    capabilities = params.get("platformCapabilities") or []
    fargate = "FARGATE" in capabilities
    eks = params.get("eksProperties") is not None
    if len(capabilities) > 1:
        raise client_error("platformCapabilities can contain only one value: EC2 or FARGATE.")
    if eks and (capabilities or params.get("propagateTags") is not None):
        raise client_error(
            "platformCapabilities and propagateTags can't be specified for Amazon EKS job "
            "definitions."
        )
    bodies = [
        k
        for k in ("containerProperties", "ecsProperties", "eksProperties")
        if params.get(k) is not None
    ]
    if kind == "container":
        if params.get("nodeProperties") is not None:
            raise client_error(
                "nodeProperties can only be specified for multinode job definitions."
            )
        if len(bodies) != 1:
            raise client_error(
                "A container job definition must specify exactly one of containerProperties, "
                "ecsProperties and eksProperties."
            )
    else:
        if params.get("nodeProperties") is None:
            raise client_error("nodeProperties must be specified for multinode job definitions.")
        if bodies:
            raise client_error(
                f"{bodies[0]} can't be specified at the top level of a multinode job definition."
            )
        _check_node_properties(params["nodeProperties"], fargate=fargate)
    if params.get("containerProperties") is not None:
        check_container(params["containerProperties"], fargate=fargate)
    if params.get("ecsProperties") is not None:
        _check_ecs(params["ecsProperties"], fargate=fargate)
    if eks:
        _check_eks(params["eksProperties"])
    if params.get("retryStrategy") is not None:
        check_retry_strategy(params["retryStrategy"])
    if params.get("timeout") is not None:
        check_timeout(params["timeout"])
    priority = params.get("schedulingPriority")
    if priority is not None and not 0 <= priority <= MAX_SCHEDULING_PRIORITY:
        raise client_error(f"schedulingPriority must be between 0 and {MAX_SCHEDULING_PRIORITY}.")
    consumables = (params.get("consumableResourceProperties") or {}).get(
        "consumableResourceList"
    ) or []
    if len(consumables) > MAX_CONSUMABLE_RESOURCES:
        raise client_error(
            f"A job definition can require at most {MAX_CONSUMABLE_RESOURCES} consumable resources."
        )
    for requirement in consumables:
        if not requirement.get("consumableResource"):
            raise client_error("consumableResourceList entries must name a consumableResource.")
        if requirement.get("quantity") is None or requirement["quantity"] < 1:
            raise client_error("consumableResourceList quantity must be at least 1.")
