"""With credentials configured, every AWS request must carry a valid SigV4 signature.

Through boto3 (signed, unsigned, wrong secret, unknown key, skewed clocks, presigned URLs) and
raw HTTP (tampered bodies and headers, malformed Authorization headers), with AWS's codes and
texts; and the account and region of a request come from its key and its credential scope.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.batch.jobs_support import describe, make_definition, submit, wait_status
from tests.batch.resource_support import make_ce, make_queue
from tests.security.support import ALICE, BOB, client, clock_off_by, secure_server
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = secure_server(tmp_path_factory.mktemp("signatures"))
    yield process
    process.stop()


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"][
        "HTTPStatusCode"
    ]


def signed_request(
    server: ServerProcess, service: str, target: str | None, body: bytes,
    key: tuple[str, str, str] = ALICE, path: str = "/", region: str = "us-east-1",
    headers: dict[str, str] | None = None,
) -> AWSRequest:
    """A request signed by botocore's signer, as boto3 would send it."""
    request = AWSRequest(method="POST", url=server.endpoint + path, data=body, headers={
        "Content-Type": "application/x-amz-json-1.1" if target else "application/json",
        **({"X-Amz-Target": target} if target else {}),
        **(headers or {}),
    })
    SigV4Auth(Credentials(key[0], key[1]), service, region).add_auth(request)
    return request


def send(request: AWSRequest, body: bytes | None = None) -> httpx.Response:
    assert request.url is not None and request.method is not None
    return httpx.request(
        request.method, request.url, headers=dict(request.headers.items()),
        content=request.body if body is None else body,
    )


def test_signed_clients_of_every_service_are_served(secured: ServerProcess) -> None:
    assert "computeEnvironments" in client(secured, "batch").describe_compute_environments()
    assert "stateMachines" in client(secured, "stepfunctions").list_state_machines()
    assert "Functions" in client(secured, "lambda").list_functions()
    assert "Rules" in client(secured, "events").list_rules()
    assert "logGroups" in client(secured, "logs", key=BOB).describe_log_groups()


def test_an_unsigned_request_is_missing_its_token(secured: ServerProcess) -> None:
    unsigned = client(secured, "batch", key=None)
    assert error_of(unsigned.describe_job_queues) == (
        "MissingAuthenticationTokenException", "Missing Authentication Token", 403
    )
    unsigned = client(secured, "stepfunctions", key=None)
    assert error_of(unsigned.list_activities)[0] == "MissingAuthenticationTokenException"


def test_an_unknown_key_is_an_unrecognized_client(secured: ServerProcess) -> None:
    stranger = client(secured, "logs", key=("AKIDSTRANGER0000003", "whatever", ""))
    assert error_of(stranger.describe_log_groups) == (
        "UnrecognizedClientException", "The security token included in the request is invalid.",
        403,
    )


def test_a_wrong_secret_is_an_invalid_signature(secured: ServerProcess) -> None:
    forger = client(secured, "batch", key=(ALICE[0], "not-alices-secret", ALICE[2]))
    code, message, status = error_of(forger.describe_job_queues)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith(
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method."
    )
    assert "The Canonical String for this request should have been\n'POST\n/v1/describejobqueues" \
        in message


def test_a_session_token_with_a_long_term_key_is_refused(secured: ServerProcess) -> None:
    session = botocore.session.get_session()
    logs = session.create_client(
        "logs", endpoint_url=secured.endpoint, region_name="us-east-1",
        aws_access_key_id=ALICE[0], aws_secret_access_key=ALICE[1], aws_session_token="tok",
    )
    assert error_of(logs.describe_log_groups)[0] == "UnrecognizedClientException"


def test_a_clock_more_than_five_minutes_off_is_refused(secured: ServerProcess) -> None:
    logs = client(secured, "logs")
    with clock_off_by(-6 * 60):
        code, message, status = error_of(logs.describe_log_groups)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith("Signature expired: ") and message.endswith(" - 5 min.)")
    with clock_off_by(6 * 60):
        code, message, _ = error_of(logs.describe_log_groups)
    assert code == "InvalidSignatureException"
    assert message.startswith("Signature not yet current: ") and message.endswith(" + 5 min.)")
    with clock_off_by(-4 * 60):
        assert "logGroups" in logs.describe_log_groups()


