"""Input that used to be stored and then break every unfiltered List/Describe, or answer 500,
is refused with the service's validation error; nothing of it survives a restart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.security.support import client
from tests.support.server import ServerProcess

LONE = "x\ud800"
AUTH = ("AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{}/aws4_request, "
        "SignedHeaders=host, Signature=00")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("poisoning")).start()
    yield process
    process.stop()


def code_of(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    return str(response["Error"]["Code"])


def raw(server: ServerProcess, service: str, target: str | None, body: bytes,
        path: str = "/") -> httpx.Response:
    headers = {"Authorization": AUTH.format(service)}
    if target:
        headers |= {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    else:
        headers["Content-Type"] = "application/json"
    return httpx.post(server.endpoint + path, content=body, headers=headers)


def unfiltered_listings(server: ServerProcess) -> dict[str, Any]:
    """What every service lists with no filter: must always answer."""
    batch = server.client("batch")
    states = client(server, "stepfunctions", key=None)
    return {
        "ces": batch.describe_compute_environments()["computeEnvironments"],
        "definitions": batch.describe_job_definitions()["jobDefinitions"],
        "queues": batch.describe_job_queues()["jobQueues"],
        "consumables": batch.list_consumable_resources()["consumableResources"],
        "machines": states.list_state_machines()["stateMachines"],
        "activities": states.list_activities()["activities"],
        "groups": server.client("logs").describe_log_groups()["logGroups"],
        "rules": server.client("events").list_rules()["Rules"],
        "functions": server.client("lambda").list_functions()["Functions"],
    }


def test_lone_surrogates_are_refused_everywhere_and_poison_nothing(
    target: ServerProcess,
) -> None:
    batch = target.client("batch")
    before = unfiltered_listings(target)
    assert code_of(
        batch.create_compute_environment, computeEnvironmentName="poison", type="UNMANAGED",
        serviceRole=LONE,
    ) == "ClientException"
    assert code_of(
        batch.register_job_definition, jobDefinitionName="poison", type="container",
        containerProperties={"image": "busybox", "command": ["echo", "\ud800"]},
    ) == "ClientException"
    states = client(target, "stepfunctions", key=None)
    assert code_of(states.create_activity, name=LONE) == "ValidationException"
    assert code_of(states.create_activity, name="a", tags=[{"key": LONE}]) == (
        "ValidationException"
    )
    logs = target.client("logs")
    assert code_of(logs.create_log_group, logGroupName=LONE) == "InvalidParameterException"
    events = target.client("events")
    assert code_of(events.put_rule, Name="r", EventPattern='{"source": ["' + LONE + '"]}') == (
        "ValidationException"
    )
    assert code_of(events.put_rule, Name="nul\x00", ScheduleExpression="rate(1 day)") == (
        "ValidationException"
    )
    assert unfiltered_listings(target) == before

    target.stop()
    target.start()
    assert unfiltered_listings(target) == before


def test_an_echoed_value_is_made_printable(target: ServerProcess) -> None:
    response = raw(target, "batch", None, json.dumps({"jobQueue": "q", "jobStatus": "\ud800\n"})
                   .encode(), path="/v1/listjobs")
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.isascii() and "\n" not in message


@pytest.mark.parametrize(("service", "target_name", "path", "body", "code"), [
    ("batch", None, "/v1/createconsumableresource",
     b'{"consumableResourceName": "c", "totalQuantity": 9223372036854775808}',
     "ClientException"),
    ("batch", None, "/v1/describejobqueues", b'{"maxResults": ' + b"7" * 5000 + b"}",
     "ClientException"),
    ("batch", None, "/v1/describejobqueues", b'{"unknown": ' + b"9" * 5000 + b"}",
     "ClientException"),
    ("batch", None, "/v1/describejobqueues", b'{"maxResults": NaN}', "ClientException"),
    ("batch", None, "/v1/describejobqueues", b"[" * 100_000 + b"]" * 100_000, "ClientException"),
    ("events", "AWSEvents.PutEvents", "/",
     b'{"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}", "Time": 1e20}]}',
     "ValidationException"),
    ("events", "AWSEvents.PutEvents", "/",
     b'{"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}", "Time": "1e400"}]}',
     "ValidationException"),
    ("stepfunctions", "AWSStepFunctions.ListActivities", "/",
     b'{"maxResults": 2147483648}', "ValidationException"),
    ("logs", "Logs_20140328.DescribeLogGroups", "/", b'{"limit": 1e400}',
     "InvalidParameterException"),
    ("lambda", None, "/2015-03-31/functions/f/invocations?Qualifier=%00", b"{}",
     "InvalidParameterValueException"),
])
def test_numbers_and_nesting_no_parser_takes_are_validation_errors(
    target: ServerProcess, service: str, target_name: str | None, path: str, body: bytes,
    code: str,
) -> None:
    if target_name is not None and target_name.startswith("AWSStepFunctions"):
        target_name_header = target_name
        response = httpx.post(target.endpoint, content=body, headers={
            "Authorization": AUTH.format("states"), "X-Amz-Target": target_name_header,
            "Content-Type": "application/x-amz-json-1.0",
        })
    else:
        response = raw(target, service, target_name, body, path=path)
    assert response.status_code == 400, response.text
    assert response.headers["x-amzn-ErrorType"] == code, response.text
