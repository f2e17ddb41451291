"""Connections and API destinations: what their operations take and answer, and the split of
a connection's authorization parameters into what may be shown and what is secret.

A connection holds the credentials an API destination's requests carry (API_KEY: a header of
the key's name; BASIC: ``Authorization: Basic``; OAUTH_CLIENT_CREDENTIALS: a bearer token
EventBridge gets from the authorization endpoint with the client's id and secret) and HTTP
parameters added to every request. AWS keeps the credentials in Secrets Manager and never
shows them: DescribeConnection answers the key's name, the user name, the client id, and
the other parameters without the values marked ``IsValueSecret``. The store keeps the whole
parameters apart from what DescribeConnection shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from batchyard.aws.documents import JsonObject, copy_json
from batchyard.events.model import epoch, moment

DEFAULT_RATE_LIMIT = 300


class AuthorizationType(StrEnum):
    """How a connection authorizes its requests."""

    BASIC = "BASIC"
    OAUTH_CLIENT_CREDENTIALS = "OAUTH_CLIENT_CREDENTIALS"
    API_KEY = "API_KEY"


class ConnectionState(StrEnum):
    """Where a connection is: AUTHORIZED once its credentials can be used (an OAuth one after
    AUTHORIZING got a token); DEAUTHORIZED once DeauthorizeConnection removed them or the
    authorization endpoint refused."""

    CREATING = "CREATING"
    UPDATING = "UPDATING"
    DELETING = "DELETING"
    AUTHORIZED = "AUTHORIZED"
    DEAUTHORIZED = "DEAUTHORIZED"
    AUTHORIZING = "AUTHORIZING"
    DEAUTHORIZING = "DEAUTHORIZING"
    ACTIVE = "ACTIVE"
    FAILED_CONNECTIVITY = "FAILED_CONNECTIVITY"


class ApiDestinationState(StrEnum):
    """Whether an API destination takes events."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


# The member of AuthParameters each authorization type needs, and no other type may carry.
AUTH_MEMBER = {
    AuthorizationType.API_KEY: "ApiKeyAuthParameters",
    AuthorizationType.BASIC: "BasicAuthParameters",
    AuthorizationType.OAUTH_CLIENT_CREDENTIALS: "OAuthParameters",
}
# What each of those members must hold once a connection is created or updated.
_REQUIRED = {
    "ApiKeyAuthParameters": ("ApiKeyName", "ApiKeyValue"),
    "BasicAuthParameters": ("Username", "Password"),
    "OAuthParameters": ("ClientParameters", "AuthorizationEndpoint", "HttpMethod"),
}
_SECRET_MEMBERS = {
    "ApiKeyAuthParameters": ("ApiKeyValue",),
    "BasicAuthParameters": ("Password",),
}


class InvalidAuth(ValueError):
    """Authorization parameters EventBridge refuses (the text is the message's reason)."""


def _parameter_lists(http: JsonObject) -> JsonObject:
    """HTTP parameters with the values marked secret left out."""
    return {
        kind: [
            {key: value for key, value in item.items() if key != "Value"}
            if item.get("IsValueSecret")
            else dict(item)
            for item in items
        ]
        for kind, items in http.items()
    }


def shown(auth: JsonObject) -> JsonObject:
    """What DescribeConnection shows of authorization parameters: no secret."""
    public: JsonObject = {}
    for member, value in auth.items():
        if member in _SECRET_MEMBERS:
            public[member] = {
                key: item for key, item in value.items() if key not in _SECRET_MEMBERS[member]
            }
        elif member == "OAuthParameters":
            oauth = {key: copy_json(item) for key, item in value.items()}
            client = oauth.get("ClientParameters") or {}
            oauth["ClientParameters"] = {
                key: item for key, item in client.items() if key != "ClientSecret"
            }
            if "OAuthHttpParameters" in oauth:
                oauth["OAuthHttpParameters"] = _parameter_lists(oauth["OAuthHttpParameters"])
            public[member] = oauth
        elif member == "InvocationHttpParameters":
            public[member] = _parameter_lists(value)
        else:
            public[member] = copy_json(value)
    return public


def merged(
    authorization: AuthorizationType, current: JsonObject | None, changes: JsonObject | None
) -> JsonObject:
    """The authorization parameters of a connection after an update: each member of
    ``changes`` merged into ``current``'s (a credential's fields one by one, HTTP parameter
    lists replaced), those of other authorization types dropped."""
    result = copy_json(current or {})
    for member, value in (changes or {}).items():
        old = result.get(member)
        if member in _REQUIRED and isinstance(old, dict):
            combined = {**old, **copy_json(value)}
            if member == "OAuthParameters" and "ClientParameters" in value:
                combined["ClientParameters"] = {
                    **(old.get("ClientParameters") or {}), **value["ClientParameters"]
                }
            result[member] = combined
        else:
            result[member] = copy_json(value)
    wanted = AUTH_MEMBER[authorization]
    return {
        member: value
        for member, value in result.items()
        if member not in _REQUIRED or member == wanted
    }


def check(authorization: AuthorizationType, auth: JsonObject) -> None:
    """Raise :class:`InvalidAuth` unless ``auth`` holds exactly the credentials
    ``authorization`` uses, complete."""
    wanted = AUTH_MEMBER[authorization]
    for member in _REQUIRED:
        if member != wanted and member in auth:
            raise InvalidAuth(
                f"{member} cannot be used with the {authorization} authorization type"
            )
    given = auth.get(wanted)
    if given is None:
        raise InvalidAuth(f"{wanted} must be specified for the {authorization} authorization type")
    for field in _REQUIRED[wanted]:
        if not given.get(field):
            raise InvalidAuth(f"{wanted}.{field} must be specified")
    if wanted == "OAuthParameters":
        client = given["ClientParameters"]
        for field in ("ClientID", "ClientSecret"):
            if not client.get(field):
                raise InvalidAuth(f"OAuthParameters.ClientParameters.{field} must be specified")


