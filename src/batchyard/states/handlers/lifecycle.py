"""Start the engine with the server (resuming interrupted executions) and park it at shutdown."""

from __future__ import annotations

from batchyard.runtime import Runtime
from batchyard.states.engine.engine import StatesEngine
from batchyard.states.integrations import register_integrations
from batchyard.states.service import api


@api.on_startup
async def start_engine(runtime: Runtime) -> None:
    """Register the engine and resume the Standard executions that were running."""
    engine = runtime.add(StatesEngine(runtime))
    # Before resuming: a resumed Task must find its integration.
    register_integrations(runtime, engine)
    await engine.resume_all()


@api.on_shutdown
async def stop_engine(runtime: Runtime) -> None:
    """Flush every running execution's journal; they resume at the next start."""
    await runtime.get(StatesEngine).shutdown()
