"""The tag store of every taggable Batch resource, keyed by ARN.

Resource families register how to tell whether an ARN names a live resource of theirs
(``register_taggable("job", exists)``); TagResource / UntagResource / ListTagsForResource then
work for them without further code. Tags follow AWS's rules: at most 50 per resource, keys
1-128 characters, values 0-256, and the ``aws:`` prefix is reserved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from batchyard.batch.resources.names import client_error, parse_arn
from batchyard.runtime import Runtime
from batchyard.store.tables.batch_resources import tags as tags_table

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256

Exists = Callable[[Connection, str], bool]

_taggable: dict[str, Exists] = {}


def register_taggable(resource_type: str, exists: Exists) -> None:
    """Make ARNs of ``resource_type`` (``job``, ``consumable-resource`` ...) taggable.

    ``exists(connection, arn)`` answers whether the ARN names a resource that exists now.
    """
    _taggable[resource_type] = exists


def validate_tags(tags: Mapping[str, str]) -> None:
    """Raise AWS's ClientException for tags that break the tagging rules."""
    if len(tags) > MAX_TAGS:
        raise client_error(f"A resource can have at most {MAX_TAGS} tags.")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_KEY:
            raise client_error(f"Tag keys must be between 1 and {MAX_KEY} characters long.")
        if len(value) > MAX_VALUE:
            raise client_error(f"Tag values must be at most {MAX_VALUE} characters long.")
        if key.lower().startswith("aws:"):
            raise client_error("Tag keys starting with 'aws:' are reserved for AWS use.")


def validate_tag_keys(keys: Iterable[str]) -> None:
    """Raise AWS's ClientException for tag keys that could never exist."""
    for key in keys:
        if not 1 <= len(key) <= MAX_KEY:
            raise client_error(f"Tag keys must be between 1 and {MAX_KEY} characters long.")


def require_taggable(connection: Connection, arn: str) -> None:
    """Raise ClientException unless ``arn`` names an existing taggable resource."""
    parsed = parse_arn(arn)
    if parsed is None:
        raise client_error(f"Invalid resource ARN: {arn}")
    exists = _taggable.get(parsed[2])
    if exists is None:
        raise client_error(f"Resource type {parsed[2]} does not support tagging.")
    if not exists(connection, arn):
        raise client_error(f"Resource {arn} does not exist.")


def get_tags(connection: Connection, arn: str) -> dict[str, str]:
    """The tags of the resource ``arn`` (empty when it has none)."""
    rows = connection.execute(
        select(tags_table.c.key, tags_table.c.value).where(tags_table.c.resource_arn == arn)
    )
    return {key: value for key, value in rows}


def tags_of(connection: Connection, arns: Iterable[str]) -> dict[str, dict[str, str]]:
    """Tags of several resources at once: ARN -> tags (ARNs without tags are absent)."""
    wanted = list(arns)
    result: dict[str, dict[str, str]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = connection.execute(
            select(tags_table.c.resource_arn, tags_table.c.key, tags_table.c.value).where(
                tags_table.c.resource_arn.in_(chunk)
            )
        )
        for arn, key, value in rows:
            result.setdefault(arn, {})[key] = value
    return result


def add_tags(connection: Connection, arn: str, tags: Mapping[str, str]) -> None:
    """Add or overwrite ``tags`` on ``arn``; the combined set must stay within the limit."""
    validate_tags(tags)
    current = get_tags(connection, arn)
    if len({**current, **tags}) > MAX_TAGS:
        raise client_error(f"A resource can have at most {MAX_TAGS} tags.")
    if not tags:
        return
    connection.execute(
        delete(tags_table).where(tags_table.c.resource_arn == arn, tags_table.c.key.in_(list(tags)))
    )
    connection.execute(
        insert(tags_table),
        [{"resource_arn": arn, "key": key, "value": value} for key, value in tags.items()],
    )


def remove_tags(connection: Connection, arn: str, keys: Iterable[str]) -> None:
    """Remove the tags named in ``keys`` from ``arn``; unknown keys are ignored."""
    wanted = list(keys)
    if wanted:
        connection.execute(
            delete(tags_table).where(tags_table.c.resource_arn == arn, tags_table.c.key.in_(wanted))
        )


def drop_tags(connection: Connection, arn: str) -> None:
    """Forget every tag of ``arn`` (the resource is gone)."""
    connection.execute(delete(tags_table).where(tags_table.c.resource_arn == arn))


async def tag_resource(runtime: Runtime, params: dict[str, Any]) -> None:
    """TagResource: add or overwrite tags on any registered taggable resource."""
    arn, new_tags = params["resourceArn"], params["tags"]
    validate_tags(new_tags)

    def write(connection: Connection) -> None:
        require_taggable(connection, arn)
        add_tags(connection, arn, new_tags)

    await runtime.store.write(write)


async def untag_resource(runtime: Runtime, params: dict[str, Any]) -> None:
    """UntagResource: remove the named tag keys."""
    arn, keys = params["resourceArn"], params["tagKeys"]
    validate_tag_keys(keys)

    def write(connection: Connection) -> None:
        require_taggable(connection, arn)
        remove_tags(connection, arn, keys)

    await runtime.store.write(write)


async def list_tags_for_resource(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """ListTagsForResource."""
    arn = params["resourceArn"]

    def read(connection: Connection) -> dict[str, str]:
        require_taggable(connection, arn)
        return get_tags(connection, arn)

    return {"tags": await runtime.store.read(read)}
