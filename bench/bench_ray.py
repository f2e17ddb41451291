"""Trivial attempts through the Ray provider against the same trivial Ray tasks sent directly.

One Ray cluster (a head without CPUs, one worker node of 4 logical CPUs) serves both sides in
the same run. The baseline is a Ray driver of its own submitting N tasks of 1 CPU that each run
``true`` as a subprocess (what an attempt of a ``true`` job does), all at once, then waiting for
all; the provider starts N attempts of ``true`` of 1 vCPU, all at once, each to its exit. Also
measured one at a time: start latency, from the call to the command running (the provider's
``start`` returning; the baseline's ``.remote()`` to the task's first line), p50 and p99.
CPU per attempt, over the measured batch only (the warm-up and the latency runs excluded), is
the server side's (this process and its Ray driver process) and the cluster's (every process
of the test cluster, the supervisor and the workers included).

``python bench/bench_ray.py [--quick]`` (needs the ``ray`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from harness import batchyard_server, client, percentile, report
from tests.support.ray_cluster import RayCluster, descendants

from batchyard.compute.provider import AttemptSpec
from batchyard.compute.ray import RayProvider

BASELINE = """
import json, subprocess, sys, time
import ray
ray.init(address=sys.argv[1], logging_level="error", log_to_driver=False)

@ray.remote(num_cpus=1, max_retries=0)
def attempt():
    started = time.time()
    subprocess.run(["true"], check=True)
    return started

