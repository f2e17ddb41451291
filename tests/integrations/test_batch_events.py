"""Batch's bus messages become "Batch Job State Change" / "Batch Job Queue Blocked" events on
the default bus of the job's account and region."""

from __future__ import annotations

from typing import Any

from batchyard.aws.caller import Caller
from batchyard.batch import JOB_TOPIC, QUEUE_BLOCKED_TOPIC
from batchyard.bus import Bus
from batchyard.events import ServiceEvent
from batchyard.integrations.batch_events import BatchEvents

JOB_ARN = "arn:aws:batch:us-east-1:123456789012:job/j-1"
QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/q"
DEFAULT = Caller("999999999999", "eu-north-1")


class _Recorder:
    """Stands in for EventBridge: listening on the buses of ``listening`` accounts."""

    def __init__(self, *listening: str) -> None:
        self.listening = set(listening)
        self.published: list[tuple[Caller, ServiceEvent]] = []

    def listens(self, caller: Caller) -> bool:
        return caller.account_id in self.listening

    def publish(self, caller: Caller, event: ServiceEvent) -> None:
        self.published.append((caller, event))


def _job(status: str, arn: str = JOB_ARN, **extra: Any) -> dict[str, Any]:
    return {
        "jobArn": arn,
        "jobId": arn.rsplit("/", 1)[-1],
        "jobName": "n",
        "jobQueue": QUEUE_ARN,
        "status": status,
        "createdAt": 1641944200058,
        **extra,
    }


def _source(*listening: str) -> tuple[Bus, _Recorder, BatchEvents]:
    bus, recorder = Bus(), _Recorder(*listening)
    source = BatchEvents(recorder, DEFAULT)  # type: ignore[arg-type]
    source.subscribe(bus)
    return bus, recorder, source


def test_every_change_after_submission_is_an_event() -> None:
    bus, recorder, _ = _source("123456789012")
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
    assert [event.detail["status"] for _, event in recorder.published] == [
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
    ]
    for caller, event in recorder.published:
        assert event.detail_type == "Batch Job State Change"
        assert event.source == "aws.batch"
        assert event.resources == [JOB_ARN]
        assert (caller.account_id, caller.region) == ("123456789012", "us-east-1")


def test_a_retried_job_is_reported_again() -> None:
    bus, recorder, _ = _source("123456789012")
    for status in ("RUNNABLE", "STARTING", "RUNNING", "RUNNABLE", "STARTING", "RUNNING", "FAILED"):
        bus.publish(JOB_TOPIC, _job(status))
    assert len(recorder.published) == 7


def test_queue_blocked() -> None:
    bus, recorder, _ = _source("123456789012")
    reason = (
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement "
        "(vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the "
        "job queue."
    )
    bus.publish(QUEUE_BLOCKED_TOPIC, _job("RUNNABLE", statusReason=reason))
    [(_, event)] = recorder.published
    assert event.detail_type == "Batch Job Queue Blocked"
    assert event.source == "aws.batch"
    assert event.resources == [JOB_ARN, QUEUE_ARN]
    assert event.detail["statusReason"] == reason


def test_nothing_is_built_without_a_rule_to_match() -> None:
    bus, recorder, _ = _source()
    bus.publish(JOB_TOPIC, _job("RUNNABLE"))
    bus.publish(QUEUE_BLOCKED_TOPIC, _job("RUNNABLE", statusReason="blocked"))
    assert recorder.published == []


def test_each_job_goes_to_its_own_accounts_bus() -> None:
    bus, recorder, _ = _source("111111111111", "999999999999")
    other = "arn:aws:batch:eu-west-1:111111111111:job/j-2"
    bus.publish(JOB_TOPIC, _job("RUNNABLE", arn=other))
    bus.publish(JOB_TOPIC, _job("RUNNABLE"))  # 123456789012 has no rule: nothing built
    bus.publish(JOB_TOPIC, _job("RUNNABLE", arn="j-3"))  # no ARN: the server's default
    assert [(c.account_id, c.region) for c, _ in recorder.published] == [
        ("111111111111", "eu-west-1"),
        ("999999999999", "eu-north-1"),
    ]


def test_unsubscribed_it_hears_nothing() -> None:
    bus, recorder, source = _source("123456789012")
    source.unsubscribe()
    bus.publish(JOB_TOPIC, _job("RUNNABLE"))
    assert recorder.published == []
