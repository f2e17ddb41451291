"""Events reaching targets on a live server: input transformers, failing targets,
scheduled rules with a time scale, and rules surviving a restart."""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from batchyard.events import records
from tests.events.support import log_group, unique
from tests.support.server import ServerProcess, wait_for

ACCOUNT = "123456789012"


def _log_events(logs: Any, group: str) -> list[dict[str, Any]]:
    found = logs.filter_log_events(logGroupName=group)["events"]
    return sorted(found, key=lambda e: e["timestamp"])


def _messages(logs: Any, group: str) -> list[str]:
    return [event["message"] for event in _log_events(logs, group)]


def _failures(server: ServerProcess, rule_arn: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{(server.data_dir / 'batchyard.db').resolve()}")
    try:
        with engine.connect() as conn:
            return [dataclasses.asdict(f) for f in records.failures(conn, rule_arn)]
    finally:
        engine.dispose()


def test_put_events_with_an_input_transformer(server: ServerProcess) -> None:
    events, logs = server.client("events"), server.client("logs")
    group, group_arn = log_group(logs, "events")
    source = unique("my.app")
    rule = unique("transform")
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps(
            {"source": [source], "detail": {"status": [{"anything-but": "PENDING"}]}}
        ),
    )
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "logs",
                "Arn": group_arn,
                "InputTransformer": {
                    "InputPathsMap": {
                        "job": "$.detail.jobId",
                        "status": "$.detail.status",
                        "size": "$.detail.size",
                    },
                    "InputTemplate": '{"job": <job>, "text": "<job> is <status>", "size": <size>,'
                    ' "rule": <aws.events.rule-name>}',
                },
            }
        ],
    )
    result = events.put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": "Job",
                "Detail": json.dumps({"jobId": "j-1", "status": "PENDING", "size": 1}),
            },
            {
                "Source": source,
                "DetailType": "Job",
                "Detail": json.dumps({"jobId": "j-2", "status": "RUNNING", "size": 2}),
            },
        ]
    )
    assert result["FailedEntryCount"] == 0
    messages = wait_for(lambda: _messages(logs, group), timeout=10, what="the transformed event")
    assert [json.loads(m) for m in messages] == [
        {"job": "j-2", "text": "j-2 is RUNNING", "size": 2, "rule": rule}
    ]


def test_whole_event_constant_and_path_inputs(server: ServerProcess) -> None:
    events, logs = server.client("events"), server.client("logs")
    groups = [log_group(logs, "events") for _ in range(3)]
    source = unique("my.app")
    rule = unique("inputs")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(
        Rule=rule,
        Targets=[
            {"Id": "whole", "Arn": groups[0][1]},
            {"Id": "constant", "Arn": groups[1][1], "Input": '{"fixed": true}'},
            {"Id": "path", "Arn": groups[2][1], "InputPath": "$.detail.inner"},
        ],
    )
    event_id = events.put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": "Thing",
                "Detail": json.dumps({"inner": {"a": [1, 2]}}),
                "Resources": ["arn:aws:s3:::bucket"],
            }
        ]
    )["Entries"][0]["EventId"]
    whole, constant, path = (
        wait_for(lambda g=g: _messages(logs, g[0]), timeout=10) for g in groups
    )
    event = json.loads(whole[0])
    assert event["id"] == event_id
    assert {
        k: event[k]
        for k in ("version", "source", "detail-type", "account", "region", "resources", "detail")
    } == {
        "version": "0",
        "source": source,
        "detail-type": "Thing",
        "account": ACCOUNT,
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::bucket"],
        "detail": {"inner": {"a": [1, 2]}},
    }
    assert json.loads(constant[0]) == {"fixed": True}
    assert json.loads(path[0]) == {"a": [1, 2]}


def test_disabled_rules_deliver_nothing(server: ServerProcess) -> None:
    events, logs = server.client("events"), server.client("logs")
    group, group_arn = log_group(logs, "events")
    source = unique("my.app")
    rule = unique("disabled")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}), State="DISABLED")
    events.put_targets(Rule=rule, Targets=[{"Id": "logs", "Arn": group_arn}])
    entry = {"Source": source, "DetailType": "t", "Detail": '{"n": 1}'}
    events.put_events(Entries=[entry])
    events.enable_rule(Name=rule)
    events.put_events(Entries=[{**entry, "Detail": '{"n": 2}'}])
    messages = wait_for(lambda: _messages(logs, group), timeout=10)
    assert [json.loads(m)["detail"]["n"] for m in messages] == [2]


def test_failing_targets_are_recorded_and_do_not_stop_the_others(server: ServerProcess) -> None:
    events, logs = server.client("events"), server.client("logs")
    group, group_arn = log_group(logs, "events")
    source = unique("my.app")
    rule = unique("failing")
    rule_arn = events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))["RuleArn"]
    missing_group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/no/such/group"
    events.put_targets(
        Rule=rule,
        Targets=[
            {"Id": "missing", "Arn": missing_group},
            {
                "Id": "no-queue",
                "Arn": f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/none",
                "BatchParameters": {"JobDefinition": "none", "JobName": "x"},
                "RetryPolicy": {"MaximumRetryAttempts": 0},
            },
            {"Id": "good", "Arn": group_arn},
        ],
    )
    event_id = events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": "{}"}])[
        "Entries"
    ][0]["EventId"]
    assert wait_for(lambda: _messages(logs, group), timeout=10)
    failures = wait_for(
        lambda: (f := _failures(server, rule_arn)) and len(f) >= 2 and f,
        timeout=10,
        what="two recorded failures",
    )
    by_target = {f["target_id"]: f for f in failures}
    assert set(by_target) == {"missing", "no-queue"}
    assert by_target["missing"]["error_code"] == "ResourceNotFoundException"
    assert by_target["missing"]["target_arn"] == missing_group
    assert by_target["missing"]["final"] and by_target["missing"]["attempt"] == 1
    assert by_target["missing"]["event_id"] == event_id
    assert json.loads(by_target["missing"]["input"])["id"] == event_id
    assert by_target["no-queue"]["error_code"] == "ClientException"
    assert by_target["no-queue"]["final"]
    assert events.describe_event_bus()["Name"] == "default"  # the server is still serving


