"""SubmitJob rate: 16 concurrent boto3 clients, batchyard against moto's server.

Both servers only accept the jobs: batchyard's queue sits on a DISABLED compute environment
(so nothing runs), and moto runs Batch in its no-Docker mode. Each client is its own process,
so the client side is not one GIL. On a 2-core machine the 16 boto3 clients need more CPU
than either server, so submits/s is bounded by the clients; the server's own CPU time per
submit (read from /proc) shows what the server costs, and its ratio is reported too.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

from batch_setup import create_batch_target
from harness import batchyard_server, client, cpu_seconds, moto_server, report

CLIENTS = 16


def _submit_share(endpoint: str, queue: str, definition: str, count: int, ready: object) -> None:
    batch = client(endpoint, "batch")
    batch.describe_job_queues(jobQueues=[queue])  # warm the connection before the clock starts
    ready.wait()  # type: ignore[attr-defined]
    for i in range(count):
        batch.submit_job(jobName=f"bench-{i}", jobQueue=queue, jobDefinition=definition)


def submit_rate(endpoint: str, pid: int, target: dict[str, str], total: int) -> tuple[float, float]:
    """(submits/s, server CPU ms per submit) for CLIENTS processes sharing ``total`` submits."""
    context = multiprocessing.get_context("spawn")
    # Every client has imported boto3 and connected when the barrier opens; the clock starts then.
    ready = context.Barrier(CLIENTS + 1)
    share = total // CLIENTS
    arguments = (endpoint, target["queue"], target["definition"], share, ready)
    workers = [context.Process(target=_submit_share, args=arguments) for _ in range(CLIENTS)]
    for worker in workers:
        worker.start()
    ready.wait()
    began, cpu_before = time.perf_counter(), cpu_seconds(pid)
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError("a client process failed")
    elapsed, cpu = time.perf_counter() - began, cpu_seconds(pid) - cpu_before
    done = share * CLIENTS
    return done / elapsed, cpu * 1000 / done


def main() -> None:
    """Measure both servers in this run and report the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer submits")
    parser.add_argument("--total", type=int, default=0)
    args = parser.parse_args()
    total = args.total or (1600 if args.quick else 8000)

    with batchyard_server() as server:
        assert server.process is not None
        target = create_batch_target(server.endpoint, state="DISABLED")
        ours, our_cpu = submit_rate(server.endpoint, server.process.pid, target, total)
    with moto_server({"batch": {"use_docker": False}}) as moto:
        target = create_batch_target(moto.endpoint, with_role=True)
        theirs, their_cpu = submit_rate(moto.endpoint, moto.pid, target, total)
    report(
        "SubmitJob rate, 16 boto3 client processes",
        {"submits": total, "batchyard_submits_per_s": ours, "moto_submits_per_s": theirs,
         "batchyard_server_cpu_ms_per_submit": our_cpu, "moto_server_cpu_ms_per_submit": their_cpu,
         "server_cpu_ratio_moto_over_batchyard": their_cpu / our_cpu},
        ours / theirs, "moto server (no-Docker Batch)", ">= 10",
    )


if __name__ == "__main__":
    main()
