"""Event envelopes against the Batch User Guide's example events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from batchyard.events.envelopes import (
    EntryError,
    put_events_entry,
    scheduled_event,
    service_event,
)
from batchyard.events.model import PutEventsEntry
from batchyard.integrations.batch_events import job_queue_blocked, job_state_change

JOB_ARN = "arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8"
QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/PexjEHappyPathCanary2JobQueue"
GUIDE_DETAIL = {
    "jobArn": JOB_ARN,
    "jobName": "event-test",
    "jobId": "4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
    "jobQueue": QUEUE_ARN,
    "status": "RUNNABLE",
    "attempts": [],
    "createdAt": 1641944200058,
    "retryStrategy": {"attempts": 2, "evaluateOnExit": []},
    "dependsOn": [],
    "jobDefinition": (
        "arn:aws:batch:us-east-1:123456789012:job-definition/first-run-job-definition:1"
    ),
    "parameters": {},
    "container": {
        "image": "137112412989.dkr.ecr.us-east-1.amazonaws.com/amazonlinux:latest",
        "command": ["sleep", "600"],
        "volumes": [],
        "environment": [],
        "mountPoints": [],
        "ulimits": [],
        "networkInterfaces": [],
        "resourceRequirements": [
            {"value": "2", "type": "VCPU"},
            {"value": "256", "type": "MEMORY"},
        ],
        "secrets": [],
    },
    "propagateTags": False,
    "platformCapabilities": [],
}
GUIDE_EVENT = {
    "version": "0",
    "id": "c8f9c4b5-76e5-d76a-f980-7011e206042b",
    "detail-type": "Batch Job State Change",
    "source": "aws.batch",
    "account": "123456789012",
    "time": "2022-01-11T23:36:40Z",
    "region": "us-east-1",
    "resources": [JOB_ARN],
    "detail": GUIDE_DETAIL,
}
AT = datetime(2022, 1, 11, 23, 36, 40, 517000, tzinfo=UTC)


def test_job_state_change_is_the_guides_event() -> None:
    event = service_event(
        job_state_change(GUIDE_DETAIL), account="123456789012", region="us-east-1", time=AT
    )
    assert list(event) == list(GUIDE_EVENT)
    assert {**event, "id": GUIDE_EVENT["id"]} == GUIDE_EVENT
    assert event["detail"] is not GUIDE_DETAIL  # later changes to the job do not leak in


def test_queue_blocked_names_job_and_queue() -> None:
    detail = {**GUIDE_DETAIL, "statusReason": "blocked-reason"}
    event = service_event(
        job_queue_blocked(detail), account="123456789012", region="us-east-1", time=AT
    )
    assert event["detail-type"] == "Batch Job Queue Blocked"
    assert event["source"] == "aws.batch"
    assert event["resources"] == [JOB_ARN, QUEUE_ARN]
    assert event["detail"] == detail
    assert event["time"] == "2022-01-11T23:36:40Z"


def test_scheduled_event() -> None:
    rule = "arn:aws:events:us-east-1:123456789012:rule/every-minute"
    event = scheduled_event(rule, account="123456789012", region="us-east-1", time=AT)
    assert event["source"] == "aws.events"
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [rule]
    assert event["detail"] == {}


def test_put_events_entry() -> None:
    entry = PutEventsEntry("my.app", "Thing", json.dumps({"a": 1}), ["r1"], time=AT)
    event = put_events_entry(
        entry, account="123456789012", region="us-east-1", now=datetime.now(UTC)
    )
    assert event["source"] == "my.app"
    assert event["detail-type"] == "Thing"
    assert event["detail"] == {"a": 1}
    assert event["resources"] == ["r1"]
    assert event["time"] == "2022-01-11T23:36:40Z"


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        (PutEventsEntry(detail_type="t", detail="{}"), "InvalidArgument"),
        (PutEventsEntry(source="s", detail="{}"), "InvalidArgument"),
        (PutEventsEntry(source="s", detail_type="t"), "InvalidArgument"),
        (PutEventsEntry("s", "t", "[1]"), "MalformedDetail"),
        (PutEventsEntry("s", "t", "{nope"), "MalformedDetail"),
        (PutEventsEntry("aws.batch", "t", "{}"), "NotAuthorizedForSourceException"),
    ],
)
def test_put_events_entry_errors(entry: PutEventsEntry, code: str) -> None:
    with pytest.raises(EntryError) as caught:
        put_events_entry(entry, account="1", region="r", now=AT)
    assert caught.value.code == code
