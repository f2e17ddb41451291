"""DescribeJobs and ListJobs on a store connection.

ListJobs follows the API reference: exactly one of ``jobQueue`` / ``arrayJobId`` /
``multiNodeJobId``; without filters it lists one status (RUNNING by default) oldest first, up
to 1000 a page; with a filter (one at a time) ``jobStatus`` is ignored — except for
SHARE_IDENTIFIER — and results come newest first, up to 100 a page. JOB_NAME matches case-
insensitively, JOB_DEFINITION case-sensitively; a trailing ``*`` makes either a prefix match;
a definition name matches all its revisions, an ARN exactly one. Pagination is keyset on the
FIFO position, so deep pages cost the same as the first.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.arrays import listing as array_listing
from batchyard.batch.jobs import records
from batchyard.batch.jobs.model import RUNNING
from batchyard.batch.multinode import listing as node_listing
from batchyard.batch.resources import job_queues, tags
from batchyard.batch.resources.names import client_error, is_arn
from batchyard.store.tables.batch_jobs import jobs

MAX_DESCRIBE = 100
MAX_PAGE = 1000
MAX_FILTERED_PAGE = 100
FILTERS = (
    "JOB_NAME",
    "JOB_DEFINITION",
    "BEFORE_CREATED_AT",
    "AFTER_CREATED_AT",
    "SHARE_IDENTIFIER",
)
SUMMARY_FIELDS = (
    "jobArn",
    "jobId",
    "jobName",
    "createdAt",
    "status",
    "statusReason",
    "startedAt",
    "stoppedAt",
    "jobDefinition",
    "shareIdentifier",
    "isCancelled",
    "isTerminated",
)


def describe(conn: Connection, job_ids: list[str]) -> list[dict[str, Any]]:
    """The documents of the existing jobs among ``job_ids``, in request order."""
    if len(job_ids) > MAX_DESCRIBE:
        raise client_error(f"A maximum of {MAX_DESCRIBE} jobs can be described at once.")
    found = records.documents(conn, job_ids)
    current_tags = tags.tags_of(conn, [d["jobArn"] for d in found.values()])
    result = []
    for job_id in dict.fromkeys(job_ids):
        document = found.get(job_id)
        if document is not None:
            document["tags"] = current_tags.get(document["jobArn"], {})
            array_listing.present(conn, document)
            result.append(document)
    return result


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"jobs:{seq}".encode()).decode()


def _decode(token: str | None) -> int | None:
    if token is None:
        return None
    try:
        kind, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        kind, seq = "", ""
    if kind != "jobs" or not seq.lstrip("-").isdigit():
        raise client_error("Invalid nextToken.")
    return int(seq)


def _like_prefix(column: Any, value: str) -> Any:
    return column.startswith(value, autoescape=True)


def _filter_condition(name: str, values: list[str]) -> Any:
    conditions = []
    for value in values:
        if name == "JOB_NAME":
            if value.endswith("*"):
                conditions.append(_like_prefix(sa.func.lower(jobs.c.name), value[:-1].lower()))
            else:
                conditions.append(sa.func.lower(jobs.c.name) == value.lower())
        elif name == "JOB_DEFINITION":
            if is_arn(value):
                if "*" in value:
                    raise client_error("A wildcard (*) can't be used with a job definition ARN.")
                conditions.append(jobs.c.definition_arn == value)
            elif value.endswith("*"):
                conditions.append(_like_prefix(jobs.c.definition_name, value[:-1]))
            else:
                conditions.append(jobs.c.definition_name == value)
        elif name == "SHARE_IDENTIFIER":
            if value.endswith("*"):
                conditions.append(_like_prefix(jobs.c.share_identifier, value[:-1]))
            else:
                conditions.append(jobs.c.share_identifier == value)
        else:
            if not value.isdigit():
                raise client_error(
                    f"The {name} filter value must be a Unix timestamp in milliseconds."
                )
            if name == "BEFORE_CREATED_AT":
                conditions.append(jobs.c.created_at < int(value))
            else:
                conditions.append(jobs.c.created_at > int(value))
    return sa.or_(*conditions)


def summary(document: dict[str, Any], vcpus: float) -> dict[str, Any]:
    """The JobSummary of a job document."""
    result = {k: document[k] for k in SUMMARY_FIELDS if document.get(k) is not None}
    container = document.get("container") or {}
    result["container"] = {k: container[k] for k in ("exitCode", "reason") if k in container}
    result["capacityUsage"] = [{"capacityUnit": "vCPU", "quantity": vcpus}]
    array = document.get("arrayProperties") or {}
    if array:
        key = "index" if "index" in array else "size"
        result["arrayProperties"] = {key: array[key]}
    node = node_listing.node_summary(document)
    if node is not None:
        result["nodeProperties"] = node
    return result


def list_jobs(conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
    """One ListJobs page."""
    scopes = [k for k in ("jobQueue", "arrayJobId", "multiNodeJobId") if params.get(k)]
    if len(scopes) != 1:
        raise client_error(
            "Exactly one of jobQueue, arrayJobId or multiNodeJobId must be specified."
        )
    filters = params.get("filters") or []
    if len(filters) > 1:
        raise client_error("Only one filter can be specified at a time.")
    for entry in filters:
        if entry.get("name") not in FILTERS:
            raise client_error(
                f"Invalid filter name {entry.get('name')}. Valid names: {', '.join(FILTERS)}."
            )
        if not entry.get("values"):
            raise client_error(f"The {entry['name']} filter needs at least one value.")
    if scopes[0] == "arrayJobId":
        return array_listing.list_children(conn, params, summary)
    if scopes[0] == "multiNodeJobId":
        return node_listing.list_nodes(conn, params, summary)
    queue = job_queues.get(conn, params["jobQueue"])
    if queue is None:
        raise client_error(f"Job Queue {params['jobQueue']} does not exist.")
    filtered = bool(filters) and filters[0]["name"] != "SHARE_IDENTIFIER"
    limit = params.get("maxResults") or (MAX_FILTERED_PAGE if filtered else MAX_PAGE)
    limit = min(limit, MAX_FILTERED_PAGE if filtered else MAX_PAGE)
    query = sa.select(jobs.c.seq, jobs.c.document, jobs.c.vcpus).where(
        jobs.c.queue_arn == queue["jobQueueArn"], array_listing.top_level()
    )
    if not filtered:
        query = query.where(jobs.c.status == (params.get("jobStatus") or RUNNING))
    if filters:
        query = query.where(_filter_condition(filters[0]["name"], filters[0]["values"]))
    after = _decode(params.get("nextToken"))
    if filtered:
        if after is not None:
            query = query.where(jobs.c.seq < after)
        query = query.order_by(jobs.c.seq.desc())
    else:
        if after is not None:
            query = query.where(jobs.c.seq > after)
        query = query.order_by(jobs.c.seq)
    rows = list(conn.execute(query.limit(limit + 1)))
    page = rows[:limit]
    return {
        "jobSummaryList": [summary(dict(row.document), row.vcpus) for row in page],
        "nextToken": _encode(page[-1].seq) if len(rows) > limit else None,
    }
