"""Lambda: the facade of functions, their versions and aliases, and invocations.

The API's operations and what other services need (``invoke``, for Step Functions tasks and
EventBridge targets) are methods of :class:`Lambda`; the rest of this package is its private
implementation. Every method takes the :class:`Caller` whose account and region the function
belongs to: a function of another account or region does not exist for it.

Configurations, aliases and their listings are answered as the documents Lambda's API shapes
describe (``FunctionConfiguration``, ``AliasConfiguration``): the stored configuration uses
those member names, so the answer is the document plus what is derived from it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from batchyard.aws.caller import Caller
from batchyard.aws.pagination import Pager
from batchyard.config import Settings
from batchyard.functions import code as codes
from batchyard.functions.concurrency import ACCOUNT_CONCURRENCY
from batchyard.functions.configuration import (
    invalid,
    new_configuration,
    timestamp,
    updated_configuration,
    with_layers,
)
from batchyard.functions.host import FunctionHost
from batchyard.functions.invocation import InvocationResult, InvocationType
from batchyard.functions.layers import DOCUMENT_MEMBERS, LayerVersion, parse_layer_name
from batchyard.functions.layers import not_found as layer_not_found
from batchyard.functions.names import LATEST
from batchyard.functions.output import FunctionOutput
from batchyard.functions.pool import POOL_SIZE
from batchyard.functions.registry import Function, function_key
from batchyard.protocol.service import error_status
from batchyard.store import Store

log = logging.getLogger(__name__)

DEFAULT_PAGE = 50
_pager = Pager(lambda _token: invalid("Invalid marker"))


def _page(listing: str, items: list[dict[str, Any]], marker: str | None, size: int | None,
          key: str) -> dict[str, Any]:
    page, following = _pager.offset_page(listing, items, marker, size or DEFAULT_PAGE)
    answer: dict[str, Any] = {key: page}
    if following is not None:
        answer["NextMarker"] = following
    return answer


class Lambda:
    """The Lambda service of one server."""

    def __init__(self, store: Store, output: FunctionOutput, settings: Settings,
                 pool_size: int = POOL_SIZE) -> None:
        """``pool_size`` bounds the warm workers of each function version."""
        self._host = FunctionHost(store, output, settings, pool_size)

    @staticmethod
    def error_status(code: str) -> int:
        """The HTTP status Lambda answers error ``code`` with (400 when its model does not
        say), for callers that report a failed call the way the API would."""
        return error_status("lambda", code)

    async def start(self) -> None:
        """Drop code no function uses any more; replay Events accepted before the last stop."""
        await self._host.start()

    async def stop(self) -> None:
        """Stop every worker; unfinished Event invocations stay pending for the next start."""
        await self._host.stop()

    async def _bundle(self, code: Mapping[str, Any] | None) -> codes.CodeBundle:
        code = code or {}
        zip_bytes = code.get("ZipFile")
        if zip_bytes is None:
            if code.get("S3Bucket") or code.get("ImageUri"):
                raise invalid(
                    "Only Code.ZipFile is supported by this server; upload the .zip file "
                    "directly"
                )
            raise invalid("Please provide a source for function code.")
        return await asyncio.to_thread(codes.check_zip, bytes(zip_bytes))

    async def _unpack(self, record: Function, bundle: codes.CodeBundle) -> None:
        # The zip is committed already; a failed unpack is retried from the store on first use.
        try:
            await asyncio.to_thread(codes.unpack, self._host.settings.work_dir, record.key,
                                    bundle.digest, bundle.zip_bytes)
        except OSError:
            log.exception("could not unpack the code of %s", record.name)

    async def create_function(
        self,
        caller: Caller,
        function_name: str,
        settings: Mapping[str, Any],
        code: Mapping[str, Any] | None,
        tags: Mapping[str, str] | None = None,
        publish: bool = False,
    ) -> dict[str, Any]:
        """Store a new function from a .zip package; ``settings`` are CreateFunction's
        configuration members (Runtime, Role, Handler, Timeout ...)."""
        host = self._host
        ref = host.resolve(caller, function_name)
        config = new_configuration(dict(settings))
        if "Layers" in settings:
            config = with_layers(config, await host.layers.references(caller,
                                                                      settings["Layers"]))
        bundle = await self._bundle(code)
        arn = host.arn(caller, ref.name)
        record = await host.registry.create(caller, ref.name, arn, config, bundle,
                                            dict(tags or {}), timestamp())
        await self._unpack(record, bundle)
        if publish:
            record = await host.versions.publish(caller, record.name)
        return record.configuration()

    async def get_function(self, caller: Caller, function_name: str,
                           qualifier: str | None = None) -> dict[str, Any]:
        """Configuration, code location and tags of a function."""
        record = await self._host.lookup(caller, function_name, qualifier)
        answer: dict[str, Any] = {
            "Configuration": record.configuration(),
            "Code": {"RepositoryType": "S3"},
        }
        if record.tags:
            answer["Tags"] = record.tags
        if record.reserved_concurrency is not None:
            answer["Concurrency"] = {"ReservedConcurrentExecutions": record.reserved_concurrency}
        return answer

    async def get_function_configuration(self, caller: Caller, function_name: str,
                                         qualifier: str | None = None) -> dict[str, Any]:
        """A function's configuration."""
        record = await self._host.lookup(caller, function_name, qualifier)
        return record.configuration()

    async def list_functions(self, caller: Caller, marker: str | None = None,
                             max_items: int | None = None) -> dict[str, Any]:
        """The caller's functions in name order, ``max_items`` (default 50) at a time."""
        limit = max_items or DEFAULT_PAGE
        after = _pager.decode("functions", marker)
        if after is not None and not isinstance(after, str):
            raise invalid("Invalid marker")
        records = await self._host.registry.page(caller, after, limit + 1)
        page, following = _pager.keyed_page(
            "functions", [(r.name, r.configuration()) for r in records], limit
        )
        answer: dict[str, Any] = {"Functions": page}
        if following is not None:
            answer["NextMarker"] = following
        return answer

    async def update_function_code(
        self,
        caller: Caller,
        function_name: str,
        code: Mapping[str, Any],
        revision_id: str | None = None,
        dry_run: bool = False,
        publish: bool = False,
    ) -> dict[str, Any]:
        """Replace a function's code (``code``: ZipFile); its warm workers are retired."""
        host = self._host
        ref = host.resolve(caller, function_name)
        bundle = await self._bundle(code)
        if dry_run:
            current = await host.registry.get(caller, ref.name)
            return replace(current, code=bundle.summary()).configuration()
        record = await host.registry.update(
            caller, ref.name, lambda current: replace(current, code=bundle.summary()),
            revision_id, bundle=bundle, modified=timestamp(),
        )
        await self._unpack(record, bundle)
        await host.pools.retire(record.key)
        if publish:
            record = await host.versions.publish(caller, record.name,
                                                 revision_id=record.revision_id)
        return record.configuration()

    async def update_function_configuration(
        self, caller: Caller, function_name: str, changes: Mapping[str, Any],
        revision_id: str | None = None,
    ) -> dict[str, Any]:
        """Change a function's settings (UpdateFunctionConfiguration's members in
        ``changes``); its warm workers are retired."""
        host = self._host
        ref = host.resolve(caller, function_name)
        layers = None
        if "Layers" in changes:
            layers = await host.layers.references(caller, changes["Layers"])

        def change(current: Function) -> Function:
            config = updated_configuration(current.config, dict(changes))
            return replace(current, config=config if layers is None
                           else with_layers(config, layers))

        record = await host.registry.update(caller, ref.name, change, revision_id,
                                            modified=timestamp())
        await host.pools.retire(record.key)
        return record.configuration()

    async def delete_function(self, caller: Caller, function_name: str,
                              qualifier: str | None = None) -> None:
        """Delete a function (its code and workers), or one of its versions."""
        host = self._host
        ref = host.resolve(caller, function_name, qualifier)
        if ref.qualifier == LATEST:
            raise invalid("$LATEST version cannot be deleted without deleting the function.")
        if ref.qualifier is not None:
            if not ref.qualifier.isdigit():
                raise invalid("Deletion of aliases is not currently supported.")
            await host.versions.delete(caller, ref.name, ref.qualifier)
            await host.pools.retire(function_key(caller, ref.name), ref.qualifier)
            return
        record = await host.registry.delete(caller, ref.name)
        await host.forget(record)

    async def invoke(
        self,
        caller: Caller,
        function_name: str,
        payload: bytes,
        invocation_type: InvocationType = InvocationType.REQUEST_RESPONSE,
        qualifier: str | None = None,
    ) -> InvocationResult:
        """Invoke a function as Lambda's Invoke does: run it and answer its result
        (RequestResponse), queue it (Event, 202) or only check it exists (DryRun, 204).

        ``function_name`` may be a name, a full or partial ARN, optionally qualified. A
        handler's error comes back as a result with ``function_error == "Unhandled"`` and the
        error document as ``payload``; a missing function or a payload that is not JSON raises
        ``ServiceError`` (ResourceNotFoundException, InvalidRequestContentException).
        """
        return await self._host.invoke(caller, function_name, payload, invocation_type,
                                       qualifier=qualifier, request_id=caller.request_id)

    async def list_tags(self, caller: Caller, resource: str) -> dict[str, str]:
        """The tags of a function."""
        record = await self._host.lookup(caller, resource)
        return record.tags

    async def tag_resource(self, caller: Caller, resource: str,
                           tags: Mapping[str, str]) -> None:
        """Add or overwrite tags on a function."""
        ref = self._host.resolve(caller, resource)
        await self._host.registry.update(
            caller, ref.name, lambda current: replace(current, tags={**current.tags, **tags}),
            None,
        )

    async def untag_resource(self, caller: Caller, resource: str, keys: list[str]) -> None:
        """Remove tags from a function."""
        ref = self._host.resolve(caller, resource)
        drop = set(keys)
        await self._host.registry.update(
            caller, ref.name,
            lambda current: replace(current, tags={k: v for k, v in current.tags.items()
                                                   if k not in drop}),
            None,
        )

    async def publish_version(
        self, caller: Caller, function_name: str, description: str | None = None,
        code_sha256: str | None = None, revision_id: str | None = None,
    ) -> dict[str, Any]:
        """Publish ``$LATEST`` as a new version (or answer the last one when nothing
        changed)."""
        ref = self._host.resolve(caller, function_name)
        version = await self._host.versions.publish(
            caller, ref.name, description, code_sha256, revision_id
        )
        return version.configuration()

    async def list_versions_by_function(
        self, caller: Caller, function_name: str, marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        """``$LATEST`` and every published version, oldest first."""
        host = self._host
        ref = host.resolve(caller, function_name)
        latest = await host.registry.get(caller, ref.name)
        published = await host.versions.listing(caller, ref.name)
        configurations = [latest.configuration(), *(v.configuration() for v in published)]
        configurations[0]["FunctionArn"] = host.arn(caller, ref.name, LATEST)
        return _page(f"versions/{ref.name}", configurations, marker, max_items, "Versions")

    async def create_alias(self, caller: Caller, function_name: str, name: str,
                           settings: Mapping[str, Any]) -> dict[str, Any]:
        """Name a version of a function (``settings``: FunctionVersion, Description,
        RoutingConfig)."""
        ref = self._host.resolve(caller, function_name)
        return await self._host.aliases.create(caller, ref.name, name, dict(settings))

    async def get_alias(self, caller: Caller, function_name: str, name: str) -> dict[str, Any]:
        """An alias's configuration."""
        ref = self._host.resolve(caller, function_name)
        return await self._host.aliases.get(caller, ref.name, name)

    async def update_alias(self, caller: Caller, function_name: str, name: str,
                           changes: Mapping[str, Any]) -> dict[str, Any]:
        """Point an alias elsewhere, or change its description or routing (``changes`` may
        hold a RevisionId)."""
        ref = self._host.resolve(caller, function_name)
        return await self._host.aliases.update(caller, ref.name, name, dict(changes))

    async def delete_alias(self, caller: Caller, function_name: str, name: str) -> None:
        """Delete an alias; the versions it named stay."""
        ref = self._host.resolve(caller, function_name)
        await self._host.aliases.delete(caller, ref.name, name)

    async def list_aliases(
        self, caller: Caller, function_name: str, function_version: str | None = None,
        marker: str | None = None, max_items: int | None = None,
    ) -> dict[str, Any]:
        """A function's aliases by name, only those of ``function_version`` when given."""
        ref = self._host.resolve(caller, function_name)
        found = await self._host.aliases.listing(caller, ref.name, function_version)
        return _page(f"aliases/{ref.name}", found, marker, max_items, "Aliases")

    def _unqualified(self, caller: Caller, function_name: str) -> str:
        ref = self._host.resolve(caller, function_name)
        if ref.qualifier is not None:
            raise invalid("Reserved concurrency applies to a whole function: name it without "
                          "a version or alias qualifier.")
        return ref.name

    async def put_function_concurrency(self, caller: Caller, function_name: str,
                                       reserved: int) -> dict[str, int]:
        """Reserve ``reserved`` concurrent executions for a function (0 throttles it)."""
        name = self._unqualified(caller, function_name)
        await self._host.reservations.put(caller, name, reserved)
        self._host.gate.changed(function_key(caller, name))
        return {"ReservedConcurrentExecutions": reserved}

    async def get_function_concurrency(self, caller: Caller, function_name: str
                                       ) -> dict[str, int]:
        """The function's reservation; empty when it has none."""
        record = await self._host.registry.get(caller, self._unqualified(caller, function_name))
        if record.reserved_concurrency is None:
            return {}
        return {"ReservedConcurrentExecutions": record.reserved_concurrency}

    async def delete_function_concurrency(self, caller: Caller, function_name: str) -> None:
        """Remove the function's reservation: it draws on the unreserved pool again."""
        name = self._unqualified(caller, function_name)
        await self._host.reservations.put(caller, name, None)
        self._host.gate.changed(function_key(caller, name))

    async def get_account_settings(self, caller: Caller) -> dict[str, Any]:
        """The account's limits (AWS's defaults) and what its functions and layers use."""
        host = self._host
        count, code_size = await host.registry.usage(caller)
        code_size += await host.layers.code_size(caller)
        return {
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800,
                "CodeSizeUnzipped": codes.MAX_UNZIPPED_BYTES,
                "CodeSizeZipped": 52_428_800,
                "ConcurrentExecutions": ACCOUNT_CONCURRENCY,
                "UnreservedConcurrentExecutions": await host.reservations.unreserved(caller),
            },
            "AccountUsage": {"TotalCodeSize": code_size, "FunctionCount": count},
        }

    async def publish_layer_version(self, caller: Caller, layer_name: str,
                                    content: Mapping[str, Any],
                                    settings: Mapping[str, Any]) -> dict[str, Any]:
        """Store a .zip (``content``: ZipFile) as the next version of a layer; ``settings``
        are Description, CompatibleRuntimes, CompatibleArchitectures and LicenseInfo."""
        zip_bytes = content.get("ZipFile")
        if zip_bytes is None:
            if content.get("S3Bucket") or content.get("S3Key"):
                raise invalid("Only Content.ZipFile is supported by this server; upload the "
                              ".zip file directly")
            raise invalid("Please provide a source for the layer content: Content.ZipFile.")
        bundle = await asyncio.to_thread(codes.check_zip, bytes(zip_bytes))
        document = {k: settings[k] for k in DOCUMENT_MEMBERS if k in settings}
        ref = parse_layer_name(caller, layer_name)
        version = await self._host.layers.publish(caller, ref, document, bundle)
        return version.description()

    async def _layer_version(self, caller: Caller, layer_name: str, version: int
                             ) -> LayerVersion:
        return await self._host.layers.get(caller, parse_layer_name(caller, layer_name),
                                           version)

    async def get_layer_version(self, caller: Caller, layer_name: str, version: int
                                ) -> dict[str, Any]:
        """One version of a layer (``layer_name``: a name, or a layer ARN of an account
        whose policy lets the caller read it)."""
        return (await self._layer_version(caller, layer_name, version)).description()

    async def get_layer_version_by_arn(self, caller: Caller, arn: str) -> dict[str, Any]:
        """The layer version ``arn`` names."""
        layer, _, number = arn.rpartition(":")
        if not number.isdigit():
            raise layer_not_found()
        return await self.get_layer_version(caller, layer, int(number))

    async def list_layers(self, caller: Caller, runtime: str | None = None,
                          architecture: str | None = None, marker: str | None = None,
                          max_items: int | None = None) -> dict[str, Any]:
        """The caller's layers by name, each with its newest version matching the runtime and
        architecture (when given)."""
        newest = await self._host.layers.latest(caller, runtime, architecture)
        items = [{"LayerName": v.name, "LayerArn": v.layer_arn,
                  "LatestMatchingVersion": v.list_item()} for v in newest]
        return _page(f"layers/{runtime}/{architecture}", items, marker, max_items, "Layers")

    async def list_layer_versions(
        self, caller: Caller, layer_name: str, runtime: str | None = None,
        architecture: str | None = None, marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        """A layer's versions, newest first (none for a layer that has none)."""
        ref = parse_layer_name(caller, layer_name)
        found = await self._host.layers.listing(caller, ref, runtime, architecture)
        return _page(f"layer-versions/{ref.name}/{runtime}/{architecture}",
                     [v.list_item() for v in found], marker, max_items, "LayerVersions")

    async def delete_layer_version(self, caller: Caller, layer_name: str, version: int) -> None:
        """Delete a layer version; functions that use it keep a copy."""
        await self._host.layers.delete(caller, parse_layer_name(caller, layer_name), version)

    async def add_layer_version_permission(
        self, caller: Caller, layer_name: str, version: int, statement_id: str,
        principal: str, organization_id: str | None = None, revision_id: str | None = None,
    ) -> dict[str, str]:
        """Grant an account (or ``*``: every account) ``lambda:GetLayerVersion`` on a
        version."""
        statement, revision = await self._host.layers.add_permission(
            caller, parse_layer_name(caller, layer_name), version, statement_id, principal,
            organization_id, revision_id,
        )
        return {"Statement": json.dumps(statement, separators=(",", ":")),
                "RevisionId": revision}

    async def get_layer_version_policy(self, caller: Caller, layer_name: str, version: int
                                       ) -> dict[str, str]:
        """A version's resource-based policy."""
        policy, revision = await self._host.layers.policy(
            caller, parse_layer_name(caller, layer_name), version)
        return {"Policy": policy, "RevisionId": revision}

    async def remove_layer_version_permission(
        self, caller: Caller, layer_name: str, version: int, statement_id: str,
        revision_id: str | None = None,
    ) -> None:
        """Remove a statement from a version's policy."""
        await self._host.layers.remove_permission(
            caller, parse_layer_name(caller, layer_name), version, statement_id, revision_id)
