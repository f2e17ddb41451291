"""DescribeJobs, ListJobs and ListJobsByConsumableResource on a store connection.

ListJobs follows the API reference: exactly one of ``jobQueue`` / ``arrayJobId`` /
``multiNodeJobId``; without filters it lists one status (RUNNING by default) oldest first, up
to 1000 a page; with a filter (one at a time) ``jobStatus`` is ignored — except for
SHARE_IDENTIFIER — and results come newest first, up to 100 a page. JOB_NAME matches case-
insensitively, JOB_DEFINITION case-sensitively; a trailing ``*`` makes either a prefix match;
a definition name matches all its revisions, an ARN exactly one. Pagination is keyset on the
FIFO position, so deep pages cost the same as the first. An array's children are listed by
index (filters do not apply to them), a multi-node job's nodes all in one page. Everything is
looked up in the caller's account and region only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.batch.errors import PAGER, client_error, page_size
from batchyard.batch.jobs import arrays, records
from batchyard.batch.jobs.model import (
    CHILD_SEPARATOR,
    NODE_SEPARATOR,
    RUNNING,
    ArrayProperties,
    Demand,
    Job,
    JobStatus,
)
from batchyard.batch.resources import consumable_resources, job_queues
from batchyard.batch.resources.store import ResourceTags
from batchyard.store.tables.batch_jobs import jobs
from batchyard.store.tables.batch_scheduling import consumable_demands

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
BY_RESOURCE = "ListJobsByConsumableResource"
# The ``filters`` of a listing: (name, values) pairs.
Filters = list[tuple[str, list[str]]]


@dataclass(frozen=True, slots=True)
class CapacityUsage:
    """What a job holds of a capacity unit."""

    capacity_unit: str
    quantity: float


@dataclass(frozen=True, slots=True)
class ContainerSummary:
    """A job's last exit code and reason."""

    exit_code: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class NodePropertiesSummary:
    """A multi-node job's node count, and a node's place among them."""

    num_nodes: int
    is_main_node: bool | None = None
    node_index: int | None = None


@dataclass(frozen=True, slots=True)
class JobSummary:
    """One job as ListJobs shows it."""

    job_arn: str
    job_id: str
    job_name: str
    created_at: int
    status: JobStatus
    job_definition: str
    container: ContainerSummary
    capacity_usage: list[CapacityUsage]
    status_reason: str | None = None
    started_at: int | None = None
    stopped_at: int | None = None
    share_identifier: str | None = None
    is_cancelled: bool | None = None
    is_terminated: bool | None = None
    array_properties: ArrayProperties | None = None
    node_properties: NodePropertiesSummary | None = None

    @classmethod
    def of(cls, job: Job, vcpus: float) -> JobSummary:
        """The summary of ``job``, which holds ``vcpus`` while placed."""
        array = job.array_properties
        array_summary = None
        if array is not None:
            # A child is shown its index, a parent its size.
            array_summary = (
                ArrayProperties(index=array.index)
                if array.index is not None
                else ArrayProperties(size=array.size)
            )
        node_summary = None
        if job.node_properties is not None:
            details = job.node_details
            node_summary = NodePropertiesSummary(
                job.node_properties["numNodes"],
                details.is_main_node if details else None,
                details.node_index if details else None,
            )
        return cls(
            job.job_arn,
            job.job_id,
            job.job_name,
            job.created_at,
            job.status,
            job.job_definition,
            ContainerSummary(job.exit_code, job.exit_reason),
            [CapacityUsage("vCPU", vcpus)],
            job.status_reason,
            job.started_at,
            job.stopped_at,
            job.share_identifier,
            job.is_cancelled,
            job.is_terminated,
            array_summary,
            node_summary,
        )


@dataclass(frozen=True, slots=True)
class ResourceJobSummary:
    """One job as ListJobsByConsumableResource shows it."""

    job_arn: str
    job_queue_arn: str
    job_name: str
    job_status: JobStatus
    quantity: int
    created_at: int
    consumable_resource_properties: JsonObject
    job_definition_arn: str | None = None
    share_identifier: str | None = None
    status_reason: str | None = None
    started_at: int | None = None


def status_summary(conn: Connection, parent: Job) -> dict[str, int]:
    """How many children of the array ``parent`` are in each status."""
    counts = dict.fromkeys(JobStatus, 0)
    stored = records.stored_children(conn, parent.job_id)
    for status in stored.values():
        counts[status] += 1
    counts[arrays.implicit_state(parent).status] += (parent.array_size or 0) - len(stored)
    return {str(status): count for status, count in counts.items()}


