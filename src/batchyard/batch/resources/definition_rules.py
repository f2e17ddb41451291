"""What AWS accepts in RegisterJobDefinition beyond the model's shapes, and in the overrides
of SubmitJob.

``check_registration(definition)`` raises ``ClientException`` for the first broken rule;
``check_container`` covers ``containerProperties`` (single-node and per node range): resource
requirements (VCPU / MEMORY / GPU and the deprecated ``vcpus`` / ``memory``), the reserved
``AWS_BATCH`` environment prefix, volumes and mount points, Linux parameters and the Fargate
restrictions. ``node_range_for(node_properties, index)`` tells which node range configures a
node (the narrowest range containing it wins, as AWS does for nested ranges).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from batchyard.batch.errors import client_error
from batchyard.batch.resources.model import JobDefinition

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

RESERVED_ENV_PREFIX = "AWS_BATCH"
MIN_MEMORY_MIB = 4
MAX_IMAGE = 255
MAX_VOLUME_NAME = 255
MAX_ROOT_DIRECTORY = 4096
FARGATE_LOG_DRIVERS = ("awslogs", "splunk")
# Fargate vCPU -> allowed memory (MiB) values.
FARGATE_MEMORY: dict[Decimal, tuple[int, ...]] = {
    Decimal("0.25"): (512, 1024, 2048),
    Decimal("0.5"): tuple(range(1024, 4097, 1024)),
    Decimal("1"): tuple(range(2048, 8193, 1024)),
    Decimal("2"): tuple(range(4096, 16385, 1024)),
    Decimal("4"): tuple(range(8192, 30721, 1024)),
    Decimal("8"): tuple(range(16384, 61441, 4096)),
    Decimal("16"): tuple(range(32768, 122881, 8192)),
}
_VOLUME_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_INTEGER = re.compile(r"\d+")


def check_environment(variables: list[dict[str, Any]], where: str = "environment") -> None:
    """Names are required and must not start with the reserved ``AWS_BATCH`` prefix."""
    for variable in variables:
        name = variable.get("name")
        if not name:
            raise client_error(f"{where} variable names must not be empty.")
        if name.startswith(RESERVED_ENV_PREFIX):
            raise client_error(
                f"Environment variable name {name} is invalid: names that start with "
                f"{RESERVED_ENV_PREFIX} are reserved for variables that are set by AWS Batch."
            )


def _number(value: str, what: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise client_error(f"Invalid {what} resource requirement value: {value}") from None
    if not number.is_finite():
        raise client_error(f"Invalid {what} resource requirement value: {value}")
    return number


def resource_values(container: dict[str, Any]) -> dict[str, str]:
    """The container's VCPU / MEMORY / GPU requirements by type; duplicates are refused."""
    values: dict[str, str] = {}
    for requirement in container.get("resourceRequirements") or []:
        kind = requirement["type"]
        if kind in values:
            raise client_error(f"resourceRequirements contains more than one {kind} requirement.")
        values[kind] = requirement["value"]
    return values


