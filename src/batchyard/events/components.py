"""The events service's running parts, as registered on the runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from batchyard.events.catalog import RuleCatalog
from batchyard.events.dispatch import Dispatcher
from batchyard.events.scheduler import ScheduleRunner


@dataclass
class Events:
    """Catalog, dispatcher and schedule runner of one server; ``runtime.get(Events)``."""

    catalog: RuleCatalog
    dispatcher: Dispatcher
    scheduler: ScheduleRunner
    unsubscribe: list[Callable[[], None]] = field(default_factory=list)
