"""Batch's state changes into EventBridge: job state changes and blocked queues, from the
topics Batch publishes on the internal bus (``batch.JOB_TOPIC``, ``batch.QUEUE_BLOCKED_TOPIC``).

Each becomes an event on the default bus of the job's account and region ("Batch Job State
Change" for every status after submission, "Batch Job Queue Blocked"). A job republished with
the status it already had is not sent twice, so at-least-once duplicates stay identical.
"""

from __future__ import annotations

from collections.abc import Callable

from batchyard.aws.caller import Caller, owner_of
from batchyard.aws.documents import JsonObject, copy_json
from batchyard.batch import JOB_TOPIC, QUEUE_BLOCKED_TOPIC
from batchyard.bus import Bus
from batchyard.events import EventBridge, ServiceEvent

BATCH_SOURCE = "aws.batch"
JOB_STATE_CHANGE = "Batch Job State Change"
JOB_QUEUE_BLOCKED = "Batch Job Queue Blocked"
# The guide: an event for every status change of a job already submitted, none for the
# submission itself (SUBMITTED).
JOB_EVENT_STATUSES = frozenset(
    {"PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"}
)
_FINAL = frozenset({"SUCCEEDED", "FAILED"})


def job_state_change(job: JsonObject) -> ServiceEvent:
    """"Batch Job State Change": the DescribeJobs job as ``detail``, its ARN as the resource."""
    return ServiceEvent(BATCH_SOURCE, JOB_STATE_CHANGE, copy_json(job), [job["jobArn"]])


def job_queue_blocked(job: JsonObject) -> ServiceEvent:
    """"Batch Job Queue Blocked": the blocking head-of-queue job (its ``statusReason`` says
    why) as ``detail``; the job and its queue as resources."""
    return ServiceEvent(
        BATCH_SOURCE, JOB_QUEUE_BLOCKED, copy_json(job), [job["jobArn"], job["jobQueue"]]
    )


class BatchEvents:
    """Turns Batch's bus messages into events on EventBridge; ``default`` is the account and
    region of a job whose ARN says neither."""

    def __init__(self, events: EventBridge, default: Caller) -> None:
        self._events = events
        self._default = default
        # Last status sent per unfinished job; finished jobs are dropped to keep this small.
        self._last_status: dict[str, str] = {}
        self._unsubscribe: list[Callable[[], None]] = []

    def subscribe(self, bus: Bus) -> None:
        """Listen on Batch's topics (until :meth:`unsubscribe`)."""
        self._unsubscribe = [
            bus.subscribe(JOB_TOPIC, self.on_job),
            bus.subscribe(QUEUE_BLOCKED_TOPIC, self.on_queue_blocked),
        ]

    def unsubscribe(self) -> None:
        """Stop listening."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def _owner(self, job: JsonObject) -> Caller:
        return owner_of(str(job.get("jobArn", ""))) or self._default

    def on_job(self, _topic: str, job: JsonObject) -> None:
        """A job changed state."""
        status = job.get("status")
        job_id = str(job.get("jobId"))
        if status not in JOB_EVENT_STATUSES or self._last_status.get(job_id) == status:
            return
        if status in _FINAL:
            self._last_status.pop(job_id, None)
        else:
            self._last_status[job_id] = str(status)
        # Most servers have no rule for Batch's events: skip building them (a copy of the job).
        owner = self._owner(job)
        if self._events.listens(owner):
            self._events.publish(owner, job_state_change(job))

    def on_queue_blocked(self, _topic: str, job: JsonObject) -> None:
        """A RUNNABLE job at the head of its queue blocks it."""
        owner = self._owner(job)
        if self._events.listens(owner):
            self._events.publish(owner, job_queue_blocked(job))
