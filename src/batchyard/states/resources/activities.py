"""Activities: named task queues that workers poll with GetActivityTask."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.protocol.errors import ServiceError
from batchyard.states.resources import arns
from batchyard.states.resources.tags import drop_tags, put_tags
from batchyard.store.tables.states import activities


def does_not_exist(arn: str) -> ServiceError:
    """AWS's ActivityDoesNotExist."""
    return ServiceError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")


def create(conn: Connection, prefix: str, params: dict[str, Any]) -> dict[str, Any]:
    """CreateActivity: creating an existing activity returns it (AWS is idempotent here)."""
    name = arns.check_name(params["name"])
    arn = arns.activity_arn(prefix, name)
    row = conn.execute(sa.select(activities).where(activities.c.arn == arn)).first()
    if row is not None:
        return {"activityArn": arn, "creationDate": row.created}
    now = time.time()
    conn.execute(
        sa.insert(activities).values(
            arn=arn, name=name, created=now, encryption=params.get("encryptionConfiguration")
        )
    )
    put_tags(conn, arn, params.get("tags", []))
    return {"activityArn": arn, "creationDate": now}


def describe(conn: Connection, arn: str) -> dict[str, Any]:
    """DescribeActivity."""
    arns.parse_arn(arn, "activity")
    row = conn.execute(sa.select(activities).where(activities.c.arn == arn)).first()
    if row is None:
        raise does_not_exist(arn)
    out = {"activityArn": row.arn, "name": row.name, "creationDate": row.created}
    if row.encryption:
        out["encryptionConfiguration"] = row.encryption
    return out


def delete(conn: Connection, arn: str) -> None:
    """DeleteActivity; deleting what is not there succeeds."""
    arns.parse_arn(arn, "activity")
    conn.execute(sa.delete(activities).where(activities.c.arn == arn))
    drop_tags(conn, arn)


def list_all(conn: Connection) -> list[dict[str, Any]]:
    """ListActivities items, oldest first."""
    rows = conn.execute(
        sa.select(activities.c.arn, activities.c.name, activities.c.created)
        .order_by(activities.c.created, activities.c.arn)
    )
    return [{"activityArn": r.arn, "name": r.name, "creationDate": r.created} for r in rows]
