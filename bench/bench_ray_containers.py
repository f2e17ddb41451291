"""What running the image costs an attempt on a Ray node, against running its command there.

One test cluster (a head without CPUs, one worker node of 4 logical CPUs) and one private
Podman serve both sides in the same run. Each side is a Ray provider: the baseline runs
``true`` as a command on the node; the other has ``NodeImages`` on the Podman socket and runs
``true`` in the busybox test image there (pull policy ``never``). For each: N attempts of 1
vCPU all at once, each to its exit (attempts/s), then one at a time: start (the provider's
``start`` returning: the command or the container runs) and start → exit, p50 and p99. CPU
per attempt over the batch: the server side's (this process and its Ray driver), the
cluster's (every process of the test cluster), the Podman service's, and the whole
machine's (``/proc/stat``: it also counts ``conmon``/``runc``, which leave the service's
process tree, and whatever else runs on the machine).

``python bench/bench_ray_containers.py [--quick]`` (needs the ``ray`` extra, podman, runc).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench_ray import cluster_pids, cpu_of
from harness import percentile, report
from tests.support.images import BUSYBOX, import_busybox_images
from tests.support.podman import PodmanService
from tests.support.ray_cluster import RayCluster, descendants

from batchyard.compute.provider import AttemptSpec
from batchyard.compute.ray import NodeImages, RayProvider


def spec() -> AttemptSpec:
    """A trivial attempt: ``true`` with 1 vCPU, in the busybox image when images run."""
    return AttemptSpec(
        attempt_id=uuid.uuid4().hex,
        job_id=str(uuid.uuid4()),
        command=["true"],
        environment={},
        image=BUSYBOX,
    )


def machine_cpu() -> float:
    """CPU seconds every core of the machine has spent busy so far."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def measure(
    cluster: RayCluster,
    work_root: str,
    images: NodeImages | None,
    podman_pids: Callable[[], list[int]],
    count: int,
    latency_count: int,
) -> dict[str, float]:
    """Attempts/s all at once, start and start → exit latencies, CPU per attempt."""
    provider = RayProvider(
        cluster.address, work_root=work_root, connect_timeout=60, images=images,
        supervisor=f"bench-{uuid.uuid4().hex[:8]}",
    )
    assert (await provider.connect(timeout=90)).status == "VALID"

    async def one() -> None:
        attempt = await provider.start(spec(), lambda *_: None)
        status = await attempt.wait()
        assert status.exit_code == 0, status

    try:
        await asyncio.gather(*(one() for _ in range(8)))  # warm the worker pool
        assert provider._driver is not None
        server = [os.getpid(), provider._driver.process.pid]
        ray_pids, engine_pids = cluster_pids(cluster), podman_pids()
        before = cpu_of(server), cpu_of(ray_pids), cpu_of(engine_pids), machine_cpu()
        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        elapsed = time.perf_counter() - began
        after = cpu_of(server), cpu_of(ray_pids), cpu_of(engine_pids), machine_cpu()
        starts, runs = [], []
        for _ in range(latency_count):
            sent = time.perf_counter()
            attempt = await provider.start(spec(), lambda *_: None)
            starts.append((time.perf_counter() - sent) * 1000)
            await attempt.wait()
            runs.append((time.perf_counter() - sent) * 1000)
    finally:
        await provider.aclose()
    server_ms, cluster_ms, engine_ms, machine_ms = (
        (b - a) / count * 1000 for a, b in zip(before, after, strict=True)
    )
    return {
        "rate": count / elapsed,
        "start_p50": percentile(starts, 50),
        "start_p99": percentile(starts, 99),
        "run_p50": percentile(runs, 50),
        "run_p99": percentile(runs, 99),
        "server_cpu_ms": server_ms,
        "cluster_cpu_ms": cluster_ms,
        "engine_cpu_ms": engine_ms,
        "machine_cpu_ms": machine_ms,
    }


def main() -> None:
    """Measure both sides on one cluster and report the image path against the command path."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="16 attempts instead of 60")
    args = parser.parse_args()
    count, latency_count = (16, 5) if args.quick else (60, 20)
    podman = PodmanService().start()
    cluster = RayCluster()
    try:
        import_busybox_images(podman)
        cluster.start_head(num_cpus=0)
        cluster.add_node(num_cpus=4)

        def podman_pids() -> list[int]:
            assert podman.process is not None
            return descendants(podman.process.pid)

        images = NodeImages(podman.url, pull_policy="never")
        with tempfile.TemporaryDirectory(prefix="batchyard-bench-ray-") as work_root:
            plain = asyncio.run(
                measure(cluster, work_root, None, podman_pids, count, latency_count)
            )
            image = asyncio.run(
                measure(cluster, work_root, images, podman_pids, count, latency_count)
            )
    finally:
        cluster.stop()
        podman.stop()
    figures: dict[str, float | int] = {"attempts": count}
    for side, found in (("command", plain), ("image", image)):
        figures.update(
            {
                f"{side}_attempts_per_s": found["rate"],
                f"{side}_start_p50_ms": found["start_p50"],
                f"{side}_start_p99_ms": found["start_p99"],
                f"{side}_start_to_exit_p50_ms": found["run_p50"],
                f"{side}_start_to_exit_p99_ms": found["run_p99"],
                f"{side}_server_cpu_ms_per_attempt": found["server_cpu_ms"],
                f"{side}_cluster_cpu_ms_per_attempt": found["cluster_cpu_ms"],
                f"{side}_podman_service_cpu_ms_per_attempt": found["engine_cpu_ms"],
                f"{side}_machine_cpu_ms_per_attempt": found["machine_cpu_ms"],
            }
        )
    report(
        "ray provider: the image on the node against the command on the node",
        figures,
        image["rate"] / plain["rate"],
        "the same `true` attempts as commands on the node",
        "none: this measures what the container costs",
    )


if __name__ == "__main__":
    main()