def test_a_presigned_url_is_honoured_until_it_expires(secured: ServerProcess) -> None:
    functions = client(secured, "lambda")
    url = functions.generate_presigned_url("list_functions", ExpiresIn=60)
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    assert "Functions" in response.json()

    with clock_off_by(-120):
        stale = functions.generate_presigned_url("list_functions", ExpiresIn=60)
    response = httpx.get(stale)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert response.json()["message"].startswith("Signature expired: ")

    forged = client(secured, "lambda", key=(ALICE[0], "guess", ALICE[2]))
    response = httpx.get(forged.generate_presigned_url("list_functions", ExpiresIn=60))
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert httpx.get(url + "&MaxItems=1").status_code == 403


def test_the_body_is_covered_by_the_signature(secured: ServerProcess) -> None:
    request = signed_request(secured, "logs", "Logs_20140328.DescribeLogGroups", b"{}")
    assert send(request).status_code == 200
    response = send(request, body=b'{"limit": 1}')
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"

    declared = hashlib.sha256(b"{}").hexdigest()
    request = signed_request(
        secured, "logs", "Logs_20140328.DescribeLogGroups", b"{}",
        headers={"X-Amz-Content-SHA256": declared},
    )
    assert send(request).status_code == 200
    response = send(request, body=b'{"limit": 1}')
    assert response.status_code == 403
    assert "x-amz-content-sha256" in response.json()["message"]


def test_signed_headers_cannot_be_changed(secured: ServerProcess) -> None:
    request = signed_request(secured, "logs", "Logs_20140328.DescribeLogGroups", b"{}")
    request.headers.replace_header("X-Amz-Target", "Logs_20140328.DescribeDestinations")
    response = send(request)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_the_scope_must_name_the_service_and_a_region(secured: ServerProcess) -> None:
    request = signed_request(secured, "batch", "Logs_20140328.DescribeLogGroups", b"{}")
    response = send(request)
    assert response.status_code == 403
    assert response.json() == {
        "__type": "InvalidSignatureException",
        "message": "Credential should be scoped to correct service: 'logs'. ",
    }
    request = signed_request(
        secured, "logs", "Logs_20140328.DescribeLogGroups", b"{}", region="Not A Region"
    )
    assert send(request).json()["message"] == "Credential should be scoped to a valid region. "


@pytest.mark.parametrize(("authorization", "expected"), [
    ("Bearer abc", "'abc' not a valid key=value pair (missing equal-sign) in Authorization "
                   "header: 'Bearer abc'."),
    ("garbage", "Authorization header requires 'Credential' parameter. Authorization header "
                "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
                "parameter. Authorization header requires existence of either a 'X-Amz-Date' or "
                "a 'Date' header. Authorization=garbage"),
    ("AWS4-HMAC-SHA256 Credential=AKIDALICE0000000001/20260101/us-east-1/logs, "
     "SignedHeaders=host, Signature=00",
     "Credential must have exactly 5 slash-delimited elements, e.g. "
     "keyid/date/region/service/term, got 'AKIDALICE0000000001/20260101/us-east-1/logs'"),
])
def test_malformed_authorization_is_an_incomplete_signature(
    secured: ServerProcess, authorization: str, expected: str
) -> None:
    dated = {"X-Amz-Date": "20260101T000000Z"} if "Credential=" in authorization else {}
    response = httpx.post(secured.endpoint, content=b"{}", headers={
        "Authorization": authorization, "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
        "Content-Type": "application/x-amz-json-1.1", **dated,
    })
    assert response.status_code == 403
    assert response.json() == {"__type": "IncompleteSignatureException", "message": expected}


def test_unknown_operations_still_need_a_known_key(secured: ServerProcess) -> None:
    response = httpx.post(secured.endpoint, content=b"{}", headers={
        "X-Amz-Target": "Logs_20140328.Explode", "Content-Type": "application/x-amz-json-1.1",
    })
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    request = signed_request(secured, "logs", "Logs_20140328.Explode", b"{}")
    assert send(request).headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_the_account_is_the_keys_and_the_region_the_scopes(secured: ServerProcess) -> None:
    alice = client(secured, "stepfunctions", key=ALICE, region="eu-west-1")
    bob = client(secured, "stepfunctions", key=BOB, region="ap-south-1")
    assert alice.create_activity(name="alices")["activityArn"] == (
        "arn:aws:states:eu-west-1:111111111111:activity:alices"
    )
    assert bob.create_activity(name="bobs")["activityArn"] == (
        "arn:aws:states:ap-south-1:222222222222:activity:bobs"
    )


