"""The server process: console, clean shutdown, AWS-style errors for unknown requests."""

import signal

import httpx

from tests.support.server import ServerProcess


def test_root_answers_with_the_console(server: ServerProcess) -> None:
    response = httpx.get(server.endpoint + "/")
    assert response.status_code == 200
    assert "batchyard" in response.text


def test_unknown_json_target_is_unknown_operation(server: ServerProcess) -> None:
    response = httpx.post(
        server.endpoint + "/", content=b"{}",
        headers={"X-Amz-Target": "AWSNothing.DoIt", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownOperationException"


def test_unknown_rest_path_for_a_signed_batch_request(server: ServerProcess) -> None:
    auth = ("AWS4-HMAC-SHA256 Credential=AKID/20261121/us-east-1/batch/aws4_request, "
            "SignedHeaders=host, Signature=0")
    response = httpx.post(server.endpoint + "/v1/nothing", content=b"{}",
                          headers={"Authorization": auth})
    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_batch_malformed_json_is_a_client_exception(server: ServerProcess) -> None:
    response = httpx.post(server.endpoint + "/v1/describecomputeenvironments", content=b"{oops",
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "ClientException"
    assert "JSON" in response.json()["message"]


def test_wrong_types_answer_with_the_field_named(server: ServerProcess) -> None:
    response = httpx.post(server.endpoint + "/v1/describecomputeenvironments",
                          json={"maxResults": "ten"})
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "ClientException"
    assert "maxResults" in response.json()["message"]


def test_sigterm_shuts_down_cleanly(new_server) -> None:  # type: ignore[no-untyped-def]
    process = new_server()
    code = process.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM)
    log = process.log()
    assert "Application shutdown complete" in log
    assert "Traceback" not in log


def test_sigint_shuts_down_cleanly(new_server) -> None:  # type: ignore[no-untyped-def]
    process = new_server()
    code = process.stop(signal.SIGINT)
    assert code in (0, -signal.SIGINT)
    log = process.log()
    assert "Application shutdown complete" in log
    assert "Traceback" not in log
