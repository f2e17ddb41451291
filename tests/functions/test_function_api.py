"""The Lambda management API over boto3: create, get, list, update, delete, tags, errors."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.functions.support import ROLE, create, unique, zip_of

SOURCE = "def handler(event, context):\n    return event\n"
ARN_PREFIX = "arn:aws:lambda:us-east-1:123456789012:function:"


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str, int]:
    """(code, message, HTTP status) of the ClientError ``call`` raises."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return (response["Error"]["Code"], response["Error"]["Message"],
            response["ResponseMetadata"]["HTTPStatusCode"])


def test_create_answers_the_configuration_lambda_reports(lam: Any) -> None:
    name = unique("create")
    package = zip_of({"app.py": SOURCE})
    config = lam.create_function(
        FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": package}, Description="echo", Timeout=30, MemorySize=256,
        Environment={"Variables": {"STAGE": "test"}}, Tags={"team": "data"},
    )
    assert config["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert config["FunctionName"] == name
    assert config["FunctionArn"] == ARN_PREFIX + name
    assert (config["Runtime"], config["Handler"], config["Role"]) == (
        "python3.11", "app.handler", ROLE)
    assert (config["Timeout"], config["MemorySize"], config["Description"]) == (30, 256, "echo")
    assert config["Environment"] == {"Variables": {"STAGE": "test"}}
    assert config["CodeSize"] == len(package)
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert (config["Version"], config["State"], config["PackageType"]) == (
        "$LATEST", "Active", "Zip")
    assert config["LoggingConfig"]["LogGroup"] == f"/aws/lambda/{name}"
    assert config["RevisionId"]


def test_defaults_are_three_seconds_and_128_mb(lam: Any) -> None:
    name = create(lam, SOURCE)
    config = lam.get_function_configuration(FunctionName=name)
    assert (config["Timeout"], config["MemorySize"]) == (3, 128)
    assert "Environment" not in config


def test_get_accepts_name_arn_partial_arn_and_latest(lam: Any) -> None:
    name = create(lam, SOURCE, Tags={"k": "v"})
    for reference in (name, ARN_PREFIX + name, f"123456789012:function:{name}",
                      f"{name}:$LATEST", ARN_PREFIX + name + ":$LATEST"):
        found = lam.get_function(FunctionName=reference)
        assert found["Configuration"]["FunctionName"] == name, reference
    found = lam.get_function(FunctionName=name)
    assert found["Tags"] == {"k": "v"}
    assert found["Code"]["RepositoryType"] == "S3"
    assert lam.get_function(FunctionName=name, Qualifier="$LATEST")["Configuration"][
        "FunctionArn"] == ARN_PREFIX + name


def test_missing_function_is_resource_not_found(lam: Any) -> None:
    name = unique("missing")
    assert error_of(lam.get_function, FunctionName=name) == (
        "ResourceNotFoundException", f"Function not found: {ARN_PREFIX}{name}", 404)
    assert error_of(lam.get_function_configuration, FunctionName=name)[0] == (
        "ResourceNotFoundException")
    assert error_of(lam.invoke, FunctionName=name)[0] == "ResourceNotFoundException"
    assert error_of(lam.delete_function, FunctionName=name)[0] == "ResourceNotFoundException"


def test_unknown_qualifier_and_foreign_region_are_not_found(lam: Any) -> None:
    name = create(lam, SOURCE)
    assert error_of(lam.get_function, FunctionName=name, Qualifier="7") == (
        "ResourceNotFoundException", f"Function not found: {ARN_PREFIX}{name}:7", 404)
    foreign = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
    assert error_of(lam.get_function, FunctionName=foreign)[:2] == (
        "ResourceNotFoundException", f"Function not found: {foreign}")


def test_duplicate_name_is_a_conflict(lam: Any) -> None:
    name = create(lam, SOURCE)
    code, message, status = error_of(
        lam.create_function, FunctionName=name, Runtime="python3.12", Role=ROLE,
        Handler="app.handler", Code={"ZipFile": zip_of({"app.py": SOURCE})},
    )
    assert (code, message, status) == (
        "ResourceConflictException", f"Function already exist: {name}", 409)


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"Runtime": "nodejs20.x"}, "The runtime parameter of nodejs20.x is no longer supported"),
        ({"Runtime": "python3.8"}, "The runtime parameter of python3.8 is no longer supported"),
        ({"Timeout": 901}, "Member must have value less than or equal to 900"),
        ({"MemorySize": 10241}, "Member must have value less than or equal to 10240"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}},
         "Reserved keys used in this request: AWS_REGION"),
        ({"Environment": {"Variables": {"BIG": "x" * 5000}}}, "exceeded the 4KB limit"),
        ({"Handler": None}, "Runtime and Handler are mandatory parameters"),
        ({"Code": {"ZipFile": b"not a zip"}}, "Could not unzip uploaded file"),
        ({"Code": {}}, "Please provide a source for function code."),
        ({"Role": "not-a-role"}, "Role"),
    ],
)
def test_invalid_create_is_refused_and_stores_nothing(
    lam: Any, settings: dict[str, Any], fragment: str
) -> None:
    name = unique("bad")
    params: dict[str, Any] = {
        "FunctionName": name, "Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler",
        "Code": {"ZipFile": zip_of({"app.py": SOURCE})},
    }
    params.update(settings)
    params = {k: v for k, v in params.items() if v is not None}
    code, message, status = error_of(lam.create_function, **params)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert fragment in message
    assert error_of(lam.get_function, FunctionName=name)[0] == "ResourceNotFoundException"


