"""The EventBridge service's API object (json 1.1) and its running parts.

At start-up the rules are loaded from the store into the catalog; the dispatcher, the
schedule runner and Batch's event source start beside the API and stop before the store
closes. Handler modules in ``events/handlers`` register their operations on ``api``.
"""

from __future__ import annotations

from batchyard.events import records
from batchyard.events.batch_source import BatchEventSource
from batchyard.events.catalog import RuleCatalog
from batchyard.events.components import Events
from batchyard.events.dispatch import Dispatcher
from batchyard.events.scheduler import ScheduleRunner
from batchyard.events.targets import load_adapters
from batchyard.protocol.legacy import LegacyApi
from batchyard.runtime import Runtime

api = LegacyApi("events", validation_error="ValidationException")


@api.on_startup
async def start_events(runtime: Runtime) -> None:
    """Load the rules, then start delivering, scheduling and listening to Batch."""
    load_adapters()
    catalog = RuleCatalog()
    catalog.load(await runtime.store.read(records.all_rules))
    dispatcher = Dispatcher(runtime, catalog)
    scheduler = ScheduleRunner(runtime, catalog, dispatcher)
    scheduler.start()
    source = BatchEventSource(runtime.settings, dispatcher)
    runtime.add(Events(catalog, dispatcher, scheduler, source.subscribe(runtime.bus)))


@api.on_shutdown
async def stop_events(runtime: Runtime) -> None:
    """Stop listening, scheduling and delivering."""
    events = runtime.components.get(Events)
    if events is None:
        return
    for unsubscribe in events.unsubscribe:
        unsubscribe()
    await events.scheduler.stop()
    await events.dispatcher.close()
