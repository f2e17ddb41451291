"""The Logs API through boto3: groups, streams, put/get with tokens, filtering."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def logs(server: ServerProcess) -> Any:
    return server.client("logs")


def _group(logs: Any) -> str:
    name = f"/test/{uuid.uuid4().hex[:12]}"
    logs.create_log_group(logGroupName=name)
    return name


def test_groups_and_streams_are_created_described_and_unique(logs: Any) -> None:
    group = _group(logs)
    with pytest.raises(ClientError) as err:
        logs.create_log_group(logGroupName=group)
    assert err.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    logs.create_log_stream(logGroupName=group, logStreamName="b-stream")
    logs.create_log_stream(logGroupName=group, logStreamName="a-stream")
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in described] == [group]
    assert described[0]["arn"].endswith(f":log-group:{group}:*")
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["a-stream", "b-stream"]
    page = logs.describe_log_streams(logGroupName=group, limit=1)
    assert [s["logStreamName"] for s in page["logStreams"]] == ["a-stream"]
    rest = logs.describe_log_streams(logGroupName=group, limit=1, nextToken=page["nextToken"])
    assert [s["logStreamName"] for s in rest["logStreams"]] == ["b-stream"]
    assert "nextToken" not in rest
    with pytest.raises(ClientError) as err:
        logs.create_log_stream(logGroupName=f"{group}-missing", logStreamName="x")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_put_and_get_events_with_tokens_both_ways(logs: Any) -> None:
    group = _group(logs)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": now + i, "message": f"line {i}"} for i in range(5)],
    )
    tail = logs.get_log_events(logGroupName=group, logStreamName="s", limit=2)
    assert [e["message"] for e in tail["events"]] == ["line 3", "line 4"]
    back = logs.get_log_events(
        logGroupName=group, logStreamName="s", limit=2, nextToken=tail["nextBackwardToken"]
    )
    assert [e["message"] for e in back["events"]] == ["line 1", "line 2"]
    head = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True, limit=3)
    assert [e["message"] for e in head["events"]] == ["line 0", "line 1", "line 2"]
    following = logs.get_log_events(
        logGroupName=group, logStreamName="s", nextToken=head["nextForwardToken"]
    )
    assert [e["message"] for e in following["events"]] == ["line 3", "line 4"]
    end = logs.get_log_events(
        logGroupName=group, logStreamName="s", nextToken=following["nextForwardToken"]
    )
    assert end["events"] == [] and end["nextForwardToken"] == following["nextForwardToken"]
    window = logs.get_log_events(
        logGroupName=group,
        logStreamName="s",
        startFromHead=True,
        startTime=now + 1,
        endTime=now + 3,
    )
    assert [e["message"] for e in window["events"]] == ["line 1", "line 2"]
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert streams[0]["firstEventTimestamp"] == now and streams[0]["lastEventTimestamp"] == now + 4


def test_put_rejects_unordered_batches_and_missing_streams(logs: Any) -> None:
    group = _group(logs)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    with pytest.raises(ClientError) as err:
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 5, "message": "a"}],
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        logs.put_log_events(
            logGroupName=group, logStreamName="nope", logEvents=[{"timestamp": now, "message": "a"}]
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        logs.get_log_events(logGroupName=group, logStreamName="s", nextToken="garbage")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_filter_log_events_with_plain_terms(logs: Any) -> None:
    group = _group(logs)
    now = int(time.time() * 1000)
    for stream, lines in {
        "one": ["ERROR disk full", "INFO ok"],
        "two": ["ERROR net down", "WARN slow"],
    }.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)],
        )
    errors = logs.filter_log_events(logGroupName=group, filterPattern="ERROR")["events"]
    assert sorted((e["logStreamName"], e["message"]) for e in errors) == [
        ("one", "ERROR disk full"),
        ("two", "ERROR net down"),
    ]
    phrase = logs.filter_log_events(logGroupName=group, filterPattern='"net down"')["events"]
    assert [e["message"] for e in phrase] == ["ERROR net down"]
    either = logs.filter_log_events(logGroupName=group, filterPattern="?WARN ?INFO")["events"]
    assert sorted(e["message"] for e in either) == ["INFO ok", "WARN slow"]
    only_two = logs.filter_log_events(logGroupName=group, logStreamNames=["two"])["events"]
    assert [e["message"] for e in only_two] == ["ERROR net down", "WARN slow"]
    page = logs.filter_log_events(logGroupName=group, limit=3)
    assert len(page["events"]) == 3 and page["nextToken"]
    rest = logs.filter_log_events(logGroupName=group, nextToken=page["nextToken"])
    assert len(rest["events"]) == 1 and "nextToken" not in rest
