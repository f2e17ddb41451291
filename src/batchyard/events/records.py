"""Event buses, rules, targets, tags and failed deliveries on a store connection.

Every function takes a SQLAlchemy Connection so callers choose ``Store.read`` or
``Store.write``, and the caller whose account and region the rules belong to (a rule of
another account or region does not exist for it). Errors are the EventBridge API's own
``ServiceError``s; raised inside a write they roll that write back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection

from batchyard.aws import arns
from batchyard.aws.caller import Caller
from batchyard.aws.tags import TagTable
from batchyard.events.model import DEFAULT_BUS, EventBus, Rule, RuleState, Target
from batchyard.protocol.errors import ServiceError
from batchyard.store.tables.events import buses, delivery_failures, rules, targets
from batchyard.store.tables.events import tags as tag_rows

# EventBridge's default quota of targets per rule.
MAX_TARGETS_PER_RULE = 5

TAGS = TagTable(tag_rows)


def bus_not_found(name: str) -> ServiceError:
    """AWS's answer for an event bus that does not exist."""
    return ServiceError("ResourceNotFoundException", f"Event bus {name} does not exist.")


def rule_not_found(name: str, bus: str) -> ServiceError:
    """AWS's answer for a rule that does not exist."""
    return ServiceError(
        "ResourceNotFoundException", f"Rule {name} does not exist on EventBus {bus}."
    )


@dataclass(frozen=True, slots=True)
class StoredRule:
    """A rule of one account and region, and its targets in the order added."""

    account_id: str
    region: str
    rule: Rule
    targets: tuple[Target, ...]

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.account_id, self.region, self.rule.event_bus_name, self.rule.name


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """One failed attempt to deliver an event to a target (a row of
    ``events_delivery_failures``)."""

    failed_at: float
    rule_arn: str
    target_id: str
    target_arn: str
    event_id: str
    attempt: int
    final: bool
    error_code: str
    error_message: str
    input: str


def _on_bus(table: sa.Table, owner: Caller, bus: str) -> ColumnElement[bool]:
    return sa.and_(
        table.c.account_id == owner.account_id,
        table.c.region == owner.region,
        table.c.event_bus_name == bus,
    )


def _rule_row(owner: Caller, bus: str, name: str) -> ColumnElement[bool]:
    return sa.and_(_on_bus(rules, owner, bus), rules.c.name == name)


def _target_rows(owner: Caller, bus: str, rule: str) -> ColumnElement[bool]:
    return sa.and_(_on_bus(targets, owner, bus), targets.c.rule_name == rule)


def _stored(conn: Connection, owner: Caller, rule: Rule) -> StoredRule:
    found = tuple(list_targets(conn, owner, rule.event_bus_name, rule.name))
    return StoredRule(owner.account_id, owner.region, rule, found)


def get_rule(conn: Connection, owner: Caller, bus: str, name: str) -> Rule | None:
    """The rule ``name`` of ``bus``, or None."""
    row = conn.execute(sa.select(rules.c.document).where(_rule_row(owner, bus, name))).first()
    return Rule.from_document(row.document) if row else None


def require_rule(conn: Connection, owner: Caller, bus: str, name: str) -> Rule:
    """The rule ``name`` of ``bus``; ResourceNotFoundException if missing."""
    rule = get_rule(conn, owner, bus, name)
    if rule is None:
        raise rule_not_found(name, bus)
    return rule


def put_rule(conn: Connection, owner: Caller, rule: Rule, tags: dict[str, str]) -> StoredRule:
    """Create or replace a rule; a new rule gets ``tags``, an existing one keeps its own."""
    where = _rule_row(owner, rule.event_bus_name, rule.name)
    if not bus_exists(conn, owner, rule.event_bus_name):
        raise bus_not_found(rule.event_bus_name)
    if get_rule(conn, owner, rule.event_bus_name, rule.name) is None:
        conn.execute(
            rules.insert().values(
                account_id=owner.account_id,
                region=owner.region,
                event_bus_name=rule.event_bus_name,
                name=rule.name,
                arn=rule.arn,
                document=rule.document(),
            )
        )
        TAGS.put(conn, rule.arn, tags)
    else:
        conn.execute(rules.update().where(where).values(document=rule.document()))
    return _stored(conn, owner, rule)


def set_state(
    conn: Connection, owner: Caller, bus: str, name: str, state: RuleState
) -> StoredRule:
    """Enable or disable a rule."""
    rule = dataclasses.replace(require_rule(conn, owner, bus, name), state=state)
    conn.execute(
        rules.update().where(_rule_row(owner, bus, name)).values(document=rule.document())
    )
    return _stored(conn, owner, rule)


