"""SubmitJob rate: 16 concurrent boto3 clients, batchyard against moto's server.

Both servers only accept the jobs: batchyard's queue sits on a DISABLED compute environment
(so nothing runs), and moto runs Batch in its no-Docker mode. Each client is its own process,
so the client side is not one GIL. On a 2-core machine the 16 boto3 clients need more CPU
than either server, so submits/s is bounded by the clients; the server's own CPU time per
submit (read from /proc) shows what the server costs, and its ratio is reported too. The
clients' own CPU per submit gives the ceiling: the rate the cores would allow if the server
took no CPU at all, and so the best ratio against moto this machine can show.
"""

from __future__ import annotations

import argparse

from batch_setup import create_batch_target
from harness import batchyard_server, client_ceiling, cpu_seconds, moto_server, report
from submitters import submit_in_parallel

CLIENTS = 16


def submit_rate(
    endpoint: str, pid: int, target: dict[str, str], total: int
) -> tuple[float, float, float]:
    """(submits/s, server CPU ms per submit, client CPU ms per submit) for CLIENTS processes
    sharing ``total`` submits."""
    cpu_before = cpu_seconds(pid)
    run = submit_in_parallel(endpoint, target, total, CLIENTS)
    server_ms = (cpu_seconds(pid) - cpu_before) * 1000 / run.submitted
    return run.rate, server_ms, run.client_cpu_ms_per_submit


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
        ours, our_cpu, client_ms = submit_rate(server.endpoint, server.process.pid, target, total)
    with moto_server({"batch": {"use_docker": False}}) as moto:
        target = create_batch_target(moto.endpoint, with_role=True)
        theirs, their_cpu, _ = submit_rate(moto.endpoint, moto.pid, target, total)
    report(
        "SubmitJob rate, 16 boto3 client processes",
        {"submits": total, "batchyard_submits_per_s": ours, "moto_submits_per_s": theirs,
         "batchyard_server_cpu_ms_per_submit": our_cpu, "moto_server_cpu_ms_per_submit": their_cpu,
         "server_cpu_ratio_moto_over_batchyard": their_cpu / our_cpu,
         **client_ceiling(client_ms, "submit", "submits", theirs)},
        ours / theirs, "moto server (no-Docker Batch)", ">= 10",
    )


if __name__ == "__main__":
    main()
