"""What a distributed Map tells the keeper of its Map Run's records.

A distributed Map's items run as the Map Run's child executions. The interpreter runs them
itself (silently: the parent's history shows only the Map Run's own events) and reports
their progress to a :class:`MapRunObserver`, which the durable engine turns into the records
DescribeMapRun and ListExecutions(mapRunArn) show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# Statuses of one item's child execution, as ListExecutions shows them.
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"


@dataclass
class MapRunStart:
    """A Map Run that just began: its items and the settings it runs them with."""

    map_run_arn: str
    execution_arn: str
    inputs: list[Any]
    max_concurrency: int
    tolerated_failure_count: int
    tolerated_failure_percentage: float


class MapRunObserver(Protocol):
    """Receives the progress of every Map Run of an execution (each call may repeat after a
    resume: an item re-run after a restart reports its start again)."""

    def started(self, run: MapRunStart) -> None:
        """The Map Run began (MapRunStarted)."""

    def item(self, map_run_arn: str, index: int, status: str, data: Any = None) -> None:
        """Item ``index`` reached ``status``; ``data`` is its input when it starts RUNNING,
        its output when it SUCCEEDED, its error output (Error, Cause) when it failed."""

    def ended(self, map_run_arn: str, status: str) -> None:
        """The Map Run ended: SUCCEEDED or FAILED (its running children are aborted)."""
