"""What AWS accepts in CreateComputeEnvironment / UpdateComputeEnvironment, as pure functions.

Synchronous rules raise ``ClientException``; things AWS only discovers later (a role that
cannot be assumed, an instance profile that is a role) are reported by ``health`` and turn
the environment INVALID asynchronously with a ``CLIENT_ERROR - ...`` status reason.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

import botocore.session
from botocore.model import StringShape

from batchyard.aws.documents import JsonObject
from batchyard.aws.lifecycle import Status
from batchyard.batch.errors import client_error
from batchyard.batch.resources.model import ComputeEnvironment

FARGATE_TYPES = frozenset({"FARGATE", "FARGATE_SPOT"})
EC2_TYPES = frozenset({"EC2", "SPOT"})
# What Batch picks for instanceTypes itself (the newest families of the architecture).
BATCH_INSTANCE_CHOICES = frozenset({"optimal", "default_x86_64", "default_arm64"})
SPOT_STRATEGIES = frozenset(
    {
        "SPOT_CAPACITY_OPTIMIZED",
        "SPOT_PRICE_CAPACITY_OPTIMIZED",
        "SPOT_CAPACITY_OPTIMIZED_PRIORITIZED",
    }
)
# Fields AWS rejects on Fargate compute resources (the guide's list).
FARGATE_FORBIDDEN = (
    "allocationStrategy",
    "bidPercentage",
    "desiredvCpus",
    "imageId",
    "instanceTypes",
    "ec2Configuration",
    "ec2KeyPair",
    "instanceRole",
    "launchTemplate",
    "minvCpus",
    "placementGroup",
    "spotIamFleetRole",
    "tags",
)
SCALING_FIELDS = frozenset({"minvCpus", "maxvCpus", "desiredvCpus", "scalingPolicy"})
FARGATE_SCALING_FIELDS = SCALING_FIELDS | {"subnets", "securityGroupIds"}
MAX_FARGATE_SUBNETS = 16
MAX_TEMPLATE_OVERRIDES = 10
MAX_EC2_CONFIGURATIONS = 2
DEFAULT_JOB_EXECUTION_TIMEOUT_MINUTES = 30
HEALTHY = "ComputeEnvironment Healthy"
SCALE_DOWN_MESSAGE = (
    "Manually scaling down compute environment is not supported. Disconnecting job queues "
    "from compute environment will cause it to scale-down to minvCpus."
)

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
_PROFILE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:instance-profile/[\w+=,.@/-]+")
_IAM_NAME = re.compile(r"[\w+=,.@/-]{1,512}")
# Graviton families: a generation digit followed by "g" (m6g, c7gn, r6gd ...), plus a1/t4g.
_ARM_FAMILY = re.compile(r"(?:[a-z]+\d+g[a-z]*|a1)(?:\..*)?")


def kind_of(environment: ComputeEnvironment) -> str:
    """The provisioning kind a job queue must not mix: ``EC2``, ``FARGATE``, ``EKS`` or
    ``ECS_MANAGED_INSTANCES`` (unmanaged ECS environments count as ``EC2``)."""
    if environment.eks_configuration:
        return "EKS"
    resource_type = (environment.compute_resources or {}).get("type")
    if resource_type in FARGATE_TYPES:
        return "FARGATE"
    if resource_type == "ECS_MANAGED_INSTANCES":
        return "ECS_MANAGED_INSTANCES"
    return "EC2"


@functools.cache
def known_instance_types() -> frozenset[str]:
    """What ``instanceTypes`` may name: EC2's instance types (from botocore's EC2 model),
    their families, and Batch's own choices."""
    model = botocore.session.get_session().get_service_model("ec2")
    shape = model.shape_for("InstanceType")
    assert isinstance(shape, StringShape)
    types = set(shape.enum)
    return frozenset(
        types | {name.partition(".")[0] for name in types} | BATCH_INSTANCE_CHOICES
    )


def architecture_of(instance_types: list[str]) -> set[str]:
    """The CPU architectures named by ``instance_types`` (``x86_64`` / ``arm64``)."""
    found: set[str] = set()
    for name in instance_types:
        if name in ("optimal", "default_x86_64"):
            found.add("x86_64")
        elif name == "default_arm64" or _ARM_FAMILY.fullmatch(name):
            found.add("arm64")
        else:
            found.add("x86_64")
    return found


def check_new(
    ce_type: str, resources: JsonObject | None, unmanaged_vcpus: int | None, eks: bool
) -> None:
    """Raise ClientException when a CreateComputeEnvironment request breaks AWS's rules."""
    if ce_type == "UNMANAGED":
        if resources is not None:
            raise client_error(
                "computeResources can't be specified for an UNMANAGED compute environment."
            )
        if not eks and (unmanaged_vcpus or 0) < 0:
            raise client_error("unmanagedvCpus must be greater than or equal to 0.")
        return
    if resources is None:
        raise client_error("computeResources must be specified for a MANAGED compute environment.")
    if unmanaged_vcpus is not None:
        raise client_error(
            "unmanagedvCpus can only be specified for an UNMANAGED compute environment."
        )
    if resources.get("type") in EC2_TYPES:
        # AWS's words; the defaults of the other fields do not cover these two.
        if not resources.get("instanceRole"):
            raise client_error("Instance role is required.")
        if resources.get("minvCpus") is None:
            raise client_error("Resource minvCpus is required.")
    check_resources(resources, eks=eks)


