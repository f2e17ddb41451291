"""Bounded requests, seen from raw sockets: slow or half-sent requests are timed out, long
targets and large header blocks refused, connections beyond the cap closed, and a body cut
short is never taken for a whole one."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.server import ServerProcess

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
MAX_CONNECTIONS = 64


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("limits"), env={
        "BATCHYARD_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "BATCHYARD_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "BATCHYARD_KEEP_ALIVE_TIMEOUT": "1",
        "BATCHYARD_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }).start()
    yield process
    process.stop()


def connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return sock


def until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (b"RESET" if it reset it:
    a server closing a connection it has unread bytes of resets it)."""
    received = b""
    with sock:
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            return received or b"RESET"
    return received


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def request(server: ServerProcess, method: str, path: str, body: bytes = b"",
            extra: bytes = b"") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n").encode() + \
        extra + b"\r\n" + body


def timed(sock: socket.socket) -> tuple[bytes, float]:
    started = time.monotonic()
    answer = until_closed(sock)
    return answer, time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed(bounded: ServerProcess) -> None:
    answer, waited = timed(connect(bounded))
    assert status(answer) == 408
    assert b"RequestTimeoutException" in answer
    assert HEADER_TIMEOUT * 0.8 <= waited < HEADER_TIMEOUT + 10


def test_headers_that_never_end_are_timed_out(bounded: ServerProcess) -> None:
    sock = connect(bounded)
    sock.sendall(b"POST /v1/describejobqueues HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    answer, waited = timed(sock)
    assert status(answer) == 408
    assert waited < HEADER_TIMEOUT + 10


def test_headers_sent_a_byte_at_a_time_still_have_one_deadline(bounded: ServerProcess) -> None:
    sock = connect(bounded)
    started = time.monotonic()
    sent = 0
    try:
        for byte in b"GET /health HTTP/1.1\r\nX-Trickle: " + b"a" * 1000:
            sock.sendall(bytes([byte]))
            sent += 1
            time.sleep(0.05)
    except OSError:
        pass  # the server closed the connection
    answer = until_closed(sock)
    assert status(answer) == 408
    assert time.monotonic() - started < HEADER_TIMEOUT + 10
    assert sent < 1000


def test_a_half_sent_body_is_timed_out_and_not_acted_on(bounded: ServerProcess) -> None:
    body = json.dumps({"jobDefinitionName": "half-sent", "type": "container",
                       "containerProperties": {"image": "busybox"}}).encode()
    sock = connect(bounded)
    sock.sendall(request(bounded, "POST", "/v1/registerjobdefinition", body + b" " * 10)[:-10])
    answer, waited = timed(sock)
    assert status(answer) == 408
    assert BODY_TIMEOUT * 0.8 <= waited < BODY_TIMEOUT + 10
    definitions = bounded.client("batch").describe_job_definitions(jobDefinitionName="half-sent")
    assert definitions["jobDefinitions"] == []


def test_a_body_cut_short_by_a_disconnect_is_dropped(bounded: ServerProcess) -> None:
    body = json.dumps({"jobDefinitionName": "cut-short", "type": "container",
                       "containerProperties": {"image": "busybox"}}).encode()
    sock = connect(bounded)
    # The whole JSON document, but fewer bytes than Content-Length says, then the end.
    sock.sendall(request(bounded, "POST", "/v1/registerjobdefinition", body + b" " * 10)[:-10])
    sock.shutdown(socket.SHUT_WR)
    until_closed(sock)
    batch = bounded.client("batch")
    assert batch.describe_job_definitions(jobDefinitionName="cut-short")["jobDefinitions"] == []


def test_an_idle_keep_alive_connection_is_closed(bounded: ServerProcess) -> None:
    sock = connect(bounded)
    sock.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{bounded.port}\r\n\r\n".encode())
    answer, waited = timed(sock)
    assert status(answer) == 200
    assert waited < 1 + 10


def test_a_request_target_over_the_limit_is_414(bounded: ServerProcess) -> None:
    sock = connect(bounded)
    sock.sendall(request(bounded, "GET", "/2015-03-31/functions/?Marker=" + "a" * 70_000))
    answer = until_closed(sock)
    assert status(answer) == 414
    assert b"RequestUriTooLongException" in answer


def test_a_header_block_over_the_limit_is_431(bounded: ServerProcess) -> None:
    sock = connect(bounded)
    sock.sendall(request(bounded, "GET", "/health", extra=b"X-Big: " + b"a" * 70_000 + b"\r\n"))
    assert status(until_closed(sock)) == 431


def test_connections_beyond_the_cap_are_refused_and_held_ones_released(
    bounded: ServerProcess,
) -> None:
    started = time.monotonic()
    held = [connect(bounded) for _ in range(MAX_CONNECTIONS * 4)]
    for sock in held:
        with contextlib.suppress(OSError):  # already refused
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
    answers = [until_closed(sock) for sock in held]
    refused = [a for a in answers if a == b"RESET" or status(a) == 503]
    assert len(refused) >= MAX_CONNECTIONS * 2
    assert all(a in refused or status(a) == 408 for a in answers)
    assert time.monotonic() - started < HEADER_TIMEOUT + 10
    sock = connect(bounded)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status(until_closed(sock)) == 200
