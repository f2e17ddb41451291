"""Connections (with their secret authorization parameters) and API destinations on a store
connection.

Like ``records``: every function takes a SQLAlchemy Connection and the caller the resources
belong to; errors are the EventBridge API's ``ServiceError``s.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import ColumnElement
from sqlalchemy import Connection as Conn

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.events.connections import ApiDestination, Connection, ConnectionState
from batchyard.protocol.errors import ServiceError
from batchyard.store.tables.events import api_destinations, connections


def connection_not_found(name: str) -> ServiceError:
    """AWS's answer for a connection that does not exist."""
    return ServiceError(
        "ResourceNotFoundException",
        f"Failed to describe the connection(s). Connection '{name}' does not exist.",
    )


def destination_not_found(name: str) -> ServiceError:
    """AWS's answer for an API destination that does not exist."""
    return ServiceError(
        "ResourceNotFoundException",
        f"Failed to describe the api-destination(s). An api-destination '{name}' does not exist.",
    )


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request through a connection needs: the connection, and its authorization
    parameters with their secrets (None once deauthorized)."""

    connection: Connection
    auth: JsonObject | None


def _owned(table: sa.Table, owner: Caller, name: str) -> ColumnElement[bool]:
    return sa.and_(
        table.c.account_id == owner.account_id,
        table.c.region == owner.region,
        table.c.name == name,
    )


def _in(table: sa.Table, owner: Caller) -> ColumnElement[bool]:
    return sa.and_(table.c.account_id == owner.account_id, table.c.region == owner.region)


# -- connections ---------------------------------------------------------------------------
def create_connection(
    conn: Conn, owner: Caller, connection: Connection, secret: JsonObject
) -> None:
    """Add a connection; ResourceAlreadyExistsException when the name is taken."""
    if conn.execute(
        sa.select(connections.c.seq).where(_owned(connections, owner, connection.name))
    ).first():
        raise ServiceError(
            "ResourceAlreadyExistsException", f"Connection {connection.name} already exists."
        )
    conn.execute(
        connections.insert().values(
            account_id=owner.account_id,
            region=owner.region,
            name=connection.name,
            arn=connection.connection_arn,
            state=str(connection.connection_state),
            document=connection.document(),
            secret=secret,
        )
    )


def credentials(conn: Conn, owner: Caller, name: str) -> Credentials:
    """A connection and its secret parameters; ResourceNotFoundException when missing."""
    row = conn.execute(
        sa.select(connections.c.document, connections.c.secret).where(
            _owned(connections, owner, name)
        )
    ).first()
    if row is None:
        raise connection_not_found(name)
    return Credentials(Connection.from_document(row.document), row.secret)


def credentials_by_arn(conn: Conn, owner: Caller, arn: str) -> Credentials | None:
    """The connection of ARN ``arn`` and its secret parameters, or None."""
    row = conn.execute(
        sa.select(connections.c.document, connections.c.secret).where(
            _in(connections, owner), connections.c.arn == arn
        )
    ).first()
    return Credentials(Connection.from_document(row.document), row.secret) if row else None


def save_connection(
    conn: Conn, owner: Caller, connection: Connection, secret: JsonObject | None
) -> None:
    """Store a connection's new state and parameters (``secret`` None: deauthorized)."""
    conn.execute(
        connections.update()
        .where(_owned(connections, owner, connection.name))
        .values(
            state=str(connection.connection_state), document=connection.document(), secret=secret
        )
    )


def delete_connection(conn: Conn, owner: Caller, name: str) -> Connection:
    """Delete a connection; what it was. ResourceNotFoundException when missing."""
    found = credentials(conn, owner, name).connection
    conn.execute(connections.delete().where(_owned(connections, owner, name)))
    return found