def test_development_mode_takes_the_account_from_a_12_digit_key(
    server: ServerProcess,
) -> None:
    key = ("210987654321", "anything", "")
    states = client(server, "stepfunctions", key=key, region="ca-central-1")
    assert states.create_activity(name="devs")["activityArn"] == (
        "arn:aws:states:ca-central-1:210987654321:activity:devs"
    )
    states = server.client("stepfunctions")
    assert states.create_activity(name="default-account")["activityArn"] == (
        "arn:aws:states:us-east-1:123456789012:activity:default-account"
    )


def test_development_mode_accepts_any_secret_and_no_signature(server: ServerProcess) -> None:
    assert "logGroups" in client(server, "logs", key=("testing", "wrong", "")).describe_log_groups()
    assert "logGroups" in client(server, "logs", key=None).describe_log_groups()


def test_development_mode_still_wants_a_well_formed_signature(server: ServerProcess) -> None:
    response = httpx.post(server.endpoint, content=b"{}", headers={
        "Authorization": "Bearer abc", "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
        "Content-Type": "application/x-amz-json-1.1",
    })
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "IncompleteSignatureException"


def test_credentials_in_batchyard_toml_are_used(new_server: Any, tmp_path: Path) -> None:
    directory = tmp_path / "toml-server"
    directory.mkdir()
    # The server runs in its data directory, where it finds batchyard.toml.
    (directory / "batchyard.toml").write_text(
        '[[credentials]]\naccess_key_id = "AKIDTOML00000000004"\n'
        'secret_access_key = "toml-secret"\naccount_id = "444444444444"\n'
    )
    process = new_server(data_dir=directory)
    key = ("AKIDTOML00000000004", "toml-secret", "444444444444")
    states = client(process, "stepfunctions", key=key)
    assert states.create_activity(name="t")["activityArn"].split(":")[4] == "444444444444"
    assert error_of(process.client("stepfunctions").list_activities)[0] == (
        "UnrecognizedClientException"
    )


def test_one_accounts_log_groups_are_not_anothers(secured: ServerProcess) -> None:
    alice_eu = client(secured, "logs", key=ALICE, region="eu-west-1")
    alice_eu.create_log_group(logGroupName="same-name")
    client(secured, "logs", key=BOB, region="eu-west-1").create_log_group(logGroupName="same-name")

    def groups(key: tuple[str, str, str], region: str) -> list[str]:
        found = client(secured, "logs", key=key, region=region).describe_log_groups(
            logGroupNamePrefix="same-name")["logGroups"]
        return [group["arn"] for group in found]

    assert groups(ALICE, "eu-west-1") == [
        "arn:aws:logs:eu-west-1:111111111111:log-group:same-name:*"
    ]
    assert groups(BOB, "eu-west-1") == ["arn:aws:logs:eu-west-1:222222222222:log-group:same-name:*"]
    assert groups(ALICE, "us-east-1") == []


def test_cancel_and_terminate_jobs_cannot_reach_another_accounts_jobs(
    secured: ServerProcess,
) -> None:
    alice = client(secured, "batch", key=ALICE)
    queue = make_queue(alice, [make_ce(alice, state="DISABLED")])
    definition = make_definition(alice, ["true"])
    job_id = submit(alice, queue, definition)
    wait_status(alice, job_id, "RUNNABLE")
    for key, region in ((BOB, "us-east-1"), (ALICE, "eu-west-1")):
        other = client(secured, "batch", key=key, region=region)
        # Not found is "processed" for AWS: the answer does not tell that the job exists.
        for call in (other.cancel_jobs, other.terminate_jobs):
            answer = call(jobs=[job_id], reason="not yours")
            assert (answer["successful"], answer["errors"]) == ([job_id], [])
        # CancelJob and TerminateJob answer an unknown job as a known one, as AWS does.
        for single in (other.cancel_job, other.terminate_job):
            answer = single(jobId=job_id, reason="not yours")
            assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    job = describe(alice, job_id)
    assert job["status"] == "RUNNABLE" and "isCancelled" not in job
