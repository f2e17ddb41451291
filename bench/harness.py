"""What every benchmark shares: servers to measure, baselines, and one way to report.

Each benchmark prints its figures and a ratio against a baseline measured in the same run,
because absolute numbers are not comparable between runs on these machines.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.server import ServerProcess, free_port, wait_for  # noqa: E402

CLIENT_CONFIG = Config(retries={"max_attempts": 0}, max_pool_connections=64, read_timeout=300)


def client(endpoint: str, service: str) -> Any:
    """A boto3 client for ``service`` at ``endpoint`` with dummy credentials."""
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="bench", aws_secret_access_key="bench", config=CLIENT_CONFIG,
    )


@contextmanager
def batchyard_server(env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """A batchyard server on a fresh data directory, stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="batchyard-bench-") as data_dir:
        settings = {"BATCHYARD_LOG_LEVEL": "warning", **(env or {})}
        process = ServerProcess(Path(data_dir), env=settings)
        process.start()
        try:
            yield process
        finally:
            process.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_ceiling(
    client_cpu_ms: float, call: str, ceiling_unit: str, baseline_rate: float
) -> dict[str, float]:
    """The clients' CPU per ``call``, the rate (``ceiling_unit``/s) this machine's cores allow
    them if the server took no CPU at all, and the best ratio to ``baseline_rate`` that
    ceiling leaves, as report figures."""
    ceiling = (os.cpu_count() or 1) * 1000 / client_cpu_ms
    return {
        f"client_cpu_ms_per_{call}": client_cpu_ms,
        f"client_bound_ceiling_{ceiling_unit}_per_s": ceiling,
        "best_reachable_ratio_on_this_machine": ceiling / baseline_rate,
    }


class MotoServer:
    """A running moto server: its URL and process id."""

    def __init__(self, endpoint: str, pid: int) -> None:
        self.endpoint = endpoint
        self.pid = pid


@contextmanager
def moto_server(config: dict[str, Any]) -> Iterator[MotoServer]:
    """moto's standalone server with ``config`` posted to its /moto-api/config."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _answers(endpoint), timeout=60, what="moto server")
        httpx.post(f"{endpoint}/moto-api/config", json=config, timeout=10).raise_for_status()
        yield MotoServer(endpoint, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(endpoint: str) -> bool:
    try:
        httpx.get(f"{endpoint}/moto-api/", timeout=1)
        return True
    except httpx.HTTPError:
        return False


def raw_spawn_rate(count: int, parallelism: int, argv: tuple[str, ...] = ("true",)) -> float:
    """Processes per second a minimal Python loop starts and reaps at ``parallelism``."""
    def run_share(share: int) -> None:
        for _ in range(share):
            subprocess.run(argv, check=True)

    base, extra = divmod(count, parallelism)
    shares = [base + (1 if i < extra else 0) for i in range(parallelism)]
    started = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        list(pool.map(run_share, shares))
    return count / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0 to 100) by nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def machine() -> str:
    """A one-line description of the machine a figure came from."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def report(name: str, figures: dict[str, Any], ratio: float, baseline: str, target: str) -> None:
    """Print a benchmark's figures, its ratio to the same-run baseline, and the target."""
    print(f"== {name} ({machine()})")
    for key, value in figures.items():
        if isinstance(value, float):
            value = f"{value:,.3f}"
        elif isinstance(value, int):
            value = f"{value:,}"
        print(f"   {key}: {value}")
    print(f"   ratio vs {baseline}: {ratio:.2f} (target {target})")
    print("   json:", json.dumps({"bench": name, "ratio": round(ratio, 3), **figures}))
