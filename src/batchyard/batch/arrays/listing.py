"""What DescribeJobs and ListJobs show of arrays: a parent's ``statusSummary`` and the
children of ``ListJobs(arrayJobId=...)``.

Both are read from the rows children already have plus the parent's record for the rest, in
one read, so the counts always add up to the array's size.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.arrays import children
from batchyard.batch.arrays.admission import stored_children
from batchyard.batch.jobs import records
from batchyard.batch.jobs.model import (
    FAILED,
    PENDING,
    RUNNABLE,
    RUNNING,
    STARTING,
    SUBMITTED,
    SUCCEEDED,
    Demand,
)
from batchyard.batch.resources.names import client_error
from batchyard.store.tables.batch_jobs import jobs

STATUSES = (SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED)
MAX_PAGE = 1000
TOKEN_KIND = "children"

Summarize = Callable[[dict[str, Any], float], dict[str, Any]]


def top_level() -> Any:
    """The condition that keeps array children and multi-node nodes out of queue listings."""
    return sa.and_(~jobs.c.job_id.contains(children.SEPARATOR), ~jobs.c.job_id.contains("#"))


def status_summary(conn: Connection, record: records.JobRecord) -> dict[str, int]:
    """How many children of the array ``record`` are in each status."""
    size = children.size_of(record.document) or 0
    counts = dict.fromkeys(STATUSES, 0)
    stored = stored_children(conn, record.job_id)
    for status in stored.values():
        counts[status] += 1
    implicit = children.implicit_state(record.document, record.runtime)[0]
    counts[implicit] += size - len(stored)
    return counts


def present(conn: Connection, document: dict[str, Any]) -> None:
    """Shape a described document's ``arrayProperties`` as AWS does: ``size`` and
    ``statusSummary`` on a parent, ``index`` alone on a child (which keeps the size only
    for its environment)."""
    properties = document.get("arrayProperties")
    if not properties:
        return
    if "index" in properties:
        document["arrayProperties"] = {"index": properties["index"]}
        return
    record = records.load(conn, document["jobId"])
    if record is not None:
        properties["statusSummary"] = status_summary(conn, record)


def _encode(index: int) -> str:
    return base64.urlsafe_b64encode(f"{TOKEN_KIND}:{index}".encode()).decode()


def _decode(token: str | None) -> int:
    if token is None:
        return -1
    try:
        kind, _, index = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        kind, index = "", ""
    if kind != TOKEN_KIND or not index.isdigit():
        raise client_error("Invalid nextToken.")
    return int(index)


def list_children(conn: Connection, params: dict[str, Any], summarize: Summarize) -> dict[str, Any]:
    """One page of ``ListJobs(arrayJobId=...)``: the children in ``jobStatus`` (default
    RUNNING), by index. Filters do not apply to children."""
    parent = records.load(conn, params["arrayJobId"])
    size = None if parent is None else children.size_of(parent.document)
    if parent is None or size is None:
        return {"jobSummaryList": []}
    wanted = params.get("jobStatus") or RUNNING
    limit = min(params.get("maxResults") or MAX_PAGE, MAX_PAGE)
    stored = stored_children(conn, parent.job_id)
    implicit = children.implicit_state(parent.document, parent.runtime)[0]
    page: list[int] = []
    more = False
    for index in range(_decode(params.get("nextToken")) + 1, size):
        if stored.get(index, implicit) != wanted:
            continue
        if len(page) == limit:
            more = True
            break
        page.append(index)
    ids = [children.child_id(parent.job_id, i) for i in page if i in stored]
    rows = conn.execute(sa.select(jobs.c.job_id, jobs.c.document).where(jobs.c.job_id.in_(ids)))
    found = {row.job_id: dict(row.document) for row in rows}
    summaries = []
    for index in page:
        child_id = children.child_id(parent.job_id, index)
        document = found.get(child_id) or children.document(
            dict(parent.document), parent.runtime, index
        )
        vcpus = Demand.of(document.get("container") or {}).vcpus
        summaries.append(summarize(document, vcpus))
    return {"jobSummaryList": summaries, "nextToken": _encode(page[-1]) if more else None}
