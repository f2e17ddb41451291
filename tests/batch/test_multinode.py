"""Multi-node parallel jobs through boto3 against a live server: nodes that talk over
127.0.0.1, their environment and node jobs, gang placement (all nodes or none), the result
of the main node, node failures, terminate and node overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.batch.jobs_support import (
    describe,
    make_definition,
    make_multinode_definition,
    make_stack,
    submit,
    wait_status,
)
from tests.support.job_logs import job_output
from tests.support.python import stdlib_python
from tests.support.server import ServerProcess, free_port, wait_for

LOG_GROUP = "/aws/batch/job"
# The main node listens and collects one message per other node; the others connect to it.
EXCHANGE = """
import os, socket, sys, time
index = os.environ["AWS_BATCH_JOB_NODE_INDEX"]
main = os.environ["AWS_BATCH_JOB_MAIN_NODE_INDEX"]
count = int(os.environ["AWS_BATCH_JOB_NUM_NODES"])
port = int(os.environ["PORT"])
print("node", index, "of", count, "main", main,
      "address", os.environ.get("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS", "-"),
      "id", os.environ["AWS_BATCH_JOB_ID"], flush=True)
if index == main:
    server = socket.create_server(("127.0.0.1", port))
    got = []
    while len(got) < count - 1:
        peer, _ = server.accept()
        got.append(peer.recv(100).decode())
        peer.close()
    print("main got", ",".join(sorted(got)), flush=True)
else:
    address = os.environ["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"]
    deadline = time.time() + 20
    while True:
        try:
            with socket.create_connection((address, port), timeout=1) as conn:
                conn.sendall(f"hello from {index}".encode())
            break
        except OSError:
            if time.time() > deadline:
                sys.exit(1)
            time.sleep(0.05)
