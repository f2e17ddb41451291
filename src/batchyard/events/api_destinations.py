"""Deliver events to API destinations: one HTTP request per event, with the connection's
authorization, paced by the destination's InvocationRateLimitPerSecond.

The request (EventBridge's, as its user guide describes it): the destination's method to its
endpoint, each ``*`` of the endpoint's path replaced by the target's PathParameterValues in
order; the target's query string and header parameters merged with the connection's
InvocationHttpParameters (the connection's win); the target's input as the body (a JSON
object body also gets the connection's body parameters); the headers EventBridge always sends
(User-Agent ``Amazon/EventBridge/ApiDestinations``, Content-Type ``application/json;
charset=utf-8`` unless a parameter sets another, Range, Accept-Encoding, Connection); and the
authorization: the API key's header, ``Authorization: Basic``, or ``Authorization: Bearer``
with a token from the OAuth authorization endpoint (asked with the client id and secret as
Basic credentials and the OAuthHttpParameters; its body parameters as JSON, or as a form when
a Content-Type header parameter says so).

An answer in 2xx delivers the event. 429 and 5xx, a timeout (5 seconds) or a failed
connection are retried by the dispatcher's retry policy, waiting at least the answer's
Retry-After (a negative one ends the retries); other answers are not retried. An OAuth
connection's endpoint answering 401 or 407 gets a new token and the request once more.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import time
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.events import connection_records
from batchyard.events.connection_records import Credentials
from batchyard.events.connections import (
    ApiDestination,
    AuthorizationType,
    ConnectionState,
)
from batchyard.events.model import Target
from batchyard.events.targets import TargetError, TargetEvent
from batchyard.store import Store

API_DESTINATION = "events:api-destination"
TIMEOUT = 5.0
USER_AGENT = "Amazon/EventBridge/ApiDestinations"
CONTENT_TYPE = "application/json; charset=utf-8"
# Sent with every request whatever the parameters say.
_FIXED_HEADERS = {
    "User-Agent": USER_AGENT,
    "Range": "bytes=0-1048575",
    "Accept-Encoding": "gzip,deflate",
    "Connection": "close",
}
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM = "application/x-www-form-urlencoded"
_REAUTHORIZE = frozenset({401, 407})


class AuthorizationFailed(Exception):
    """The OAuth authorization endpoint gave no token (the text says why)."""


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires: float | None

    @property
    def fresh(self) -> bool:
        return self.expires is None or time.monotonic() < self.expires


class _Pace:
    """Spaces the requests to one destination ``1 / rate`` seconds apart."""

    def __init__(self) -> None:
        self._next = 0.0

    async def turn(self, rate: int) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + 1.0 / max(rate, 1)
        if slot > now:
            await asyncio.sleep(slot - now)


def _pairs(http: JsonObject | None, kind: str) -> list[tuple[str, str]]:
    return [(item["Key"], item.get("Value", "")) for item in (http or {}).get(kind) or ()]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def build_request(
    destination: ApiDestination,
    http_parameters: JsonObject | None,
    auth: JsonObject,
    authorization: AuthorizationType,
    body: str,
    token: str | None = None,
) -> httpx.Request:
    """The request that delivers ``body`` to ``destination`` with the target's
    ``http_parameters`` and the connection's ``auth`` parameters (``token``: an OAuth
    connection's bearer token)."""
    target = http_parameters or {}
    invocation = auth.get("InvocationHttpParameters")
    endpoint = destination.invocation_endpoint
    for value in target.get("PathParameterValues") or ():
        endpoint = endpoint.replace("*", quote(value, safe=""), 1)
    url = httpx.URL(endpoint)
    query = {
        **dict(url.params.multi_items()),
        **(target.get("QueryStringParameters") or {}),
        **dict(_pairs(invocation, "QueryStringParameters")),
    }
    headers = httpx.Headers(target.get("HeaderParameters") or {})
    headers.update(dict(_pairs(invocation, "HeaderParameters")))
    if authorization == AuthorizationType.API_KEY:
        key = auth["ApiKeyAuthParameters"]
        headers[key["ApiKeyName"]] = key["ApiKeyValue"]
    elif authorization == AuthorizationType.BASIC:
        basic = auth["BasicAuthParameters"]
        headers["Authorization"] = _basic(basic["Username"], basic["Password"])
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    headers.setdefault("Content-Type", CONTENT_TYPE)
    headers.update(_FIXED_HEADERS)
    content = None
    if destination.http_method not in _BODILESS:
        extra = dict(_pairs(invocation, "BodyParameters"))
        content = body
        if extra:
            document = _json_object(body)
            if document is not None:
                content = json.dumps({**document, **extra})
    return httpx.Request(
        destination.http_method, url.copy_with(params=query), headers=headers, content=content
    )