def check_resources(container: dict[str, Any], *, fargate: bool, required: bool) -> None:
    """Resource requirement rules; ``required`` demands VCPU and MEMORY (Fargate)."""
    values = resource_values(container)
    legacy_vcpus, legacy_memory = container.get("vcpus"), container.get("memory")
    if fargate and (legacy_vcpus is not None or legacy_memory is not None):
        raise client_error(
            "The vcpus and memory parameters are deprecated and not supported for Fargate; "
            "use resourceRequirements with VCPU and MEMORY."
        )
    if legacy_vcpus is not None and "VCPU" in values:
        raise client_error("vcpus and a VCPU resourceRequirement can't both be specified.")
    if legacy_memory is not None and "MEMORY" in values:
        raise client_error("memory and a MEMORY resourceRequirement can't both be specified.")
    if legacy_vcpus is not None and legacy_vcpus < 1:
        raise client_error("vcpus must be at least 1.")
    if legacy_memory is not None and legacy_memory < MIN_MEMORY_MIB:
        raise client_error(f"memory must be at least {MIN_MEMORY_MIB} MiB.")
    vcpu = _number(values["VCPU"], "VCPU") if "VCPU" in values else None
    memory = None
    if "MEMORY" in values:
        if not _INTEGER.fullmatch(values["MEMORY"].strip()):
            raise client_error(f"Invalid MEMORY resource requirement value: {values['MEMORY']}")
        memory = int(values["MEMORY"])
        if memory < MIN_MEMORY_MIB:
            raise client_error(f"MEMORY must be at least {MIN_MEMORY_MIB} MiB.")
    if "GPU" in values:
        if fargate:
            raise client_error("GPU resource requirements aren't supported for Fargate.")
        if not _INTEGER.fullmatch(values["GPU"].strip()) or int(values["GPU"]) < 1:
            raise client_error(f"Invalid GPU resource requirement value: {values['GPU']}")
    if fargate:
        if required and (vcpu is None or memory is None):
            raise client_error(
                "Fargate job definitions must specify VCPU and MEMORY in resourceRequirements."
            )
        if vcpu is not None and vcpu not in FARGATE_MEMORY:
            raise client_error(
                f"Invalid VCPU value {values['VCPU']} for Fargate. Valid values are 0.25, 0.5, "
                "1, 2, 4, 8 and 16."
            )
        if vcpu is not None and memory is not None and memory not in FARGATE_MEMORY[vcpu]:
            raise client_error(
                f"Invalid MEMORY value {memory} for {values['VCPU']} VCPU on Fargate."
            )
    elif vcpu is not None and (vcpu < 1 or vcpu != vcpu.to_integral_value()):
        raise client_error(
            f"Invalid VCPU value {values['VCPU']}: VCPU must be a whole number of at least 1 on "
            "EC2 resources."
        )


def _check_volumes(container: dict[str, Any], *, fargate: bool) -> None:
    names: set[str] = set()
    for volume in container.get("volumes") or []:
        name = volume.get("name")
        if name is None or not _VOLUME_NAME.fullmatch(name):
            raise client_error(
                "Volume names must be 1-255 characters long and can contain letters, numbers, "
                "hyphens (-), and underscores (_)."
            )
        if name in names:
            raise client_error(f"Volume name {name} is used more than once.")
        names.add(name)
        if fargate and volume.get("host") is not None:
            raise client_error("Host volumes aren't supported for Fargate.")
        efs = volume.get("efsVolumeConfiguration")
        if efs is not None:
            _check_efs(efs)
    for mount in container.get("mountPoints") or []:
        source = mount.get("sourceVolume")
        if source not in names:
            raise client_error(
                f"mountPoints sourceVolume {source} doesn't match the name of a volume."
            )


def _check_efs(efs: dict[str, Any]) -> None:
    root = efs.get("rootDirectory")
    if root is not None and len(root) > MAX_ROOT_DIRECTORY:
        raise client_error(f"rootDirectory can be up to {MAX_ROOT_DIRECTORY} characters long.")
    port = efs.get("transitEncryptionPort")
    if port is not None and not 0 <= port <= 65535:
        raise client_error("transitEncryptionPort must be between 0 and 65535.")
    authorization = efs.get("authorizationConfig") or {}
    encrypted = efs.get("transitEncryption") == "ENABLED"
    if authorization.get("accessPointId"):
        if root not in (None, "/"):
            raise client_error(
                "rootDirectory must be omitted or set to / when an EFS access point is used."
            )
        if not encrypted:
            raise client_error(
                "transitEncryption must be ENABLED when an EFS access point is used."
            )
    if authorization.get("iam") == "ENABLED" and not encrypted:
        raise client_error("transitEncryption must be ENABLED when EFS IAM authorization is used.")