def counts(conn: Connection) -> list[tuple[str, str, int]]:
    """``(queue ARN, status, rows)`` over every account and region, in one GROUP BY that the
    queue-and-status index answers: stored jobs, array children with a row of their own and
    the nodes of multi-node jobs."""
    query = sa.select(jobs.c.queue_arn, jobs.c.status, sa.func.count()).group_by(
        jobs.c.queue_arn, jobs.c.status
    )
    return [(queue, status, count) for queue, status, count in conn.execute(query)]


def describe(
    conn: Connection, caller: Caller, job_ids: list[str], tags: ResourceTags
) -> list[Job]:
    """The existing jobs among ``job_ids``, in request order, with their current tags and an
    array's ``statusSummary``."""
    if len(job_ids) > MAX_DESCRIBE:
        raise client_error(f"A maximum of {MAX_DESCRIBE} jobs can be described at once.")
    found = records.load_many(conn, job_ids, caller)
    current = tags.get_many(conn, [job.job_arn for job in found.values()])
    result = []
    for job_id in dict.fromkeys(job_ids):
        job = found.get(job_id)
        if job is not None:
            job.tags = current.get(job.job_arn, {})
            if job.array_size is not None and job.array_properties is not None:
                job.array_properties.status_summary = status_summary(conn, job)
            result.append(job)
    return result


def _prefix(column: Any, value: str) -> Any:
    return column.startswith(value, autoescape=True)


def _filter_condition(name: str, values: list[str]) -> Any:
    conditions = []
    for value in values:
        if name == "JOB_NAME":
            if value.endswith("*"):
                conditions.append(_prefix(sa.func.lower(jobs.c.name), value[:-1].lower()))
            else:
                conditions.append(sa.func.lower(jobs.c.name) == value.lower())
        elif name == "JOB_DEFINITION":
            if value.startswith("arn:"):
                if "*" in value:
                    raise client_error("A wildcard (*) can't be used with a job definition ARN.")
                conditions.append(jobs.c.definition_arn == value)
            elif value.endswith("*"):
                conditions.append(_prefix(jobs.c.definition_name, value[:-1]))
            else:
                conditions.append(jobs.c.definition_name == value)
        elif name == "SHARE_IDENTIFIER":
            if value.endswith("*"):
                conditions.append(_prefix(jobs.c.share_identifier, value[:-1]))
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


def _top_level() -> Any:
    """Array children and multi-node nodes stay out of queue listings."""
    return sa.and_(
        ~jobs.c.job_id.contains(CHILD_SEPARATOR), ~jobs.c.job_id.contains(NODE_SEPARATOR)
    )


def list_jobs(
    conn: Connection,
    caller: Caller,
    job_queue: str | None,
    array_job_id: str | None,
    multi_node_job_id: str | None,
    job_status: JobStatus | None,
    filters: Filters,
    max_results: int | None,
    token: str | None,
) -> tuple[list[JobSummary], str | None]:
    """One ListJobs page and the token of the next."""
    scopes = [scope for scope in (job_queue, array_job_id, multi_node_job_id) if scope]
    if len(scopes) != 1:
        raise client_error(
            "Exactly one of jobQueue, arrayJobId or multiNodeJobId must be specified."
        )
    if len(filters) > 1:
        raise client_error("Only one filter can be specified at a time.")
    for name, values in filters:
        if name not in FILTERS:
            raise client_error(f"Invalid filter name {name}. Valid names: {', '.join(FILTERS)}.")
        if not values:
            raise client_error(f"The {name} filter needs at least one value.")
    wanted = job_status or RUNNING
    if array_job_id:
        return _children(conn, caller, array_job_id, wanted, max_results, token)
    if multi_node_job_id:
        return _nodes(conn, caller, multi_node_job_id, wanted), None
    assert job_queue is not None
    queue = job_queues.get(conn, caller, job_queue)
    if queue is None:
        raise client_error(f"Job Queue {job_queue} does not exist.")
    filtered = bool(filters) and filters[0][0] != "SHARE_IDENTIFIER"
    limit = MAX_FILTERED_PAGE if filtered else MAX_PAGE
    limit = min(max_results or limit, limit)
    query = sa.select(
        jobs.c.seq, jobs.c.account_id, jobs.c.region, jobs.c.document, jobs.c.runtime, jobs.c.vcpus
    ).where(jobs.c.queue_arn == queue.arn, _top_level())
    if not filtered:
        query = query.where(jobs.c.status == wanted.value)
    if filters:
        query = query.where(_filter_condition(*filters[0]))
    after = PAGER.decode_int("ListJobs", token)
    if filtered:
        if after is not None:
            query = query.where(jobs.c.seq < after)
        query = query.order_by(jobs.c.seq.desc())
    else:
        if after is not None:
            query = query.where(jobs.c.seq > after)
        query = query.order_by(jobs.c.seq)
    rows = [
        (seq, JobSummary.of(Job.from_document(document, runtime, seq, account, region), vcpus))
        for seq, account, region, document, runtime, vcpus in conn.execute(query.limit(limit + 1))
    ]
    return PAGER.keyed_page("ListJobs", rows, limit)


