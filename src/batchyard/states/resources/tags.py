"""Tags on state machines and activities (TagResource, UntagResource, ListTagsForResource)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.protocol.errors import ServiceError
from batchyard.store.tables.states import activities, state_machines, tags

MAX_TAGS = 50


def resource_exists(conn: Connection, arn: str) -> bool:
    """True when ``arn`` names a state machine or an activity that exists."""
    for table in (state_machines, activities):
        if conn.execute(sa.select(table.c.arn).where(table.c.arn == arn)).first():
            return True
    return False


def not_found(arn: str) -> ServiceError:
    """AWS's ResourceNotFound for a tagging call on an unknown resource."""
    return ServiceError("ResourceNotFound", f"Resource not found: '{arn}'", resourceName=arn)


def put_tags(conn: Connection, arn: str, items: Iterable[dict[str, Any]]) -> None:
    """Add or overwrite tags on ``arn``; raises TooManyTags past AWS's limit of 50."""
    new = {t["key"]: t.get("value", "") for t in items}
    query = sa.select(tags.c.key).where(tags.c.resource_arn == arn)
    existing = {row.key for row in conn.execute(query)}
    if len(existing | set(new)) > MAX_TAGS:
        raise ServiceError(
            "TooManyTags",
            f"Too many tags: the resource {arn} can have at most {MAX_TAGS} tags",
            resourceName=arn,
        )
    for key, value in new.items():
        conn.execute(sa.delete(tags).where(tags.c.resource_arn == arn, tags.c.key == key))
        conn.execute(sa.insert(tags).values(resource_arn=arn, key=key, value=value))


def remove_tags(conn: Connection, arn: str, keys: Iterable[str]) -> None:
    """Remove the tags named ``keys`` from ``arn`` (absent keys are ignored, as AWS does)."""
    conn.execute(sa.delete(tags).where(tags.c.resource_arn == arn, tags.c.key.in_(list(keys))))


def list_tags(conn: Connection, arn: str) -> list[dict[str, str]]:
    """The tags of ``arn`` as ``[{"key", "value"}]``, in key order."""
    rows = conn.execute(
        sa.select(tags.c.key, tags.c.value).where(tags.c.resource_arn == arn).order_by(tags.c.key)
    )
    return [{"key": r.key, "value": r.value} for r in rows]


def drop_tags(conn: Connection, arn: str) -> None:
    """Forget every tag of a deleted resource."""
    conn.execute(sa.delete(tags).where(tags.c.resource_arn == arn))
