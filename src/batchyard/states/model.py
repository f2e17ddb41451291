"""What Step Functions keeps: state machines and their versions and aliases, activities,
executions with their history, and Map Runs, as typed entities with their statuses.

The entities are what the facade hands out: their field names (or ``WIRE_NAMES``) are the
output members of the API, so the protocol layer serializes them as they are. Documents the
user wrote and the service passes on unread (an ASL definition, a logging configuration, an
execution's input and output, a history event's details) stay JSON.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from batchyard.aws.documents import JsonObject
from batchyard.states.asl.interpreter import MAX_HISTORY_EVENTS


class MachineType(StrEnum):
    """A state machine's type: durable Standard, or Express (in memory, at most 5 minutes)."""

    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


class ExecutionStatus(StrEnum):
    """An execution's status; an execution ends in one of :data:`TERMINAL`."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    PENDING_REDRIVE = "PENDING_REDRIVE"


TERMINAL = frozenset(
    {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT,
     ExecutionStatus.ABORTED}
)
# How often one execution may be redriven, and for how long after it stopped (AWS's quotas).
MAX_REDRIVES = 1000
REDRIVABLE_PERIOD_SECONDS = 14 * 24 * 3600
# The only ways an execution's status may change: it ends, or a redrive runs it again.
TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.RUNNING: TERMINAL,
    ExecutionStatus.FAILED: frozenset({ExecutionStatus.RUNNING}),
    ExecutionStatus.TIMED_OUT: frozenset({ExecutionStatus.RUNNING}),
    ExecutionStatus.ABORTED: frozenset({ExecutionStatus.RUNNING}),
}


class MapRunStatus(StrEnum):
    """A Map Run's status."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"


DEFAULT_LOGGING: JsonObject = {"level": "OFF", "includeExecutionData": False}
DEFAULT_TRACING: JsonObject = {"enabled": False}


@dataclass(frozen=True, slots=True)
class DataDetails:
    """``inputDetails`` / ``outputDetails``: the data is included in the answer."""

    included: bool = True


INCLUDED = DataDetails()


class _Described:
    """``inputDetails`` and ``outputDetails`` of an execution's description: its input is
    always shown, its output once there is one."""

    __slots__ = ()
    output: str | None

    @property
    def input_details(self) -> DataDetails:
        return INCLUDED

    @property
    def output_details(self) -> DataDetails | None:
        return INCLUDED if self.output is not None else None


# -- state machines --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MachineConfig:
    """The configuration documents a state machine was given (None: never set)."""

    logging: JsonObject | None = None
    tracing: JsonObject | None = None
    encryption: JsonObject | None = None


@dataclass(slots=True)
class Machine:
    """A state machine, or one published version of it (``version_arn`` set)."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "stateMachineArn": "described_arn", "creationDate": "created", "updateDate": "updated",
        "description": "version_description",
    }

    arn: str
    name: str
    type: MachineType
    definition: str
    role_arn: str
    config: MachineConfig
    revision_id: str
    created: float
    updated: float
    version_arn: str | None = None
    version_description: str | None = None

    @property
    def described_arn(self) -> str:
        """The ARN DescribeStateMachine shows: the version's for a version."""
        return self.version_arn or self.arn

    @property
    def status(self) -> str:
        return "ACTIVE"

    @property
    def logging_configuration(self) -> JsonObject:
        return self.config.logging or DEFAULT_LOGGING

    @property
    def tracing_configuration(self) -> JsonObject:
        return self.config.tracing or DEFAULT_TRACING

    @property
    def encryption_configuration(self) -> JsonObject | None:
        return self.config.encryption or None


@dataclass(frozen=True, slots=True)
class VersionItem:
    """A published version as ListStateMachineVersions and PublishStateMachineVersion show
    it."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {"creationDate": "created"}

    state_machine_version_arn: str
    created: float


@dataclass(frozen=True, slots=True)
class Route:
    """One entry of an alias's routing configuration."""

    state_machine_version_arn: str
    weight: int


