"""Published versions: PublishVersion, ListVersionsByFunction, a version's configuration and
its deletion.

A version is an immutable copy of ``$LATEST``'s configuration and code at publication,
numbered from 1 per function; numbers are never reused. Publishing with nothing changed since
the last version answers that version instead of making another, as Lambda does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.functions.configuration import invalid, timestamp
from batchyard.functions.registry import Function, owned, scoped, stale_revision
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.tables.functions import aliases, code, functions, versions

# NotFound for function ``name`` of an owner, qualified by ``version``.
Missing = Callable[[Caller, str, str | None], ServiceError]


def _version(function: Any, values: Mapping[str, Any] | sa.RowMapping) -> Function:
    """The version with column ``values`` of the function in row ``function``."""
    return Function(
        owner=Caller(function.account_id, function.region), name=function.name,
        arn=function.arn, config=dict(values["config"]),
        code=dict(values["code"]), tags=dict(function.tags), revision_id=values["revision_id"],
        last_modified=values["last_modified"], version=str(values["version"]),
        reserved_concurrency=function.reserved_concurrency,
    )


def _function_row(connection: Connection, owner: Caller, name: str) -> sa.Row[Any] | None:
    return connection.execute(sa.select(functions).where(owned(functions, owner, name))).first()


def _same(config: dict[str, Any], other: dict[str, Any]) -> bool:
    """Equal but for the description, which each version may set for itself."""
    return {**config, "Description": ""} == {**other, "Description": ""}


class Versions:
    """The published versions of every function."""

    def __init__(self, store: Store, missing: Missing) -> None:
        self.store = store
        self.missing = missing

    async def publish(self, owner: Caller, name: str, description: str | None = None,
                      code_sha256: str | None = None, revision_id: str | None = None) -> Function:
        """Publish ``$LATEST`` as the next version (or answer the last one if unchanged)."""

        def write(connection: Connection) -> Function:
            function = _function_row(connection, owner, name)
            if function is None:
                raise self.missing(owner, name, None)
            if revision_id is not None and revision_id != function.revision_id:
                raise stale_revision()
            sha = function.code["sha256"]
            if code_sha256 is not None and code_sha256 != sha:
                raise invalid(
                    f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in "
                    f"$LATEST ({sha}). Please try again with the CodeSHA256 in $LATEST."
                )
            last = connection.execute(
                sa.select(versions).where(owned(versions, owner, name))
                .order_by(versions.c.version.desc()).limit(1)
            ).first()
            if last is not None and last.code["sha256"] == sha and _same(last.config,
                                                                           function.config):
                return _version(function, last._mapping)
            number = function.last_version + 1
            config = dict(function.config)
            if description is not None:
                config["Description"] = description
            zip_row = connection.execute(
                sa.select(code.c.zip).where(owned(code, owner, name))
            ).one()
            values = {
                **scoped(owner), "name": name, "version": number, "config": config,
                "code": function.code,
                "zip": zip_row.zip, "revision_id": str(uuid.uuid4()),
                "last_modified": timestamp(),
            }
            connection.execute(versions.insert().values(**values))
            connection.execute(
                functions.update().where(owned(functions, owner, name))
                .values(last_version=number)
            )
            return _version(function, values)

        return await self.store.write(write)

    async def get(self, owner: Caller, name: str, version: str) -> Function:
        """Version ``version`` of ``name``; the ``missing`` error when it does not exist."""

        def read(connection: Connection) -> Function | None:
            function = _function_row(connection, owner, name)
            if function is None or not version.isdigit():
                return None
            row = connection.execute(
                sa.select(versions).where(owned(versions, owner, name),
                                          versions.c.version == int(version))
            ).first()
            return _version(function, row._mapping) if row is not None else None

        found = await self.store.read(read)
        if found is None:
            raise self.missing(owner, name, version)
        return found

    async def listing(self, owner: Caller, name: str) -> list[Function]:
        """Every published version of ``name``, oldest first."""

        def read(connection: Connection) -> list[Function]:
            function = _function_row(connection, owner, name)
            if function is None:
                raise self.missing(owner, name, None)
            rows = connection.execute(
                sa.select(versions).where(owned(versions, owner, name))
                .order_by(versions.c.version)
            )
            return [_version(function, row._mapping) for row in rows]

        return await self.store.read(read)

    async def delete(self, owner: Caller, name: str, version: str) -> None:
        """Delete one version; refused while an alias points at it."""

        def write(connection: Connection) -> None:
            if _function_row(connection, owner, name) is None or not version.isdigit():
                raise self.missing(owner, name, version)
            referring = sorted(
                row.alias for row in connection.execute(
                    sa.select(aliases.c.alias, aliases.c.document)
                    .where(owned(aliases, owner, name))
                )
                if version in _versions_of(row.document)
            )
            if referring:
                raise ServiceError(
                    "ResourceConflictException",
                    "Unable to delete version because the following aliases reference it: "
                    f"[{', '.join(referring)}]",
                    Type="User",
                )
            deleted = connection.execute(
                versions.delete().where(owned(versions, owner, name),
                                        versions.c.version == int(version))
            )
            if deleted.rowcount == 0:
                raise self.missing(owner, name, version)

        await self.store.write(write)


def _versions_of(document: dict[str, Any]) -> set[str]:
    weights = (document.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return {document["FunctionVersion"], *weights}
