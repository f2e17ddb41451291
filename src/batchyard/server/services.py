"""The services one server hosts, in start-up order."""

from __future__ import annotations

import importlib

from batchyard.protocol.service import ServiceApi

# Importing a handler module registers its operations on its service's API object.
_HANDLER_MODULES = [
    "batchyard.batch.handlers.resources",
    "batchyard.batch.handlers.jobs",
    "batchyard.batch.handlers.consumables",
    "batchyard.states.handlers.machines",
    "batchyard.states.handlers.executions",
    "batchyard.states.handlers.activities",
    "batchyard.states.handlers.tools",
    "batchyard.states.handlers.lifecycle",
    "batchyard.logs.handlers",
    "batchyard.events.handlers.rules",
    "batchyard.events.handlers.targets",
    "batchyard.events.handlers.events",
    "batchyard.events.handlers.tags",
    "batchyard.functions.handlers",
    "batchyard.functions.version_handlers",
]


def load_services() -> list[ServiceApi]:
    """Every hosted service, its handler modules imported."""
    for module in _HANDLER_MODULES:
        importlib.import_module(module)
    from batchyard.batch.service import api as batch
    from batchyard.events.service import api as events
    from batchyard.functions.service import api as functions
    from batchyard.logs.service import api as logs
    from batchyard.states.service import api as states

    # Events starts before batch so job events of batch's start-up recovery reach the rules.
    return [logs, events, batch, functions, states]
