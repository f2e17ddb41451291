"""Versions and aliases over boto3: publishing, invoking a version or an alias (its code,
configuration, logs and context), routing weights, listing, deleting, and Step Functions
calling an alias."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.functions.support import call, create, unique, zip_of
from tests.support.server import ServerProcess, wait_for

REPORT = """
    import os

    WHO = "{who}"

    def handler(event, context):
        return {{
            "who": WHO,
            "stage": os.environ.get("STAGE"),
            "version": context.function_version,
            "arn": context.invoked_function_arn,
        }}
"""


def _source(who: str) -> str:
    return REPORT.format(who=who)


def _update_code(lam: Any, name: str, who: str, **params: Any) -> dict[str, Any]:
    return lam.update_function_code(
        FunctionName=name, ZipFile=zip_of({"app.py": _source(who)}), **params
    )


def _stage(lam: Any, name: str, stage: str) -> None:
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"STAGE": stage}}
    )


def test_a_version_keeps_the_code_and_configuration_it_was_published_with(lam: Any) -> None:
    name = create(lam, _source("one"), Environment={"Variables": {"STAGE": "a"}})
    first = lam.publish_version(FunctionName=name, Description="first")
    assert (first["Version"], first["Description"]) == ("1", "first")
    assert first["FunctionArn"].endswith(f":function:{name}:1")
    # Nothing changed since: Lambda answers the same version.
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    _update_code(lam, name, "two")
    _stage(lam, name, "b")
    assert call(lam, name)[1]["who"] == "two"
    response, body = call(lam, name, Qualifier="1")
    assert body == {
        "who": "one",
        "stage": "a",
        "version": "1",
        "arn": first["FunctionArn"],
    }
    assert response["ExecutedVersion"] == "1"
    assert call(lam, f"{name}:$LATEST")[0]["ExecutedVersion"] == "$LATEST"
    configuration = lam.get_function_configuration(FunctionName=name, Qualifier="1")
    assert (configuration["Version"], configuration["Environment"]) == (
        "1",
        {"Variables": {"STAGE": "a"}},
    )
    second = lam.publish_version(FunctionName=name)
    assert second["Version"] == "2"
    listed = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in listed] == ["$LATEST", "1", "2"]
    tail = lam.invoke(FunctionName=name, Qualifier="2", LogType="Tail")["LogResult"]
    assert "Version: 2" in base64.b64decode(tail).decode()


def test_publish_checks_the_code_and_revision_it_is_given(lam: Any) -> None:
    name = create(lam, _source("one"))
    current = lam.get_function_configuration(FunctionName=name)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="CodeSHA256"):
        lam.publish_version(FunctionName=name, CodeSha256="not-it")
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.publish_version(FunctionName=name, RevisionId="stale")
    published = lam.publish_version(
        FunctionName=name, CodeSha256=current["CodeSha256"], RevisionId=current["RevisionId"]
    )
    assert published["Version"] == "1"
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match=f"{name}:7"):
        call(lam, name, Qualifier="7")


def test_create_and_update_code_can_publish(lam: Any) -> None:
    name = unique("fn")
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/lambda-role",
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": _source("one")})},
        Publish=True,
    )
    assert created["Version"] == "1"
    assert _update_code(lam, name, "two", Publish=True)["Version"] == "2"
    assert call(lam, name, Qualifier="1")[1]["who"] == "one"
    assert call(lam, name, Qualifier="2")[1]["who"] == "two"


def test_an_alias_follows_the_version_it_names(lam: Any) -> None:
    name = create(lam, _source("one"))
    lam.publish_version(FunctionName=name)
    _update_code(lam, name, "two")
    lam.publish_version(FunctionName=name)
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert alias["AliasArn"].endswith(f":function:{name}:live")
    response, body = call(lam, name, Qualifier="live")
    assert (body["who"], body["version"], response["ExecutedVersion"]) == ("one", "1", "1")
    assert body["arn"] == alias["AliasArn"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.create_alias(FunctionName=name, Name="nowhere", FunctionVersion="9")
    updated = lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    assert updated["RevisionId"] != alias["RevisionId"]
    assert call(lam, f"{name}:live")[1]["who"] == "two"
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_alias(FunctionName=name, Name="live", RevisionId=alias["RevisionId"])
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
    lam.create_alias(FunctionName=name, Name="edge", FunctionVersion="$LATEST")
    listed = lam.list_aliases(FunctionName=name)["Aliases"]
    assert [(a["Name"], a["FunctionVersion"]) for a in listed] == [
        ("edge", "$LATEST"),
        ("live", "2"),
    ]
    assert [
        a["Name"] for a in lam.list_aliases(FunctionName=name, FunctionVersion="2")["Aliases"]
    ] == ["live"]
    # A version an alias names cannot go; once the alias has gone, it can.
    with pytest.raises(lam.exceptions.ResourceConflictException, match=r"\[live\]"):
        lam.delete_function(FunctionName=name, Qualifier="2")
    lam.delete_alias(FunctionName=name, Name="live")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_alias(FunctionName=name, Name="live")
    lam.delete_function(FunctionName=name, Qualifier="2")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == [
        "$LATEST",
        "1",
    ]
    # Numbers are not reused.
    _update_code(lam, name, "three")
    assert lam.publish_version(FunctionName=name)["Version"] == "3"
    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name, Qualifier="1")


def test_routing_weights_split_invocations_between_two_versions(lam: Any) -> None:
    name = create(lam, _source("one"))
    lam.publish_version(FunctionName=name)
    _update_code(lam, name, "two")
    lam.publish_version(FunctionName=name)
    lam.create_alias(
        FunctionName=name,
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    seen = {call(lam, name, Qualifier="canary")[0]["ExecutedVersion"] for _ in range(60)}
    # Each version has probability 1/2 per call: both missing from 60 calls is 2 * 2**-60.
    assert seen == {"1", "2"}
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_alias(
            FunctionName=name,
            Name="canary",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}},
        )


def test_a_state_machine_invokes_an_alias(server: ServerProcess, lam: Any) -> None:
    name = create(lam, _source("one"))
    lam.publish_version(FunctionName=name)
    _update_code(lam, name, "two")
    alias = lam.create_alias(FunctionName=name, Name="prod", FunctionVersion="1")
    sfn = server.client("stepfunctions")
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": alias["AliasArn"], "End": True}},
    }
    arn = sfn.create_state_machine(
        name=unique("sm"),
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["who"] == "one"


def test_an_event_invocation_runs_the_version_it_was_sent_to(lam: Any, open_dir: Path) -> None:
    source = """
        import json

        def handler(event, context):
            with open(event["out"], "w") as out:
                json.dump({"version": context.function_version}, out)
    """
    name = create(lam, source)
    lam.publish_version(FunctionName=name)
    lam.update_function_configuration(FunctionName=name, Description="changed")
    out = open_dir / "out.json"
    payload = json.dumps({"out": str(out)}).encode()
    assert (
        lam.invoke(FunctionName=name, Qualifier="1", InvocationType="Event", Payload=payload)[
            "StatusCode"
        ]
        == 202
    )
    wait_for(out.exists, timeout=30, what="the Event invocation ran")
    assert json.loads(out.read_text()) == {"version": "1"}
