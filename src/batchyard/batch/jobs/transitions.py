"""The job lifecycle: the one table of transitions, and what announces them.

:class:`Transitions` is the only code that changes a job's status. Each method changes a
:class:`Job` in place and records a snapshot of it, one per status the job passed through,
so ``SUBMITTED -> PENDING -> RUNNABLE`` in one write still announces PENDING and then
RUNNABLE. :meth:`JobLifecycle.write` runs a store write with a fresh :class:`Transitions`
and, once it is committed, announces what it recorded: to the in-process listeners (the
scheduler's accounts) as typed jobs, and on the bus (``batch.job``, ``batch.queue-blocked``,
see ``batch/events.py``) as DescribeJobs documents. A write that raises announces nothing.

A failed attempt is tried again under ``retryStrategy`` with ``evaluateOnExit``: the rules
are checked in order and the first whose given conditions all match decides (RETRY or EXIT,
case-insensitive). A pattern matches the whole value, or its prefix when it ends in ``*``.
When no rule matches, the job is retried while attempts remain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from sqlalchemy import Connection

from batchyard.aws.clock import now_ms
from batchyard.aws.documents import JsonObject
from batchyard.batch.events import JOB_TOPIC, QUEUE_BLOCKED_TOPIC
from batchyard.batch.jobs.arrays import ChildChanges
from batchyard.batch.jobs.model import (
    ESSENTIAL_EXITED,
    FAILED,
    PENDING,
    RUNNABLE,
    RUNNING,
    STARTING,
    SUCCEEDED,
    Attempt,
    Job,
    JobRuntime,
    JobStatus,
)
from batchyard.bus import Bus
from batchyard.store import Store

T = TypeVar("T")
Listener = Callable[[Job], None]


@dataclass(frozen=True, slots=True)
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


def glob_matches(pattern: str, value: str | None) -> bool:
    """AWS's evaluateOnExit glob: exact, or a prefix match when ``pattern`` ends in ``*``."""
    text = value or ""
    if pattern.endswith("*"):
        return text.startswith(pattern[:-1])
    return text == pattern


def _rule_matches(
    rule: JsonObject, exit_code: int | None, reason: str | None, status_reason: str | None
) -> bool:
    checks = (
        ("onExitCode", None if exit_code is None else str(exit_code)),
        ("onReason", reason),
        ("onStatusReason", status_reason),
    )
    for key, value in checks:
        pattern = rule.get(key)
        if pattern is not None and not glob_matches(pattern, value):
            return False
    return True


def should_retry(
    strategy: JsonObject | None,
    attempts_made: int,
    exit_code: int | None,
    reason: str | None,
    status_reason: str | None,
) -> bool:
    """Whether a job that has failed ``attempts_made`` attempts gets another one."""
    allowed = (strategy or {}).get("attempts") or 1
    if attempts_made >= allowed:
        return False
    for rule in (strategy or {}).get("evaluateOnExit") or []:
        if _rule_matches(rule, exit_code, reason, status_reason):
            return str(rule["action"]).upper() == "RETRY"
    return True


