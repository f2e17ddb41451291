"""Consumable-resource rows and job demand rows on a store connection."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.batch.consumables.pool import Resource
from batchyard.batch.resources.names import is_arn
from batchyard.store.tables.batch_scheduling import consumable_demands, consumable_resources

_COLUMNS = (
    consumable_resources.c.name,
    consumable_resources.c.arn,
    consumable_resources.c.resource_type,
    consumable_resources.c.total,
    consumable_resources.c.created_at,
    consumable_resources.c.seq,
)


def _resource(row: sa.Row) -> Resource:
    return Resource(row.name, row.arn, row.resource_type, int(row.total), row.created_at, row.seq)


def load_all(conn: Connection) -> list[Resource]:
    """Every consumable resource, oldest first."""
    rows = conn.execute(sa.select(*_COLUMNS).order_by(consumable_resources.c.seq))
    return [_resource(row) for row in rows]


def find(conn: Connection, reference: str) -> Resource | None:
    """The resource named or ARN'd by ``reference``."""
    column = consumable_resources.c.arn if is_arn(reference) else consumable_resources.c.name
    row = conn.execute(sa.select(*_COLUMNS).where(column == reference)).first()
    return _resource(row) if row else None


def count(conn: Connection) -> int:
    """How many consumable resources exist."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(consumable_resources)).scalar())


def insert(
    conn: Connection, name: str, arn: str, resource_type: str, total: int, created_at: int
) -> Resource:
    """Store a new resource; returns it with its generation."""
    result = conn.execute(
        consumable_resources.insert().values(
            name=name, arn=arn, resource_type=resource_type, total=total, created_at=created_at
        )
    )
    seq = result.inserted_primary_key[0]
    return Resource(name, arn, resource_type, total, created_at, int(seq))


def set_total(conn: Connection, name: str, generation: int, total: int) -> None:
    """Store the resource's total (the pool's figure, which already counts consumption)."""
    conn.execute(
        consumable_resources.update()
        .where(consumable_resources.c.name == name, consumable_resources.c.seq == generation)
        .values(total=total)
    )


def consume(totals: Iterable[tuple[str, int, int]], conn: Connection) -> None:
    """Record NON_REPLENISHABLE totals after jobs consumed units: (name, generation, total)."""
    for name, generation, total in totals:
        set_total(conn, name, generation, total)


def delete(conn: Connection, name: str) -> None:
    """Delete a resource row (its jobs' demand rows stay for their listings)."""
    conn.execute(consumable_resources.delete().where(consumable_resources.c.name == name))


def add_demands(
    conn: Connection, job_id: str, job_seq: int, needs: Iterable[tuple[str, int]]
) -> None:
    """Record what a newly submitted job asks of each resource."""
    rows = [
        {"resource_name": name, "job_seq": job_seq, "job_id": job_id, "quantity": quantity}
        for name, quantity in needs
    ]
    if rows:
        conn.execute(consumable_demands.insert(), rows)
