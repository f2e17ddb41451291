"""Rows of the named resource tables and the tags of every taggable Batch resource.

Compute environments, job queues and scheduling policies share one table shape (``seq``,
``account_id``, ``region``, ``name``, ``arn``, ``document``). A reference a client sends is a
name, looked up in the caller's account and region, or an ARN, which names nothing unless it
is in them. Reads for the scheduler (``caller`` None) see every account and region.

Tags live apart, keyed by ARN (``batch_tags``), so jobs and consumable resources use the same
store; :class:`ResourceTags` knows which resource types are taggable and how to tell whether
an ARN names one that exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection, Table

from batchyard.aws import arns
from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.aws.lifecycle import TRANSITIONAL, Status
from batchyard.aws.tags import TagTable
from batchyard.batch.errors import PAGER, TAG_RULES, client_error
from batchyard.batch.resources.model import Page, State
from batchyard.store.tables.batch_resources import tags as tags_table

# Whether ``arn`` names a live resource of its type in the caller's account and region.
Exists = Callable[[Connection, Caller, str], bool]
R = TypeVar("R", bound="Named")
S = TypeVar("S", bound="Settling")


class Named(Protocol):
    """A named resource."""

    name: str
    arn: str
    tags: dict[str, str] | None

    def to_document(self) -> JsonObject: ...


class Settling(Named, Protocol):
    """A resource whose status settles asynchronously."""

    status: Status
    status_reason: str


class Stateful(Settling, Protocol):
    """A resource that is ENABLED or DISABLED (compute environments, job queues)."""

    state: State


BEING_MODIFIED = "Cannot delete, resource is being modified"
NOT_DISABLED = "Cannot delete, resource is not in DISABLED state"
MAX_REFERENCES = 100


@cache
def _by_name(table: Table) -> sa.Select[Any]:
    # Built once per table: SubmitJob looks its queue up on every call.
    column = table.c
    return sa.select(column.document).where(
        column.account_id == sa.bindparam("account"),
        column.region == sa.bindparam("region"),
        column.name == sa.bindparam("reference"),
    )


@cache
def _by_arn(table: Table) -> sa.Select[Any]:
    return sa.select(table.c.document).where(table.c.arn == sa.bindparam("reference"))


def _scope(table: Table, caller: Caller | None) -> list[sa.ColumnElement[bool]]:
    if caller is None:
        return []
    return [table.c.account_id == caller.account_id, table.c.region == caller.region]


def find(
    connection: Connection, table: Table, caller: Caller | None, reference: str
) -> JsonObject | None:
    """The document of the row named or ARN'd by ``reference``, None when absent."""
    if arns.is_arn(reference):
        if caller is not None and not caller.owns(reference):
            return None
        row = connection.execute(_by_arn(table), {"reference": reference}).first()
    elif caller is None:
        raise ValueError("a lookup by name needs the caller's account and region")
    else:
        row = connection.execute(
            _by_name(table),
            {"account": caller.account_id, "region": caller.region, "reference": reference},
        ).first()
    return dict(row[0]) if row else None


def find_many(
    connection: Connection, table: Table, caller: Caller | None, references: Iterable[str]
) -> list[tuple[int, JsonObject]]:
    """(seq, document) of the rows named by ``references`` (names or ARNs), in seq order."""
    wanted = list(references)
    names = [ref for ref in wanted if not arns.is_arn(ref)]
    arn_list = [ref for ref in wanted if arns.is_arn(ref)]
    rows = connection.execute(
        sa.select(table.c.seq, table.c.document)
        .where(table.c.name.in_(names) | table.c.arn.in_(arn_list), *_scope(table, caller))
        .order_by(table.c.seq)
    )
    return [(seq, dict(document)) for seq, document in rows]


def exists(connection: Connection, table: Table, caller: Caller, name: str) -> bool:
    """True when a row named ``name`` exists in the caller's account and region."""
    query = sa.select(table.c.seq).where(table.c.name == name, *_scope(table, caller))
    return connection.execute(query).first() is not None


def add(
    connection: Connection,
    table: Table,
    caller: Caller,
    name: str,
    arn: str,
    document: JsonObject,
) -> None:
    """Insert a new row in the caller's account and region."""
    connection.execute(
        sa.insert(table).values(
            account_id=caller.account_id,
            region=caller.region,
            name=name,
            arn=arn,
            document=document,
        )
    )


def replace(connection: Connection, table: Table, arn: str, document: JsonObject) -> None:
    """Store ``document`` as the new document of row ``arn``."""
    connection.execute(sa.update(table).where(table.c.arn == arn).values(document=document))


def remove(connection: Connection, table: Table, arn: str) -> None:
    """Delete row ``arn``."""
    connection.execute(sa.delete(table).where(table.c.arn == arn))


def page(
    connection: Connection, table: Table, caller: Caller, after: int | None, size: int
) -> list[tuple[int, JsonObject]]:
    """Up to ``size + 1`` (seq, document) rows after seq ``after``, in creation order."""
    query = (
        sa.select(table.c.seq, table.c.document)
        .where(*_scope(table, caller))
        .order_by(table.c.seq)
        .limit(size + 1)
    )
    if after is not None:
        query = query.where(table.c.seq > after)
    return [(seq, dict(document)) for seq, document in connection.execute(query)]


def all_documents(connection: Connection, table: Table, caller: Caller | None) -> list[JsonObject]:
    """Every document of ``table`` (in the caller's account and region) in creation order."""
    rows = connection.execute(
        sa.select(table.c.document).where(*_scope(table, caller)).order_by(table.c.seq)
    )
    return [dict(document) for (document,) in rows]