def test_rate_rule_fires_with_a_time_scale(new_server: Any) -> None:
    server = new_server(env={"BATCHYARD_TIME_SCALE": "60"})
    events, logs = server.client("events"), server.client("logs")
    group, group_arn = log_group(logs, "events")
    rule_arn = events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule="every-minute", Targets=[{"Id": "logs", "Arn": group_arn}])
    cron_group, cron_group_arn = log_group(logs, "events")
    events.put_rule(Name="cron-minutes", ScheduleExpression="cron(* * * * ? *)")
    events.put_targets(Rule="cron-minutes", Targets=[{"Id": "logs", "Arn": cron_group_arn}])
    logged = wait_for(
        lambda: len(m := _log_events(logs, group)) >= 3 and m,
        timeout=15,
        what="three firings of rate(1 minute) at 60x",
    )
    # one (scaled) minute apart: about a second, neither a burst nor a real minute
    gaps = [b["timestamp"] - a["timestamp"] for a, b in itertools.pairwise(logged)]
    assert all(400 <= gap <= 2500 for gap in gaps), gaps
    fired = [json.loads(event["message"]) for event in logged]
    for event in fired:
        assert event["source"] == "aws.events"
        assert event["detail-type"] == "Scheduled Event"
        assert event["resources"] == [rule_arn]
        assert event["detail"] == {}
    assert len({event["id"] for event in fired}) == len(fired)
    cron_fired = wait_for(lambda: len(m := _messages(logs, cron_group)) >= 2 and m, timeout=10)
    assert all(json.loads(m)["detail-type"] == "Scheduled Event" for m in cron_fired)
    events.disable_rule(Name="every-minute")
    stopped_at = len(_messages(logs, group))
    events.put_rule(Name="marker", ScheduleExpression="rate(1 minute)")
    events.put_targets(
        Rule="marker", Targets=[{"Id": "logs", "Arn": group_arn, "Input": '"marker"'}]
    )
    wait_for(lambda: '"marker"' in _messages(logs, group), timeout=10)
    # a firing of the disabled rule, had there been one, would have been due before the marker's
    assert sum(1 for m in _messages(logs, group) if m != '"marker"') <= stopped_at + 1


def test_rules_and_targets_survive_a_restart(new_server: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "durable"
    first = new_server(data_dir=data_dir, env={"BATCHYARD_TIME_SCALE": "60"})
    events, logs = first.client("events"), first.client("logs")
    group, group_arn = log_group(logs, "events")
    pattern = json.dumps({"source": ["restart.app"]})
    events.put_rule(Name="kept", EventPattern=pattern, Description="survives")
    target = {"Id": "logs", "Arn": group_arn, "Input": '{"after": "restart"}'}
    events.put_targets(Rule="kept", Targets=[target])
    schedule_group, schedule_group_arn = log_group(logs, "events")
    events.put_rule(Name="ticking", ScheduleExpression="rate(1 minute)", State="DISABLED")
    events.put_targets(Rule="ticking", Targets=[{"Id": "logs", "Arn": schedule_group_arn}])
    events.enable_rule(Name="ticking")
    first.kill()
    restarted_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    second = new_server(data_dir=data_dir, env={"BATCHYARD_TIME_SCALE": "60"})
    events, logs = second.client("events"), second.client("logs")
    rule = events.describe_rule(Name="kept")
    assert rule["EventPattern"] == pattern and rule["Description"] == "survives"
    assert events.list_targets_by_rule(Rule="kept")["Targets"] == [target]
    events.put_events(Entries=[{"Source": "restart.app", "DetailType": "t", "Detail": "{}"}])
    assert wait_for(lambda: _messages(logs, group), timeout=10) == ['{"after": "restart"}']

    def fired_after_restart() -> list[str]:
        times = [json.loads(m)["time"] for m in _messages(logs, schedule_group)]
        return [t for t in times if t >= restarted_at]

    assert wait_for(fired_after_restart, timeout=10, what="the schedule firing after restart")


def test_jobs_failed_by_a_restart_reach_the_rules(new_server: Any, tmp_path: Path) -> None:
    from tests.batch.jobs_support import make_definition, make_stack, submit, wait_status

    data_dir = tmp_path / "recovery"
    first = new_server(data_dir=data_dir)
    events, logs, batch = first.client("events"), first.client("logs"), first.client("batch")
    group, group_arn = log_group(logs, "events")
    events.put_rule(
        Name="failed-jobs",
        EventPattern=json.dumps(
            {
                "source": ["aws.batch"],
                "detail-type": ["Batch Job State Change"],
                "detail": {"status": ["FAILED"]},
            }
        ),
    )
    events.put_targets(Rule="failed-jobs", Targets=[{"Id": "logs", "Arn": group_arn}])
    _, queue = make_stack(batch)
    job_id = submit(batch, queue, make_definition(batch, ["sleep", "60"]))
    wait_status(batch, job_id, "RUNNING")
    first.kill()

    second = new_server(data_dir=data_dir)
    logs = second.client("logs")
    [message] = wait_for(lambda: _messages(logs, group), timeout=30, what="the FAILED event")
    event = json.loads(message)
    assert event["detail"]["jobId"] == job_id
    assert event["detail"]["status"] == "FAILED"
