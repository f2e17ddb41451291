"""Every rule belongs to one account and region: the same name in two of them is two rules,
ARNs say where, events only meet the rules of their own bus, and stored rules from before
accounts and regions keep theirs (taken from their ARNs)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from alembic import command

from batchyard.aws.caller import Caller
from batchyard.events import EventBridge, PutEventsEntry, Target, TargetEvent
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.engine import create_store_engine
from batchyard.store.migrate import alembic_config
from tests.support.server import CLIENT_CONFIG, ServerProcess, wait_for

HOME = Caller("111111111111", "eu-west-1")
OTHER_ACCOUNT = Caller("222222222222", "eu-west-1")
OTHER_REGION = Caller("111111111111", "us-east-1")
CALLERS = (HOME, OTHER_ACCOUNT, OTHER_REGION)
PATTERN = json.dumps({"source": ["my.app"]})


class _Recorder:
    """A deliverer of ``test:sink`` targets that remembers who each event was delivered for."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str, str]] = []

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        self.delivered.append((caller.account_id, caller.region, event.event["account"]))


def _sink(caller: Caller) -> str:
    return f"arn:aws:test:{caller.region}:{caller.account_id}:sink/s"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'batchyard.db'}")
    yield store
    store.close()


def test_the_same_rule_name_in_two_accounts_and_two_regions_is_three_rules(store: Store) -> None:
    async def scenario() -> None:
        events = EventBridge(store, time_scale=1000.0)
        recorder = _Recorder()
        events.register_target("test:sink", recorder)
        await events.start()
        try:
            for caller in CALLERS:
                arn = (await events.put_rule(caller, "r", event_pattern=PATTERN,
                                             tags={"owner": caller.account_id})).rule_arn
                assert arn == f"arn:aws:events:{caller.region}:{caller.account_id}:rule/r"
                await events.put_targets(caller, "r", [Target("t", _sink(caller))])
                bus = await events.describe_event_bus(caller)
                assert bus.arn == (
                    f"arn:aws:events:{caller.region}:{caller.account_id}:event-bus/default"
                )
            for caller in CALLERS:
                [rule] = (await events.list_rules(caller)).rules
                assert rule.arn.startswith(f"arn:aws:events:{caller.region}:{caller.account_id}:")
                tags = await events.list_tags_for_resource(caller, rule.arn)
                assert [(t.key, t.value) for t in tags.tags] == [("owner", caller.account_id)]
            result = await events.put_events(
                OTHER_ACCOUNT, [PutEventsEntry("my.app", "t", "{}")]
            )
            assert result.failed_entry_count == 0
            await asyncio.wait_for(events.settled(), timeout=10)
            assert recorder.delivered == [("222222222222", "eu-west-1", "222222222222")]
        finally:
            await events.stop()

    asyncio.run(scenario())


