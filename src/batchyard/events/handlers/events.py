"""Handler for PutEvents."""

from __future__ import annotations

from typing import Any

from batchyard.events.ingest import put_events as publish_entries
from batchyard.events.service import api
from batchyard.protocol.legacy import RequestContext


@api.operation("PutEvents")
async def put_events(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Put custom events on the bus; each entry succeeds or fails on its own."""
    return publish_entries(ctx.runtime, params["Entries"])
