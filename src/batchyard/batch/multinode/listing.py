"""ListJobs ``multiNodeJobId``: the node jobs of a multi-node parallel job, by node index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.jobs import records
from batchyard.batch.jobs.model import RUNNING, Demand
from batchyard.batch.multinode import nodes
from batchyard.store.tables.batch_jobs import jobs

Summarize = Callable[[dict[str, Any], float], dict[str, Any]]


def node_summary(document: dict[str, Any]) -> dict[str, Any] | None:
    """JobSummary ``nodeProperties`` of a multi-node job or one of its nodes."""
    details = document.get("nodeDetails")
    properties = document.get("nodeProperties")
    if properties is None:
        return None
    summary: dict[str, Any] = {"numNodes": properties["numNodes"]}
    if details is not None:
        summary.update(isMainNode=details["isMainNode"], nodeIndex=details["nodeIndex"])
    return summary


def list_nodes(conn: Connection, params: dict[str, Any], summarize: Summarize) -> dict[str, Any]:
    """The nodes of ``multiNodeJobId`` in ``jobStatus`` (default RUNNING), all in one page."""
    job_id = params["multiNodeJobId"]
    job = records.load(conn, job_id)
    if job is None or not nodes.is_multinode(job.document):
        return {"jobSummaryList": []}
    wanted = params.get("jobStatus") or RUNNING
    low, high = job_id + nodes.SEPARATOR, job_id + chr(ord(nodes.SEPARATOR) + 1)
    rows = conn.execute(
        sa.select(jobs.c.job_id, jobs.c.document).where(
            jobs.c.job_id > low, jobs.c.job_id < high, jobs.c.status == wanted
        )
    )
    found = sorted(
        (dict(row.document) for row in rows),
        key=lambda document: document["nodeDetails"]["nodeIndex"],
    )
    return {
        "jobSummaryList": [
            summarize(document, Demand.of(document.get("container") or {}).vcpus)
            for document in found
        ]
    }
