"""Many boto3 client processes submitting jobs at once, the clock starting when all are ready.

Each client is its own process so the client side is not one GIL; every client has imported
boto3 and opened its connection before the barrier opens, and reports the CPU time its calls
took, which on a small machine bounds what any server can be measured at.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

from harness import client


@dataclass(frozen=True)
class SubmitRun:
    """When the clients started, how long they took, and how many jobs they submitted."""

    began: float
    elapsed: float
    submitted: int
    client_cpu_s: float

    @property
    def client_cpu_ms_per_submit(self) -> float:
        """CPU the client processes spent per SubmitJob (boto3 signing, HTTP, parsing)."""
        return self.client_cpu_s * 1000 / self.submitted

    @property
    def rate(self) -> float:
        """Submits per second over the whole run."""
        return self.submitted / self.elapsed


def _submit_share(
    endpoint: str, queue: str, definition: str, count: int, extra: dict[str, Any], ready: Any,
    cpu: Any, slot: int,
) -> None:
    batch = client(endpoint, "batch")
    batch.describe_job_queues(jobQueues=[queue])
    ready.wait()
    began = time.process_time()
    for i in range(count):
        batch.submit_job(jobName=f"bench-{i}", jobQueue=queue, jobDefinition=definition, **extra)
    cpu[slot] = time.process_time() - began


def submit_in_parallel(
    endpoint: str, target: dict[str, str], total: int, clients: int,
    extra: dict[str, Any] | None = None,
) -> SubmitRun:
    """``clients`` processes sharing ``total`` SubmitJob calls; ``began`` is wall-clock epoch
    seconds when the barrier opened."""
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(clients + 1)
    cpu = context.Array("d", clients)
    base, left = divmod(total, clients)
    workers = [
        context.Process(target=_submit_share, args=(
            endpoint, target["queue"], target["definition"], base + (i < left), extra or {}, ready,
            cpu, i,
        ))
        for i in range(clients)
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    began, started = time.time(), time.perf_counter()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError("a client process failed")
    return SubmitRun(began, time.perf_counter() - started, total, sum(cpu))
