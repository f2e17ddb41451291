"""Functions in the store: create, read, list, update and delete, each committed before return."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from batchyard.aws.caller import Caller
from batchyard.functions.code import CodeBundle
from batchyard.functions.configuration import describe, log_group
from batchyard.functions.names import LATEST
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.tables.functions import aliases, code, functions, pending_events, versions

# Builds the ResourceNotFoundException for function ``name`` of ``owner``.
Missing = Callable[[Caller, str], ServiceError]


def owned(
    table: sa.Table, owner: Caller, name: str, column: str = "name"
) -> sa.ColumnElement[bool]:
    """The rows of ``table`` that belong to function ``name`` of ``owner``."""
    return sa.and_(
        table.c.account_id == owner.account_id, table.c.region == owner.region,
        table.c[column] == name,
    )


def function_key(owner: Caller, name: str) -> str:
    """``<account>/<region>/<name>``: one function among every account's and region's (its
    code directory and its warm pools are named by it)."""
    return f"{owner.account_id}/{owner.region}/{name}"


def scoped(owner: Caller) -> dict[str, str]:
    """The account and region columns of a new row of ``owner``."""
    return {"account_id": owner.account_id, "region": owner.region}


@dataclass(frozen=True)
class Function:
    """One function as stored: its configuration document, code summary and tags."""

    owner: Caller
    name: str
    arn: str
    config: dict[str, Any]
    code: dict[str, Any]
    tags: dict[str, str]
    revision_id: str
    last_modified: str
    # "$LATEST", or the number of a published version (whose config and code never change).
    version: str = LATEST
    # The function's ReservedConcurrentExecutions, shared by all its versions (None: unset).
    reserved_concurrency: int | None = None

    @property
    def key(self) -> str:
        """The :func:`function_key` of this function."""
        return function_key(self.owner, self.name)

    @property
    def timeout(self) -> int:
        return int(self.config["Timeout"])

    @property
    def memory_size(self) -> int:
        return int(self.config["MemorySize"])

    @property
    def handler(self) -> str:
        return str(self.config["Handler"])

    @property
    def runtime(self) -> str:
        return str(self.config["Runtime"])

    @property
    def variables(self) -> dict[str, str]:
        return dict((self.config.get("Environment") or {}).get("Variables") or {})

    @property
    def log_group(self) -> str:
        return log_group(self.name, self.config)

    @property
    def digest(self) -> str:
        return str(self.code["digest"])

    @property
    def layer_digests(self) -> list[str]:
        """The contents of the function's layers, in the order it lists them."""
        return [str(layer["digest"]) for layer in self.config.get("Layers") or []]

    @property
    def qualified_arn(self) -> str:
        """The ARN naming this version (unqualified for ``$LATEST``)."""
        return self.arn if self.version == LATEST else f"{self.arn}:{self.version}"

    def configuration(self) -> dict[str, Any]:
        """The ``FunctionConfiguration`` Lambda answers for this function."""
        return describe(self.name, self.qualified_arn, self.config, self.code, self.revision_id,
                        self.last_modified, self.version)


@dataclass(frozen=True)
class PendingEvent:
    """An accepted Event invocation that has not run yet."""

    request_id: str
    owner: Caller
    function_name: str
    payload: bytes
    attempts: int = 0
    qualifier: str | None = None
    # When it was accepted (epoch seconds): a throttled event is kept for the event age from
    # then.
    accepted: float = field(default_factory=time.time)


def _row(row: Any) -> Function:
    return Function(
        owner=Caller(row.account_id, row.region), name=row.name, arn=row.arn,
        config=dict(row.config), code=dict(row.code),
        tags=dict(row.tags), revision_id=row.revision_id, last_modified=row.last_modified,
        reserved_concurrency=row.reserved_concurrency,
    )


def _conflict(name: str) -> ServiceError:
    return ServiceError("ResourceConflictException", f"Function already exist: {name}",
                        Type="User")


def stale_revision() -> ServiceError:
    """PreconditionFailedException for a RevisionId that is not the current one."""
    return ServiceError(
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the "
        "GetFunction/GetAlias API to retrieve the latest Revision Id",
        Type="User",
    )


def _select(connection: Connection, owner: Caller, name: str) -> Function | None:
    row = connection.execute(sa.select(functions).where(owned(functions, owner, name))).first()
    return _row(row) if row is not None else None


