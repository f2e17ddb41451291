"""Row access shared by the named resource tables (compute environments, job queues,
scheduling policies): look up by name or ARN, insert, replace, delete, page through.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, delete, insert, select, update

from batchyard.batch.resources import tags
from batchyard.batch.resources.names import is_arn
from batchyard.batch.resources.pagination import paginate


@cache
def _find_by(table: Table, column: str) -> Select[Any]:
    # Built once per table and column: SubmitJob looks its queue up on every call.
    return select(table.c.document).where(table.c[column] == bindparam("reference"))


def find(connection: Connection, table: Table, reference: str) -> dict[str, Any] | None:
    """The document of the row whose name or ARN is ``reference``, None when absent."""
    statement = _find_by(table, "arn" if is_arn(reference) else "name")
    row = connection.execute(statement, {"reference": reference}).first()
    return dict(row[0]) if row else None


def find_many(
    connection: Connection, table: Table, references: list[str]
) -> list[tuple[int, dict[str, Any]]]:
    """(seq, document) of the rows named by ``references`` (names or ARNs), in seq order."""
    names = [ref for ref in references if not is_arn(ref)]
    arns = [ref for ref in references if is_arn(ref)]
    rows = connection.execute(
        select(table.c.seq, table.c.document)
        .where(table.c.name.in_(names) | table.c.arn.in_(arns))
        .order_by(table.c.seq)
    )
    return [(seq, dict(document)) for seq, document in rows]


def exists(connection: Connection, table: Table, name: str) -> bool:
    """True when a row named ``name`` exists."""
    return connection.execute(select(table.c.seq).where(table.c.name == name)).first() is not None


def exists_arn(connection: Connection, table: Table, arn: str) -> bool:
    """True when a row with ARN ``arn`` exists."""
    return connection.execute(select(table.c.seq).where(table.c.arn == arn)).first() is not None


def add(
    connection: Connection, table: Table, name: str, arn: str, document: dict[str, Any]
) -> None:
    """Insert a new row."""
    connection.execute(insert(table).values(name=name, arn=arn, document=document))


def replace(connection: Connection, table: Table, name: str, document: dict[str, Any]) -> None:
    """Store ``document`` as the new document of row ``name``."""
    connection.execute(update(table).where(table.c.name == name).values(document=document))


def remove(connection: Connection, table: Table, name: str) -> None:
    """Delete row ``name``."""
    connection.execute(delete(table).where(table.c.name == name))


def page(
    connection: Connection, table: Table, after: int | None, size: int
) -> list[tuple[int, dict[str, Any]]]:
    """Up to ``size + 1`` (seq, document) rows after seq ``after``, in creation order."""
    query = select(table.c.seq, table.c.document).order_by(table.c.seq).limit(size + 1)
    if after is not None:
        query = query.where(table.c.seq > after)
    return [(seq, dict(document)) for seq, document in connection.execute(query)]


def all_documents(connection: Connection, table: Table) -> list[dict[str, Any]]:
    """Every document of ``table`` in creation order."""
    rows = connection.execute(select(table.c.document).order_by(table.c.seq))
    return [dict(document) for (document,) in rows]


def describe_page(
    connection: Connection,
    table: Table,
    listing: str,
    references: list[str] | None,
    after: int | None,
    size: int,
    arn_key: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a Describe* listing (the named rows, or all), each document with its tags."""
    if references is None:
        rows = page(connection, table, after, size)
    else:
        matches = find_many(connection, table, references)
        rows = [row for row in matches if after is None or row[0] > after][: size + 1]
    documents, token = paginate(listing, rows, size)
    found = tags.tags_of(connection, [document[arn_key] for document in documents])
    for document in documents:
        document["tags"] = found.get(document[arn_key], {})
    return documents, token