def delete_rule(conn: Connection, owner: Caller, bus: str, name: str) -> bool:
    """Delete a rule that has no targets; False when there was no such rule (not an error)."""
    rule = get_rule(conn, owner, bus, name)
    if rule is None:
        return False
    if list_targets(conn, owner, bus, name):
        raise ServiceError("ValidationException", "Rule can't be deleted since it has targets.")
    conn.execute(rules.delete().where(_rule_row(owner, bus, name)))
    TAGS.drop(conn, rule.arn)
    return True


def list_rules(
    conn: Connection, owner: Caller, bus: str, prefix: str | None, after: str | None, limit: int
) -> list[Rule]:
    """Up to ``limit`` rules of ``bus`` in name order, after the name ``after``."""
    query = sa.select(rules.c.document).where(_on_bus(rules, owner, bus))
    if prefix:
        query = query.where(rules.c.name.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(rules.c.name > after)
    rows = conn.execute(query.order_by(rules.c.name).limit(limit)).all()
    return [Rule.from_document(row.document) for row in rows]


def list_targets(conn: Connection, owner: Caller, bus: str, rule: str) -> list[Target]:
    """The targets of a rule, in the order they were first added."""
    rows = conn.execute(
        sa.select(targets.c.document)
        .where(_target_rows(owner, bus, rule))
        .order_by(targets.c.seq)
    ).all()
    return [Target.from_document(row.document) for row in rows]


def put_targets(
    conn: Connection, owner: Caller, bus: str, rule: str, added: list[Target]
) -> StoredRule:
    """Add targets to a rule or replace those with the same Id, within the per-rule quota."""
    found = require_rule(conn, owner, bus, rule)
    existing = {target.id for target in list_targets(conn, owner, bus, rule)}
    new = {target.id for target in added} - existing
    if len(existing) + len(new) > MAX_TARGETS_PER_RULE:
        raise ServiceError(
            "LimitExceededException", "The requested resource exceeds the maximum number allowed."
        )
    for target in added:
        if target.id in existing:
            conn.execute(
                targets.update()
                .where(_target_rows(owner, bus, rule), targets.c.target_id == target.id)
                .values(document=target.document())
            )
        else:
            conn.execute(
                targets.insert().values(
                    account_id=owner.account_id,
                    region=owner.region,
                    event_bus_name=bus,
                    rule_name=rule,
                    target_id=target.id,
                    document=target.document(),
                )
            )
    return _stored(conn, owner, found)


def remove_targets(
    conn: Connection, owner: Caller, bus: str, rule: str, ids: list[str]
) -> StoredRule:
    """Remove the targets with ``ids`` (ids the rule does not have are ignored, as AWS does)."""
    found = require_rule(conn, owner, bus, rule)
    conn.execute(
        targets.delete().where(_target_rows(owner, bus, rule), targets.c.target_id.in_(ids))
    )
    return _stored(conn, owner, found)


def all_rules(conn: Connection) -> list[StoredRule]:
    """Every rule of every account and region with its targets (start-up loads them into
    the in-memory catalog)."""
    grouped: dict[tuple[str, str, str, str], list[Target]] = {}
    for row in conn.execute(sa.select(targets).order_by(targets.c.seq)).all():
        key = (row.account_id, row.region, row.event_bus_name, row.rule_name)
        grouped.setdefault(key, []).append(Target.from_document(row.document))
    return [
        StoredRule(
            row.account_id,
            row.region,
            Rule.from_document(row.document),
            tuple(grouped.get((row.account_id, row.region, row.event_bus_name, row.name), [])),
        )
        for row in conn.execute(sa.select(rules).order_by(rules.c.seq)).all()
    ]


def record_failure(conn: Connection, failure: DeliveryFailure) -> None:
    """Keep one failed delivery attempt."""
    conn.execute(delivery_failures.insert().values(**dataclasses.asdict(failure)))


def failures(conn: Connection, rule_arn: str) -> list[DeliveryFailure]:
    """The recorded failed attempts of a rule's targets, oldest first."""
    columns = [delivery_failures.c[item.name] for item in dataclasses.fields(DeliveryFailure)]
    rows = conn.execute(
        sa.select(*columns)
        .where(delivery_failures.c.rule_arn == rule_arn)
        .order_by(delivery_failures.c.seq)
    ).all()
    return [DeliveryFailure(*row) for row in rows]


def require_taggable(conn: Connection, owner: Caller, arn: str) -> None:
    """ResourceNotFoundException unless ``arn`` names a rule or an event bus of ``owner``
    (what EventBridge tags)."""
    parsed = arns.parse(arn, "events")
    kind = parsed.resource_type if parsed is not None else ""
    name = parsed.resource_id if parsed is not None else arn
    if kind == "event-bus":
        if parsed is None or not owner.owns(arn) or not bus_exists(conn, owner, name):
            raise bus_not_found(name)
        return
    found = conn.execute(
        sa.select(rules.c.seq).where(
            rules.c.arn == arn,
            rules.c.account_id == owner.account_id,
            rules.c.region == owner.region,
        )
    ).first()
    if found is None:
        bus, _, rule = name.rpartition("/")
        raise rule_not_found(rule, bus or DEFAULT_BUS)


def rule_names_by_target(
    conn: Connection, owner: Caller, bus: str, target_arn: str, after: str | None, limit: int
) -> list[str]:
    """Names of the rules of ``bus`` with a target of ARN ``target_arn``, in name order."""
    names = sorted(
        {
            row.rule_name
            for row in conn.execute(
                sa.select(targets.c.rule_name, targets.c.document).where(
                    _on_bus(targets, owner, bus)
                )
            ).all()
            if row.document.get("Arn") == target_arn
        }
    )
    return [name for name in names if after is None or name > after][:limit]


def _bus_row(owner: Caller, name: str) -> ColumnElement[bool]:
    return sa.and_(
        buses.c.account_id == owner.account_id,
        buses.c.region == owner.region,
        buses.c.name == name,
    )


def get_bus(conn: Connection, owner: Caller, name: str) -> EventBus | None:
    """The stored bus ``name`` (the default bus has a row only once it was updated)."""
    row = conn.execute(sa.select(buses.c.document).where(_bus_row(owner, name))).first()
    return EventBus.from_document(row.document) if row else None


def bus_exists(conn: Connection, owner: Caller, name: str) -> bool:
    """Whether ``owner`` has the bus ``name`` (every account and region has its default)."""
    return name == DEFAULT_BUS or get_bus(conn, owner, name) is not None


def create_bus(conn: Connection, owner: Caller, bus: EventBus, tags: dict[str, str]) -> None:
    """Add a custom bus; ResourceAlreadyExistsException when the name is taken."""
    if bus_exists(conn, owner, bus.name):
        raise ServiceError(
            "ResourceAlreadyExistsException", f"Event bus {bus.name} already exists."
        )
    conn.execute(
        buses.insert().values(
            account_id=owner.account_id,
            region=owner.region,
            name=bus.name,
            arn=bus.arn,
            document=bus.document(),
        )
    )
    TAGS.put(conn, bus.arn, tags)


def save_bus(conn: Connection, owner: Caller, bus: EventBus) -> None:
    """Store what UpdateEventBus changed (the default bus gets its row here)."""
    if get_bus(conn, owner, bus.name) is None:
        conn.execute(
            buses.insert().values(
                account_id=owner.account_id,
                region=owner.region,
                name=bus.name,
                arn=bus.arn,
                document=bus.document(),
            )
        )
    else:
        conn.execute(
            buses.update().where(_bus_row(owner, bus.name)).values(document=bus.document())
        )


def delete_bus(conn: Connection, owner: Caller, name: str) -> bool:
    """Delete a custom bus that has no rules; False when there was none (not an error)."""
    found = get_bus(conn, owner, name)
    if found is None:
        return False
    has_rules = conn.execute(
        sa.select(rules.c.seq).where(_on_bus(rules, owner, name)).limit(1)
    ).first()
    if has_rules is not None:
        raise ServiceError("ValidationException", "EventBus can't be deleted since it has rules.")
    conn.execute(buses.delete().where(_bus_row(owner, name)))
    TAGS.drop(conn, found.arn)
    return True


def list_buses(
    conn: Connection,
    owner: Caller,
    prefix: str | None,
    after: str | None,
    limit: int,
    default: EventBus,
) -> list[EventBus]:
    """Up to ``limit`` buses in name order after the name ``after``; ``default`` stands for
    the default bus while it has no row."""
    query = sa.select(buses.c.document).where(
        buses.c.account_id == owner.account_id, buses.c.region == owner.region
    )
    if prefix:
        query = query.where(buses.c.name.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(buses.c.name > after)
    found = [
        EventBus.from_document(row.document)
        for row in conn.execute(query.order_by(buses.c.name).limit(limit)).all()
    ]
    if (
        all(bus.name != DEFAULT_BUS for bus in found)
        and default.name.startswith(prefix or "")
        and (after is None or default.name > after)
        and get_bus(conn, owner, DEFAULT_BUS) is None
    ):
        found.append(default)
    return sorted(found, key=lambda bus: bus.name)[:limit]


def custom_buses(conn: Connection) -> list[tuple[str, str, str]]:
    """(account, region, name) of every stored bus (start-up loads them)."""
    rows = conn.execute(sa.select(buses.c.account_id, buses.c.region, buses.c.name)).all()
    return [(row.account_id, row.region, row.name) for row in rows]
