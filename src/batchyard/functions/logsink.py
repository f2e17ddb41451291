"""Where function logs go: the Logs service's live sink, group ``/aws/lambda/<name>``."""

from __future__ import annotations

from batchyard.aws.caller import Caller
from batchyard.logs import Logs
from batchyard.runtime import Runtime


async def write_log(runtime: Runtime, group: str, stream: str,
                    events: list[tuple[int, str]]) -> None:
    """Append ``(timestamp ms, message)`` events to ``group``/``stream`` and wait for the commit.

    The invocation answers only after its log is readable, so a caller can fetch it at once.
    """
    owner = Caller(runtime.settings.account_id, runtime.settings.region)
    await runtime.get(Logs).write_lines(owner, group, stream, events)
