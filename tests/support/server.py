"""Start and stop a real ``batchyard server`` process for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"

CLIENT_CONFIG = Config(retries={"max_attempts": 0}, read_timeout=120, connect_timeout=10)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.02, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy, failing after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


class ServerProcess:
    """A batchyard server on its own port and data directory."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 python: str | None = None) -> None:
        """``python``: the interpreter the server (and so its Lambda workers) runs on."""
        self.data_dir = data_dir
        self.extra_env = env or {}
        self.python = python or sys.executable
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the process and wait until it reports itself ready."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Jobs run as local processes unless a test gives its server an engine: a Docker or
        # Podman the developer happens to run must not change what the suite tests.
        env = {**os.environ, "BATCHYARD_CONTAINER_ENGINE": "none", **self.extra_env}
        env.pop("BATCHYARD_CONFIG", None)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [self.python, "-m", "batchyard.cli", "server", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir,
        )
        log.close()
        wait_for(self._ready, timeout=timeout, interval=0.05, what=f"server on {self.endpoint}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"{self.endpoint}/health", timeout=1).json()["status"] == "ok"
        except (httpx.HTTPError, ValueError):
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the process and wait for it to exit; returns its exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def kill(self) -> int:
        """SIGKILL: the host dies, nothing gets to clean up."""
        return self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` pointed at this server."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=CLIENT_CONFIG,
            **kwargs,
        )
