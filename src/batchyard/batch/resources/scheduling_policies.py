"""Scheduling policies: Create / Describe / List / Update / Delete.

Public lookup: ``get(connection, arn)`` -> ``{"name", "arn", "fairsharePolicy"?,
"quotaSharePolicy"?}`` (no tags) or None. A ``fairsharePolicy`` is stored with AWS's defaults
filled in (``shareDecaySeconds`` 0, ``computeReservation`` 0, ``weightFactor`` 1.0).
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Connection

from batchyard.batch.resources import compute_environments, records, tags
from batchyard.batch.resources.events import publish
from batchyard.batch.resources.names import SCHEDULING_POLICY, client_error, require_name
from batchyard.batch.resources.pagination import decode_token, page_size, paginate
from batchyard.runtime import Runtime
from batchyard.store.tables.batch_resources import job_queues as queue_table
from batchyard.store.tables.batch_resources import scheduling_policies as table

MAX_SHARE_DECAY_SECONDS = 604800
MAX_COMPUTE_RESERVATION = 99
MAX_SHARES = 500
MAX_SHARE_IDENTIFIER = 255
MIN_WEIGHT = 0.0001
MAX_WEIGHT = 999.9999
MAX_ARNS = 100


def get(connection: Connection, arn: str) -> dict[str, Any] | None:
    """The policy with ARN ``arn`` (no tags), or None."""
    return records.find(connection, table, arn) if arn.startswith("arn:") else None


def _overlaps(first: str, second: str) -> bool:
    def covers(prefix: str, other: str) -> bool:
        return prefix.endswith("*") and other.rstrip("*").startswith(prefix[:-1])

    return first == second or covers(first, second) or covers(second, first)


def _fairshare(policy: dict[str, Any]) -> dict[str, Any]:
    """Validate a ``fairsharePolicy`` and return it with AWS's defaults."""
    decay = policy.get("shareDecaySeconds", 0)
    if not 0 <= decay <= MAX_SHARE_DECAY_SECONDS:
        raise client_error(f"shareDecaySeconds must be between 0 and {MAX_SHARE_DECAY_SECONDS}.")
    reservation = policy.get("computeReservation", 0)
    if not 0 <= reservation <= MAX_COMPUTE_RESERVATION:
        raise client_error(f"computeReservation must be between 0 and {MAX_COMPUTE_RESERVATION}.")
    shares = policy.get("shareDistribution") or []
    if len(shares) > MAX_SHARES:
        raise client_error(f"shareDistribution can contain at most {MAX_SHARES} entries.")
    distribution = []
    for share in shares:
        identifier = share["shareIdentifier"]
        body = identifier[:-1] if identifier.endswith("*") else identifier
        if not 1 <= len(identifier) <= MAX_SHARE_IDENTIFIER or "*" in body:
            raise client_error(
                f"shareIdentifier {identifier} is invalid: it can be up to {MAX_SHARE_IDENTIFIER} "
                "characters long and only a trailing asterisk (*) is allowed."
            )
        weight = share.get("weightFactor", 1.0)
        if not MIN_WEIGHT <= weight <= MAX_WEIGHT:
            raise client_error(f"weightFactor must be between {MIN_WEIGHT} and {MAX_WEIGHT}.")
        for other in distribution:
            if _overlaps(identifier, other["shareIdentifier"]):
                raise client_error(
                    f"shareIdentifier {identifier} overlaps with {other['shareIdentifier']}; "
                    "share identifiers and prefixes must be unique and must not overlap."
                )
        distribution.append({"shareIdentifier": identifier, "weightFactor": float(weight)})
    return {
        "shareDecaySeconds": decay,
        "computeReservation": reservation,
        "shareDistribution": distribution,
    }


def _policies(params: dict[str, Any]) -> dict[str, Any]:
    if params.get("fairsharePolicy") is not None and params.get("quotaSharePolicy") is not None:
        raise client_error("Only one of fairsharePolicy and quotaSharePolicy can be specified.")
    result: dict[str, Any] = {}
    if params.get("quotaSharePolicy") is not None:
        result["quotaSharePolicy"] = copy.deepcopy(params["quotaSharePolicy"])
    else:
        result["fairsharePolicy"] = _fairshare(params.get("fairsharePolicy") or {})
    return result


