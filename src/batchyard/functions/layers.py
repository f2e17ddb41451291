"""Layers: published versions of a .zip that functions add to their ``/opt``.

A layer belongs to one account and region; its versions are numbered from 1 and numbers are
never reused. A version's zip is stored once per content (by its sha256), so a function that
uses a version keeps it after the version is deleted, as in Lambda; content nothing refers
to any more is dropped when the server starts.

Another account may read a version, and add it to its functions, when the version's
resource-based policy grants that account (or everyone) ``lambda:GetLayerVersion``. Policies
naming an organization grant nothing here: this server has no organizations.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.functions.code import CodeBundle
from batchyard.functions.configuration import invalid, timestamp
from batchyard.functions.registry import owned, scoped, stale_revision
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.tables.functions import (
    functions,
    layer_content,
    layer_versions,
    layers,
    versions,
)

MAX_LAYERS = 5
GET_LAYER_VERSION = "lambda:GetLayerVersion"

_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"layer:(?P<name>[a-zA-Z0-9_-]+)(?::(?P<version>[0-9]+))?$"
)
# The document members PublishLayerVersion stores as they were given.
DOCUMENT_MEMBERS = ("Description", "CompatibleRuntimes", "CompatibleArchitectures",
                    "LicenseInfo")


def layer_arn(owner: Caller, name: str, version: int | None = None) -> str:
    """``arn:aws:lambda:<region>:<account>:layer:<name>[:<version>]``."""
    arn = f"arn:aws:lambda:{owner.region}:{owner.account_id}:layer:{name}"
    return arn if version is None else f"{arn}:{version}"


def not_found() -> ServiceError:
    """Lambda's answer for a layer version that does not exist."""
    return ServiceError("ResourceNotFoundException", "The resource you requested does not exist.",
                        Type="User")


def denied(caller: Caller, action: str, arn: str) -> ServiceError:
    """AccessDeniedException for ``action`` on another account's layer ``arn``."""
    return ServiceError(
        "AccessDeniedException",
        f"User: arn:aws:iam::{caller.account_id}:root is not authorized to perform: {action} "
        f"on resource: {arn} because no resource-based policy allows the {action} action",
        status=403, Type="User",
    )


@dataclass(frozen=True)
class LayerRef:
    """The layer a LayerName (a name or a layer ARN) names, and whose it is."""

    owner: Caller
    name: str

    @property
    def arn(self) -> str:
        return layer_arn(self.owner, self.name)


def parse_layer_name(caller: Caller, value: str) -> LayerRef:
    """The layer ``value`` names for ``caller``: its own by name, anyone's by ARN; a layer of
    another region exists for no caller here."""
    match = _ARN.match(value)
    if match is None:
        return LayerRef(caller, value)
    if match["region"] != caller.region:
        raise not_found()
    return LayerRef(Caller(match["account"], match["region"], caller.request_id), match["name"])


@dataclass(frozen=True)
class LayerVersion:
    """One published version of a layer."""

    owner: Caller
    name: str
    version: int
    document: dict[str, Any]
    digest: str
    sha256: str
    size: int
    policy: list[dict[str, Any]] | None = None
    policy_revision: str | None = None

    @property
    def layer_arn(self) -> str:
        return layer_arn(self.owner, self.name)

    @property
    def arn(self) -> str:
        """The LayerVersionArn."""
        return layer_arn(self.owner, self.name, self.version)

    def grants(self, account_id: str) -> bool:
        """Whether account ``account_id`` may read this version and use it."""
        if account_id == self.owner.account_id:
            return True
        root = f"arn:aws:iam::{account_id}:root"
        return any(
            statement.get("Condition") is None
            and statement["Principal"] in ("*", {"AWS": root})
            for statement in self.policy or []
        )

    def matches(self, runtime: str | None, architecture: str | None) -> bool:
        """Whether this version declares ``runtime`` and ``architecture`` (each if given)."""
        return (
            (runtime is None or runtime in (self.document.get("CompatibleRuntimes") or []))
            and (architecture is None
                 or architecture in (self.document.get("CompatibleArchitectures") or []))
        )

    def list_item(self) -> dict[str, Any]:
        """The ``LayerVersionsListItem`` of this version."""
        return {"LayerVersionArn": self.arn, "Version": self.version, **self.document}

    def description(self) -> dict[str, Any]:
        """What GetLayerVersion and PublishLayerVersion answer."""
        return {
            "Content": {"CodeSha256": self.sha256, "CodeSize": self.size},
            "LayerArn": self.layer_arn,
            **self.list_item(),
        }

    def reference(self) -> dict[str, Any]:
        """How a function's configuration records this version: the ``Layer`` members and
        the digest of its content, which outlives the version."""
        return {"Arn": self.arn, "CodeSize": self.size, "digest": self.digest}


