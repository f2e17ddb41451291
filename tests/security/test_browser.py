"""A web page cannot drive the server: foreign Hosts, Origins and simple-request bodies are
refused before anything is read; configured origins get CORS.

Raw HTTP against the shared development server (the worst case: any key is accepted there)
and a server with one allowed origin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.security.support import CONSOLE_ORIGIN, client, secure_server
from tests.support.server import ServerProcess

AUTH = ("AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{}/aws4_request, "
        "SignedHeaders=host, Signature=00")
JOB_DEFINITION = json.dumps({
    "jobDefinitionName": "from-a-web-page", "type": "container",
    "containerProperties": {"image": "busybox", "command": ["id"]},
}).encode()


def refused(response: httpx.Response, what: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert what in response.json()["message"]


def test_a_no_cors_fetch_from_a_foreign_page_is_refused(server: ServerProcess) -> None:
    # What fetch(url, {method: "POST", mode: "no-cors", body}) sends from http://evil.example.
    response = httpx.post(server.endpoint + "/v1/registerjobdefinition", content=JOB_DEFINITION,
                          headers={"Content-Type": "text/plain;charset=UTF-8",
                                   "Origin": "http://evil.example"})
    refused(response, "Origin 'http://evil.example'")
    batch = server.client("batch")
    assert batch.describe_job_definitions(jobDefinitionName="from-a-web-page")[
        "jobDefinitions"] == []


@pytest.mark.parametrize("content_type", [
    "text/plain;charset=UTF-8", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "TEXT/PLAIN",
])
def test_bodies_a_page_may_send_unasked_are_refused(
    server: ServerProcess, content_type: str
) -> None:
    response = httpx.post(server.endpoint + "/v1/registerjobdefinition", content=JOB_DEFINITION,
                          headers={"Content-Type": content_type})
    refused(response, "Content-Type")
    response = httpx.post(server.endpoint, content=b"{}", headers={
        "Content-Type": content_type, "X-Amz-Target": "AWSStepFunctions.ListActivities",
    })
    refused(response, "application/x-amz-json-1.0")


def test_a_json_protocol_body_must_say_it_is_json(server: ServerProcess) -> None:
    response = httpx.post(server.endpoint, content=b"{}",
                          headers={"X-Amz-Target": "AWSStepFunctions.ListActivities"})
    refused(response, "Content-Type ''")
    for content_type in ("application/x-amz-json-1.0", "application/json"):
        response = httpx.post(server.endpoint, content=b"{}", headers={
            "X-Amz-Target": "AWSStepFunctions.ListActivities", "Content-Type": content_type,
        })
        assert response.status_code == 200, response.text


def test_rest_json_bodies_are_json_and_empty_ones_need_no_type(server: ServerProcess) -> None:
    response = httpx.post(server.endpoint + "/v1/describejobqueues", content=b"{}",
                          headers={"Content-Type": "application/octet-stream"})
    refused(response, "application/json")
    response = httpx.post(server.endpoint + "/v1/describejobqueues", content=b"{}")
    refused(response, "Content-Type ''")
    response = httpx.get(server.endpoint + "/2015-03-31/functions/",
                         headers={"Authorization": AUTH.format("lambda")})
    assert response.status_code == 200, response.text


def test_a_raw_payload_may_be_any_type_a_page_cannot_send(server: ServerProcess) -> None:
    path = "/2015-03-31/functions/no-such-function/invocations"
    headers = {"Authorization": AUTH.format("lambda")}
    response = httpx.post(server.endpoint + path, content=b"{}",
                          headers={**headers, "Content-Type": "text/plain"})
    refused(response, "Content-Type 'text/plain'")
    for extra in ({}, {"Content-Type": "application/octet-stream"}):
        response = httpx.post(server.endpoint + path, content=b"{}", headers={**headers, **extra})
        assert response.status_code == 404, response.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:4580", "localhost.evil.example",
                                  "127.0.0.1.nip.io", ""])
def test_a_foreign_host_is_refused_whatever_the_path(server: ServerProcess, host: str) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own name.
    response = httpx.post(server.endpoint + "/v1/describejobqueues", content=b"{}",
                          headers={"Host": host, "Content-Type": "application/json"})
    refused(response, "Host")
    refused(httpx.get(server.endpoint + "/", headers={"Host": host}), "Host")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:1234", "127.0.0.1", "[::1]:4580",
                                  "10.1.2.3:8080", "sync-localhost:4580", "sync-127.0.0.1",
                                  "host.containers.internal:4580", "app.localhost"])
def test_the_servers_own_names_and_any_address_are_served(
    server: ServerProcess, host: str
) -> None:
    response = httpx.post(server.endpoint + "/v1/describejobqueues", content=b"{}",
                          headers={"Host": host, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def test_health_answers_any_host_and_the_console_its_own(server: ServerProcess) -> None:
    response = httpx.get(server.endpoint + "/health", headers={"Host": "10.0.0.7:31337"})
    assert response.json()["status"] == "ok"
    assert httpx.get(server.endpoint + "/health", headers={"Host": "probe.internal"}).is_success
    assert "batchyard" in httpx.get(server.endpoint + "/").text


def test_a_page_of_the_server_itself_may_call_it(server: ServerProcess) -> None:
    response = httpx.post(server.endpoint + "/v1/describejobqueues", content=b"{}",
                          headers={"Content-Type": "application/json",
                                   "Origin": server.endpoint})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    response = httpx.post(server.endpoint + "/v1/describejobqueues", content=b"{}",
                          headers={"Content-Type": "application/json", "Origin": "null"})
    refused(response, "Origin 'null'")


@pytest.fixture(scope="module")
def with_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = secure_server(tmp_path_factory.mktemp("origins"))
    yield process
    process.stop()


def test_a_configured_origin_gets_cors(with_origin: ServerProcess) -> None:
    preflight = httpx.options(with_origin.endpoint + "/v1/describejobqueues", headers={
        "Origin": CONSOLE_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-amz-date",
    })
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == CONSOLE_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == (
        "authorization,content-type,x-amz-date"
    )

    batch = client(with_origin, "batch")
    seen: dict[str, str] = {}

    def add_origin(request: object, **_: object) -> None:
        request.headers["Origin"] = CONSOLE_ORIGIN  # type: ignore[attr-defined]

    def keep_headers(http_response: object, **_: object) -> None:
        seen.update(http_response.headers)  # type: ignore[attr-defined]

    batch.meta.events.register("before-sign.batch.DescribeJobQueues", add_origin)
    batch.meta.events.register("after-call.batch.DescribeJobQueues", keep_headers)
    assert batch.describe_job_queues()["jobQueues"] == []
    assert seen["access-control-allow-origin"] == CONSOLE_ORIGIN
    assert "x-amzn-RequestId" in seen["access-control-expose-headers"]


def test_other_origins_get_no_preflight(with_origin: ServerProcess) -> None:
    preflight = httpx.options(with_origin.endpoint + "/v1/describejobqueues", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
    })
    refused(preflight, "Origin 'https://evil.example'")
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize("host", ["batchyard.internal", "batchyard.internal:4580",
                                  "other.example", "sync-other.example:8443"])
def test_configured_server_names_are_served(with_origin: ServerProcess, host: str) -> None:
    response = httpx.post(with_origin.endpoint + "/v1/describejobqueues", content=b"{}",
                          headers={"Host": host, "Content-Type": "application/json"})
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    response = httpx.post(with_origin.endpoint + "/v1/describejobqueues", content=b"{}",
                          headers={"Host": "unnamed.example", "Content-Type": "application/json"})
    refused(response, "Host 'unnamed.example'")