async def create(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """CreateSchedulingPolicy."""
    name = require_name(params["name"], "Scheduling policy name")
    document = {
        "name": name,
        "arn": runtime.arn("batch", f"{SCHEDULING_POLICY}/{name}"),
        **_policies(params),
    }
    new_tags = params.get("tags") or {}
    tags.validate_tags(new_tags)

    def write(connection: Connection) -> None:
        if records.exists(connection, table, name):
            raise client_error(compute_environments.ALREADY_EXISTS)
        records.add(connection, table, name, document["arn"], document)
        tags.add_tags(connection, document["arn"], new_tags)

    await runtime.store.write(write)
    publish(runtime.bus, SCHEDULING_POLICY, "created", document)
    return {"name": name, "arn": document["arn"]}


async def update(runtime: Runtime, params: dict[str, Any]) -> None:
    """UpdateSchedulingPolicy: replace the policy body."""
    arn = params["arn"]
    body = _policies(params)

    def write(connection: Connection) -> dict[str, Any]:
        document = get(connection, arn)
        if document is None:
            raise client_error(f"Scheduling policy {arn} does not exist")
        if ("quotaSharePolicy" in document) != ("quotaSharePolicy" in body):
            raise client_error(
                "A scheduling policy can't change between fair share and quota share."
            )
        updated = {"name": document["name"], "arn": document["arn"], **body}
        records.replace(connection, table, document["name"], updated)
        return updated

    updated = await runtime.store.write(write)
    publish(runtime.bus, SCHEDULING_POLICY, "updated", updated)


async def delete(runtime: Runtime, params: dict[str, Any]) -> None:
    """DeleteSchedulingPolicy: refused while a job queue uses the policy."""
    arn = params["arn"]

    def write(connection: Connection) -> dict[str, Any]:
        document = get(connection, arn)
        if document is None:
            raise client_error(f"Scheduling policy {arn} does not exist")
        for queue in records.all_documents(connection, queue_table):
            if queue.get("schedulingPolicyArn") == arn:
                raise client_error(compute_environments.HAS_QUEUES)
        records.remove(connection, table, document["name"])
        tags.drop_tags(connection, arn)
        return document

    document = await runtime.store.write(write)
    publish(runtime.bus, SCHEDULING_POLICY, "deleted", document)


async def describe(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeSchedulingPolicies: the named policies that exist, with tags."""
    arns = params["arns"]
    if len(arns) > MAX_ARNS:
        raise client_error(f"arns can contain at most {MAX_ARNS} entries.")

    def read(connection: Connection) -> list[dict[str, Any]]:
        documents = [
            document
            for _, document in records.find_many(
                connection, table, [a for a in arns if a.startswith("arn:")]
            )
        ]
        found = tags.tags_of(connection, [d["arn"] for d in documents])
        for document in documents:
            document["tags"] = found.get(document["arn"], {})
        return documents

    return {"schedulingPolicies": await runtime.store.read(read)}


async def list_policies(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """ListSchedulingPolicies: ARNs, paginated."""
    size = page_size(params.get("maxResults"), limit=1000)
    after = decode_token("ListSchedulingPolicies", params.get("nextToken"))

    def read(connection: Connection) -> tuple[list[dict[str, Any]], str | None]:
        return paginate(
            "ListSchedulingPolicies", records.page(connection, table, after, size), size
        )

    documents, token = await runtime.store.read(read)
    result: dict[str, Any] = {"schedulingPolicies": [{"arn": d["arn"]} for d in documents]}
    if token:
        result["nextToken"] = token
    return result


def _exists(connection: Connection, arn: str) -> bool:
    return records.exists_arn(connection, table, arn)


tags.register_taggable(SCHEDULING_POLICY, _exists)
