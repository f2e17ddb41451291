"""Each job state change is published once on the runtime bus (topic ``batch.job``) with the
DescribeJobs-shaped job, in lifecycle order; the submission itself is not announced."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from batchyard.batch.handlers.jobs import submit_job
from batchyard.batch.resources import compute_environments, job_definitions, job_queues
from batchyard.config import Settings
from batchyard.protocol.legacy import RequestContext
from batchyard.server.app import BatchyardApp


async def _scenario(data_dir: Path) -> tuple[str, list[dict[str, Any]]]:
    app = BatchyardApp(Settings(data_dir=data_dir))
    await app.startup()
    runtime = app.runtime
    assert runtime is not None
    events: list[dict[str, Any]] = []
    finished = asyncio.Event()
    ready = {"compute-environment": asyncio.Event(), "job-queue": asyncio.Event()}

    def on_job(_topic: str, event: dict[str, Any]) -> None:
        events.append(event)
        if event["status"] in ("SUCCEEDED", "FAILED"):
            finished.set()

    def on_resource(_topic: str, event: dict[str, Any]) -> None:
        if event["resource"] in ready and event.get("status") == "VALID":
            ready[event["resource"]].set()

    runtime.bus.subscribe("batch.job", on_job)
    runtime.bus.subscribe("batch.resources", on_resource)
    try:
        await compute_environments.create(
            runtime,
            {
                "computeEnvironmentName": "events-ce",
                "type": "MANAGED",
                "computeResources": {"type": "EC2", "maxvCpus": 2, "subnets": ["subnet-1"]},
            },
        )
        await asyncio.wait_for(ready["compute-environment"].wait(), timeout=10)
        await job_queues.create(
            runtime,
            {
                "jobQueueName": "events-q",
                "priority": 1,
                "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "events-ce"}],
            },
        )
        await asyncio.wait_for(ready["job-queue"].wait(), timeout=10)
        await job_definitions.register(
            runtime,
            {
                "jobDefinitionName": "events-jd",
                "type": "container",
                "containerProperties": {
                    "image": "busybox",
                    "command": ["true"],
                    "resourceRequirements": [
                        {"type": "VCPU", "value": "1"},
                        {"type": "MEMORY", "value": "16"},
                    ],
                },
            },
        )
        context = RequestContext(runtime, "batch", "SubmitJob", "req", "us-east-1", "123456789012")
        answer = await submit_job(
            context, {"jobName": "evented", "jobQueue": "events-q", "jobDefinition": "events-jd"}
        )
        await asyncio.wait_for(finished.wait(), timeout=20)
    finally:
        await app.shutdown()
    return answer["jobId"], events


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