def _check_linux(parameters: dict[str, Any], *, fargate: bool) -> None:
    if fargate:
        given = [
            n
            for n in ("devices", "maxSwap", "sharedMemorySize", "swappiness", "tmpfs")
            if parameters.get(n) is not None
        ]
        if given:
            raise client_error(f"linuxParameters {', '.join(given)} aren't supported for Fargate.")
    swappiness = parameters.get("swappiness")
    if swappiness is not None and not 0 <= swappiness <= 100:
        raise client_error("swappiness must be between 0 and 100.")
    if parameters.get("maxSwap") is not None and parameters["maxSwap"] < 0:
        raise client_error("maxSwap must be greater than or equal to 0.")
    if parameters.get("sharedMemorySize") is not None and parameters["sharedMemorySize"] < 1:
        raise client_error("sharedMemorySize must be greater than 0.")
    for mount in parameters.get("tmpfs") or []:
        if not mount["containerPath"].startswith("/"):
            raise client_error("tmpfs containerPath must be an absolute path.")
        if mount["size"] < 1:
            raise client_error("tmpfs size must be greater than 0.")


# Fargate's ephemeral storage, in GiB (20 GiB when not given).
MIN_EPHEMERAL_GIB, MAX_EPHEMERAL_GIB = 21, 200
OPERATING_SYSTEM_FAMILIES = (
    "LINUX",
    "WINDOWS_SERVER_2019_CORE",
    "WINDOWS_SERVER_2019_FULL",
    "WINDOWS_SERVER_2022_CORE",
    "WINDOWS_SERVER_2022_FULL",
)
CPU_ARCHITECTURES = ("X86_64", "ARM64")
WINDOWS_FORBIDDEN = (
    "linuxParameters",
    "privileged",
    "user",
    "ulimits",
    "readonlyRootFilesystem",
    "efsVolumeConfiguration",
)


def check_container(container: dict[str, Any], *, fargate: bool, node_range: bool = False) -> None:
    """All ``containerProperties`` rules for one container."""
    image = container.get("image")
    if not image:
        raise client_error("containerProperties.image must be specified.")
    if len(image) > MAX_IMAGE:
        raise client_error(f"containerProperties.image can be up to {MAX_IMAGE} characters long.")
    check_resources(container, fargate=fargate, required=fargate)
    check_environment(container.get("environment") or [])
    _check_volumes(container, fargate=fargate)
    if container.get("linuxParameters") is not None:
        _check_linux(container["linuxParameters"], fargate=fargate)
    if container.get("instanceType") is not None and not node_range:
        raise client_error(
            "instanceType can only be specified for multi-node parallel job definitions."
        )
    log = container.get("logConfiguration")
    if fargate:
        if not container.get("executionRoleArn"):
            raise client_error("Fargate job definitions require an executionRoleArn.")
        if container.get("privileged"):
            raise client_error("privileged isn't supported for Fargate job definitions.")
        if container.get("ulimits"):
            raise client_error("ulimits aren't supported for Fargate job definitions.")
        if log is not None and log["logDriver"] not in FARGATE_LOG_DRIVERS:
            raise client_error(
                f"Log driver {log['logDriver']} isn't supported for Fargate; use awslogs or splunk."
            )
    else:
        for fargate_only in (
            "networkConfiguration",
            "fargatePlatformConfiguration",
            "ephemeralStorage",
        ):
            if container.get(fargate_only) is not None:
                raise client_error(
                    f"{fargate_only} can only be specified for Fargate job definitions."
                )
    version = (container.get("fargatePlatformConfiguration") or {}).get("platformVersion")
    if version is not None and version not in ("LATEST", "1.3.0", "1.4.0"):
        raise client_error(f"Invalid Fargate platformVersion {version}.")
    storage = (container.get("ephemeralStorage") or {}).get("sizeInGiB")
    if storage is not None and not MIN_EPHEMERAL_GIB <= storage <= MAX_EPHEMERAL_GIB:
        raise client_error(
            f"ephemeralStorage.sizeInGiB must be between {MIN_EPHEMERAL_GIB} and "
            f"{MAX_EPHEMERAL_GIB}."
        )
    if container.get("runtimePlatform") is not None:
        _check_runtime_platform(container)