def token_request(auth: JsonObject) -> httpx.Request:
    """The request for an access token at an OAuth connection's authorization endpoint."""
    oauth = auth["OAuthParameters"]
    client = oauth["ClientParameters"]
    http = oauth.get("OAuthHttpParameters")
    url = httpx.URL(oauth["AuthorizationEndpoint"])
    query = {**dict(url.params.multi_items()), **dict(_pairs(http, "QueryStringParameters"))}
    headers = httpx.Headers(dict(_pairs(http, "HeaderParameters")))
    headers["Authorization"] = _basic(client["ClientID"], client["ClientSecret"])
    method = oauth["HttpMethod"]
    fields = dict(_pairs(http, "BodyParameters"))
    content = None
    if method != "GET":
        if headers.get("Content-Type", "").split(";")[0].strip().lower() == _FORM:
            content = str(httpx.QueryParams(fields))
        else:
            headers.setdefault("Content-Type", "application/json")
            content = json.dumps(fields)
    headers["User-Agent"] = USER_AGENT
    return httpx.Request(method, url.copy_with(params=query), headers=headers, content=content)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


async def _check_public(url: httpx.URL, allow_private: bool) -> None:
    """Refuse a URL whose host is, or resolves to, an address not on the public internet
    (loopback, private, link-local …): an API caller must not make this server reach what
    only it can (itself, its database, the host's other services). The address is checked
    when the request is made; a name that resolves differently a moment later is not."""
    if allow_private:
        return
    host = url.host
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, url.port or 443)
        except OSError as error:
            raise TargetError(
                "ConnectionError", f"{host} cannot be resolved: {error}", retryable=True
            ) from None
        addresses = [ipaddress.ip_address(entry[4][0]) for entry in found]
    for address in addresses:
        if not address.is_global:
            raise TargetError(
                "PrivateEndpoint",
                f"{host} is {address}, not a public address: API destinations may reach "
                "only public endpoints unless BATCHYARD_API_DESTINATIONS_PRIVATE=true",
            )


