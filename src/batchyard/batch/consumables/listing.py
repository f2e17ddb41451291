"""ListJobsByConsumableResource: the jobs that ask for a resource, newest demand last."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.consumables.resources import matches
from batchyard.batch.jobs.model import (
    FAILED,
    PENDING,
    RUNNABLE,
    RUNNING,
    STARTING,
    SUBMITTED,
    SUCCEEDED,
)
from batchyard.batch.resources.names import client_error
from batchyard.batch.resources.pagination import decode_token, page_size, paginate
from batchyard.store.tables.batch_jobs import jobs
from batchyard.store.tables.batch_scheduling import consumable_demands

LISTING = "ListJobsByConsumableResource"
STATUSES = (SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED)


def _filters(params: dict[str, Any]) -> tuple[list[str], list[str]]:
    statuses: list[str] = []
    names: list[str] = []
    for entry in params.get("filters") or []:
        values = entry.get("values") or []
        if entry.get("name") == "JOB_STATUS":
            for value in values:
                if value not in STATUSES:
                    raise client_error(f"Invalid JOB_STATUS filter value {value}.")
            statuses.extend(values)
        elif entry.get("name") == "JOB_NAME":
            names.extend(values)
        else:
            raise client_error(
                f"Invalid filter name {entry.get('name')}; use JOB_STATUS or JOB_NAME."
            )
    return statuses, names


def list_jobs(conn: Connection, resource_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """One page of the jobs needing ``resource_name``."""
    size = page_size(params.get("maxResults"))
    after = decode_token(LISTING, params.get("nextToken"))
    statuses, names = _filters(params)
    query = (
        sa.select(consumable_demands.c.job_seq, consumable_demands.c.quantity, jobs.c.document)
        .join(jobs, jobs.c.job_id == consumable_demands.c.job_id)
        .where(consumable_demands.c.resource_name == resource_name)
        .order_by(consumable_demands.c.job_seq)
    )
    if after is not None:
        query = query.where(consumable_demands.c.job_seq > after)
    if statuses:
        query = query.where(jobs.c.status.in_(statuses))
    rows: list[tuple[int, dict[str, Any]]] = []
    for seq, quantity, document in conn.execute(query):
        if names and not matches(document["jobName"], names):
            continue
        rows.append((seq, _summary(document, quantity)))
        if len(rows) > size:
            break
    page, token = paginate(LISTING, rows, size)
    result: dict[str, Any] = {"jobs": page}
    if token:
        result["nextToken"] = token
    return result


def _summary(document: dict[str, Any], quantity: int) -> dict[str, Any]:
    summary = {
        "jobArn": document["jobArn"],
        "jobQueueArn": document["jobQueue"],
        "jobName": document["jobName"],
        "jobDefinitionArn": document.get("jobDefinition"),
        "shareIdentifier": document.get("shareIdentifier"),
        "jobStatus": document["status"],
        "quantity": quantity,
        "statusReason": document.get("statusReason"),
        "startedAt": document.get("startedAt"),
        "createdAt": document["createdAt"],
        "consumableResourceProperties": document.get("consumableResourceProperties") or {},
    }
    return {k: v for k, v in summary.items() if v is not None}
