"""Function output into CloudWatch Logs: the Lambda service's output port, served by Logs."""

from __future__ import annotations

from collections.abc import Sequence

from batchyard.aws.caller import Caller
from batchyard.logs import Logs


class LogsOutput:
    """Writes function logs through the Logs service's live sink."""

    def __init__(self, logs: Logs) -> None:
        self._logs = logs

    async def write_lines(
        self, owner: Caller, group: str, stream: str, lines: Sequence[tuple[int, str]]
    ) -> None:
        """Append ``lines`` to ``group``/``stream`` of ``owner``; return once committed."""
        await self._logs.write_lines(owner, group, stream, lines)
