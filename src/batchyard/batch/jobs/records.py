"""Job rows on a store connection: insert, load, save, and the scans start-up needs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.arrays import children
from batchyard.batch.jobs.model import TERMINAL, Demand
from batchyard.store.tables.batch_jobs import jobs


@dataclass(slots=True)
class JobRecord:
    """A job's document and the server-side facts of its current attempt.

    ``stored`` is False for an array child synthesized from its parent: saving it creates
    its row.
    """

    job_id: str
    seq: int
    document: dict[str, Any]
    runtime: dict[str, Any]
    stored: bool = True

    @property
    def status(self) -> str:
        return str(self.document["status"])


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """The little the scheduler keeps in memory per waiting job."""

    job_id: str
    queue_arn: str
    seq: int
    demand: Demand


# Built once: a statement built per call costs more CPU than SQLite spends running it.
_INSERT = jobs.insert()
_LOAD = sa.select(jobs.c.job_id, jobs.c.seq, jobs.c.document, jobs.c.runtime).where(
    jobs.c.job_id == sa.bindparam("wanted_id")
)
_SAVE = jobs.update().where(jobs.c.job_id == sa.bindparam("wanted_id"))


def insert(
    conn: Connection,
    seq: int,
    document: dict[str, Any],
    demand: Demand,
    runtime: dict[str, Any] | None = None,
) -> None:
    """Store a newly submitted job (or the first change of an array child)."""
    definition = document["jobDefinition"].rsplit("/", 1)[-1].rsplit(":", 1)[0]
    conn.execute(
        _INSERT,
        {
            "job_id": document["jobId"],
            "seq": seq,
            "name": document["jobName"],
            "queue_arn": document["jobQueue"],
            "status": document["status"],
            "created_at": document["createdAt"],
            "definition_name": definition,
            "definition_arn": document["jobDefinition"],
            "share_identifier": document.get("shareIdentifier"),
            "vcpus": demand.vcpus,
            "memory": demand.memory,
            "gpus": demand.gpus,
            "document": document,
            "runtime": runtime or {},
            "stopped_at": _stopped_at(document),
        },
    )


def _stopped_at(document: dict[str, Any]) -> int | None:
    return document.get("stoppedAt") if document["status"] in TERMINAL else None


def load(conn: Connection, job_id: str) -> JobRecord | None:
    """The job ``job_id`` (an array child without a row synthesized), or None."""
    row = conn.execute(_LOAD, {"wanted_id": job_id}).first()
    if row is None:
        return _unstored_child(conn, job_id)
    return JobRecord(row.job_id, row.seq, dict(row.document), dict(row.runtime or {}))


def _unstored_child(conn: Connection, job_id: str) -> JobRecord | None:
    member = children.split(job_id)
    if member is None:
        return None
    parent = load(conn, member[0])
    size = None if parent is None else children.size_of(parent.document)
    if parent is None or size is None or member[1] >= size:
        return None
    document = children.document(parent.document, parent.runtime, member[1])
    runtime = children.implicit_runtime(parent.document, parent.runtime)
    return JobRecord(job_id, parent.seq, document, runtime, stored=False)


def save(conn: Connection, record: JobRecord) -> None:
    """Write back a record changed in place (its status column follows the document)."""
    if not record.stored:
        demand = Demand.of(record.document.get("container") or {})
        insert(conn, record.seq, record.document, demand, record.runtime)
        record.stored = True
        return
    conn.execute(
        _SAVE,
        {
            "wanted_id": record.job_id,
            "status": record.document["status"],
            "seq": record.seq,
            "document": record.document,
            "runtime": record.runtime,
            "stopped_at": _stopped_at(record.document),
        },
    )


def documents(conn: Connection, job_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Documents of the existing jobs among ``job_ids`` (array children too), by id."""
    wanted = list(job_ids)
    if not wanted:
        return {}
    rows = conn.execute(sa.select(jobs.c.job_id, jobs.c.document).where(jobs.c.job_id.in_(wanted)))
    found = {row.job_id: dict(row.document) for row in rows}
    for job_id in wanted:
        if job_id not in found and (child := _unstored_child(conn, job_id)) is not None:
            found[job_id] = child.document
    return found


def exists(conn: Connection, job_id: str) -> bool:
    """Whether job ``job_id`` exists (array children included)."""
    if conn.execute(sa.select(jobs.c.job_id).where(jobs.c.job_id == job_id)).first() is not None:
        return True
    return _unstored_child(conn, job_id) is not None


def queued(conn: Connection, statuses: Iterable[str]) -> Iterator[QueuedJob]:
    """Jobs in ``statuses`` in FIFO order, without decoding their documents.

    Queue ARNs and demands repeat across jobs, so one object of each is shared; with a
    million jobs waiting that is most of their memory.
    """
    query = (
        sa.select(
            jobs.c.job_id, jobs.c.queue_arn, jobs.c.seq, jobs.c.vcpus, jobs.c.memory, jobs.c.gpus
        )
        .where(jobs.c.status.in_(list(statuses)))
        .order_by(jobs.c.seq)
    )
    arns: dict[str, str] = {}
    demands: dict[tuple[float, int, int], Demand] = {}
    for job_id, queue_arn, seq, vcpus, memory, gpus in conn.execute(query):
        key = (vcpus, memory, gpus)
        demand = demands.get(key) or demands.setdefault(key, Demand(vcpus, memory, gpus))
        yield QueuedJob(job_id, arns.setdefault(queue_arn, queue_arn), seq, demand)


def records_in(conn: Connection, statuses: Iterable[str]) -> list[JobRecord]:
    """Full records of the jobs in ``statuses`` (start-up recovery of placed jobs)."""
    rows = conn.execute(
        sa.select(jobs.c.job_id, jobs.c.seq, jobs.c.document, jobs.c.runtime)
        .where(jobs.c.status.in_(list(statuses)))
        .order_by(jobs.c.seq)
    )
    return [JobRecord(r.job_id, r.seq, dict(r.document), dict(r.runtime or {})) for r in rows]
