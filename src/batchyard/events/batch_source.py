"""Batch's events: job state changes and blocked queues from the internal bus.

The jobs service publishes on the runtime bus:

* ``batch.job``: the DescribeJobs-shaped job after each state change;
* ``batch.queue-blocked``: the DescribeJobs-shaped head-of-queue job that blocks its queue,
  its ``statusReason`` saying why.

Each becomes an EventBridge event on the default bus ("Batch Job State Change" for every
status after submission, "Batch Job Queue Blocked"). A job republished with the status it
already had is not sent twice, so at-least-once duplicates stay identical.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from batchyard.bus import Bus
from batchyard.config import Settings
from batchyard.events.buses import DEFAULT_BUS
from batchyard.events.dispatch import Dispatcher
from batchyard.events.envelopes import JOB_EVENT_STATUSES, job_queue_blocked, job_state_change

JOB_TOPIC = "batch.job"
QUEUE_BLOCKED_TOPIC = "batch.queue-blocked"
_FINAL = frozenset({"SUCCEEDED", "FAILED"})


class BatchEventSource:
    """Turns Batch's bus messages into events for the dispatcher."""

    def __init__(self, settings: Settings, dispatcher: Dispatcher) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        # Last status sent per unfinished job; finished jobs are dropped to keep this small.
        self._last_status: dict[str, str] = {}

    def subscribe(self, bus: Bus) -> list[Callable[[], None]]:
        """Listen on Batch's topics; returns the unsubscribe functions."""
        return [
            bus.subscribe(JOB_TOPIC, self.on_job),
            bus.subscribe(QUEUE_BLOCKED_TOPIC, self.on_queue_blocked),
        ]

    def on_job(self, _topic: str, job: dict[str, Any]) -> None:
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
        if not self.dispatcher.catalog.has_pattern_rules(DEFAULT_BUS):
            return
        self.dispatcher.publish(
            job_state_change(job, account=self.settings.account_id,
                             region=self.settings.region, time=datetime.now(UTC))
        )

    def on_queue_blocked(self, _topic: str, job: dict[str, Any]) -> None:
        """A RUNNABLE job at the head of its queue blocks it."""
        if not self.dispatcher.catalog.has_pattern_rules(DEFAULT_BUS):
            return
        self.dispatcher.publish(
            job_queue_blocked(job, account=self.settings.account_id,
                              region=self.settings.region, time=datetime.now(UTC))
        )
