"""State machines and their versions: create, describe, update, delete, publish, list.

Functions here take a SQLAlchemy connection and run inside one ``Store.write``/``Store.read``
call, so each API request is one atomic change.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.protocol.errors import ServiceError
from batchyard.states.asl.definition import parse_definition
from batchyard.states.asl.errors import InvalidDefinitionError
from batchyard.states.resources import arns
from batchyard.states.resources.tags import drop_tags, put_tags
from batchyard.store.tables.states import aliases, state_machines, versions

DEFAULT_LOGGING = {"level": "OFF", "includeExecutionData": False}
DEFAULT_TRACING = {"enabled": False}
MAX_VERSIONS = 1000


@dataclass
class Machine:
    """A state machine, or one published version of it, as executions see it."""

    arn: str
    name: str
    type: str
    definition: str
    role_arn: str
    config: dict[str, Any]
    revision_id: str
    created: float
    updated: float
    version_arn: str | None = None
    version_description: str | None = None

    def describe(self) -> dict[str, Any]:
        """DescribeStateMachine's answer for this machine or version."""
        out: dict[str, Any] = {
            "stateMachineArn": self.version_arn or self.arn,
            "name": self.name,
            "status": "ACTIVE",
            "definition": self.definition,
            "roleArn": self.role_arn,
            "type": self.type,
            "creationDate": self.created,
            "loggingConfiguration": self.config.get("logging", DEFAULT_LOGGING),
            "tracingConfiguration": self.config.get("tracing", DEFAULT_TRACING),
            "revisionId": self.revision_id,
        }
        if self.version_description is not None:
            out["description"] = self.version_description
        if self.config.get("encryption"):
            out["encryptionConfiguration"] = self.config["encryption"]
        return out


def check_definition(definition: str) -> None:
    """Raise AWS's InvalidDefinition unless ``definition`` is a valid ASL document."""
    try:
        parse_definition(definition)
    except InvalidDefinitionError as exc:
        raise ServiceError("InvalidDefinition", exc.message) from None


def check_role(role_arn: str) -> None:
    """Raise InvalidArn unless ``role_arn`` looks like an IAM role ARN."""
    if not role_arn.startswith("arn:") or ":iam::" not in role_arn:
        raise arns.invalid_arn(role_arn, f"Invalid ARN prefix: {role_arn}")


def does_not_exist(arn: str) -> ServiceError:
    """AWS's StateMachineDoesNotExist for ``arn``."""
    return ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


def _machine(row: Any) -> Machine:
    return Machine(
        arn=row.arn, name=row.name, type=row.type, definition=row.definition,
        role_arn=row.role_arn, config=dict(row.config), revision_id=row.revision_id,
        created=row.created, updated=row.updated,
    )


def get_machine(conn: Connection, arn: str) -> Machine:
    """The current (unpublished) state machine ``arn``, or StateMachineDoesNotExist."""
    row = conn.execute(sa.select(state_machines).where(state_machines.c.arn == arn)).first()
    if row is None:
        raise does_not_exist(arn)
    return _machine(row)


