"""The Logs service's API object (CloudWatch Logs, json 1.1); ``handlers`` registers on it."""

from __future__ import annotations

from batchyard.logs.sink import LogSink
from batchyard.protocol.service import ServiceApi
from batchyard.runtime import Runtime

api = ServiceApi("logs", validation_error="InvalidParameterException")


@api.on_startup
async def start_sink(runtime: Runtime) -> None:
    """Give the server one live-ingestion sink that job output flows through."""
    runtime.add(LogSink(runtime.store))
