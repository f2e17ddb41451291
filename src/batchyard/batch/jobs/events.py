"""Job state changes on the runtime bus.

Each status change is published once, after it is committed, on topic ``batch.job`` with
the DescribeJobs-shaped job document as the event. The initial SUBMITTED state is not
announced (AWS sends no state-change event for a submission). Array children without a row
of their own change state with their parent: their documents come as one iterable per array
among the snapshots, built while they are published.

A RUNNABLE job found blocking the head of its queue is published once on topic
``batch.queue-blocked`` (the job document, its ``statusReason`` saying why), which the events
service turns into "Batch Job Queue Blocked".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

from batchyard.bus import Bus

TOPIC = "batch.job"
QUEUE_BLOCKED_TOPIC = "batch.queue-blocked"

# A job's document, or the documents of many array children built on demand.
Snapshot: TypeAlias = dict[str, Any] | Iterable[dict[str, Any]]


def publish(bus: Bus, snapshots: Iterable[Snapshot]) -> None:
    """Announce each snapshot, in order."""
    for snapshot in snapshots:
        if isinstance(snapshot, dict):
            bus.publish(TOPIC, snapshot)
        else:
            for document in snapshot:
                bus.publish(TOPIC, document)


def publish_blocked(bus: Bus, documents: Iterable[dict[str, Any]]) -> None:
    """Announce jobs that block the head of their queue."""
    for document in documents:
        bus.publish(QUEUE_BLOCKED_TOPIC, document)