def _check_runtime_platform(container: dict[str, Any]) -> None:
    """``runtimePlatform``: the values AWS lists; Windows only on X86_64 and without the
    parameters Windows containers cannot have."""
    platform = container["runtimePlatform"]
    family = platform.get("operatingSystemFamily") or "LINUX"
    architecture = platform.get("cpuArchitecture") or "X86_64"
    if family not in OPERATING_SYSTEM_FAMILIES:
        raise client_error(
            f"Invalid runtimePlatform.operatingSystemFamily {family}: valid values are "
            f"{', '.join(OPERATING_SYSTEM_FAMILIES)}."
        )
    if architecture not in CPU_ARCHITECTURES:
        raise client_error(
            f"Invalid runtimePlatform.cpuArchitecture {architecture}: valid values are "
            f"{', '.join(CPU_ARCHITECTURES)}."
        )
    if family == "LINUX":
        return
    if architecture != "X86_64":
        raise client_error("runtimePlatform.cpuArchitecture must be X86_64 for Windows containers.")
    volumes = container.get("volumes") or []
    for field in WINDOWS_FORBIDDEN:
        present = (
            any(v.get("efsVolumeConfiguration") for v in volumes)
            if field == "efsVolumeConfiguration"
            else container.get(field) not in (None, False, [], {})
        )
        if present:
            raise client_error(f"{field} can't be set for Windows containers.")


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
    spans: list[tuple[int, int]] = []
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
    covered: set[int] = set()
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


def check_registration(definition: JobDefinition) -> None:
    """Every RegisterJobDefinition rule beyond the request's shape (``definition`` as
    given, before AWS's defaults)."""
    capabilities = definition.platform_capabilities or []
    fargate = "FARGATE" in capabilities
    eks = definition.eks_properties is not None
    if len(capabilities) > 1:
        raise client_error("platformCapabilities can contain only one value: EC2 or FARGATE.")
    if eks and (capabilities or definition.propagate_tags is not None):
        raise client_error(
            "platformCapabilities and propagateTags can't be specified for Amazon EKS job "
            "definitions."
        )
    bodies = [
        member
        for member, body in (
            ("containerProperties", definition.container_properties),
            ("ecsProperties", definition.ecs_properties),
            ("eksProperties", definition.eks_properties),
        )
        if body is not None
    ]
    if definition.type == "container":
        if definition.node_properties is not None:
            raise client_error(
                "nodeProperties can only be specified for multinode job definitions."
            )
        if len(bodies) != 1:
            raise client_error(
                "A container job definition must specify exactly one of containerProperties, "
                "ecsProperties and eksProperties."
            )
    else:
        if definition.node_properties is None:
            raise client_error("nodeProperties must be specified for multinode job definitions.")
        if bodies:
            raise client_error(
                f"{bodies[0]} can't be specified at the top level of a multinode job definition."
            )
        _check_node_properties(definition.node_properties, fargate=fargate)
    if definition.container_properties is not None:
        check_container(definition.container_properties, fargate=fargate)
    if definition.ecs_properties is not None:
        _check_ecs(definition.ecs_properties, fargate=fargate)
    if definition.eks_properties is not None:
        _check_eks(definition.eks_properties)
    if definition.retry_strategy is not None:
        check_retry_strategy(definition.retry_strategy)
    if definition.timeout is not None:
        check_timeout(definition.timeout)
    priority = definition.scheduling_priority
    if priority is not None and not 0 <= priority <= MAX_SCHEDULING_PRIORITY:
        raise client_error(f"schedulingPriority must be between 0 and {MAX_SCHEDULING_PRIORITY}.")
    consumables = (definition.consumable_resource_properties or {}).get(
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
