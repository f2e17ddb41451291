"""Array and multi-node state changes on the runtime bus (``batch.job``): every child change
is announced (also those made with the parent alone, before the child has a row), the parent
once when it is released and once when its last child ended, with the final
``statusSummary``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from batchyard.batch.handlers.jobs import submit_job
from batchyard.batch.resources import compute_environments, job_definitions, job_queues
from batchyard.config import Settings
from batchyard.protocol.legacy import RequestContext
from batchyard.server.app import BatchyardApp


async def _resources(runtime: Any) -> None:
    ready = {"compute-environment": asyncio.Event(), "job-queue": asyncio.Event()}

    def on_resource(_topic: str, event: dict[str, Any]) -> None:
        if event["resource"] in ready and event.get("status") == "VALID":
            ready[event["resource"]].set()

    runtime.bus.subscribe("batch.resources", on_resource)
    await compute_environments.create(
        runtime,
        {
            "computeEnvironmentName": "arrays-ce",
            "type": "MANAGED",
            "computeResources": {"type": "EC2", "maxvCpus": 4, "subnets": ["subnet-1"]},
        },
    )
    await asyncio.wait_for(ready["compute-environment"].wait(), timeout=10)
    await job_queues.create(
        runtime,
        {
            "jobQueueName": "arrays-q",
            "priority": 1,
            "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "arrays-ce"}],
        },
    )
    await asyncio.wait_for(ready["job-queue"].wait(), timeout=10)
    container = {
        "image": "busybox",
        "command": ["true"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "16"}],
    }
    await job_definitions.register(
        runtime,
        {"jobDefinitionName": "arrays-jd", "type": "container", "containerProperties": container},
    )
    await job_definitions.register(
        runtime,
        {
            "jobDefinitionName": "nodes-jd",
            "type": "multinode",
            "nodeProperties": {
                "numNodes": 2,
                "mainNode": 0,
                "nodeRangeProperties": [{"targetNodes": "0:", "container": container}],
            },
        },
    )


async def _scenario(data_dir: Path) -> tuple[str, str, list[dict[str, Any]]]:
    app = BatchyardApp(Settings(data_dir=data_dir))
    await app.startup()
    runtime = app.runtime
    assert runtime is not None
    events: list[dict[str, Any]] = []
    ended: set[str] = set()
    both = asyncio.Event()

    def on_job(_topic: str, event: dict[str, Any]) -> None:
        events.append(event)
        whole = ":" not in event["jobId"] and "#" not in event["jobId"]
        if whole and event["status"] in ("SUCCEEDED", "FAILED"):
            ended.add(event["jobName"])
        if ended == {"arr", "mnp"}:
            both.set()

    runtime.bus.subscribe("batch.job", on_job)
    try:
        await _resources(runtime)
        context = RequestContext(runtime, "batch", "SubmitJob", "req", "us-east-1", "123456789012")
        array = await submit_job(
            context,
            {
                "jobName": "arr",
                "jobQueue": "arrays-q",
                "jobDefinition": "arrays-jd",
                "arrayProperties": {"size": 3},
            },
        )
        nodes = await submit_job(
            context, {"jobName": "mnp", "jobQueue": "arrays-q", "jobDefinition": "nodes-jd"}
        )
        await asyncio.wait_for(both.wait(), timeout=20)
    finally:
        await app.shutdown()
    return array["jobId"], nodes["jobId"], events


def test_array_and_node_state_changes_are_published(tmp_path: Path) -> None:
    parent, job, events = asyncio.run(_scenario(tmp_path))
    statuses = [e["status"] for e in events if e["jobId"] == parent]
    assert statuses == ["PENDING", "SUCCEEDED"]
    final = next(e for e in events if e["jobId"] == parent and e["status"] == "SUCCEEDED")
    assert final["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    for index in range(3):
        child = [e["status"] for e in events if e["jobId"] == f"{parent}:{index}"]
        assert child == ["PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]
    assert [e["status"] for e in events if e["jobId"] == job] == [
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
    ]
    main = [e["status"] for e in events if e["jobId"] == f"{job}#0"]
    assert main == ["STARTING", "RUNNING", "SUCCEEDED"]
    # The other node ends by itself or is stopped when the main node exits.
    other = [e["status"] for e in events if e["jobId"] == f"{job}#1"]
    assert other[:2] == ["STARTING", "RUNNING"]
    assert other[2:] in (["SUCCEEDED"], ["FAILED"])
