"""The typed Batch resources: compute environments, job queues, job definitions, scheduling
policies and consumable resources, with their states and statuses.

Each is stored as the document Describe answers with (without tags); ``from_document`` and
``to_document`` are the one place per resource that converts. Field names are the snake_case
of the API's members so the protocol layer serializes them as they are; ``WIRE_NAMES`` spells
the members the rule gets wrong. Documents the user hands in and reads back unchanged
(``computeResources``, ``containerProperties`` ...) stay JSON objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Generic, TypeVar

from batchyard.aws.documents import JsonObject
from batchyard.aws.lifecycle import Status

T = TypeVar("T")

COMPUTE_ENVIRONMENT = "compute-environment"
JOB_QUEUE = "job-queue"
JOB_DEFINITION = "job-definition"
SCHEDULING_POLICY = "scheduling-policy"
CONSUMABLE_RESOURCE = "consumable-resource"
JOB = "job"


class State(StrEnum):
    """Whether a compute environment or job queue takes work."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class DefinitionStatus(StrEnum):
    """A job definition revision's status."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class ConsumableType(StrEnum):
    """Whether a consumable resource's units come back when a job ends."""

    REPLENISHABLE = "REPLENISHABLE"
    NON_REPLENISHABLE = "NON_REPLENISHABLE"


def _optional(document: JsonObject, pairs: tuple[tuple[str, object], ...]) -> JsonObject:
    document.update((key, value) for key, value in pairs if value is not None)
    return document


@dataclass(slots=True)
class ComputeEnvironment:
    """A compute environment as DescribeComputeEnvironments shows it."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "computeEnvironmentName": "name",
        "computeEnvironmentArn": "arn",
        "unmanagedvCpus": "unmanaged_vcpus",
    }

    name: str
    arn: str
    type: str
    state: State
    status: Status
    status_reason: str
    service_role: str
    container_orchestration_type: str
    uuid: str
    ecs_cluster_arn: str | None = None
    compute_resources: JsonObject | None = None
    unmanaged_vcpus: int | None = None
    update_policy: JsonObject | None = None
    eks_configuration: JsonObject | None = None
    context: str | None = None
    ecs_settings: JsonObject | None = None
    tags: dict[str, str] | None = None

    @property
    def managed(self) -> bool:
        return self.type == "MANAGED"

    @classmethod
    def from_document(cls, document: JsonObject) -> ComputeEnvironment:
        """The environment stored as ``document``."""
        return cls(
            document["computeEnvironmentName"],
            document["computeEnvironmentArn"],
            document["type"],
            State(document["state"]),
            Status(document["status"]),
            document.get("statusReason", ""),
            document.get("serviceRole", ""),
            document.get("containerOrchestrationType", "ECS"),
            document.get("uuid", ""),
            document.get("ecsClusterArn"),
            document.get("computeResources"),
            document.get("unmanagedvCpus"),
            document.get("updatePolicy"),
            document.get("eksConfiguration"),
            document.get("context"),
            document.get("ecsSettings"),
        )

    def to_document(self) -> JsonObject:
        """The stored document."""
        return _optional(
            {
                "computeEnvironmentName": self.name,
                "computeEnvironmentArn": self.arn,
                "type": self.type,
                "state": str(self.state),
                "status": str(self.status),
                "statusReason": self.status_reason,
                "serviceRole": self.service_role,
                "containerOrchestrationType": self.container_orchestration_type,
                "uuid": self.uuid,
            },
            (
                ("ecsClusterArn", self.ecs_cluster_arn),
                ("computeResources", self.compute_resources),
                ("unmanagedvCpus", self.unmanaged_vcpus),
                ("updatePolicy", self.update_policy),
                ("eksConfiguration", self.eks_configuration),
                ("context", self.context),
                ("ecsSettings", self.ecs_settings),
            ),
        )


@dataclass(frozen=True, slots=True)
class EnvironmentOrder:
    """One entry of a queue's ``computeEnvironmentOrder`` (the environment's ARN)."""

    order: int
    compute_environment: str


@dataclass(frozen=True, slots=True)
class TimeLimitAction:
    """One ``jobStateTimeLimitActions`` entry."""

    reason: str
    state: str
    max_time_seconds: int
    action: str

    @classmethod
    def of(cls, document: JsonObject) -> TimeLimitAction:
        return cls(
            document["reason"], document["state"], document["maxTimeSeconds"], document["action"]
        )

    def to_document(self) -> JsonObject:
        return {
            "reason": self.reason,
            "state": self.state,
            "maxTimeSeconds": self.max_time_seconds,
            "action": self.action,
        }


@dataclass(slots=True)
class JobQueue:
    """A job queue as DescribeJobQueues shows it (environments in ``order``)."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {"jobQueueName": "name", "jobQueueArn": "arn"}

    name: str
    arn: str
    state: State
    status: Status
    status_reason: str
    priority: int
    compute_environment_order: list[EnvironmentOrder]
    job_queue_type: str
    job_state_time_limit_actions: list[TimeLimitAction] = field(default_factory=list)
    scheduling_policy_arn: str | None = None
    tags: dict[str, str] | None = None

    @classmethod
    def from_document(cls, document: JsonObject) -> JobQueue:
        """The queue stored as ``document``."""
        order = sorted(
            (
                EnvironmentOrder(entry["order"], entry["computeEnvironment"])
                for entry in document["computeEnvironmentOrder"]
            ),
            key=lambda entry: entry.order,
        )
        return cls(
            document["jobQueueName"],
            document["jobQueueArn"],
            State(document["state"]),
            Status(document["status"]),
            document.get("statusReason", ""),
            document["priority"],
            order,
            document.get("jobQueueType", "ECS"),
            [TimeLimitAction.of(a) for a in document.get("jobStateTimeLimitActions") or ()],
            document.get("schedulingPolicyArn"),
        )

    def to_document(self) -> JsonObject:
        """The stored document."""
        return _optional(
            {
                "jobQueueName": self.name,
                "jobQueueArn": self.arn,
                "state": str(self.state),
                "status": str(self.status),
                "statusReason": self.status_reason,
                "priority": self.priority,
                "computeEnvironmentOrder": [
                    {"order": e.order, "computeEnvironment": e.compute_environment}
                    for e in self.compute_environment_order
                ],
                "jobQueueType": self.job_queue_type,
                "jobStateTimeLimitActions": [
                    a.to_document() for a in self.job_state_time_limit_actions
                ],
            },
            (("schedulingPolicyArn", self.scheduling_policy_arn),),
        )


