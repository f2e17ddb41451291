"""``arn:aws:states:::events:putEvents`` (and ``.waitForTaskToken``).

Entries are PutEvents request entries; ``Detail`` may be a JSON object (sent as its text).
As AWS does, the execution's and the state machine's ARNs are appended to each entry's
Resources, and a non-zero FailedEntryCount fails the task with ``EventBridge.FailedEntry``.
"""

from __future__ import annotations

from typing import Any

from batchyard.events.ingest import put_events
from batchyard.runtime import Runtime
from batchyard.states import RuntimeFailure, TaskFailure, TaskRequest, unknown_resource
from batchyard.states.integrations.calls import compact, pattern_of
from batchyard.states.integrations.waits import TokenWait

RESOURCE = "arn:aws:states:::events:putEvents"
FAILED_ENTRY = "EventBridge.FailedEntry"


def entries_of(request: TaskRequest) -> list[dict[str, Any]]:
    """The PutEvents entries a task's parameters describe."""
    params = request.parameters
    entries = params.get("Entries") if isinstance(params, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RuntimeFailure("The field 'Entries' must be a list of PutEvents entries")
    linked = [request.context["Execution"]["Id"], request.context["StateMachine"]["Id"]]
    out = []
    for entry in entries:
        entry = dict(entry)
        if "Detail" in entry and not isinstance(entry["Detail"], str):
            entry["Detail"] = compact(entry["Detail"])
        entry["Resources"] = [*(entry.get("Resources") or []), *linked]
        out.append(entry)
    return out


class PutEvents:
    """Put events on a bus from a Task."""

    def __init__(self, runtime: Runtime, tokens: TokenWait) -> None:
        self.runtime = runtime
        self.tokens = tokens

    async def invoke(self, request: TaskRequest) -> Any:
        """Put the entries; ``.waitForTaskToken`` then waits for the token."""
        pattern = pattern_of(request.resource, RESOURCE)
        if pattern not in ("", self.tokens.SUFFIX):
            raise unknown_resource(request)
        entries = entries_of(request)
        if pattern == self.tokens.SUFFIX:
            return await self.tokens.wait(request, lambda: self._put(entries))
        return await self._put(entries)

    async def _put(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        response = put_events(self.runtime, entries)
        if response["FailedEntryCount"]:
            raise TaskFailure(FAILED_ENTRY, compact(response))
        return response