def test_nothing_of_one_account_or_region_is_visible_from_another(store: Store) -> None:
    async def scenario() -> None:
        events = EventBridge(store)
        events.register_target("test:sink", _Recorder())
        await events.start()
        try:
            arn = (await events.put_rule(HOME, "r", event_pattern=PATTERN)).rule_arn
            await events.put_targets(HOME, "r", [Target("t", _sink(HOME))])
            home_bus = (await events.describe_event_bus(HOME)).arn
            for caller in (OTHER_ACCOUNT, OTHER_REGION):
                assert (await events.list_rules(caller)).rules == []
                names = await events.list_rule_names_by_target(caller, _sink(HOME))
                assert names.rule_names == []
                for call in (
                    events.describe_rule(caller, "r"),
                    events.list_targets_by_rule(caller, "r"),
                    events.disable_rule(caller, "r"),
                    events.remove_targets(caller, "r", ["t"]),
                    events.put_targets(caller, "r", [Target("t2", _sink(caller))]),
                    events.list_tags_for_resource(caller, arn),
                    events.tag_resource(caller, arn, {"a": "b"}),
                    events.untag_resource(caller, arn, ["a"]),
                    events.describe_event_bus(caller, home_bus),
                ):
                    with pytest.raises(ServiceError) as refused:
                        await call
                    assert refused.value.code == "ResourceNotFoundException"
                # Deleting what is not there succeeds, and leaves HOME's rule alone.
                await events.delete_rule(caller, "r")
                [result] = (await events.put_events(
                    caller, [PutEventsEntry("my.app", "t", "{}", event_bus_name=home_bus)]
                )).entries
                assert result.error_code == "ResourceNotFoundException"
            rule = await events.describe_rule(HOME, "r")
            assert rule.enabled and rule.arn == arn
            [target] = (await events.list_targets_by_rule(HOME, "r")).targets
            assert target.id == "t"
        finally:
            await events.stop()

    asyncio.run(scenario())


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_existing_rules_take_their_account_and_region_from_their_arns(old_store: str) -> None:
    engine = create_store_engine(old_store)
    config = alembic_config("333333333333", "ap-south-1")
    rule_arn = "arn:aws:events:eu-west-1:111122223333:rule/r"
    document = {"Name": "r", "Arn": rule_arn, "EventBusName": "default", "State": "ENABLED",
                "EventPattern": PATTERN, "CreatedBy": "111122223333"}
    target = {"Id": "t", "Arn": "arn:aws:logs:eu-west-1:111122223333:log-group:g"}
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "events@events_0001")
        connection.execute(
            sa.text("INSERT INTO events_rules (event_bus_name, name, arn, document, tags) "
                    "VALUES ('default', 'r', :a, :d, :t), ('default', 'q', 'q', '{}', '[]')"),
            {"a": rule_arn, "d": json.dumps(document),
             "t": json.dumps([{"Key": "team", "Value": "a"}])},
        )
        connection.execute(
            sa.text("INSERT INTO events_targets (event_bus_name, rule_name, target_id, "
                    "document) VALUES ('default', 'r', 't', :d)"),
            {"d": json.dumps(target)},
        )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
        rules = connection.execute(
            sa.text("SELECT seq, name, account_id, region, document FROM events_rules "
                    "ORDER BY seq")
        ).all()
        targets = connection.execute(
            sa.text("SELECT account_id, region, rule_name, document FROM events_targets")
        ).all()
        tags = connection.execute(sa.text("SELECT resource_arn, key, value FROM events_tags")).all()
        # The rules keep their seq, and new ones come after them.
        connection.execute(
            sa.text("INSERT INTO events_rules (account_id, region, event_bus_name, name, arn, "
                    "document) VALUES ('111122223333', 'eu-west-1', 'default', 'new', 'n', '{}')")
        )
        seqs = connection.execute(sa.text("SELECT seq FROM events_rules ORDER BY seq")).all()
        # The same name in another account is another rule now.
        connection.execute(
            sa.text("INSERT INTO events_rules (account_id, region, event_bus_name, name, arn, "
                    "document) VALUES ('444444444444', 'eu-west-1', 'default', 'r', 'r4', '{}')")
        )
    engine.dispose()
    assert [(seq, name, account, region) for seq, name, account, region, _ in rules] == [
        (1, "r", "111122223333", "eu-west-1"),
        (2, "q", "333333333333", "ap-south-1"),  # an ARN that does not say: the defaults
    ]
    assert _json(rules[0][4]) == document
    assert [(a, r, n, _json(d)) for a, r, n, d in targets] == [
        ("111122223333", "eu-west-1", "r", target)
    ]
    assert tags == [(rule_arn, "team", "a")]
    assert [seq for (seq,) in seqs] == [1, 2, 3]


def _regional(server: ServerProcess, service: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=CLIENT_CONFIG,
    )


def test_a_region_of_the_api_has_its_own_rules_and_its_events_stay_there(
    server: ServerProcess,
) -> None:
    name = f"regional-{uuid.uuid4().hex[:12]}"
    source = f"my.{name}"
    pattern = json.dumps({"source": [source]})
    groups = {}
    for region in ("us-east-1", "eu-west-1"):
        events, logs = _regional(server, "events", region), _regional(server, "logs", region)
        group = f"/regional/{name}"
        logs.create_log_group(logGroupName=group)
        arn = events.put_rule(Name=name, EventPattern=pattern)["RuleArn"]
        assert arn == f"arn:aws:events:{region}:123456789012:rule/{name}"
        group_arn = f"arn:aws:logs:{region}:123456789012:log-group:{group}"
        events.put_targets(Rule=name, Targets=[{"Id": "log", "Arn": group_arn}])
        groups[region] = (logs, group)
    eu = _regional(server, "events", "eu-west-1")
    eu.disable_rule(Name=name)
    assert eu.describe_rule(Name=name)["State"] == "DISABLED"
    us = _regional(server, "events", "us-east-1")
    assert us.describe_rule(Name=name)["State"] == "ENABLED"
    eu.enable_rule(Name=name)
    [entry] = eu.put_events(
        Entries=[{"Source": source, "DetailType": "t", "Detail": '{"where": "eu"}'}]
    )["Entries"]

    logs, group = groups["eu-west-1"]
    [message] = wait_for(
        lambda: [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]],
        what="the event in eu-west-1's group",
    )
    event = json.loads(message)
    assert (event["id"], event["region"], event["detail"]) == (
        entry["EventId"], "eu-west-1", {"where": "eu"}
    )
    logs, group = groups["us-east-1"]
    assert logs.filter_log_events(logGroupName=group)["events"] == []
