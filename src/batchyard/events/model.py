"""EventBridge's typed core: rules, targets, event buses, the entries PutEvents takes and what
each operation answers.

Field names are the API's members in snake case, so the protocol layer serializes these
dataclasses as they are. The store keeps rules and targets as their API documents
(``document()`` / ``from_document``), which is also the shape of a PutTargets entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from batchyard.aws.documents import JsonObject, copy_json

DEFAULT_BUS = "default"


class RuleState(StrEnum):
    """Whether a rule matches events and fires on its schedule."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _document(value: Any) -> Any:
    """A dataclass as its API document (PascalCase members, None ones left out)."""
    if hasattr(value, "__dataclass_fields__"):
        return {
            _pascal(item.name): _document(member)
            for item in fields(value)
            if (member := getattr(value, item.name)) is not None
        }
    return copy_json(value)


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule as DescribeRule shows it."""

    name: str
    arn: str
    event_bus_name: str
    created_by: str
    state: RuleState = RuleState.ENABLED
    event_pattern: str | None = None
    schedule_expression: str | None = None
    description: str | None = None
    role_arn: str | None = None

    @property
    def enabled(self) -> bool:
        return self.state != RuleState.DISABLED

    def document(self) -> JsonObject:
        """The DescribeRule document, as the store keeps it."""
        document: JsonObject = _document(self)
        return document

    @classmethod
    def from_document(cls, document: JsonObject) -> Rule:
        """The rule stored as ``document``."""
        return cls(
            document["Name"],
            document["Arn"],
            document["EventBusName"],
            document.get("CreatedBy", ""),
            RuleState(document.get("State", RuleState.ENABLED)),
            document.get("EventPattern"),
            document.get("ScheduleExpression"),
            document.get("Description"),
            document.get("RoleArn"),
        )


@dataclass(frozen=True, slots=True)
class InputTransformer:
    """Values picked from the event by JSON paths, put into a template."""

    input_template: str
    input_paths_map: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long EventBridge keeps trying a target."""

    maximum_retry_attempts: int | None = None
    maximum_event_age_in_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class BatchArrayProperties:
    """The array size of the jobs a Batch target submits."""

    size: int | None = None


@dataclass(frozen=True, slots=True)
class BatchRetryStrategy:
    """The attempts of the jobs a Batch target submits."""

    attempts: int | None = None


@dataclass(frozen=True, slots=True)
class BatchParameters:
    """What a Batch job queue target submits."""

    job_definition: str
    job_name: str
    array_properties: BatchArrayProperties | None = None
    retry_strategy: BatchRetryStrategy | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """One target of a rule as ListTargetsByRule shows it.

    The parameters of target kinds this server does not read are kept as given.
    """

    id: str
    arn: str
    role_arn: str | None = None
    input: str | None = None
    input_path: str | None = None
    input_transformer: InputTransformer | None = None
    batch_parameters: BatchParameters | None = None
    retry_policy: RetryPolicy | None = None
    dead_letter_config: JsonObject | None = None
    kinesis_parameters: JsonObject | None = None
    run_command_parameters: JsonObject | None = None
    ecs_parameters: JsonObject | None = None
    sqs_parameters: JsonObject | None = None
    http_parameters: JsonObject | None = None
    redshift_data_parameters: JsonObject | None = None
    sage_maker_pipeline_parameters: JsonObject | None = None
    app_sync_parameters: JsonObject | None = None

    @property
    def configured_input(self) -> bool:
        """Whether the target says what it receives (otherwise: the whole event)."""
        return (
            self.input is not None
            or self.input_path is not None
            or self.input_transformer is not None
        )

    def document(self) -> JsonObject:
        """The ListTargetsByRule document, as the store keeps it."""
        document: JsonObject = _document(self)
        return document

    @classmethod
    def from_document(cls, document: JsonObject) -> Target:
        """The target of a PutTargets entry or a stored document."""
        transformer = document.get("InputTransformer")
        batch = document.get("BatchParameters")
        retry = document.get("RetryPolicy")
        passed = {
            item.name: copy_json(document[_pascal(item.name)])
            for item in fields(cls)
            if item.name.endswith(("_parameters", "_config"))
            and item.name != "batch_parameters"
            and document.get(_pascal(item.name)) is not None
        }
        return cls(
            document["Id"],
            document["Arn"],
            document.get("RoleArn"),
            document.get("Input"),
            document.get("InputPath"),
            InputTransformer(transformer["InputTemplate"], transformer.get("InputPathsMap"))
            if transformer is not None
            else None,
            _batch_parameters(batch) if batch is not None else None,
            RetryPolicy(retry.get("MaximumRetryAttempts"), retry.get("MaximumEventAgeInSeconds"))
            if retry is not None
            else None,
            **passed,
        )


