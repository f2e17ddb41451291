"""Handlers for rules and the event bus: PutRule, DescribeRule, ListRules, DeleteRule,
EnableRule, DisableRule, DescribeEventBus and TestEventPattern."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from batchyard.events import records
from batchyard.events.buses import bus_name
from batchyard.events.components import Events
from batchyard.events.handlers import pages
from batchyard.events.patterns import InvalidEventPattern, compile_pattern, matches
from batchyard.events.schedule import InvalidSchedule, parse_schedule
from batchyard.events.service import api
from batchyard.protocol.errors import ServiceError
from batchyard.protocol.legacy import RequestContext

# TestEventPattern only accepts events that carry the envelope EventBridge always sets.
_ENVELOPE_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


def invalid_pattern(error: InvalidEventPattern) -> ServiceError:
    """AWS's InvalidEventPatternException for ``error``."""
    return ServiceError("InvalidEventPatternException", error.message)


def _rule_document(ctx: RequestContext, params: dict[str, Any], bus: str) -> dict[str, Any]:
    pattern = params.get("EventPattern")
    schedule = params.get("ScheduleExpression")
    if not pattern and not schedule:
        raise ServiceError(
            "ValidationException",
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        )
    if pattern:
        try:
            compile_pattern(pattern)
        except InvalidEventPattern as error:
            raise invalid_pattern(error) from None
    if schedule:
        try:
            parse_schedule(schedule)
        except InvalidSchedule:
            raise ServiceError(
                "ValidationException", "Parameter ScheduleExpression is not valid."
            ) from None
    name = params["Name"]
    document: dict[str, Any] = {
        "Name": name,
        "Arn": ctx.runtime.arn("events", f"rule/{name}"),
        "State": params.get("State", "ENABLED"),
        "EventBusName": bus,
        "CreatedBy": ctx.account_id,
    }
    for member in ("EventPattern", "ScheduleExpression", "Description", "RoleArn"):
        if params.get(member):
            document[member] = params[member]
    return document


@api.operation("PutRule")
async def put_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Create or replace a rule with an event pattern or a schedule (or both)."""
    bus = bus_name(params.get("EventBusName"))
    document = _rule_document(ctx, params, bus)
    stored = await ctx.runtime.store.write(
        partial(records.put_rule, document=document, tags=params.get("Tags") or [])
    )
    ctx.runtime.get(Events).catalog.put(stored)
    return {"RuleArn": document["Arn"]}


@api.operation("DescribeRule")
async def describe_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """A rule's document."""
    bus = bus_name(params.get("EventBusName"))
    return await ctx.runtime.store.read(partial(records.require_rule, bus=bus, name=params["Name"]))


@api.operation("ListRules")
async def list_rules(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Rules of the bus in name order, optionally by name prefix, a page at a time."""
    bus = bus_name(params.get("EventBusName"))
    limit = params.get("Limit", pages.DEFAULT_LIMIT)
    found = await ctx.runtime.store.read(
        partial(
            records.list_rules,
            bus=bus,
            prefix=params.get("NamePrefix"),
            after=pages.decode(params.get("NextToken")),
            limit=limit + 1,
        )
    )
    result: dict[str, Any] = {"Rules": found[:limit]}
    if len(found) > limit:
        result["NextToken"] = pages.encode(found[limit - 1]["Name"])
    return result


@api.operation("DeleteRule")
async def delete_rule(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Delete a rule; refused while it has targets; a missing rule is not an error."""
    bus = bus_name(params.get("EventBusName"))
    name = params["Name"]
    await ctx.runtime.store.write(partial(records.delete_rule, bus=bus, name=name))
    ctx.runtime.get(Events).catalog.remove(bus, name)


async def _set_state(ctx: RequestContext, params: dict[str, Any], state: str) -> None:
    bus = bus_name(params.get("EventBusName"))
    stored = await ctx.runtime.store.write(
        partial(records.set_state, bus=bus, name=params["Name"], state=state)
    )
    ctx.runtime.get(Events).catalog.put(stored)


@api.operation("EnableRule")
async def enable_rule(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Let a rule match events (or fire on its schedule) again."""
    await _set_state(ctx, params, "ENABLED")


@api.operation("DisableRule")
async def disable_rule(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Stop a rule matching events and firing on its schedule."""
    await _set_state(ctx, params, "DISABLED")


@api.operation("DescribeEventBus")
async def describe_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The default bus (the only one this server has)."""
    name = bus_name(params.get("Name"))
    return {"Name": name, "Arn": ctx.runtime.arn("events", f"event-bus/{name}")}


@api.operation("TestEventPattern")
async def test_event_pattern(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Whether an event matches a pattern."""
    try:
        pattern = compile_pattern(params["EventPattern"])
    except InvalidEventPattern as error:
        raise invalid_pattern(error) from None
    try:
        event = json.loads(params["Event"])
    except (ValueError, RecursionError):
        event = None
    if not isinstance(event, dict) or any(name not in event for name in _ENVELOPE_FIELDS):
        raise ServiceError("ValidationException", "Parameter Event is not valid.")
    return {"Result": matches(pattern, event)}
