"""Where function output goes: a port the composition root fills with CloudWatch Logs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from batchyard.aws.caller import Caller


class FunctionOutput(Protocol):
    """The sink of function logs (group ``/aws/lambda/<name>`` unless configured)."""

    async def write_lines(
        self, owner: Caller, group: str, stream: str, lines: Sequence[tuple[int, str]]
    ) -> None:
        """Append ``(timestamp ms, message)`` lines to ``group``/``stream`` of ``owner`` and
        return once they are readable (an invocation answers only after its log is, so a
        caller can fetch it at once)."""
        ...
