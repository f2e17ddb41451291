"""State machines with their versions and aliases, activities, and their tags, in the store.

Functions here take a SQLAlchemy connection and run inside one ``Store.write``/``Store.read``
call, so each API request is one atomic change. Each entity is converted from its row in one
place (``_machine``, ``_version``, ``_alias``, ``_activity``).
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.aws.tags import TagRules, TagTable
from batchyard.protocol.errors import ServiceError
from batchyard.states import arns
from batchyard.states.model import (
    DEFAULT_LOGGING,
    DEFAULT_TRACING,
    Activity,
    Alias,
    Machine,
    MachineConfig,
    MachineType,
    Route,
    Tag,
    VersionItem,
)
from batchyard.store.tables.states import activities, aliases, state_machines, tags, versions

MAX_VERSIONS = 1000
# An alias name must not look like a version number, or the two kinds of ARN would collide.
_ALIAS_NAME = re.compile(r"^(?=.*[a-zA-Z_\-.])[a-zA-Z0-9_\-.]{1,80}$")

_tags = TagTable(tags)
# Lengths and characters are checked against the model before a request gets here.
_tag_rules = TagRules(
    too_many=lambda text: ServiceError("TooManyTags", text),
    invalid=lambda text: ServiceError("ValidationException", text),
    check_reserved=False,
)


def _validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def _conflict(message: str) -> ServiceError:
    return ServiceError("ConflictException", message)


# -- state machines ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Created:
    """CreateStateMachine's answer."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {"creationDate": "created"}

    state_machine_arn: str
    created: float
    state_machine_version_arn: str | None = None


