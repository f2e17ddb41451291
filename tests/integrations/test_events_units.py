"""The EventBridge integrations without a server: what a job queue target submits, a log
group of another account, and the entries of an ``events:putEvents`` task."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from batchyard.aws.caller import Caller
from batchyard.events import Target, TargetError, TargetEvent
from batchyard.events.model import BatchArrayProperties, BatchParameters, BatchRetryStrategy
from batchyard.integrations.events_targets import LogGroupTarget, submit_request
from batchyard.integrations.states_put_events import entries_of
from batchyard.states import RuntimeFailure, TaskRequest

QUEUE = "arn:aws:batch:us-east-1:123456789012:job-queue/q"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:m:e"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:m"


def _event(text: str) -> TargetEvent:
    return TargetEvent({"id": "e-1"}, text, "arn:aws:events:us-east-1:123456789012:rule/r")


def test_a_job_queue_target_submits_its_batch_parameters() -> None:
    batch = BatchParameters("d:1", "j", BatchArrayProperties(3), BatchRetryStrategy(2))
    whole_event = Target("t", QUEUE, batch_parameters=batch)
    assert submit_request(whole_event, _event('{"a": 1}')) == {
        "jobName": "j", "jobQueue": QUEUE, "jobDefinition": "d:1",
        "arrayProperties": {"size": 3}, "retryStrategy": {"attempts": 2},
    }
    configured = Target("t", QUEUE, input_path="$.detail", batch_parameters=batch)
    request = submit_request(configured, _event('{"a": "x", "n": 1, "o": {"k": [true]}}'))
    assert request["parameters"] == {"a": "x", "n": "1", "o": '{"k": [true]}'}
    assert "parameters" not in submit_request(configured, _event("[1, 2]"))


def test_a_log_group_of_another_account_is_not_written() -> None:
    target = Target("t", "arn:aws:logs:us-east-1:222222222222:log-group:g")
    deliverer = LogGroupTarget(object())  # type: ignore[arg-type]  # never reached
    with pytest.raises(TargetError) as refused:
        asyncio.run(deliverer.deliver(Caller("123456789012", "us-east-1"), target, _event("{}")))
    assert refused.value.code == "ResourceNotFoundException"


def _task(parameters: Any) -> TaskRequest:
    return TaskRequest(
        "arn:aws:states:::events:putEvents", parameters,
        {"Execution": {"Id": EXECUTION}, "StateMachine": {"Id": MACHINE}}, "Put",
    )


def test_put_events_entries_link_the_execution_and_send_detail_as_text() -> None:
    [entry] = entries_of(_task({"Entries": [{
        "Source": "s", "DetailType": "t", "Detail": {"a": [1, "é"]}, "Resources": ["r"],
        "Time": "2026-01-02T03:04:05Z",
    }]}))
    assert (entry.source, entry.detail_type, entry.detail) == ("s", "t", '{"a":[1,"é"]}')
    assert entry.resources == ["r", EXECUTION, MACHINE]
    assert entry.time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    [text] = entries_of(_task({"Entries": [{"Detail": json.dumps({"a": 1})}]}))
    assert text.detail == '{"a": 1}' and text.source is None


@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"Entries": {"Source": "s"}},
        {"Entries": ["s"]},
        {"Entries": [{"Resources": "r"}]},
        {"Entries": [{"Time": "yesterday"}]},
    ],
)
def test_put_events_parameters_that_make_no_entries(parameters: Any) -> None:
    with pytest.raises(RuntimeFailure):
        entries_of(_task(parameters))
