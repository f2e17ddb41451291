"""Event envelopes: what PutEvents, schedules and Batch put on the bus, as pure functions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from batchyard.aws.documents import copy_json

BATCH_SOURCE = "aws.batch"
JOB_STATE_CHANGE = "Batch Job State Change"
JOB_QUEUE_BLOCKED = "Batch Job Queue Blocked"
SCHEDULED_EVENT = "Scheduled Event"
SCHEDULE_SOURCE = "aws.events"

# The guide: an event for every status change of a job already submitted, none for the
# submission itself (SUBMITTED).
JOB_EVENT_STATUSES = frozenset(
    {"PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"}
)


class EntryError(ValueError):
    """A PutEvents entry EventBridge refuses, with the per-entry error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def event_time(moment: datetime) -> str:
    """ISO-8601 UTC with second precision, as in every EventBridge envelope."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    entry: dict[str, Any], *, account: str, region: str, now: datetime
) -> dict[str, Any]:
    """The event for one PutEvents entry, or ``EntryError`` as PutEvents reports it."""
    for member in ("Source", "DetailType", "Detail"):
        if not entry.get(member):
            raise EntryError(
                "InvalidArgument",
                f"Parameter {member} is not valid. Reason: {member} is a required argument.",
            )
    if entry["Source"].startswith("aws."):
        raise EntryError("NotAuthorizedForSourceException", "Not authorized for the source.")
    try:
        detail = json.loads(entry["Detail"])
    except (ValueError, RecursionError):
        detail = None
    if not isinstance(detail, dict):
        raise EntryError("MalformedDetail", "Detail is malformed.")
    return envelope(
        source=entry["Source"],
        detail_type=entry["DetailType"],
        detail=detail,
        resources=list(entry.get("Resources") or []),
        account=account,
        region=region,
        time=entry.get("Time") or now,
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


def job_state_change(
    job: dict[str, Any], *, account: str, region: str, time: datetime
) -> dict[str, Any]:
    """"Batch Job State Change": the DescribeJobs job as ``detail``, its ARN as the resource."""
    return envelope(
        source=BATCH_SOURCE,
        detail_type=JOB_STATE_CHANGE,
        detail=copy_json(job),
        resources=[job["jobArn"]],
        account=account,
        region=region,
        time=time,
    )


def job_queue_blocked(
    job: dict[str, Any], *, account: str, region: str, time: datetime
) -> dict[str, Any]:
    """"Batch Job Queue Blocked": the blocking head-of-queue job (its ``statusReason`` says
    why) as ``detail``; the job and its queue as resources."""
    return envelope(
        source=BATCH_SOURCE,
        detail_type=JOB_QUEUE_BLOCKED,
        detail=copy_json(job),
        resources=[job["jobArn"], job["jobQueue"]],
        account=account,
        region=region,
        time=time,
    )
