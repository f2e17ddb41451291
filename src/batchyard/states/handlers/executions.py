"""Handlers for executions, their history, redrive, task tokens and activity polling."""

from __future__ import annotations

from typing import Any

from batchyard.protocol.legacy import RequestContext
from batchyard.states.engine.engine import StatesEngine
from batchyard.states.resources.pages import page
from batchyard.states.service import api


def _engine(ctx: RequestContext) -> StatesEngine:
    return ctx.runtime.get(StatesEngine)


@api.operation("StartExecution")
async def start_execution(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    execution = await _engine(ctx).start_execution(
        params["stateMachineArn"], params.get("name"), params.get("input"),
        params.get("traceHeader"),
    )
    return {"executionArn": execution.arn, "startDate": execution.started}


@api.operation("StartSyncExecution")
async def start_sync_execution(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    execution = await _engine(ctx).start_sync_execution(
        params["stateMachineArn"], params.get("name"), params.get("input"),
        params.get("traceHeader"),
    )
    return execution.sync_result()


@api.operation("StopExecution")
async def stop_execution(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    stopped = await _engine(ctx).stop_execution(
        params["executionArn"], params.get("error"), params.get("cause")
    )
    return {"stopDate": stopped}


@api.operation("DescribeExecution")
async def describe_execution(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await _engine(ctx).execution_description(params["executionArn"])


@api.operation("DescribeStateMachineForExecution")
async def describe_state_machine_for_execution(
    ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    execution = await _engine(ctx).describe_execution(params["executionArn"])
    return execution.machine_description()


@api.operation("ListExecutions")
async def list_executions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    items = await _engine(ctx).list_executions(
        params.get("stateMachineArn"), params.get("mapRunArn"), params.get("statusFilter"),
        params.get("redriveFilter"),
    )
    scope = f"executions:{params.get('stateMachineArn') or params.get('mapRunArn')}"
    chunk, token = page(items, params, scope)
    return {"executions": [e.list_item() for e in chunk], "nextToken": token}


@api.operation("GetExecutionHistory")
async def get_execution_history(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["executionArn"]
    events = await _engine(ctx).history(arn)
    if params.get("reverseOrder"):
        events.reverse()
    chunk, token = page(events, params, f"history:{arn}:{params.get('reverseOrder', False)}")
    include = params.get("includeExecutionData", True)
    return {"events": [e.wire(include) for e in chunk], "nextToken": token}


@api.operation("RedriveExecution")
async def redrive_execution(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"redriveDate": await _engine(ctx).redrive_execution(params["executionArn"])}


@api.operation("SendTaskSuccess")
async def send_task_success(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _engine(ctx).send_task_success(params["taskToken"], params["output"])
    return {}


@api.operation("SendTaskFailure")
async def send_task_failure(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _engine(ctx).send_task_failure(
        params["taskToken"], params.get("error"), params.get("cause")
    )
    return {}


@api.operation("SendTaskHeartbeat")
async def send_task_heartbeat(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _engine(ctx).send_task_heartbeat(params["taskToken"])
    return {}


@api.operation("GetActivityTask")
async def get_activity_task(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    task = await _engine(ctx).get_activity_task(params["activityArn"], params.get("workerName"))
    if task is None:
        return {}
    return {"taskToken": task.token, "input": task.input}
