"""The start overhead of a trivial container job against ``podman run`` of the same image.

One private Podman service (``tests/support/podman.py``) serves both sides in the same run,
with the busybox test image. The baseline is ``podman run --rm <image> true`` on that
service's storage and network, one at a time, timed from the call to its return. The
measured side is a server whose engine is that service: a ``true`` job submitted, one at a
time, and polled until SUCCEEDED. From the server's own timestamps: submit → RUNNING
(``startedAt - createdAt``) and RUNNING → end (``stoppedAt - startedAt``); from the client:
submit → SUCCEEDED seen. The ratio is the baseline's median over the job's median, submit to
SUCCEEDED (1.0: a job costs what ``podman run`` costs). Server CPU per job is the server
process tree's over the measured jobs.

``python bench/bench_containers.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import uuid

from harness import batchyard_server, client, cpu_seconds, percentile, report
from tests.support.images import BUSYBOX, import_busybox_images
from tests.support.podman import PodmanService
from tests.support.ray_cluster import descendants


def _tree_cpu(pid: int) -> float:
    total = 0.0
    for member in descendants(pid):
        try:
            total += cpu_seconds(member)
        except OSError:
            continue
    return total


def podman_run(service: PodmanService, count: int) -> list[float]:
    """Wall milliseconds of ``count`` ``podman run --rm`` of ``true``, one at a time."""
    times = []
    for _ in range(count):
        began = time.perf_counter()
        service.podman("run", "--rm", "--network", service.network, BUSYBOX, "true")
        times.append((time.perf_counter() - began) * 1000)
    return times


def jobs(service: PodmanService, count: int, warm: int) -> dict[str, list[float] | float]:
    """Per-job milliseconds (server timestamps and client view) and server CPU per job."""
    env = {
        "BATCHYARD_CONTAINER_ENGINE": service.url,
        "BATCHYARD_CONTAINER_NETWORK": service.network,
        "BATCHYARD_CONTAINER_PULL_POLICY": "never",
    }
    with batchyard_server(env) as server:
        batch = client(server.endpoint, "batch")
        name = f"bench-{uuid.uuid4().hex[:6]}"
        batch.create_compute_environment(
            computeEnvironmentName=name,
            type="MANAGED",
            computeResources={
                "type": "EC2", "minvCpus": 0, "maxvCpus": 4, "instanceTypes": ["optimal"],
                "subnets": ["subnet-1"], "securityGroupIds": ["sg-1"],
                "instanceRole": "ecsInstanceRole",
            },
        )
        while batch.describe_compute_environments(computeEnvironments=[name])[
            "computeEnvironments"
        ][0]["status"] != "VALID":
            time.sleep(0.05)
        batch.create_job_queue(
            jobQueueName=name, priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": name}],
        )
        while batch.describe_job_queues(jobQueues=[name])["jobQueues"][0]["status"] != "VALID":
            time.sleep(0.05)
        batch.register_job_definition(
            jobDefinitionName=name, type="container",
            containerProperties={
                "image": BUSYBOX, "command": ["true"],
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"},
                ],
            },
        )
        assert server.process is not None
        starting, running, seen = [], [], []
        cpu_before = 0.0
        for index in range(warm + count):
            if index == warm:
                cpu_before = _tree_cpu(server.process.pid)
            began = time.perf_counter()
            job_id = batch.submit_job(jobName="j", jobQueue=name, jobDefinition=name)["jobId"]
            while True:
                job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
                if job["status"] in ("SUCCEEDED", "FAILED"):
                    break
                time.sleep(0.005)
            assert job["status"] == "SUCCEEDED", job
            if index >= warm:
                seen.append((time.perf_counter() - began) * 1000)
                starting.append(job["startedAt"] - job["createdAt"])
                running.append(job["stoppedAt"] - job["startedAt"])
        cpu = (_tree_cpu(server.process.pid) - cpu_before) / count * 1000
    return {"starting": starting, "running": running, "seen": seen, "cpu_ms": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 of each instead of 40")
    count = 10 if parser.parse_args().quick else 40
    service = PodmanService().start()
    try:
        import_busybox_images(service)
        podman_run(service, 3)  # warm the storage and the network
        baseline = podman_run(service, count)
        measured = jobs(service, count, warm=3)
    finally:
        service.stop()
    seen = measured["seen"]
    assert isinstance(seen, list)
    figures = {
        "jobs": count,
        "podman_run_p50_ms": percentile(baseline, 50),
        "podman_run_p90_ms": percentile(baseline, 90),
        "submit_to_succeeded_seen_p50_ms": percentile(seen, 50),
        "submit_to_succeeded_seen_p90_ms": percentile(seen, 90),
        "submit_to_running_p50_ms": percentile(measured["starting"], 50),  # type: ignore[arg-type]
        "running_to_end_p50_ms": percentile(measured["running"], 50),  # type: ignore[arg-type]
        "server_cpu_ms_per_job": measured["cpu_ms"],
    }
    report(
        "container job start overhead",
        figures,
        percentile(baseline, 50) / percentile(seen, 50),
        "podman run --rm of the same image, same service, one at a time",
        ">= 0.5",
    )


if __name__ == "__main__":
    main()
