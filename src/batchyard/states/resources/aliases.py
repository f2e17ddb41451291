"""State machine aliases: named routes to one or two versions, split by weight."""

from __future__ import annotations

import random
import re
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.protocol.errors import ServiceError
from batchyard.states.resources import arns
from batchyard.states.resources.machines import get_machine
from batchyard.store.tables.states import aliases, versions

# An alias name must not look like a version number, or the two kinds of ARN would collide.
_ALIAS_NAME = re.compile(r"^(?=.*[a-zA-Z_\-.])[a-zA-Z0-9_\-.]{1,80}$")


def not_found(arn: str) -> ServiceError:
    """AWS's ResourceNotFound for an alias or version that does not exist."""
    return ServiceError("ResourceNotFound", f"Resource not found: '{arn}'", resourceName=arn)


def _check_routing(conn: Connection, machine: str, routing: list[dict[str, Any]]) -> None:
    seen = set()
    for route in routing:
        version = route["stateMachineVersionArn"]
        base, qualifier = arns.split_qualified(version)
        if qualifier is None or not qualifier.isdigit():
            raise arns.invalid_arn(version)
        if base != machine:
            raise ServiceError(
                "ValidationException",
                "Routing configuration must contain state machine version ARNs of the same "
                "state machine",
            )
        if version in seen:
            raise ServiceError(
                "ValidationException",
                "Routing configuration must contain distinct state machine version ARNs",
            )
        seen.add(version)
        if conn.execute(sa.select(versions.c.arn).where(versions.c.arn == version)).first() is None:
            raise not_found(version)
    if sum(route["weight"] for route in routing) != 100:
        raise ServiceError(
            "ValidationException", "Sum of routing configuration weights must be equal to 100"
        )


def _machine_of(routing: list[dict[str, Any]]) -> str:
    return arns.split_qualified(routing[0]["stateMachineVersionArn"])[0]


def create(conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
    """CreateStateMachineAlias: idempotent for an identical request, a conflict otherwise."""
    name = params["name"]
    if not _ALIAS_NAME.match(name):
        raise ServiceError("InvalidName", f"Invalid Name: '{name}'")
    routing = params["routingConfiguration"]
    machine = _machine_of(routing)
    get_machine(conn, machine)
    _check_routing(conn, machine, routing)
    arn = arns.alias_arn(machine, name)
    existing = conn.execute(sa.select(aliases).where(aliases.c.arn == arn)).first()
    if existing is not None:
        if existing.routing == routing and existing.description == params.get("description"):
            return {"stateMachineAliasArn": arn, "creationDate": existing.created}
        raise ServiceError(
            "ConflictException",
            f"Failed to create alias because an alias with the same name and a different "
            f"routing configuration already exists: {arn}",
        )
    now = time.time()
    conn.execute(
        sa.insert(aliases).values(
            arn=arn, machine_arn=machine, name=name, description=params.get("description"),
            routing=routing, created=now, updated=now,
        )
    )
    return {"stateMachineAliasArn": arn, "creationDate": now}


def _alias_row(conn: Connection, arn: str) -> Any:
    _, qualifier = arns.split_qualified(arn)
    if qualifier is None or qualifier.isdigit():
        raise arns.invalid_arn(arn)
    row = conn.execute(sa.select(aliases).where(aliases.c.arn == arn)).first()
    if row is None:
        raise not_found(arn)
    return row


def describe(conn: Connection, arn: str) -> dict[str, Any]:
    """DescribeStateMachineAlias."""
    row = _alias_row(conn, arn)
    out = {
        "stateMachineAliasArn": row.arn, "name": row.name, "routingConfiguration": row.routing,
        "creationDate": row.created, "updateDate": row.updated,
    }
    if row.description is not None:
        out["description"] = row.description
    return out


def update(conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateStateMachineAlias: a new description and/or routing."""
    arn = params["stateMachineAliasArn"]
    row = _alias_row(conn, arn)
    if "description" not in params and "routingConfiguration" not in params:
        raise ServiceError(
            "ValidationException",
            "Either the description or the RoutingConfiguration must be specified",
        )
    routing = params.get("routingConfiguration", row.routing)
    _check_routing(conn, row.machine_arn, routing)
    now = time.time()
    conn.execute(
        sa.update(aliases).where(aliases.c.arn == arn).values(
            routing=routing, description=params.get("description", row.description), updated=now
        )
    )
    return {"updateDate": now}


def delete(conn: Connection, arn: str) -> None:
    """DeleteStateMachineAlias; deleting what is not there succeeds."""
    _, qualifier = arns.split_qualified(arn)
    if qualifier is None or qualifier.isdigit():
        raise arns.invalid_arn(arn)
    conn.execute(sa.delete(aliases).where(aliases.c.arn == arn))


def list_for(conn: Connection, machine: str) -> list[dict[str, Any]]:
    """ListStateMachineAliases items for an unqualified machine ARN."""
    base, qualifier = arns.split_qualified(machine)
    if qualifier is not None:
        raise arns.invalid_arn(machine)
    get_machine(conn, base)
    rows = conn.execute(
        sa.select(aliases.c.arn, aliases.c.created).where(aliases.c.machine_arn == base)
        .order_by(aliases.c.created)
    )
    return [{"stateMachineAliasArn": r.arn, "creationDate": r.created} for r in rows]


def route(conn: Connection, arn: str) -> str:
    """The version ARN an execution started through alias ``arn`` runs, chosen by weight."""
    row = _alias_row(conn, arn)
    routes = row.routing
    pick = random.uniform(0, 100)
    for entry in routes:
        pick -= entry["weight"]
        if pick < 0:
            return entry["stateMachineVersionArn"]
    return routes[-1]["stateMachineVersionArn"]