@dataclass(frozen=True, slots=True)
class Updated:
    """UpdateStateMachine's answer."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {"updateDate": "updated"}

    updated: float
    revision_id: str
    state_machine_version_arn: str | None = None


def configured(
    logging: JsonObject | None, tracing: JsonObject | None, encryption: JsonObject | None,
    base: MachineConfig | None = None,
) -> MachineConfig:
    """``base`` with the configuration documents a request gave (None: keep ``base``'s)."""
    base = base or MachineConfig()
    return MachineConfig(
        logging={**DEFAULT_LOGGING, **logging} if logging is not None else base.logging,
        tracing={**DEFAULT_TRACING, **tracing} if tracing is not None else base.tracing,
        encryption=encryption if encryption is not None else base.encryption,
    )


def _config(row: Row[Any]) -> MachineConfig:
    stored = row.config
    return MachineConfig(stored.get("logging"), stored.get("tracing"), stored.get("encryption"))


def _stored(config: MachineConfig) -> JsonObject:
    out: JsonObject = {}
    for key, value in (
        ("logging", config.logging), ("tracing", config.tracing),
        ("encryption", config.encryption),
    ):
        if value is not None:
            out[key] = value
    return out


def _machine(row: Row[Any]) -> Machine:
    return Machine(
        arn=row.arn, name=row.name, type=MachineType(row.type), definition=row.definition,
        role_arn=row.role_arn, config=_config(row), revision_id=row.revision_id,
        created=row.created, updated=row.updated,
    )


def get_machine(conn: Connection, arn: str) -> Machine:
    """The current (unpublished) state machine ``arn``, or StateMachineDoesNotExist."""
    row = conn.execute(sa.select(state_machines).where(state_machines.c.arn == arn)).first()
    if row is None:
        raise arns.machine_does_not_exist(arn)
    return _machine(row)


def get_version(conn: Connection, arn: str) -> Machine:
    """Published version ``arn`` as a Machine whose ``version_arn`` is set."""
    base, _ = arns.split_qualified(arn)
    row = conn.execute(sa.select(versions).where(versions.c.arn == arn)).first()
    machine = conn.execute(sa.select(state_machines).where(state_machines.c.arn == base)).first()
    if row is None or machine is None:
        raise arns.machine_does_not_exist(arn)
    return Machine(
        arn=base, name=machine.name, type=MachineType(machine.type), definition=row.definition,
        role_arn=row.role_arn, config=_config(row), revision_id=row.revision_id,
        created=row.created, updated=row.created, version_arn=row.arn,
        version_description=row.description,
    )


def describe(conn: Connection, arn: str) -> Machine:
    """A machine by its unqualified or version ARN (aliases are not state machines)."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is None:
        return get_machine(conn, base)
    if not qualifier.isdigit():
        raise arns.invalid_arn(arn)
    return get_version(conn, arn)


def target(conn: Connection, arn: str) -> tuple[Machine, str | None]:
    """The machine (or version) an execution of ``arn`` runs, and the alias it came by."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is None:
        return get_machine(conn, base), None
    if qualifier.isdigit():
        return get_version(conn, arn), None
    try:
        version = route(conn, arn)
    except ServiceError as exc:
        if exc.code == "ResourceNotFound":
            raise arns.machine_does_not_exist(arn) from None
        raise
    return get_version(conn, version), arn


def create(
    conn: Connection,
    caller: Caller,
    name: str,
    definition: str,
    role_arn: str,
    kind: MachineType,
    config: MachineConfig,
    tag_map: Mapping[str, str],
    publish_version: bool,
    version_description: str | None,
) -> Created:
    """CreateStateMachine: idempotent for an identical request, a conflict otherwise."""
    arn = arns.machine_arn(caller, arns.check_name(name))
    existing = conn.execute(sa.select(state_machines).where(state_machines.c.arn == arn)).first()
    if existing is not None:
        same = (existing.definition, existing.role_arn, existing.type, _config(existing)) == (
            definition, role_arn, kind, config
        )
        if same and not publish_version:
            return Created(arn, existing.created)
        raise ServiceError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
    now = time.time()
    conn.execute(
        sa.insert(state_machines).values(
            arn=arn, account_id=caller.account_id, region=caller.region, name=name,
            type=kind, definition=definition, role_arn=role_arn, config=_stored(config),
            revision_id=uuid.uuid4().hex, next_version=1, created=now, updated=now,
        )
    )
    put_tags(conn, arn, tag_map)
    version = None
    if publish_version:
        version = publish(conn, arn, None, version_description).state_machine_version_arn
    return Created(arn, now, version)


def update(
    conn: Connection,
    arn: str,
    definition: str | None,
    role_arn: str | None,
    logging: JsonObject | None,
    tracing: JsonObject | None,
    encryption: JsonObject | None,
    publish_version: bool,
    version_description: str | None,
) -> Updated:
    """UpdateStateMachine: a new revision, and a new version when ``publish_version`` is set;
    what is None stays as it was."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is not None:
        raise arns.invalid_arn(arn)
    machine = get_machine(conn, base)
    if (definition, role_arn, logging, tracing, encryption) == (None,) * 5:
        raise ServiceError(
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, the "
            "EncryptionConfiguration or the TracingConfiguration must be specified",
        )
    now = time.time()
    definition = machine.definition if definition is None else definition
    role_arn = machine.role_arn if role_arn is None else role_arn
    config = configured(logging, tracing, encryption, machine.config)
    revision = machine.revision_id
    if (definition, role_arn, config) != (machine.definition, machine.role_arn, machine.config):
        revision = uuid.uuid4().hex
    conn.execute(
        sa.update(state_machines).where(state_machines.c.arn == base).values(
            definition=definition, role_arn=role_arn, config=_stored(config),
            revision_id=revision, updated=now,
        )
    )
    version = None
    if publish_version:
        version = publish(conn, base, None, version_description).state_machine_version_arn
    return Updated(now, revision, version)


def delete(conn: Connection, arn: str) -> None:
    """DeleteStateMachine: the machine with its versions, aliases and tags; a version ARN
    deletes just that version. Deleting what is not there succeeds, as on AWS."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is not None:
        if not qualifier.isdigit():
            raise arns.invalid_arn(arn)
        delete_version(conn, arn)
        return
    conn.execute(sa.delete(aliases).where(aliases.c.machine_arn == base))
    conn.execute(sa.delete(versions).where(versions.c.machine_arn == base))
    conn.execute(sa.delete(state_machines).where(state_machines.c.arn == base))
    _tags.drop(conn, base)


def list_machines(conn: Connection, caller: Caller) -> list[Machine]:
    """The caller's state machines (ListStateMachines), oldest first."""
    rows = conn.execute(
        sa.select(state_machines)
        .where(state_machines.c.account_id == caller.account_id,
               state_machines.c.region == caller.region)
        .order_by(state_machines.c.created, state_machines.c.arn)
    )
    return [_machine(row) for row in rows]


# -- versions --------------------------------------------------------------------------------
def publish(
    conn: Connection, arn: str, revision_id: str | None, description: str | None
) -> VersionItem:
    """PublishStateMachineVersion: a new version of the current revision, or the version that
    already holds it (AWS does not publish the same revision twice)."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is not None:
        raise arns.invalid_arn(arn)
    machine = get_machine(conn, base)
    if revision_id is not None and revision_id != machine.revision_id:
        raise _conflict(
            f"Failed to publish the State Machine version for revision {revision_id}. "
            f"The current State Machine revision is {machine.revision_id}."
        )
    latest = conn.execute(
        sa.select(versions).where(versions.c.machine_arn == base)
        .order_by(versions.c.version.desc()).limit(1)
    ).first()
    if latest is not None and latest.revision_id == machine.revision_id:
        return VersionItem(latest.arn, latest.created)
    count = conn.execute(
        sa.select(sa.func.count()).select_from(versions).where(versions.c.machine_arn == base)
    ).scalar_one()
    if count >= MAX_VERSIONS:
        raise ServiceError(
            "ServiceQuotaExceededException",
            f"The maximum number of versions ({MAX_VERSIONS}) has been reached for {base}",
        )
    number = conn.execute(
        sa.select(state_machines.c.next_version).where(state_machines.c.arn == base)
    ).scalar_one()
    version = arns.qualified_arn(base, number)
    now = time.time()
    conn.execute(
        sa.insert(versions).values(
            arn=version, machine_arn=base, version=number, definition=machine.definition,
            role_arn=machine.role_arn, config=_stored(machine.config),
            revision_id=machine.revision_id, description=description, created=now,
        )
    )
    conn.execute(
        sa.update(state_machines).where(state_machines.c.arn == base)
        .values(next_version=number + 1)
    )
    return VersionItem(version, now)


def list_versions(conn: Connection, arn: str) -> list[VersionItem]:
    """ListStateMachineVersions items, newest first."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is not None:
        raise arns.invalid_arn(arn)
    rows = conn.execute(
        sa.select(versions.c.arn, versions.c.created).where(versions.c.machine_arn == base)
        .order_by(versions.c.version.desc())
    )
    return [VersionItem(row.arn, row.created) for row in rows]


def delete_version(conn: Connection, arn: str) -> None:
    """DeleteStateMachineVersion: refused while an alias routes to it."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is None or not qualifier.isdigit():
        raise arns.invalid_arn(arn)
    referencing = [
        row.arn
        for row in conn.execute(sa.select(aliases).where(aliases.c.machine_arn == base))
        if any(entry["stateMachineVersionArn"] == arn for entry in row.routing)
    ]
    if referencing:
        raise _conflict(
            "Version to be deleted must not be referenced by an alias. Current list of aliases "
            f"referencing this version: [{', '.join(referencing)}]"
        )
    conn.execute(sa.delete(versions).where(versions.c.arn == arn))


# -- aliases ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AliasCreated:
    """CreateStateMachineAlias's answer."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {"creationDate": "created"}

    state_machine_alias_arn: str
    created: float


def _routing(routes: Iterable[Route]) -> list[JsonObject]:
    return [
        {"stateMachineVersionArn": r.state_machine_version_arn, "weight": r.weight}
        for r in routes
    ]


def _alias(row: Row[Any]) -> Alias:
    return Alias(
        arn=row.arn, machine_arn=row.machine_arn, name=row.name, description=row.description,
        routing=[Route(r["stateMachineVersionArn"], r["weight"]) for r in row.routing],
        created=row.created, updated=row.updated,
    )


def _check_routing(conn: Connection, machine: str, routing: list[Route]) -> None:
    seen = set()
    for entry in routing:
        version = entry.state_machine_version_arn
        base, qualifier = arns.split_qualified(version)
        if qualifier is None or not qualifier.isdigit():
            raise arns.invalid_arn(version)
        if base != machine:
            raise _validation(
                "Routing configuration must contain state machine version ARNs of the same "
                "state machine"
            )
        if version in seen:
            raise _validation(
                "Routing configuration must contain distinct state machine version ARNs"
            )
        seen.add(version)
        if conn.execute(sa.select(versions.c.arn).where(versions.c.arn == version)).first() is None:
            raise arns.resource_not_found(version)
    if sum(entry.weight for entry in routing) != 100:
        raise _validation("Sum of routing configuration weights must be equal to 100")


def create_alias(
    conn: Connection, name: str, routing: list[Route], description: str | None
) -> AliasCreated:
    """CreateStateMachineAlias: idempotent for an identical request, a conflict otherwise."""
    if not _ALIAS_NAME.match(name):
        raise ServiceError("InvalidName", f"Invalid Name: '{name}'")
    machine = arns.split_qualified(routing[0].state_machine_version_arn)[0]
    get_machine(conn, machine)
    _check_routing(conn, machine, routing)
    arn = arns.qualified_arn(machine, name)
    existing = conn.execute(sa.select(aliases).where(aliases.c.arn == arn)).first()
    if existing is not None:
        if existing.routing == _routing(routing) and existing.description == description:
            return AliasCreated(arn, existing.created)
        raise _conflict(
            f"Failed to create alias because an alias with the same name and a different "
            f"routing configuration already exists: {arn}"
        )
    now = time.time()
    conn.execute(
        sa.insert(aliases).values(
            arn=arn, machine_arn=machine, name=name, description=description,
            routing=_routing(routing), created=now, updated=now,
        )
    )
    return AliasCreated(arn, now)


def _alias_arn(arn: str) -> str:
    _, qualifier = arns.split_qualified(arn)
    if qualifier is None or qualifier.isdigit():
        raise arns.invalid_arn(arn)
    return arn


def get_alias(conn: Connection, arn: str) -> Alias:
    """DescribeStateMachineAlias."""
    row = conn.execute(sa.select(aliases).where(aliases.c.arn == _alias_arn(arn))).first()
    if row is None:
        raise arns.resource_not_found(arn)
    return _alias(row)


def update_alias(
    conn: Connection, arn: str, description: str | None, routing: list[Route] | None
) -> float:
    """UpdateStateMachineAlias: a new description and/or routing; returns the update date."""
    alias = get_alias(conn, arn)
    if description is None and routing is None:
        raise _validation("Either the description or the RoutingConfiguration must be specified")
    routing = alias.routing if routing is None else routing
    _check_routing(conn, alias.machine_arn, routing)
    now = time.time()
    conn.execute(
        sa.update(aliases).where(aliases.c.arn == arn).values(
            routing=_routing(routing),
            description=alias.description if description is None else description,
            updated=now,
        )
    )
    return now


def delete_alias(conn: Connection, arn: str) -> None:
    """DeleteStateMachineAlias; deleting what is not there succeeds."""
    conn.execute(sa.delete(aliases).where(aliases.c.arn == _alias_arn(arn)))


def list_aliases(conn: Connection, machine: str) -> list[AliasCreated]:
    """ListStateMachineAliases items for an unqualified machine ARN."""
    base, qualifier = arns.split_qualified(machine)
    if qualifier is not None:
        raise arns.invalid_arn(machine)
    get_machine(conn, base)
    rows = conn.execute(
        sa.select(aliases.c.arn, aliases.c.created).where(aliases.c.machine_arn == base)
        .order_by(aliases.c.created)
    )
    return [AliasCreated(row.arn, row.created) for row in rows]


def route(conn: Connection, arn: str) -> str:
    """The version ARN an execution started through alias ``arn`` runs, chosen by weight."""
    routes = get_alias(conn, arn).routing
    pick = random.uniform(0, 100)
    for entry in routes:
        pick -= entry.weight
        if pick < 0:
            return entry.state_machine_version_arn
    return routes[-1].state_machine_version_arn


# -- activities ------------------------------------------------------------------------------
def _activity(row: Row[Any]) -> Activity:
    return Activity(row.arn, row.name, row.created, row.encryption or None)


def create_activity(
    conn: Connection, caller: Caller, name: str, tag_map: Mapping[str, str],
    encryption: JsonObject | None,
) -> Activity:
    """CreateActivity: creating an existing activity returns it (AWS is idempotent here)."""
    arn = arns.activity_arn(caller, arns.check_name(name))
    row = conn.execute(sa.select(activities).where(activities.c.arn == arn)).first()
    if row is not None:
        return _activity(row)
    now = time.time()
    conn.execute(
        sa.insert(activities).values(
            arn=arn, account_id=caller.account_id, region=caller.region, name=name, created=now,
            encryption=encryption,
        )
    )
    put_tags(conn, arn, tag_map)
    return Activity(arn, name, now, encryption)


def find_activity(conn: Connection, arn: str) -> Activity | None:
    """The activity ``arn``, or None."""
    row = conn.execute(sa.select(activities).where(activities.c.arn == arn)).first()
    return _activity(row) if row is not None else None


def delete_activity(conn: Connection, arn: str) -> None:
    """DeleteActivity; deleting what is not there succeeds."""
    conn.execute(sa.delete(activities).where(activities.c.arn == arn))
    _tags.drop(conn, arn)


def list_activities(conn: Connection, caller: Caller) -> list[Activity]:
    """The caller's activities (ListActivities), oldest first."""
    rows = conn.execute(
        sa.select(activities)
        .where(activities.c.account_id == caller.account_id, activities.c.region == caller.region)
        .order_by(activities.c.created, activities.c.arn)
    )
    return [_activity(row) for row in rows]


# -- tags ------------------------------------------------------------------------------------
def tagged(conn: Connection, arn: str) -> None:
    """Raise ResourceNotFound unless ``arn`` is a state machine or an activity that exists."""
    for table in (state_machines, activities):
        if conn.execute(sa.select(table.c.arn).where(table.c.arn == arn)).first():
            return
    raise arns.resource_not_found(arn)


def put_tags(conn: Connection, arn: str, new: Mapping[str, str]) -> None:
    """Add or overwrite tags on ``arn``; raises TooManyTags past AWS's limit of 50."""
    try:
        _tag_rules.check(arn, new, _tags.get(conn, arn))
    except ServiceError as error:
        error.fields["resourceName"] = arn
        raise
    _tags.put(conn, arn, new)


def remove_tags(conn: Connection, arn: str, keys: Iterable[str]) -> None:
    """Remove the tags named ``keys`` from ``arn`` (absent keys are ignored, as AWS does)."""
    _tags.remove(conn, arn, keys)


def list_tags(conn: Connection, arn: str) -> list[Tag]:
    """The tags of ``arn``, in key order."""
    return [Tag(key, value) for key, value in _tags.get(conn, arn).items()]
