"""SubmitJob rate: 16 concurrent boto3 clients, batchyard against moto's server.

Both servers only accept the jobs: batchyard's queue sits on a DISABLED compute environment
(so nothing runs), and moto runs Batch in its no-Docker mode. Each client is its own process,
so the client side is not one GIL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

from batch_setup import create_batch_target
from harness import batchyard_server, client, moto_server, report

CLIENTS = 16


def _submit_share(endpoint: str, queue: str, definition: str, count: int, ready: object) -> None:
    batch = client(endpoint, "batch")
    batch.describe_job_queues(jobQueues=[queue])  # warm the connection before the clock starts
    ready.wait()  # type: ignore[attr-defined]
    for i in range(count):
        batch.submit_job(jobName=f"bench-{i}", jobQueue=queue, jobDefinition=definition)


def submit_rate(endpoint: str, target: dict[str, str], total: int) -> float:
    """Submits per second reached by CLIENTS processes sharing ``total`` submits."""
    context = multiprocessing.get_context("spawn")
    # Every client has imported boto3 and connected when the barrier opens; the clock starts then.
    ready = context.Barrier(CLIENTS + 1)
    share = total // CLIENTS
    arguments = (endpoint, target["queue"], target["definition"], share, ready)
    workers = [context.Process(target=_submit_share, args=arguments) for _ in range(CLIENTS)]
    for worker in workers:
        worker.start()
    ready.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError("a client process failed")
    return share * CLIENTS / (time.perf_counter() - began)


def main() -> None:
    """Measure both servers in this run and report the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer submits")
    parser.add_argument("--total", type=int, default=0)
    args = parser.parse_args()
    total = args.total or (1600 if args.quick else 8000)

    with batchyard_server() as server:
        target = create_batch_target(server.endpoint, state="DISABLED")
        ours = submit_rate(server.endpoint, target, total)
    with moto_server({"batch": {"use_docker": False}}) as endpoint:
        target = create_batch_target(endpoint, with_role=True)
        theirs = submit_rate(endpoint, target, total)
    report(
        "SubmitJob rate, 16 boto3 client processes",
        {"submits": total, "batchyard_submits_per_s": ours, "moto_submits_per_s": theirs},
        ours / theirs, "moto server (no-Docker Batch)", ">= 10",
    )


if __name__ == "__main__":
    main()
