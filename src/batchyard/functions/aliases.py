"""Aliases: a name for one version of a function (``$LATEST`` or a published one), optionally
sending a share of invocations to a second version (``RoutingConfig``)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from batchyard.aws.caller import Caller
from batchyard.functions.configuration import invalid
from batchyard.functions.names import LATEST
from batchyard.functions.registry import owned, scoped, stale_revision
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.tables.functions import aliases, functions, versions

# The ARN of function ``name`` of an owner, qualified by ``qualifier``.
ArnOf = Callable[[Caller, str, str | None], str]
# NotFound for function ``name`` of an owner, qualified by a version.
Missing = Callable[[Caller, str, str | None], ServiceError]
_MEMBERS = ("FunctionVersion", "Description", "RoutingConfig")


def _not_found(arn: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Alias not found: {arn}", Type="User")


def _version_exists(connection: Connection, owner: Caller, name: str, version: str) -> bool:
    if version == LATEST:
        return True
    if not version.isdigit():
        return False
    found = connection.execute(
        sa.select(versions.c.version).where(owned(versions, owner, name),
                                            versions.c.version == int(version))
    ).first()
    return found is not None


def pick_version(document: dict[str, Any]) -> str:
    """The version one invocation through the alias runs: the additional version with its
    weight's probability, else the alias's own."""
    weights = (document.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    roll = random.random()
    for version, weight in weights.items():
        if roll < weight:
            return str(version)
        roll -= weight
    return str(document["FunctionVersion"])


class Aliases:
    """The aliases of every function."""

    def __init__(self, store: Store, arn_of: ArnOf, missing_function: Missing) -> None:
        self.store = store
        self.arn_of = arn_of
        self.missing_function = missing_function

    def describe(self, owner: Caller, name: str, alias: str, document: dict[str, Any],
                 revision_id: str) -> dict[str, Any]:
        """The AliasConfiguration API shape."""
        out = {"AliasArn": self.arn_of(owner, name, alias), "Name": alias, **document,
               "RevisionId": revision_id}
        out.setdefault("Description", "")
        return out

    def _check(self, connection: Connection, owner: Caller, name: str,
               document: dict[str, Any]) -> None:
        if connection.execute(
            sa.select(functions.c.name).where(owned(functions, owner, name))
        ).first() is None:
            raise self.missing_function(owner, name, None)
        version = document["FunctionVersion"]
        if not _version_exists(connection, owner, name, version):
            raise self.missing_function(owner, name, version)
        weights = (document.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if len(weights) > 1:
            raise invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")
        for extra, weight in weights.items():
            if version == LATEST or extra == LATEST:
                raise invalid("$LATEST is not supported for an alias pointing to more than 1 "
                              "version")
            if extra == version:
                raise invalid(f"Invalid function version {extra}. Function version {extra} is "
                              "already included in routing configuration.")
            if not _version_exists(connection, owner, name, extra):
                raise self.missing_function(owner, name, extra)
            if not 0 <= weight <= 1:
                raise invalid("Routing weights must be between 0.0 and 1.0")

    async def create(self, owner: Caller, name: str, alias: str,
                     params: dict[str, Any]) -> dict[str, Any]:
        """CreateAlias; ResourceConflictException when the alias exists."""
        document = {k: params[k] for k in _MEMBERS if params.get(k) is not None}
        revision_id = str(uuid.uuid4())

        def write(connection: Connection) -> None:
            self._check(connection, owner, name, document)
            try:
                connection.execute(aliases.insert().values(
                    **scoped(owner), name=name, alias=alias, document=document,
                    revision_id=revision_id,
                ))
            except IntegrityError:
                raise ServiceError(
                    "ResourceConflictException",
                    f"Alias already exists: {self.arn_of(owner, name, alias)}", Type="User",
                ) from None

        await self.store.write(write)
        return self.describe(owner, name, alias, document, revision_id)

    async def get(self, owner: Caller, name: str, alias: str) -> dict[str, Any]:
        """GetAlias: the alias's configuration; ResourceNotFoundException when missing."""
        row = await self.store.read(lambda connection: connection.execute(
            sa.select(aliases).where(owned(aliases, owner, name), aliases.c.alias == alias)
        ).first())
        if row is None:
            raise _not_found(self.arn_of(owner, name, alias))
        return self.describe(owner, name, alias, dict(row.document), row.revision_id)

    async def update(self, owner: Caller, name: str, alias: str,
                     params: dict[str, Any]) -> dict[str, Any]:
        """UpdateAlias: change the given members; PreconditionFailed on a stale RevisionId."""

        def write(connection: Connection) -> dict[str, Any]:
            row = connection.execute(
                sa.select(aliases).where(owned(aliases, owner, name), aliases.c.alias == alias)
            ).first()
            if row is None:
                raise _not_found(self.arn_of(owner, name, alias))
            expected = params.get("RevisionId")
            if expected is not None and expected != row.revision_id:
                raise stale_revision()
            document = dict(row.document)
            document.update({k: params[k] for k in _MEMBERS if params.get(k) is not None})
            self._check(connection, owner, name, document)
            revision_id = str(uuid.uuid4())
            connection.execute(
                aliases.update().where(owned(aliases, owner, name), aliases.c.alias == alias)
                .values(document=document, revision_id=revision_id)
            )
            return self.describe(owner, name, alias, document, revision_id)

        return await self.store.write(write)

    async def delete(self, owner: Caller, name: str, alias: str) -> None:
        """DeleteAlias; ResourceNotFoundException when there is no such alias."""
        deleted = await self.store.write(lambda connection: connection.execute(
            aliases.delete().where(owned(aliases, owner, name), aliases.c.alias == alias)
        ).rowcount)
        if not deleted:
            raise _not_found(self.arn_of(owner, name, alias))

    async def listing(self, owner: Caller, name: str,
                      version: str | None) -> list[dict[str, Any]]:
        """ListAliases: the aliases of ``name`` by name, only those of ``version`` if given."""

        def read(connection: Connection) -> list[Any]:
            if connection.execute(
                sa.select(functions.c.name).where(owned(functions, owner, name))
            ).first() is None:
                raise self.missing_function(owner, name, None)
            return list(connection.execute(
                sa.select(aliases).where(owned(aliases, owner, name))
                .order_by(aliases.c.alias)
            ))

        rows = await self.store.read(read)
        return [
            self.describe(owner, name, row.alias, dict(row.document), row.revision_id)
            for row in rows
            if version is None or row.document["FunctionVersion"] == version
        ]