def save(connection: Connection, table: Table, resource: Named) -> None:
    """Store ``resource``'s document as it is now."""
    replace(connection, table, resource.arn, resource.to_document())


def start_deleting(connection: Connection, table: Table, resource: Stateful) -> None:
    """Refuse to delete a resource that is changing or ENABLED; else it goes DELETING."""
    if resource.status in TRANSITIONAL:
        raise client_error(BEING_MODIFIED)
    if resource.state != State.DISABLED:
        raise client_error(NOT_DISABLED)
    resource.status = Status.DELETING
    resource.status_reason = "Delete in progress"
    save(connection, table, resource)


@dataclass(frozen=True, slots=True)
class Kind(Generic[R]):
    """How one kind of named resource is kept: its table, the member its Describe request
    names resources in, and how a stored document becomes the resource."""

    table: Table
    member: str
    convert: Callable[[JsonObject], R]


def describe(
    connection: Connection,
    kind: Kind[R],
    caller: Caller,
    references: list[str] | None,
    token: str | None,
    size: int,
    tags: ResourceTags,
) -> Page[R]:
    """One page of a Describe* listing: the resources named by ``references`` (at most 100;
    all when None), with their tags."""
    if references is not None and len(references) > MAX_REFERENCES:
        raise client_error(f"{kind.member} can contain at most {MAX_REFERENCES} entries.")
    listing = f"Describe:{kind.member}"
    after = PAGER.decode_int(listing, token)
    if references is None:
        rows = page(connection, kind.table, caller, after, size)
    else:
        found = find_many(connection, kind.table, caller, references)
        rows = [row for row in found if after is None or row[0] > after][: size + 1]
    resources, next_token = PAGER.keyed_page(
        listing, [(seq, kind.convert(document)) for seq, document in rows], size
    )
    current = tags.get_many(connection, [resource.arn for resource in resources])
    for resource in resources:
        resource.tags = current.get(resource.arn, {})
    return Page(resources, next_token)


def settle(
    connection: Connection,
    arn: str,
    *,
    kind: Kind[S],
    tags: ResourceTags,
    health: Callable[[S], tuple[Status, str]],
) -> tuple[str, S] | None:
    """Commit the settled status of resource ``arn``: a DELETING one goes (with its tags),
    others take ``health(resource)``. Returns (action, resource) to announce, None if it was
    settled already."""
    table = kind.table
    document = find(connection, table, None, arn)
    if document is None:
        return None
    resource = kind.convert(document)
    if resource.status not in TRANSITIONAL:
        return None
    if resource.status == Status.DELETING:
        remove(connection, table, arn)
        tags.drop(connection, arn)
        resource.status, resource.status_reason = Status.DELETED, "Deleted"
        return "deleted", resource
    resource.status, resource.status_reason = health(resource)
    save(connection, table, resource)
    return "status", resource


def pending(connection: Connection, table: Table) -> list[str]:
    """ARNs of the rows left in a transitional status (CREATING, UPDATING, DELETING)."""
    rows = connection.execute(sa.select(table.c.arn, table.c.document))
    return [
        arn
        for arn, document in rows
        if document.get("status") in ("CREATING", "UPDATING", "DELETING")
    ]


class ResourceTags:
    """The tags of every taggable Batch resource, with AWS's limits.

    ``taggable`` maps a resource type (``job-queue``, ``job`` ...) to how to tell whether an
    ARN of that type names a live resource of the caller's.
    """

    def __init__(self, taggable: Mapping[str, Exists]) -> None:
        self._table = TagTable(tags_table)
        self._taggable = dict(taggable)

    def get(self, connection: Connection, arn: str) -> dict[str, str]:
        """The tags of ``arn``."""
        return self._table.get(connection, arn)

    def get_many(self, connection: Connection, arns_: Iterable[str]) -> dict[str, dict[str, str]]:
        """Tags of several resources: ARN -> tags (ARNs without tags are absent)."""
        return self._table.get_many(connection, arns_)

    def add(self, connection: Connection, arn: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite ``tags`` on ``arn``; the combined set must stay within the limit."""
        if not tags:
            return
        TAG_RULES.check(arn, tags, self._table.get(connection, arn))
        self._table.put(connection, arn, tags)

    def remove(self, connection: Connection, arn: str, keys: Iterable[str]) -> None:
        """Remove the tags named ``keys`` from ``arn``; unknown keys are ignored."""
        self._table.remove(connection, arn, keys)

    def drop(self, connection: Connection, arn: str) -> None:
        """Forget every tag of ``arn`` (the resource is gone)."""
        self._table.drop(connection, arn)

    def drop_many(self, connection: Connection, arns_: list[str]) -> None:
        """Forget every tag of the resources ``arns_`` (purged jobs)."""
        connection.execute(sa.delete(tags_table).where(tags_table.c.resource_arn.in_(arns_)))

    def require_taggable(self, connection: Connection, caller: Caller, arn: str) -> None:
        """Raise ClientException unless ``arn`` names an existing taggable resource of the
        caller's account and region."""
        parsed = arns.parse(arn, "batch")
        if parsed is None:
            raise client_error(f"Invalid resource ARN: {arn}")
        exists = self._taggable.get(parsed.resource_type)
        if exists is None:
            raise client_error(f"Resource type {parsed.resource_type} does not support tagging.")
        if not caller.owns(arn) or not exists(connection, caller, arn):
            raise client_error(f"Resource {arn} does not exist.")