def test_list_pages_with_marker_and_max_items(lam: Any) -> None:
    prefix = unique("list")
    names = sorted(create(lam, SOURCE, name=f"{prefix}-{i}") for i in range(3))
    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        kwargs = {"MaxItems": 2} | ({"Marker": marker} if marker else {})
        page = lam.list_functions(**kwargs)
        pages += 1
        assert len(page["Functions"]) <= 2
        seen.extend(f["FunctionName"] for f in page["Functions"])
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [n for n in seen if n.startswith(prefix)] == names
    assert seen == sorted(seen)
    assert pages >= 2
    listed = next(f for f in lam.list_functions()["Functions"] if f["FunctionName"] == names[0])
    assert listed["FunctionArn"] == ARN_PREFIX + names[0]
    assert error_of(lam.list_functions, Marker="%%%")[0] == "InvalidParameterValueException"


def test_update_configuration_changes_settings_and_revision(lam: Any) -> None:
    name = create(lam, SOURCE)
    before = lam.get_function_configuration(FunctionName=name)
    after = lam.update_function_configuration(
        FunctionName=name, Timeout=60, MemorySize=512, Description="new",
        Environment={"Variables": {"AB": "1"}}, Handler="app.other",
        RevisionId=before["RevisionId"],
    )
    assert (after["Timeout"], after["MemorySize"], after["Description"], after["Handler"]) == (
        60, 512, "new", "app.other")
    assert after["Environment"] == {"Variables": {"AB": "1"}}
    assert after["RevisionId"] != before["RevisionId"]
    assert after["CodeSha256"] == before["CodeSha256"]
    assert lam.get_function_configuration(FunctionName=name)["Timeout"] == 60


def test_update_with_stale_revision_or_bad_values_changes_nothing(lam: Any) -> None:
    name = create(lam, SOURCE)
    before = lam.get_function_configuration(FunctionName=name)
    assert error_of(lam.update_function_configuration, FunctionName=name, Timeout=10,
                    RevisionId="stale")[0::2] == ("PreconditionFailedException", 412)
    assert error_of(lam.update_function_configuration, FunctionName=name,
                    Timeout=1000)[0] == "InvalidParameterValueException"
    assert error_of(lam.update_function_configuration, FunctionName=name,
                    Runtime="ruby3.3")[0] == "InvalidParameterValueException"
    assert error_of(lam.update_function_configuration, FunctionName=unique("nope"),
                    Timeout=10)[0] == "ResourceNotFoundException"
    after = lam.get_function_configuration(FunctionName=name)
    after.pop("ResponseMetadata")
    before.pop("ResponseMetadata")
    assert after == before


def test_update_code_replaces_the_package(lam: Any) -> None:
    name = create(lam, SOURCE)
    before = lam.get_function_configuration(FunctionName=name)
    package = zip_of({"app.py": "def handler(event, context):\n    return 2\n"})
    after = lam.update_function_code(FunctionName=name, ZipFile=package)
    assert after["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert after["CodeSize"] == len(package)
    assert after["RevisionId"] != before["RevisionId"]
    assert error_of(lam.update_function_code, FunctionName=name, ZipFile=b"junk")[0] == (
        "InvalidParameterValueException")
    assert error_of(lam.update_function_code, FunctionName=name, ZipFile=package,
                    RevisionId="stale")[0] == "PreconditionFailedException"
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == after["CodeSha256"]


def test_delete_removes_the_function(lam: Any) -> None:
    name = create(lam, SOURCE)
    assert error_of(lam.delete_function, FunctionName=name, Qualifier="$LATEST")[0] == (
        "InvalidParameterValueException")
    response = lam.delete_function(FunctionName=ARN_PREFIX + name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(lam.get_function, FunctionName=name)[0] == "ResourceNotFoundException"
    assert error_of(lam.delete_function, FunctionName=name)[0] == "ResourceNotFoundException"
    create(lam, SOURCE, name=name)
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_tags_can_be_listed_added_and_removed(lam: Any) -> None:
    name = create(lam, SOURCE, Tags={"a": "1"})
    arn = ARN_PREFIX + name
    lam.tag_resource(Resource=arn, Tags={"b": "2"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"a": "1", "b": "2"}
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}
    assert error_of(lam.list_tags, Resource=ARN_PREFIX + unique("x"))[0] == (
        "ResourceNotFoundException")
