"""Latency on an idle server: submit → RUNNING, job end → ``.sync`` task end, and a
dependency's end → its dependent RUNNING.

Every latency is computed from timestamps the server itself recorded, so client and HTTP time
are not counted: a job's ``createdAt``, ``startedAt`` and ``stoppedAt`` (milliseconds) and the
execution history's ``TaskSucceeded`` event timestamp. Jobs are submitted one after another by
one client while the environment has far more vCPUs free than are in use ("idle capacity").
The baseline is the target itself: the ratio is the target (20 ms) over the measured p50 of
submit → RUNNING.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from batch_setup import create_batch_target
from harness import batchyard_server, client, percentile, report

ROLE = "arn:aws:iam::123456789012:role/bench"
TARGET_MS = 20.0


def _wait_job(batch: Any, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (job := batch.describe_jobs(jobs=[job_id])["jobs"][0])["status"] not in (
        "SUCCEEDED", "FAILED"
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} still {job['status']}")
        time.sleep(0.01)
    if job["status"] != "SUCCEEDED":
        raise RuntimeError(f"job {job_id} {job['status']}: {job.get('statusReason')}")
    return job


def submit_to_running(batch: Any, target: dict[str, str], count: int) -> list[float]:
    """createdAt → startedAt (ms) of ``count`` jobs submitted one after another."""
    gaps = []
    for i in range(count):
        job_id = batch.submit_job(
            jobName=f"latency-{i}", jobQueue=target["queue"], jobDefinition=target["definition"]
        )["jobId"]
        job = _wait_job(batch, job_id)
        gaps.append(float(job["startedAt"] - job["createdAt"]))
    return gaps


def dependency_to_running(batch: Any, target: dict[str, str], count: int) -> list[float]:
    """A job's stoppedAt → its dependent's startedAt (ms), the dependent submitted while the
    first job still runs."""
    gaps = []
    for i in range(count):
        first = batch.submit_job(
            jobName=f"first-{i}", jobQueue=target["queue"], jobDefinition=target["definition"],
            containerOverrides={"command": ["sleep", "0.3"]},
        )["jobId"]
        second = batch.submit_job(
            jobName=f"second-{i}", jobQueue=target["queue"], jobDefinition=target["definition"],
            dependsOn=[{"jobId": first}],
        )["jobId"]
        ended = _wait_job(batch, first)
        dependent = _wait_job(batch, second)
        gaps.append(float(dependent["startedAt"] - ended["stoppedAt"]))
    return gaps


def sync_task_end(endpoint: str, target: dict[str, str], count: int) -> list[float]:
    """A ``batch:submitJob.sync`` job's stoppedAt → its TaskSucceeded event (ms)."""
    sfn = client(endpoint, "stepfunctions")
    definition = {"StartAt": "Run", "States": {"Run": {
        "Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True,
        "Parameters": {"JobName": "sync", "JobQueue": target["queue"],
                       "JobDefinition": target["definition"]},
    }}}
    machine = sfn.create_state_machine(
        name="bench-sync", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    gaps = []
    for _ in range(count):
        execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        deadline = time.monotonic() + 60
        while (status := sfn.describe_execution(executionArn=execution)["status"]) == "RUNNING":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{execution} still running")
            time.sleep(0.01)
        if status != "SUCCEEDED":
            raise RuntimeError(f"{execution} {status}")
        events = sfn.get_execution_history(executionArn=execution)["events"]
        done = next(e for e in events if e["type"] == "TaskSucceeded")
        job = json.loads(done["taskSucceededEventDetails"]["output"])
        gaps.append(done["timestamp"].timestamp() * 1000 - job["StoppedAt"])
    return gaps


def main() -> None:
    """Measure the three latencies on one server and report their percentiles."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="30 samples each instead of 200")
    args = parser.parse_args()
    count = 30 if args.quick else 200

    with batchyard_server() as server:
        target = create_batch_target(server.endpoint)
        batch = client(server.endpoint, "batch")
        running = submit_to_running(batch, target, count)
        sync = sync_task_end(server.endpoint, target, count)
        dependency = dependency_to_running(batch, target, count // 2)
    p50 = percentile(running, 50)
    report(
        "Latency on an idle server (server-recorded timestamps)",
        {"samples": count,
         "submit_to_running_p50_ms": p50, "submit_to_running_p99_ms": percentile(running, 99),
         "job_end_to_sync_task_end_p50_ms": percentile(sync, 50),
         "job_end_to_sync_task_end_p99_ms": percentile(sync, 99),
         "dependency_end_to_dependent_running_p50_ms": percentile(dependency, 50),
         "dependency_end_to_dependent_running_p99_ms": percentile(dependency, 99)},
        TARGET_MS / p50, "the 20 ms target (target / submit→RUNNING p50)", ">= 1",
    )


if __name__ == "__main__":
    main()
