"""Garbage in, a 4xx out: every Batch operation of the model against malformed requests.

For each operation (implemented or not) the server gets random bytes, JSON of the wrong type
for each member (nested one level), requests missing their required members, and bodies over
the size limit. Every answer must be a 4xx with a message, never a 5xx, and the stored
resources must be exactly as they were.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote

import botocore.session
import httpx
import pytest
from botocore.model import OperationModel, Shape

from batchyard.batch import Batch
from batchyard.batch import api as batch_api
from tests.batch.resource_support import ec2_resources, make_ce, make_queue, snapshot

MODEL = botocore.session.get_session().get_service_model("batch")
OPERATIONS = sorted(MODEL.operation_names)
AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/batch/aws4_request, "
    "SignedHeaders=host, Signature=0000"
)
SAMPLE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/garbage-queue"
# A value of the wrong JSON type for each botocore type.
WRONG = {
    "string": [123, ["a"], {"a": 1}, True],
    "integer": ["seven", 1.5, [1], {"n": 1}, True],
    "long": ["seven", [1], True],
    "float": ["x", [1.0]],
    "double": ["x", [1.0]],
    "boolean": ["yes", 1, [True]],
    "timestamp": [True, ["2020"], {"t": 1}],
    "blob": [12, "***not base64***"],
    "list": ["a", 1, {"a": 1}],
    "map": ["a", 1, ["a"]],
    "structure": ["a", 1, ["a"]],
}
GARBAGE_BODIES = [
    b"\x00\xff\xfe garbage \x80",
    b"{not json",
    b"[1, 2, 3]",
    b"null",
    b'"a string"',
    b"12345",
    b"[" * 100_000 + b"]" * 100_000,
    bytes(random.Random(7).getrandbits(8) for _ in range(4096)),
]


def plausible(shape: Shape, depth: int = 0) -> Any:
    """A value of the right type for ``shape`` (required members only)."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 6:
            return {}
        return {name: plausible(shape.members[name], depth + 1) for name in shape.required_members}
    if kind == "list":
        return []
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return 1
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return 0
    if shape.enum:
        return shape.enum[0]
    return "garbage"


def body_members(operation: OperationModel) -> dict[str, Shape]:
    shape = operation.input_shape
    if shape is None:
        return {}
    return {n: m for n, m in shape.members.items() if not m.serialization.get("location")}


def wrong_documents(operation: OperationModel) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, document) pairs: a plausible request with one member of the wrong type."""
    shape = operation.input_shape
    if shape is None:
        return
    base = plausible(shape)
    for name, member in body_members(operation).items():
        for wrong in WRONG.get(member.type_name, []):
            yield name, {**base, name: wrong}
        if member.type_name == "structure":
            inner_base = plausible(member)
            for inner, inner_shape in member.members.items():
                for wrong in WRONG.get(inner_shape.type_name, [])[:2]:
                    yield f"{name}.{inner}", {**base, name: {**inner_base, inner: wrong}}
        if member.type_name == "list" and member.member.type_name == "structure":
            for wrong in WRONG["structure"]:
                yield f"{name}[]", {**base, name: [wrong]}


def request_path(operation: OperationModel) -> str:
    uri = operation.http["requestUri"]
    return uri.replace("{resourceArn}", quote(SAMPLE_ARN, safe=""))


def body_limit(name: str) -> int:
    return {"SubmitJob": 30 * 1024, "RegisterJobDefinition": 24 * 1024}.get(name, 8 * 1024 * 1024)


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Iterator[tuple[Any, httpx.Client]]:
    from tests.support.server import ServerProcess

    server = ServerProcess(tmp_path_factory.mktemp("garbage")).start()
    batch = server.client("batch")
    policy = batch.create_scheduling_policy(name="garbage-policy", tags={"a": "b"})["arn"]
    ce = make_ce(batch, name="garbage-ce", computeResources=ec2_resources(), tags={"a": "b"})
    make_queue(batch, [ce], name="garbage-queue", schedulingPolicyArn=policy, tags={"a": "b"})
    batch.register_job_definition(
        jobDefinitionName="garbage-def", type="container", containerProperties={"image": "busybox"}
    )
    with httpx.Client(base_url=server.endpoint, timeout=60) as http:
        yield server, http
    server.stop()


def send(http: httpx.Client, operation: OperationModel, body: bytes) -> httpx.Response:
    return http.request(
        operation.http["method"],
        request_path(operation),
        content=body,
        headers={"Authorization": AUTH, "Content-Type": "application/json"},
    )


def assert_refused(
    response: httpx.Response, operation: OperationModel, what: str
) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (
        operation.name,
        what,
        response.status_code,
        response.text,
    )
    document = response.json()
    assert document.get("message"), (operation.name, what, document)
    assert response.headers.get("x-amzn-ErrorType"), (operation.name, what)
    if operation.name not in IMPLEMENTED:
        assert document["__type"] == "UnknownOperationException", (operation.name, document)
    return document


def implemented() -> set[str]:
    # The table only closes over the facade; building it calls nothing on it.
    return set(batch_api.api(cast(Batch, None)).operations)


IMPLEMENTED = implemented()


@pytest.mark.parametrize("name", OPERATIONS)
def test_garbage_is_refused_and_changes_nothing(target, name) -> None:
    server, http = target
    operation = MODEL.operation_model(name)
    batch = server.client("batch")
    before = snapshot(batch)

    for body in GARBAGE_BODIES:
        assert_refused(send(http, operation, body), operation, f"garbage {body[:16]!r}")

    for path, document in wrong_documents(operation):
        response = send(http, operation, json.dumps(document).encode())
        assert_refused(response, operation, f"wrong type at {path}")

    shape = operation.input_shape
    if shape is not None and set(shape.required_members) - {"resourceArn"}:
        assert_refused(send(http, operation, b"{}"), operation, "missing required members")

    oversized = b'{"x": "' + b"a" * body_limit(name) + b'"}'
    response = send(http, operation, oversized)
    assert response.status_code == 413 or operation.name not in IMPLEMENTED
    assert_refused(response, operation, "oversized body")

    assert snapshot(batch) == before


def test_every_model_operation_is_covered() -> None:
    assert len(OPERATIONS) == len(MODEL.operation_names) >= 48
    assert set(OPERATIONS) >= IMPLEMENTED


BAD_ARNS = [
    "not-an-arn",
    "%ZZ",
    "arn:aws:batch:::",
    "arn:aws:batch:us-east-1:1:job-queue/" + "x" * 2000,
]


@pytest.mark.parametrize("name", ["TagResource", "UntagResource", "ListTagsForResource"])
@pytest.mark.parametrize("arn", BAD_ARNS)
def test_garbage_resource_arns_are_refused(target, name, arn) -> None:
    server, http = target
    operation = MODEL.operation_model(name)
    before = snapshot(server.client("batch"))
    path = "/v1/tags/" + (arn if "%" in arn else quote(arn, safe=""))
    body = json.dumps({"tags": {"a": "b"}}).encode() if name == "TagResource" else b""
    response = http.request(
        operation.http["method"],
        path,
        params={"tagKeys": "a"} if name == "UntagResource" else None,
        content=body,
        headers={"Authorization": AUTH, "Content-Type": "application/json"},
    )
    assert_refused(response, operation, f"resource ARN {arn[:40]}")
    assert snapshot(server.client("batch")) == before
