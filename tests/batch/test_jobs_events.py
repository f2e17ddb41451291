"""Each job state change is published once on the runtime bus (topic ``batch.job``) with the
DescribeJobs-shaped job, in lifecycle order; the submission itself is not announced."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from batchyard.batch import JOB_TOPIC, JobRequest
from tests.batch.jobs_support import in_process_server, in_process_stack


async def _scenario(data_dir: Path) -> tuple[str, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    finished = asyncio.Event()

    def on_job(_topic: str, event: dict[str, Any]) -> None:
        events.append(event)
        if event["status"] in ("SUCCEEDED", "FAILED"):
            finished.set()

    async with in_process_server(data_dir) as (server, caller):
        server.bus.subscribe(JOB_TOPIC, on_job)
        await in_process_stack(server.batch, caller, "events", max_vcpus=2)
        job = await server.batch.submit_job(caller, JobRequest("evented", "events-q", "events-jd"))
        await asyncio.wait_for(finished.wait(), timeout=20)
    return job.job_id, events


def test_every_state_change_is_published_once_in_order(tmp_path: Path) -> None:
    job_id, events = asyncio.run(_scenario(tmp_path))
    mine = [event for event in events if event["jobId"] == job_id]
    assert [event["status"] for event in mine] == [
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
    ]
    final = mine[-1]
    assert final["jobArn"].endswith(f":job/{job_id}")
    assert final["attempts"][0]["container"]["exitCode"] == 0
    assert "logStreamName" in mine[3]["container"]
    # Snapshots are independent: an earlier event is not changed by later transitions.
    assert mine[0]["attempts"] == []