class FunctionRegistry:
    """Durable function records; ``missing`` builds the error for an unknown name."""

    def __init__(self, store: Store, missing: Missing) -> None:
        self.store = store
        self.missing = missing

    async def create(self, owner: Caller, name: str, arn: str, config: dict[str, Any],
                     bundle: CodeBundle, tags: dict[str, str], modified: str) -> Function:
        """Store a new function; ResourceConflictException when the name is taken."""
        record = Function(owner, name, arn, config, bundle.summary(), dict(tags), str(uuid.uuid4()),
                          modified)

        def write(connection: Connection) -> None:
            if _select(connection, owner, name) is not None:
                raise _conflict(name)
            try:
                connection.execute(functions.insert().values(
                    **scoped(owner), name=name, arn=arn, config=config, code=record.code,
                    tags=record.tags,
                    revision_id=record.revision_id, last_modified=modified,
                ))
                connection.execute(code.insert().values(
                    **scoped(owner), name=name, digest=bundle.digest, zip=bundle.zip_bytes,
                ))
            except IntegrityError:
                raise _conflict(name) from None

        await self.store.write(write)
        return record

    async def get(self, owner: Caller, name: str) -> Function:
        """The function called ``name``; the ``missing`` error when there is none."""
        record = await self.store.read(lambda connection: _select(connection, owner, name))
        if record is None:
            raise self.missing(owner, name)
        return record

    async def page(self, owner: Caller, after: str | None, limit: int | None) -> list[Function]:
        """Up to ``limit`` (None: all) of ``owner``'s functions in name order, after the name
        ``after``."""

        def read(connection: Connection) -> list[Function]:
            query = (
                sa.select(functions)
                .where(functions.c.account_id == owner.account_id,
                       functions.c.region == owner.region)
                .order_by(functions.c.name).limit(limit)
            )
            if after is not None:
                query = query.where(functions.c.name > after)
            return [_row(row) for row in connection.execute(query)]

        return await self.store.read(read)

    async def update(
        self,
        owner: Caller,
        name: str,
        change: Callable[[Function], Function],
        expected_revision: str | None,
        bundle: CodeBundle | None = None,
        modified: str | None = None,
    ) -> Function:
        """Apply ``change`` to the current record inside one write; new revision id.

        ``change`` runs in the writer, so two concurrent updates never lose each other.
        """

        def write(connection: Connection) -> Function:
            current = _select(connection, owner, name)
            if current is None:
                raise self.missing(owner, name)
            if expected_revision is not None and expected_revision != current.revision_id:
                raise stale_revision()
            changed = change(current)
            record = Function(
                owner, name, current.arn, changed.config, changed.code, changed.tags,
                str(uuid.uuid4()), modified or current.last_modified,
                reserved_concurrency=current.reserved_concurrency,
            )
            connection.execute(functions.update().where(owned(functions, owner, name)).values(
                config=record.config, code=record.code, tags=record.tags,
                revision_id=record.revision_id, last_modified=record.last_modified,
            ))
            if bundle is not None:
                connection.execute(code.update().where(owned(code, owner, name)).values(
                    digest=bundle.digest, zip=bundle.zip_bytes,
                ))
            return record

        return await self.store.write(write)

    async def delete(self, owner: Caller, name: str) -> Function:
        """Remove the function, its code and its pending events; the record it had."""

        def write(connection: Connection) -> Function:
            current = _select(connection, owner, name)
            if current is None:
                raise self.missing(owner, name)
            for table in (functions, code, versions, aliases):
                connection.execute(table.delete().where(owned(table, owner, name)))
            connection.execute(pending_events.delete().where(
                owned(pending_events, owner, name, "function_name")
            ))
            return current

        return await self.store.write(write)

    async def usage(self, owner: Caller) -> tuple[int, int]:
        """How many functions ``owner`` has, and the bytes of their code and versions."""

        def read(connection: Connection) -> tuple[int, int]:
            count, size = 0, 0
            for table in (functions, versions):
                query = sa.select(table.c.code).where(table.c.account_id == owner.account_id,
                                                      table.c.region == owner.region)
                for (summary,) in connection.execute(query):
                    count += table is functions
                    size += int(summary["size"])
            return count, size

        return await self.store.read(read)

    async def digests(self) -> dict[str, set[str]]:
        """The code digests each function (by its :func:`function_key`) still uses: its
        ``$LATEST``'s and its versions'."""

        def read(connection: Connection) -> dict[str, set[str]]:
            found: dict[str, set[str]] = {}
            for table in (functions, versions):
                query = sa.select(table.c.account_id, table.c.region, table.c.name, table.c.code)
                for row in connection.execute(query):
                    key = function_key(Caller(row.account_id, row.region), row.name)
                    found.setdefault(key, set()).add(row.code["digest"])
            return found

        return await self.store.read(read)

    async def zip_bytes(self, owner: Caller, name: str, digest: str) -> bytes | None:
        """The stored zip of ``name`` whose code is ``digest``: $LATEST's or a version's."""

        def read(connection: Connection) -> bytes | None:
            row = connection.execute(
                sa.select(code.c.zip).where(owned(code, owner, name), code.c.digest == digest)
            ).first()
            if row is None:
                row = connection.execute(
                    sa.select(versions.c.zip).where(
                        owned(versions, owner, name),
                        versions.c.code["digest"].as_string() == digest,
                    ).limit(1)
                ).first()
            return bytes(row.zip) if row is not None else None

        return await self.store.read(read)

    async def add_pending(self, event: PendingEvent) -> bool:
        """Record an accepted Event invocation before it is acknowledged; False (nothing
        written) when its request id is taken already."""
        try:
            await self.store.write(lambda connection: connection.execute(
                pending_events.insert().values(
                    **scoped(event.owner), request_id=event.request_id,
                    function_name=event.function_name, payload=event.payload,
                    accepted=event.accepted, qualifier=event.qualifier,
                )
            ))
        except IntegrityError:
            return False
        return True

    async def count_attempt(self, request_id: str, attempts: int) -> None:
        """Record that an Event invocation has been tried ``attempts`` times."""
        await self.store.write(lambda connection: connection.execute(
            pending_events.update().where(pending_events.c.request_id == request_id)
            .values(attempts=attempts)
        ))

    async def remove_pending(self, request_id: str) -> None:
        """Forget an Event invocation that has run."""
        await self.store.write(lambda connection: connection.execute(
            pending_events.delete().where(pending_events.c.request_id == request_id)
        ))

    async def pending(self) -> list[PendingEvent]:
        """Every accepted Event invocation not yet run, oldest first."""

        def read(connection: Connection) -> list[PendingEvent]:
            rows = connection.execute(
                sa.select(pending_events).order_by(pending_events.c.accepted)
            )
            return [PendingEvent(r.request_id, Caller(r.account_id, r.region, r.request_id),
                                 r.function_name, bytes(r.payload), r.attempts, r.qualifier,
                                 r.accepted)
                    for r in rows]

        return await self.store.read(read)
