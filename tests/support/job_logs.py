"""A job's log stream as the tests read it: the line batchyard writes first, then the job's."""

from __future__ import annotations

import re
from typing import Any

HEADER = re.compile(r"batchyard: attempt \S+ runs as (a local process on this host|.+)")


def job_output(messages: list[str]) -> list[str]:
    """The job's own lines: ``messages`` after the first, which must say where it ran (none
    while nothing has been written yet)."""
    if not messages:
        return []
    assert HEADER.fullmatch(messages[0]), messages
    return messages[1:]


def job_messages(server: Any, job: dict[str, Any], group: str = "/aws/batch/job") -> list[str]:
    """Every message of ``job``'s log stream on ``server`` (a ServerProcess), oldest first."""
    events = server.client("logs").get_log_events(
        logGroupName=group, logStreamName=job["container"]["logStreamName"], startFromHead=True
    )["events"]
    return [event["message"] for event in events]
