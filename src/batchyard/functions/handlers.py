"""Lambda API operations: thin wrappers over the ``FunctionHost``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from dataclasses import replace
from typing import Any

from batchyard.functions import code as codes
from batchyard.functions.configuration import (
    invalid,
    new_configuration,
    timestamp,
    updated_configuration,
)
from batchyard.functions.host import FunctionHost
from batchyard.functions.names import LATEST, function_arn
from batchyard.functions.registry import Function
from batchyard.functions.service import api
from batchyard.protocol.legacy import RequestContext
from batchyard.runtime import Runtime

log = logging.getLogger(__name__)

DEFAULT_PAGE = 50


@api.on_startup
async def start_functions(runtime: Runtime) -> None:
    """Register the functions host and replay Event invocations left from the last run."""
    host = runtime.add(FunctionHost(runtime))
    await host.start()


@api.on_shutdown
async def stop_functions(runtime: Runtime) -> None:
    """Stop every worker; unfinished Event invocations stay pending for the next start."""
    await runtime.get(FunctionHost).stop()


def _host(ctx: RequestContext) -> FunctionHost:
    return ctx.runtime.get(FunctionHost)


async def _bundle(code: dict[str, Any] | None) -> codes.CodeBundle:
    code = code or {}
    zip_bytes = code.get("ZipFile")
    if zip_bytes is None:
        if code.get("S3Bucket") or code.get("ImageUri"):
            raise invalid(
                "Only Code.ZipFile is supported by this server; upload the .zip file directly"
            )
        raise invalid("Please provide a source for function code.")
    return await asyncio.to_thread(codes.check_zip, zip_bytes)


async def _unpack(host: FunctionHost, record: Function, bundle: codes.CodeBundle) -> None:
    # The zip is committed already; a failed unpack is retried from the store on first use.
    try:
        await asyncio.to_thread(codes.unpack, host.settings.data_dir, record.name,
                                bundle.digest, bundle.zip_bytes)
    except OSError:
        log.exception("could not unpack the code of %s", record.name)


@api.operation("CreateFunction")
async def create_function(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Store a new function from a .zip package."""
    host = _host(ctx)
    ref = host.resolve(params["FunctionName"])
    config = new_configuration(params)
    bundle = await _bundle(params.get("Code"))
    arn = function_arn(ctx.region, ctx.account_id, ref.name)
    record = await host.registry.create(ref.name, arn, config, bundle,
                                        params.get("Tags") or {}, timestamp())
    await _unpack(host, record, bundle)
    if params.get("Publish"):
        record = await host.versions.publish(record.name)
    return record.configuration()


@api.operation("GetFunction")
async def get_function(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Configuration, code location and tags of a function."""
    record = await _host(ctx).lookup(params["FunctionName"], params.get("Qualifier"))
    answer: dict[str, Any] = {
        "Configuration": record.configuration(),
        "Code": {"RepositoryType": "S3"},
    }
    if record.tags:
        answer["Tags"] = record.tags
    return answer


@api.operation("GetFunctionConfiguration")
async def get_function_configuration(ctx: RequestContext, params: dict[str, Any]
                                     ) -> dict[str, Any]:
    """A function's configuration."""
    record = await _host(ctx).lookup(params["FunctionName"], params.get("Qualifier"))
    return record.configuration()


def _decode_marker(marker: str | None) -> str | None:
    if marker is None:
        return None
    try:
        name = base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        name = ""
    if not name:
        raise invalid("Invalid marker")
    return name


@api.operation("ListFunctions")
async def list_functions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Functions in name order, ``MaxItems`` (default 50) at a time."""
    limit = params.get("MaxItems", DEFAULT_PAGE)
    after = _decode_marker(params.get("Marker"))
    records = await _host(ctx).registry.page(after, limit + 1)
    answer: dict[str, Any] = {"Functions": [r.configuration() for r in records[:limit]]}
    if len(records) > limit:
        last = records[limit - 1].name
        answer["NextMarker"] = base64.urlsafe_b64encode(last.encode()).decode()
    return answer


@api.operation("UpdateFunctionCode")
async def update_function_code(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Replace a function's code; its warm workers are retired."""
    host = _host(ctx)
    ref = host.resolve(params["FunctionName"])
    bundle = await _bundle(params)
    if params.get("DryRun"):
        current = await host.registry.get(ref.name)
        return replace(current, code=bundle.summary()).configuration()
    record = await host.registry.update(
        ref.name, lambda current: replace(current, code=bundle.summary()),
        params.get("RevisionId"), bundle=bundle, modified=timestamp(),
    )
    await _unpack(host, record, bundle)
    await host.pools.retire(record.name)
    if params.get("Publish"):
        record = await host.versions.publish(record.name, revision_id=record.revision_id)
    return record.configuration()


@api.operation("UpdateFunctionConfiguration")
async def update_function_configuration(ctx: RequestContext, params: dict[str, Any]
                                        ) -> dict[str, Any]:
    """Change a function's settings; its warm workers are retired."""
    host = _host(ctx)
    ref = host.resolve(params["FunctionName"])
    record = await host.registry.update(
        ref.name,
        lambda current: replace(current, config=updated_configuration(current.config, params)),
        params.get("RevisionId"), modified=timestamp(),
    )
    await host.pools.retire(record.name)
    return record.configuration()


@api.operation("DeleteFunction")
async def delete_function(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a function, its code and its workers."""
    host = _host(ctx)
    ref = host.resolve(params["FunctionName"], params.get("Qualifier"))
    if ref.qualifier == LATEST:
        raise invalid("$LATEST version cannot be deleted without deleting the function.")
    if ref.qualifier is not None:
        if not ref.qualifier.isdigit():
            raise invalid("Deletion of aliases is not currently supported.")
        await host.versions.delete(ref.name, ref.qualifier)
        await host.pools.retire(ref.name, ref.qualifier)
        return {"StatusCode": 204}
    record = await host.registry.delete(ref.name)
    await host.forget(record.name)
    return {"StatusCode": 204}


@api.operation("Invoke")
async def invoke(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run a function synchronously, queue it (Event) or only check access (DryRun)."""
    result = await _host(ctx).invoke(
        params["FunctionName"],
        params.get("Payload") or b"",
        params.get("InvocationType") or "RequestResponse",
        qualifier=params.get("Qualifier"),
        request_id=ctx.request_id,
    )
    answer: dict[str, Any] = {"StatusCode": result.status, "Payload": result.payload}
    if result.function_error:
        answer["FunctionError"] = result.function_error
    if result.executed_version:
        answer["ExecutedVersion"] = result.executed_version
    if params.get("LogType") == "Tail" and result.status == 200:
        answer["LogResult"] = result.log_result
    return answer


async def _tagged(ctx: RequestContext, resource: str) -> Function:
    return await _host(ctx).lookup(resource)


@api.operation("ListTags")
async def list_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The tags of a function."""
    record = await _tagged(ctx, params["Resource"])
    return {"Tags": record.tags}


@api.operation("TagResource")
async def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Add or overwrite tags on a function."""
    host = _host(ctx)
    ref = host.resolve(params["Resource"])
    await host.registry.update(
        ref.name, lambda current: replace(current, tags={**current.tags, **params["Tags"]}),
        None,
    )


@api.operation("UntagResource")
async def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Remove tags from a function."""
    host = _host(ctx)
    ref = host.resolve(params["Resource"])
    drop = set(params["TagKeys"])
    await host.registry.update(
        ref.name,
        lambda current: replace(current, tags={k: v for k, v in current.tags.items()
                                               if k not in drop}),
        None,
    )