def get_version(conn: Connection, arn: str) -> Machine:
    """Published version ``arn`` as a Machine whose ``version_arn`` is set."""
    base, _ = arns.split_qualified(arn)
    row = conn.execute(sa.select(versions).where(versions.c.arn == arn)).first()
    machine = conn.execute(sa.select(state_machines).where(state_machines.c.arn == base)).first()
    if row is None or machine is None:
        raise does_not_exist(arn)
    return Machine(
        arn=base, name=machine.name, type=machine.type, definition=row.definition,
        role_arn=row.role_arn, config=dict(row.config), revision_id=row.revision_id,
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


def _same(row: Any, params: dict[str, Any], config: dict[str, Any]) -> bool:
    return (
        row.definition == params["definition"]
        and row.role_arn == params["roleArn"]
        and row.type == params.get("type", "STANDARD")
        and dict(row.config) == config
    )


def _config(params: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    config = dict(base or {})
    if "loggingConfiguration" in params:
        config["logging"] = {**DEFAULT_LOGGING, **params["loggingConfiguration"]}
    if "tracingConfiguration" in params:
        config["tracing"] = {**DEFAULT_TRACING, **params["tracingConfiguration"]}
    if "encryptionConfiguration" in params:
        config["encryption"] = params["encryptionConfiguration"]
    return config


def create(conn: Connection, prefix: str, params: dict[str, Any]) -> dict[str, Any]:
    """CreateStateMachine: idempotent for an identical request, a conflict otherwise."""
    name = arns.check_name(params["name"])
    arn = arns.machine_arn(prefix, name)
    config = _config(params)
    existing = conn.execute(sa.select(state_machines).where(state_machines.c.arn == arn)).first()
    if existing is not None:
        if _same(existing, params, config) and not params.get("publish"):
            return {"stateMachineArn": arn, "creationDate": existing.created}
        raise ServiceError(
            "StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'"
        )
    now = time.time()
    conn.execute(
        sa.insert(state_machines).values(
            arn=arn, name=name, type=params.get("type", "STANDARD"),
            definition=params["definition"], role_arn=params["roleArn"], config=config,
            revision_id=uuid.uuid4().hex, next_version=1, created=now, updated=now,
        )
    )
    put_tags(conn, arn, params.get("tags", []))
    out: dict[str, Any] = {"stateMachineArn": arn, "creationDate": now}
    if params.get("publish"):
        out["stateMachineVersionArn"] = publish(conn, arn, None, params.get("versionDescription"))[
            "stateMachineVersionArn"
        ]
    return out


def update(conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateStateMachine: a new revision, and a new version when ``publish`` is set."""
    arn = params["stateMachineArn"]
    base, qualifier = arns.split_qualified(arn)
    if qualifier is not None:
        raise arns.invalid_arn(arn)
    machine = get_machine(conn, base)
    changes = {k for k in ("definition", "roleArn", "loggingConfiguration",
                           "tracingConfiguration", "encryptionConfiguration") if k in params}
    if not changes:
        raise ServiceError(
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, the "
            "EncryptionConfiguration or the TracingConfiguration must be specified",
        )
    now = time.time()
    definition = params.get("definition", machine.definition)
    role_arn = params.get("roleArn", machine.role_arn)
    config = _config(params, machine.config)
    revision = machine.revision_id
    if (definition, role_arn, config) != (machine.definition, machine.role_arn, machine.config):
        revision = uuid.uuid4().hex
    conn.execute(
        sa.update(state_machines).where(state_machines.c.arn == base).values(
            definition=definition, role_arn=role_arn, config=config, revision_id=revision,
            updated=now,
        )
    )
    out: dict[str, Any] = {"updateDate": now, "revisionId": revision}
    if params.get("publish"):
        out["stateMachineVersionArn"] = publish(
            conn, base, None, params.get("versionDescription")
        )["stateMachineVersionArn"]
    return out


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
    drop_tags(conn, base)


def list_all(conn: Connection) -> list[dict[str, Any]]:
    """ListStateMachines items, oldest first."""
    rows = conn.execute(
        sa.select(state_machines.c.arn, state_machines.c.name, state_machines.c.type,
                  state_machines.c.created).order_by(state_machines.c.created, state_machines.c.arn)
    )
    return [
        {"stateMachineArn": r.arn, "name": r.name, "type": r.type, "creationDate": r.created}
        for r in rows
    ]


def publish(
    conn: Connection, arn: str, revision_id: str | None, description: str | None
) -> dict[str, Any]:
    """PublishStateMachineVersion: a new version of the current revision, or the version that
    already holds it (AWS does not publish the same revision twice)."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is not None:
        raise arns.invalid_arn(arn)
    machine = get_machine(conn, base)
    if revision_id is not None and revision_id != machine.revision_id:
        raise ServiceError(
            "ConflictException",
            f"Failed to publish the State Machine version for revision {revision_id}. "
            f"The current State Machine revision is {machine.revision_id}.",
        )
    latest = conn.execute(
        sa.select(versions).where(versions.c.machine_arn == base)
        .order_by(versions.c.version.desc()).limit(1)
    ).first()
    if latest is not None and latest.revision_id == machine.revision_id:
        return {"stateMachineVersionArn": latest.arn, "creationDate": latest.created}
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
    version = arns.version_arn(base, number)
    now = time.time()
    conn.execute(
        sa.insert(versions).values(
            arn=version, machine_arn=base, version=number, definition=machine.definition,
            role_arn=machine.role_arn, config=machine.config, revision_id=machine.revision_id,
            description=description, created=now,
        )
    )
    conn.execute(
        sa.update(state_machines).where(state_machines.c.arn == base)
        .values(next_version=number + 1)
    )
    return {"stateMachineVersionArn": version, "creationDate": now}


def list_versions(conn: Connection, arn: str) -> list[dict[str, Any]]:
    """ListStateMachineVersions items, newest first."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is not None:
        raise arns.invalid_arn(arn)
    rows = conn.execute(
        sa.select(versions.c.arn, versions.c.created).where(versions.c.machine_arn == base)
        .order_by(versions.c.version.desc())
    )
    return [{"stateMachineVersionArn": r.arn, "creationDate": r.created} for r in rows]


def delete_version(conn: Connection, arn: str) -> None:
    """DeleteStateMachineVersion: refused while an alias routes to it."""
    base, qualifier = arns.split_qualified(arn)
    if qualifier is None or not qualifier.isdigit():
        raise arns.invalid_arn(arn)
    referencing = [
        row.arn
        for row in conn.execute(sa.select(aliases).where(aliases.c.machine_arn == base))
        if any(route["stateMachineVersionArn"] == arn for route in row.routing)
    ]
    if referencing:
        raise ServiceError(
            "ConflictException",
            "Version to be deleted must not be referenced by an alias. Current list of aliases "
            f"referencing this version: [{', '.join(referencing)}]",
        )
    conn.execute(sa.delete(versions).where(versions.c.arn == arn))
