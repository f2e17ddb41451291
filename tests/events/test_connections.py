"""Connections' authorization parameters and the requests to API destinations, as pure
functions: what is shown and what stays secret, how an update merges, and how a request
is built from the destination, the target's HttpParameters and the connection."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from batchyard.events.api_destinations import build_request, token_request
from batchyard.events.connections import (
    ApiDestination,
    AuthorizationType,
    InvalidAuth,
    check,
    merged,
    shown,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OAUTH = {
    "OAuthParameters": {
        "ClientParameters": {"ClientID": "id", "ClientSecret": "client-secret"},
        "AuthorizationEndpoint": "https://auth.example.com/token",
        "HttpMethod": "POST",
        "OAuthHttpParameters": {
            "BodyParameters": [
                {"Key": "grant_type", "Value": "client_credentials"},
                {"Key": "audience", "Value": "hidden", "IsValueSecret": True},
            ]
        },
    },
    "InvocationHttpParameters": {
        "HeaderParameters": [{"Key": "X-Token", "Value": "header-secret", "IsValueSecret": True}]
    },
}


def _destination(
    method: str = "POST", endpoint: str = "https://api.example.com/x"
) -> ApiDestination:
    return ApiDestination("d", "arn:d", "arn:c", endpoint, method, NOW, NOW)


def test_what_is_shown_of_an_oauth_connection_holds_no_secret() -> None:
    public = shown(OAUTH)
    assert public == {
        "OAuthParameters": {
            "ClientParameters": {"ClientID": "id"},
            "AuthorizationEndpoint": "https://auth.example.com/token",
            "HttpMethod": "POST",
            "OAuthHttpParameters": {
                "BodyParameters": [
                    {"Key": "grant_type", "Value": "client_credentials"},
                    {"Key": "audience", "IsValueSecret": True},
                ]
            },
        },
        "InvocationHttpParameters": {
            "HeaderParameters": [{"Key": "X-Token", "IsValueSecret": True}]
        },
    }
    assert "secret" not in json.dumps(public) and "hidden" not in json.dumps(public)
    assert OAUTH["OAuthParameters"]["ClientParameters"]["ClientSecret"] == "client-secret"


def test_an_update_merges_credentials_field_by_field_and_drops_other_types() -> None:
    api_key = {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}
    assert merged(
        AuthorizationType.API_KEY, api_key, {"ApiKeyAuthParameters": {"ApiKeyValue": "w"}}
    ) == {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "w"}}
    basic = {"BasicAuthParameters": {"Username": "u", "Password": "p"}}
    assert merged(AuthorizationType.BASIC, api_key, basic) == basic
    secret = merged(
        AuthorizationType.OAUTH_CLIENT_CREDENTIALS, OAUTH,
        {"OAuthParameters": {"ClientParameters": {"ClientSecret": "rotated"}}},
    )
    assert secret["OAuthParameters"]["ClientParameters"] == {
        "ClientID": "id", "ClientSecret": "rotated"
    }
    assert secret["OAuthParameters"]["HttpMethod"] == "POST"


def test_only_the_credentials_of_the_authorization_type_are_taken() -> None:
    check(AuthorizationType.OAUTH_CLIENT_CREDENTIALS, OAUTH)
    with pytest.raises(InvalidAuth, match="BasicAuthParameters must be specified"):
        check(AuthorizationType.BASIC, {})
    with pytest.raises(InvalidAuth, match="ApiKeyAuthParameters cannot be used"):
        check(
            AuthorizationType.BASIC,
            {
                "BasicAuthParameters": {"Username": "u", "Password": "p"},
                "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
            },
        )
    with pytest.raises(InvalidAuth, match="ClientSecret must be specified"):
        check(
            AuthorizationType.OAUTH_CLIENT_CREDENTIALS,
            {
                "OAuthParameters": {
                    **OAUTH["OAuthParameters"], "ClientParameters": {"ClientID": "i"}
                }
            },
        )


def test_a_request_keeps_the_headers_eventbridge_always_sends() -> None:
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}}
    request = build_request(
        _destination(),
        {"HeaderParameters": {"User-Agent": "mine", "Content-Type": "text/plain;v=1.0"}},
        auth, AuthorizationType.API_KEY, "plain text",
    )
    assert request.headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"
    assert request.headers["content-type"] == "text/plain;v=1.0"
    assert request.headers["range"] == "bytes=0-1048575"
    assert request.headers["x-key"] == "v"
    assert request.content == b"plain text"


def test_body_parameters_join_only_a_json_object_body_and_get_sends_no_body() -> None:
    auth = {
        "BasicAuthParameters": {"Username": "u", "Password": "p"},
        "InvocationHttpParameters": {"BodyParameters": [{"Key": "extra", "Value": "1"}]},
    }
    joined = build_request(_destination(), None, auth, AuthorizationType.BASIC, '{"a": 1}')
    assert json.loads(joined.content) == {"a": 1, "extra": "1"}
    kept = build_request(_destination(), None, auth, AuthorizationType.BASIC, '["a"]')
    assert kept.content == b'["a"]'
    get = build_request(_destination("GET"), None, auth, AuthorizationType.BASIC, '{"a": 1}')
    assert get.content == b""


def test_path_wildcards_are_filled_in_order_and_a_token_is_a_bearer() -> None:
    request = build_request(
        _destination(endpoint="https://api.example.com/a/*/b/*?q=1"),
        {"PathParameterValues": ["x/y", "z"], "QueryStringParameters": {"r": "2"}},
        OAUTH, AuthorizationType.OAUTH_CLIENT_CREDENTIALS, "{}", token="tok",
    )
    assert str(request.url) == "https://api.example.com/a/x%2Fy/b/z?q=1&r=2"
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["x-token"] == "header-secret"


def test_a_token_request_sends_its_body_parameters_as_json_unless_told_form() -> None:
    request = token_request(OAUTH)
    assert request.method == "POST"
    assert json.loads(request.content) == {"grant_type": "client_credentials", "audience": "hidden"}
    assert request.headers["authorization"].startswith("Basic ")
