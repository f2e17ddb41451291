"""What makes the endpoint browser-proof: Host, Origin and Content-Type checks, and CORS.

A web page the user visits can send requests to a server on the user's machine: a no-cors
``fetch`` or a form may POST ``text/plain`` (or form) bodies, and a DNS-rebinding page can even
read the answers under its own host name. So a request is refused (403) when its Host is not
one of this server's names, when it carries an Origin that is not the server's own or one the
configuration allows, or when its body is not of the type AWS SDKs send — every type a page
may send without a CORS preflight is refused. Configured origins get CORS headers.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from botocore.model import OperationModel

from batchyard.config import Settings
from batchyard.protocol.errors import ServiceError

# Media types a browser sends without asking first (CORS "simple" requests).
_SIMPLE_TYPES = frozenset({
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
})
# What AWS SDKs send for JSON bodies (botocore: x-amz-json-1.0/1.1 for json, application/json
# for rest-json; the AWS SDK for Java sends x-amz-json-1.1 for rest-json too).
_JSON_TYPES = frozenset({
    "application/json", "application/x-amz-json-1.0", "application/x-amz-json-1.1",
})
# The host prefixes botocore puts in front of the endpoint's host: StartSyncExecution's and
# StartLiveTail's.
_HOST_PREFIXES = ("sync-", "stream-")
# Names an attacker's DNS cannot answer for: loopback, the names container engines give the
# host inside containers, and the name the container provider gives this server in its jobs.
_SAFE_NAMES = (
    "localhost", "host.containers.internal", "host.docker.internal", "batchyard.internal",
)
_WILDCARDS = ("", "0.0.0.0", "::")
_CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
_CORS_MAX_AGE = "600"
_QUOTED_LIMIT = 256


class Forbidden(ServiceError):
    """A request refused before it is read: 403 AccessDeniedException."""

    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedException", message, status=403)


def _quoted(text: str) -> str:
    shown = text if len(text) <= _QUOTED_LIMIT else text[:_QUOTED_LIMIT] + "..."
    return shown.encode("ascii", "backslashreplace").decode("ascii")


def _split_host(authority: str) -> str:
    """The host name of ``name[:port]`` or ``[v6][:port]``, lower case, without a final dot."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[: authority.find("]") + 1] if "]" in authority else authority
    return authority.rpartition(":")[0] if authority.count(":") == 1 else authority


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _listen_names(host: str) -> set[str]:
    if host in _WILDCARDS:
        return {socket.gethostname().lower(), socket.getfqdn().lower()}
    return {host.lower()}


_HOST_CACHE_SIZE = 256


@dataclass(frozen=True)
class RequestChecks:
    """The checks of one server, built once from its settings."""

    names: frozenset[str]
    origins: frozenset[str]
    # Host headers seen, and whether they name this server (clients send the same few).
    _hosts: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestChecks:
        names = {*_SAFE_NAMES, *_listen_names(settings.host)}
        names.update(_split_host(name).rstrip(".") for name in settings.server_names)
        origins = {origin.strip().rstrip("/").lower() for origin in settings.allowed_origins}
        return cls(frozenset(names), frozenset(origins))

    def host_allowed(self, host: str | None) -> bool:
        """Whether a Host header names this server.

        Addresses are always this server's (a page must name a host to rebind it); names must
        be known, with or without botocore's ``sync-`` prefix (StartSyncExecution).
        """
        if not host:
            return False
        known = self._hosts.get(host)
        if known is None:
            if len(self._hosts) >= _HOST_CACHE_SIZE:
                self._hosts.clear()
            known = self._hosts[host] = self._names_this_server(host)
        return known

    def _names_this_server(self, host: str) -> bool:
        name = _split_host(host).rstrip(".")
        for prefix in _HOST_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        return _is_address(name) or name in self.names or name.endswith(".localhost")

    def check_host(self, host: str | None) -> None:
        """Raise :class:`Forbidden` unless ``host`` names this server."""
        if not self.host_allowed(host):
            raise Forbidden(
                f"Host '{_quoted(host or '')}' is not a name of this server; add it to the "
                "'server_names' setting (BATCHYARD_SERVER_NAMES) to serve it"
            )

    def cors_origin(self, headers: Mapping[str, str]) -> str | None:
        """The request's Origin when it is a configured one (CORS headers go to it), else None.

        Raises :class:`Forbidden` for an Origin that is neither configured nor the server's
        own (a page on this server's own host and port).
        """
        origin = headers.get("origin")
        if origin is None:
            return None
        normal = origin.strip().rstrip("/").lower()
        if normal in self.origins:
            return origin
        scheme, sep, authority = normal.partition("://")
        host = headers.get("host", "").strip().lower()
        if sep and scheme in ("http", "https") and authority == host:
            return None
        raise Forbidden(
            f"Origin '{_quoted(origin)}' is not allowed to call this server; add it to the "
            "'allowed_origins' setting (BATCHYARD_ALLOWED_ORIGINS) to allow its pages"
        )


def check_content_type(
    operation: OperationModel, headers: Mapping[str, str], has_body: bool
) -> None:
    """Raise :class:`Forbidden` unless the body's Content-Type is one an SDK sends.

    A JSON body (json protocols always, rest-json when there is a body) must be declared as
    JSON; a raw payload (Lambda's Invoke) may be of any type but those a browser sends
    unasked; no type at all is fine where botocore sends none.
    """
    declared = headers.get("content-type")
    media = declared.partition(";")[0].strip().lower() if declared is not None else None
    if media in _SIMPLE_TYPES:
        raise _wrong_type(declared, operation)
    protocol = operation.metadata["protocol"]
    if protocol != "rest-json":
        if media not in _JSON_TYPES:
            raise _wrong_type(declared, operation)
        return
    shape = operation.input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    raw_payload = (
        shape is not None and payload is not None
        and shape.members[payload].type_name in ("blob", "string")
    )
    if raw_payload or (media is None and not has_body):
        return
    if media not in _JSON_TYPES:
        raise _wrong_type(declared, operation)


def _wrong_type(declared: str | None, operation: OperationModel) -> Forbidden:
    meta = operation.metadata
    expected = (
        "application/json" if meta["protocol"] == "rest-json"
        else f"application/x-amz-json-{meta.get('jsonVersion', '1.0')}"
    )
    return Forbidden(
        f"Content-Type '{_quoted(declared or '')}' is not accepted for {operation.name}: "
        f"send '{expected}', as the AWS SDKs do"
    )


def has_body(headers: Mapping[str, str]) -> bool:
    """Whether the request declares a body (a non-zero Content-Length, or chunks)."""
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


def cors_headers(origin: str, exposed: Mapping[str, str]) -> dict[str, str]:
    """The CORS headers of an answer to a configured ``origin``, exposing its headers."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": ", ".join(exposed),
        "Vary": "Origin",
    }


def preflight_headers(origin: str, headers: Mapping[str, str]) -> dict[str, str]:
    """The answer to a configured ``origin``'s preflight: the methods and headers it asked."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": _CORS_METHODS,
        "Access-Control-Allow-Headers": headers.get("access-control-request-headers", ""),
        "Access-Control-Max-Age": _CORS_MAX_AGE,
        "Vary": "Origin",
    }
