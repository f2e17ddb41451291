"""Lambda API operations on versions and aliases: thin wrappers over the ``FunctionHost``."""

from __future__ import annotations

from typing import Any

from batchyard.functions.configuration import invalid
from batchyard.functions.host import FunctionHost
from batchyard.functions.names import LATEST
from batchyard.functions.service import api
from batchyard.protocol.legacy import RequestContext

DEFAULT_PAGE = 50


def _host(ctx: RequestContext) -> FunctionHost:
    return ctx.runtime.get(FunctionHost)


def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    """``MaxItems`` items from the position ``Marker`` holds, and the next Marker."""
    marker = params.get("Marker")
    if marker is not None and not marker.isdigit():
        raise invalid("Invalid marker")
    start = int(marker or 0)
    limit = params.get("MaxItems") or DEFAULT_PAGE
    answer: dict[str, Any] = {key: items[start : start + limit]}
    if start + limit < len(items):
        answer["NextMarker"] = str(start + limit)
    return answer


@api.operation("PublishVersion")
async def publish_version(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Publish ``$LATEST`` as a new version (or answer the last one when nothing changed)."""
    host = _host(ctx)
    ref = host.resolve(params["FunctionName"])
    version = await host.versions.publish(
        ref.name, params.get("Description"), params.get("CodeSha256"), params.get("RevisionId")
    )
    return version.configuration()


@api.operation("ListVersionsByFunction")
async def list_versions_by_function(ctx: RequestContext, params: dict[str, Any]
                                    ) -> dict[str, Any]:
    """``$LATEST`` and every published version, oldest first."""
    host = _host(ctx)
    ref = host.resolve(params["FunctionName"])
    latest = await host.registry.get(ref.name)
    published = await host.versions.listing(ref.name)
    configurations = [latest.configuration(), *(v.configuration() for v in published)]
    configurations[0]["FunctionArn"] = host.arn(ref.name, LATEST)
    return _page(configurations, params, "Versions")


@api.operation("CreateAlias")
async def create_alias(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Name a version of a function."""
    host = _host(ctx)
    ref = host.resolve(params["FunctionName"])
    return await host.aliases.create(ref.name, params["Name"], params)


@api.operation("GetAlias")
async def get_alias(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """An alias's configuration."""
    host = _host(ctx)
    return await host.aliases.get(host.resolve(params["FunctionName"]).name, params["Name"])


@api.operation("UpdateAlias")
async def update_alias(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Point an alias elsewhere, or change its description or routing."""
    host = _host(ctx)
    ref = host.resolve(params["FunctionName"])
    return await host.aliases.update(ref.name, params["Name"], params)


@api.operation("DeleteAlias")
async def delete_alias(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Delete an alias; the versions it named stay."""
    host = _host(ctx)
    await host.aliases.delete(host.resolve(params["FunctionName"]).name, params["Name"])


@api.operation("ListAliases")
async def list_aliases(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """A function's aliases by name, only those of ``FunctionVersion`` when given."""
    host = _host(ctx)
    ref = host.resolve(params["FunctionName"])
    found = await host.aliases.listing(ref.name, params.get("FunctionVersion"))
    return _page(found, params, "Aliases")