def list_connections(
    conn: Conn,
    owner: Caller,
    prefix: str | None,
    state: str | None,
    after: str | None,
    limit: int,
) -> list[Connection]:
    """Up to ``limit`` connections in name order after the name ``after``, filtered."""
    query = sa.select(connections.c.document).where(_in(connections, owner))
    if prefix:
        query = query.where(connections.c.name.startswith(prefix, autoescape=True))
    if state:
        query = query.where(connections.c.state == state)
    if after is not None:
        query = query.where(connections.c.name > after)
    rows = conn.execute(query.order_by(connections.c.name).limit(limit)).all()
    return [Connection.from_document(row.document) for row in rows]


def authorizing(conn: Conn) -> list[tuple[Caller, str]]:
    """The connections a previous process left AUTHORIZING."""
    rows = conn.execute(
        sa.select(connections.c.account_id, connections.c.region, connections.c.name).where(
            connections.c.state == str(ConnectionState.AUTHORIZING)
        )
    ).all()
    return [(Caller(row.account_id, row.region), row.name) for row in rows]


# -- API destinations ----------------------------------------------------------------------
def create_destination(conn: Conn, owner: Caller, destination: ApiDestination) -> None:
    """Add an API destination; ResourceAlreadyExistsException when the name is taken, and
    ResourceNotFoundException unless its connection exists."""
    if conn.execute(
        sa.select(api_destinations.c.seq).where(_owned(api_destinations, owner, destination.name))
    ).first():
        raise ServiceError(
            "ResourceAlreadyExistsException",
            f"An api-destination '{destination.name}' already exists.",
        )
    require_connection_arn(conn, owner, destination.connection_arn)
    conn.execute(
        api_destinations.insert().values(
            account_id=owner.account_id,
            region=owner.region,
            name=destination.name,
            arn=destination.api_destination_arn,
            connection_arn=destination.connection_arn,
            document=destination.document(),
        )
    )


def require_connection_arn(conn: Conn, owner: Caller, arn: str) -> None:
    """ResourceNotFoundException unless ``arn`` names a connection of ``owner``."""
    if credentials_by_arn(conn, owner, arn) is None:
        name = arn.split("connection/", 1)[-1].split("/", 1)[0]
        raise connection_not_found(name)


def get_destination(conn: Conn, owner: Caller, name: str) -> ApiDestination:
    """An API destination of ``owner``; ResourceNotFoundException when missing."""
    row = conn.execute(
        sa.select(api_destinations.c.document).where(_owned(api_destinations, owner, name))
    ).first()
    if row is None:
        raise destination_not_found(name)
    return ApiDestination.from_document(row.document)


def destination_by_arn(conn: Conn, owner: Caller, arn: str) -> ApiDestination | None:
    """The API destination of ARN ``arn``, or None."""
    row = conn.execute(
        sa.select(api_destinations.c.document).where(
            _in(api_destinations, owner), api_destinations.c.arn == arn
        )
    ).first()
    return ApiDestination.from_document(row.document) if row else None


def save_destination(conn: Conn, owner: Caller, destination: ApiDestination) -> None:
    """Store an API destination's new configuration."""
    conn.execute(
        api_destinations.update()
        .where(_owned(api_destinations, owner, destination.name))
        .values(connection_arn=destination.connection_arn, document=destination.document())
    )


def delete_destination(conn: Conn, owner: Caller, name: str) -> None:
    """Delete an API destination; ResourceNotFoundException when missing."""
    get_destination(conn, owner, name)
    conn.execute(api_destinations.delete().where(_owned(api_destinations, owner, name)))


def list_destinations(
    conn: Conn,
    owner: Caller,
    prefix: str | None,
    connection_arn: str | None,
    after: str | None,
    limit: int,
) -> list[ApiDestination]:
    """Up to ``limit`` API destinations in name order after the name ``after``, filtered."""
    query = sa.select(api_destinations.c.document).where(_in(api_destinations, owner))
    if prefix:
        query = query.where(api_destinations.c.name.startswith(prefix, autoescape=True))
    if connection_arn:
        query = query.where(api_destinations.c.connection_arn == connection_arn)
    if after is not None:
        query = query.where(api_destinations.c.name > after)
    rows = conn.execute(query.order_by(api_destinations.c.name).limit(limit)).all()
    return [ApiDestination.from_document(row.document) for row in rows]
