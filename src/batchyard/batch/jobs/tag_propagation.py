"""``propagateTags``: the tags a job's task is created with, and the limit on them.

With ``propagateTags`` the task carries the job definition's tags and the job's, the job's
winning on a shared key. More than 50 together and the job fails instead of starting, as AWS
moves it to FAILED. An array child or a multi-node node carries its job's tags.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from batchyard.batch.arrays import children
from batchyard.batch.multinode import nodes
from batchyard.batch.resources import tags

MAX_PROPAGATED_TAGS = 50
TOO_MANY_TAGS = (
    f"Tags could not be propagated: the job and its job definition have more than "
    f"{MAX_PROPAGATED_TAGS} tags combined."
)


def owner_arn(document: dict[str, Any]) -> str:
    """The ARN the job's tags are kept on: its own, or its array's or multi-node job's."""
    arn = str(document["jobArn"])
    for split, separator in ((children.split, children.SEPARATOR), (nodes.split, nodes.SEPARATOR)):
        member = split(document["jobId"])
        if member is not None:
            return arn.removesuffix(f"{separator}{member[1]}")
    return arn


def propagated(conn: Connection, document: dict[str, Any]) -> dict[str, str]:
    """The tags the job's task is created with; empty without ``propagateTags``."""
    if not document.get("propagateTags"):
        return {}
    return {
        **tags.get_tags(conn, document["jobDefinition"]),
        **tags.get_tags(conn, owner_arn(document)),
    }


def refusal(document: dict[str, Any], conn: Connection) -> str | None:
    """Why the job's task cannot be created with its tags, None when it can (a store read:
    the connection comes last)."""
    return TOO_MANY_TAGS if len(propagated(conn, document)) > MAX_PROPAGATED_TAGS else None
