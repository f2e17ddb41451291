"""Step Functions' ``arn:aws:states:::events:putEvents`` (and ``.waitForTaskToken``) Task,
putting events through the :class:`~batchyard.events.EventBridge` facade.

Entries are PutEvents request entries in PascalCase; ``Detail`` may be a JSON object (sent as
its text). As AWS does, the execution's and the state machine's ARNs are appended to each
entry's Resources, and a non-zero FailedEntryCount fails the task with
``EventBridge.FailedEntry``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from batchyard.events import EventBridge, PutEventsEntry, PutEventsResult
from batchyard.states import (
    RuntimeFailure,
    StepFunctions,
    TaskFailure,
    TaskRequest,
    unknown_resource,
)

RESOURCE = "arn:aws:states:::events:putEvents"
WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"
FAILED_ENTRY = "EventBridge.FailedEntry"


def _compact(value: Any) -> str:
    # Step Functions writes payloads and causes without spaces.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _text(entry: dict[str, Any], member: str) -> str | None:
    value = entry.get(member)
    return value if isinstance(value, str) else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise RuntimeFailure(f"The field 'Time' is not a timestamp: {value}") from None
    return None


def entries_of(request: TaskRequest) -> list[PutEventsEntry]:
    """The PutEvents entries a task's parameters describe."""
    params = request.parameters
    entries = params.get("Entries") if isinstance(params, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RuntimeFailure("The field 'Entries' must be a list of PutEvents entries")
    linked = [request.context["Execution"]["Id"], request.context["StateMachine"]["Id"]]
    out = []
    for entry in entries:
        detail = entry.get("Detail")
        resources = entry.get("Resources") or []
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            raise RuntimeFailure("The field 'Resources' must be a list of ARNs")
        out.append(
            PutEventsEntry(
                _text(entry, "Source"),
                _text(entry, "DetailType"),
                detail if isinstance(detail, str) or detail is None else _compact(detail),
                [*resources, *linked],
                _text(entry, "EventBusName"),
                _time(entry.get("Time")),
                _text(entry, "TraceHeader"),
            )
        )
    return out


def _response(result: PutEventsResult) -> dict[str, Any]:
    """The PutEvents response as the task's result (PascalCase, None members left out)."""
    entries = [
        {
            member: value
            for member, value in (
                ("EventId", entry.event_id),
                ("ErrorCode", entry.error_code),
                ("ErrorMessage", entry.error_message),
            )
            if value is not None
        }
        for entry in result.entries
    ]
    return {"FailedEntryCount": result.failed_entry_count, "Entries": entries}


class PutEvents:
    """Put events on the execution's account's bus from a Task."""

    def __init__(self, events: EventBridge, states: StepFunctions) -> None:
        self._events = events
        self._states = states

    def register(self) -> None:
        """Run the ``events:putEvents`` Task resources of Step Functions."""
        self._states.register_invoker(RESOURCE, self)

    async def invoke(self, request: TaskRequest) -> Any:
        """Put the entries; ``.waitForTaskToken`` then waits for the token."""
        pattern = request.resource[len(RESOURCE):]
        if pattern not in ("", WAIT_FOR_TASK_TOKEN):
            raise unknown_resource(request)
        entries = entries_of(request)
        if pattern == WAIT_FOR_TASK_TOKEN:
            return await self._states.wait_for_task_token(
                request, lambda: self._put(request, entries)
            )
        return await self._put(request, entries)

    async def _put(self, request: TaskRequest, entries: list[PutEventsEntry]) -> dict[str, Any]:
        response = _response(await self._events.put_events(request.caller, entries))
        if response["FailedEntryCount"]:
            raise TaskFailure(FAILED_ENTRY, _compact(response))
        return response
