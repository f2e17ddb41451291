"""A queue's RUNNABLE time limit counts from when the job became RUNNABLE, so a server
restart in the middle of the wait does not give the job a fresh limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.batch.jobs_support import describe, make_definition, submit, wait_status
from tests.batch.resource_support import ec2_resources, make_ce, make_queue
from tests.support.server import ServerProcess, wait_for

CE_MAX = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
# 600 s of queue time limit pass in 6 real seconds at this scale.
SCALE = 100
LIMIT_MS = 600 * 1000 / SCALE


def test_the_runnable_time_limit_survives_a_restart(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = new_server(env={"BATCHYARD_TIME_SCALE": str(SCALE)}, data_dir=tmp_path / "data")
    batch = server.client("batch")
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=2))
    limits = [{"reason": CE_MAX, "state": "RUNNABLE", "maxTimeSeconds": 600, "action": "CANCEL"}]
    queue = make_queue(batch, [ce], jobStateTimeLimitActions=limits)
    job_id = submit(
        batch,
        queue,
        make_definition(batch, ["true"]),
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "4"}]},
    )
    created = wait_status(batch, job_id, "RUNNABLE")["createdAt"]
    wait_for(
        lambda: describe(batch, job_id).get("statusReason", "").startswith(CE_MAX),
        timeout=5,
        what="the job to block its queue",
    )
    # Half the limit passes, then the server restarts.
    wait_for(lambda: time.time() * 1000 - created > LIMIT_MS / 2, timeout=5, what="half the limit")
    server.stop()
    server.start()
    batch = server.client("batch")
    cancelled = wait_status(batch, job_id, timeout=20)
    assert cancelled["status"] == "FAILED"
    assert cancelled["isCancelled"] is True
    reason = cancelled["statusReason"]
    assert reason == f"Canceled by JobStateTimeLimit action due to reason: {CE_MAX}"
    waited = cancelled["stoppedAt"] - created
    # At the original deadline, not a whole limit after the restart (which would be > 1.5x).
    assert LIMIT_MS <= waited < LIMIT_MS * 1.4, waited