def check_resources(resources: dict[str, Any], *, eks: bool) -> None:
    """Validate a complete ``computeResources`` block (after defaults or an update merge)."""
    cr_type = resources["type"]
    if cr_type in FARGATE_TYPES:
        if eks:
            raise client_error(
                "Fargate compute resources are not supported with Amazon EKS compute environments."
            )
        given = [name for name in FARGATE_FORBIDDEN if resources.get(name) is not None]
        if given:
            raise client_error(
                "The following computeResources parameters aren't supported for Fargate "
                f"compute environments: {', '.join(given)}."
            )
        if len(resources.get("subnets") or []) > MAX_FARGATE_SUBNETS:
            raise client_error(
                f"Fargate compute resources can contain up to {MAX_FARGATE_SUBNETS} subnets."
            )
    if cr_type == "ECS_MANAGED_INSTANCES" and resources.get("managedInstancesProvider") is None:
        raise client_error(
            "managedInstancesProvider is required for ECS_MANAGED_INSTANCES compute resources."
        )
    if not resources.get("subnets") and cr_type != "ECS_MANAGED_INSTANCES":
        raise client_error("computeResources.subnets must contain at least one subnet.")
    _check_vcpus(resources)
    if cr_type in EC2_TYPES:
        _check_ec2(resources)


def _check_vcpus(resources: dict[str, Any]) -> None:
    low = resources.get("minvCpus", 0)
    high = resources["maxvCpus"]
    desired = resources.get("desiredvCpus", low)
    if low < 0:
        raise client_error("minvCpus must be greater than or equal to 0.")
    if high < 0:
        raise client_error("maxvCpus must be greater than or equal to 0.")
    if low > high:
        raise client_error("minvCpus must be less than or equal to maxvCpus.")
    if not low <= desired <= high:
        raise client_error("desiredvCpus must be between minvCpus and maxvCpus.")


def _check_ec2(resources: dict[str, Any]) -> None:
    strategy = resources.get("allocationStrategy", "BEST_FIT")
    if strategy in SPOT_STRATEGIES and resources["type"] != "SPOT":
        raise client_error(
            f"allocationStrategy {strategy} is only supported for SPOT compute resources."
        )
    if (
        resources["type"] == "SPOT"
        and strategy == "BEST_FIT"
        and not resources.get("spotIamFleetRole")
    ):
        raise client_error(
            "spotIamFleetRole is required for SPOT compute resources that use the BEST_FIT "
            "allocation strategy."
        )
    bid = resources.get("bidPercentage")
    if bid is not None and not 0 <= bid <= 100:
        raise client_error("bidPercentage must be between 0 and 100.")
    types = resources.get("instanceTypes")
    if types is not None:
        if not types:
            raise client_error("instanceTypes must contain at least one instance type.")
        unknown = [name for name in types if name not in known_instance_types()]
        if unknown:
            raise client_error(
                f"Instance type {unknown[0]} is not supported: instanceTypes takes EC2 instance "
                "types, families (c5) and optimal, default_x86_64 or default_arm64."
            )
        if len(architecture_of(types)) > 1:
            raise client_error(
                "Instance types with different architectures (x86_64 and arm64) can't be mixed "
                "in one compute environment."
            )
    configurations = resources.get("ec2Configuration")
    if configurations is not None and len(configurations) > MAX_EC2_CONFIGURATIONS:
        raise client_error(
            f"ec2Configuration can contain at most {MAX_EC2_CONFIGURATIONS} entries."
        )
    template = resources.get("launchTemplate")
    if template is not None:
        _check_launch_template(template, types)


def _check_launch_template(template: dict[str, Any], types: list[str] | None) -> None:
    def one_reference(spec: dict[str, Any], what: str) -> None:
        if bool(spec.get("launchTemplateId")) == bool(spec.get("launchTemplateName")):
            raise client_error(
                f"{what} must specify either launchTemplateId or launchTemplateName, but not both."
            )

    if template.get("launchTemplateId") or template.get("launchTemplateName"):
        one_reference(template, "launchTemplate")
    overrides = template.get("overrides") or []
    if len(overrides) > MAX_TEMPLATE_OVERRIDES:
        raise client_error(
            f"launchTemplate.overrides can contain at most {MAX_TEMPLATE_OVERRIDES} entries."
        )
    for override in overrides:
        one_reference(override, "launchTemplate.overrides")
        targets = override.get("targetInstanceTypes") or []
        if types is not None and not set(targets) <= set(types):
            raise client_error(
                "targetInstanceTypes must be a subset of the compute environment's instanceTypes."
            )


