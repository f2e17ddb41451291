"""The metrics of one server and how bus events move them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The Content-Type of :meth:`Metrics.render`'s text: Prometheus' text format 0.0.4, which
every Prometheus parses (the names here need none of 1.0.0's escaping)."""

JobCounts = Callable[[], Awaitable[Iterable[tuple[str, str, int]]]]
"""Reads ``(queue ARN, status, count)`` rows from the store."""

# Submit to start runs from a fraction of a second (an idle local queue) to hours (a deep one).
_START_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
# A group commit is a SQLite fsync or a PostgreSQL round trip: sub-millisecond to a second.
_COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_ENDED = frozenset({"SUCCEEDED", "FAILED"})
_ATTEMPT_ENDS = frozenset({"SUCCEEDED", "FAILED", "RUNNABLE"})


class _JobGauge(Collector):
    """The jobs-by-queue-and-status gauge, from the rows the last scrape read."""

    def __init__(self) -> None:
        self.rows: Iterable[tuple[str, str, int]] = ()

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "batchyard_jobs", "Stored jobs by queue and status.", labels=["queue", "status"]
        )
        for queue, status, count in self.rows:
            gauge.add_metric([queue, status], count)
        yield gauge


class Metrics:
    """The registry of one server (never prometheus_client's global one: servers built in
    one process must not share counters) and the handlers that feed it."""

    def __init__(self, job_counts: JobCounts) -> None:
        self._job_counts = job_counts
        self.registry = CollectorRegistry()
        self._jobs = _JobGauge()
        self.registry.register(self._jobs)
        registry = self.registry
        self.job_starts = Counter(
            "batchyard_job_starts", "Job attempts that started running, by queue.",
            ["queue"], registry=registry,
        )
        self.job_ends = Counter(
            "batchyard_job_ends", "Jobs that ended, by queue and final status.",
            ["queue", "status"], registry=registry,
        )
        self.job_start_latency = Histogram(
            "batchyard_job_start_latency_seconds",
            "From a job's submission to the start of its first attempt, by queue.",
            ["queue"], buckets=_START_BUCKETS, registry=registry,
        )
        self.job_attempts = Counter(
            "batchyard_job_attempts",
            "Job attempts that ended, by queue and exit: zero, nonzero, or none (stopped, "
            "lost or timed out before its process reported an exit code).",
            ["queue", "exit"], registry=registry,
        )
        self.executions = Counter(
            "batchyard_executions",
            "Step Functions executions that entered a status (RUNNING at a start or a "
            "redrive), by state machine.",
            ["state_machine", "status"], registry=registry,
        )
        self.state_transitions = Counter(
            "batchyard_state_transitions",
            "States entered by Step Functions executions, by state machine and state type.",
            ["state_machine", "type"], registry=registry,
        )
        self.api_requests = Histogram(
            "batchyard_api_request_duration_seconds",
            "AWS API requests, by service, operation and HTTP status code: the time from "
            "routing to the answer.",
            ["service", "operation", "code"], registry=registry,
        )
        self.store_commits = Histogram(
            "batchyard_store_commit_duration_seconds",
            "Group commits of the store: the time their writes and COMMIT took.",
            buckets=_COMMIT_BUCKETS, registry=registry,
        )

    def job_changed(self, _topic: str, job: dict[str, Any]) -> None:
        """A job's state change as the bus announces it (its DescribeJobs document)."""
        status, queue = job.get("status"), job.get("jobQueue", "")
        attempts = job.get("attempts") or []
        if status == "RUNNING":
            self.job_starts.labels(queue).inc()
            created, started = job.get("createdAt"), job.get("startedAt")
            if not attempts and created is not None and started is not None:
                self.job_start_latency.labels(queue).observe(max(0, started - created) / 1000)
            return
        if status in _ENDED:
            self.job_ends.labels(queue, status).inc()
        if status in _ATTEMPT_ENDS and attempts and _ends_attempt(job, attempts[-1]):
            exit_code = (attempts[-1].get("container") or {}).get("exitCode")
            exit_class = "none" if exit_code is None else "zero" if exit_code == 0 else "nonzero"
            self.job_attempts.labels(queue, exit_class).inc()

    def execution_changed(self, _topic: str, execution: dict[str, Any]) -> None:
        """An execution's status change (its EventBridge status-change detail)."""
        self.executions.labels(
            execution.get("stateMachineArn", ""), execution.get("status", "")
        ).inc()

    def state_entered(self, _topic: str, transition: dict[str, Any]) -> None:
        """A state an execution entered (``stateMachineArn``, ``stateType``)."""
        self.state_transitions.labels(
            transition.get("stateMachineArn", ""), transition.get("stateType", "")
        ).inc()

    def request(self, service: str, operation: str, status: int, seconds: float) -> None:
        """One answered AWS API request."""
        self.api_requests.labels(service, operation, str(status)).observe(seconds)

    def commit(self, seconds: float) -> None:
        """One group commit of the store (called on the writer's thread)."""
        self.store_commits.observe(seconds)

    async def render(self) -> bytes:
        """Every metric in Prometheus' text format, the job gauge read from the store now."""
        rows = list(await self._job_counts())
        # No await between reading and rendering: a concurrent scrape cannot swap the rows.
        self._jobs.rows = rows
        return generate_latest(self.registry)


def _ends_attempt(job: dict[str, Any], last: dict[str, Any]) -> bool:
    """Whether this change is the end of the job's last attempt rather than a later change
    of a job that has attempts (a retried job cancelled while RUNNABLE, a requeue)."""
    if job.get("status") == "RUNNABLE":
        # A retry: back to RUNNABLE with the attempt's own reason.
        return bool(job.get("statusReason") == last.get("statusReason"))
    # An end: the job stopped when its attempt did.
    return bool(job.get("stoppedAt") == last.get("stoppedAt"))
