"""Fixtures of the EventBridge tests: a client of the session's server, and a local HTTP
server for API destinations to call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.http_endpoint import Endpoint, serve
from tests.support.server import ServerProcess


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """A local HTTP server of the test's own."""
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def events(server: ServerProcess) -> Any:
    """A boto3 EventBridge client of the session's server."""
    return server.client("events")