def _version(row: Any) -> LayerVersion:
    return LayerVersion(
        Caller(row.account_id, row.region), row.name, row.version, dict(row.document),
        row.digest, row.sha256, row.size,
        list(row.policy) if row.policy is not None else None, row.policy_revision,
    )


def _select(connection: Connection, ref: LayerRef, version: int) -> LayerVersion | None:
    row = connection.execute(
        sa.select(layer_versions).where(owned(layer_versions, ref.owner, ref.name),
                                        layer_versions.c.version == version)
    ).first()
    return _version(row) if row is not None else None


def _statement(version: LayerVersion, statement_id: str, principal: str,
               organization: str | None) -> dict[str, Any]:
    who: str | dict[str, str] = "*"
    if principal != "*":
        account = principal if principal.isdigit() else principal.split(":")[4]
        who = {"AWS": f"arn:aws:iam::{account}:root"}
    statement: dict[str, Any] = {
        "Sid": statement_id, "Effect": "Allow", "Principal": who,
        "Action": GET_LAYER_VERSION, "Resource": version.arn,
    }
    if organization:
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": organization}}
    return statement


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def _referenced_digests(connection: Connection) -> set[str]:
    found: set[str] = set()
    for table in (functions, versions):
        for (config,) in connection.execute(sa.select(table.c.config)):
            found.update(layer["digest"] for layer in config.get("Layers") or [])
    return found