def with_defaults(resources: dict[str, Any], *, eks: bool) -> dict[str, Any]:
    """``computeResources`` as Describe shows it: AWS's defaults filled in."""
    filled = copy.deepcopy(resources)
    if filled["type"] in EC2_TYPES:
        filled.setdefault("minvCpus", 0)
        filled.setdefault("desiredvCpus", filled["minvCpus"])
        filled.setdefault("allocationStrategy", "BEST_FIT")
        filled.setdefault("instanceTypes", ["default_x86_64"])
        filled.setdefault("tags", {})
        filled.setdefault("securityGroupIds", [])
        filled.setdefault(
            "ec2Configuration", [{"imageType": "EKS_AL2023" if eks else "ECS_AL2023"}]
        )
        if filled["type"] == "SPOT":
            filled.setdefault("bidPercentage", 100)
    elif filled["type"] in FARGATE_TYPES:
        filled.setdefault("securityGroupIds", [])
    return filled


def merge_update(current: dict[str, Any], update: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Apply a ``ComputeResourceUpdate`` to the stored ``computeResources``.

    Returns the merged block and whether the update is an infrastructure update (any field
    beyond the scaling-only ones).
    """
    merged = copy.deepcopy(current)
    fargate = current["type"] in FARGATE_TYPES
    scaling = FARGATE_SCALING_FIELDS if fargate else SCALING_FIELDS
    infrastructure = any(name not in scaling for name in update)
    if "type" in update and update["type"] != current["type"]:
        allowed = FARGATE_TYPES if fargate else EC2_TYPES
        if update["type"] not in allowed:
            raise client_error(
                f"computeResources.type can't be changed from {current['type']} to "
                f"{update['type']}."
            )
    if "desiredvCpus" in update and update["desiredvCpus"] < current.get("desiredvCpus", 0):
        raise client_error(SCALE_DOWN_MESSAGE)
    for name, value in update.items():
        if name == "updateToLatestImageVersion":
            continue
        if name == "launchTemplate" and value.get("overrides") == []:
            value = {k: v for k, v in value.items() if k != "overrides"}
        if (
            isinstance(value, list | dict)
            and not value
            and name in ("ec2Configuration", "securityGroupIds")
        ):
            merged.pop(name, None)
            continue
        merged[name] = copy.deepcopy(value)
    if not fargate and "desiredvCpus" not in update and "desiredvCpus" in merged:
        low, high = merged.get("minvCpus", 0), merged["maxvCpus"]
        merged["desiredvCpus"] = min(max(merged["desiredvCpus"], low), max(high, low))
    return merged, infrastructure


def check_infrastructure_update(resources: dict[str, Any], service_role: str | None) -> None:
    """Refuse an infrastructure update where AWS requires blue/green instead."""
    if resources.get("allocationStrategy", "BEST_FIT") == "BEST_FIT":
        raise client_error(
            "Only scaling updates (minvCpus, maxvCpus, desiredvCpus) are supported for compute "
            "environments that use the BEST_FIT allocation strategy. Create a new compute "
            "environment (blue/green) to change other parameters."
        )
    if service_role and not service_role.rstrip("/").endswith("AWSServiceRoleForBatch"):
        raise client_error(
            "Infrastructure updates require the compute environment to use the "
            "AWSServiceRoleForBatch service-linked role."
        )


def health(environment: ComputeEnvironment) -> tuple[Status, str]:
    """(status, statusReason) once the environment settles: VALID unless its roles can't work."""
    role = environment.service_role
    if role and not (
        _ROLE_ARN.fullmatch(role) or (not role.startswith("arn:") and _IAM_NAME.fullmatch(role))
    ):
        return Status.INVALID, (
            "CLIENT_ERROR - Not authorized to perform sts:AssumeRole (Service: "
            "AWSSecurityTokenService; Status Code: 403; Error Code: AccessDenied)"
        )
    resources = environment.compute_resources or {}
    profile = resources.get("instanceRole")
    if profile and not (
        _PROFILE_ARN.fullmatch(profile)
        or (not profile.startswith("arn:") and _IAM_NAME.fullmatch(profile))
    ):
        return (
            Status.INVALID,
            f"CLIENT_ERROR - Value ({profile}) for parameter iamInstanceProfile.arn is invalid.",
        )
    fleet = resources.get("spotIamFleetRole")
    if fleet and not (
        _ROLE_ARN.fullmatch(fleet) or (not fleet.startswith("arn:") and _IAM_NAME.fullmatch(fleet))
    ):
        return (
            Status.INVALID,
            "CLIENT_ERROR - Parameter: SpotFleetRequestConfig.IamFleetRole is invalid.",
        )
    return Status.VALID, HEALTHY
