"""A Lambda client on the shared server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.server import ServerProcess


@pytest.fixture(scope="session")
def lam(server: ServerProcess) -> Any:
    """A boto3 Lambda client on the shared server."""
    return server.client("lambda")
