"""Memory: RSS of an idle server and per running (parked) Step Functions execution.

The idle figure is a fresh server with one Batch queue set up and nothing submitted. For
executions, one execution parked in an hour-long Wait state warms the code paths, then the
RSS is read, more executions are started and parked the same way, and the growth is divided
by their number. The baseline is moto's server (``execute_state_machine`` on) measured the
same way in the same run. RSS per queued job comes from the queue-depth benchmark
(``bench_queue_depth.py``), which fills a queue anyway.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from batch_setup import create_batch_target
from bench_queue_depth import rss_mib
from harness import batchyard_server, client, moto_server, report

ROLE = "arn:aws:iam::123456789012:role/bench"
PARKED = {"StartAt": "Park", "States": {"Park": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def _parked(sfn: Any, execution: str) -> bool:
    events = sfn.get_execution_history(executionArn=execution)["events"]
    return any(e["type"] == "WaitStateEntered" for e in events)


def _wait_parked(sfn: Any, executions: list[str]) -> None:
    deadline = time.monotonic() + 120
    for execution in executions:
        while not _parked(sfn, execution):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{execution} never reached its Wait state")
            time.sleep(0.05)


def parked_growth(endpoint: str, pid: int, count: int) -> float:
    """KiB of RSS per parked execution, after one warm-up execution."""
    sfn = client(endpoint, "stepfunctions")
    machine = sfn.create_state_machine(
        name="bench-park", definition=json.dumps(PARKED), roleArn=ROLE
    )["stateMachineArn"]
    warm = sfn.start_execution(stateMachineArn=machine, name="warm")["executionArn"]
    _wait_parked(sfn, [warm])
    before = rss_mib(pid)
    started = [
        sfn.start_execution(stateMachineArn=machine, name=f"park-{i}")["executionArn"]
        for i in range(count)
    ]
    _wait_parked(sfn, started)
    return (rss_mib(pid) - before) * 1024 / count


def main() -> None:
    """Idle RSS, then RSS growth per parked execution, on batchyard and on moto."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="300 executions, not 1,000")
    args = parser.parse_args()
    count = 300 if args.quick else 1000

    with batchyard_server() as server:
        assert server.process is not None
        create_batch_target(server.endpoint)
        time.sleep(1)
        our_idle = rss_mib(server.process.pid)
        ours = parked_growth(server.endpoint, server.process.pid, count)
    with moto_server({"stepfunctions": {"execute_state_machine": True}}) as moto:
        create_batch_target(moto.endpoint, with_role=True)
        time.sleep(1)
        their_idle = rss_mib(moto.pid)
        theirs = parked_growth(moto.endpoint, moto.pid, count)
    report(
        "Memory: idle server and parked (running) executions",
        {"batchyard_idle_rss_mib": our_idle, "moto_idle_rss_mib": their_idle,
         "parked_executions": count, "batchyard_rss_kib_per_running_execution": ours,
         "moto_rss_kib_per_running_execution": theirs},
        theirs / ours, "moto server, KiB per running execution (moto / batchyard)", "none set",
    )


if __name__ == "__main__":
    main()
