"""A private PostgreSQL server for the tests: a fresh cluster in a temporary directory on a free
loopback port, started from the host's PostgreSQL binaries (``apt-get install postgresql``;
``.ci/run`` installs them) and stopped with the test session.

PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` user
the package creates, and its programs run through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from tests.support.server import free_port

SERVER_USER = "postgres"


def _binaries() -> Path:
    found = shutil.which("initdb")
    if found is not None:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if not candidates:
        raise RuntimeError(
            "these tests need the PostgreSQL server programs (initdb, postgres): "
            "apt-get install postgresql"
        )
    return Path(candidates[-1]).parent


def _major(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


class PostgresServer:
    """One running cluster; ``database()`` makes an empty database and returns its URL."""

    def __init__(self) -> None:
        # Directly under the temporary directory: pytest's own are private to the test user.
        self.root = Path(tempfile.mkdtemp(prefix="batchyard-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_user = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []

    def start(self) -> PostgresServer:
        """Create the cluster and start its server; returns once it accepts connections."""
        bin_dir = _binaries()
        if self._as_user:
            shutil.chown(self.root, SERVER_USER)
        subprocess.run(
            [
                *self._as_user,
                str(bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        log = (self.root / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                *self._as_user,
                str(bin_dir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self._url("postgres", driver=False), connect_timeout=2):
                    return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log_text = (self.root / "server.log").read_text(errors="replace")
                    raise RuntimeError(f"PostgreSQL did not start:\n{log_text}") from None
                time.sleep(0.05)

    def _url(self, database: str, driver: bool = True) -> str:
        scheme = "postgresql+psycopg" if driver else "postgresql"
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._url("postgres", driver=False), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self._url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove the cluster."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)
