"""A job's log stream as the tests read it: the line batchyard writes first, then the job's."""

from __future__ import annotations

import re

HEADER = re.compile(r"batchyard: attempt \S+ runs as (a local process on this host|.+)")


def job_output(messages: list[str]) -> list[str]:
    """The job's own lines: ``messages`` after the first, which must say where it ran (none
    while nothing has been written yet)."""
    if not messages:
        return []
    assert HEADER.fullmatch(messages[0]), messages
    return messages[1:]
