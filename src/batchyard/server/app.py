"""The ASGI application: AWS API requests go to their service, everything else to the console."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from batchyard.aws.caller import Caller
from batchyard.config import Settings
from batchyard.protocol.errors import ServiceError, ValidationFailure
from batchyard.protocol.service import ServiceApi
from batchyard.protocol.wire import (
    MalformedRequest,
    Response,
    parse_request,
    serialize_error,
    serialize_output,
)
from batchyard.server.compose import Server, compose
from batchyard.server.routing import Route, Router, credential_scope
from batchyard.web.app import create_console

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _TooLarge(Exception):
    def __init__(self, limit: int, message: str) -> None:
        self.limit = limit
        self.message = message


class BatchyardApp:
    """The ASGI face of one server: built and started at lifespan start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: Server | None = None
        self.services: list[ServiceApi] = []
        self.router = Router([])
        self.console = create_console(settings, ready=lambda: self.server is not None)

    async def startup(self) -> None:
        """Open the store (migrating it), build every service and start them."""
        server = compose(self.settings)
        await server.start()
        self.services = server.apis
        self.router = Router(self.services)
        self.server = server

    async def shutdown(self) -> None:
        """Stop services in reverse order, then flush and close the store."""
        server, self.server = self.server, None
        if server is not None:
            await server.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        request_id = str(uuid.uuid4())
        try:
            route = self.router.resolve(scope["method"], raw_path, headers, query)
        except ServiceError as error:
            service = self._scoped_service(headers)
            status = error.status or 400
            if service is not None:
                response = self._error(service, error, status, request_id)
            else:
                response = serialize_error("json", "1.1", error, status, request_id)
            await _send(send, response)
            return
        if route is None:
            await self.console(scope, receive, send)
            return
        response = await self._dispatch(route, scope, receive, headers, query, request_id)
        await _send(send, response)

    def _scoped_service(self, headers: dict[str, str]) -> ServiceApi | None:
        prefix = headers.get("x-amz-target", "").rpartition(".")[0]
        for service in self.services:
            if prefix and service.model.metadata.get("targetPrefix") == prefix:
                return service
        return None

    async def _dispatch(
        self,
        route: Route,
        scope: Scope,
        receive: Receive,
        headers: dict[str, str],
        query: dict[str, list[str]],
        request_id: str,
    ) -> Response:
        service, operation = route.service, route.operation
        model = service.model
        try:
            handler = service.operations.get(operation.name)
            if handler is None:
                raise ServiceError(
                    "UnknownOperationException",
                    f"Operation {operation.name} is not supported by this server",
                    status=400,
                )
            limit, limit_message = service.body_limit(operation.name)
            body = await _read_body(receive, headers, limit, limit_message)
            params = parse_request(
                operation, body, path_params=route.path_params, query=query, headers=headers,
                case_insensitive_enums=service.case_insensitive_enums,
            )
            signed = credential_scope(headers, query)
            region = signed[0] if signed else self.settings.region
            caller = Caller(self.settings.account_id, region, request_id)
            result = await handler(caller, params)
            response = serialize_output(operation, result)
            response.headers["x-amzn-RequestId"] = request_id
            return response
        except _TooLarge as exc:
            too_large = ServiceError(service.validation_error, exc.message)
            return self._error(service, too_large, 413, request_id)
        except ServiceError as error:
            # Malformed JSON keeps its own code on json services (SerializationException, as
            # AWS answers); rest-json Batch reports every input problem as its ClientException.
            if isinstance(error, ValidationFailure) or (
                isinstance(error, MalformedRequest) and model.protocol == "rest-json"
            ):
                error.code = service.validation_error
            status = error.status or service.error_status(error.code)
            return self._error(service, error, status, request_id)
        except Exception:
            log.exception("%s.%s failed", service.name, operation.name)
            failure = ServiceError("InternalFailure", "Unexpected server error; see the server log")
            return self._error(service, failure, 500, request_id)

    @staticmethod
    def _error(service: ServiceApi, error: ServiceError, status: int, request_id: str) -> Response:
        protocol, version = service.model.protocol, service.model.metadata.get("jsonVersion")
        return serialize_error(protocol, version, error, status, request_id)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive, headers: dict[str, str], limit: int, message: str) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(limit, message)
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        event = await receive()
        if event["type"] == "http.disconnect":
            break
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge(limit, message)
        chunks.append(chunk)
        more = event.get("more_body", False)
    return b"".join(chunks)


async def _send(send: Send, response: Response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
