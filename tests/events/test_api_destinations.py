"""Connections and API destinations through boto3 against a live server, delivering to a
local HTTP server the test starts: the API_KEY, BASIC and OAUTH_CLIENT_CREDENTIALS
authorizations, HttpParameters and input transformers applied, retries as AWS does them,
InvocationRateLimitPerSecond, and no secret in any answer; and, on the facade, an OAuth
connection a stopped server left AUTHORIZING."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from batchyard.aws.caller import Caller
from batchyard.events import EventBridge, connection_records, records
from batchyard.events.connections import AuthorizationType, ConnectionState, shown
from batchyard.events.connections import Connection as EventsConnection
from batchyard.store import Store
from batchyard.store.tables.events import connections
from tests.events.support import refusal, unique
from tests.support.http_endpoint import Endpoint
from tests.support.server import ServerProcess, wait_for

ACCOUNT = "123456789012"
PREFIX = f"arn:aws:events:us-east-1:{ACCOUNT}:"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/events"


def _raw_answers(client: Any) -> list[str]:
    """The bodies of every answer ``client`` gets from now on."""
    bodies: list[str] = []
    client.meta.events.register(
        "after-call.events", lambda http_response, **_: bodies.append(http_response.text)
    )
    return bodies


def _api_key_connection(events: Any, value: str = "k-123", **extra: Any) -> str:
    key = {"ApiKeyName": "x-api-key", "ApiKeyValue": value}
    return str(
        events.create_connection(
            Name=unique("key"), AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": key, **extra},
        )["ConnectionArn"]
    )


def _target_rule(events: Any, destination: str, **target: Any) -> tuple[str, str]:
    """A rule sending the events of a new source to ``destination``: (source, rule name)."""
    source, rule = unique("my.app"), unique("to-http")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(
        Rule=rule, Targets=[{"Id": "http", "Arn": destination, "RoleArn": ROLE, **target}]
    )
    return source, rule


def _put(events: Any, source: str, *details: dict[str, Any]) -> None:
    entries = [{"Source": source, "DetailType": "t", "Detail": json.dumps(d)} for d in details]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0


def _destination(events: Any, connection: str, endpoint: str, **extra: Any) -> str:
    return str(
        events.create_api_destination(
            Name=unique("dest"), ConnectionArn=connection, InvocationEndpoint=endpoint,
            HttpMethod=extra.pop("HttpMethod", "POST"), **extra,
        )["ApiDestinationArn"]
    )


def _stored_connection(server: ServerProcess, arn: str) -> dict[str, Any]:
    engine = sa.create_engine(f"sqlite:///{(server.data_dir / 'batchyard.db').resolve()}")
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(connections.c.document, connections.c.secret).where(
                    connections.c.arn == arn
                )
            ).one()
            return {"document": row.document, "secret": row.secret}
    finally:
        engine.dispose()


def _failures(server: ServerProcess, rule_arn: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{(server.data_dir / 'batchyard.db').resolve()}")
    try:
        with engine.connect() as conn:
            return [dataclasses.asdict(f) for f in records.failures(conn, rule_arn)]
    finally:
        engine.dispose()


def test_a_connection_never_shows_its_secrets(server: ServerProcess) -> None:
    events = server.client("events")
    answers = _raw_answers(events)
    name = unique("conn")
    created = events.create_connection(
        Name=name, Description="the shop's API", AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-s3cret"},
            "InvocationHttpParameters": {
                "HeaderParameters": [{"Key": "X-Tenant", "Value": "t1", "IsValueSecret": False}],
                "QueryStringParameters": [
                    {"Key": "sig", "Value": "query-s3cret", "IsValueSecret": True}
                ],
            },
        },
    )
    arn = created["ConnectionArn"]
    assert arn.startswith(PREFIX + f"connection/{name}/")
    assert created["ConnectionState"] == "AUTHORIZED"
    described = events.describe_connection(Name=name)
    assert {k: described[k] for k in ("Name", "ConnectionArn", "Description",
                                      "AuthorizationType", "ConnectionState")} == {
        "Name": name, "ConnectionArn": arn, "Description": "the shop's API",
        "AuthorizationType": "API_KEY", "ConnectionState": "AUTHORIZED",
    }
    assert described["AuthParameters"] == {
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"},
        "InvocationHttpParameters": {
            "HeaderParameters": [{"Key": "X-Tenant", "Value": "t1", "IsValueSecret": False}],
            "QueryStringParameters": [{"Key": "sig", "IsValueSecret": True}],
        },
    }
    assert described["LastAuthorizedTime"] >= described["CreationTime"]
    listed = events.list_connections(NamePrefix=name)["Connections"]
    assert [(c["Name"], c["ConnectionState"], c["AuthorizationType"]) for c in listed] == [
        (name, "AUTHORIZED", "API_KEY")
    ]
    assert events.list_connections(NamePrefix=name, ConnectionState="DEAUTHORIZED")[
        "Connections"
    ] == []

    updated = events.update_connection(
        Name=name, AuthParameters={"ApiKeyAuthParameters": {"ApiKeyValue": "new-s3cret"}}
    )
    assert updated["ConnectionState"] == "AUTHORIZED"
    assert events.describe_connection(Name=name)["AuthParameters"]["ApiKeyAuthParameters"] == {
        "ApiKeyName": "x-api-key"
    }
    stored = _stored_connection(server, arn)
    assert "s3cret" not in json.dumps(stored["document"])
    assert stored["secret"]["ApiKeyAuthParameters"]["ApiKeyValue"] == "new-s3cret"

    assert events.deauthorize_connection(Name=name)["ConnectionState"] == "DEAUTHORIZING"
    deauthorized = events.describe_connection(Name=name)
    assert deauthorized["ConnectionState"] == "DEAUTHORIZED"
    assert "AuthParameters" not in deauthorized
    assert _stored_connection(server, arn)["secret"] is None

    assert events.delete_connection(Name=name)["ConnectionState"] == "DELETING"
    assert refusal(events.describe_connection, Name=name) == {
        "Code": "ResourceNotFoundException",
        "Message": f"Failed to describe the connection(s). Connection '{name}' does not exist.",
    }
    assert answers and not any("s3cret" in body for body in answers)


def test_connection_errors(events: Any) -> None:
    name = unique("conn")
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}
    events.create_connection(Name=name, AuthorizationType="API_KEY", AuthParameters=auth)
    assert refusal(
        events.create_connection, Name=name, AuthorizationType="API_KEY", AuthParameters=auth
    ) == {"Code": "ResourceAlreadyExistsException", "Message": f"Connection {name} already exists."}
    basic = {"BasicAuthParameters": {"Username": "u", "Password": "p"}}
    for kind, given in (("API_KEY", {**auth, **basic}), ("BASIC", auth), ("API_KEY", {})):
        error = refusal(
            events.create_connection, Name=unique("bad"), AuthorizationType=kind,
            AuthParameters=given,
        )
        assert error["Code"] == "ValidationException"
        assert error["Message"].startswith("Parameter AuthParameters is not valid. Reason: ")
    error = refusal(
        events.update_connection, Name=name, AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u"}},
    )
    assert error == {
        "Code": "ValidationException",
        "Message": "Parameter AuthParameters is not valid. Reason: "
        "BasicAuthParameters.Password must be specified.",
    }
    missing = unique("missing")
    for call in (events.describe_connection, events.delete_connection,
                 events.deauthorize_connection):
        assert refusal(call, Name=missing)["Code"] == "ResourceNotFoundException"


def test_an_api_destination_is_created_described_listed_updated_and_deleted(
    events: Any, endpoint: Endpoint
) -> None:
    connection = _api_key_connection(events)
    name = unique("dest")
    created = events.create_api_destination(
        Name=name, ConnectionArn=connection, InvocationEndpoint=f"{endpoint.url}/a",
        HttpMethod="PUT", Description="orders", InvocationRateLimitPerSecond=20,
    )
    arn = created["ApiDestinationArn"]
    assert arn.startswith(PREFIX + f"api-destination/{name}/")
    assert created["ApiDestinationState"] == "ACTIVE"
    described = events.describe_api_destination(Name=name)
    assert {k: v for k, v in described.items() if k != "ResponseMetadata"} == {
        "ApiDestinationArn": arn, "Name": name, "Description": "orders",
        "ApiDestinationState": "ACTIVE", "ConnectionArn": connection,
        "InvocationEndpoint": f"{endpoint.url}/a", "HttpMethod": "PUT",
        "InvocationRateLimitPerSecond": 20, "CreationTime": created["CreationTime"],
        "LastModifiedTime": created["LastModifiedTime"],
    }
    listed = events.list_api_destinations(ConnectionArn=connection)["ApiDestinations"]
    assert [d["Name"] for d in listed] == [name]
    events.update_api_destination(Name=name, InvocationEndpoint=f"{endpoint.url}/b")
    described = events.describe_api_destination(Name=name)
    assert described["InvocationEndpoint"] == f"{endpoint.url}/b"
    assert described["HttpMethod"] == "PUT" and described["InvocationRateLimitPerSecond"] == 20
    events.delete_api_destination(Name=name)
    assert refusal(events.describe_api_destination, Name=name) == {
        "Code": "ResourceNotFoundException",
        "Message": f"Failed to describe the api-destination(s). An api-destination '{name}' "
        "does not exist.",
    }


def test_api_destination_errors(events: Any, endpoint: Endpoint) -> None:
    connection = _api_key_connection(events)
    name = unique("dest")
    kwargs = {"ConnectionArn": connection, "InvocationEndpoint": endpoint.url, "HttpMethod": "POST"}
    events.create_api_destination(Name=name, **kwargs)
    assert refusal(events.create_api_destination, Name=name, **kwargs) == {
        "Code": "ResourceAlreadyExistsException",
        "Message": f"An api-destination '{name}' already exists.",
    }
    gone = PREFIX + "connection/gone/00000000-0000-0000-0000-000000000000"
    assert refusal(
        events.create_api_destination, Name=unique("d"), **{**kwargs, "ConnectionArn": gone}
    ) == {
        "Code": "ResourceNotFoundException",
        "Message": "Failed to describe the connection(s). Connection 'gone' does not exist.",
    }
    error = refusal(
        events.create_api_destination, Name=unique("d"),
        **{**kwargs, "InvocationEndpoint": "ftp://example.com/x"},
    )
    assert error["Code"] == "ValidationException"
    assert refusal(events.update_api_destination, Name=unique("missing"), HttpMethod="GET")[
        "Code"
    ] == "ResourceNotFoundException"


def test_an_api_key_target_posts_the_transformed_event(
    events: Any, endpoint: Endpoint
) -> None:
    connection = _api_key_connection(
        events,
        InvocationHttpParameters={"HeaderParameters": [{"Key": "X-Tenant", "Value": "t1"}]},
    )
    destination = _destination(events, connection, f"{endpoint.url}/orders/*/items")
    source, rule = _target_rule(
        events, destination,
        HttpParameters={
            "PathParameterValues": ["o 42"],
            "HeaderParameters": {"X-Trace": "abc", "X-Tenant": "from-target"},
            "QueryStringParameters": {"mode": "test"},
        },
        InputTransformer={
            "InputPathsMap": {"id": "$.detail.id", "qty": "$.detail.qty"},
            "InputTemplate": '{"order": <id>, "quantity": <qty>, "rule": "<aws.events.rule-name>"}',
        },
    )
    _put(events, source, {"id": "o-1", "qty": 3})
    [request] = wait_for(lambda: endpoint.at("/orders/o%2042/items"), timeout=10)
    assert request.method == "POST"
    assert request.query == {"mode": "test"}
    assert request.headers["x-api-key"] == "k-123"
    assert request.headers["x-trace"] == "abc"
    assert request.headers["x-tenant"] == "t1"  # the connection's parameters win
    assert request.headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(request.body) == {"order": "o-1", "quantity": 3, "rule": rule}


def test_a_basic_target_carries_the_connection_parameters(
    events: Any, endpoint: Endpoint
) -> None:
    connection = events.create_connection(
        Name=unique("basic"), AuthorizationType="BASIC",
        AuthParameters={
            "BasicAuthParameters": {"Username": "shop", "Password": "pa ss!"},
            "InvocationHttpParameters": {
                "QueryStringParameters": [{"Key": "tenant", "Value": "t9", "IsValueSecret": True}],
                "BodyParameters": [{"Key": "origin", "Value": "eventbridge"}],
            },
        },
    )["ConnectionArn"]
    destination = _destination(events, connection, f"{endpoint.url}/hook?fixed=1")
    source, _ = _target_rule(events, destination, InputPath="$.detail")
    _put(events, source, {"n": 7})
    [request] = wait_for(lambda: endpoint.at("/hook"), timeout=10)
    expected = "Basic " + base64.b64encode(b"shop:pa ss!").decode()
    assert request.headers["authorization"] == expected
    assert request.query == {"fixed": "1", "tenant": "t9"}
    assert json.loads(request.body) == {"n": 7, "origin": "eventbridge"}


def test_an_oauth_connection_gets_its_token_and_a_new_one_on_401(
    server: ServerProcess, endpoint: Endpoint
) -> None:
    events = server.client("events")
    answers = _raw_answers(events)
    endpoint.answer("/token", 200, json.dumps({"access_token": "tok-1", "expires_in": 3600}))
    endpoint.answer("/token", 200, json.dumps({"access_token": "tok-2"}))
    endpoint.answer("/secured", 401)
    name = unique("oauth")
    created = events.create_connection(
        Name=name, AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "client", "ClientSecret": "client-s3cret"},
                "AuthorizationEndpoint": f"{endpoint.url}/token",
                "HttpMethod": "POST",
                "OAuthHttpParameters": {
                    "HeaderParameters": [
                        {"Key": "Content-Type", "Value": "application/x-www-form-urlencoded"}
                    ],
                    "BodyParameters": [{"Key": "grant_type", "Value": "client_credentials"}],
                },
            }
        },
    )
    assert created["ConnectionState"] == "AUTHORIZING"
    described = wait_for(
        lambda: (c := events.describe_connection(Name=name))["ConnectionState"] == "AUTHORIZED"
        and c,
        timeout=10, what="the OAuth connection authorized",
    )
    assert "LastAuthorizedTime" in described
    assert described["AuthParameters"]["OAuthParameters"]["ClientParameters"] == {
        "ClientID": "client"
    }
    [asked] = endpoint.at("/token")
    assert asked.method == "POST"
    assert asked.headers["authorization"] == "Basic " + base64.b64encode(
        b"client:client-s3cret"
    ).decode()
    assert asked.body == "grant_type=client_credentials"

    destination = _destination(events, created["ConnectionArn"], f"{endpoint.url}/secured")
    source, _ = _target_rule(events, destination)
    _put(events, source, {"n": 1})
    first, second = wait_for(lambda: len(r := endpoint.at("/secured")) >= 2 and r, timeout=10)
    assert first.headers["authorization"] == "Bearer tok-1"
    assert second.headers["authorization"] == "Bearer tok-2"
    assert len(endpoint.at("/token")) == 2
    assert json.loads(second.body)["detail"] == {"n": 1}
    assert not any("s3cret" in body for body in answers)


def test_429_is_retried_after_retry_after_and_400_or_a_negative_retry_after_is_not(
    server: ServerProcess, endpoint: Endpoint
) -> None:
    events = server.client("events")
    connection = _api_key_connection(events)
    endpoint.answer("/busy", 429, Retry_After="1")
    busy = _destination(events, connection, f"{endpoint.url}/busy")
    source, _ = _target_rule(events, busy)
    _put(events, source, {"n": 1})
    first, second = wait_for(lambda: len(r := endpoint.at("/busy")) >= 2 and r, timeout=15)
    assert second.at - first.at >= 1.0
    assert json.loads(second.body)["detail"] == {"n": 1}

    endpoint.answer("/refuses", 400)
    refusing = _destination(events, connection, f"{endpoint.url}/refuses")
    source, rule = _target_rule(events, refusing)
    _put(events, source, {"n": 2})
    rule_arn = events.describe_rule(Name=rule)["Arn"]
    failures = wait_for(lambda: _failures(server, rule_arn), timeout=10)
    assert [(f["attempt"], f["final"], f["error_code"]) for f in failures] == [
        (1, True, "HttpError")
    ]
    assert "k-123" not in failures[0]["input"]
    assert len(endpoint.at("/refuses")) == 1

    endpoint.answer("/gives-up", 503, Retry_After="-1")
    giving_up = _destination(events, connection, f"{endpoint.url}/gives-up")
    source, rule = _target_rule(events, giving_up)
    _put(events, source, {"n": 3})
    rule_arn = events.describe_rule(Name=rule)["Arn"]
    failures = wait_for(lambda: _failures(server, rule_arn), timeout=10)
    assert [(f["attempt"], f["final"], f["error_code"]) for f in failures] == [
        (1, True, "RetryableHttpError")
    ]
    assert len(endpoint.at("/gives-up")) == 1


def test_invocation_rate_limit_spaces_the_requests(events: Any, endpoint: Endpoint) -> None:
    connection = _api_key_connection(events)
    destination = _destination(
        events, connection, f"{endpoint.url}/paced", InvocationRateLimitPerSecond=4
    )
    source, _ = _target_rule(events, destination)
    _put(events, source, *({"n": n} for n in range(8)))
    arrived = wait_for(lambda: len(r := endpoint.at("/paced")) == 8 and r, timeout=15)
    times = sorted(request.at for request in arrived)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.2, gaps
    assert times[-1] - times[0] >= 7 * 0.25 - 0.05
    assert sorted(json.loads(r.body)["detail"]["n"] for r in arrived) == list(range(8))


def test_an_oauth_connection_left_authorizing_is_authorized_at_start_up(
    tmp_path: Path, endpoint: Endpoint
) -> None:
    endpoint.answer("/token", 200, json.dumps({"access_token": "t"}))
    endpoint.answer("/refusing-token", 400)
    owner = Caller(ACCOUNT, "us-east-1")

    def oauth(path: str) -> dict[str, Any]:
        return {
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "c", "ClientSecret": "s"},
                "AuthorizationEndpoint": f"{endpoint.url}{path}", "HttpMethod": "POST",
            }
        }

    async def scenario() -> dict[str, EventsConnection]:
        store = Store(f"sqlite:///{tmp_path / 'batchyard.db'}")
        try:
            now = datetime.now(UTC)
            for name, path in (("left", "/token"), ("refused", "/refusing-token")):
                auth = oauth(path)
                connection = EventsConnection(
                    name, owner.arn("events", f"connection/{name}/{uuid.uuid4()}"),
                    AuthorizationType.OAUTH_CLIENT_CREDENTIALS, ConnectionState.AUTHORIZING,
                    now, now, auth_parameters=shown(auth),
                )
                await store.write(
                    partial(
                        connection_records.create_connection, owner=owner,
                        connection=connection, secret=auth,
                    )
                )
            # The token endpoint is this machine's, as a development server allows.
            events = EventBridge(store, private_destinations=True)
            await events.start()
            await asyncio.wait_for(events.settled(), timeout=20)
            found = {name: await events.describe_connection(owner, name)
                     for name in ("left", "refused")}
            await events.stop()
            return found
        finally:
            store.close()

    found = asyncio.run(scenario())
    assert found["left"].connection_state == ConnectionState.AUTHORIZED
    assert found["left"].last_authorized_time is not None
    assert found["refused"].connection_state == ConnectionState.DEAUTHORIZED
    assert found["refused"].state_reason == "The authorization endpoint answered 400."
    assert len(endpoint.at("/token")) == len(endpoint.at("/refusing-token")) == 1


def test_private_addresses_are_refused_unless_allowed(
    new_server: Callable[..., ServerProcess], endpoint: Endpoint
) -> None:
    """A server told to keep API destinations to public endpoints (the default once
    credentials are configured) reaches nothing on this host, through a name or not."""
    server = new_server(env={"BATCHYARD_API_DESTINATIONS_PRIVATE": "false"})
    events = server.client("events")
    connection = _api_key_connection(events)
    port = endpoint.url.rsplit(":", 1)[1]
    for url in (f"{endpoint.url}/inside", f"http://localhost:{port}/inside"):
        source, rule = _target_rule(events, _destination(events, connection, url))
        _put(events, source, {"n": 1})
        rule_arn = events.describe_rule(Name=rule)["Arn"]
        [failure] = wait_for(lambda a=rule_arn: _failures(server, a), timeout=10)
        assert (failure["final"], failure["error_code"]) == (True, "PrivateEndpoint"), failure
    assert endpoint.at("/inside") == []
