"""The EventBridge API through boto3 against a live server: rules, targets, PutEvents,
TestEventPattern and the default bus, with AWS's error codes and messages."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.events.support import refusal, unique
from tests.support.server import ServerProcess

ACCOUNT = "123456789012"
PATTERN = json.dumps({"source": ["my.app"]})


def _log_group_arn(name: str) -> str:
    return f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}"


def test_put_describe_and_update_a_rule(events: Any) -> None:
    name = unique()
    arn = events.put_rule(Name=name, EventPattern=PATTERN, Description="d")["RuleArn"]
    assert arn == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{name}"
    rule = events.describe_rule(Name=name)
    assert {
        k: rule[k]
        for k in (
            "Name",
            "Arn",
            "EventPattern",
            "State",
            "Description",
            "EventBusName",
            "CreatedBy",
        )
    } == {
        "Name": name,
        "Arn": arn,
        "EventPattern": PATTERN,
        "State": "ENABLED",
        "Description": "d",
        "EventBusName": "default",
        "CreatedBy": ACCOUNT,
    }
    events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)", State="DISABLED")
    rule = events.describe_rule(Name=name, EventBusName="default")
    assert rule["ScheduleExpression"] == "rate(5 minutes)"
    assert rule["State"] == "DISABLED"
    assert "EventPattern" not in rule and "Description" not in rule


def test_enable_and_disable(events: Any) -> None:
    name = unique()
    events.put_rule(Name=name, EventPattern=PATTERN)
    events.disable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    events.enable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "ENABLED"
    error = refusal(events.enable_rule, Name=unique("missing"))
    assert error["Code"] == "ResourceNotFoundException"


def test_list_rules_by_prefix_and_pages(events: Any) -> None:
    prefix = unique("list")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in reversed(names):
        events.put_rule(Name=name, EventPattern=PATTERN)
    seen: list[str] = []
    kwargs: dict[str, Any] = {"NamePrefix": prefix, "Limit": 2}
    pages = 0
    while True:
        page = events.list_rules(**kwargs)
        pages += 1
        seen += [rule["Name"] for rule in page["Rules"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == names
    assert pages == 3
    paginated = events.get_paginator("list_rules").paginate(NamePrefix=prefix)
    assert [r["Name"] for page in paginated for r in page["Rules"]] == names
    assert refusal(events.list_rules, NextToken="%%%")["Code"] == "ValidationException"
    for token in ("%%%", "bm90LWEtbnVtYmVy"):
        error = refusal(events.list_targets_by_rule, Rule=names[0], NextToken=token)
        assert error["Code"] == "ValidationException"


def test_missing_rule_errors(events: Any) -> None:
    name = unique("missing")
    error = refusal(events.describe_rule, Name=name)
    assert error == {
        "Code": "ResourceNotFoundException",
        "Message": f"Rule {name} does not exist on EventBus default.",
    }
    for call, kwargs in (
        (events.disable_rule, {"Name": name}),
        (events.list_targets_by_rule, {"Rule": name}),
        (events.put_targets, {"Rule": name, "Targets": [{"Id": "t", "Arn": _log_group_arn("g")}]}),
        (events.remove_targets, {"Rule": name, "Ids": ["t"]}),
    ):
        assert refusal(call, **kwargs)["Code"] == "ResourceNotFoundException"
    events.delete_rule(Name=name)  # deleting what is not there succeeds, as on AWS


def test_put_rule_validation(events: Any) -> None:
    name = unique("bad")
    error = refusal(events.put_rule, Name=name)
    assert error == {
        "Code": "ValidationException",
        "Message": "Parameter(s) EventPattern or ScheduleExpression must be specified.",
    }
    error = refusal(events.put_rule, Name=name, EventPattern='{"source": "aws.ec2"}')
    assert error == {
        "Code": "InvalidEventPatternException",
        "Message": 'Event pattern is not valid. Reason: "source" must be an object or an array',
    }
    error = refusal(events.put_rule, Name=name, EventPattern="{nope")
    assert error["Code"] == "InvalidEventPatternException"
    for expression in ("rate(1 minutes)", "cron(0 10 * * * *)", "every day"):
        error = refusal(events.put_rule, Name=name, ScheduleExpression=expression)
        assert error == {
            "Code": "ValidationException",
            "Message": "Parameter ScheduleExpression is not valid.",
        }
    error = refusal(events.put_rule, Name="bad name!", EventPattern=PATTERN)
    assert error["Code"] == "ValidationException"
    assert refusal(events.describe_rule, Name=name)["Code"] == "ResourceNotFoundException"


def test_the_default_bus_and_a_bus_that_does_not_exist(events: Any) -> None:
    bus = events.describe_event_bus()
    assert bus["Name"] == "default"
    assert bus["Arn"] == f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
    assert events.describe_event_bus(Name=bus["Arn"])["Name"] == "default"
    error = refusal(events.describe_event_bus, Name="other")
    assert error == {
        "Code": "ResourceNotFoundException",
        "Message": "Event bus other does not exist.",
    }
    error = refusal(events.put_rule, Name=unique(), EventPattern=PATTERN, EventBusName="other")
    assert error["Code"] == "ResourceNotFoundException"


def test_targets_lifecycle_and_delete_rule(events: Any) -> None:
    name = unique()
    events.put_rule(Name=name, EventPattern=PATTERN)
    targets = [
        {"Id": "logs", "Arn": _log_group_arn("/t/a"), "Input": '{"k": 1}'},
        {
            "Id": "fn",
            "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f",
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 120},
        },
        {
            "Id": "queue",
            "Arn": f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/q",
            "BatchParameters": {
                "JobDefinition": "jd:1",
                "JobName": "from-events",
                "ArrayProperties": {"Size": 2},
                "RetryStrategy": {"Attempts": 3},
            },
        },
        {
            "Id": "sm",
            "Arn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:m",
            "InputPath": "$.detail",
        },
    ]
    result = events.put_targets(Rule=name, Targets=targets)
    assert result["FailedEntryCount"] == 0 and result["FailedEntries"] == []
    listed = events.list_targets_by_rule(Rule=name)["Targets"]
    assert listed == targets
    page = events.list_targets_by_rule(Rule=name, Limit=3)
    assert [t["Id"] for t in page["Targets"]] == ["logs", "fn", "queue"]
    rest = events.list_targets_by_rule(Rule=name, NextToken=page["NextToken"])
    assert [t["Id"] for t in rest["Targets"]] == ["sm"] and "NextToken" not in rest

    updated = {"Id": "logs", "Arn": _log_group_arn("/t/b")}
    events.put_targets(Rule=name, Targets=[updated])
    assert events.list_targets_by_rule(Rule=name)["Targets"][0] == updated

    error = refusal(events.delete_rule, Name=name)
    assert error == {
        "Code": "ValidationException",
        "Message": "Rule can't be deleted since it has targets.",
    }
    removed = events.remove_targets(Rule=name, Ids=["logs", "fn", "queue", "sm", "not-there"])
    assert removed["FailedEntryCount"] == 0
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []
    events.delete_rule(Name=name)
    assert refusal(events.describe_rule, Name=name)["Code"] == "ResourceNotFoundException"


def test_put_targets_failed_entries_and_limits(events: Any) -> None:
    name = unique()
    events.put_rule(Name=name, EventPattern=PATTERN)
    result = events.put_targets(
        Rule=name,
        Targets=[
            {"Id": "ok", "Arn": _log_group_arn("/t/ok")},
            {"Id": "sqs", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue"},
        ],
    )
    assert result["FailedEntryCount"] == 1
    assert result["FailedEntries"][0]["TargetId"] == "sqs"
    assert result["FailedEntries"][0]["ErrorCode"] == "ValidationException"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == ["ok"]

    more = [{"Id": f"t{i}", "Arn": _log_group_arn(f"/t/{i}")} for i in range(5)]
    error = refusal(events.put_targets, Rule=name, Targets=more)
    assert error["Code"] == "LimitExceededException"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == ["ok"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"Arn": "not-an-arn"},
            "Parameter not-an-arn is not valid. Reason: Provided Arn is not in correct format.",
        ),
        (
            {"Arn": _log_group_arn("g"), "Input": "{}", "InputPath": "$.detail"},
            "Only one of Input, InputPath, or InputTransformer must be provided for target bad.",
        ),
        (
            {"Arn": _log_group_arn("g"), "Input": "not json"},
            "Input for target bad is not valid JSON text.",
        ),
        (
            {"Arn": _log_group_arn("g"), "InputPath": "detail"},
            "detail is not a valid JSON path for target bad.",
        ),
        (
            {
                "Arn": _log_group_arn("g"),
                "InputTransformer": {"InputPathsMap": {"a": "$.detail"}, "InputTemplate": "<b>"},
            },
            "InputTemplate contains invalid placeholder b for target bad.",
        ),
        (
            {"Arn": f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/q"},
            "Parameter(s) BatchParameters must be specified for target: bad.",
        ),
    ],
)
def test_put_targets_rejects_bad_configuration(
    events: Any, target: dict[str, Any], message: str
) -> None:
    name = unique()
    events.put_rule(Name=name, EventPattern=PATTERN)
    error = refusal(
        events.put_targets,
        Rule=name,
        Targets=[{"Id": "good", "Arn": _log_group_arn("g")}, {"Id": "bad", **target}],
    )
    assert error == {"Code": "ValidationException", "Message": message}
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []


def test_test_event_pattern(events: Any) -> None:
    event = {
        "id": "1",
        "account": ACCOUNT,
        "source": "my.app",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "detail-type": "t",
        "resources": [],
        "detail": {"n": 7},
    }
    pattern = {"source": ["my.app"], "detail": {"n": [{"numeric": [">", 5]}]}}
    assert events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))[
        "Result"
    ]
    pattern["detail"]["n"] = [{"numeric": ["<", 5]}]
    assert not events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))[
        "Result"
    ]
    error = refusal(events.test_event_pattern, EventPattern='{"a": [}', Event=json.dumps(event))
    assert error["Code"] == "InvalidEventPatternException"
    error = refusal(events.test_event_pattern, EventPattern=PATTERN, Event='{"source": "x"}')
    assert error == {"Code": "ValidationException", "Message": "Parameter Event is not valid."}


def test_put_events_per_entry_results(events: Any) -> None:
    result = events.put_events(
        Entries=[
            {"Source": "my.app", "DetailType": "t", "Detail": '{"a": 1}'},
            {"Source": "my.app", "DetailType": "t"},
            {"Source": "my.app", "DetailType": "t", "Detail": "[]"},
            {"Source": "my.app", "DetailType": "t", "Detail": "{}", "EventBusName": "other"},
            {"Source": "aws.batch", "DetailType": "t", "Detail": "{}"},
        ]
    )
    assert result["FailedEntryCount"] == 4
    first, *failed = result["Entries"]
    assert set(first) == {"EventId"}
    assert [entry["ErrorCode"] for entry in failed] == [
        "InvalidArgument",
        "MalformedDetail",
        "ResourceNotFoundException",
        "NotAuthorizedForSourceException",
    ]


def test_deeply_nested_json_is_refused_not_crashed_on(events: Any) -> None:
    deep = '{"a":' * 50000 + "1" + "}" * 50000
    result = events.put_events(Entries=[{"Source": "my.app", "DetailType": "t", "Detail": deep}])
    assert result["Entries"][0]["ErrorCode"] == "MalformedDetail"
    error = refusal(events.test_event_pattern, EventPattern=PATTERN, Event=deep)
    assert error["Code"] == "ValidationException"
    pattern = '{"a":' * 500 + '["x"]' + "}" * 500
    error = refusal(events.put_rule, Name=unique(), EventPattern=pattern)
    assert error["Code"] == "InvalidEventPatternException"


def test_server_side_validation_of_the_shape(server: ServerProcess) -> None:
    unchecked = boto3.client(
        "events",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False, retries={"max_attempts": 0}),
    )
    entries = [{"Source": "my.app", "DetailType": "t", "Detail": "{}"}] * 11
    for kwargs in ({"Entries": []}, {"Entries": entries}):
        assert refusal(unchecked.put_events, **kwargs)["Code"] == "ValidationException"
    error = refusal(unchecked.put_targets, Rule=unique(), Targets=[{"Id": "t"}])
    assert error["Code"] == "ValidationException"


def test_rule_tags(events: Any) -> None:
    name = unique()
    arn = events.put_rule(Name=name, EventPattern=PATTERN, Tags=[{"Key": "team", "Value": "a"}])[
        "RuleArn"
    ]
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    events.tag_resource(
        ResourceARN=arn, Tags=[{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "dev"}]
    )
    tags = events.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("team", "b")]
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}
    ]
    events.put_rule(Name=name, EventPattern=PATTERN)  # an update keeps the rule's tags
    assert len(events.list_tags_for_resource(ResourceARN=arn)["Tags"]) == 1
    missing = arn.replace(name, unique("missing"))
    assert refusal(events.list_tags_for_resource, ResourceARN=missing)["Code"] == (
        "ResourceNotFoundException"
    )


def test_list_rule_names_by_target(events: Any) -> None:
    group_arn = _log_group_arn(f"/by-target/{uuid.uuid4().hex}")
    names = sorted(unique("by-target") for _ in range(3))
    for name in names:
        events.put_rule(Name=name, EventPattern=PATTERN)
        events.put_targets(Rule=name, Targets=[{"Id": "logs", "Arn": group_arn}])
    page = events.list_rule_names_by_target(TargetArn=group_arn, Limit=2)
    assert page["RuleNames"] == names[:2]
    rest = events.list_rule_names_by_target(TargetArn=group_arn, NextToken=page["NextToken"])
    assert rest["RuleNames"] == names[2:] and "NextToken" not in rest