count, latency_count = int(sys.argv[2]), int(sys.argv[3])
ray.get([attempt.remote() for _ in range(count // 4)])  # warm the worker pool
print("warm", flush=True)
sys.stdin.readline()
began = time.perf_counter()
ray.get([attempt.remote() for _ in range(count)])
rate = count / (time.perf_counter() - began)
print("done", flush=True)
latencies = []
for _ in range(latency_count):
    sent = time.time()
    latencies.append((ray.get(attempt.remote()) - sent) * 1000)
sys.stdout.write(json.dumps({"rate": rate, "latencies": latencies}))
"""


def cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def cluster_pids(cluster: RayCluster) -> list[int]:
    """Every process of ``cluster`` (its nodes and the workers they started)."""
    return [pid for node in cluster.nodes for pid in descendants(node.process.pid)]


def spec() -> AttemptSpec:
    """A trivial attempt: ``true`` with 1 vCPU."""
    return AttemptSpec(
        attempt_id=uuid.uuid4().hex, job_id=str(uuid.uuid4()), command=["true"], environment={}
    )


async def through_provider(
    cluster: RayCluster, work_root: str, count: int, latency_count: int
) -> dict[str, float]:
    """Attempts per second (all at once), start latencies, server and cluster CPU per attempt."""
    provider = RayProvider(cluster.address, work_root=work_root, connect_timeout=60)
    health = await provider.connect(timeout=90)
    assert health.status == "VALID", health

    async def one() -> None:
        attempt = await provider.start(spec(), lambda *_: None)
        status = await attempt.wait()
        assert status.exit_code == 0, status

    try:
        await asyncio.gather(*(one() for _ in range(count // 4)))  # warm the worker pool
        assert provider._driver is not None
        server = [os.getpid(), provider._driver.process.pid]
        pids = cluster_pids(cluster)
        cpu_before, cluster_before = cpu_of(server), cpu_of(pids)
        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        elapsed = time.perf_counter() - began
        server_cpu = (cpu_of(server) - cpu_before) / count * 1000
        cluster_cpu = (cpu_of(pids) - cluster_before) / count * 1000
        latencies = []
        for _ in range(latency_count):
            sent = time.perf_counter()
            attempt = await provider.start(spec(), lambda *_: None)
            latencies.append((time.perf_counter() - sent) * 1000)
            await attempt.wait()
    finally:
        await provider.aclose()
    return {
        "rate": count / elapsed,
        "server_cpu_ms": server_cpu,
        "cluster_cpu_ms": cluster_cpu,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
    }


def through_server(cluster: RayCluster, count: int, latency_count: int) -> dict[str, float]:
    """Trivial jobs end to end through a server on the cluster: jobs per second from the first
    ``createdAt`` to the last ``stoppedAt`` (all submitted at once), submit → RUNNING one at a
    time (``startedAt - createdAt``), and the server process tree's CPU per job."""
    env = {
        **{k: v for k, v in cluster.env.items() if k.startswith("RAY_")},
        "BATCHYARD_RAY_ADDRESS": cluster.address,
    }
    with batchyard_server(env) as server:
        batch = client(server.endpoint, "batch")
        batch.create_compute_environment(
            computeEnvironmentName="ray", type="UNMANAGED", unmanagedvCpus=64,
            tags={"batchyard:provider": "ray"},
        )
        deadline = time.monotonic() + 120
        while batch.describe_compute_environments(computeEnvironments=["ray"])[
            "computeEnvironments"
        ][0]["status"] != "VALID":
            assert time.monotonic() < deadline, "the Ray environment never turned VALID"
            time.sleep(0.1)
        batch.create_job_queue(
            jobQueueName="ray", priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "ray"}],
        )
        while batch.describe_job_queues(jobQueues=["ray"])["jobQueues"][0]["status"] != "VALID":
            time.sleep(0.05)
        batch.register_job_definition(
            jobDefinitionName="true", type="container",
            containerProperties={
                "image": "busybox", "command": ["true"],
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"},
                ],
            },
        )

        def run_all(number: int) -> list[dict[str, Any]]:
            ids = [
                batch.submit_job(jobName="t", jobQueue="ray", jobDefinition="true")["jobId"]
                for _ in range(number)
            ]
            done: list[dict[str, Any]] = []
            while len(done) < number:
                time.sleep(0.05)
                done = [
                    job
                    for start in range(0, number, 100)
                    for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
                    if job["status"] in ("SUCCEEDED", "FAILED")
                ]
            assert all(job["status"] == "SUCCEEDED" for job in done), done[:1]
            return done

        run_all(count // 4)  # warm the cluster's worker pool
        assert server.process is not None
        tree = descendants(server.process.pid)
        cpu_before = cpu_of(tree)
        finished = run_all(count)
        server_cpu = (cpu_of(descendants(server.process.pid)) - cpu_before) / count * 1000
        span = max(j["stoppedAt"] for j in finished) - min(j["createdAt"] for j in finished)
        latencies = [
            float(job["startedAt"] - job["createdAt"])
            for _ in range(latency_count)
            for job in run_all(1)
        ]
    return {
        "rate": count / (span / 1000),
        "server_cpu_ms": server_cpu,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
    }


def main() -> None:
    """Measure both sides on one cluster and report the provider's rate against Ray's own."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100 attempts instead of 400")
    args = parser.parse_args()
    count, latency_count = (100, 30) if args.quick else (400, 100)
    cluster = RayCluster()
    try:
        cluster.start_head(num_cpus=0)
        cluster.add_node(num_cpus=4)
        baseline_run = subprocess.Popen(
            [sys.executable, "-c", BASELINE, cluster.address, str(count), str(latency_count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=cluster.env,
            text=True,
        )
        assert baseline_run.stdin is not None and baseline_run.stdout is not None
        assert baseline_run.stdout.readline().strip() == "warm"
        pids = cluster_pids(cluster)
        before = cpu_of(pids)
        baseline_run.stdin.write("go\n")
        baseline_run.stdin.flush()
        assert baseline_run.stdout.readline().strip() == "done"
        baseline_cluster_cpu = (cpu_of(pids) - before) / count * 1000
        baseline = json.loads(baseline_run.stdout.read())
        baseline_run.wait()
        with tempfile.TemporaryDirectory(prefix="batchyard-bench-ray-") as work_root:
            ours = asyncio.run(through_provider(cluster, work_root, count, latency_count))
        jobs = through_server(cluster, count, latency_count // 2)
        memory_mib = cluster.memory()[1] / (1024 * 1024)
    finally:
        cluster.stop()
    report(
        "ray provider: trivial attempts",
        {
            "attempts": count,
            "provider_attempts_per_s": ours["rate"],
            "ray_tasks_per_s": baseline["rate"],
            "provider_start_p50_ms": ours["p50"],
            "provider_start_p99_ms": ours["p99"],
            "ray_task_start_p50_ms": percentile(baseline["latencies"], 50),
            "ray_task_start_p99_ms": percentile(baseline["latencies"], 99),
            "server_cpu_ms_per_attempt": ours["server_cpu_ms"],
            "cluster_cpu_ms_per_attempt": ours["cluster_cpu_ms"],
            "cluster_cpu_ms_per_ray_task": baseline_cluster_cpu,
            "cluster_pss_mib_after": memory_mib,
        },
        ours["rate"] / baseline["rate"],
        "Ray tasks running `true`, submitted directly",
        ">= 0.5; start p50 <= 100 ms",
    )
    report(
        "ray: trivial jobs end to end through the server",
        {
            "jobs": count,
            "jobs_per_s": jobs["rate"],
            "ray_tasks_per_s": baseline["rate"],
            "submit_to_running_p50_ms": jobs["p50"],
            "submit_to_running_p99_ms": jobs["p99"],
            "server_cpu_ms_per_job": jobs["server_cpu_ms"],
        },
        jobs["rate"] / baseline["rate"],
        "Ray tasks running `true`, submitted directly",
        ">= 0.5; submit -> RUNNING p50 <= 100 ms",
    )


if __name__ == "__main__":
    main()
