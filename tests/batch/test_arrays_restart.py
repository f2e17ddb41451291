"""Arrays, their dependencies and multi-node jobs survive a server killed with SIGKILL: the
next start picks up the cursor, the waiting children and the parents' counts where the
store left them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from tests.batch.jobs_support import (
    describe,
    make_definition,
    make_multinode_definition,
    make_stack,
    submit,
    wait_status,
)
from tests.support.server import ServerProcess, wait_for


def test_arrays_finish_after_a_sigkill(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = new_server(data_dir=data_dir)
    batch = server.client("batch")
    queue = make_stack(batch, max_vcpus=2)[1]
    slow = make_definition(batch, ["sleep", "0.3"])
    retry = {"attempts": 2}
    plain = submit(batch, queue, slow, arrayProperties={"size": 12}, retryStrategy=retry)
    sequential = submit(
        batch,
        queue,
        slow,
        arrayProperties={"size": 4},
        dependsOn=[{"type": "SEQUENTIAL"}],
        retryStrategy=retry,
    )
    follower = submit(
        batch,
        queue,
        slow,
        arrayProperties={"size": 12},
        dependsOn=[{"jobId": plain, "type": "N_TO_N"}],
        retryStrategy=retry,
    )
    after = submit(batch, queue, make_definition(batch, ["true"]), dependsOn=[{"jobId": follower}])
    definition = make_multinode_definition(batch, ["sleep", "1"], 3)
    multinode = submit(batch, make_stack(batch, max_vcpus=3)[1], definition, retryStrategy=retry)
    wait_status(batch, multinode, "RUNNING")
    wait_for(
        lambda: describe(batch, plain)["arrayProperties"]["statusSummary"]["SUCCEEDED"] >= 3,
        timeout=30,
    )
    server.kill()

    batch = new_server(data_dir=data_dir).client("batch")
    for parent, size in ((plain, 12), (sequential, 4), (follower, 12)):
        job = wait_status(batch, parent, timeout=60)
        assert job["status"] == "SUCCEEDED", job
        assert job["arrayProperties"]["statusSummary"]["SUCCEEDED"] == size
    assert wait_status(batch, after)["status"] == "SUCCEEDED"
    job = wait_status(batch, multinode, timeout=30)
    assert job["status"] == "SUCCEEDED"
    assert job["attempts"][0]["statusReason"].startswith("Host EC2")
    assert len(describe(batch, f"{multinode}#2")["attempts"]) == 2
    spans = [describe(batch, f"{sequential}:{i}") for i in range(4)]
    for earlier, later in itertools.pairwise(spans):
        assert later["startedAt"] >= earlier["stoppedAt"]
