"""Rules, targets and failed deliveries on a store connection.

Every function takes a SQLAlchemy Connection so callers choose ``Store.read`` or
``Store.write``. Errors are the EventBridge API's own ``ServiceError``s; raised inside a
write they roll that write back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.protocol.errors import ServiceError
from batchyard.store.tables.events import delivery_failures, rules, targets

# EventBridge's default quota of targets per rule.
MAX_TARGETS_PER_RULE = 5


def rule_not_found(name: str, bus: str) -> ServiceError:
    """AWS's answer for a rule that does not exist."""
    return ServiceError(
        "ResourceNotFoundException", f"Rule {name} does not exist on EventBus {bus}."
    )


@dataclass(frozen=True)
class StoredRule:
    """A rule's DescribeRule document and its targets' documents, in the order added."""

    document: dict[str, Any]
    targets: tuple[dict[str, Any], ...]

    @property
    def key(self) -> tuple[str, str]:
        return self.document["EventBusName"], self.document["Name"]


def get_rule(conn: Connection, bus: str, name: str) -> dict[str, Any] | None:
    """The DescribeRule document of ``bus``/``name``, or None."""
    row = conn.execute(
        sa.select(rules.c.document).where(rules.c.event_bus_name == bus, rules.c.name == name)
    ).first()
    return dict(row.document) if row else None


def require_rule(conn: Connection, bus: str, name: str) -> dict[str, Any]:
    """The DescribeRule document of ``bus``/``name``; ResourceNotFoundException if missing."""
    document = get_rule(conn, bus, name)
    if document is None:
        raise rule_not_found(name, bus)
    return document


def put_rule(
    conn: Connection, document: dict[str, Any], tags: list[dict[str, str]]
) -> StoredRule:
    """Create or replace a rule; a new rule gets ``tags``, an existing one keeps its own."""
    bus, name = document["EventBusName"], document["Name"]
    if get_rule(conn, bus, name) is None:
        conn.execute(
            rules.insert().values(
                event_bus_name=bus, name=name, arn=document["Arn"], document=document, tags=tags
            )
        )
    else:
        conn.execute(
            rules.update()
            .where(rules.c.event_bus_name == bus, rules.c.name == name)
            .values(document=document)
        )
    return StoredRule(document, tuple(list_targets(conn, bus, name)))


def set_state(conn: Connection, bus: str, name: str, state: str) -> StoredRule:
    """Enable or disable a rule."""
    document = require_rule(conn, bus, name)
    document["State"] = state
    conn.execute(
        rules.update()
        .where(rules.c.event_bus_name == bus, rules.c.name == name)
        .values(document=document)
    )
    return StoredRule(document, tuple(list_targets(conn, bus, name)))


def delete_rule(conn: Connection, bus: str, name: str) -> bool:
    """Delete a rule that has no targets; False when there was no such rule (not an error)."""
    if get_rule(conn, bus, name) is None:
        return False
    if list_targets(conn, bus, name):
        raise ServiceError("ValidationException", "Rule can't be deleted since it has targets.")
    conn.execute(rules.delete().where(rules.c.event_bus_name == bus, rules.c.name == name))
    return True


