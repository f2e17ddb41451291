"""The Logs service's API object (CloudWatch Logs, json 1.1); ``handlers`` registers on it."""

from __future__ import annotations

from batchyard.logs.retention import LogRetention
from batchyard.logs.sink import LogSink
from batchyard.protocol.service import ServiceApi
from batchyard.runtime import Runtime

api = ServiceApi("logs", validation_error="InvalidParameterException")


@api.on_startup
async def start_sink(runtime: Runtime) -> None:
    """Give the server one live-ingestion sink that job output flows through."""
    runtime.add(LogSink(runtime.store))


@api.on_startup
async def start_retention(runtime: Runtime) -> None:
    """Start deleting log events past their group's retention."""
    runtime.add(LogRetention(runtime.store, runtime.settings.time_scale)).sweeper.start()


@api.on_shutdown
async def stop_retention(runtime: Runtime) -> None:
    """Stop deleting expired log events."""
    await runtime.get(LogRetention).sweeper.stop()
