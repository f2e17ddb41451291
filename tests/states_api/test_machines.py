"""State machines, versions, aliases and tags through boto3, including AWS's error paths."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.states_api.conftest import PASS, ROLE, machine, unique

WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_create_describe_update_delete(sfn: Any) -> None:
    name = unique("crud")
    created = sfn.create_state_machine(name=name, definition=json.dumps(PASS), roleArn=ROLE)
    arn = created["stateMachineArn"]
    assert arn == f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["name"] == name
    assert described["type"] == "STANDARD"
    assert described["status"] == "ACTIVE"
    assert json.loads(described["definition"]) == PASS
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert described["tracingConfiguration"] == {"enabled": False}

    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(WAIT))
    assert updated["revisionId"] != described["revisionId"]
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == WAIT

    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert error_of(exc) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
    sfn.delete_state_machine(stateMachineArn=arn)


def test_create_is_idempotent_only_for_the_same_request(sfn: Any) -> None:
    name = unique("idem")
    first = sfn.create_state_machine(name=name, definition=json.dumps(PASS), roleArn=ROLE)
    again = sfn.create_state_machine(name=name, definition=json.dumps(PASS), roleArn=ROLE)
    assert again["creationDate"] == first["creationDate"]
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name=name, definition=json.dumps(WAIT), roleArn=ROLE)
    assert error_of(exc) == (
        "StateMachineAlreadyExists",
        f"State Machine Already Exists: '{first['stateMachineArn']}'",
    )


def test_create_rejects_bad_definitions_names_and_roles(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name=unique("bad"), definition="{not json", roleArn=ROLE)
    code, message = error_of(exc)
    assert code == "InvalidDefinition"
    assert message.startswith("Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION")

    missing = {"StartAt": "Nope", "States": {"P": {"Type": "Pass", "End": True}}}
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name=unique("bad"), definition=json.dumps(missing), roleArn=ROLE)
    assert error_of(exc)[0] == "InvalidDefinition"

    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="has space", definition=json.dumps(PASS), roleArn=ROLE)
    assert error_of(exc) == ("InvalidName", "Invalid Name: 'has space'")

    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name=unique("r"), definition=json.dumps(PASS), roleArn="role")
    assert error_of(exc)[0] == "InvalidArn"

    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(
            name=unique("t"), definition=json.dumps(PASS), roleArn=ROLE, type="BATCH"
        )
    assert error_of(exc)[0] == "ValidationException"


def test_bad_arns_are_invalid_arn(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn="not-an-arn")
    assert error_of(exc) == ("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: not-an-arn'")
    activity = "arn:aws:states:us-east-1:123456789012:activity:x"
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=activity)
    assert error_of(exc) == (
        "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: activity'"
    )


def test_update_needs_something_to_change(sfn: Any) -> None:
    arn = machine(sfn, PASS)
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=arn)
    assert error_of(exc)[0] == "MissingRequiredParameter"
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=arn, definition='{"StartAt": 1}')
    assert error_of(exc)[0] == "InvalidDefinition"
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == PASS


def test_list_state_machines_pages(sfn: Any) -> None:
    arns = {machine(sfn, PASS) for _ in range(3)}
    seen: list[str] = []
    kwargs: dict[str, Any] = {"maxResults": 2}
    while True:
        page = sfn.list_state_machines(**kwargs)
        assert len(page["stateMachines"]) <= 2
        seen += [m["stateMachineArn"] for m in page["stateMachines"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert arns <= set(seen)
    assert len(seen) == len(set(seen))
    with pytest.raises(ClientError) as exc:
        sfn.list_state_machines(nextToken="garbage")
    assert error_of(exc)[0] == "InvalidToken"


def test_versions_publish_list_describe_delete(sfn: Any) -> None:
    arn = machine(sfn, PASS)
    first = sfn.publish_state_machine_version(stateMachineArn=arn, description="one")
    assert first["stateMachineVersionArn"] == f"{arn}:1"
    same = sfn.publish_state_machine_version(stateMachineArn=arn)
    assert same["stateMachineVersionArn"] == f"{arn}:1"

    revision = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(WAIT))
    with pytest.raises(ClientError) as exc:
        sfn.publish_state_machine_version(stateMachineArn=arn, revisionId="stale")
    assert error_of(exc)[0] == "ConflictException"
    second = sfn.publish_state_machine_version(
        stateMachineArn=arn, revisionId=revision["revisionId"]
    )
    assert second["stateMachineVersionArn"] == f"{arn}:2"

    listed = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{arn}:2", f"{arn}:1"]
    v1 = sfn.describe_state_machine(stateMachineArn=f"{arn}:1")
    assert v1["stateMachineArn"] == f"{arn}:1"
    assert v1["description"] == "one"
    assert json.loads(v1["definition"]) == PASS

    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1")
    listed = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{arn}:2"]
    # Version numbers are never reused.
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(PASS))
    third = sfn.publish_state_machine_version(stateMachineArn=arn)
    assert third["stateMachineVersionArn"] == f"{arn}:3"


def test_create_and_update_can_publish(sfn: Any) -> None:
    name = unique("pub")
    created = sfn.create_state_machine(
        name=name, definition=json.dumps(PASS), roleArn=ROLE, publish=True,
        versionDescription="first",
    )
    arn = created["stateMachineArn"]
    assert created["stateMachineVersionArn"] == f"{arn}:1"
    updated = sfn.update_state_machine(
        stateMachineArn=arn, definition=json.dumps(WAIT), publish=True
    )
    assert updated["stateMachineVersionArn"] == f"{arn}:2"


def test_aliases(sfn: Any) -> None:
    arn = machine(sfn, PASS)
    v1 = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(WAIT))
    v2 = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]

    routing = [{"stateMachineVersionArn": v1, "weight": 100}]
    alias = sfn.create_state_machine_alias(
        name="prod", routingConfiguration=routing, description="live"
    )["stateMachineAliasArn"]
    assert alias == f"{arn}:prod"
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert described["name"] == "prod"
    assert described["description"] == "live"
    assert described["routingConfiguration"] == routing

    split = [
        {"stateMachineVersionArn": v1, "weight": 30},
        {"stateMachineVersionArn": v2, "weight": 70},
    ]
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=split)
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert described["routingConfiguration"] == split
    listed = sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [alias]

    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine_alias(
            stateMachineAliasArn=alias,
            routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 50}],
        )
    assert error_of(exc) == (
        "ValidationException", "Sum of routing configuration weights must be equal to 100"
    )
    with pytest.raises(ClientError) as exc:
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    assert error_of(exc)[0] == "ConflictException"

    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert error_of(exc)[0] == "ResourceNotFound"
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)


def test_alias_to_missing_version_is_not_found(sfn: Any) -> None:
    arn = machine(sfn, PASS)
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine_alias(
            name="a", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:9", "weight": 100}]
        )
    assert error_of(exc)[0] == "ResourceNotFound"


def test_tags(sfn: Any) -> None:
    arn = machine(sfn, PASS, tags=[{"key": "team", "value": "a"}])
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}])
    tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    assert tags == [{"key": "env", "value": "dev"}, {"key": "team", "value": "a"}]
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
    gone = arn + "x"
    with pytest.raises(ClientError) as exc:
        sfn.tag_resource(resourceArn=gone, tags=[{"key": "k", "value": "v"}])
    assert error_of(exc) == ("ResourceNotFound", f"Resource not found: '{gone}'")
    with pytest.raises(ClientError) as exc:
        sfn.tag_resource(
            resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)]
        )
    assert error_of(exc)[0] == "TooManyTags"
    assert len(sfn.list_tags_for_resource(resourceArn=arn)["tags"]) == 1


def test_validate_state_machine_definition(sfn: Any) -> None:
    ok = sfn.validate_state_machine_definition(definition=json.dumps(PASS))
    assert ok["result"] == "OK"
    assert ok["diagnostics"] == []
    bad = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Nowhere"}}}
    failed = sfn.validate_state_machine_definition(definition=json.dumps(bad))
    assert failed["result"] == "FAIL"
    assert failed["diagnostics"]
    first = failed["diagnostics"][0]
    assert first["severity"] == "ERROR"
    assert first["code"]
    assert "location" in first
