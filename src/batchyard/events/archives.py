"""Archives and replays: what their operations take and answer, and how the store keeps them.

An archive keeps the events put on its source bus that match its pattern (every event when it
has none), except replayed ones, for ``RetentionDays`` (0: for ever). A replay puts the
archived events whose time lies between its EventStartTime and EventEndTime back on the bus
they came from, each with a ``replay-name`` member in its envelope, to the rules named in
``Destination.FilterArns`` or to every rule of the bus. Field names are the API's members in
snake case, so the protocol layer serializes these dataclasses as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from batchyard.aws.documents import JsonObject
from batchyard.events.model import epoch, moment

REPLAY_NAME = "replay-name"


class ArchiveState(StrEnum):
    """Where an archive is in its life (this server's archives are ENABLED from the start)."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    CREATING = "CREATING"
    UPDATING = "UPDATING"
    CREATE_FAILED = "CREATE_FAILED"
    UPDATE_FAILED = "UPDATE_FAILED"


class ReplayState(StrEnum):
    """STARTING (accepted) -> RUNNING -> COMPLETED | FAILED; CancelReplay: CANCELLING ->
    CANCELLED."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


# The states a replay can still be cancelled in, and those that count against the quota.
CANCELLABLE = frozenset({ReplayState.STARTING, ReplayState.RUNNING})
ACTIVE = frozenset({ReplayState.STARTING, ReplayState.RUNNING, ReplayState.CANCELLING})


@dataclass(frozen=True, slots=True)
class Archive:
    """An archive as DescribeArchive shows it; ``event_count`` and ``size_bytes`` count the
    events it still retains."""

    archive_name: str
    archive_arn: str
    event_source_arn: str
    creation_time: datetime
    description: str | None = None
    event_pattern: str | None = None
    retention_days: int = 0
    kms_key_identifier: str | None = None
    state: ArchiveState = ArchiveState.ENABLED
    state_reason: str | None = None
    event_count: int = 0
    size_bytes: int = 0

    def document(self) -> JsonObject:
        """The archive as the store keeps it (its counts are counted, not kept)."""
        document: JsonObject = {
            "ArchiveName": self.archive_name,
            "ArchiveArn": self.archive_arn,
            "EventSourceArn": self.event_source_arn,
            "CreationTime": epoch(self.creation_time),
            "Description": self.description,
            "EventPattern": self.event_pattern,
            "RetentionDays": self.retention_days,
            "KmsKeyIdentifier": self.kms_key_identifier,
            "State": str(self.state),
        }
        return {key: value for key, value in document.items() if value is not None}

    @classmethod
    def from_document(cls, document: JsonObject, count: int = 0, size: int = 0) -> Archive:
        """The archive stored as ``document``, retaining ``count`` events of ``size`` bytes."""
        created = moment(document["CreationTime"])
        assert created is not None
        return cls(
            document["ArchiveName"],
            document["ArchiveArn"],
            document["EventSourceArn"],
            created,
            document.get("Description"),
            document.get("EventPattern"),
            document.get("RetentionDays", 0),
            document.get("KmsKeyIdentifier"),
            ArchiveState(document.get("State", ArchiveState.ENABLED)),
            None,
            count,
            size,
        )


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    """What CreateArchive and UpdateArchive answer."""

    archive_arn: str
    state: ArchiveState
    creation_time: datetime
    state_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Archives:
    """A page of ListArchives."""

    archives: list[Archive]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayDestination:
    """Where a replay puts its events: the archive's own bus, and optionally only some of its
    rules."""

    arn: str
    filter_arns: list[str] | None = None


@dataclass(frozen=True, slots=True)
class Replay:
    """A replay as DescribeReplay shows it."""

    replay_name: str
    replay_arn: str
    event_source_arn: str
    destination: ReplayDestination
    event_start_time: datetime
    event_end_time: datetime
    replay_start_time: datetime
    state: ReplayState = ReplayState.STARTING
    state_reason: str | None = None
    description: str | None = None
    event_last_replayed_time: datetime | None = None
    replay_end_time: datetime | None = None

    def document(self) -> JsonObject:
        """The replay as the store keeps it (times as seconds since the epoch)."""
        document: JsonObject = {
            "ReplayName": self.replay_name,
            "ReplayArn": self.replay_arn,
            "EventSourceArn": self.event_source_arn,
            "Destination": {
                "Arn": self.destination.arn, "FilterArns": self.destination.filter_arns
            },
            "EventStartTime": epoch(self.event_start_time),
            "EventEndTime": epoch(self.event_end_time),
            "ReplayStartTime": epoch(self.replay_start_time),
            "State": str(self.state),
            "StateReason": self.state_reason,
            "Description": self.description,
            "EventLastReplayedTime": epoch(self.event_last_replayed_time),
            "ReplayEndTime": epoch(self.replay_end_time),
        }
        return {key: value for key, value in document.items() if value is not None}

    @classmethod
    def from_document(cls, document: JsonObject) -> Replay:
        """The replay stored as ``document``."""
        destination = document["Destination"]
        start, end, started = (
            moment(document[key]) for key in ("EventStartTime", "EventEndTime", "ReplayStartTime")
        )
        assert start is not None and end is not None and started is not None
        return cls(
            document["ReplayName"],
            document["ReplayArn"],
            document["EventSourceArn"],
            ReplayDestination(destination["Arn"], destination.get("FilterArns")),
            start,
            end,
            started,
            ReplayState(document["State"]),
            document.get("StateReason"),
            document.get("Description"),
            moment(document.get("EventLastReplayedTime")),
            moment(document.get("ReplayEndTime")),
        )


@dataclass(frozen=True, slots=True)
class StartReplayResult:
    """What StartReplay answers."""

    replay_arn: str
    state: ReplayState
    replay_start_time: datetime
    state_reason: str | None = None


@dataclass(frozen=True, slots=True)
class CancelReplayResult:
    """What CancelReplay answers."""

    replay_arn: str
    state: ReplayState
    state_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Replays:
    """A page of ListReplays."""

    replays: list[Replay] = field(default_factory=list)
    next_token: str | None = None
