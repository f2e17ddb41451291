"""Layers over boto3: publishing versions, listing and deleting them, their policies, functions
that use them (their modules importable from the handler, in the order the function lists
them) and the layer ARNs Lambda refuses."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.functions.support import ROLE, call, unique, zip_of
from tests.support.python import shared_python
from tests.support.server import CLIENT_CONFIG, ServerProcess

IMPORTER = """
    import importlib
    import sys

    def handler(event, context):
        found = {}
        for name in event["modules"]:
            module = importlib.import_module(name)
            found[name] = {"value": getattr(module, "VALUE", None), "file": module.__file__}
        return {"found": found, "path": sys.path}
"""


def _publish(lam: Any, files: dict[str, str], name: str | None = None, **settings: Any
             ) -> dict[str, Any]:
    return dict(lam.publish_layer_version(
        LayerName=name or unique("layer"), Content={"ZipFile": zip_of(files)}, **settings))


def _function(lam: Any, layers: list[str], source: str = IMPORTER,
              files: dict[str, str] | None = None) -> str:
    name = unique("layered")
    lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": source, **(files or {})})}, Layers=layers,
        Timeout=30,
    )
    return name


def _imports(lam: Any, name: str, *modules: str) -> dict[str, Any]:
    response, body = call(lam, name, {"modules": list(modules)})
    assert "FunctionError" not in response, body
    return dict(body)


def _error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = caught.value.response
    return (response["Error"]["Code"], response["Error"]["Message"],
            response["ResponseMetadata"]["HTTPStatusCode"])


def test_publishing_numbers_the_versions_of_a_layer(lam: Any) -> None:
    name = unique("layer")
    first = _publish(lam, {"python/tool.py": "VALUE = 1\n"}, name,
                     Description="first", CompatibleRuntimes=["python3.12", "python3.13"],
                     CompatibleArchitectures=["x86_64"], LicenseInfo="MIT")
    arn = f"arn:aws:lambda:us-east-1:123456789012:layer:{name}"
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert first["LayerArn"] == arn
    assert first["LayerVersionArn"] == f"{arn}:1"
    assert first["Version"] == 1
    assert first["Description"] == "first"
    assert first["CompatibleRuntimes"] == ["python3.12", "python3.13"]
    assert first["CompatibleArchitectures"] == ["x86_64"]
    assert first["LicenseInfo"] == "MIT"
    assert first["Content"]["CodeSize"] > 0 and first["Content"]["CodeSha256"]
    assert first["CreatedDate"]
    second = _publish(lam, {"python/tool.py": "VALUE = 2\n"}, arn)
    assert second["Version"] == 2
    assert second["LayerVersionArn"] == f"{arn}:2"
    assert second["Content"]["CodeSha256"] != first["Content"]["CodeSha256"]

    fetched = lam.get_layer_version(LayerName=name, VersionNumber=1)
    by_arn = lam.get_layer_version_by_arn(Arn=f"{arn}:1")
    for answer in (fetched, by_arn):
        assert answer["LayerVersionArn"] == f"{arn}:1"
        assert answer["Content"] == first["Content"]
        assert answer["Description"] == "first"


def test_versions_are_listed_newest_first_and_filtered(lam: Any) -> None:
    name = unique("layer")
    _publish(lam, {"python/a.py": ""}, name, CompatibleRuntimes=["python3.12"])
    _publish(lam, {"python/b.py": ""}, name, CompatibleRuntimes=["python3.13"])
    _publish(lam, {"python/c.py": ""}, name, CompatibleRuntimes=["python3.12"],
             CompatibleArchitectures=["arm64"])
    listed = lam.list_layer_versions(LayerName=name)["LayerVersions"]
    assert [v["Version"] for v in listed] == [3, 2, 1]
    assert listed[0]["LayerVersionArn"].endswith(f":layer:{name}:3")
    matching = lam.list_layer_versions(LayerName=name, CompatibleRuntime="python3.12")
    assert [v["Version"] for v in matching["LayerVersions"]] == [3, 1]
    page = lam.list_layer_versions(LayerName=name, MaxItems=2)
    assert [v["Version"] for v in page["LayerVersions"]] == [3, 2]
    rest = lam.list_layer_versions(LayerName=name, MaxItems=2, Marker=page["NextMarker"])
    assert [v["Version"] for v in rest["LayerVersions"]] == [1]

    layers = {item["LayerName"]: item for item in lam.list_layers()["Layers"]}
    assert layers[name]["LatestMatchingVersion"]["Version"] == 3
    runtime = {item["LayerName"]: item
               for item in lam.list_layers(CompatibleRuntime="python3.13")["Layers"]}
    assert runtime[name]["LatestMatchingVersion"]["Version"] == 2
    arm = {item["LayerName"]: item
           for item in lam.list_layers(CompatibleArchitecture="x86_64")["Layers"]}
    assert name not in arm
    assert lam.list_layer_versions(LayerName=unique("none"))["LayerVersions"] == []


def test_a_handler_imports_its_layers_modules(lam: Any) -> None:
    layer = _publish(lam, {
        "python/helper.py": "VALUE = 'from python/'\n",
        "python/lib/python3.12/site-packages/vendored/__init__.py": "VALUE = 'site-packages'\n",
    })
    name = _function(lam, [layer["LayerVersionArn"]])
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Layers"] == [{"Arn": layer["LayerVersionArn"],
                                 "CodeSize": layer["Content"]["CodeSize"]}]
    body = _imports(lam, name, "helper", "vendored", "json")
    assert body["found"]["helper"]["value"] == "from python/"
    assert body["found"]["vendored"]["value"] == "site-packages"
    path = body["path"]
    site_packages = path.index(str(Path(body["found"]["vendored"]["file"]).parents[1]))
    python = path.index(str(Path(body["found"]["helper"]["file"]).parent))
    runtime = path.index(str(Path(body["found"]["json"]["file"]).parents[1]))
    # The function's own code, then the layer's site directory and python/, then the runtime.
    assert 0 < site_packages < python < runtime


def test_later_layers_override_earlier_ones_and_the_code_overrides_both(lam: Any) -> None:
    first = _publish(lam, {"python/shared.py": "VALUE = 'first'\n",
                           "python/only_first.py": "VALUE = 'only first'\n",
                           "python/mine.py": "VALUE = 'layer'\n"})
    second = _publish(lam, {"python/shared.py": "VALUE = 'second'\n"})
    name = _function(lam, [first["LayerVersionArn"], second["LayerVersionArn"]],
                     files={"mine.py": "VALUE = 'code'\n"})
    found = _imports(lam, name, "shared", "only_first", "mine")["found"]
    assert found["shared"]["value"] == "second"
    assert found["only_first"]["value"] == "only first"
    assert found["mine"]["value"] == "code"

    lam.update_function_configuration(
        FunctionName=name, Layers=[second["LayerVersionArn"], first["LayerVersionArn"]])
    assert _imports(lam, name, "shared")["found"]["shared"]["value"] == "first"
    lam.update_function_configuration(FunctionName=name, Layers=[])
    assert "Layers" not in lam.get_function_configuration(FunctionName=name)
    response, body = call(lam, name, {"modules": ["shared"]})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ModuleNotFoundError"


def test_a_deleted_version_is_gone_but_functions_keep_using_it(lam: Any) -> None:
    layer = _publish(lam, {"python/kept.py": "VALUE = 'kept'\n"})
    arn, layer_name = layer["LayerVersionArn"], layer["LayerArn"].split(":")[-1]
    name = _function(lam, [arn])
    deleted = lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        lam.get_layer_version(LayerName=layer_name, VersionNumber=1)
    assert _error(caught) == ("ResourceNotFoundException",
                              "The resource you requested does not exist.", 404)
    assert lam.list_layer_versions(LayerName=layer_name)["LayerVersions"] == []
    # Deleting what is not there is no error, as in Lambda.
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)
    # A configuration change retires the warm workers: a fresh one still finds the layer.
    lam.update_function_configuration(FunctionName=name, Description="fresh worker")
    assert _imports(lam, name, "kept")["found"]["kept"]["value"] == "kept"
    with pytest.raises(ClientError) as caught:
        _function(lam, [arn])
    assert _error(caught) == ("InvalidParameterValueException",
                              f"Layer version {arn} does not exist.", 400)
    again = _publish(lam, {"python/kept.py": ""}, layer_name)
    assert again["Version"] == 2


def test_bad_layer_references_are_refused_as_lambda_does(lam: Any) -> None:
    layer = _publish(lam, {"python/x.py": ""})
    arn = layer["LayerVersionArn"]
    base = layer["LayerArn"]
    other = _publish(lam, {"python/x.py": "VALUE = 2\n"}, base)["LayerVersionArn"]
    cases = [
        ([f"{base}:99"], f"Layer version {base}:99 does not exist."),
        ([arn] * 6, "Cannot reference more than 5 layers."),
        ([arn, other], "Two different versions of the same layer are not allowed to be "
                       f"referenced in the same function. {arn} and {other} are versions of "
                       "the same layer."),
        ([arn.replace("us-east-1", "eu-west-1")],
         "Layers are not in the same region as the function. Layers are expected to be in "
         "region us-east-1."),
    ]
    for layers, message in cases:
        with pytest.raises(ClientError) as caught:
            _function(lam, layers)
        assert _error(caught) == ("InvalidParameterValueException", message, 400)
    name = _function(lam, [arn])
    with pytest.raises(ClientError) as caught:
        lam.update_function_configuration(FunctionName=name, Layers=[f"{base}:99"])
    assert _error(caught)[0] == "InvalidParameterValueException"
    assert lam.get_function_configuration(FunctionName=name)["Layers"][0]["Arn"] == arn
    with pytest.raises(ClientError) as caught:
        lam.get_layer_version(LayerName=base, VersionNumber=99)
    assert _error(caught)[0] == "ResourceNotFoundException"


def test_layer_content_must_be_a_zip_file_given_inline(lam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        lam.publish_layer_version(LayerName=unique("layer"),
                                  Content={"S3Bucket": "bucket", "S3Key": "layer.zip"})
    code, message, status = _error(caught)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "Content.ZipFile" in message
    with pytest.raises(ClientError) as caught:
        lam.publish_layer_version(LayerName=unique("layer"), Content={"ZipFile": b"not a zip"})
    assert _error(caught) == (
        "InvalidParameterValueException",
        "Could not unzip uploaded file. Please check your file, then try to upload again.", 400)


def test_a_policy_lets_another_account_use_a_version(lam: Any, server: ServerProcess) -> None:
    neighbour_account = str(random.randrange(10**11, 10**12))
    neighbour = boto3.client(
        "lambda", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=neighbour_account, aws_secret_access_key="testing",
        config=CLIENT_CONFIG,
    )
    layer = _publish(lam, {"python/shared_lib.py": "VALUE = 'shared'\n"})
    arn, layer_name = layer["LayerVersionArn"], layer["LayerArn"].split(":")[-1]
    refused = (f"User: arn:aws:iam::{neighbour_account}:root is not authorized to perform: "
               f"lambda:GetLayerVersion on resource: {arn} because no resource-based policy "
               "allows the lambda:GetLayerVersion action")
    with pytest.raises(ClientError) as caught:
        neighbour.get_layer_version_by_arn(Arn=arn)
    assert _error(caught) == ("AccessDeniedException", refused, 403)
    with pytest.raises(ClientError) as caught:
        _function(neighbour, [arn])
    assert _error(caught) == ("AccessDeniedException", refused, 403)
    with pytest.raises(ClientError) as caught:
        lam.get_layer_version_policy(LayerName=layer_name, VersionNumber=1)
    assert _error(caught) == ("ResourceNotFoundException",
                              "No policy is associated with the given resource.", 404)

    added = lam.add_layer_version_permission(
        LayerName=layer_name, VersionNumber=1, StatementId="neighbour",
        Action="lambda:GetLayerVersion", Principal=neighbour_account)
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = json.loads(added["Statement"])
    assert statement == {
        "Sid": "neighbour", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{neighbour_account}:root"},
        "Action": "lambda:GetLayerVersion", "Resource": arn,
    }
    policy = lam.get_layer_version_policy(LayerName=layer_name, VersionNumber=1)
    assert json.loads(policy["Policy"])["Statement"] == [statement]
    assert policy["RevisionId"] == added["RevisionId"]
    with pytest.raises(ClientError) as caught:
        lam.add_layer_version_permission(
            LayerName=layer_name, VersionNumber=1, StatementId="neighbour",
            Action="lambda:GetLayerVersion", Principal="*")
    assert _error(caught)[0] == "ResourceConflictException"

    assert neighbour.get_layer_version_by_arn(Arn=arn)["LayerVersionArn"] == arn
    used = _function(neighbour, [arn])
    assert _imports(neighbour, used, "shared_lib")["found"]["shared_lib"]["value"] == "shared"

    lam.remove_layer_version_permission(LayerName=layer_name, VersionNumber=1,
                                        StatementId="neighbour")
    with pytest.raises(ClientError) as caught:
        lam.remove_layer_version_permission(LayerName=layer_name, VersionNumber=1,
                                            StatementId="neighbour")
    assert _error(caught) == ("ResourceNotFoundException",
                              "Statement neighbour is not found in resource policy.", 404)
    with pytest.raises(ClientError) as caught:
        neighbour.get_layer_version_by_arn(Arn=arn)
    assert _error(caught)[0] == "AccessDeniedException"


def test_an_unprivileged_handler_reads_its_layers_but_cannot_change_them(tmp_path: Path) -> None:
    # pytest's temporary directory is closed to other users: the worker reaches its layers
    # through the descriptor the server passes, and runs under a uid of its own.
    assert not tmp_path.parent.stat().st_mode & 0o001
    server = ServerProcess(tmp_path / "data", python=shared_python()).start()
    try:
        lam = server.client("lambda")
        layer = _publish(lam, {"python/guarded.py": "VALUE = 'read'\n"})
        name = _function(lam, [layer["LayerVersionArn"]], source="""
            import os
            import guarded

            def handler(event, context):
                outcome = {"uid": os.getuid(), "value": guarded.VALUE}
                folder = os.path.dirname(guarded.__file__)
                attempts = {
                    "modify": lambda: open(guarded.__file__, "a"),
                    "create": lambda: open(os.path.join(folder, "planted.py"), "w"),
                    "remove": lambda: os.remove(guarded.__file__),
                    "chmod": lambda: os.chmod(guarded.__file__, 0o666),
                }
                for what, attempt in attempts.items():
                    try:
                        attempt()
                        outcome[what] = "allowed"
                    except OSError as error:
                        outcome[what] = error.strerror
                return outcome
        """)
        outcome = call(lam, name, {})[1]
        assert outcome["uid"] != 0
        assert outcome["value"] == "read"
        assert outcome["modify"] == outcome["create"] == outcome["remove"] == \
            "Permission denied"
        assert outcome["chmod"] == "Operation not permitted"
    finally:
        server.stop()
