"""Handlers for activities and tags."""

from __future__ import annotations

from typing import Any

from batchyard.protocol.legacy import RequestContext
from batchyard.states.resources import activities, tags
from batchyard.states.resources.arns import parse_arn
from batchyard.states.resources.pages import page
from batchyard.states.service import api


@api.operation("CreateActivity")
async def create_activity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    prefix = f"arn:aws:states:{ctx.region}:{ctx.account_id}"
    return await ctx.runtime.store.write(lambda conn: activities.create(conn, prefix, params))


@api.operation("DescribeActivity")
async def describe_activity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["activityArn"]
    return await ctx.runtime.store.read(lambda conn: activities.describe(conn, arn))


@api.operation("DeleteActivity")
async def delete_activity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["activityArn"]
    await ctx.runtime.store.write(lambda conn: activities.delete(conn, arn))
    return {}


@api.operation("ListActivities")
async def list_activities(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    items = await ctx.runtime.store.read(activities.list_all)
    chunk, token = page(items, params, "activities")
    return {"activities": chunk, "nextToken": token}


def _checked(conn: Any, arn: str) -> None:
    parse_arn(arn, "stateMachine", "activity")
    if not tags.resource_exists(conn, arn):
        raise tags.not_found(arn)


@api.operation("TagResource")
async def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["resourceArn"]

    def write(conn: Any) -> None:
        _checked(conn, arn)
        tags.put_tags(conn, arn, params["tags"])

    await ctx.runtime.store.write(write)
    return {}


@api.operation("UntagResource")
async def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["resourceArn"]

    def write(conn: Any) -> None:
        _checked(conn, arn)
        tags.remove_tags(conn, arn, params["tagKeys"])

    await ctx.runtime.store.write(write)
    return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["resourceArn"]

    def read(conn: Any) -> list[dict[str, str]]:
        _checked(conn, arn)
        return tags.list_tags(conn, arn)

    return {"tags": await ctx.runtime.store.read(read)}
