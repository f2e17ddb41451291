"""Consumable resources (resource-aware scheduling) in the store: their rows and the rules of
Create / Update.

The store keeps each resource's total; the scheduler's pool keeps what jobs hold, so the
facade answers Describe and List from the pool, right at every moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.batch.errors import client_error, require_name
from batchyard.batch.resources.model import CONSUMABLE_RESOURCE, ConsumableResource, ConsumableType
from batchyard.store.tables.batch_scheduling import consumable_resources as table

MAX_RESOURCES = 50_000
OPERATIONS = ("SET", "ADD", "REMOVE")
NAME_FILTER = "CONSUMABLE_RESOURCE_NAME"

_COLUMNS = (
    table.c.name,
    table.c.arn,
    table.c.resource_type,
    table.c.total,
    table.c.created_at,
    table.c.seq,
)


def missing(reference: str) -> Exception:
    """The error for a resource that does not exist."""
    return client_error(f"Consumable resource {reference} does not exist.")


def arn_of(caller: Caller, reference: str) -> str:
    """The ARN a name or ARN stands for in the caller's account and region."""
    if reference.startswith("arn:"):
        return reference
    return caller.arn("batch", f"{CONSUMABLE_RESOURCE}/{reference}")


def matches(value: str, patterns: Iterable[str]) -> bool:
    """AWS's name filter: case-insensitive equality, or a prefix when ending in ``*``."""
    lowered = value.lower()
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.endswith("*") and lowered.startswith(pattern[:-1]):
            return True
        if lowered == pattern:
            return True
    return False


def _resource(row: Sequence[Any]) -> ConsumableResource:
    name, arn, resource_type, total, created_at, seq = row
    return ConsumableResource(name, arn, ConsumableType(resource_type), int(total), created_at, seq)


def load_all(connection: Connection) -> list[ConsumableResource]:
    """Every consumable resource of every account and region, oldest first."""
    rows = connection.execute(sa.select(*_COLUMNS).order_by(table.c.seq))
    return [_resource(row) for row in rows]


def find(connection: Connection, caller: Caller, reference: str) -> ConsumableResource | None:
    """The resource of the caller's named or ARN'd by ``reference``."""
    arn = arn_of(caller, reference)
    if not caller.owns(arn):
        return None
    row = connection.execute(sa.select(*_COLUMNS).where(table.c.arn == arn)).first()
    return _resource(row) if row else None


def check_new(name: str, resource_type: str, total: int) -> None:
    """Refuse a CreateConsumableResource request AWS would refuse."""
    require_name(name, "Consumable resource name")
    if resource_type not in tuple(ConsumableType):
        raise client_error(
            f"resourceType must be one of {', '.join(ConsumableType)}, got {resource_type}."
        )
    if total < 0:
        raise client_error("totalQuantity must be non-negative.")


def insert(
    connection: Connection,
    caller: Caller,
    name: str,
    resource_type: ConsumableType,
    total: int,
    created_at: int,
) -> ConsumableResource:
    """Store a new resource; returns it with its generation."""
    arn = arn_of(caller, name)
    if find(connection, caller, arn) is not None:
        raise client_error(f"Consumable resource {name} already exists.")
    count = connection.execute(
        sa.select(sa.func.count())
        .select_from(table)
        .where(table.c.account_id == caller.account_id, table.c.region == caller.region)
    ).scalar()
    if (count or 0) >= MAX_RESOURCES:
        raise client_error(f"An account can have at most {MAX_RESOURCES} consumable resources.")
    result = connection.execute(
        table.insert().values(
            account_id=caller.account_id,
            region=caller.region,
            name=name,
            arn=arn,
            resource_type=resource_type.value,
            total=total,
            created_at=created_at,
        )
    )
    seq = result.inserted_primary_key[0] if result.inserted_primary_key else 0
    return ConsumableResource(name, arn, resource_type, total, created_at, int(seq))


def check_update(operation: str, quantity: int | None) -> int:
    """The quantity of an UpdateConsumableResource request AWS accepts."""
    if operation not in OPERATIONS:
        raise client_error(f"operation must be one of {', '.join(OPERATIONS)}, got {operation}.")
    if quantity is None:
        raise client_error("quantity is required.")
    if quantity < 0:
        raise client_error("quantity must be non-negative.")
    return quantity


def new_total(resource: ConsumableResource, operation: str, quantity: int) -> int:
    """The total an UpdateConsumableResource ``operation`` of ``quantity`` leaves."""
    if operation == "SET":
        return quantity
    if operation == "ADD":
        return resource.total + quantity
    if quantity > resource.total:
        raise client_error(
            f"Cannot remove {quantity} from consumable resource {resource.name}: "
            f"its total quantity is {resource.total}."
        )
    return resource.total - quantity


def set_totals(connection: Connection, totals: Iterable[tuple[str, int, int]]) -> None:
    """Store resources' totals (the pool's figures, which already count consumption):
    (ARN, generation, total)."""
    for arn, generation, total in totals:
        connection.execute(
            table.update()
            .where(table.c.arn == arn, table.c.seq == generation)
            .values(total=total)
        )


def delete(connection: Connection, arn: str) -> None:
    """Delete a resource row (its jobs' demand rows stay for their listings)."""
    connection.execute(table.delete().where(table.c.arn == arn))


def exists(connection: Connection, caller: Caller, arn: str) -> bool:
    """Whether ``arn`` names a resource of the caller's."""
    return find(connection, caller, arn) is not None
