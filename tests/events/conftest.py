"""Fixtures of the EventBridge tests: a local HTTP server for API destinations to call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http_endpoint import Endpoint, serve


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """A local HTTP server of the test's own."""
    with serve() as running:
        yield running