@dataclass(frozen=True, slots=True)
class Connection:
    """A connection as DescribeConnection shows it (``auth_parameters`` without secrets)."""

    name: str
    connection_arn: str
    authorization_type: AuthorizationType
    connection_state: ConnectionState
    creation_time: datetime
    last_modified_time: datetime
    description: str | None = None
    state_reason: str | None = None
    last_authorized_time: datetime | None = None
    auth_parameters: JsonObject | None = None
    invocation_connectivity_parameters: JsonObject | None = None
    kms_key_identifier: str | None = None

    def document(self) -> JsonObject:
        """The connection as the store keeps it, without its secrets."""
        document: JsonObject = {
            "Name": self.name,
            "ConnectionArn": self.connection_arn,
            "AuthorizationType": str(self.authorization_type),
            "ConnectionState": str(self.connection_state),
            "CreationTime": epoch(self.creation_time),
            "LastModifiedTime": epoch(self.last_modified_time),
            "Description": self.description,
            "StateReason": self.state_reason,
            "LastAuthorizedTime": epoch(self.last_authorized_time),
            "AuthParameters": copy_json(self.auth_parameters),
            "InvocationConnectivityParameters": copy_json(
                self.invocation_connectivity_parameters
            ),
            "KmsKeyIdentifier": self.kms_key_identifier,
        }
        return {key: value for key, value in document.items() if value is not None}

    @classmethod
    def from_document(cls, document: JsonObject) -> Connection:
        """The connection stored as ``document``."""
        created, modified = moment(document["CreationTime"]), moment(document["LastModifiedTime"])
        assert created is not None and modified is not None
        return cls(
            document["Name"],
            document["ConnectionArn"],
            AuthorizationType(document["AuthorizationType"]),
            ConnectionState(document["ConnectionState"]),
            created,
            modified,
            document.get("Description"),
            document.get("StateReason"),
            moment(document.get("LastAuthorizedTime")),
            document.get("AuthParameters"),
            document.get("InvocationConnectivityParameters"),
            document.get("KmsKeyIdentifier"),
        )


@dataclass(frozen=True, slots=True)
class ConnectionResult:
    """What CreateConnection, UpdateConnection, DeleteConnection and DeauthorizeConnection
    answer."""

    connection_arn: str
    connection_state: ConnectionState
    creation_time: datetime
    last_modified_time: datetime
    last_authorized_time: datetime | None = None

    @classmethod
    def of(cls, connection: Connection, state: ConnectionState | None = None) -> ConnectionResult:
        """The answer about ``connection``, in ``state`` when given (a state it passes)."""
        return cls(
            connection.connection_arn,
            state or connection.connection_state,
            connection.creation_time,
            connection.last_modified_time,
            connection.last_authorized_time,
        )


@dataclass(frozen=True, slots=True)
class Connections:
    """A page of ListConnections."""

    connections: list[Connection]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class ApiDestination:
    """An API destination as DescribeApiDestination shows it."""

    name: str
    api_destination_arn: str
    connection_arn: str
    invocation_endpoint: str
    http_method: str
    creation_time: datetime
    last_modified_time: datetime
    invocation_rate_limit_per_second: int = DEFAULT_RATE_LIMIT
    api_destination_state: ApiDestinationState = ApiDestinationState.ACTIVE
    description: str | None = None

    def document(self) -> JsonObject:
        """The API destination as the store keeps it."""
        document: JsonObject = {
            "Name": self.name,
            "ApiDestinationArn": self.api_destination_arn,
            "ConnectionArn": self.connection_arn,
            "InvocationEndpoint": self.invocation_endpoint,
            "HttpMethod": self.http_method,
            "CreationTime": epoch(self.creation_time),
            "LastModifiedTime": epoch(self.last_modified_time),
            "InvocationRateLimitPerSecond": self.invocation_rate_limit_per_second,
            "ApiDestinationState": str(self.api_destination_state),
            "Description": self.description,
        }
        return {key: value for key, value in document.items() if value is not None}

    @classmethod
    def from_document(cls, document: JsonObject) -> ApiDestination:
        """The API destination stored as ``document``."""
        created, modified = moment(document["CreationTime"]), moment(document["LastModifiedTime"])
        assert created is not None and modified is not None
        return cls(
            document["Name"],
            document["ApiDestinationArn"],
            document["ConnectionArn"],
            document["InvocationEndpoint"],
            document["HttpMethod"],
            created,
            modified,
            document.get("InvocationRateLimitPerSecond", DEFAULT_RATE_LIMIT),
            ApiDestinationState(document.get("ApiDestinationState", ApiDestinationState.ACTIVE)),
            document.get("Description"),
        )


@dataclass(frozen=True, slots=True)
class ApiDestinationResult:
    """What CreateApiDestination and UpdateApiDestination answer."""

    api_destination_arn: str
    api_destination_state: ApiDestinationState
    creation_time: datetime
    last_modified_time: datetime


@dataclass(frozen=True, slots=True)
class ApiDestinations:
    """A page of ListApiDestinations."""

    api_destinations: list[ApiDestination]
    next_token: str | None = None