@dataclass(slots=True)
class Alias:
    """A state machine alias: a name that routes executions to one or two versions."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "stateMachineAliasArn": "arn", "routingConfiguration": "routing",
        "creationDate": "created", "updateDate": "updated",
    }

    arn: str
    machine_arn: str
    name: str
    description: str | None
    routing: list[Route]
    created: float
    updated: float


# -- activities ------------------------------------------------------------------------------
@dataclass(slots=True)
class Activity:
    """An activity: a named queue of tasks that workers poll with GetActivityTask."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "activityArn": "arn", "creationDate": "created", "encryptionConfiguration": "encryption",
    }

    arn: str
    name: str
    created: float
    encryption: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag of a state machine or activity."""

    key: str
    value: str


# -- executions ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExecutionSource:
    """What started an execution, frozen at its start: resume, redrive and
    DescribeStateMachineForExecution see the machine as it was then, not a later update."""

    type: MachineType
    definition: str
    role_arn: str
    machine_name: str
    revision_id: str
    updated: float
    salt: str
    version_arn: str | None = None
    alias_arn: str | None = None
    trace_header: str | None = None
    logging: JsonObject | None = None
    tracing: JsonObject | None = None

    def machine(self, machine_arn: str) -> Machine:
        """The state machine as this execution started it."""
        return Machine(
            arn=machine_arn, name=self.machine_name, type=self.type, definition=self.definition,
            role_arn=self.role_arn, config=MachineConfig(self.logging, self.tracing),
            revision_id=self.revision_id, created=self.updated, updated=self.updated,
        )


@dataclass(slots=True)
class Checkpoint:
    """Where an execution stands for a restart: ``resume`` is the interpreter's checkpoint to
    continue a running execution from (None: start over), ``redrive`` the entry of the state
    that ran last, where a redrive starts (None: nothing to redrive)."""

    resume: JsonObject | None = None
    redrive: JsonObject | None = None


@dataclass(slots=True)
class Execution(_Described):
    """An execution: stored (Standard) or held in memory while it runs (Express)."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "executionArn": "arn", "stateMachineArn": "machine_arn", "startDate": "started",
        "stopDate": "stopped",
    }

    arn: str
    machine_arn: str
    name: str
    status: ExecutionStatus
    started: float
    input: str
    source: ExecutionSource
    stopped: float | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    last_event_id: int = 0
    redrive_count: int = 0
    redrive_date: float | None = None

    @property
    def is_express(self) -> bool:
        return self.source.type == MachineType.EXPRESS

    @property
    def state_machine_version_arn(self) -> str | None:
        return self.source.version_arn

    @property
    def state_machine_alias_arn(self) -> str | None:
        return self.source.alias_arn

    @property
    def trace_header(self) -> str | None:
        return self.source.trace_header

    @property
    def redrive_status(self) -> str | None:
        """REDRIVABLE or NOT_REDRIVABLE (Standard executions only)."""
        if self.is_express:
            return None
        return "REDRIVABLE" if self.not_redrivable_because() is None else "NOT_REDRIVABLE"

    @property
    def redrive_status_reason(self) -> str | None:
        return None if self.is_express else self.not_redrivable_because()

    @property
    def billing_details(self) -> BillingDetails:
        """What StartSyncExecution reports as billed."""
        duration = ((self.stopped or self.started) - self.started) * 1000
        return BillingDetails(64, max(100, int(duration)))

    def not_redrivable_because(self, now: float | None = None) -> str | None:
        """AWS's reason why RedriveExecution may not restart this execution (None: it may)."""
        if self.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.RUNNING):
            return f"Execution is {self.status} and cannot be redriven"
        if self.redrive_count >= MAX_REDRIVES:
            return "Execution redrive limit exceeded"
        # The redriven run needs room for its ExecutionRedriven event and one more.
        if self.last_event_id >= MAX_HISTORY_EVENTS - 1:
            return "Execution history event limit exceeded"
        stopped = self.stopped if self.stopped is not None else self.started
        if (time.time() if now is None else now) - stopped > REDRIVABLE_PERIOD_SECONDS:
            return "Execution redrivable period exceeded"
        if self.checkpoint.redrive is None:
            return "Execution cannot be redriven"
        return None

    def move_to(self, status: ExecutionStatus) -> None:
        """Change the status as :data:`TRANSITIONS` allows; anything else is a bug."""
        if status not in TRANSITIONS.get(self.status, frozenset()):
            raise RuntimeError(f"{self.arn}: no transition from {self.status} to {status}")
        self.status = status

    def status_change(self) -> JsonObject:
        """What the bus announces when the execution starts, ends or is redriven (EventBridge's
        "Step Functions Execution Status Change" detail): ``executionArn``,
        ``stateMachineArn``, ``name``, ``status``, ``startDate`` and ``stopDate`` (epoch
        seconds), ``input``, ``output``, ``error``, ``cause``, and as AWS's detail has them
        the version and alias ARNs and the redrive fields (``redriveCount``, ``redriveDate``,
        ``redriveStatus``, ``redriveStatusReason``)."""
        return {
            "executionArn": self.arn, "stateMachineArn": self.machine_arn, "name": self.name,
            "status": str(self.status), "startDate": self.started, "stopDate": self.stopped,
            "input": self.input, "output": self.output, "error": self.error,
            "cause": self.cause, "stateMachineVersionArn": self.state_machine_version_arn,
            "stateMachineAliasArn": self.state_machine_alias_arn,
            "redriveCount": self.redrive_count, "redriveDate": self.redrive_date,
            "redriveStatus": self.redrive_status,
            "redriveStatusReason": self.redrive_status_reason,
        }


