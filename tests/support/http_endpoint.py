"""A local HTTP server for tests of outgoing HTTP (EventBridge's API destinations): it records
every request and answers from a script per path."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    """One request the server got (header names in lower case; ``at`` is monotonic)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    at: float


@dataclass
class Endpoint:
    """A local HTTP server that records every request and answers from a script per path
    (200 with ``{}`` once a path's script is used up)."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    script: dict[str, list[tuple[int, dict[str, str], str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, status: int, body: str = "{}", **headers: str) -> None:
        """Answer the next request to ``path`` (not yet scripted) with ``status``, ``body`` and
        ``headers`` (``Retry_After`` for ``Retry-After``)."""
        with self.lock:
            self.script.setdefault(path, []).append((status, headers, body))

    def at(self, path: str) -> list[Request]:
        """The requests to ``path`` so far, in the order they came."""
        with self.lock:
            return [request for request in self.requests if request.path == path]


@contextmanager
def serve() -> Iterator[Endpoint]:
    """A running :class:`Endpoint` on a free loopback port, stopped on exit."""
    recorded = Endpoint()


    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            parts = urlsplit(self.path)
            with recorded.lock:
                recorded.requests.append(
                    Request(
                        self.command, parts.path, dict(parse_qsl(parts.query)),
                        {key.lower(): value for key, value in self.headers.items()}, body,
                        time.monotonic(),
                    )
                )
                script = recorded.script.get(parts.path) or []
                status, headers, answer = script.pop(0) if script else (200, {}, "{}")
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(answer.encode())))
            self.end_headers()
            self.wfile.write(answer.encode())

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
