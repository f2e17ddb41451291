"""Handlers for definition validation, TestState and Map Runs."""

from __future__ import annotations

from typing import Any

from batchyard.protocol.legacy import RequestContext
from batchyard.states.engine.diagnostics import diagnostics
from batchyard.states.engine.engine import StatesEngine
from batchyard.states.engine.test_state import test_state
from batchyard.states.resources.arns import parse_arn
from batchyard.states.resources.pages import page
from batchyard.states.service import api


@api.operation("ValidateStateMachineDefinition")
async def validate_state_machine_definition(
    ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    return diagnostics(params["definition"], params.get("maxResults"))


@api.operation("TestState")
async def test_state_operation(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    engine = ctx.runtime.get(StatesEngine)
    return await test_state(params, engine.invokers, ctx.region, ctx.account_id)


@api.operation("DescribeMapRun")
async def describe_map_run(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await ctx.runtime.get(StatesEngine).map_runs.describe(params["mapRunArn"])


@api.operation("ListMapRuns")
async def list_map_runs(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    engine = ctx.runtime.get(StatesEngine)
    arn = params["executionArn"]
    parse_arn(arn, "execution")
    await engine.describe_execution(arn)
    items = await engine.map_runs.list_for(arn)
    chunk, token = page(items, params, f"maps:{arn}")
    return {"mapRuns": chunk, "nextToken": token}


@api.operation("UpdateMapRun")
async def update_map_run(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await ctx.runtime.get(StatesEngine).map_runs.update(params["mapRunArn"], params)
    return {}
