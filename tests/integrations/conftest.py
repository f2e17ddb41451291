"""A server for the integration tests, whose Wait states run 60 times faster (the Job
Poller's 60-second wait takes one second), and its clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integrations.support import Stack, make_stack
from tests.states_api.conftest import client
from tests.support.server import ServerProcess

TIME_SCALE = 60


@pytest.fixture(scope="session")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of the integration tests' own, at BATCHYARD_TIME_SCALE=60."""
    process = ServerProcess(
        tmp_path_factory.mktemp("integrations"), env={"BATCHYARD_TIME_SCALE": str(TIME_SCALE)}
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def sfn(fast: ServerProcess) -> Any:
    """Step Functions on the fast server."""
    return client(fast)


@pytest.fixture(scope="session")
def batch(fast: ServerProcess) -> Any:
    """Batch on the fast server."""
    return fast.client("batch")


@pytest.fixture(scope="session")
def lam(fast: ServerProcess) -> Any:
    """Lambda on the fast server."""
    return fast.client("lambda")


@pytest.fixture(scope="session")
def stack(batch: Any) -> Stack:
    """A compute environment and queue on the fast server, with a job definition factory."""
    return make_stack(batch)
