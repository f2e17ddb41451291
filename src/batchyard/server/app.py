"""The ASGI application: AWS API requests go to their service, everything else to the console.

Every request is checked before it is read: its Host must name this server and its Origin (if
any) be the server's own or a configured one (:mod:`batchyard.server.checks`). An AWS request
is then routed, its signature checked up to the body (:mod:`batchyard.server.auth`), its
Content-Type checked, its body read within the operation's limit, its signature verified over
that body, and it is parsed and validated against the model before its handler runs with the
:class:`~batchyard.aws.caller.Caller` (account and region) the signature names.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from batchyard.aws.caller import Caller
from batchyard.compute.engine import EngineUnavailable
from batchyard.config import Settings
from batchyard.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from batchyard.protocol.errors import ServiceError, ValidationFailure, unsupported_operation
from batchyard.protocol.service import ServiceApi
from batchyard.protocol.wire import (
    MalformedRequest,
    Response,
    StreamedResponse,
    parse_request,
    serialize_error,
    serialize_output,
    serialize_stream,
)
from batchyard.server.auth import Authenticator, is_loopback, refuse_open_listener
from batchyard.server.checks import (
    Forbidden,
    RequestChecks,
    check_content_type,
    cors_headers,
    has_body,
    preflight_headers,
)
from batchyard.server.compose import Server, compose
from batchyard.server.reset import REFUSED, RESET_PATH, RequestGate
from batchyard.server.routing import Route, Router
from batchyard.store.store import empty
from batchyard.web.app import create_console

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Probes (load balancers, Kubernetes) name the server by whatever address they use.
_ANY_HOST_PATHS = frozenset({"/health"})
METRICS_PATH = "/metrics"


class _TooLarge(Exception):
    def __init__(self, limit: int, message: str) -> None:
        self.limit = limit
        self.message = message


class _ClientGone(Exception):
    """The client disconnected (or timed out) before its body was read whole."""


class BatchyardApp:
    """The ASGI face of one server: built and started at lifespan start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: Server | None = None
        self.services: list[ServiceApi] = []
        self.router = Router([])
        self.checks = RequestChecks.from_settings(settings)
        self.auth = Authenticator(settings)
        self._signing_names: dict[str, str] = {}
        # Resolved once: a listen name is looked up, and a scrape must not wait on DNS.
        self._loopback = is_loopback(settings.host)
        self.console = create_console(settings, ready=lambda: self.server is not None)
        self.gate = RequestGate()

    async def startup(self) -> None:
        """Open the store (migrating it), build every service and start them."""
        refuse_open_listener(self.settings)
        server = compose(self.settings)
        await server.start()
        self.services = server.apis
        self.router = Router(self.services)
        self._signing_names = {
            s.name: s.model.signing_name or s.model.endpoint_prefix for s in self.services
        }
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
        method: str = scope["method"]
        if scope["path"] in _ANY_HOST_PATHS and method in ("GET", "HEAD"):
            await self.console(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = str(uuid.uuid4())
        try:
            self.checks.check_host(headers.get("host"))
            origin = self.checks.cors_origin(headers)
        except Forbidden as error:
            await _send(send, self._unrouted_error(headers, error, request_id))
            return
        if scope["path"] == METRICS_PATH and method == "GET":
            await _send(send, await self._metrics(headers))
            return
        preflight = method == "OPTIONS" and "access-control-request-method" in headers
        if preflight and origin is not None:
            await _send(send, Response(200, preflight_headers(origin, headers), b""))
            return
        if scope["path"] == RESET_PATH and method == "POST":
            await _send(send, await self._reset())
            return
        query_string = scope.get("query_string", b"").decode("latin-1")
        query = parse_qs(query_string, keep_blank_values=True)
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        response: Response | StreamedResponse
        try:
            route = self.router.resolve(method, raw_path, headers, query)
        except ServiceError as error:
            response = self._unknown_operation(headers, query, error, request_id)
        else:
            if route is None:
                await self.console(scope, receive, send)
                return
            began = time.perf_counter()
            async with self.gate.request():
                answer = await self._dispatch(
                    route, scope, receive, headers, query, query_string, raw_path, request_id
                )
            if answer is None:
                return
            if self.server is not None:
                self.server.metrics.request(
                    route.service.name, route.operation.name, answer.status,
                    time.perf_counter() - began,
                )
            response = answer
        if origin is not None:
            response.headers.update(cors_headers(origin, response.headers))
        if isinstance(response, StreamedResponse):
            await _stream(receive, send, response)
            return
        await _send(send, response)

    async def _reset(self) -> Response:
        """Forget every service's state (development mode only): see ``reset``."""
        if not self.settings.development_mode:
            return _json(403, {"__type": "AccessDeniedException", "message": REFUSED})
        async with self.gate.exclusive():
            server, self.server = self.server, None
            if server is not None:
                await server.stop(keep_attempts=False)
            await asyncio.to_thread(empty, self.settings.resolved_database_url)
            await self.startup()
        log.info("reset: every service's state was dropped")
        return _json(200, {"status": "reset"})

    async def _metrics(self, headers: dict[str, str]) -> Response:
        """The Prometheus scrape: with ``metrics_token`` set, only for its bearer; without
        one, only on a loopback listener (what reaches it runs on this machine)."""
        token = self.settings.metrics_token
        text = {"content-type": "text/plain; charset=utf-8"}
        if token:
            given = headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return Response(
                    401, {**text, "www-authenticate": 'Bearer realm="batchyard metrics"'},
                    b"/metrics needs the configured bearer token\n",
                )
        elif not self._loopback:
            return Response(
                403, text, b"/metrics on a listener other machines reach needs metrics_token "
                b"(BATCHYARD_METRICS_TOKEN)\n",
            )
        if self.server is None:
            return Response(503, text, b"starting\n")
        body = await self.server.metrics.render()
        return Response(200, {"content-type": METRICS_CONTENT_TYPE}, body)

    def _unknown_operation(
        self,
        headers: dict[str, str],
        query: dict[str, list[str]],
        error: ServiceError,
        request_id: str,
    ) -> Response:
        # A request that names no operation still has to be signed by a known key.
        try:
            self.auth.authenticate(None, headers, query)
        except ServiceError as refused:
            error = refused
        return self._unrouted_error(headers, error, request_id)

    def _unrouted_error(
        self, headers: dict[str, str], error: ServiceError, request_id: str
    ) -> Response:
        service = self._scoped_service(headers)
        status = error.status or 400
        if service is not None:
            return self._error(service, error, status, request_id)
        return serialize_error("json", "1.1", error, status, request_id)

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
        query_string: str,
        raw_path: str,
        request_id: str,
    ) -> Response | StreamedResponse | None:
        service, operation = route.service, route.operation
        model = service.model
        try:
            pending = self.auth.authenticate(self._signing_names[service.name], headers, query)
            check_content_type(operation, headers, has_body(headers))
            handler = service.operations.get(operation.name)
            # An operation this server lacks is refused unread, once the signature (if it is
            # checked) has been verified.
            if handler is None and pending.signed is None:
                raise unsupported_operation(operation.name)
            limit, limit_message = service.body_limit(operation.name)
            body = await _read_body(receive, headers, limit, limit_message)
            if pending.signed is not None:
                pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
                self.auth.verify(pending, scope["method"], raw_path, query_string, pairs, body)
            if handler is None:
                raise unsupported_operation(operation.name)
            params = parse_request(
                operation, body, path_params=route.path_params, query=query, headers=headers,
                case_insensitive_enums=service.case_insensitive_enums,
            )
            identity = pending.identity
            caller = Caller(identity.account_id, identity.region, request_id)
            result = await handler(caller, params)
            if operation.has_event_stream_output:
                streamed = serialize_stream(operation, result)
                streamed.headers["x-amzn-RequestId"] = request_id
                return streamed
            response = serialize_output(operation, result)
            response.headers["x-amzn-RequestId"] = request_id
            return response
        except _ClientGone:
            return None
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
                except EngineUnavailable as exc:
                    # The configured engine does not answer: the operator's fix, not a bug.
                    log.error("start-up failed: no container engine answers at %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
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
            # A body cut short is never taken for the whole one.
            raise _ClientGone()
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge(limit, message)
        chunks.append(chunk)
        more = event.get("more_body", False)
    return b"".join(chunks)


def _header_value(value: str) -> bytes:
    # HTTP carries Latin-1 without line breaks; anything else in a value is replaced, not
    # allowed to fail the answer.
    return value.replace("\r", " ").replace("\n", " ").encode("latin-1", "replace")


async def _stream(receive: Receive, send: Send, response: StreamedResponse) -> None:
    """Send a streamed body until it ends or the client goes away, whichever comes first."""
    headers = [(k.encode("latin-1"), _header_value(v)) for k, v in response.headers.items()]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})

    async def pump() -> None:
        async for chunk in response.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    sending, watching = asyncio.create_task(pump()), asyncio.create_task(gone())
    try:
        await asyncio.wait({sending, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sending, watching):
            task.cancel()
        await asyncio.gather(sending, watching, return_exceptions=True)
        await response.chunks.aclose()  # type: ignore[attr-defined]
    if sending.done() and not sending.cancelled() and sending.exception() is not None:
        log.error("a streamed answer failed", exc_info=sending.exception())


async def _send(send: Send, response: Response) -> None:
    headers = [(k.encode("latin-1"), _header_value(v)) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _json(status: int, document: dict[str, str]) -> Response:
    body = json.dumps(document).encode()
    return Response(status, {"Content-Type": "application/json"}, body)
