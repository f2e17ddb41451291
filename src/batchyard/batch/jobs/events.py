"""Job state changes on the runtime bus.

Each status change is published once, after it is committed, on topic ``batch.job`` with
the DescribeJobs-shaped job document as the event. The initial SUBMITTED state is not
announced (AWS sends no state-change event for a submission).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from batchyard.bus import Bus

TOPIC = "batch.job"


def publish(bus: Bus, snapshots: Iterable[dict[str, Any]]) -> None:
    """Announce each snapshot, in order."""
    for snapshot in snapshots:
        bus.publish(TOPIC, snapshot)