def _children(
    conn: Connection,
    caller: Caller,
    parent_id: str,
    wanted: JobStatus,
    max_results: int | None,
    token: str | None,
) -> tuple[list[JobSummary], str | None]:
    """The children of array ``parent_id`` in ``wanted``, by index."""
    parent = records.load_many(conn, [parent_id], caller).get(parent_id)
    size = None if parent is None else parent.array_size
    if parent is None or size is None:
        return [], None
    limit = min(max_results or MAX_PAGE, MAX_PAGE)
    stored = records.stored_children(conn, parent.job_id)
    implicit = arrays.implicit_state(parent).status
    after = PAGER.decode_int("ListJobs:children", token)
    page: list[int] = []
    more = False
    for index in range(0 if after is None else after + 1, size):
        if stored.get(index, implicit) != wanted:
            continue
        if len(page) == limit:
            more = True
            break
        page.append(index)
    found = records.children(conn, parent.job_id, (i for i in page if i in stored))
    summaries = []
    for index in page:
        child = found.get(index) or arrays.child(parent, index)
        summaries.append(JobSummary.of(child, Demand.of(child.container).vcpus))
    return summaries, PAGER.encode("ListJobs:children", page[-1]) if more else None


def _nodes(conn: Connection, caller: Caller, job_id: str, wanted: JobStatus) -> list[JobSummary]:
    """The nodes of multi-node job ``job_id`` in ``wanted``, all in one page."""
    job = records.load_many(conn, [job_id], caller).get(job_id)
    if job is None or not job.is_multinode:
        return []
    return [
        JobSummary.of(node, Demand.of(node.container).vcpus)
        for node in records.nodes(conn, job_id, wanted)
    ]


def _resource_filters(filters: Filters) -> tuple[list[str], list[str]]:
    statuses: list[str] = []
    names: list[str] = []
    for name, values in filters:
        if name == "JOB_STATUS":
            for value in values:
                if value not in tuple(JobStatus):
                    raise client_error(f"Invalid JOB_STATUS filter value {value}.")
            statuses.extend(values)
        elif name == "JOB_NAME":
            names.extend(values)
        else:
            raise client_error(f"Invalid filter name {name}; use JOB_STATUS or JOB_NAME.")
    return statuses, names


def jobs_by_resource(
    conn: Connection,
    caller: Caller,
    resource_name: str,
    filters: Filters,
    max_results: int | None,
    token: str | None,
) -> tuple[list[ResourceJobSummary], str | None]:
    """One page of the jobs of the caller's that need consumable resource
    ``resource_name``, oldest demand first."""
    size = page_size(max_results)
    after = PAGER.decode_int(BY_RESOURCE, token)
    statuses, names = _resource_filters(filters)
    query = (
        sa.select(consumable_demands.c.job_seq, consumable_demands.c.quantity, jobs.c.document)
        .join(jobs, jobs.c.job_id == consumable_demands.c.job_id)
        .where(
            consumable_demands.c.resource_name == resource_name,
            jobs.c.account_id == caller.account_id,
            jobs.c.region == caller.region,
        )
        .order_by(consumable_demands.c.job_seq)
    )
    if after is not None:
        query = query.where(consumable_demands.c.job_seq > after)
    if statuses:
        query = query.where(jobs.c.status.in_(statuses))
    rows: list[tuple[int, ResourceJobSummary]] = []
    for seq, quantity, document in conn.execute(query):
        if names and not consumable_resources.matches(document["jobName"], names):
            continue
        rows.append(
            (
                seq,
                ResourceJobSummary(
                    document["jobArn"],
                    document["jobQueue"],
                    document["jobName"],
                    JobStatus(document["status"]),
                    quantity,
                    document["createdAt"],
                    document.get("consumableResourceProperties") or {},
                    document.get("jobDefinition"),
                    document.get("shareIdentifier"),
                    document.get("statusReason"),
                    document.get("startedAt"),
                ),
            )
        )
        if len(rows) > size:
            break
    return PAGER.keyed_page(BY_RESOURCE, rows, size)