class Layers:
    """Every account's layers, in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _own(self, caller: Caller, ref: LayerRef, action: str, version: int | None = None
             ) -> None:
        if ref.owner.account_id != caller.account_id:
            raise denied(caller, action, layer_arn(ref.owner, ref.name, version))

    async def publish(self, caller: Caller, ref: LayerRef, document: dict[str, Any],
                      bundle: CodeBundle) -> LayerVersion:
        """Store ``bundle`` as the next version of layer ``ref``."""
        self._own(caller, ref, "lambda:PublishLayerVersion")
        document = {**document, "CreatedDate": timestamp()}

        def write(connection: Connection) -> LayerVersion:
            last = connection.execute(
                sa.select(layers.c.last_version).where(owned(layers, ref.owner, ref.name))
            ).scalar_one_or_none()
            number = (last or 0) + 1
            if last is None:
                connection.execute(layers.insert().values(
                    **scoped(ref.owner), name=ref.name, last_version=number))
            else:
                connection.execute(layers.update().where(owned(layers, ref.owner, ref.name))
                                   .values(last_version=number))
            stored = connection.execute(
                sa.select(layer_content.c.digest).where(layer_content.c.digest == bundle.digest)
            ).first()
            if stored is None:
                connection.execute(layer_content.insert().values(
                    digest=bundle.digest, zip=bundle.zip_bytes))
            version = LayerVersion(ref.owner, ref.name, number, document, bundle.digest,
                                   bundle.sha256, bundle.size)
            connection.execute(layer_versions.insert().values(
                **scoped(ref.owner), name=ref.name, version=number, document=document,
                digest=bundle.digest, sha256=bundle.sha256, size=bundle.size,
            ))
            return version

        return await self.store.write(write)

    async def get(self, caller: Caller, ref: LayerRef, version: int) -> LayerVersion:
        """Version ``version`` of ``ref``, if ``caller`` may read it."""
        found = await self.store.read(lambda connection: _select(connection, ref, version))
        if found is None:
            if ref.owner.account_id != caller.account_id:
                raise denied(caller, GET_LAYER_VERSION, layer_arn(ref.owner, ref.name, version))
            raise not_found()
        if not found.grants(caller.account_id):
            raise denied(caller, GET_LAYER_VERSION, found.arn)
        return found

    async def listing(self, caller: Caller, ref: LayerRef, runtime: str | None = None,
                      architecture: str | None = None) -> list[LayerVersion]:
        """The versions of ``ref`` that match, newest first."""
        self._own(caller, ref, "lambda:ListLayerVersions")

        def read(connection: Connection) -> list[LayerVersion]:
            rows = connection.execute(
                sa.select(layer_versions).where(owned(layer_versions, ref.owner, ref.name))
                .order_by(layer_versions.c.version.desc())
            )
            return [_version(row) for row in rows]

        return [v for v in await self.store.read(read) if v.matches(runtime, architecture)]

    async def latest(self, caller: Caller, runtime: str | None = None,
                     architecture: str | None = None) -> list[LayerVersion]:
        """The newest matching version of each of ``caller``'s layers, by layer name."""

        def read(connection: Connection) -> list[LayerVersion]:
            rows = connection.execute(
                sa.select(layer_versions).where(
                    layer_versions.c.account_id == caller.account_id,
                    layer_versions.c.region == caller.region,
                ).order_by(layer_versions.c.name, layer_versions.c.version.desc())
            )
            return [_version(row) for row in rows]

        newest: dict[str, LayerVersion] = {}
        for version in await self.store.read(read):
            if version.name not in newest and version.matches(runtime, architecture):
                newest[version.name] = version
        return list(newest.values())

    async def delete(self, caller: Caller, ref: LayerRef, version: int) -> None:
        """Delete one version (nothing to do when there is none); functions using it keep
        its content."""
        self._own(caller, ref, "lambda:DeleteLayerVersion", version)
        await self.store.write(lambda connection: connection.execute(
            layer_versions.delete().where(owned(layer_versions, ref.owner, ref.name),
                                          layer_versions.c.version == version)
        ))

    async def add_permission(
        self, caller: Caller, ref: LayerRef, version: int, statement_id: str, principal: str,
        organization: str | None, revision_id: str | None,
    ) -> tuple[dict[str, Any], str]:
        """Add a statement granting ``principal`` the use of a version; the statement and the
        policy's new revision."""
        self._own(caller, ref, "lambda:AddLayerVersionPermission", version)

        def write(connection: Connection) -> tuple[dict[str, Any], str]:
            found = _select(connection, ref, version)
            if found is None:
                raise not_found()
            if revision_id is not None and revision_id != found.policy_revision:
                raise stale_revision()
            statements = list(found.policy or [])
            if any(s["Sid"] == statement_id for s in statements):
                raise ServiceError(
                    "ResourceConflictException",
                    f"The statement id ({statement_id}) provided already exists. Please "
                    "provide a new statement id, or remove the existing statement.",
                    Type="User",
                )
            statement = _statement(found, statement_id, principal, organization)
            revision = str(uuid.uuid4())
            connection.execute(
                layer_versions.update().where(owned(layer_versions, ref.owner, ref.name),
                                              layer_versions.c.version == version)
                .values(policy=[*statements, statement], policy_revision=revision)
            )
            return statement, revision

        return await self.store.write(write)

    async def policy(self, caller: Caller, ref: LayerRef, version: int) -> tuple[str, str]:
        """A version's policy document (JSON text) and its revision."""
        self._own(caller, ref, "lambda:GetLayerVersionPolicy", version)
        found = await self.store.read(lambda connection: _select(connection, ref, version))
        if found is None:
            raise not_found()
        if not found.policy or found.policy_revision is None:
            raise ServiceError("ResourceNotFoundException",
                               "No policy is associated with the given resource.", Type="User")
        document = {"Version": "2012-10-17", "Id": "default", "Statement": found.policy}
        return _compact(document), found.policy_revision

    async def remove_permission(self, caller: Caller, ref: LayerRef, version: int,
                                statement_id: str, revision_id: str | None) -> None:
        """Remove one statement from a version's policy."""
        self._own(caller, ref, "lambda:RemoveLayerVersionPermission", version)

        def write(connection: Connection) -> None:
            found = _select(connection, ref, version)
            if found is None:
                raise not_found()
            if revision_id is not None and revision_id != found.policy_revision:
                raise stale_revision()
            kept = [s for s in found.policy or [] if s["Sid"] != statement_id]
            if len(kept) == len(found.policy or []):
                raise ServiceError(
                    "ResourceNotFoundException",
                    f"Statement {statement_id} is not found in resource policy.", Type="User",
                )
            connection.execute(
                layer_versions.update().where(owned(layer_versions, ref.owner, ref.name),
                                              layer_versions.c.version == version)
                .values(policy=kept or None,
                        policy_revision=str(uuid.uuid4()) if kept else None)
            )

        await self.store.write(write)

    async def references(self, caller: Caller, arns: Sequence[str]) -> list[dict[str, Any]]:
        """The ``Layers`` of a function of ``caller`` from the version ARNs it lists, refused
        as Lambda refuses them: more than five, another region, two versions of one layer, a
        version that does not exist or that ``caller`` may not use."""
        if len(arns) > MAX_LAYERS:
            raise invalid(f"Cannot reference more than {MAX_LAYERS} layers.")
        wanted: list[tuple[str, LayerRef, int]] = []
        seen: dict[str, str] = {}
        for arn in arns:
            match = _ARN.match(arn)
            if match is None or match["version"] is None:
                raise invalid(f"Layer version {arn} does not exist.")
            if match["region"] != caller.region:
                raise invalid(
                    "Layers are not in the same region as the function. Layers are expected "
                    f"to be in region {caller.region}."
                )
            ref = LayerRef(Caller(match["account"], match["region"]), match["name"])
            if ref.arn in seen:
                raise invalid(
                    "Two different versions of the same layer are not allowed to be "
                    f"referenced in the same function. {seen[ref.arn]} and {arn} are versions "
                    "of the same layer."
                )
            seen[ref.arn] = arn
            wanted.append((arn, ref, int(match["version"])))

        def read(connection: Connection) -> list[LayerVersion | None]:
            return [_select(connection, ref, number) for _, ref, number in wanted]

        found: list[dict[str, Any]] = []
        for (arn, ref, _), version in zip(wanted, await self.store.read(read), strict=True):
            if version is None or not version.grants(caller.account_id):
                if ref.owner.account_id != caller.account_id:
                    raise denied(caller, GET_LAYER_VERSION, arn)
                raise invalid(f"Layer version {arn} does not exist.")
            found.append(version.reference())
        return found

    async def contents(self, digests: Iterable[str]) -> dict[str, bytes]:
        """The stored zips with these digests (a digest whose content is gone is missing)."""
        wanted = list(digests)

        def read(connection: Connection) -> dict[str, bytes]:
            rows = connection.execute(
                sa.select(layer_content).where(layer_content.c.digest.in_(wanted))
            )
            return {row.digest: bytes(row.zip) for row in rows}

        return await self.store.read(read)

    async def sweep(self) -> None:
        """Drop content no layer version and no function or version refers to any more."""

        def write(connection: Connection) -> None:
            keep = _referenced_digests(connection)
            keep.update(connection.execute(sa.select(layer_versions.c.digest)).scalars())
            stored = set(connection.execute(sa.select(layer_content.c.digest)).scalars())
            gone = stored - keep
            if gone:
                connection.execute(layer_content.delete().where(
                    layer_content.c.digest.in_(gone)))

        await self.store.write(write)

    async def code_size(self, caller: Caller) -> int:
        """The bytes of every layer version ``caller`` holds (for GetAccountSettings)."""
        total = await self.store.read(lambda connection: connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(layer_versions.c.size), 0)).where(
                layer_versions.c.account_id == caller.account_id,
                layer_versions.c.region == caller.region,
            )
        ).scalar_one())
        return int(total)