class ApiDestinationTarget:
    """The deliverer of ``events:api-destination`` targets, and the OAuth client of their
    connections (tokens live in memory: a restarted server asks for new ones).

    ``allow_private``: whether endpoints on loopback and private addresses may be reached.
    """

    def __init__(self, store: Store, allow_private: bool = False) -> None:
        self._store = store
        self._allow_private = allow_private
        self._client = httpx.AsyncClient(
            timeout=TIMEOUT, follow_redirects=False, trust_env=False
        )
        self._paces: dict[str, _Pace] = {}
        self._tokens: dict[str, _Token] = {}

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self._client.aclose()

    async def authorize(self, connection_arn: str, auth: JsonObject) -> None:
        """Get a new token for an OAuth connection; :class:`AuthorizationFailed` when the
        endpoint gives none."""
        request = token_request(auth)
        try:
            await _check_public(request.url, self._allow_private)
        except TargetError as error:
            raise AuthorizationFailed(error.message) from None
        try:
            response = await self._client.send(request)
        except httpx.HTTPError as error:
            raise AuthorizationFailed(
                f"The authorization endpoint could not be reached: {error}"
            ) from None
        if not response.is_success:
            raise AuthorizationFailed(
                f"The authorization endpoint answered {response.status_code}."
            )
        document = _json_object(response.text)
        token = document.get("access_token") if document else None
        if not isinstance(token, str) or not token:
            raise AuthorizationFailed("The authorization endpoint gave no access_token.")
        lifetime = document.get("expires_in") if document else None
        expires = (
            time.monotonic() + float(lifetime)
            if isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
            else None
        )
        self._tokens[connection_arn] = _Token(token, expires)

    def forget(self, connection_arn: str) -> None:
        """Drop the token of a connection deauthorized, updated or deleted."""
        self._tokens.pop(connection_arn, None)

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        """Send ``event`` to the API destination ``target`` names, on behalf of ``caller``."""
        destination, credentials = await self._store.read(
            partial(_lookup, owner=caller, arn=target.arn)
        )
        if destination is None:
            raise TargetError("ResourceNotFoundException", f"{target.arn} does not exist.")
        if credentials is None or credentials.auth is None or (
            credentials.connection.connection_state
            not in (ConnectionState.AUTHORIZED, ConnectionState.AUTHORIZING)
        ):
            raise TargetError(
                "ConnectionNotAuthorized",
                f"The connection {destination.connection_arn} is not authorized.",
            )
        await self._paces.setdefault(destination.api_destination_arn, _Pace()).turn(
            destination.invocation_rate_limit_per_second
        )
        response = await self._send(destination, target, event, credentials, refresh=False)
        if (
            response.status_code in _REAUTHORIZE
            and credentials.connection.authorization_type
            == AuthorizationType.OAUTH_CLIENT_CREDENTIALS
        ):
            response = await self._send(destination, target, event, credentials, refresh=True)
        if response.is_success:
            return
        status = response.status_code
        message = f"The API destination answered {status}."
        if status == 429 or status >= 500:
            wait = _retry_after(response)
            raise TargetError(
                "RetryableHttpError", message, retryable=wait is None or wait >= 0,
                retry_after=wait,
            )
        raise TargetError("HttpError", message)

    async def _send(
        self,
        destination: ApiDestination,
        target: Target,
        event: TargetEvent,
        credentials: Credentials,
        *,
        refresh: bool,
    ) -> httpx.Response:
        connection = credentials.connection
        auth = credentials.auth or {}
        token = None
        if connection.authorization_type == AuthorizationType.OAUTH_CLIENT_CREDENTIALS:
            token = await self._token(connection.connection_arn, auth, refresh)
        request = build_request(
            destination, target.http_parameters, auth, connection.authorization_type,
            event.input, token,
        )
        await _check_public(request.url, self._allow_private)
        try:
            return await self._client.send(request)
        except httpx.TimeoutException:
            raise TargetError(
                "Timeout", f"{destination.invocation_endpoint} did not answer in {TIMEOUT:g} s",
                retryable=True,
            ) from None
        except httpx.HTTPError as error:
            raise TargetError("ConnectionError", str(error), retryable=True) from None

    async def _token(self, connection_arn: str, auth: JsonObject, refresh: bool) -> str:
        token = self._tokens.get(connection_arn)
        if refresh or token is None or not token.fresh:
            try:
                await self.authorize(connection_arn, auth)
            except AuthorizationFailed as error:
                raise TargetError("AuthorizationFailed", str(error), retryable=True) from None
            token = self._tokens[connection_arn]
        return token.value


def _lookup(
    conn: Connection, owner: Caller, arn: str
) -> tuple[ApiDestination | None, Credentials | None]:
    destination = connection_records.destination_by_arn(conn, owner, arn)
    if destination is None:
        return None, None
    return destination, connection_records.credentials_by_arn(
        conn, owner, destination.connection_arn
    )
