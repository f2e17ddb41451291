"""Array and multi-node state changes on the runtime bus (``batch.job``): every child change
is announced (also those made with the parent alone, before the child has a row), the parent
once when it is released and once when its last child ended, with the final
``statusSummary``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from batchyard.batch import JOB_TOPIC, JobRequest
from batchyard.batch.resources.model import JobDefinition
from tests.batch.jobs_support import CONTAINER, in_process_server, in_process_stack


async def _scenario(data_dir: Path) -> tuple[str, str, list[dict[str, Any]]]:
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

    async with in_process_server(data_dir) as (server, caller):
        server.bus.subscribe(JOB_TOPIC, on_job)
        batch = server.batch
        await in_process_stack(batch, caller, "arrays", max_vcpus=4)
        nodes = {
            "numNodes": 2,
            "mainNode": 0,
            "nodeRangeProperties": [{"targetNodes": "0:", "container": CONTAINER}],
        }
        await batch.register_job_definition(
            caller, JobDefinition("nodes-jd", "multinode", node_properties=nodes)
        )
        array = await batch.submit_job(
            caller, JobRequest("arr", "arrays-q", "arrays-jd", array_size=3)
        )
        job = await batch.submit_job(caller, JobRequest("mnp", "arrays-q", "nodes-jd"))
        await asyncio.wait_for(both.wait(), timeout=20)
    return array.job_id, job.job_id, events


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
