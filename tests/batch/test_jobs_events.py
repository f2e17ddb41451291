"""Each job state change is published once on the runtime bus (topic ``batch.job``) with the
DescribeJobs-shaped job, in lifecycle order; the submission itself is not announced."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from batchyard.aws.caller import Caller
from batchyard.batch import JOB_TOPIC, JobRequest
from batchyard.config import Settings
from batchyard.server.app import BatchyardApp
from tests.batch.jobs_support import in_process_stack


async def _scenario(data_dir: Path) -> tuple[str, list[dict[str, Any]]]:
    settings = Settings(data_dir=data_dir)
    app = BatchyardApp(settings)
    await app.startup()
    assert app.server is not None
    batch = app.server.batch
    caller = Caller(settings.account_id, settings.region)
    events: list[dict[str, Any]] = []
    finished = asyncio.Event()

    def on_job(_topic: str, event: dict[str, Any]) -> None:
        events.append(event)
        if event["status"] in ("SUCCEEDED", "FAILED"):
            finished.set()

    app.server.bus.subscribe(JOB_TOPIC, on_job)
    try:
        await in_process_stack(batch, caller, "events", max_vcpus=2)
        job = await batch.submit_job(
            caller, JobRequest("evented", "events-q", "events-jd")
        )
        await asyncio.wait_for(finished.wait(), timeout=20)
    finally:
        await app.shutdown()
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
