"""Job definitions: Register / Describe / Deregister in the store, revisions, and resolving
the definition a SubmitJob names.

A reference is ``name`` (its latest ACTIVE revision), ``name:revision`` or the full ARN (any
status: SubmitJob checks it is ACTIVE). Revisions count 1, 2, 3 ... per name in an account
and region and are never reused, even after deregistration.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.batch.errors import PAGER, TAG_RULES, client_error, require_name
from batchyard.batch.resources.definition_rules import check_registration
from batchyard.batch.resources.model import (
    JOB_DEFINITION,
    DefinitionStatus,
    JobDefinition,
    Page,
)
from batchyard.batch.resources.store import ResourceTags
from batchyard.store.tables.batch_resources import job_definitions as table

MAX_REFERENCES = 100
LISTING = "DescribeJobDefinitions"
_NAME_REVISION = re.compile(r"([A-Za-z0-9_-]{1,128}):(\d+)")
_IN_SCOPE = (table.c.account_id == sa.bindparam("account")) & (
    table.c.region == sa.bindparam("region")
)


def _latest(condition: Any) -> Any:
    return sa.select(table.c.document).where(condition).order_by(table.c.revision.desc()).limit(1)


# Built once: SubmitJob resolves its definition on every call.
_BY_ARN = _latest(table.c.arn == sa.bindparam("arn"))
_BY_REVISION = _latest(
    _IN_SCOPE & (table.c.name == sa.bindparam("name")) & (table.c.revision == sa.bindparam("rev"))
)
_LATEST_ACTIVE = _latest(
    _IN_SCOPE
    & (table.c.name == sa.bindparam("name"))
    & (table.c.status == DefinitionStatus.ACTIVE.value)
)


def _one(connection: Connection, statement: Any, params: dict[str, Any]) -> JobDefinition | None:
    row = connection.execute(statement, params).first()
    return JobDefinition.from_document(dict(row[0])) if row else None


def resolve(connection: Connection, caller: Caller, reference: str) -> JobDefinition | None:
    """The definition ``reference`` names (``name``, ``name:revision`` or ARN), or None."""
    if reference.startswith("arn:"):
        if not caller.owns(reference):
            return None
        return _one(connection, _BY_ARN, {"arn": reference})
    scope = {"account": caller.account_id, "region": caller.region}
    match = _NAME_REVISION.fullmatch(reference)
    if match:
        return _one(
            connection, _BY_REVISION, {**scope, "name": match.group(1), "rev": int(match.group(2))}
        )
    return _one(connection, _LATEST_ACTIVE, {**scope, "name": reference})


def check(request: JobDefinition) -> JobDefinition:
    """The revision a RegisterJobDefinition ``request`` registers (its revision and ARN still
    to come); raises ClientException for a request AWS refuses."""
    require_name(request.name, "Job definition name")
    definition = copy.deepcopy(request)
    definition.tags = None
    check_registration(definition)
    TAG_RULES.check(definition.name, request.tags or {})
    if definition.eks_properties is not None:
        definition.container_orchestration_type = "EKS"
    # As AWS: platformCapabilities stays unset when not sent (EC2 is what that means), and a
    # Fargate container gets the platform version it runs on by default.
    container = definition.container_properties
    if "FARGATE" in (definition.platform_capabilities or ()) and container is not None:
        container.setdefault("fargatePlatformConfiguration", {"platformVersion": "LATEST"})
    return definition


def register(
    connection: Connection,
    caller: Caller,
    definition: JobDefinition,
    tags: ResourceTags,
    new_tags: dict[str, str],
) -> JobDefinition:
    """Store ``definition`` as the next revision of its name, with its tags."""
    latest = connection.execute(
        sa.select(sa.func.max(table.c.revision)).where(
            table.c.account_id == caller.account_id,
            table.c.region == caller.region,
            table.c.name == definition.name,
        )
    ).scalar()
    definition.revision = (latest or 0) + 1
    definition.arn = caller.arn(
        "batch", f"{JOB_DEFINITION}/{definition.name}:{definition.revision}"
    )
    connection.execute(
        table.insert().values(
            account_id=caller.account_id,
            region=caller.region,
            name=definition.name,
            revision=definition.revision,
            arn=definition.arn,
            status=definition.status.value,
            document=definition.to_document(),
        )
    )
    tags.add(connection, definition.arn, new_tags)
    return definition


def deregister(connection: Connection, caller: Caller, reference: str) -> JobDefinition:
    """Mark one revision (``name:revision`` or ARN) INACTIVE."""
    if not reference.startswith("arn:") and not _NAME_REVISION.fullmatch(reference):
        raise client_error(
            f"Invalid jobDefinition {reference}: specify name:revision or the job definition ARN."
        )
    definition = resolve(connection, caller, reference)
    if definition is None:
        raise client_error(f"Job definition {reference} does not exist")
    definition.status = DefinitionStatus.INACTIVE
    connection.execute(
        sa.update(table)
        .where(table.c.arn == definition.arn)
        .values(status=definition.status.value, document=definition.to_document())
    )
    return definition


def _reference_condition(reference: str) -> Any:
    if reference.startswith("arn:"):
        return table.c.arn == reference
    match = _NAME_REVISION.fullmatch(reference)
    if match:
        return (table.c.name == match.group(1)) & (table.c.revision == int(match.group(2)))
    return table.c.name == reference


def describe(
    connection: Connection,
    caller: Caller,
    references: list[str] | None,
    name: str | None,
    status: str | None,
    token: str | None,
    size: int,
    tags: ResourceTags,
) -> Page[JobDefinition]:
    """One page of DescribeJobDefinitions: by references, by name, by status."""
    if references is not None:
        if len(references) > MAX_REFERENCES:
            raise client_error(f"jobDefinitions can contain at most {MAX_REFERENCES} entries.")
        if name is not None or status is not None:
            raise client_error("jobDefinitions can't be used with jobDefinitionName or status.")
    if status is not None and status not in tuple(DefinitionStatus):
        raise client_error(f"Invalid status {status}: valid values are ACTIVE and INACTIVE.")
    after = PAGER.decode_int(LISTING, token)
    query = (
        sa.select(table.c.seq, table.c.document)
        .where(table.c.account_id == caller.account_id, table.c.region == caller.region)
        .order_by(table.c.seq)
        .limit(size + 1)
    )
    if after is not None:
        query = query.where(table.c.seq > after)
    if references is not None:
        query = query.where(sa.or_(*(_reference_condition(r) for r in references)))
    if name is not None:
        query = query.where(table.c.name == name)
    if status is not None:
        query = query.where(table.c.status == status)
    rows = [(seq, JobDefinition.from_document(dict(d))) for seq, d in connection.execute(query)]
    definitions, next_token = PAGER.keyed_page(LISTING, rows, size)
    current = tags.get_many(connection, [d.arn for d in definitions])
    for definition in definitions:
        definition.tags = current.get(definition.arn, {})
    return Page(definitions, next_token)


def exists(connection: Connection, caller: Caller, arn: str) -> bool:
    """Whether ``arn`` names a revision of the caller's (ACTIVE or not)."""
    return resolve(connection, caller, arn) is not None
