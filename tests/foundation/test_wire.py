"""Parsing, validation and serialization follow the botocore shapes."""

import base64
import json
from datetime import UTC, datetime

import pytest

from batchyard.protocol.errors import ValidationFailure
from batchyard.protocol.service import load_model
from batchyard.protocol.wire import MalformedRequest, parse_request, serialize_output


def op(service: str, name: str):  # type: ignore[no-untyped-def]
    return load_model(service).operation_model(name)


def test_missing_required_members_are_named() -> None:
    with pytest.raises(ValidationFailure) as caught:
        parse_request(op("batch", "SubmitJob"), b'{"jobName": "x"}')
    message = caught.value.message
    assert "2 validation errors" in message
    assert "'jobQueue'" in message and "'jobDefinition'" in message


def test_wrong_types_name_the_nested_member() -> None:
    body = {"jobName": "x", "jobQueue": "q", "jobDefinition": "d",
            "containerOverrides": {"environment": [{"name": 5}]},
            "retryStrategy": {"attempts": "3"}}
    with pytest.raises(ValidationFailure) as caught:
        parse_request(op("batch", "SubmitJob"), json.dumps(body).encode())
    message = caught.value.message
    assert "containerOverrides.environment[0].name" in message
    assert "retryStrategy.attempts" in message


def test_enum_values_are_checked() -> None:
    with pytest.raises(ValidationFailure, match="enum value set"):
        parse_request(op("batch", "ListJobs"), b'{"jobQueue": "q", "jobStatus": "DANCING"}')


def test_unknown_members_are_dropped_and_nulls_mean_absent() -> None:
    params = parse_request(
        op("batch", "ListJobs"), b'{"jobQueue": "q", "whatever": 1, "nextToken": null}'
    )
    assert params == {"jobQueue": "q"}


def test_malformed_json_and_non_object_bodies() -> None:
    with pytest.raises(MalformedRequest):
        parse_request(op("stepfunctions", "ListStateMachines"), b"{not json")
    with pytest.raises(MalformedRequest):
        parse_request(op("stepfunctions", "ListStateMachines"), b"[1, 2]")
    with pytest.raises(MalformedRequest):
        parse_request(op("batch", "ListJobs"), b"\xff\xfe\x00")


def test_rest_json_binds_uri_query_header_and_payload() -> None:
    params = parse_request(
        op("lambda", "Invoke"), b'{"k": 1}',
        path_params={"FunctionName": "my%3Afn"},
        query={"Qualifier": ["live"]},
        headers={"X-Amz-Invocation-Type": "Event", "X-Amz-Log-Type": "Tail"},
    )
    assert params == {"FunctionName": "my:fn", "Qualifier": "live", "InvocationType": "Event",
                      "LogType": "Tail", "Payload": b'{"k": 1}'}


def test_query_integers_are_converted_and_checked() -> None:
    params = parse_request(op("lambda", "ListFunctions"), b"", query={"MaxItems": ["5"]})
    assert params == {"MaxItems": 5}
    with pytest.raises(ValidationFailure, match="MaxItems"):
        parse_request(op("lambda", "ListFunctions"), b"", query={"MaxItems": ["five"]})


def test_blob_members_in_json_bodies_are_base64() -> None:
    body = {"FunctionName": "f", "Role": "arn:aws:iam::123456789012:role/r",
            "Code": {"ZipFile": base64.b64encode(b"PK\x03\x04").decode()}}
    params = parse_request(op("lambda", "CreateFunction"), json.dumps(body).encode())
    assert params["Code"]["ZipFile"] == b"PK\x03\x04"
    body["Code"] = {"ZipFile": "***"}
    with pytest.raises(ValidationFailure, match=r"Code\.ZipFile"):
        parse_request(op("lambda", "CreateFunction"), json.dumps(body).encode())


def test_output_serialization_follows_the_shape() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    response = serialize_output(
        op("stepfunctions", "StartExecution"),
        {"executionArn": "arn", "startDate": when, "notInTheShape": 1},
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert json.loads(response.body) == {"executionArn": "arn", "startDate": when.timestamp()}


def test_rest_json_output_headers_status_and_payload() -> None:
    response = serialize_output(
        op("lambda", "Invoke"),
        {"StatusCode": 200, "FunctionError": "Unhandled", "LogResult": "bG9n", "Payload": b"{}"},
    )
    assert response.status == 200
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    assert response.headers["X-Amz-Log-Result"] == "bG9n"
    assert response.body == b"{}"


def test_case_insensitive_enums_are_normalised_only_where_declared() -> None:
    body = json.dumps({"jobDefinitionName": "d", "type": "container", "retryStrategy": {
        "attempts": 2, "evaluateOnExit": [{"action": "retry", "onExitCode": "1"}]}}).encode()
    lenient = frozenset({"RetryAction"})
    register = op("batch", "RegisterJobDefinition")
    params = parse_request(register, body, case_insensitive_enums=lenient)
    assert params["retryStrategy"]["evaluateOnExit"][0]["action"] == "RETRY"
    with pytest.raises(ValidationFailure, match="enum value set"):
        parse_request(op("batch", "RegisterJobDefinition"), body)
