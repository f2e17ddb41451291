"""Archives and replays through boto3 against a live server: an archive of the default bus
keeps a real Batch job's state-change events, a replay puts them back to the rules it names
with ``replay-name`` in their envelope; the time range, the lifecycle and AWS's errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.batch.jobs_support import make_definition, make_stack, submit, wait_status
from tests.events.support import log_group, refusal, unique
from tests.support.server import ServerProcess, wait_for

ACCOUNT = "123456789012"
PREFIX = f"arn:aws:events:us-east-1:{ACCOUNT}:"
DEFAULT_BUS = PREFIX + "event-bus/default"


def _logged(logs: Any, group: str) -> list[dict[str, Any]]:
    found = logs.filter_log_events(logGroupName=group)["events"]
    return [json.loads(e["message"]) for e in sorted(found, key=lambda e: e["timestamp"])]


def _rule_to_group(
    events: Any, logs: Any, pattern: dict[str, Any], bus: str = "default"
) -> tuple[str, str]:
    """A rule on ``bus`` delivering what ``pattern`` matches to a new log group: (ARN, group)."""
    group, group_arn = log_group(logs, "archives")
    name = unique("rule")
    arn = events.put_rule(Name=name, EventPattern=json.dumps(pattern), EventBusName=bus)["RuleArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "logs", "Arn": group_arn}])
    return arn, group


def _ended(events: Any, name: str) -> dict[str, Any]:
    return wait_for(
        lambda: (r := events.describe_replay(ReplayName=name))["State"]
        in ("COMPLETED", "CANCELLED", "FAILED") and r,
        timeout=30, what=f"replay {name} to end",
    )


def test_an_archive_is_created_described_listed_updated_and_deleted(events: Any) -> None:
    name = unique("archive")
    pattern = json.dumps({"source": ["my.app"]})
    created = events.create_archive(
        ArchiveName=name, EventSourceArn=DEFAULT_BUS, Description="mine", EventPattern=pattern,
        RetentionDays=7,
    )
    assert created["ArchiveArn"] == PREFIX + f"archive/{name}"
    assert created["State"] == "ENABLED"
    described = events.describe_archive(ArchiveName=name)
    assert {k: v for k, v in described.items() if k != "ResponseMetadata"} == {
        "ArchiveArn": PREFIX + f"archive/{name}",
        "ArchiveName": name,
        "EventSourceArn": DEFAULT_BUS,
        "Description": "mine",
        "EventPattern": pattern,
        "State": "ENABLED",
        "RetentionDays": 7,
        "SizeBytes": 0,
        "EventCount": 0,
        "CreationTime": created["CreationTime"],
    }
    listed = events.list_archives(NamePrefix=name)["Archives"]
    assert [a["ArchiveName"] for a in listed] == [name]
    assert listed[0]["EventSourceArn"] == DEFAULT_BUS and listed[0]["RetentionDays"] == 7
    by_source = events.list_archives(EventSourceArn=DEFAULT_BUS)["Archives"]
    assert name in [a["ArchiveName"] for a in by_source]

    updated = events.update_archive(ArchiveName=name, Description="changed", RetentionDays=0)
    assert updated["ArchiveArn"] == created["ArchiveArn"] and updated["State"] == "ENABLED"
    described = events.describe_archive(ArchiveName=name)
    assert described["Description"] == "changed" and described["RetentionDays"] == 0
    assert described["EventPattern"] == pattern

    events.delete_archive(ArchiveName=name)
    assert refusal(events.describe_archive, ArchiveName=name) == {
        "Code": "ResourceNotFoundException", "Message": f"Archive {name} does not exist.",
    }
    assert refusal(events.delete_archive, ArchiveName=name)["Code"] == "ResourceNotFoundException"


def test_archive_errors(events: Any) -> None:
    name = unique("archive")
    events.create_archive(ArchiveName=name, EventSourceArn=DEFAULT_BUS)
    assert refusal(events.create_archive, ArchiveName=name, EventSourceArn=DEFAULT_BUS) == {
        "Code": "ResourceAlreadyExistsException", "Message": f"Archive {name} already exists.",
    }
    error = refusal(
        events.create_archive, ArchiveName=unique("bad"), EventSourceArn=DEFAULT_BUS,
        EventPattern='{"source": "aws.ec2"}',
    )
    assert error["Code"] == "InvalidEventPatternException"
    missing = PREFIX + "event-bus/no-such-bus"
    assert refusal(events.create_archive, ArchiveName=unique("a"), EventSourceArn=missing) == {
        "Code": "ResourceNotFoundException", "Message": "Event bus no-such-bus does not exist.",
    }
    rule_arn = PREFIX + "rule/r"
    assert refusal(events.create_archive, ArchiveName=unique("a"), EventSourceArn=rule_arn)[
        "Code"
    ] == "ValidationException"
    other_region = "arn:aws:events:eu-west-1:123456789012:event-bus/default"
    assert refusal(events.create_archive, ArchiveName=unique("a"), EventSourceArn=other_region) == {
        "Code": "ValidationException",
        "Message": "Parameter EventSourceArn is not valid. Reason: Creating cross-region archive "
        "is not permitted.",
    }
    assert refusal(events.update_archive, ArchiveName=unique("missing"), Description="x")[
        "Code"
    ] == "ResourceNotFoundException"


def test_a_batch_job_event_archived_from_the_default_bus_is_replayed_to_a_rule(
    server: ServerProcess,
) -> None:
    events, logs, batch = server.client("events"), server.client("logs"), server.client("batch")
    job_name = unique("archived-job")
    archive = unique("batch-events")
    archive_arn = events.create_archive(
        ArchiveName=archive,
        EventSourceArn=DEFAULT_BUS,
        EventPattern=json.dumps(
            {
                "source": ["aws.batch"],
                "detail-type": ["Batch Job State Change"],
                "detail": {"jobName": [job_name]},
            }
        ),
    )["ArchiveArn"]
    before = datetime.now(UTC) - timedelta(seconds=5)
    _, queue = make_stack(batch)
    job_id = submit(batch, queue, make_definition(batch, ["true"]), jobName=job_name)
    assert wait_status(batch, job_id)["status"] == "SUCCEEDED"
    # PENDING, RUNNABLE, STARTING, RUNNING and SUCCEEDED: one event each
    described = wait_for(
        lambda: (a := events.describe_archive(ArchiveName=archive))["EventCount"] == 5 and a,
        timeout=10, what="the job's five state changes in the archive",
    )
    assert described["SizeBytes"] > 0

    # Rules created after the job: only the replay can bring them its events.
    succeeded = {
        "source": ["aws.batch"], "detail": {"jobName": [job_name], "status": ["SUCCEEDED"]}
    }
    named_rule, named_group = _rule_to_group(events, logs, succeeded)
    _, other_group = _rule_to_group(events, logs, succeeded)
    replay = unique("replay")
    start, end = before, datetime.now(UTC) + timedelta(seconds=5)
    started = events.start_replay(
        ReplayName=replay,
        Description="the job again",
        EventSourceArn=archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": DEFAULT_BUS, "FilterArns": [named_rule]},
    )
    assert started["State"] == "STARTING"
    assert started["ReplayArn"] == PREFIX + f"replay/{replay}"

    done = _ended(events, replay)
    assert done["State"] == "COMPLETED"
    assert done["ReplayName"] == replay and done["Description"] == "the job again"
    assert done["EventSourceArn"] == archive_arn
    assert done["Destination"] == {"Arn": DEFAULT_BUS, "FilterArns": [named_rule]}
    assert (done["EventStartTime"], done["EventEndTime"]) == (start, end)
    assert done["ReplayStartTime"] == started["ReplayStartTime"]
    assert done["ReplayStartTime"] <= done["ReplayEndTime"]
    assert start - timedelta(seconds=1) <= done["EventLastReplayedTime"] <= end

    [replayed] = wait_for(lambda: _logged(logs, named_group), timeout=10, what="the replay")
    assert replayed["replay-name"] == replay
    assert replayed["source"] == "aws.batch"
    assert replayed["detail-type"] == "Batch Job State Change"
    assert replayed["detail"]["jobId"] == job_id
    assert replayed["detail"]["status"] == "SUCCEEDED"
    assert _logged(logs, other_group) == []  # not among the FilterArns
    # replayed events are not archived again
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 5

    listed = events.list_replays(NamePrefix=replay)["Replays"]
    assert [(r["ReplayName"], r["State"]) for r in listed] == [(replay, "COMPLETED")]
    assert events.list_replays(EventSourceArn=archive_arn, State="COMPLETED")["Replays"] == listed
    assert refusal(events.cancel_replay, ReplayName=replay) == {
        "Code": "IllegalStatusException",
        "Message": f"Replay {replay} is not in a valid state for this operation.",
    }


def test_a_replay_takes_the_events_of_its_time_range_to_every_rule_of_the_bus(
    server: ServerProcess,
) -> None:
    events, logs = server.client("events"), server.client("logs")
    bus = unique("replayed")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName=unique("all"), EventSourceArn=bus_arn)[
        "ArchiveArn"
    ]
    now = datetime.now(UTC).replace(microsecond=0)
    source = unique("my.app")
    entries = [
        {"Source": source, "DetailType": "t", "Detail": json.dumps({"n": n}), "EventBusName": bus,
         "Time": now - timedelta(hours=hours)}
        for n, hours in ((1, 3), (2, 2), (3, 1))
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    rules = [_rule_to_group(events, logs, {"source": [source]}, bus) for _ in range(2)]
    replay = unique("window")
    events.start_replay(
        ReplayName=replay, EventSourceArn=archive_arn,
        EventStartTime=now - timedelta(hours=2, minutes=30),
        EventEndTime=now - timedelta(minutes=30),
        Destination={"Arn": bus_arn},
    )
    done = _ended(events, replay)
    assert done["State"] == "COMPLETED"
    assert done["EventLastReplayedTime"] == now - timedelta(hours=1)
    for _, group in rules:
        logged = wait_for(lambda g=group: len(m := _logged(logs, g)) >= 2 and m, timeout=10)
        assert sorted(event["detail"]["n"] for event in logged) == [2, 3]
        assert all(event["replay-name"] == replay for event in logged)


def test_replay_errors(events: Any) -> None:
    archive_arn = events.create_archive(ArchiveName=unique("errs"), EventSourceArn=DEFAULT_BUS)[
        "ArchiveArn"
    ]
    now = datetime.now(UTC)
    window = {"EventStartTime": now - timedelta(hours=1), "EventEndTime": now}
    good = {"EventSourceArn": archive_arn, "Destination": {"Arn": DEFAULT_BUS}, **window}

    reversed_window = {**good, "EventStartTime": now, "EventEndTime": now - timedelta(hours=1)}
    assert refusal(events.start_replay, ReplayName=unique("r"), **reversed_window) == {
        "Code": "ValidationException",
        "Message": "Parameter EventEndTime is not valid. Reason: EventStartTime must be before "
        "EventEndTime.",
    }
    unknown = {**good, "EventSourceArn": PREFIX + "archive/nope"}
    assert refusal(events.start_replay, ReplayName=unique("r"), **unknown) == {
        "Code": "ValidationException",
        "Message": "Parameter EventSourceArn is not valid. Reason: Archive nope does not exist.",
    }
    not_a_bus = {**good, "Destination": {"Arn": PREFIX + "rule/some-rule"}}
    assert refusal(events.start_replay, ReplayName=unique("r"), **not_a_bus) == {
        "Code": "ValidationException",
        "Message": "Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN.",
    }
    other_bus = events.create_event_bus(Name=unique("other"))["EventBusArn"]
    elsewhere = {**good, "Destination": {"Arn": other_bus}}
    assert refusal(events.start_replay, ReplayName=unique("r"), **elsewhere) == {
        "Code": "ValidationException",
        "Message": "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not "
        "permitted.",
    }
    nowhere = {**good, "Destination": {"Arn": PREFIX + "event-bus/gone"}}
    assert refusal(events.start_replay, ReplayName=unique("r"), **nowhere) == {
        "Code": "ResourceNotFoundException", "Message": "Event bus gone does not exist.",
    }
    name = unique("twice")
    events.start_replay(ReplayName=name, **good)
    assert refusal(events.start_replay, ReplayName=name, **good) == {
        "Code": "ResourceAlreadyExistsException", "Message": f"Replay {name} already exists.",
    }
    missing = unique("missing")
    for call in (events.describe_replay, events.cancel_replay):
        assert refusal(call, ReplayName=missing) == {
            "Code": "ResourceNotFoundException", "Message": f"Replay {missing} does not exist.",
        }