"""
# A node that must end before the main node does holds a lock on $LOCK for as long as it lives;
# the main node waits until it has taken the lock and then for the lock to be free. Otherwise
# the main node's end would stop that node, possibly before its own end.
HOLD_LOCK = 'exec 9>"$LOCK.held" && flock 9 && mv "$LOCK.held" "$LOCK"'
OUTLIVE_LOCK = (
    'n=0; until [ -e "$LOCK" ]; do n=$((n + 1)); [ $n -lt 2000 ] || exit 9; sleep 0.01; done; '
    'flock "$LOCK" true'
)


def _definition(batch: Any, command: list[str], num_nodes: int = 3, **container: Any) -> str:
    return make_multinode_definition(batch, command, num_nodes, container)


def _messages(server: ServerProcess, stream: str) -> list[str]:
    events = server.client("logs").get_log_events(
        logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=True
    )["events"]
    return job_output([event["message"] for event in events])


def test_three_nodes_exchange_a_message_over_loopback(server: ServerProcess, batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=4)[1]
    port = free_port()
    definition = _definition(
        batch,
        [stdlib_python(), "-c", EXCHANGE],
        environment=[{"name": "PORT", "value": str(port)}],
    )
    job_id = submit(batch, queue, definition)
    job = wait_status(batch, job_id, timeout=40)
    assert job["status"] == "SUCCEEDED", job
    assert job["nodeProperties"]["numNodes"] == 3
    main = describe(batch, f"{job_id}#0")
    assert main["nodeDetails"] == {"nodeIndex": 0, "isMainNode": True}
    assert job["startedAt"] == main["startedAt"]
    assert job["attempts"][0]["container"]["exitCode"] == 0
    lines = _messages(server, main["container"]["logStreamName"])
    assert lines == [
        f"node 0 of 3 main 0 address - id {job_id}#0",
        "main got hello from 1,hello from 2",
    ]
    for index in (1, 2):
        node = describe(batch, f"{job_id}#{index}")
        assert node["nodeDetails"] == {"nodeIndex": index, "isMainNode": False}
        assert node["startedAt"] >= main["startedAt"]
        first = _messages(server, node["container"]["logStreamName"])[0]
        assert first == f"node {index} of 3 main 0 address 127.0.0.1 id {job_id}#{index}"
    listed = batch.list_jobs(multiNodeJobId=job_id, jobStatus="SUCCEEDED")["jobSummaryList"]
    assert listed[0]["jobId"] == f"{job_id}#0"
    assert listed[0]["nodeProperties"] == {"isMainNode": True, "numNodes": 3, "nodeIndex": 0}


def test_nothing_starts_until_every_node_fits(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=3)[1]
    holder = submit(batch, queue, make_definition(batch, ["sleep", "2"]))
    wait_status(batch, holder, "RUNNING")
    job_id = submit(batch, queue, _definition(batch, ["sleep", "0.2"]))
    wait_status(batch, job_id, "RUNNABLE")
    # Two of the three nodes would fit beside the holder; none may start. What is read
    # before the holder is seen still running was read while it ran.
    while True:
        status = describe(batch, job_id)["status"]
        started_nodes = batch.describe_jobs(jobs=[f"{job_id}#0", f"{job_id}#1"])["jobs"]
        if describe(batch, holder)["status"] != "RUNNING":
            break
        assert status == "RUNNABLE"
        assert started_nodes == []
    job = wait_status(batch, job_id, timeout=30)
    assert job["status"] == "SUCCEEDED"
    starts = [describe(batch, f"{job_id}#{i}")["startedAt"] for i in range(3)]
    assert min(starts) >= describe(batch, holder)["stoppedAt"]


def test_a_job_bigger_than_its_environment_is_blocked_without_starting(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=2)[1]
    job_id = submit(batch, queue, _definition(batch, ["true"]))
    job = wait_for(lambda: (j := describe(batch, job_id)).get("statusReason") and j, timeout=10)
    assert job["status"] == "RUNNABLE"
    assert job["statusReason"].startswith("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE")
    assert batch.describe_jobs(jobs=[f"{job_id}#0"])["jobs"] == []
    batch.cancel_job(jobId=job_id, reason="too big")
    assert wait_status(batch, job_id)["status"] == "FAILED"


def test_result_is_the_main_nodes_and_a_dying_node_ends_alone(batch: Any, open_dir: Path) -> None:
    queue = make_stack(batch, max_vcpus=4)[1]
    # Node 2 dies at once; the main node outlives it and succeeds, so the job succeeds.
    script = (
        f"case $AWS_BATCH_JOB_NODE_INDEX in 0) {OUTLIVE_LOCK};; 1) sleep 30;; "
        f"2) {HOLD_LOCK}; exit 5;; esac"
    )
    lock = [{"name": "LOCK", "value": str(open_dir / "lock")}]
    job_id = submit(batch, queue, _definition(batch, ["sh", "-c", script], environment=lock))
    job = wait_status(batch, job_id, timeout=30)
    assert job["status"] == "SUCCEEDED"
    assert describe(batch, f"{job_id}#2")["container"]["exitCode"] == 5
    stopped = describe(batch, f"{job_id}#1")
    assert stopped["status"] == "FAILED"
    assert stopped["stoppedAt"] - job["stoppedAt"] < 5000
    # The main node fails: the job fails with its exit, retried as a whole.
    failing = "case $AWS_BATCH_JOB_NODE_INDEX in 0) exit 3;; *) sleep 30;; esac"
    job_id = submit(
        batch,
        queue,
        _definition(batch, ["sh", "-c", failing]),
        retryStrategy={"attempts": 2},
    )
    job = wait_status(batch, job_id, timeout=30)
    assert job["status"] == "FAILED"
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [3, 3]
    assert len(describe(batch, f"{job_id}#1")["attempts"]) == 2


def test_terminate_stops_every_node(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=4)[1]
    job_id = submit(batch, queue, _definition(batch, ["sleep", "60"]))
    wait_for(lambda: len(batch.list_jobs(multiNodeJobId=job_id)["jobSummaryList"]) == 3, timeout=15)
    batch.terminate_job(jobId=job_id, reason="stop all")
    job = wait_status(batch, job_id, timeout=20)
    assert (job["status"], job["statusReason"], job["isTerminated"]) == ("FAILED", "stop all", True)
    for index in range(3):
        assert describe(batch, f"{job_id}#{index}")["status"] == "FAILED"


def test_timeout_covers_the_whole_job(tmp_path_factory: pytest.TempPathFactory) -> None:
    scaled = ServerProcess(
        tmp_path_factory.mktemp("multinode-scaled"), env={"BATCHYARD_TIME_SCALE": "60"}
    ).start()
    try:
        batch = scaled.client("batch")
        queue = make_stack(batch, max_vcpus=4)[1]
        job_id = submit(
            batch,
            queue,
            _definition(batch, ["sleep", "30"]),
            timeout={"attemptDurationSeconds": 60},
            retryStrategy={"attempts": 2},
        )
        job = wait_status(batch, job_id, timeout=20)
        assert (job["status"], job["statusReason"]) == (
            "FAILED",
            "Job attempt duration exceeded timeout",
        )
        assert len(job["attempts"]) == 1
        assert all(describe(batch, f"{job_id}#{i}")["status"] == "FAILED" for i in range(3))
    finally:
        scaled.stop()


def test_node_overrides(batch: Any, open_dir: Path) -> None:
    queue = make_stack(batch, max_vcpus=8)[1]
    script = (
        f"case $AWS_BATCH_JOB_NODE_INDEX in 0) {OUTLIVE_LOCK};; 3) {HOLD_LOCK};; esac; exit $EXIT"
    )
    environment = [
        {"name": "EXIT", "value": "0"},
        {"name": "LOCK", "value": str(open_dir / "lock")},
    ]
    definition = _definition(batch, ["sh", "-c", script], num_nodes=2, environment=environment)
    job_id = submit(
        batch,
        queue,
        definition,
        nodeOverrides={
            "numNodes": 4,
            "nodePropertyOverrides": [
                {
                    "targetNodes": "3:3",
                    "containerOverrides": {"environment": [{"name": "EXIT", "value": "4"}]},
                }
            ],
        },
    )
    job = wait_status(batch, job_id, timeout=30)
    assert job["status"] == "SUCCEEDED"
    assert job["nodeProperties"]["numNodes"] == 4
    assert describe(batch, f"{job_id}#3")["container"]["exitCode"] == 4
    with pytest.raises(batch.exceptions.ClientException):
        submit(batch, queue, definition, nodeOverrides={"numNodes": 2000})
    with pytest.raises(batch.exceptions.ClientException):
        submit(batch, queue, definition, arrayProperties={"size": 2})
