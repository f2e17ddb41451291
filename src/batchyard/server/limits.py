"""Bounded requests: how long a client may take, how much it may send, how many may connect.

uvicorn bounds idle keep-alive connections (``timeout_keep_alive``) and concurrent requests
(``limit_concurrency``, answered 503), but its httptools protocol waits for a request's
headers and body forever and takes request lines and header blocks of any size. The protocol
here adds what is missing: a deadline for the headers (from the connection's opening, or the
request's first byte) and one for the body, 414 for an over-long request target, 431 for an
over-large header block, and connections beyond the cap closed at once with a 503. Each
refusal is a small AWS-style JSON error, then the connection closes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from batchyard.config import Settings


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request and one server may take (from :class:`~batchyard.config.Settings`)."""

    header_timeout: float
    body_timeout: float
    max_connections: int
    max_url_length: int
    max_header_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.header_timeout, settings.body_timeout, settings.max_connections,
            settings.max_url_length, settings.max_header_bytes,
        )


def _refusal(status: HTTPStatus, code: str, message: str) -> bytes:
    body = json.dumps({"__type": code, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "content-type: application/json\r\n"
        f"x-amzn-ErrorType: {code}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with request deadlines and size limits.

    Subclassed per server by :func:`protocol_class`, which sets :attr:`limits`.
    """

    limits: ClassVar[Limits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._url_bytes = 0
        self._header_bytes = 0
        self._refused = False

    # uvicorn narrows the transport to asyncio.Transport (uvloop's is not a subclass).
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(
                HTTPStatus.SERVICE_UNAVAILABLE, "ServiceUnavailableException",
                "The server has too many open connections; try again later",
            )
            return
        self._arm(self.limits.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        # Bytes that begin no request (blank lines) cancel the keep-alive timer: an idle
        # connection gets the headers' deadline instead, so none stays open for ever.
        idle = self.cycle is None or self.cycle.response_complete
        if (
            idle and not self._refused and self._deadline is None
            and self.timeout_keep_alive_task is None and not self.transport.is_closing()
        ):
            self._arm(self.limits.header_timeout, self._headers_late)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = self._header_bytes = 0
        self._arm(self.limits.header_timeout, self._headers_late)

    def on_url(self, url: bytes) -> None:
        if self._refused:
            return
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_url_length:
            self._refuse(
                HTTPStatus.REQUEST_URI_TOO_LONG, "RequestUriTooLongException",
                f"The request target is longer than {self.limits.max_url_length} bytes",
            )
            return
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.limits.max_header_bytes:
            self._refuse(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                "RequestHeaderFieldsTooLargeException",
                f"The request headers are larger than {self.limits.max_header_bytes} bytes",
            )
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._arm(self.limits.body_timeout, self._body_late)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        self._refuse(
            HTTPStatus.REQUEST_TIMEOUT, "RequestTimeoutException",
            f"The request headers did not arrive within {self.limits.header_timeout:g} s",
        )

    def _body_late(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            # The application is waiting for the rest of the body: it sees a disconnect and
            # drops the request, and answers nothing more.
            cycle.disconnected = True
            cycle.message_event.set()
            self._refuse(
                HTTPStatus.REQUEST_TIMEOUT, "RequestTimeoutException",
                f"The request body did not arrive within {self.limits.body_timeout:g} s",
            )
        else:
            self._refused = True
            self.transport.close()

    def _refuse(self, status: HTTPStatus, code: str, message: str) -> None:
        self._refused = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_refusal(status, code, message))
            self.transport.close()


def protocol_class(limits: Limits) -> type[BoundedHttpProtocol]:
    """A :class:`BoundedHttpProtocol` with ``limits``, for uvicorn's ``http`` option."""

    class Bounded(BoundedHttpProtocol):
        pass

    Bounded.limits = limits
    return Bounded


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for serving ``app`` with ``settings``' limits."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol_class(Limits.from_settings(settings)),
        timeout_keep_alive=settings.keep_alive_timeout,
        limit_concurrency=settings.max_connections,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        **options,
    )
