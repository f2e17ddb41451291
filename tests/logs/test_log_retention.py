"""Events older than their group's retention are deleted; a group without a policy keeps
everything. The server here scales time so that a day of retention lasts two seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.batch.resource_support import unique
from tests.support.server import ServerProcess, wait_for

DAY_SECONDS = 86_400
TIME_SCALE = DAY_SECONDS / 2


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = ServerProcess(
        tmp_path_factory.mktemp("log-retention"), env={"BATCHYARD_TIME_SCALE": str(TIME_SCALE)}
    ).start()
    yield server.client("logs")
    server.stop()


def _stream_with_events(logs: Any, messages: list[str]) -> tuple[str, str]:
    group, stream = unique("/retention"), "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now - 100 + i, "message": m} for i, m in enumerate(messages)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    return group, stream


def _messages(logs: Any, group: str, stream: str) -> list[str]:
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return [event["message"] for event in events["events"]]


def test_events_past_the_retention_are_deleted(logs: Any) -> None:
    kept = _stream_with_events(logs, ["stays"])
    expiring = _stream_with_events(logs, ["goes", "too"])
    logs.put_retention_policy(logGroupName=expiring[0], retentionInDays=1)
    wait_for(lambda: _messages(logs, *expiring) == [], timeout=30, what="expired events deleted")
    (stream,) = logs.describe_log_streams(logGroupName=expiring[0])["logStreams"]
    assert (stream["logStreamName"], stream["storedBytes"]) == ("s", 0)
    assert "firstEventTimestamp" not in stream
    assert (
        logs.describe_log_groups(logGroupNamePrefix=expiring[0])["logGroups"][0]["retentionInDays"]
        == 1
    )
    # Older than the retention as well, but its group has no policy.
    assert _messages(logs, *kept) == ["stays"]


def test_retention_policies_are_checked_and_can_be_removed(logs: Any) -> None:
    group, stream = _stream_with_events(logs, ["kept"])
    with pytest.raises(logs.exceptions.InvalidParameterException, match="enum value set"):
        logs.put_retention_policy(logGroupName=group, retentionInDays=2)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.put_retention_policy(logGroupName=unique("/missing"), retentionInDays=1)
    logs.put_retention_policy(logGroupName=group, retentionInDays=3653)
    logs.delete_retention_policy(logGroupName=group)
    assert (
        "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    )
    assert _messages(logs, group, stream) == ["kept"]
