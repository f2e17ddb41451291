"""The buses and rules of this server in memory, compiled, for matching events and running
schedules.

The store is the record; the catalog is loaded from it at start-up and updated by the facade
after each committed change, so putting an event never touches the database for its bus or
its rules. Rules are keyed by their account, region, bus and name: an event only meets the
rules of the bus it was put on, in its own account and region. Every account and region has
its default bus; the catalog holds the custom ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchyard.aws.caller import Caller
from batchyard.events.archive_records import StoredArchive
from batchyard.events.model import DEFAULT_BUS, Rule, Target
from batchyard.events.patterns import Pattern, compile_pattern, matches
from batchyard.events.records import StoredRule
from batchyard.events.schedule import Schedule, parse_schedule

# (account, region, bus): where an event is put.
BusKey = tuple[str, str, str]
# (account, region, bus, name): one rule.
RuleKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class ActiveRule:
    """A rule as dispatch sees it: its owner, targets, and compiled pattern or schedule."""

    owner: Caller
    rule: Rule
    targets: tuple[Target, ...]
    pattern: Pattern | None = field(default=None, compare=False)
    schedule: Schedule | None = field(default=None, compare=False)

    @classmethod
    def compile(cls, stored: StoredRule) -> ActiveRule:
        """Compile a stored rule (its pattern and schedule were validated when it was put)."""
        rule = stored.rule
        return cls(
            Caller(stored.account_id, stored.region),
            rule,
            stored.targets,
            compile_pattern(rule.event_pattern) if rule.event_pattern else None,
            parse_schedule(rule.schedule_expression) if rule.schedule_expression else None,
        )

    @property
    def key(self) -> RuleKey:
        return self.owner.account_id, self.owner.region, self.rule.event_bus_name, self.name

    @property
    def bus(self) -> BusKey:
        return self.owner.account_id, self.owner.region, self.rule.event_bus_name

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def arn(self) -> str:
        return self.rule.arn

    @property
    def enabled(self) -> bool:
        return self.rule.enabled


@dataclass(frozen=True)
class ActiveArchive:
    """An archive as capturing sees it: its row, its source bus and its compiled pattern."""

    seq: int
    arn: str
    bus: BusKey
    pattern: Pattern | None = field(default=None, compare=False)

    @classmethod
    def compile(cls, stored: StoredArchive) -> ActiveArchive:
        """Compile a stored archive (its pattern was validated when it was put)."""
        name = stored.source_arn.rsplit("event-bus/", 1)[-1]
        return cls(
            stored.seq,
            stored.arn,
            (stored.account_id, stored.region, name),
            compile_pattern(stored.event_pattern) if stored.event_pattern else None,
        )

    def keeps(self, event: dict[str, Any]) -> bool:
        """Whether the archive takes ``event`` (put on its bus)."""
        return self.pattern is None or matches(self.pattern, event)


def bus_key(owner: Caller, bus: str) -> BusKey:
    """The key of ``owner``'s bus ``bus``."""
    return owner.account_id, owner.region, bus


class RuleCatalog:
    """Every rule by (account, region, event bus, name); listeners hear about each change."""

    def __init__(self) -> None:
        self._rules: dict[RuleKey, ActiveRule] = {}
        self._buses: set[BusKey] = set()
        self._archives: dict[str, ActiveArchive] = {}
        self._archived_buses: frozenset[BusKey] = frozenset()
        self._listeners: list[Callable[[], None]] = []
        self._matching_buses: frozenset[BusKey] = frozenset()

    def load(
        self, stored: list[StoredRule], buses: list[BusKey], archives: list[StoredArchive]
    ) -> None:
        """Replace the catalog's content with ``stored`` rules, custom ``buses`` and
        ``archives``."""
        self._rules = {rule.key: ActiveRule.compile(rule) for rule in stored}
        self._buses = set(buses)
        self._archives = {archive.arn: ActiveArchive.compile(archive) for archive in archives}
        self._archives_changed()
        self._changed()

    def put_archive(self, stored: StoredArchive) -> None:
        """Add or replace an archive after its change was committed."""
        self._archives[stored.arn] = ActiveArchive.compile(stored)
        self._archives_changed()

    def remove_archive(self, arn: str) -> None:
        """Forget a deleted archive."""
        self._archives.pop(arn, None)
        self._archives_changed()

    def archive(self, arn: str) -> ActiveArchive | None:
        """The archive of ARN ``arn``, or None."""
        return self._archives.get(arn)

    def archiving(self, bus: BusKey, event: dict[str, Any]) -> list[ActiveArchive]:
        """The archives of ``bus`` that keep ``event``."""
        if bus not in self._archived_buses:
            return []
        return [a for a in self._archives.values() if a.bus == bus and a.keeps(event)]

    def _archives_changed(self) -> None:
        self._archived_buses = frozenset(archive.bus for archive in self._archives.values())

    def has_bus(self, bus: BusKey) -> bool:
        """Whether the bus exists (the default bus of every account and region does)."""
        return bus[2] == DEFAULT_BUS or bus in self._buses

    def add_bus(self, bus: BusKey) -> None:
        """Know a custom bus after its creation was committed."""
        self._buses.add(bus)

    def remove_bus(self, bus: BusKey) -> None:
        """Forget a deleted custom bus."""
        self._buses.discard(bus)

    def put(self, stored: StoredRule) -> None:
        """Add or replace one rule after its change was committed."""
        self._rules[stored.key] = ActiveRule.compile(stored)
        self._changed()

    def remove(self, owner: Caller, bus: str, name: str) -> None:
        """Forget a deleted rule."""
        if self._rules.pop((*bus_key(owner, bus), name), None) is not None:
            self._changed()

    def has_pattern_rules(self, bus: BusKey) -> bool:
        """Whether any enabled rule of ``bus`` could match an event (a cheap early check)."""
        return bus in self._matching_buses

    def has_archives(self, bus: BusKey) -> bool:
        """Whether any archive keeps events of ``bus``."""
        return bus in self._archived_buses

    def matching(
        self, bus: BusKey, event: dict[str, Any], only: frozenset[str] | None = None
    ) -> list[ActiveRule]:
        """The enabled pattern rules of ``bus`` that ``event`` matches; only those whose ARN is
        in ``only`` when given (a replay's FilterArns)."""
        return [
            rule
            for rule in self._rules.values()
            if rule.bus == bus
            and rule.enabled
            and rule.pattern is not None
            and (only is None or rule.arn in only)
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
            rule.bus for rule in self._rules.values() if rule.enabled and rule.pattern is not None
        )
        for listener in self._listeners:
            listener()
