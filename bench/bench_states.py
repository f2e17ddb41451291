"""Step Functions: transitions/s inside one long execution, and executions/s of short ones,
batchyard against moto's server with ``execute_state_machine`` enabled, in the same run.

1. A Choice/Pass loop counting to 2,000 with ``States.MathAdd``: state transitions per second
   from StartExecution until DescribeExecution reports the execution ended.
2. 10-state Pass chains started by 16 client processes: each client starts its share, then
   polls each of its executions with DescribeExecution until it has ended; executions/s runs
   from the moment all clients start to the moment the last one has seen all of its own end.
Both are measured the same way on both servers, to completion. On a 2-core machine the 16
boto3 client processes need more CPU than either server, so executions/s is bounded by the
clients; the server's own CPU time per execution (read from /proc) is reported beside it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import time
from typing import Any

from harness import batchyard_server, client, client_ceiling, cpu_seconds, moto_server, report

ROLE = "arn:aws:iam::123456789012:role/bench"
CLIENTS = 16
CHAIN_LENGTH = 10


def loop_definition(iterations: int) -> dict[str, Any]:
    """Init, then Check (Choice) and Add (Pass with States.MathAdd) ``iterations`` times."""
    return {"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Check"},
        "Check": {"Type": "Choice", "Default": "Done", "Choices": [
            {"Variable": "$.i", "NumericLessThan": iterations, "Next": "Add"},
        ]},
        "Add": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"},
    }}


def loop_transitions(iterations: int) -> int:
    """States entered by one run of ``loop_definition``: Init, 2 per iteration, the last
    Check, Done."""
    return 1 + 2 * iterations + 2


def chain_definition() -> dict[str, Any]:
    """CHAIN_LENGTH Pass states one after another."""
    names = [f"P{i}" for i in range(CHAIN_LENGTH)]
    states: dict[str, Any] = {
        name: {"Type": "Pass", "Next": following}
        for name, following in itertools.pairwise(names)
    }
    states[names[-1]] = {"Type": "Pass", "End": True}
    return {"StartAt": names[0], "States": states}


def _create(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    return sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]


def _wait_ended(sfn: Any, execution: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{execution} still running after {timeout} s")
        time.sleep(0.005)
    if described["status"] != "SUCCEEDED":
        raise RuntimeError(f"{execution} ended {described['status']}")
    return described


def loop_rate(endpoint: str, iterations: int) -> float:
    """Transitions per second of one loop execution, start call to observed end."""
    sfn = client(endpoint, "stepfunctions")
    machine = _create(sfn, "bench-loop", loop_definition(iterations))
    began = time.perf_counter()
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    described = _wait_ended(sfn, execution, timeout=600)
    elapsed = time.perf_counter() - began
    if json.loads(described["output"]) != {"i": iterations}:
        raise RuntimeError(f"loop ended with {described['output']}")
    return loop_transitions(iterations) / elapsed


def _run_share(
    endpoint: str, machine: str, share: int, count: int, ready: Any, cpu: Any
) -> None:
    sfn = client(endpoint, "stepfunctions")
    sfn.describe_state_machine(stateMachineArn=machine)
    ready.wait()
    began = time.process_time()
    # Named, because moto names every unnamed execution "None" and refuses the second one.
    started = [
        sfn.start_execution(stateMachineArn=machine, name=f"c{share}-{i}", input="{}")[
            "executionArn"
        ]
        for i in range(count)
    ]
    for execution in started:
        _wait_ended(sfn, execution, timeout=600)
    cpu[share] = time.process_time() - began


def chain_rate(endpoint: str, pid: int, total: int) -> tuple[float, float, float]:
    """(executions/s, server CPU ms per execution, client CPU ms per execution) of 10-state
    Pass chains started by CLIENTS processes, to completion."""
    sfn = client(endpoint, "stepfunctions")
    machine = _create(sfn, "bench-chain", chain_definition())
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(CLIENTS + 1)
    client_cpu = context.Array("d", CLIENTS)
    base, left = divmod(total, CLIENTS)
    workers = [
        context.Process(
            target=_run_share, args=(endpoint, machine, i, base + (i < left), ready, client_cpu)
        )
        for i in range(CLIENTS)
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    began, cpu_before = time.perf_counter(), cpu_seconds(pid)
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError("a client process failed")
    elapsed, cpu = time.perf_counter() - began, cpu_seconds(pid) - cpu_before
    return total / elapsed, cpu * 1000 / total, sum(client_cpu) * 1000 / total


def main() -> None:
    """Both measurements on batchyard, then on moto, and the two ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="320 chains instead of 1,600")
    args = parser.parse_args()
    iterations = 2000
    chains = 320 if args.quick else 1600

    with batchyard_server() as server:
        our_loop = loop_rate(server.endpoint, iterations)
        assert server.process is not None
        our_chains, our_cpu, client_ms = chain_rate(server.endpoint, server.process.pid, chains)
    with moto_server({"stepfunctions": {"execute_state_machine": True}}) as moto:
        their_loop = loop_rate(moto.endpoint, iterations)
        their_chains, their_cpu, _ = chain_rate(moto.endpoint, moto.pid, chains)
    report(
        f"Step Functions transitions/s (one {iterations:,}-iteration Choice/Pass loop)",
        {"loop_transitions": loop_transitions(iterations),
         "batchyard_transitions_per_s": our_loop, "moto_transitions_per_s": their_loop},
        our_loop / their_loop, "moto server (execute_state_machine)", ">= 10",
    )
    report(
        f"Step Functions executions/s ({CHAIN_LENGTH}-state Pass chains, {CLIENTS} clients)",
        {"executions": chains, "batchyard_executions_per_s": our_chains,
         "moto_executions_per_s": their_chains,
         "batchyard_server_cpu_ms_per_execution": our_cpu,
         "moto_server_cpu_ms_per_execution": their_cpu,
         "server_cpu_ratio_moto_over_batchyard": their_cpu / our_cpu,
         **client_ceiling(client_ms, "execution", "executions", their_chains)},
        our_chains / their_chains, "moto server (execute_state_machine)", ">= 10",
    )


if __name__ == "__main__":
    main()