# The members of a registered definition stored as they were given.
_DEFINITION_BODIES = (
    ("schedulingPriority", "scheduling_priority"),
    ("containerProperties", "container_properties"),
    ("nodeProperties", "node_properties"),
    ("retryStrategy", "retry_strategy"),
    ("timeout", "timeout"),
    ("propagateTags", "propagate_tags"),
    ("ecsProperties", "ecs_properties"),
    ("eksProperties", "eks_properties"),
    ("consumableResourceProperties", "consumable_resource_properties"),
    ("platformCapabilities", "platform_capabilities"),
)


@dataclass(slots=True)
class JobDefinition:
    """One revision of a job definition as DescribeJobDefinitions shows it; as a
    RegisterJobDefinition request, what is given (its ARN and revision still to come)."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "jobDefinitionName": "name",
        "jobDefinitionArn": "arn",
    }

    name: str
    type: str
    arn: str = ""
    revision: int = 0
    status: DefinitionStatus = DefinitionStatus.ACTIVE
    parameters: dict[str, str] = field(default_factory=dict)
    container_orchestration_type: str = "ECS"
    scheduling_priority: int | None = None
    container_properties: JsonObject | None = None
    node_properties: JsonObject | None = None
    retry_strategy: JsonObject | None = None
    timeout: JsonObject | None = None
    propagate_tags: bool | None = None
    ecs_properties: JsonObject | None = None
    eks_properties: JsonObject | None = None
    consumable_resource_properties: JsonObject | None = None
    platform_capabilities: list[str] | None = None
    tags: dict[str, str] | None = None

    @classmethod
    def from_document(cls, document: JsonObject) -> JobDefinition:
        """The revision stored as ``document``."""
        definition = cls(
            document["jobDefinitionName"],
            document["type"],
            document["jobDefinitionArn"],
            document["revision"],
            DefinitionStatus(document["status"]),
            document.get("parameters") or {},
            document.get("containerOrchestrationType", "ECS"),
        )
        for member, attribute in _DEFINITION_BODIES:
            value = document.get(member)
            if value is not None:
                setattr(definition, attribute, value)
        return definition

    def to_document(self) -> JsonObject:
        """The stored document."""
        return _optional(
            {
                "jobDefinitionName": self.name,
                "jobDefinitionArn": self.arn,
                "revision": self.revision,
                "status": str(self.status),
                "type": self.type,
                "parameters": self.parameters,
                "containerOrchestrationType": self.container_orchestration_type,
            },
            tuple((member, getattr(self, attribute)) for member, attribute in _DEFINITION_BODIES),
        )


@dataclass(frozen=True, slots=True)
class ShareAttributes:
    """One ``shareDistribution`` entry."""

    share_identifier: str
    weight_factor: float = 1.0


@dataclass(frozen=True, slots=True)
class FairsharePolicy:
    """A ``fairsharePolicy`` with AWS's defaults filled in."""

    share_decay_seconds: int = 0
    compute_reservation: int = 0
    share_distribution: tuple[ShareAttributes, ...] = ()

    @classmethod
    def of(cls, document: JsonObject) -> FairsharePolicy:
        return cls(
            document.get("shareDecaySeconds", 0),
            document.get("computeReservation", 0),
            tuple(
                ShareAttributes(share["shareIdentifier"], float(share.get("weightFactor", 1.0)))
                for share in document.get("shareDistribution") or ()
            ),
        )

    def to_document(self) -> JsonObject:
        return {
            "shareDecaySeconds": self.share_decay_seconds,
            "computeReservation": self.compute_reservation,
            "shareDistribution": [
                {"shareIdentifier": s.share_identifier, "weightFactor": s.weight_factor}
                for s in self.share_distribution
            ],
        }


