"""Tags: AWS's tagging rules, and the table of tags of ARN-keyed resources.

Every service checks the same limits (50 tags a resource, keys of 1-128 characters, values of
at most 256, the ``aws:`` prefix reserved) and answers with its own error; each passes its
texts in a :class:`TagRules`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, Table

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
RESERVED_PREFIX = "aws:"
# ARNs per IN list when reading the tags of many resources.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class TagRules:
    """The checks of one service; each ``*_error`` makes that service's error from a text."""

    too_many: Callable[[str], Exception]
    invalid: Callable[[str], Exception]
    check_reserved: bool = True

    def check(self, arn: str, tags: Mapping[str, str], existing: Iterable[str] = ()) -> None:
        """Raise the service's error when ``tags`` added to ``existing`` keys break a rule."""
        if len(set(existing) | set(tags)) > MAX_TAGS:
            raise self.too_many(
                f"Too many tags: the resource {arn} can have at most {MAX_TAGS} tags"
            )
        for key, value in tags.items():
            self.check_key(key)
            if len(value) > MAX_VALUE:
                raise self.invalid(f"Tag values must be at most {MAX_VALUE} characters long.")
            if self.check_reserved and key.lower().startswith(RESERVED_PREFIX):
                raise self.invalid("Tag keys starting with 'aws:' are reserved for AWS use.")

    def check_key(self, key: str) -> None:
        """Raise the service's error for a key that could never exist."""
        if not 1 <= len(key) <= MAX_KEY:
            raise self.invalid(f"Tag keys must be between 1 and {MAX_KEY} characters long.")


class TagTable:
    """Tags kept in a table of ``(resource_arn, key, value)`` rows."""

    def __init__(self, table: Table) -> None:
        self._table = table
        column = table.c
        self._list = (
            sa.select(column.key, column.value)
            .where(column.resource_arn == sa.bindparam("arn"))
            .order_by(column.key)
        )

    def get(self, conn: Connection, arn: str) -> dict[str, str]:
        """The tags of ``arn``, in key order."""
        return {row.key: row.value for row in conn.execute(self._list, {"arn": arn})}

    def get_many(self, conn: Connection, arns: Iterable[str]) -> dict[str, dict[str, str]]:
        """The tags of several resources at once, by ARN (ARNs without tags are absent)."""
        wanted = list(arns)
        column = self._table.c
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(wanted), _CHUNK):
            rows = conn.execute(
                sa.select(column.resource_arn, column.key, column.value).where(
                    column.resource_arn.in_(wanted[start : start + _CHUNK])
                )
            )
            for arn, key, value in rows:
                found.setdefault(arn, {})[key] = value
        return found

    def put(self, conn: Connection, arn: str, tags: Mapping[str, str]) -> None:
        """Add ``tags`` to ``arn``, overwriting values of keys it has."""
        if not tags:
            return
        column = self._table.c
        conn.execute(
            sa.delete(self._table).where(
                column.resource_arn == arn, column.key.in_(list(tags))
            )
        )
        conn.execute(
            sa.insert(self._table),
            [{"resource_arn": arn, "key": key, "value": value} for key, value in tags.items()],
        )

    def remove(self, conn: Connection, arn: str, keys: Iterable[str]) -> None:
        """Remove the tags named ``keys`` from ``arn`` (absent keys are ignored, as AWS does)."""
        column = self._table.c
        conn.execute(
            sa.delete(self._table).where(column.resource_arn == arn, column.key.in_(list(keys)))
        )

    def drop(self, conn: Connection, arn: str) -> None:
        """Forget every tag of a deleted resource."""
        conn.execute(sa.delete(self._table).where(self._table.c.resource_arn == arn))
