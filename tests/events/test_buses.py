"""Custom event buses through boto3 against a live server: their lifecycle and AWS's errors,
rules and targets on them, and events put on them by name or ARN meeting only their rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.events.support import log_group, refusal, unique
from tests.support.server import ServerProcess, wait_for

ACCOUNT = "123456789012"
BUS_ARN = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/"


def _details(logs: Any, group: str) -> list[dict[str, Any]]:
    found = logs.filter_log_events(logGroupName=group)["events"]
    return [json.loads(e["message"])["detail"] for e in sorted(found, key=lambda e: e["timestamp"])]


def test_a_bus_is_created_described_listed_updated_and_deleted(events: Any) -> None:
    name = unique("orders")
    created = events.create_event_bus(
        Name=name, Description="orders of the shop", Tags=[{"Key": "team", "Value": "shop"}]
    )
    assert created["EventBusArn"] == BUS_ARN + name
    assert created["Description"] == "orders of the shop"
    described = events.describe_event_bus(Name=name)
    assert {k: described[k] for k in ("Name", "Arn", "Description")} == {
        "Name": name, "Arn": BUS_ARN + name, "Description": "orders of the shop",
    }
    assert described["CreationTime"] == described["LastModifiedTime"]
    assert events.describe_event_bus(Name=BUS_ARN + name)["Name"] == name
    assert events.list_tags_for_resource(ResourceARN=BUS_ARN + name)["Tags"] == [
        {"Key": "team", "Value": "shop"}
    ]
    events.tag_resource(ResourceARN=BUS_ARN + name, Tags=[{"Key": "tier", "Value": "1"}])
    assert len(events.list_tags_for_resource(ResourceARN=BUS_ARN + name)["Tags"]) == 2

    updated = events.update_event_bus(Name=name, Description="all orders")
    assert updated["Arn"] == BUS_ARN + name and updated["Description"] == "all orders"
    described = events.describe_event_bus(Name=name)
    assert described["Description"] == "all orders"
    assert described["LastModifiedTime"] > described["CreationTime"]

    events.delete_event_bus(Name=name)
    assert refusal(events.describe_event_bus, Name=name) == {
        "Code": "ResourceNotFoundException", "Message": f"Event bus {name} does not exist.",
    }
    assert refusal(events.list_tags_for_resource, ResourceARN=BUS_ARN + name)["Code"] == (
        "ResourceNotFoundException"
    )
    events.delete_event_bus(Name=name)  # deleting what is not there succeeds


def test_list_event_buses_has_the_default_bus_and_pages_by_name(events: Any) -> None:
    prefix = unique("list")
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in reversed(names):
        events.create_event_bus(Name=name)
    listed = events.list_event_buses(NamePrefix=prefix)["EventBuses"]
    assert [bus["Name"] for bus in listed] == names
    assert all(bus["Arn"] == BUS_ARN + bus["Name"] for bus in listed)
    first = events.list_event_buses(NamePrefix=prefix, Limit=2)
    rest = events.list_event_buses(NamePrefix=prefix, NextToken=first["NextToken"])
    assert [b["Name"] for b in first["EventBuses"] + rest["EventBuses"]] == names
    assert "NextToken" not in rest
    everything = events.list_event_buses()["EventBuses"]
    assert {"Name": "default", "Arn": BUS_ARN + "default"} in everything
    assert [b["Name"] for b in events.list_event_buses(NamePrefix="defau")["EventBuses"]] == [
        "default"
    ]


def test_the_default_bus_can_be_updated_but_not_created_or_deleted(events: Any) -> None:
    assert refusal(events.create_event_bus, Name="default") == {
        "Code": "ResourceAlreadyExistsException", "Message": "Event bus default already exists.",
    }
    assert refusal(events.delete_event_bus, Name="default") == {
        "Code": "ValidationException", "Message": "Cannot delete event bus default.",
    }
    log_config = {"IncludeDetail": "FULL", "Level": "INFO"}
    events.update_event_bus(LogConfig=log_config)
    assert events.describe_event_bus()["LogConfig"] == log_config


def test_bus_errors(events: Any) -> None:
    name = unique("dup")
    events.create_event_bus(Name=name)
    assert refusal(events.create_event_bus, Name=name) == {
        "Code": "ResourceAlreadyExistsException", "Message": f"Event bus {name} already exists.",
    }
    assert refusal(events.create_event_bus, Name="team/bus") == {
        "Code": "ValidationException", "Message": "Event bus name must not contain '/'.",
    }
    source = "aws.partner/example.com/123/orders"
    assert refusal(events.create_event_bus, Name=source, EventSourceName=source) == {
        "Code": "ResourceNotFoundException", "Message": f"Event source {source} does not exist.",
    }
    assert refusal(events.create_event_bus, Name="bad name!")["Code"] == "ValidationException"
    missing = unique("missing")
    for call, kwargs in (
        (events.describe_event_bus, {"Name": missing}),
        (events.update_event_bus, {"Name": missing, "Description": "x"}),
        (events.list_rules, {"EventBusName": missing}),
        (events.put_rule, {"Name": "r", "EventPattern": "{}", "EventBusName": missing}),
    ):
        assert refusal(call, **kwargs) == {
            "Code": "ResourceNotFoundException", "Message": f"Event bus {missing} does not exist.",
        }
    other_account = f"arn:aws:events:us-east-1:999999999999:event-bus/{name}"
    assert refusal(events.describe_event_bus, Name=other_account)["Code"] == (
        "ResourceNotFoundException"
    )


def test_a_bus_with_rules_cannot_be_deleted(events: Any) -> None:
    bus = unique("busy")
    events.create_event_bus(Name=bus)
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["x"]}), EventBusName=bus)
    assert refusal(events.delete_event_bus, Name=bus) == {
        "Code": "ValidationException", "Message": "EventBus can't be deleted since it has rules.",
    }
    events.delete_rule(Name="r", EventBusName=bus)
    events.delete_event_bus(Name=bus)
    assert refusal(events.describe_event_bus, Name=bus)["Code"] == "ResourceNotFoundException"


def test_rules_on_a_custom_bus_receive_only_its_events(server: ServerProcess) -> None:
    events, logs = server.client("events"), server.client("logs")
    bus = unique("custom")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique("my.app")
    pattern = json.dumps({"source": [source]})
    rule_arn = events.put_rule(Name="orders", EventPattern=pattern, EventBusName=bus)["RuleArn"]
    assert rule_arn == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{bus}/orders"
    described = events.describe_rule(Name="orders", EventBusName=bus_arn)
    assert described["EventBusName"] == bus and described["Arn"] == rule_arn
    assert refusal(events.describe_rule, Name="orders") == {
        "Code": "ResourceNotFoundException",
        "Message": "Rule orders does not exist on EventBus default.",
    }
    assert [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]] == ["orders"]
    custom_group, custom_arn = log_group(logs, "buses")
    events.put_targets(
        Rule="orders", EventBusName=bus, Targets=[{"Id": "logs", "Arn": custom_arn}]
    )
    assert events.list_targets_by_rule(Rule="orders", EventBusName=bus)["Targets"] == [
        {"Id": "logs", "Arn": custom_arn}
    ]
    assert events.list_rule_names_by_target(TargetArn=custom_arn, EventBusName=bus)[
        "RuleNames"
    ] == ["orders"]
    default_rule = unique("default-orders")
    default_group, default_arn = log_group(logs, "buses")
    events.put_rule(Name=default_rule, EventPattern=pattern)
    events.put_targets(Rule=default_rule, Targets=[{"Id": "logs", "Arn": default_arn}])

    entry = {"Source": source, "DetailType": "order"}
    result = events.put_events(
        Entries=[
            {**entry, "Detail": '{"to": "custom by name"}', "EventBusName": bus},
            {**entry, "Detail": '{"to": "custom by arn"}', "EventBusName": bus_arn},
            {**entry, "Detail": '{"to": "default"}'},
        ]
    )
    assert result["FailedEntryCount"] == 0
    custom = wait_for(lambda: len(d := _details(logs, custom_group)) >= 2 and d, timeout=10)
    assert sorted(d["to"] for d in custom) == ["custom by arn", "custom by name"]
    assert wait_for(lambda: _details(logs, default_group), timeout=10) == [{"to": "default"}]
    assert len(_details(logs, custom_group)) == 2


def test_buses_and_their_rules_survive_a_restart(new_server: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "buses"
    first = new_server(data_dir=data_dir)
    events, logs = first.client("events"), first.client("logs")
    events.create_event_bus(Name="kept", Description="survives")
    group, group_arn = log_group(logs, "buses")
    pattern = json.dumps({"source": ["kept.app"]})
    events.put_rule(Name="r", EventPattern=pattern, EventBusName="kept")
    events.put_targets(Rule="r", EventBusName="kept", Targets=[{"Id": "logs", "Arn": group_arn}])
    first.kill()

    second = new_server(data_dir=data_dir)
    events, logs = second.client("events"), second.client("logs")
    assert events.describe_event_bus(Name="kept")["Description"] == "survives"
    entry = {"Source": "kept.app", "DetailType": "t", "Detail": '{"n": 1}', "EventBusName": "kept"}
    events.put_events(Entries=[entry])
    assert wait_for(lambda: _details(logs, group), timeout=10) == [{"n": 1}]
