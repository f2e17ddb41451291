"""Job rows on a store connection: insert, load, save, and the scans start-up and the
listings need.

Loading an array child that has no row synthesizes it from its parent
(:func:`batchyard.batch.jobs.arrays.child`); saving it creates its row. Statements are built
once: one built per call costs more CPU than SQLite spends running it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.batch.jobs import arrays
from batchyard.batch.jobs.model import (
    CHILD_SEPARATOR,
    NODE_SEPARATOR,
    TERMINAL,
    Demand,
    Job,
    JobStatus,
    QueuedJob,
    split_child,
)
from batchyard.store.tables.batch_jobs import jobs
from batchyard.store.tables.batch_scheduling import consumable_demands

_COLUMNS = (jobs.c.seq, jobs.c.account_id, jobs.c.region, jobs.c.document, jobs.c.runtime)
_INSERT = jobs.insert()
_LOAD = sa.select(*_COLUMNS).where(jobs.c.job_id == sa.bindparam("wanted_id"))
_SAVE = jobs.update().where(jobs.c.job_id == sa.bindparam("wanted_id"))
_EXISTS = sa.select(jobs.c.job_id).where(jobs.c.job_id == sa.bindparam("wanted_id"))
_DEMANDS = consumable_demands.insert()


def _job(row: Sequence[Any]) -> Job:
    seq, account_id, region, document, runtime = row
    return Job.from_document(document, runtime, seq, account_id, region)


def definition_name(definition_arn: str) -> str:
    """The job definition's name, from its ARN."""
    return definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def insert(conn: Connection, job: Job, demand: Demand) -> None:
    """Store a newly submitted job (or the first change of an array child, a new node)."""
    conn.execute(
        _INSERT,
        {
            "job_id": job.job_id,
            "account_id": job.account_id,
            "region": job.region,
            "seq": job.seq,
            "name": job.job_name,
            "queue_arn": job.job_queue,
            "status": job.status.value,
            "created_at": job.created_at,
            "definition_name": definition_name(job.job_definition),
            "definition_arn": job.job_definition,
            "share_identifier": job.share_identifier,
            "vcpus": demand.vcpus,
            "memory": demand.memory,
            "gpus": demand.gpus,
            "nodes": demand.nodes,
            "document": job.to_document(),
            "runtime": job.runtime.to_document(),
            "stopped_at": job.stopped_at if job.status in TERMINAL else None,
        },
    )
    job.stored = True


def add_demands(conn: Connection, job: Job, needs: Iterable[tuple[str, int]]) -> None:
    """Record what a newly submitted job asks of each consumable resource (by name)."""
    rows = [
        {"resource_name": name, "job_seq": job.seq, "job_id": job.job_id, "quantity": quantity}
        for name, quantity in needs
    ]
    if rows:
        conn.execute(_DEMANDS, rows)


def load(conn: Connection, job_id: str) -> Job | None:
    """The job ``job_id`` (an array child without a row synthesized), or None."""
    row = conn.execute(_LOAD, {"wanted_id": job_id}).first()
    if row is None:
        return _unstored_child(conn, job_id)
    return _job(row)


def _unstored_child(conn: Connection, job_id: str) -> Job | None:
    member = split_child(job_id)
    if member is None:
        return None
    parent = load(conn, member[0])
    size = None if parent is None else parent.array_size
    if parent is None or size is None or member[1] >= size:
        return None
    return arrays.child(parent, member[1])


def save(conn: Connection, job: Job) -> None:
    """Write back a job changed in place (its status column follows the job)."""
    if not job.stored:
        insert(conn, job, Demand.of(job.container))
        return
    conn.execute(
        _SAVE,
        {
            "wanted_id": job.job_id,
            "status": job.status.value,
            "seq": job.seq,
            "document": job.to_document(),
            "runtime": job.runtime.to_document(),
            "stopped_at": job.stopped_at if job.status in TERMINAL else None,
        },
    )


def load_many(
    conn: Connection, job_ids: Iterable[str], caller: Caller | None = None
) -> dict[str, Job]:
    """The existing jobs among ``job_ids`` (array children too, of the caller's account and
    region when given), by id."""
    wanted = list(job_ids)
    if not wanted:
        return {}
    query = sa.select(jobs.c.job_id, *_COLUMNS).where(jobs.c.job_id.in_(wanted))
    if caller is not None:
        query = query.where(jobs.c.account_id == caller.account_id, jobs.c.region == caller.region)
    found = {row[0]: _job(row[1:]) for row in conn.execute(query)}
    for job_id in wanted:
        child = None if job_id in found else _unstored_child(conn, job_id)
        if child is not None and (caller is None or caller.owns(child.job_arn)):
            found[job_id] = child
    return found


