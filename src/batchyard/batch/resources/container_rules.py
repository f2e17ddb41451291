"""Validation of ``containerProperties`` (single-node and per node range) as AWS applies it.

Covers resource requirements (VCPU / MEMORY / GPU and the deprecated ``vcpus`` / ``memory``),
the reserved ``AWS_BATCH`` environment prefix, volumes and mount points, Linux parameters and
the Fargate restrictions. Every rule raises ``ClientException`` with AWS-style text.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from batchyard.batch.resources.names import client_error

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
