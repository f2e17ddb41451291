"""Job definitions: Register / Describe / Deregister, revisions, and resolution for SubmitJob.

Public lookups (``connection`` is a SQLAlchemy Connection, e.g. inside ``store.read``):

- ``resolve(connection, reference)`` -> the stored definition (Describe shape, no tags) that
  ``reference`` names: ``name`` (latest ACTIVE revision), ``name:revision`` or the full ARN
  (any status — check ``document["status"] == "ACTIVE"`` before submitting). None if absent.
- ``get_tags(connection, arn)`` (from ``tags``) gives a revision's tags for ``propagateTags``.
- ``job_definition_rules.node_range_for(nodeProperties, index)`` picks a node's range.

Revisions count 1, 2, 3 ... per name and are never reused, even after deregistration.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from batchyard.batch.resources import tags
from batchyard.batch.resources.events import publish
from batchyard.batch.resources.job_definition_rules import check_registration
from batchyard.batch.resources.names import JOB_DEFINITION, client_error, is_arn, require_name
from batchyard.batch.resources.pagination import decode_token, page_size, paginate
from batchyard.runtime import Runtime
from batchyard.store.tables.batch_resources import job_definitions as table

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
MAX_REFERENCES = 100
_NAME_REVISION = re.compile(r"([A-Za-z0-9_-]{1,128}):(\d+)")


def _latest(condition: Any) -> Any:
    return select(table.c.document).where(condition).order_by(table.c.revision.desc()).limit(1)


# Built once: SubmitJob resolves its definition on every call.
_BY_ARN = _latest(table.c.arn == bindparam("arn"))
_BY_REVISION = _latest((table.c.name == bindparam("name")) & (table.c.revision == bindparam("rev")))
_LATEST_ACTIVE = _latest((table.c.name == bindparam("name")) & (table.c.status == ACTIVE))


def _one(connection: Connection, statement: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    row = connection.execute(statement, params).first()
    return dict(row[0]) if row else None


def resolve(connection: Connection, reference: str) -> dict[str, Any] | None:
    """The definition ``reference`` names (``name``, ``name:revision`` or ARN), or None."""
    if is_arn(reference):
        return _one(connection, _BY_ARN, {"arn": reference})
    match = _NAME_REVISION.fullmatch(reference)
    if match:
        return _one(connection, _BY_REVISION, {"name": match.group(1), "rev": int(match.group(2))})
    return _one(connection, _LATEST_ACTIVE, {"name": reference})


def _document(params: dict[str, Any], name: str, revision: int, arn: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "jobDefinitionName": name,
        "jobDefinitionArn": arn,
        "revision": revision,
        "status": ACTIVE,
        "type": params["type"],
        "parameters": copy.deepcopy(params.get("parameters") or {}),
    }
    for field in (
        "schedulingPriority",
        "containerProperties",
        "nodeProperties",
        "retryStrategy",
        "timeout",
        "propagateTags",
        "ecsProperties",
        "eksProperties",
        "consumableResourceProperties",
    ):
        if params.get(field) is not None:
            document[field] = copy.deepcopy(params[field])
    if params.get("eksProperties") is not None:
        document["containerOrchestrationType"] = "EKS"
    else:
        document["containerOrchestrationType"] = "ECS"
        document["platformCapabilities"] = list(params.get("platformCapabilities") or ["EC2"])
    return document


async def register(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """RegisterJobDefinition: validate, then store the next revision of the name."""
    name = require_name(params["jobDefinitionName"], "Job definition name")
    check_registration(params)
    new_tags = params.get("tags") or {}
    tags.validate_tags(new_tags)

    def write(connection: Connection) -> dict[str, Any]:
        latest = connection.execute(
            select(func.max(table.c.revision)).where(table.c.name == name)
        ).scalar()
        revision = (latest or 0) + 1
        arn = runtime.arn("batch", f"{JOB_DEFINITION}/{name}:{revision}")
        document = _document(params, name, revision, arn)
        connection.execute(
            table.insert().values(
                name=name, revision=revision, arn=arn, status=ACTIVE, document=document
            )
        )
        tags.add_tags(connection, arn, new_tags)
        return document

    document = await runtime.store.write(write)
    publish(
        runtime.bus,
        JOB_DEFINITION,
        "registered",
        document,
        name=name,
        arn=document["jobDefinitionArn"],
        revision=document["revision"],
    )
    return {
        "jobDefinitionName": name,
        "jobDefinitionArn": document["jobDefinitionArn"],
        "revision": document["revision"],
    }


async def deregister(runtime: Runtime, params: dict[str, Any]) -> None:
    """DeregisterJobDefinition: mark one revision (``name:revision`` or ARN) INACTIVE."""
    reference = params["jobDefinition"]
    if not is_arn(reference) and not _NAME_REVISION.fullmatch(reference):
        raise client_error(
            f"Invalid jobDefinition {reference}: specify name:revision or the job definition ARN."
        )

    def write(connection: Connection) -> dict[str, Any]:
        document = resolve(connection, reference)
        if document is None:
            raise client_error(f"Job definition {reference} does not exist")
        document["status"] = INACTIVE
        connection.execute(
            update(table)
            .where(table.c.arn == document["jobDefinitionArn"])
            .values(status=INACTIVE, document=document)
        )
        return document

    document = await runtime.store.write(write)
    publish(
        runtime.bus,
        JOB_DEFINITION,
        "deregistered",
        document,
        name=document["jobDefinitionName"],
        arn=document["jobDefinitionArn"],
        revision=document["revision"],
    )


def _reference_condition(reference: str) -> Any:
    if is_arn(reference):
        return table.c.arn == reference
    match = _NAME_REVISION.fullmatch(reference)
    if match:
        return (table.c.name == match.group(1)) & (table.c.revision == int(match.group(2)))
    return table.c.name == reference


async def describe(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeJobDefinitions: by references, by name, by status; paginated."""
    # An empty list filters nothing, like an absent one.
    references = params.get("jobDefinitions") or None
    name = params.get("jobDefinitionName")
    status = params.get("status")
    if references is not None:
        if len(references) > MAX_REFERENCES:
            raise client_error(f"jobDefinitions can contain at most {MAX_REFERENCES} entries.")
        if name is not None or status is not None:
            raise client_error("jobDefinitions can't be used with jobDefinitionName or status.")
    if status is not None and status not in (ACTIVE, INACTIVE):
        raise client_error(f"Invalid status {status}: valid values are ACTIVE and INACTIVE.")
    size = page_size(params.get("maxResults"))
    after = decode_token("DescribeJobDefinitions", params.get("nextToken"))

    query = select(table.c.seq, table.c.document).order_by(table.c.seq).limit(size + 1)
    if after is not None:
        query = query.where(table.c.seq > after)
    if references is not None:
        condition = _reference_condition(references[0])
        for reference in references[1:]:
            condition = condition | _reference_condition(reference)
        query = query.where(condition)
    if name is not None:
        query = query.where(table.c.name == name)
    if status is not None:
        query = query.where(table.c.status == status)

    def read(connection: Connection) -> tuple[list[dict[str, Any]], str | None]:
        rows = [(seq, dict(document)) for seq, document in connection.execute(query)]
        documents, token = paginate("DescribeJobDefinitions", rows, size)
        found = tags.tags_of(connection, [d["jobDefinitionArn"] for d in documents])
        for document in documents:
            document["tags"] = found.get(document["jobDefinitionArn"], {})
        return documents, token

    documents, token = await runtime.store.read(read)
    result: dict[str, Any] = {"jobDefinitions": documents}
    if token:
        result["nextToken"] = token
    return result


def _exists(connection: Connection, arn: str) -> bool:
    return connection.execute(select(table.c.seq).where(table.c.arn == arn)).first() is not None


tags.register_taggable(JOB_DEFINITION, _exists)
