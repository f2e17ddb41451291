"""Handlers for rule tags and reverse lookups: TagResource, UntagResource,
ListTagsForResource and ListRuleNamesByTarget."""

from __future__ import annotations

from functools import partial
from typing import Any

from batchyard.events import records
from batchyard.events.buses import bus_name
from batchyard.events.handlers import pages
from batchyard.events.service import api
from batchyard.protocol.legacy import RequestContext


@api.operation("TagResource")
async def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Add or update tags on a rule."""
    await ctx.runtime.store.write(
        partial(records.tag, arn=params["ResourceARN"], added=params["Tags"])
    )


@api.operation("UntagResource")
async def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Remove tags from a rule by key."""
    await ctx.runtime.store.write(
        partial(records.untag, arn=params["ResourceARN"], keys=params["TagKeys"])
    )


@api.operation("ListTagsForResource")
async def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """A rule's tags."""
    found = await ctx.runtime.store.read(partial(records.tags_of, arn=params["ResourceARN"]))
    return {"Tags": found}


@api.operation("ListRuleNamesByTarget")
async def list_rule_names_by_target(
    ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    """The rules that have a target of the given ARN, a page at a time."""
    bus = bus_name(params.get("EventBusName"))
    limit = params.get("Limit", pages.DEFAULT_LIMIT)
    names = await ctx.runtime.store.read(
        partial(
            records.rule_names_by_target,
            bus=bus,
            target_arn=params["TargetArn"],
            after=pages.decode(params.get("NextToken")),
            limit=limit + 1,
        )
    )
    result: dict[str, Any] = {"RuleNames": names[:limit]}
    if len(names) > limit:
        result["NextToken"] = pages.encode(names[limit - 1])
    return result
