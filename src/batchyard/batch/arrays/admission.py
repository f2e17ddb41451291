"""Admitting array jobs, in the store writer: an array parent waits for its own
dependencies like any job, then is *released*: it turns PENDING for good and its children
may run. Children never wait for admission before their parent is released.

Releasing (and re-releasing after a restart, which is the same computation) reads only the
rows children already have, so it costs nothing for a fresh 10,000-child array.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.arrays import children
from batchyard.batch.arrays.announcements import ChildChanges
from batchyard.batch.jobs import records, transitions
from batchyard.batch.jobs.attempts import now_ms
from batchyard.batch.jobs.events import Snapshot
from batchyard.batch.jobs.model import (
    DEPENDENCY_FAILED,
    FAILED,
    SUBMITTED,
    SUCCEEDED,
    TERMINAL,
    Demand,
)
from batchyard.batch.jobs.records import JobRecord, QueuedJob
from batchyard.store.tables.batch_jobs import jobs

# A child admitted before its parent was released: leave it to the release.
NOT_YET = "NOT_YET"


@dataclass
class ArrayRelease:
    """A released array: what the scheduler needs to queue and follow its children.

    ``entry`` is the array's place in its queue when its children have no dependencies of
    their own (``skipped`` are children already out of that cursor); ``ended`` are indexes
    of children already finished; ``evaluate`` are children to admit now.
    """

    parent_id: str
    size: int
    entry: QueuedJob | None
    sources: list[str]
    sequential: bool
    skipped: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    evaluate: list[str] = field(default_factory=list)


def stored_children(conn: Connection, parent_id: str) -> dict[int, str]:
    """Status of each child of ``parent_id`` that has a row, by index."""
    low, high = parent_id + children.SEPARATOR, parent_id + chr(ord(children.SEPARATOR) + 1)
    rows = conn.execute(
        sa.select(jobs.c.job_id, jobs.c.status).where(jobs.c.job_id > low, jobs.c.job_id < high)
    )
    found = {}
    for row in rows:
        member = children.split(row.job_id)
        if member is not None and member[0] == parent_id:
            found[member[1]] = row.status
    return found


def ended_children(conn: Connection, parent_id: str) -> tuple[int, set[int]]:
    """(size, indexes of the finished children) of array ``parent_id``; (0, empty) if none."""
    record = records.load(conn, parent_id)
    size = None if record is None else children.size_of(record.document)
    if record is None or size is None:
        return 0, set()
    stored = stored_children(conn, parent_id)
    ended = {i for i, status in stored.items() if status in TERMINAL}
    if children.implicit_state(record.document, record.runtime)[0] == FAILED:
        ended.update(i for i in range(size) if i not in stored)
    return size, ended


def admit(conn: Connection, record: JobRecord) -> tuple[Any, list[Snapshot]] | None:
    """Admit ``record`` if it is an array parent or child; None for any other job.

    The outcome is FAILED, the list of dependencies still awaited, an ``ArrayRelease``, or
    ``NOT_YET`` for a child of an unreleased array.
    """
    if children.size_of(record.document) is not None:
        return _admit_parent(conn, record)
    member = children.split(record.job_id)
    if member is None or "arrayProperties" not in record.document:
        return None
    parent = records.load(conn, member[0])
    if parent is None or not children.array_state(parent.runtime).get("released"):
        return NOT_YET, []
    return None


def _admit_parent(conn: Connection, record: JobRecord) -> tuple[Any, list[Snapshot]]:
    state = children.array_state(record.runtime)
    snapshots: list[Snapshot] = []
    if not state.get("released"):
        dependencies = children.own_dependencies(record.document)
        statuses = {
            job: document["status"]
            for job, document in records.documents(conn, dependencies).items()
        }
        # Children with a row (cancelled one by one) announce their own changes.
        stored = frozenset(stored_children(conn, record.job_id))
        if record.status == SUBMITTED:
            snapshots += transitions.pend(record)
            snapshots.append(ChildChanges.of(record, stored))
        if any(statuses.get(d, FAILED) == FAILED for d in dependencies):
            snapshots += transitions.fail(record, DEPENDENCY_FAILED, now_ms())
            snapshots.append(ChildChanges.of(record, stored))
            records.save(conn, record)
            return FAILED, snapshots
        if not all(statuses[d] == SUCCEEDED for d in dependencies):
            records.save(conn, record)
            return [d for d in dependencies if statuses[d] != SUCCEEDED], snapshots
        record.runtime["array"] = {**state, "released": True, "releasedAt": now_ms()}
        if not children.waits_per_child(record.document):
            snapshots.append(ChildChanges.of(record, stored))
        records.save(conn, record)
    return release(conn, record), snapshots


def release(conn: Connection, record: JobRecord) -> ArrayRelease:
    """What the scheduler needs for the released array ``record``."""
    document = record.document
    parent_id = record.job_id
    size = children.size_of(document) or 0
    stored = stored_children(conn, parent_id)
    cancelled = bool(children.array_state(record.runtime).get("cancel"))
    ended = {i for i, status in stored.items() if status in TERMINAL}
    if cancelled:
        ended.update(i for i in range(size) if i not in stored)
    sources = children.n_to_n_sources(document)
    sequential = children.is_sequential(document)
    result = ArrayRelease(parent_id, size, None, sources, sequential, ended=sorted(ended))
    if cancelled:
        return result
    if not sources and not sequential:
        result.entry = QueuedJob(
            parent_id,
            document["jobQueue"],
            record.seq,
            Demand.of(document.get("container") or {}),
        )
        result.skipped = sorted(stored)
        return result
    ready: set[int] = set()
    if sequential:
        ready.add(next((i for i in range(size) if i not in ended), size))
    for source in sources:
        ready.update(ended_children(conn, source)[1])
    result.evaluate = [children.child_id(parent_id, i) for i in sorted(ready) if i < size]
    return result
