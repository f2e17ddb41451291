"""The Ray cluster's side of things: gangs, lost nodes, an unreachable cluster, restarts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.support.ray_cluster import Lines, ProviderHarness, RayCluster, free_port
from tests.support.server import wait_for

from batchyard.compute.provider import AttemptSpec, ExitStatus, LaunchError
from batchyard.compute.ray import ClusterStatus, RayProvider

PYTHON = sys.executable

MAIN = """
import socket
server = socket.create_server(("0.0.0.0", {port}))
print("listening", flush=True)
peer, _ = server.accept()
print("got", peer.recv(100).decode(), flush=True)
peer.sendall(b"welcome")
peer.close()
"""
CHILD = """
import os, socket, time
main = os.environ["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"]
deadline = time.monotonic() + 60
while True:
    try:
        peer = socket.create_connection((main, {port}), timeout=5)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
index, count = os.environ["AWS_BATCH_JOB_NODE_INDEX"], os.environ["AWS_BATCH_JOB_NUM_NODES"]
peer.sendall(f"hello from node {{index}} of {{count}}".encode())
print("main", main, "replied", peer.recv(100).decode(), flush=True)
"""


def node_spec(command: list[str], job_id: str, index: int, vcpus: float = 2.0) -> AttemptSpec:
    return AttemptSpec(
        attempt_id=f"{job_id}-{index}-{uuid.uuid4().hex[:6]}",
        job_id=f"{job_id}#{index}",
        command=command,
        environment={
            "AWS_BATCH_JOB_ID": f"{job_id}#{index}",
            "AWS_BATCH_JOB_NODE_INDEX": str(index),
        },
        vcpus=vcpus,
    )


def test_a_two_node_job_runs_on_distinct_nodes_that_exchange_a_message(
    ray_harness: ProviderHarness,
) -> None:
    provider = ray_harness.provider
    port = free_port()
    job = uuid.uuid4().hex[:8]
    specs = [
        node_spec([PYTHON, "-c", MAIN.format(port=port)], job, 0),
        node_spec([PYTHON, "-c", CHILD.format(port=port)], job, 1),
    ]
    lines = [Lines(), Lines()]
    attempts = ray_harness.run(provider.start_gang(job, specs, 0, lines))

    async def both() -> list[ExitStatus]:
        return list(await asyncio.gather(*(a.wait() for a in attempts)))

    statuses = ray_harness.run(both())
    assert [s.exit_code for s in statuses] == [0, 0], [x.lines for x in lines]
    main, child = (a.identity for a in attempts)
    assert main["nodeId"] != child["nodeId"] and main["nodeIp"] != child["nodeIp"]
    assert lines[0].texts() == ["listening", "got hello from node 1 of 2"]
    assert lines[1].texts() == [f"main {main['nodeIp']} replied welcome"]
    # The placement group is gone with the job: both nodes' CPUs are free again.
    wait_for(
        lambda: (c := provider.cluster_capacity()) and c.available.vcpus == c.total.vcpus,
        what="the gang's placement group to be removed",
    )


def test_a_gang_larger_than_the_cluster_is_refused(ray_harness: ProviderHarness) -> None:
    job = uuid.uuid4().hex[:8]
    specs = [node_spec(["true"], job, i) for i in range(3)]
    try:
        ray_harness.run(ray_harness.provider.start_gang(job, specs, 0, [Lines()] * 3))
    except LaunchError as error:
        assert "needs 3 distinct nodes" in error.reason
    else:
        raise AssertionError("three 2-vCPU nodes cannot fit two 2-CPU Ray nodes")


def test_a_node_killed_mid_attempt_fails_the_attempt_with_a_reason(
    ray_cluster: RayCluster, ray_harness: ProviderHarness
) -> None:
    provider = ray_harness.provider
    doomed = ray_cluster.add_node(num_cpus=3)
    wait_for(
        lambda: (c := provider.cluster_capacity()) and len(c.nodes) == 4,
        what="the provider to see the new node",
    )
    lines = Lines()
    spec = node_spec(["sh", "-c", "echo up; exec sleep 120"], uuid.uuid4().hex[:8], 0, vcpus=3.0)
    attempt = ray_harness.run(provider.start(spec, lines))
    assert attempt.identity["nodeIp"] == doomed.ip
    lines.wait_for("up")
    began = time.monotonic()
    doomed.kill()
    status: ExitStatus = ray_harness.run(attempt.wait(), timeout=120)
    assert status.exit_code is None and status.reason, status
    assert status.reason.startswith(f"NodeDiedError: the Ray node {doomed.ip} "), status.reason
    assert time.monotonic() - began < 60
    wait_for(
        lambda: (c := provider.cluster_capacity()) and len(c.nodes) == 3,
        what="the dead node to leave the capacity view",
    )


def test_cluster_health_unreachable_then_back_then_lost(tmp_path: Path) -> None:
    """INVALID with why while unreachable, VALID once it answers, INVALID again once lost."""
    port = free_port()

    async def scenario() -> None:
        provider = RayProvider(
            f"127.0.0.1:{port}",
            connect_timeout=3,
            work_root=str(tmp_path),
            reconnect_pauses=(0.5, 1.0),
        )
        health = await provider.connect(timeout=20)
        assert health.status is ClusterStatus.INVALID
        expected = f"cannot reach the Ray cluster at 127.0.0.1:{port}: no answer within 3 s"
        assert health.reason == expected
        spec = node_spec(["true"], "j", 0, vcpus=1.0)
        try:
            await provider.start(spec, Lines())
        except LaunchError as error:
            assert "is unavailable: cannot reach" in error.reason
        else:
            raise AssertionError("an unreachable cluster must refuse attempts")
        cluster = RayCluster(port=port)
        try:
            await asyncio.to_thread(cluster.start_head, 1)
            deadline = time.monotonic() + 90
            while provider.health().status is not ClusterStatus.VALID:
                assert time.monotonic() < deadline, provider.health()
                await asyncio.sleep(0.1)
            attempt = await provider.start(spec, Lines())
            assert (await attempt.wait()).exit_code == 0
            # The whole cluster goes away under a connected provider: INVALID again, saying so.
            await asyncio.to_thread(cluster.nodes[0].kill)
            deadline = time.monotonic() + 60
            while provider.health().status is ClusterStatus.VALID:
                assert time.monotonic() < deadline, "the lost cluster was not noticed"
                await asyncio.sleep(0.1)
            reason = provider.health().reason or ""
            assert reason.startswith(
                (f"lost the Ray cluster at 127.0.0.1:{port}", "the Ray driver process ended")
            ), reason
        finally:
            await provider.aclose()
            await asyncio.to_thread(cluster.stop)

    asyncio.run(scenario())


def test_a_restarted_driver_takes_over_running_and_ended_attempts_once(
    ray_cluster: RayCluster, ray_harness: ProviderHarness, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    specs = [
        {
            "attempt_id": f"reattach-{name}-{uuid.uuid4().hex[:8]}",
            "command": [
                "sh",
                "-c",
                f"echo {name} >>{runs}; echo {name}-first; "
                f"while [ ! -e {tmp_path / name} ]; do sleep 0.05; done; echo {name}-second; "
                f"exit {code}",
            ],
        }
        for name, code in (("a", 5), ("b", 4))
    ]
    first = subprocess.Popen(
        [PYTHON, "-m", "tests.support.ray_driver", ray_cluster.address,
         str(ray_harness.work_root), json.dumps(specs)],
        stdout=subprocess.PIPE,
        env=ray_cluster.env,
        start_new_session=True,
    )
    assert first.stdout is not None
    identities: dict[str, dict[str, object]] = {}
    seen: set[str] = set()
    try:
        while len(identities) < 2 or not {"a-first", "b-first"} <= seen:
            event = json.loads(first.stdout.readline() or "null")
            assert event is not None, "the first driver ended early"
            if "started" in event:
                identities[event["started"]["attemptId"]] = event["started"]
            elif "line" in event:
                seen.add(event["line"][1])
    finally:
        # The server dies at once, its Ray driver process with it (its socket closes).
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    a_id, b_id = str(specs[0]["attempt_id"]), str(specs[1]["attempt_id"])
    # b ends while no driver is attached to it; a is still running when taken over.
    (tmp_path / "b").touch()
    wait_for(lambda: runs.read_text().count("\n") == 2, what="both attempts to have started")
    a_lines, b_lines = Lines(), Lines()
    a = ray_harness.run(ray_harness.provider.reattach(identities[a_id], a_lines))
    b = ray_harness.run(ray_harness.provider.reattach(identities[b_id], b_lines))
    assert ray_harness.run(b.wait()).exit_code == 4
    assert "b-second" in b_lines.texts()
    assert not a.ended
    (tmp_path / "a").touch()
    assert ray_harness.run(a.wait()).exit_code == 5
    # Lines not acknowledged by the dead driver come again; none after it is lost.
    assert a_lines.texts()[-1] == "a-second" and set(a_lines.texts()) <= {"a-first", "a-second"}
    # Asking again for an attempt whose exit is recorded gives that exit, and nothing reruns:
    # from this server, and from another one (a new driver, asking the supervisor).
    again = ray_harness.run(ray_harness.provider.reattach(identities[b_id], Lines()))
    assert ray_harness.run(again.wait()).exit_code == 4
    assert ray_harness.run(_exit_from_new_driver(ray_harness, identities[b_id])) == 4
    assert sorted(runs.read_text().split()) == ["a", "b"]


async def _exit_from_new_driver(
    harness: ProviderHarness, identity: dict[str, object]
) -> int | None:
    """The exit code another server's provider gets when it takes over ``identity``."""
    provider = RayProvider(
        harness.provider.address, work_root=str(harness.work_root), log_file=harness.log_file,
        connect_timeout=60,
    )
    try:
        assert (await provider.connect(timeout=90)).status is ClusterStatus.VALID
        attempt = await provider.reattach(dict(identity), Lines())
        return (await asyncio.wait_for(attempt.wait(), 60)).exit_code
    finally:
        await provider.aclose()
