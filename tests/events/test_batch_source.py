"""Batch's bus messages become "Batch Job State Change" / "Batch Job Queue Blocked" events."""

from __future__ import annotations

from typing import Any

from batchyard.bus import Bus
from batchyard.config import Settings
from batchyard.events.batch_source import JOB_TOPIC, QUEUE_BLOCKED_TOPIC, BatchEventSource
from batchyard.events.catalog import RuleCatalog
from batchyard.events.records import StoredRule

JOB_ARN = "arn:aws:batch:us-east-1:123456789012:job/j-1"
QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/q"


class _Recorder:
    """Stands in for the dispatcher: a catalog with one rule on Batch's events."""

    def __init__(self, with_rule: bool = True) -> None:
        self.published: list[dict[str, Any]] = []
        self.catalog = RuleCatalog()
        if with_rule:
            document = {
                "Name": "r",
                "Arn": "arn",
                "EventBusName": "default",
                "State": "ENABLED",
                "EventPattern": '{"source": ["aws.batch"]}',
            }
            self.catalog.put(StoredRule(document, ()))

    def publish(self, event: dict[str, Any], bus: str = "default") -> None:
        self.published.append(event)


def _job(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "jobArn": JOB_ARN,
        "jobId": "j-1",
        "jobName": "n",
        "jobQueue": QUEUE_ARN,
        "status": status,
        "createdAt": 1641944200058,
        **extra,
    }


def _source(with_rule: bool = True) -> tuple[Bus, _Recorder]:
    bus, recorder = Bus(), _Recorder(with_rule)
    BatchEventSource(Settings(), recorder).subscribe(bus)  # type: ignore[arg-type]
    return bus, recorder


def test_every_change_after_submission_is_an_event() -> None:
    bus, recorder = _source()
    for status in (
        "SUBMITTED",
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "RUNNING",
        "SUCCEEDED",
    ):
        bus.publish(JOB_TOPIC, _job(status))
    assert [e["detail"]["status"] for e in recorder.published] == [
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
    ]
    for event in recorder.published:
        assert event["detail-type"] == "Batch Job State Change"
        assert event["source"] == "aws.batch"
        assert event["resources"] == [JOB_ARN]
        assert event["account"] == "123456789012" and event["region"] == "us-east-1"


def test_a_retried_job_is_reported_again() -> None:
    bus, recorder = _source()
    for status in ("RUNNABLE", "STARTING", "RUNNING", "RUNNABLE", "STARTING", "RUNNING", "FAILED"):
        bus.publish(JOB_TOPIC, _job(status))
    assert len(recorder.published) == 7


def test_queue_blocked() -> None:
    bus, recorder = _source()
    reason = (
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement "
        "(vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the "
        "job queue."
    )
    bus.publish(QUEUE_BLOCKED_TOPIC, _job("RUNNABLE", statusReason=reason))
    [event] = recorder.published
    assert event["detail-type"] == "Batch Job Queue Blocked"
    assert event["resources"] == [JOB_ARN, QUEUE_ARN]
    assert event["detail"]["statusReason"] == reason


def test_nothing_is_built_without_a_rule_to_match() -> None:
    bus, recorder = _source(with_rule=False)
    bus.publish(JOB_TOPIC, _job("RUNNABLE"))
    bus.publish(QUEUE_BLOCKED_TOPIC, _job("RUNNABLE", statusReason="blocked"))
    assert recorder.published == []