@dataclass
class Transitions:
    """The transitions one store write makes, each recorded for its announcement."""

    changes: list[Job | ChildChanges] = field(default_factory=list)
    blocked: list[Job] = field(default_factory=list)

    def _set(self, job: Job, status: JobStatus, reason: str | None = None) -> None:
        if status == RUNNABLE and job.status != RUNNABLE:
            job.runtime.runnable_at = now_ms()
        job.status = status
        if reason is not None:
            job.status_reason = reason
        self.changes.append(job.snapshot())

    def pend(self, job: Job) -> None:
        """SUBMITTED -> PENDING (waiting for dependencies)."""
        self._set(job, PENDING)

    def make_runnable(self, job: Job) -> None:
        """SUBMITTED or PENDING -> RUNNABLE, passing through PENDING as AWS does."""
        if job.status != PENDING:
            self.pend(job)
        self._set(job, RUNNABLE)

    def fail(
        self,
        job: Job,
        reason: str,
        now: int,
        *,
        cancelled: bool = False,
        terminated: bool = False,
    ) -> None:
        """A job that never started ends FAILED (cancelled, terminated, dependency failed)."""
        if cancelled:
            job.is_cancelled = True
        if terminated:
            job.is_terminated = True
        job.runtime.cancel_reason = None
        job.stopped_at = now
        self._set(job, FAILED, reason)

    def defer_cancel(self, job: Job, reason: str) -> None:
        """CancelJob of a job waiting on unfinished dependencies: it stays SUBMITTED or
        PENDING, and fails with ``reason`` (cancelled) once they are resolved, as AWS cancels
        a PENDING job after its dependencies complete. The first such request stands."""
        if job.runtime.cancel_reason is None:
            job.runtime.cancel_reason = reason

    def block(self, job: Job, reason: str, *, announce: bool = True) -> int:
        """Record why a RUNNABLE job cannot be placed; it stays RUNNABLE (announced on
        ``batch.queue-blocked`` when it blocks its queue's head). Returns since when it is
        RUNNABLE (epoch ms; now for a job stored before that time was kept)."""
        job.status_reason = reason
        if job.runtime.runnable_at is None:
            job.runtime.runnable_at = now_ms()
        if announce:
            self.blocked.append(job.snapshot())
        return job.runtime.runnable_at

    def start(self, job: Job, environment_arn: str, attempt_id: str) -> None:
        """RUNNABLE -> STARTING on a compute environment."""
        job.status_reason = None
        job.runtime = JobRuntime(compute_environment_arn=environment_arn, attempt_id=attempt_id)
        self._set(job, STARTING)

    def start_node(self, node: Job) -> None:
        """A node of a multi-node job enters STARTING for its job's attempt."""
        node.runtime = JobRuntime()
        self._set(node, STARTING)

    def requeue(self, job: Job) -> None:
        """STARTING -> RUNNABLE: placed, but the server died before the attempt ran."""
        job.runtime = JobRuntime()
        self._set(job, RUNNABLE)

    def run(
        self, job: Job, started_at: int, log_stream: str, task_arn: str, identity: JsonObject
    ) -> None:
        """STARTING -> RUNNING: the attempt's process exists."""
        job.started_at = started_at
        if job.container is None:
            job.container = {}
        job.log_stream_name = log_stream
        job.task_arn = task_arn
        job.exit_code = None
        job.exit_reason = None
        job.runtime.identity = identity
        job.runtime.started_at = started_at
        self._set(job, RUNNING)

    def run_multinode(self, job: Job, started_at: int) -> None:
        """STARTING -> RUNNING of a multi-node job, with its main node."""
        job.started_at = started_at
        job.runtime.started_at = started_at
        self._set(job, RUNNING)

    def finish(self, job: Job, end: AttemptEnd) -> None:
        """An attempt ended: record it, then SUCCEEDED, FAILED or back to RUNNABLE for a retry.

        A retried job keeps its FIFO position, so it is at the front of its queue again.
        """
        if job.container is None:
            job.container = {}
        started = end.started_at or job.runtime.started_at or end.stopped_at
        job.attempts.append(
            Attempt(
                started,
                end.stopped_at,
                end.status_reason,
                job.log_stream_name,
                job.task_arn,
                end.exit_code,
                end.reason,
            )
        )
        job.exit_code = end.exit_code
        job.exit_reason = end.reason
        job.runtime = JobRuntime()
        if end.exit_code == 0 and end.stopped_by is None and not end.final:
            job.stopped_at = end.stopped_at
            self._set(job, SUCCEEDED, ESSENTIAL_EXITED)
        elif end.stopped_by is not None:
            job.is_terminated = True
            job.stopped_at = end.stopped_at
            self._set(job, FAILED, end.stopped_by)
        elif not end.final and should_retry(
            job.retry_strategy,
            len(job.attempts),
            end.exit_code,
            end.reason,
            end.status_reason,
        ):
            self._set(job, RUNNABLE, end.status_reason)
        else:
            job.stopped_at = end.stopped_at
            self._set(job, FAILED, end.status_reason)

    def settle_array(self, parent: Job, failure: str | None, summary: dict[str, int]) -> None:
        """Every child of an array has ended: the parent SUCCEEDED, or FAILED with
        ``failure``; its last announcement carries the final ``statusSummary``."""
        now = now_ms()
        cancel = parent.runtime.array.cancel if parent.runtime.array else None
        if cancel is not None:
            self.fail(
                parent,
                cancel.reason,
                now,
                cancelled=not cancel.terminated,
                terminated=cancel.terminated,
            )
        elif failure is not None:
            self.fail(parent, failure, now)
        else:
            parent.stopped_at = now
            self._set(parent, SUCCEEDED)
        last = self.changes[-1]
        assert isinstance(last, Job) and last.array_properties is not None
        last.array_properties.status_summary = summary

    def children(self, parent: Job, stored: frozenset[int]) -> None:
        """The children of ``parent`` without a row (all but ``stored``) enter the state the
        parent's record now implies."""
        self.changes.append(ChildChanges.of(parent, stored))


def _apply(
    fn: Callable[[Connection, Transitions], T], transitions: Transitions, conn: Connection
) -> T:
    return fn(conn, transitions)


class JobLifecycle:
    """Runs job writes and announces their transitions once committed."""

    def __init__(self, store: Store, bus: Bus) -> None:
        self._store = store
        self._bus = bus
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """Call ``listener(job)`` with each changed job (array children without a row of
        their own excepted: they change with their parent) before it is on the bus."""
        self._listeners.append(listener)

    async def write(self, fn: Callable[[Connection, Transitions], T]) -> T:
        """Run ``fn(connection, transitions)`` in the store writer; announce what it did."""
        transitions = Transitions()
        result = await self._store.write(partial(_apply, fn, transitions))
        self.announce(transitions)
        return result

    def announce(self, transitions: Transitions) -> None:
        """Announce committed transitions, in order."""
        bus = self._bus
        for change in transitions.changes:
            if isinstance(change, Job):
                for listener in self._listeners:
                    listener(change)
                bus.publish(JOB_TOPIC, change.describe())
            else:
                for document in change:
                    bus.publish(JOB_TOPIC, document)
        for job in transitions.blocked:
            bus.publish(QUEUE_BLOCKED_TOPIC, job.describe())