@dataclass(frozen=True, slots=True)
class BillingDetails:
    """StartSyncExecution's billing details."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {"billedMemoryUsedInMB": "billed_memory_used_in_mb"}

    billed_memory_used_in_mb: int
    billed_duration_in_milliseconds: int


@dataclass(slots=True)
class HistoryEvent:
    """One history event: ``details`` maps its one ``*EventDetails`` member to its value."""

    id: int
    previous_event_id: int
    type: str
    timestamp: float
    details: JsonObject = field(default_factory=dict)

    def without_data(self) -> HistoryEvent:
        """The event as GetExecutionHistory shows it with includeExecutionData false."""
        details = {
            key: {k: v for k, v in value.items() if k not in ("input", "output")}
            if isinstance(value, dict) else value
            for key, value in self.details.items()
        }
        return HistoryEvent(self.id, self.previous_event_id, self.type, self.timestamp, details)


# -- Map Runs --------------------------------------------------------------------------------
@dataclass(slots=True)
class MapRunCounts:
    """A Map Run's item (or child execution) counts; AWS's last three stay 0 here (no
    ResultWriter, no redrive)."""

    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    aborted: int = 0
    total: int = 0
    results_written: int = 0
    failures_not_redrivable: int = 0
    pending_redrive: int = 0


@dataclass(slots=True)
class MapRun:
    """A distributed Map's Map Run, with counts as of when it was read."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "mapRunArn": "arn", "startDate": "started", "stopDate": "stopped",
        "itemCounts": "counts", "executionCounts": "counts",
    }

    arn: str
    execution_arn: str
    status: MapRunStatus
    started: float
    stopped: float | None
    max_concurrency: int
    tolerated_failure_percentage: float
    tolerated_failure_count: int
    total: int
    counts: MapRunCounts | None = None
    redrive_count: int = 0


@dataclass(slots=True)
class MapRunChild(_Described):
    """One item's child execution of a Map Run (each processes one item: no ItemBatcher)."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        "executionArn": "arn", "startDate": "started", "stopDate": "stopped",
        "stateMachineArn": "machine_arn",
    }

    arn: str
    map_run_arn: str
    machine_arn: str
    status: ExecutionStatus
    started: float
    stopped: float | None
    input: str = "null"
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    item_count: int = 1
    redrive_count: int = 0

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[1]
