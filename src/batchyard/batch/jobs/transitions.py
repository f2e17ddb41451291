"""The job lifecycle as changes to a job document, one function per transition.

Every function changes ``record`` in place and returns the snapshots to publish, one per
status the job passed through, so ``SUBMITTED -> PENDING -> RUNNABLE`` in one write still
announces PENDING and then RUNNABLE. Store access and publishing are the caller's business.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from batchyard.aws.documents import copy_json
from batchyard.batch.jobs.model import (
    ESSENTIAL_EXITED,
    FAILED,
    PENDING,
    RUNNABLE,
    RUNNABLE_SINCE,
    RUNNING,
    STARTING,
    SUCCEEDED,
)
from batchyard.batch.jobs.records import JobRecord
from batchyard.batch.jobs.retries import should_retry

Snapshots = list[dict[str, Any]]


@dataclass(frozen=True)
class AttemptEnd:
    """How an attempt ended, in AWS's terms.

    ``status_reason`` is the attempt's status reason; ``stopped_by`` is the TerminateJob reason
    when a user stopped it; ``final`` means the failure is never retried (timeouts,
    terminations).
    """

    exit_code: int | None
    reason: str | None
    status_reason: str
    stopped_at: int
    started_at: int | None = None
    stopped_by: str | None = None
    final: bool = False


def _set(record: JobRecord, status: str, reason: str | None = None) -> dict[str, Any]:
    if status == RUNNABLE and record.document.get("status") != RUNNABLE:
        record.runtime[RUNNABLE_SINCE] = int(time.time() * 1000)
    record.document["status"] = status
    if reason is not None:
        record.document["statusReason"] = reason
    return copy_json(record.document)


def pend(record: JobRecord) -> Snapshots:
    """SUBMITTED -> PENDING (waiting for dependencies)."""
    return [_set(record, PENDING)]


def make_runnable(record: JobRecord) -> Snapshots:
    """SUBMITTED or PENDING -> RUNNABLE, passing through PENDING as AWS does."""
    snapshots = [] if record.status == PENDING else pend(record)
    return [*snapshots, _set(record, RUNNABLE)]


def fail(record: JobRecord, reason: str, now: int, **flags: bool) -> Snapshots:
    """A job that never started ends FAILED (cancelled, terminated, dependency failed)."""
    record.document.update(flags)
    record.document["stoppedAt"] = now
    return [_set(record, FAILED, reason)]


def block(record: JobRecord, reason: str) -> int:
    """Record why a RUNNABLE job cannot be placed; it stays RUNNABLE. Returns since when
    it is RUNNABLE (epoch ms; now for a job stored before that time was kept)."""
    record.document["statusReason"] = reason
    return int(record.runtime.setdefault(RUNNABLE_SINCE, int(time.time() * 1000)))


def start(record: JobRecord, placement: dict[str, Any]) -> Snapshots:
    """RUNNABLE -> STARTING on a compute environment; ``placement`` goes to ``runtime``."""
    record.document.pop("statusReason", None)
    record.runtime = dict(placement)
    return [_set(record, STARTING)]


def requeue(record: JobRecord) -> Snapshots:
    """STARTING -> RUNNABLE: placed, but the server died before the attempt ran."""
    record.runtime = {}
    return [_set(record, RUNNABLE)]


def run(
    record: JobRecord, started_at: int, log_stream: str, task_arn: str, identity: dict[str, Any]
) -> Snapshots:
    """STARTING -> RUNNING: the attempt's process exists."""
    document = record.document
    document["startedAt"] = started_at
    container = document.setdefault("container", {})
    container["logStreamName"] = log_stream
    container["taskArn"] = task_arn
    container.pop("exitCode", None)
    container.pop("reason", None)
    record.runtime.update(identity=identity, startedAt=started_at)
    return [_set(record, RUNNING)]


def finish(record: JobRecord, end: AttemptEnd) -> Snapshots:
    """An attempt ended: record it, then SUCCEEDED, FAILED or back to RUNNABLE for a retry.

    A retried job keeps its FIFO position, so it is at the front of its queue again.
    """
    document = record.document
    container = document.setdefault("container", {})
    attempt_container: dict[str, Any] = {
        "logStreamName": container.get("logStreamName"),
        "taskArn": container.get("taskArn"),
        "exitCode": end.exit_code,
        "reason": end.reason,
    }
    started = end.started_at or record.runtime.get("startedAt") or end.stopped_at
    document.setdefault("attempts", []).append(
        {
            "container": {k: v for k, v in attempt_container.items() if v is not None},
            "startedAt": started,
            "stoppedAt": end.stopped_at,
            "statusReason": end.status_reason,
        }
    )
    for key, value in (("exitCode", end.exit_code), ("reason", end.reason)):
        if value is None:
            container.pop(key, None)
        else:
            container[key] = value
    record.runtime = {}
    if end.exit_code == 0 and end.stopped_by is None and not end.final:
        document["stoppedAt"] = end.stopped_at
        return [_set(record, SUCCEEDED, ESSENTIAL_EXITED)]
    if end.stopped_by is not None:
        document["isTerminated"] = True
        document["stoppedAt"] = end.stopped_at
        return [_set(record, FAILED, end.stopped_by)]
    retry = not end.final and should_retry(
        document.get("retryStrategy"),
        len(document["attempts"]),
        end.exit_code,
        end.reason,
        end.status_reason,
    )
    if retry:
        return [_set(record, RUNNABLE, end.status_reason)]
    document["stoppedAt"] = end.stopped_at
    return [_set(record, FAILED, end.status_reason)]
