"""Development mode (any key) serves loopback only; another address needs credentials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.security.support import ALICE, client, write_credentials
from tests.support.server import ServerProcess, free_port, wait_for


def run_server(*args: str, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "batchyard.cli", "server", *args],
        env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=60,
    )


def test_an_open_address_without_credentials_is_refused(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::", ""):
        result = run_server("--host", host, "--port", str(free_port()),
                            "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "without credentials" in result.stderr
        assert "BATCHYARD_CREDENTIALS_FILE" in result.stderr
        assert "[[credentials]]" in result.stderr
    assert not (tmp_path / "d").exists()


def test_a_broken_credentials_file_is_refused_at_start(tmp_path: Path) -> None:
    broken = tmp_path / "credentials.toml"
    broken.write_text('[[credentials]]\naccess_key_id = "AKIDX00000001"\naccount_id = "12"\n')
    result = run_server("--credentials-file", str(broken), "--port", str(free_port()),
                        cwd=tmp_path)
    assert result.returncode == 2
    assert "secret_access_key" in result.stderr


def test_with_credentials_an_open_address_is_served(tmp_path: Path) -> None:
    credentials = write_credentials(tmp_path / "credentials.toml", ALICE)
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "batchyard.cli", "server", "--host", "0.0.0.0", "--port",
         str(port), "--data-dir", str(tmp_path / "d"), "--credentials-file", str(credentials)],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        def ready() -> bool:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=60, what="server on 0.0.0.0")
        stand_in = ServerProcess(tmp_path / "unused")
        stand_in.port = port
        assert "logGroups" in client(stand_in, "logs").describe_log_groups()
    finally:
        process.terminate()
        process.wait(timeout=30)
