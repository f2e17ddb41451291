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


def test_case_insensitive_enums_are_accepted_in_any_case_only_where_declared() -> None:
    body = json.dumps({"jobDefinitionName": "d", "type": "container", "retryStrategy": {
        "attempts": 2, "evaluateOnExit": [{"action": "retry", "onExitCode": "1"}]}}).encode()
    lenient = frozenset({"RetryAction"})
    register = op("batch", "RegisterJobDefinition")
    params = parse_request(register, body, case_insensitive_enums=lenient)
    # Kept as sent: AWS answers it in the caller's case.
    assert params["retryStrategy"]["evaluateOnExit"][0]["action"] == "retry"
    with pytest.raises(ValidationFailure, match="enum value set"):
        parse_request(op("batch", "RegisterJobDefinition"), body)


@pytest.mark.parametrize("body", [
    b'{"jobQueue": "a\\ud800b"}',          # an escaped lone surrogate
    b'{"jobQueue": "a\\udfffb"}',
    b'{"jobQueue": "nul\\u0000"}',
    '{"jobQueue": "q"}'.encode("utf-16"),   # JSON, but not UTF-8
    b'{"jobQueue": "\xed\xa0\x80"}',        # a surrogate's UTF-8 bytes
])
def test_text_that_is_not_storable_is_refused(body: bytes) -> None:
    with pytest.raises((ValidationFailure, MalformedRequest)):
        parse_request(op("batch", "ListJobs"), body)


def test_paired_surrogates_and_other_unicode_are_text() -> None:
    params = parse_request(op("batch", "ListJobs"), b'{"jobQueue": "q\\ud83d\\ude00\\u202e"}')
    assert params["jobQueue"] == "q\U0001f600\u202e"


def test_a_refused_value_is_echoed_as_printable_ascii() -> None:
    with pytest.raises(ValidationFailure) as caught:
        parse_request(op("batch", "ListJobs"), b'{"jobQueue": "q", "jobStatus": "\\u00e9\\n"}')
    assert "'\\xe9\\n'" in caught.value.message


@pytest.mark.parametrize(("service", "name", "body"), [
    ("batch", "CreateConsumableResource",
     b'{"consumableResourceName": "c", "totalQuantity": 9223372036854775808}'),
    ("stepfunctions", "ListActivities", b'{"maxResults": 2147483648}'),
    ("stepfunctions", "ListActivities", b'{"maxResults": 1e400}'),
    ("batch", "ListJobs", b'{"jobQueue": "q", "maxResults": NaN}'),
    ("batch", "ListJobs", b'{"jobQueue": "q", "x": ' + b"1" * 5000 + b"}"),
    ("events", "PutEvents", b'{"Entries": [{"Time": 1e20}]}'),
    ("events", "PutEvents", b'{"Entries": [{"Time": "-1e20"}]}'),
    ("events", "PutEvents", b'{"Entries": [{"Time": 253402300800}]}'),
])
def test_numbers_out_of_range_are_validation_failures(service: str, name: str, body: bytes) -> None:
    with pytest.raises(ValidationFailure):
        parse_request(op(service, name), body)


def test_the_largest_long_and_a_year_9999_timestamp_are_taken() -> None:
    params = parse_request(op("batch", "CreateConsumableResource"),
                           b'{"consumableResourceName": "c", "totalQuantity": 9223372036854775807}')
    assert params["totalQuantity"] == 2**63 - 1
    params = parse_request(op("events", "PutEvents"), b'{"Entries": [{"Time": 253402300799}]}')
    assert params["Entries"][0]["Time"].year == 9999


def test_java_patterns_of_the_models_are_enforced() -> None:
    # TagKey: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$ in Lambda's model.
    tag_resource = op("lambda", "TagResource")
    path = {"Resource": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    params = parse_request(tag_resource, '{"Tags": {"Größe 1": "x"}}'.encode(), path_params=path)
    assert params["Tags"] == {"Größe 1": "x"}
    with pytest.raises(ValidationFailure, match="regular expression pattern"):
        parse_request(tag_resource, b'{"Tags": {"a;b": "x"}}', path_params=path)
