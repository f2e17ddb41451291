"""Handlers for consumable resources and ListJobsByConsumableResource."""

from __future__ import annotations

from typing import Any

from batchyard.batch.consumables import listing, resources
from batchyard.batch.service import api
from batchyard.protocol.legacy import RequestContext

Result = dict[str, Any]


@api.operation("CreateConsumableResource")
async def create_consumable_resource(ctx: RequestContext, params: Result) -> Result:
    return await resources.create(ctx.runtime, params)


@api.operation("DescribeConsumableResource")
async def describe_consumable_resource(ctx: RequestContext, params: Result) -> Result:
    return await resources.describe(ctx.runtime, params)


@api.operation("ListConsumableResources")
async def list_consumable_resources(ctx: RequestContext, params: Result) -> Result:
    return await resources.list_resources(ctx.runtime, params)


@api.operation("UpdateConsumableResource")
async def update_consumable_resource(ctx: RequestContext, params: Result) -> Result:
    return await resources.update(ctx.runtime, params)


@api.operation("DeleteConsumableResource")
async def delete_consumable_resource(ctx: RequestContext, params: Result) -> Result:
    await resources.delete(ctx.runtime, params)
    return {}


@api.operation("ListJobsByConsumableResource")
async def list_jobs_by_consumable_resource(ctx: RequestContext, params: Result) -> Result:
    """Jobs asking for a resource; the resource must exist now."""
    resource = resources.current(ctx.runtime, params["consumableResource"])
    return await ctx.runtime.store.read(lambda conn: listing.list_jobs(conn, resource.name, params))