@dataclass(slots=True)
class SchedulingPolicy:
    """A scheduling policy as DescribeSchedulingPolicies shows it."""

    name: str
    arn: str
    fairshare_policy: FairsharePolicy | None = None
    quota_share_policy: JsonObject | None = None
    tags: dict[str, str] | None = None

    @classmethod
    def from_document(cls, document: JsonObject) -> SchedulingPolicy:
        """The policy stored as ``document``."""
        fairshare = document.get("fairsharePolicy")
        return cls(
            document["name"],
            document["arn"],
            FairsharePolicy.of(fairshare) if fairshare is not None else None,
            document.get("quotaSharePolicy"),
        )

    def to_document(self) -> JsonObject:
        """The stored document."""
        document: JsonObject = {"name": self.name, "arn": self.arn}
        if self.quota_share_policy is not None:
            document["quotaSharePolicy"] = self.quota_share_policy
        if self.fairshare_policy is not None:
            document["fairsharePolicy"] = self.fairshare_policy.to_document()
        return document


@dataclass(slots=True)
class ConsumableResource:
    """A consumable resource and, while the server runs, the units its jobs hold.

    ``total`` is the stored quantity; ``in_use`` counts REPLENISHABLE units held by jobs
    between STARTING and their end. A NON_REPLENISHABLE unit leaves ``total`` for good when
    its job starts. ``generation`` tells a resource from one deleted and recreated under the
    same name.
    """

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "consumableResourceName": "name",
        "consumableResourceArn": "arn",
        "totalQuantity": "reported_total",
        "inUseQuantity": "in_use",
        "availableQuantity": "available",
    }

    name: str
    arn: str
    resource_type: ConsumableType
    total: int
    created_at: int
    generation: int
    in_use: int = 0
    tags: dict[str, str] | None = None

    @property
    def available(self) -> int:
        """Units a job could take now."""
        return max(0, self.total - self.in_use)

    @property
    def reported_total(self) -> int:
        """``totalQuantity`` as AWS reports it while a lowered total converges."""
        return max(self.total, self.in_use)


@dataclass(frozen=True, slots=True)
class Named:
    """What Create*, Update* and Register* answer: the resource's name and ARN (a job
    definition's revision, a consumable resource's total)."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "computeEnvironmentName": "name",
        "computeEnvironmentArn": "arn",
        "jobQueueName": "name",
        "jobQueueArn": "arn",
        "jobDefinitionName": "name",
        "jobDefinitionArn": "arn",
        "consumableResourceName": "name",
        "consumableResourceArn": "arn",
    }

    name: str
    arn: str
    revision: int | None = None
    total_quantity: int | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and the token of the next one."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        name: "items"
        for name in (
            "computeEnvironments",
            "jobQueues",
            "jobDefinitions",
            "schedulingPolicies",
            "consumableResources",
            "jobSummaryList",
            "jobs",
        )
    }

    items: list[T]
    next_token: str | None = None