def resolution(conn: Connection, dependencies: list[str]) -> JobStatus | list[str]:
    """Where a job waiting on ``dependencies`` stands: FAILED once one of them failed (or is
    gone), SUCCEEDED once all succeeded, else the ones it still waits for."""
    statuses = {job_id: job.status for job_id, job in load_many(conn, dependencies).items()}
    if any(statuses.get(d, JobStatus.FAILED) == JobStatus.FAILED for d in dependencies):
        return JobStatus.FAILED
    waiting = [d for d in dependencies if statuses[d] != JobStatus.SUCCEEDED]
    return waiting or JobStatus.SUCCEEDED


def exists(conn: Connection, job_id: str, caller: Caller | None = None) -> bool:
    """Whether job ``job_id`` exists (array children included; in the caller's account and
    region when given)."""
    if caller is None and conn.execute(_EXISTS, {"wanted_id": job_id}).first() is not None:
        return True
    return bool(load_many(conn, [job_id], caller))


def queued(conn: Connection, statuses: Iterable[JobStatus]) -> Iterator[QueuedJob]:
    """Jobs in ``statuses`` in FIFO order, without decoding their documents.

    Queue ARNs and demands repeat across jobs, so one object of each is shared; with a
    million jobs waiting that is most of their memory.
    """
    query = (
        sa.select(
            jobs.c.job_id, jobs.c.queue_arn, jobs.c.seq, jobs.c.vcpus, jobs.c.memory,
            jobs.c.gpus, jobs.c.nodes,
        )
        .where(jobs.c.status.in_([status.value for status in statuses]))
        .order_by(jobs.c.seq)
    )
    arns: dict[str, str] = {}
    demands: dict[tuple[float, int, int, int], Demand] = {}
    for job_id, queue_arn, seq, vcpus, memory, gpus, nodes in conn.execute(query):
        key = (vcpus, memory, gpus, nodes)
        demand = demands.get(key) or demands.setdefault(key, Demand(vcpus, memory, gpus, nodes))
        yield QueuedJob(job_id, arns.setdefault(queue_arn, queue_arn), seq, demand)


def in_statuses(conn: Connection, statuses: Iterable[JobStatus]) -> list[Job]:
    """Every job in ``statuses`` (start-up recovery of placed jobs), in FIFO order."""
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .where(jobs.c.status.in_([status.value for status in statuses]))
        .order_by(jobs.c.seq)
    )
    return [_job(row) for row in rows]


def _members(parent_id: str, separator: str) -> sa.ColumnElement[bool]:
    # Member ids sort between "<parent><separator>" and the next separator character.
    low, high = parent_id + separator, parent_id + chr(ord(separator) + 1)
    return (jobs.c.job_id > low) & (jobs.c.job_id < high)


def stored_children(conn: Connection, parent_id: str) -> dict[int, JobStatus]:
    """Status of each child of ``parent_id`` that has a row, by index."""
    rows = conn.execute(
        sa.select(jobs.c.job_id, jobs.c.status).where(_members(parent_id, CHILD_SEPARATOR))
    )
    found = {}
    for job_id, status in rows:
        member = split_child(job_id)
        if member is not None and member[0] == parent_id:
            found[member[1]] = JobStatus(status)
    return found


def children(conn: Connection, parent_id: str, indexes: Iterable[int]) -> dict[int, Job]:
    """The stored children of ``parent_id`` among ``indexes``, by index."""
    wanted = [f"{parent_id}{CHILD_SEPARATOR}{index}" for index in indexes]
    if not wanted:
        return {}
    rows = conn.execute(sa.select(jobs.c.job_id, *_COLUMNS).where(jobs.c.job_id.in_(wanted)))
    found = {}
    for row in rows:
        member = split_child(row[0])
        if member is not None:
            found[member[1]] = _job(row[1:])
    return found


def any_child_failed(conn: Connection, parent_id: str) -> bool:
    """Whether a stored child of ``parent_id`` FAILED."""
    query = sa.select(jobs.c.job_id).where(
        _members(parent_id, CHILD_SEPARATOR), jobs.c.status == JobStatus.FAILED.value
    )
    return conn.execute(query).first() is not None


def nodes(conn: Connection, job_id: str, status: JobStatus | None = None) -> list[Job]:
    """The node jobs of multi-node job ``job_id`` (in ``status`` when given), by index."""
    query = sa.select(*_COLUMNS).where(_members(job_id, NODE_SEPARATOR))
    if status is not None:
        query = query.where(jobs.c.status == status.value)
    found = [_job(row) for row in conn.execute(query)]
    return sorted(found, key=lambda node: node.node_details.node_index if node.node_details else 0)
