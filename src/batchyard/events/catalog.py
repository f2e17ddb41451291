"""The rules of this server in memory, compiled, for matching events and running schedules.

The store is the record; the catalog is loaded from it at start-up and updated by the API
handlers after each committed change, so matching an event never touches the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchyard.events.patterns import Pattern, compile_pattern, matches
from batchyard.events.records import StoredRule
from batchyard.events.schedule import Schedule, parse_schedule

DISABLED = "DISABLED"


@dataclass(frozen=True)
class ActiveRule:
    """A rule as dispatch sees it: its document, targets, and compiled pattern or schedule."""

    document: dict[str, Any]
    targets: tuple[dict[str, Any], ...]
    pattern: Pattern | None = field(default=None, compare=False)
    schedule: Schedule | None = field(default=None, compare=False)

    @classmethod
    def compile(cls, stored: StoredRule) -> ActiveRule:
        """Compile a stored rule (its pattern and schedule were validated when it was put)."""
        document = stored.document
        pattern = document.get("EventPattern")
        schedule = document.get("ScheduleExpression")
        return cls(
            document,
            stored.targets,
            compile_pattern(pattern) if pattern else None,
            parse_schedule(schedule) if schedule else None,
        )

    @property
    def key(self) -> tuple[str, str]:
        return self.document["EventBusName"], self.document["Name"]

    @property
    def name(self) -> str:
        return str(self.document["Name"])

    @property
    def arn(self) -> str:
        return str(self.document["Arn"])

    @property
    def enabled(self) -> bool:
        return self.document.get("State") != DISABLED


class RuleCatalog:
    """Every rule by (event bus, name); listeners hear about each change."""

    def __init__(self) -> None:
        self._rules: dict[tuple[str, str], ActiveRule] = {}
        self._listeners: list[Callable[[], None]] = []
        self._matching_buses: frozenset[str] = frozenset()

    def load(self, stored: list[StoredRule]) -> None:
        """Replace the catalog's content with ``stored``."""
        self._rules = {rule.key: ActiveRule.compile(rule) for rule in stored}
        self._changed()

    def put(self, stored: StoredRule) -> None:
        """Add or replace one rule after its change was committed."""
        self._rules[stored.key] = ActiveRule.compile(stored)
        self._changed()

    def remove(self, bus: str, name: str) -> None:
        """Forget a deleted rule."""
        if self._rules.pop((bus, name), None) is not None:
            self._changed()

    def has_pattern_rules(self, bus: str) -> bool:
        """Whether any enabled rule of ``bus`` could match an event (a cheap early check)."""
        return bus in self._matching_buses

    def matching(self, bus: str, event: dict[str, Any]) -> list[ActiveRule]:
        """The enabled pattern rules of ``bus`` that ``event`` matches."""
        return [
            rule
            for (rule_bus, _), rule in self._rules.items()
            if rule_bus == bus
            and rule.enabled
            and rule.pattern is not None
            and matches(rule.pattern, event)
        ]

    def scheduled(self) -> list[ActiveRule]:
        """The enabled schedule rules."""
        return [rule for rule in self._rules.values() if rule.enabled and rule.schedule]

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every change."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        self._matching_buses = frozenset(
            rule_bus
            for (rule_bus, _), rule in self._rules.items()
            if rule.enabled and rule.pattern is not None
        )
        for listener in self._listeners:
            listener()