def list_rules(
    conn: Connection, bus: str, prefix: str | None, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` rule documents of ``bus`` in name order, after the name ``after``."""
    query = sa.select(rules.c.document).where(rules.c.event_bus_name == bus)
    if prefix:
        query = query.where(rules.c.name.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(rules.c.name > after)
    rows = conn.execute(query.order_by(rules.c.name).limit(limit)).all()
    return [dict(row.document) for row in rows]


def list_targets(conn: Connection, bus: str, rule: str) -> list[dict[str, Any]]:
    """The target documents of a rule, in the order they were first added."""
    rows = conn.execute(
        sa.select(targets.c.document)
        .where(targets.c.event_bus_name == bus, targets.c.rule_name == rule)
        .order_by(targets.c.seq)
    ).all()
    return [dict(row.document) for row in rows]


def put_targets(
    conn: Connection, bus: str, rule: str, documents: list[dict[str, Any]]
) -> StoredRule:
    """Add targets to a rule or replace those with the same Id, within the per-rule quota."""
    document = require_rule(conn, bus, rule)
    existing = {target["Id"] for target in list_targets(conn, bus, rule)}
    added = {target["Id"] for target in documents} - existing
    if len(existing) + len(added) > MAX_TARGETS_PER_RULE:
        raise ServiceError(
            "LimitExceededException", "The requested resource exceeds the maximum number allowed."
        )
    for target in documents:
        where = (
            (targets.c.event_bus_name == bus)
            & (targets.c.rule_name == rule)
            & (targets.c.target_id == target["Id"])
        )
        if target["Id"] in existing:
            conn.execute(targets.update().where(where).values(document=target))
        else:
            conn.execute(
                targets.insert().values(
                    event_bus_name=bus, rule_name=rule, target_id=target["Id"], document=target
                )
            )
    return StoredRule(document, tuple(list_targets(conn, bus, rule)))


def remove_targets(conn: Connection, bus: str, rule: str, ids: list[str]) -> StoredRule:
    """Remove the targets with ``ids`` (ids the rule does not have are ignored, as AWS does)."""
    document = require_rule(conn, bus, rule)
    conn.execute(
        targets.delete().where(
            targets.c.event_bus_name == bus,
            targets.c.rule_name == rule,
            targets.c.target_id.in_(ids),
        )
    )
    return StoredRule(document, tuple(list_targets(conn, bus, rule)))


def all_rules(conn: Connection) -> list[StoredRule]:
    """Every rule with its targets (start-up loads them into the in-memory catalog)."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in conn.execute(sa.select(targets).order_by(targets.c.seq)).all():
        grouped.setdefault((row.event_bus_name, row.rule_name), []).append(dict(row.document))
    return [
        StoredRule(dict(row.document), tuple(grouped.get((row.event_bus_name, row.name), [])))
        for row in conn.execute(sa.select(rules).order_by(rules.c.seq)).all()
    ]


def record_failure(conn: Connection, failure: dict[str, Any]) -> None:
    """Keep one failed delivery attempt (columns of ``events_delivery_failures``)."""
    conn.execute(delivery_failures.insert().values(**failure))


def failures(conn: Connection, rule_arn: str) -> list[dict[str, Any]]:
    """The recorded failed attempts of a rule's targets, oldest first."""
    rows = conn.execute(
        sa.select(delivery_failures)
        .where(delivery_failures.c.rule_arn == rule_arn)
        .order_by(delivery_failures.c.seq)
    ).all()
    return [dict(row._mapping) for row in rows]


def _rule_row_by_arn(conn: Connection, arn: str) -> Any:
    row = conn.execute(sa.select(rules.c.name, rules.c.tags).where(rules.c.arn == arn)).first()
    if row is None:
        name = arn.rsplit("/", 1)[-1]
        raise rule_not_found(name, "default")
    return row


def tags_of(conn: Connection, arn: str) -> list[dict[str, str]]:
    """The tags of the rule ``arn``; ResourceNotFoundException when there is no such rule."""
    return list(_rule_row_by_arn(conn, arn).tags)


def tag(conn: Connection, arn: str, added: list[dict[str, str]]) -> None:
    """Add tags to the rule ``arn``, replacing the values of keys it already has."""
    merged = {item["Key"]: item["Value"] for item in _rule_row_by_arn(conn, arn).tags}
    merged.update({item["Key"]: item["Value"] for item in added})
    conn.execute(
        rules.update()
        .where(rules.c.arn == arn)
        .values(tags=[{"Key": key, "Value": value} for key, value in merged.items()])
    )


def untag(conn: Connection, arn: str, keys: list[str]) -> None:
    """Remove the tags with ``keys`` from the rule ``arn``."""
    kept = [item for item in _rule_row_by_arn(conn, arn).tags if item["Key"] not in keys]
    conn.execute(rules.update().where(rules.c.arn == arn).values(tags=kept))


def rule_names_by_target(
    conn: Connection, bus: str, target_arn: str, after: str | None, limit: int
) -> list[str]:
    """Names of the rules of ``bus`` with a target of ARN ``target_arn``, in name order."""
    names = sorted(
        {
            row.rule_name
            for row in conn.execute(
                sa.select(targets.c.rule_name, targets.c.document).where(
                    targets.c.event_bus_name == bus
                )
            ).all()
            if row.document.get("Arn") == target_arn
        }
    )
    return [name for name in names if after is None or name > after][:limit]
