"""Array throughput: one array job of ``true`` children, seconds until the parent SUCCEEDED.

The parent is submitted with one SubmitJob call to an ENABLED environment; the time runs from
just before that call to the parent's ``stoppedAt`` as the server recorded it. Children per
second are compared with the machine's raw spawn rate at parallelism 16 (the same baseline as
the trivial-job benchmark), measured in the same run.
"""

from __future__ import annotations

import argparse
import time

from batch_setup import create_batch_target
from harness import batchyard_server, client, raw_spawn_rate, report

PARALLELISM = 16


def main() -> None:
    """Run the array, then the raw spawn loop, and report children/s against spawns/s."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 children instead of 10,000")
    args = parser.parse_args()
    size = 1000 if args.quick else 10_000

    with batchyard_server() as server:
        target = create_batch_target(server.endpoint)
        batch = client(server.endpoint, "batch")
        began = time.time()
        job_id = batch.submit_job(
            jobName="bench-array", jobQueue=target["queue"], jobDefinition=target["definition"],
            arrayProperties={"size": size},
        )["jobId"]

        def parent() -> dict:
            return batch.describe_jobs(jobs=[job_id])["jobs"][0]

        deadline = time.monotonic() + size
        while (job := parent())["status"] not in ("SUCCEEDED", "FAILED"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"array still {job['status']} after {size} s")
            time.sleep(0.2)
    if job["status"] != "SUCCEEDED":
        raise RuntimeError(f"array ended {job['status']}: {job.get('statusReason')}")
    elapsed = job["stoppedAt"] / 1000 - began
    children_per_s = size / elapsed
    spawns_per_s = raw_spawn_rate(size, PARALLELISM)
    report(
        f"Array throughput, one {size:,}-child array of `true`",
        {"children": size, "seconds_to_parent_succeeded": elapsed,
         "children_per_s": children_per_s, "raw_spawns_per_s": spawns_per_s},
        children_per_s / spawns_per_s, f"raw spawn rate at parallelism {PARALLELISM}", ">= 0.5",
    )


if __name__ == "__main__":
    main()
