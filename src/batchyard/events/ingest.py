"""PutEvents: turn request entries into events on the bus, entry by entry.

Also the entry point for other services that put events (the Step Functions
``events:putEvents`` integration): ``put_events(runtime, entries)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from batchyard.events.buses import bus_name
from batchyard.events.components import Events
from batchyard.events.envelopes import EntryError, put_events_entry
from batchyard.protocol.errors import ServiceError
from batchyard.runtime import Runtime


def put_events(runtime: Runtime, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Publish PutEvents ``entries``; returns the PutEvents response (per-entry results)."""
    dispatcher = runtime.get(Events).dispatcher
    settings = runtime.settings
    now = datetime.now(UTC)
    results: list[dict[str, Any]] = []
    for entry in entries:
        try:
            bus = bus_name(entry.get("EventBusName"))
            event = put_events_entry(
                entry, account=settings.account_id, region=settings.region, now=now
            )
        except ServiceError as error:
            results.append({"ErrorCode": error.code, "ErrorMessage": error.message})
            continue
        except EntryError as error:
            results.append({"ErrorCode": error.code, "ErrorMessage": error.message})
            continue
        dispatcher.publish(event, bus)
        results.append({"EventId": event["id"]})
    failed = sum(1 for result in results if "ErrorCode" in result)
    return {"FailedEntryCount": failed, "Entries": results}