def _batch_parameters(document: JsonObject) -> BatchParameters:
    array = document.get("ArrayProperties")
    retry = document.get("RetryStrategy")
    return BatchParameters(
        document["JobDefinition"],
        document["JobName"],
        BatchArrayProperties(array.get("Size")) if array is not None else None,
        BatchRetryStrategy(retry.get("Attempts")) if retry is not None else None,
    )


def epoch(moment: datetime | None) -> float | None:
    """``moment`` as seconds since the epoch, as the store keeps times in documents."""
    return moment.timestamp() if moment is not None else None


def moment(seconds: float | None) -> datetime | None:
    """The time a document keeps as seconds since the epoch."""
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


@dataclass(frozen=True, slots=True)
class EventBus:
    """An event bus as DescribeEventBus (and ListEventBuses, UpdateEventBus) shows it; the
    default bus of an account and region has no times until UpdateEventBus changes it."""

    name: str
    arn: str
    description: str | None = None
    kms_key_identifier: str | None = None
    dead_letter_config: JsonObject | None = None
    log_config: JsonObject | None = None
    creation_time: datetime | None = None
    last_modified_time: datetime | None = None

    def document(self) -> JsonObject:
        """The bus as the store keeps it (times as seconds since the epoch)."""
        document: JsonObject = {
            "Name": self.name,
            "Arn": self.arn,
            "Description": self.description,
            "KmsKeyIdentifier": self.kms_key_identifier,
            "DeadLetterConfig": copy_json(self.dead_letter_config),
            "LogConfig": copy_json(self.log_config),
            "CreationTime": epoch(self.creation_time),
            "LastModifiedTime": epoch(self.last_modified_time),
        }
        return {key: value for key, value in document.items() if value is not None}

    @classmethod
    def from_document(cls, document: JsonObject) -> EventBus:
        """The bus stored as ``document``."""
        return cls(
            document["Name"],
            document["Arn"],
            document.get("Description"),
            document.get("KmsKeyIdentifier"),
            document.get("DeadLetterConfig"),
            document.get("LogConfig"),
            moment(document.get("CreationTime")),
            moment(document.get("LastModifiedTime")),
        )


@dataclass(frozen=True, slots=True)
class CreateEventBusResult:
    """What CreateEventBus answers."""

    event_bus_arn: str
    description: str | None = None
    kms_key_identifier: str | None = None
    dead_letter_config: JsonObject | None = None
    log_config: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class EventBuses:
    """A page of ListEventBuses."""

    event_buses: list[EventBus]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class PutRuleResult:
    """What PutRule answers."""

    rule_arn: str


@dataclass(frozen=True, slots=True)
class Rules:
    """A page of ListRules."""

    rules: list[Rule]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class Targets:
    """A page of ListTargetsByRule."""

    targets: list[Target]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class RuleNames:
    """A page of ListRuleNamesByTarget."""

    rule_names: list[str]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class FailedTarget:
    """A target PutTargets or RemoveTargets did not take."""

    target_id: str
    error_code: str
    error_message: str


@dataclass(frozen=True, slots=True)
class TargetsResult:
    """What PutTargets and RemoveTargets answer."""

    failed_entries: list[FailedTarget] = field(default_factory=list)

    @property
    def failed_entry_count(self) -> int:
        return len(self.failed_entries)


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag of a rule."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class TagList:
    """What ListTagsForResource answers."""

    tags: list[Tag]


@dataclass(frozen=True, slots=True)
class PatternResult:
    """What TestEventPattern answers."""

    result: bool


@dataclass(frozen=True, slots=True)
class PutEventsEntry:
    """One PutEvents request entry; its checks are EventBridge's, entry by entry."""

    source: str | None = None
    detail_type: str | None = None
    detail: str | None = None
    resources: list[str] | None = None
    event_bus_name: str | None = None
    time: datetime | None = None
    trace_header: str | None = None


@dataclass(frozen=True, slots=True)
class PutEventsResultEntry:
    """The outcome of one PutEvents entry: its event id, or why it was refused."""

    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class PutEventsResult:
    """What PutEvents answers: one result per entry, in request order."""

    entries: list[PutEventsResultEntry]

    @property
    def failed_entry_count(self) -> int:
        return sum(1 for entry in self.entries if entry.error_code is not None)


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """An event an AWS service (Batch here) puts on its account's default bus; ``detail``
    is handed over (a copy the service does not change afterwards)."""

    source: str
    detail_type: str
    detail: JsonObject
    resources: list[str]
