"""Which service and operation a request targets.

Three signals, in order: the ``X-Amz-Target`` header (json protocols), the service named in
the SigV4 credential scope, and the rest-json URI templates of the models.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from botocore.model import OperationModel

from batchyard.protocol.errors import UnknownOperation
from batchyard.protocol.service import ServiceApi

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Route:
    """The resolved target of a request."""

    service: ServiceApi
    operation: OperationModel
    path_params: Mapping[str, str]


@dataclass(frozen=True)
class _Template:
    service: ServiceApi
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    required_query: tuple[tuple[str, str | None], ...]
    literal_length: int


def credential_scope(
    headers: Mapping[str, str], query: Mapping[str, list[str]]
) -> tuple[str, str] | None:
    """(region, signing service) from a SigV4 Authorization header or presigned query."""
    auth = headers.get("authorization", "")
    match = _CREDENTIAL.search(auth)
    if match is None and "X-Amz-Credential" in query:
        match = _CREDENTIAL.search("Credential=" + query["X-Amz-Credential"][-1] + "/")
    if match is None:
        return None
    return match.group(3), match.group(4)


def _compile(uri: str) -> tuple[re.Pattern[str], tuple[tuple[str, str | None], ...], int]:
    path, _, query = uri.partition("?")
    path = path.rstrip("/") or "/"
    literal = 0
    parts = []
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{"):
            name = piece[1:-1]
            if name.endswith("+"):
                parts.append(f"(?P<{name[:-1]}>.+)")
            else:
                parts.append(f"(?P<{name}>[^/]+)")
        else:
            literal += len(piece)
            parts.append(re.escape(piece))
    required = []
    for item in filter(None, query.split("&")):
        key, sep, value = item.partition("=")
        required.append((key, value if sep else None))
    return re.compile("^" + "".join(parts) + "/?$"), tuple(required), literal


class Router:
    """Resolve requests against the services this server hosts."""

    def __init__(self, services: Iterable[ServiceApi]) -> None:
        self.services = list(services)
        self._by_target: dict[str, ServiceApi] = {}
        self._by_signing_name: dict[str, ServiceApi] = {}
        self._templates: list[_Template] = []
        for service in self.services:
            model = service.model
            prefix = model.metadata.get("targetPrefix")
            if prefix:
                self._by_target[prefix] = service
            self._by_signing_name[model.signing_name or model.endpoint_prefix] = service
            self._by_signing_name.setdefault(model.endpoint_prefix, service)
            if model.protocol == "rest-json":
                for name in model.operation_names:
                    operation = model.operation_model(name)
                    pattern, required, literal = _compile(operation.http["requestUri"])
                    method = operation.http["method"]
                    self._templates.append(
                        _Template(service, operation, method, pattern, required, literal)
                    )
        # The most specific template wins when several match.
        self._templates.sort(key=lambda t: (-len(t.required_query), -t.literal_length))

    def resolve(
        self,
        method: str,
        raw_path: str,
        headers: Mapping[str, str],
        query: Mapping[str, list[str]],
    ) -> Route | None:
        """The route for a request, None when it carries no AWS signal at all.

        Raises UnknownOperation when the request is clearly for a service but names no
        operation of it.
        """
        target = headers.get("x-amz-target")
        if target:
            prefix, _, op_name = target.rpartition(".")
            service = self._by_target.get(prefix)
            if service is None or op_name not in service.model.operation_names:
                raise UnknownOperation()
            return Route(service, service.model.operation_model(op_name), {})

        scope = credential_scope(headers, query)
        scoped = self._by_signing_name.get(scope[1]) if scope else None
        if scoped is not None and scoped.model.protocol != "rest-json":
            # A json-protocol request must name its operation in X-Amz-Target.
            raise UnknownOperation()

        for template in self._templates:
            if scoped is not None and template.service is not scoped:
                continue
            if template.method != method:
                continue
            match = template.pattern.match(raw_path)
            if match is None:
                continue
            if any(
                key not in query or (value is not None and value not in query[key])
                for key, value in template.required_query
            ):
                continue
            return Route(template.service, template.operation, match.groupdict())
        if scope is not None:
            raise UnknownOperation(status=404)
        return None
