"""What a running server holds: settings, the store, the bus and each service's components."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from batchyard.bus import Bus
from batchyard.config import Settings
from batchyard.store import Store

C = TypeVar("C")


@dataclass
class Runtime:
    """Shared by every handler of one server process.

    Services put their long-lived domain objects (a scheduler, an engine ...) in
    ``components`` at start-up, keyed by class, and find each other's the same way.
    """

    settings: Settings
    store: Store
    bus: Bus = field(default_factory=Bus)
    components: dict[type, Any] = field(default_factory=dict)

    def add(self, component: C) -> C:
        """Register ``component`` under its class."""
        self.components[type(component)] = component
        return component

    def get(self, kind: type[C]) -> C:
        """The registered component of class ``kind``."""
        return self.components[kind]

    def arn(self, service: str, resource: str) -> str:
        """An ARN in this server's partition, region and account."""
        return f"arn:aws:{service}:{self.settings.region}:{self.settings.account_id}:{resource}"
