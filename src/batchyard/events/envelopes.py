"""Event envelopes: what PutEvents, schedules and AWS services put on a bus, as pure
functions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from batchyard.events.model import PutEventsEntry, ServiceEvent

SCHEDULED_EVENT = "Scheduled Event"
SCHEDULE_SOURCE = "aws.events"


class EntryError(ValueError):
    """A PutEvents entry EventBridge refuses, with the per-entry error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def event_time(moment: datetime) -> str:
    """ISO-8601 UTC with second precision, as in every EventBridge envelope."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_of(event: dict[str, Any]) -> float:
    """The time in an event's envelope as seconds since the epoch (what archives index)."""
    return datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def envelope(
    *,
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str],
    account: str,
    region: str,
    time: datetime,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An EventBridge event in AWS's field order."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": event_time(time),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def put_events_entry(
    entry: PutEventsEntry, *, account: str, region: str, now: datetime
) -> dict[str, Any]:
    """The event for one PutEvents entry, or ``EntryError`` as PutEvents reports it."""
    for member, value in (
        ("Source", entry.source), ("DetailType", entry.detail_type), ("Detail", entry.detail)
    ):
        if not value:
            raise EntryError(
                "InvalidArgument",
                f"Parameter {member} is not valid. Reason: {member} is a required argument.",
            )
    assert entry.source and entry.detail_type and entry.detail
    if entry.source.startswith("aws."):
        raise EntryError("NotAuthorizedForSourceException", "Not authorized for the source.")
    try:
        detail = json.loads(entry.detail)
    except (ValueError, RecursionError):
        detail = None
    if not isinstance(detail, dict):
        raise EntryError("MalformedDetail", "Detail is malformed.")
    return envelope(
        source=entry.source,
        detail_type=entry.detail_type,
        detail=detail,
        resources=list(entry.resources or []),
        account=account,
        region=region,
        time=entry.time or now,
    )


def scheduled_event(rule_arn: str, *, account: str, region: str, time: datetime) -> dict[str, Any]:
    """What a schedule rule sends its targets each time it fires."""
    return envelope(
        source=SCHEDULE_SOURCE,
        detail_type=SCHEDULED_EVENT,
        detail={},
        resources=[rule_arn],
        account=account,
        region=region,
        time=time,
    )


def service_event(
    event: ServiceEvent, *, account: str, region: str, time: datetime
) -> dict[str, Any]:
    """What an AWS service puts on its account's default bus; the event's detail becomes the
    envelope's (the service hands over a detail of its own, not one it changes later)."""
    return envelope(
        source=event.source,
        detail_type=event.detail_type,
        detail=event.detail,
        resources=list(event.resources),
        account=account,
        region=region,
        time=time,
    )
