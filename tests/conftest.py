"""Fixtures: one shared server for the session, and fresh servers for tests that need one."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer
from tests.support.server import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server shared by the tests that only add resources of their own (unique names)."""
    process = ServerProcess(tmp_path_factory.mktemp("shared-server")).start()
    yield process
    process.stop()


@pytest.fixture
def new_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Factory for servers of the test's own: ``new_server(env={...})``."""
    started: list[ServerProcess] = []

    def make(env: dict[str, str] | None = None, data_dir: Path | None = None) -> ServerProcess:
        process = ServerProcess(data_dir or tmp_path / f"server{len(started)}", env=env).start()
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop()


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory jobs may write in (as /tmp): they run under uids of their own, and pytest's
    temporary directories are closed to other users."""
    folder = Path(tempfile.mkdtemp(prefix="batchyard-open-"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of either backend, for tests of migrations from older schemas."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server = PostgresServer().start()
    try:
        yield server.database()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def batch(server: ServerProcess):  # type: ignore[no-untyped-def]
    """A boto3 Batch client on the shared server."""
    return server.client("batch")
