"""Trivial-job throughput: jobs running ``true`` submitted by 16 clients, end to end.

The jobs are submitted through the API by 16 client processes while the compute environment
is ENABLED, so submitting and running overlap. End-to-end time runs from the moment the
clients start submitting to the last job's ``stoppedAt`` as the server recorded it. The
baseline is the machine's raw spawn rate: the same number of ``true`` processes started and
reaped by a minimal Python loop at the same parallelism, measured in the same run. The
server's CPU per job and the clients' CPU per submit are reported too: the latter bounds the
jobs/s any server could show here (the cores divided by it).
"""

from __future__ import annotations

import argparse

from batch_setup import create_batch_target, job_summaries, wait_drained
from harness import batchyard_server, client_ceiling, cpu_seconds, raw_spawn_rate, report
from submitters import submit_in_parallel

CLIENTS = 16


def main() -> None:
    """Run the jobs, then the raw spawn loop, and report jobs/s against spawns/s."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 jobs instead of 5,000")
    args = parser.parse_args()
    total = 1000 if args.quick else 5000

    with batchyard_server() as server:
        assert server.process is not None
        target = create_batch_target(server.endpoint)
        cpu_before = cpu_seconds(server.process.pid)
        run = submit_in_parallel(server.endpoint, target, total, CLIENTS)
        wait_drained(server.endpoint, target["queue"], timeout=total)
        server_ms = (cpu_seconds(server.process.pid) - cpu_before) * 1000 / run.submitted
        done = job_summaries(server.endpoint, target["queue"], "SUCCEEDED")
        failed = job_summaries(server.endpoint, target["queue"], "FAILED")
    if len(done) != run.submitted or failed:
        raise RuntimeError(f"{len(done)} of {run.submitted} succeeded, {len(failed)} failed")
    elapsed = max(job["stoppedAt"] for job in done) / 1000 - run.began
    jobs_per_s = run.submitted / elapsed
    spawns_per_s = raw_spawn_rate(run.submitted, CLIENTS)
    report(
        f"Trivial-job throughput, {run.submitted:,} `true` jobs by {CLIENTS} clients",
        {"jobs": run.submitted, "seconds_end_to_end": elapsed, "jobs_per_s": jobs_per_s,
         "submit_phase_s": run.elapsed, "raw_spawns_per_s": spawns_per_s,
         "server_cpu_ms_per_job": server_ms,
         **client_ceiling(run.client_cpu_ms_per_submit, "submit", "jobs", spawns_per_s)},
        jobs_per_s / spawns_per_s, f"raw spawn rate at parallelism {CLIENTS}", ">= 0.5",
    )


if __name__ == "__main__":
    main()
