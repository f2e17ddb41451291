"""Log groups per account and region, deleting groups and streams, ListLogGroups, tags, and the
migration that gave groups their account and region."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from alembic import command
from botocore.exceptions import ClientError
from tests.support.server import CLIENT_CONFIG, ServerProcess

from batchyard.store import Store
from batchyard.store.migrate import alembic_config


@pytest.fixture(scope="module")
def logs(server: ServerProcess) -> Any:
    return server.client("logs")


def _client(server: ServerProcess, region: str, key: str = "testing") -> Any:
    return boto3.client(
        "logs", endpoint_url=server.endpoint, region_name=region, aws_access_key_id=key,
        aws_secret_access_key="testing", config=CLIENT_CONFIG,
    )


def _name() -> str:
    return f"/groups/{uuid.uuid4().hex[:12]}"


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_the_same_group_name_in_two_regions_is_two_groups(server: ServerProcess) -> None:
    east, west = _client(server, "us-east-1"), _client(server, "eu-west-1")
    name = _name()
    east.create_log_group(logGroupName=name)
    west.create_log_group(logGroupName=name)
    east.create_log_stream(logGroupName=name, logStreamName="only-east")
    now = int(time.time() * 1000)
    east.put_log_events(logGroupName=name, logStreamName="only-east",
                        logEvents=[{"timestamp": now, "message": "east"}])
    [east_group] = east.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    [west_group] = west.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert ":us-east-1:" in east_group["arn"] and ":eu-west-1:" in west_group["arn"]
    assert east_group["storedBytes"] == 4 and west_group["storedBytes"] == 0
    assert west.describe_log_streams(logGroupName=name)["logStreams"] == []
    with pytest.raises(ClientError) as error:
        west.get_log_events(logGroupName=name, logStreamName="only-east")
    assert _code(error) == "ResourceNotFoundException"
    west.delete_log_group(logGroupName=name)
    assert east.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == [east_group]


def test_delete_log_group_and_stream(logs: Any) -> None:
    name = _name()
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="a")
    logs.create_log_stream(logGroupName=name, logStreamName="b")
    logs.put_log_events(logGroupName=name, logStreamName="a",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "x"}])
    logs.delete_log_stream(logGroupName=name, logStreamName="a")
    streams = logs.describe_log_streams(logGroupName=name)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["b"]
    with pytest.raises(ClientError) as error:
        logs.delete_log_stream(logGroupName=name, logStreamName="a")
    assert _code(error) == "ResourceNotFoundException"
    logs.delete_log_group(logGroupName=name)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    with pytest.raises(ClientError) as error:
        logs.delete_log_group(logGroupName=name)
    assert _code(error) == "ResourceNotFoundException"
    logs.create_log_group(logGroupName=name)
    assert logs.describe_log_streams(logGroupName=name)["logStreams"] == []


def test_list_log_groups_by_pattern_and_page(logs: Any) -> None:
    base = f"/list-{uuid.uuid4().hex[:8]}"
    names = [f"{base}/jobs/a", f"{base}/jobs/b", f"{base}/lambda/c", f"{base}/Other"]
    for name in names:
        logs.create_log_group(logGroupName=name)
    found = logs.list_log_groups(logGroupNamePattern=f"^{base}/jobs")["logGroups"]
    assert [g["logGroupName"] for g in found] == names[:2]
    assert found[0]["logGroupArn"].endswith(f":log-group:{names[0]}")
    either = logs.list_log_groups(logGroupNamePattern=f"^{base}/lambda|{base}/Other")["logGroups"]
    assert [g["logGroupName"] for g in either] == sorted(names[2:])
    assert logs.list_log_groups(logGroupNamePattern=f"{base}/other")["logGroups"] == []
    page = logs.list_log_groups(logGroupNamePattern=base, limit=3)
    rest = logs.list_log_groups(logGroupNamePattern=base, limit=3, nextToken=page["nextToken"])
    assert [g["logGroupName"] for g in page["logGroups"] + rest["logGroups"]] == sorted(names)
    assert "nextToken" not in rest
    described = logs.describe_log_groups(logGroupNamePattern=f"{base}/OTHER")["logGroups"]
    assert [g["logGroupName"] for g in described] == [names[3]]


def test_tags_by_group_name_and_by_arn(server: ServerProcess, logs: Any) -> None:
    name = _name()
    logs.create_log_group(logGroupName=name, tags={"team": "a"})
    logs.tag_log_group(logGroupName=name, tags={"stage": "dev"})
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"team": "a", "stage": "dev"}
    arn = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["logGroupArn"]
    logs.tag_resource(resourceArn=arn, tags={"owner": "me"})
    logs.untag_resource(resourceArn=arn, tagKeys=["team", "absent"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"stage": "dev", "owner": "me"}
    logs.untag_log_group(logGroupName=name, tags=["stage"])
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"owner": "me"}
    with pytest.raises(ClientError) as error:
        logs.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(50)})
    assert _code(error) == "TooManyTagsException"
    west = _client(server, "eu-west-1")
    with pytest.raises(ClientError) as error:
        west.list_tags_for_resource(resourceArn=arn)
    assert _code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        logs.list_tags_log_group(logGroupName=f"{name}-missing")
    assert _code(error) == "ResourceNotFoundException"


def test_groups_stored_before_accounts_move_into_the_default_account(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "logs_0001")
        connection.execute(sa.text(
            "insert into log_groups (name, created_at, retention_days, tags) "
            "values ('/old', 1, 7, '{\"k\": \"v\"}')"
        ))
        connection.execute(sa.text(
            "insert into log_streams (group_name, name, created_at, stored_bytes) "
            "values ('/old', 's', 1, 2)"
        ))
        connection.execute(sa.text(
            "insert into log_events (stream_id, timestamp, ingested_at, message) "
            "values (1, 5, 6, 'hi')"
        ))
    engine.dispose()
    store = Store(url, "111122223333", "eu-west-1")
    try:
        with store.engine.connect() as connection:
            groups = connection.execute(sa.text(
                "select id, account_id, region, name, retention_days from log_groups"
            )).all()
            streams = connection.execute(sa.text("select group_id, name from log_streams")).all()
            events = connection.execute(sa.text("select message from log_events")).all()
    finally:
        store.close()
    assert [tuple(g) for g in groups] == [(1, "111122223333", "eu-west-1", "/old", 7)]
    assert [tuple(s) for s in streams] == [(1, "s")]
    assert [tuple(e) for e in events] == [("hi",)]
