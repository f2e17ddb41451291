"""Queue depth: jobs queued behind a DISABLED compute environment, then the environment is
enabled and the start of the first 1,000 jobs is timed — at full depth and at 10,000 queued,
each on a fresh server in the same run.

The queue is filled through the API by raw keep-alive HTTP clients (``raw_submit``), since
boto3 clients would take most of an hour for a million jobs on a small machine; the submit
rate is reported. "Start of the first 1,000 jobs" is the time from just before the
UpdateComputeEnvironment call that enables the environment to the 1,000th-earliest
``startedAt`` the server recorded. Server RSS is read from /proc when the queue is full, and
the idle server's RSS before the first submit gives the memory per queued job.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from batch_setup import create_batch_target, job_summaries
from harness import batchyard_server, client, report
from raw_submit import submit_raw

FIRST = 1000
BASELINE_DEPTH = 10_000


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _started_times(endpoint: str, queue: str) -> list[int]:
    return sorted(
        job["startedAt"]
        for status in ("RUNNING", "SUCCEEDED", "FAILED")
        for job in job_summaries(endpoint, queue, status)
        if job.get("startedAt")
    )


def _succeeded_at_least(batch: Any, queue: str, count: int) -> bool:
    pages = batch.get_paginator("list_jobs").paginate(
        jobQueue=queue, jobStatus="SUCCEEDED", PaginationConfig={"MaxItems": count}
    )
    return sum(len(page["jobSummaryList"]) for page in pages) >= count


def depth_run(depth: int) -> dict[str, float]:
    """Fill a fresh server's queue to ``depth``, enable it, and time the first FIRST starts."""
    with batchyard_server() as server:
        assert server.process is not None
        pid = server.process.pid
        target = create_batch_target(server.endpoint, state="DISABLED")
        idle = rss_mib(pid)
        submits_per_s = submit_raw(server.endpoint, target, depth)
        full = rss_mib(pid)
        batch = client(server.endpoint, "batch")
        enabled = time.time()
        batch.update_compute_environment(
            computeEnvironment=target["environment"], state="ENABLED"
        )
        deadline = time.monotonic() + 600
        while not _succeeded_at_least(batch, target["queue"], FIRST):
            if time.monotonic() > deadline:
                raise RuntimeError(f"fewer than {FIRST} jobs succeeded in 600 s")
            time.sleep(0.2)
        started = _started_times(server.endpoint, target["queue"])
        batch.update_compute_environment(
            computeEnvironment=target["environment"], state="DISABLED"
        )
    return {
        "first_1000_started_s": started[FIRST - 1] / 1000 - enabled,
        "first_job_started_s": started[0] / 1000 - enabled,
        "submits_per_s": submits_per_s,
        "idle_rss_mib": idle,
        "full_rss_mib": full,
        "rss_kib_per_queued_job": (full - idle) * 1024 / depth,
    }


def main() -> None:
    """The shallow baseline, then the deep run, and their ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100,000 queued, not 1,000,000")
    parser.add_argument("--depth", type=int, default=0)
    args = parser.parse_args()
    depth = args.depth or (100_000 if args.quick else 1_000_000)

    shallow = depth_run(BASELINE_DEPTH)
    deep = depth_run(depth)
    figures: dict[str, Any] = {"depth": depth}
    figures.update({f"deep_{k}": v for k, v in deep.items()})
    figures.update({f"baseline_{k}": v for k, v in shallow.items()})
    figures["deep_rss_within_2_gib"] = "yes" if deep["full_rss_mib"] <= 2048 else "no"
    report(
        f"Queue depth, {depth:,} queued vs {BASELINE_DEPTH:,}: time to start the first "
        f"{FIRST:,}", figures,
        deep["first_1000_started_s"] / shallow["first_1000_started_s"],
        f"the same at {BASELINE_DEPTH:,} queued (deep / shallow)", "<= 1.5",
    )


if __name__ == "__main__":
    main()
