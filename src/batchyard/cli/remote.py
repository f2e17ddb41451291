"""What the client commands share: boto3 clients of a running server, the one time format,
the console, and the errors they turn into one-line messages."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError
from botocore.exceptions import ConnectionError as ConnectionFailure
from rich.console import Console

DEFAULT_ENDPOINT = "http://127.0.0.1:4580"
# Wide enough that a table piped to a file or a test never wraps.
PIPE_WIDTH = 10_000


class CliError(Exception):
    """A user error: printed as one line, the command exits with ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def endpoint_url(value: str) -> str:
    """``value`` if it is an http(s) URL of a host (and a valid port); the option's type."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - reading it is what checks the port
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {value!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// URL: {value!r}")
    return value.rstrip("/")


def add_endpoint(parser: argparse.ArgumentParser) -> None:
    """The ``--endpoint-url`` option every client command takes."""
    parser.add_argument(
        "--endpoint-url",
        type=endpoint_url,
        default=os.environ.get("BATCHYARD_ENDPOINT", DEFAULT_ENDPOINT),
        help=f"the server (default: $BATCHYARD_ENDPOINT or {DEFAULT_ENDPOINT})",
    )


def client(args: argparse.Namespace, service: str) -> Any:
    """A boto3 client of ``service`` on the server, with the caller's AWS settings."""
    # The stubs type each service's client by its name's literal; these commands are plain
    # boto3 callers, whatever the service.
    factory: Any = boto3.client
    made = factory(
        service,
        endpoint_url=args.endpoint_url,
        region_name=os.environ.get("AWS_DEFAULT_REGION")
        or os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "batchyard"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "batchyard"),
        aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
        config=Config(retries={"max_attempts": 2}, inject_host_prefix=False,
                      connect_timeout=5, read_timeout=70),
    )
    made.meta.events.register("after-call", _refuse_strangers)
    return made


def _refuse_strangers(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
    # Every AWS answer, and every batchyard one, carries a request id. Without one, and
    # without an AWS error body (botocore then names the error by its HTTP status), the
    # answer is some other web server's page, and the command would fail on its missing keys.
    if "x-amzn-RequestId" in http_response.headers:
        return
    code = str((parsed.get("Error") or {}).get("Code", ""))
    if http_response.status_code < 300 or not code or code.isdigit():
        where = urlsplit(http_response.url)
        raise CliError(f"the server at {where.scheme}://{where.netloc} answered HTTP "
                       f"{http_response.status_code}, not like an AWS API (is it a batchyard "
                       "server? see --endpoint-url)")


# The errors of a connection that gave no answer: refused, timed out, or closed first.
UNREACHABLE = (ConnectionFailure, ConnectionClosedError)


def unreachable(error: ConnectionFailure | ConnectionClosedError) -> str:
    """What a failed connection (refused, timed out, closed before an answer) says: which
    server could not be reached."""
    where = urlsplit(str(error.kwargs.get("endpoint_url", "")))
    if not where.netloc:
        return f"cannot reach the server: {error}"
    return f"cannot reach the server at {where.scheme}://{where.netloc}"


def console(out: Any = None) -> Console:
    """A console on ``out`` (stdout): wide and plain when it is not a terminal."""
    stream = out if out is not None else sys.stdout
    if stream.isatty():
        return Console(file=stream)
    return Console(file=stream, width=PIPE_WIDTH, color_system=None, highlight=False)


def moment(value: int | float | datetime | None) -> str:
    """A time as every command prints it: local, ``YYYY-MM-DD HH:MM:SS``; ``-`` for none."""
    if value is None or value == 0:
        return "-"
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value / 1000, UTC)
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
