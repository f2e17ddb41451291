"""Handlers for state machines, their versions and aliases."""

from __future__ import annotations

from typing import Any

from batchyard.protocol.legacy import RequestContext
from batchyard.states.resources import aliases, machines
from batchyard.states.resources.arns import split_qualified
from batchyard.states.resources.pages import page
from batchyard.states.service import api


def _prefix(ctx: RequestContext) -> str:
    return f"arn:aws:states:{ctx.region}:{ctx.account_id}"


@api.operation("CreateStateMachine")
async def create_state_machine(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Validate the definition and role, then store the machine (and maybe a version)."""
    machines.check_definition(params["definition"])
    machines.check_role(params["roleArn"])
    prefix = _prefix(ctx)
    return await ctx.runtime.store.write(lambda conn: machines.create(conn, prefix, params))


@api.operation("DescribeStateMachine")
async def describe_state_machine(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineArn"]
    split_qualified(arn)
    machine = await ctx.runtime.store.read(lambda conn: machines.describe(conn, arn))
    return machine.describe()


@api.operation("UpdateStateMachine")
async def update_state_machine(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    split_qualified(params["stateMachineArn"])
    if "definition" in params:
        machines.check_definition(params["definition"])
    if "roleArn" in params:
        machines.check_role(params["roleArn"])
    return await ctx.runtime.store.write(lambda conn: machines.update(conn, params))


@api.operation("DeleteStateMachine")
async def delete_state_machine(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineArn"]
    split_qualified(arn)
    await ctx.runtime.store.write(lambda conn: machines.delete(conn, arn))
    return {}


@api.operation("ListStateMachines")
async def list_state_machines(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    items = await ctx.runtime.store.read(machines.list_all)
    chunk, token = page(items, params, "machines")
    return {"stateMachines": chunk, "nextToken": token}


@api.operation("PublishStateMachineVersion")
async def publish_state_machine_version(
    ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    arn = params["stateMachineArn"]
    return await ctx.runtime.store.write(
        lambda conn: machines.publish(
            conn, arn, params.get("revisionId"), params.get("description")
        )
    )


@api.operation("ListStateMachineVersions")
async def list_state_machine_versions(
    ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    arn = params["stateMachineArn"]
    items = await ctx.runtime.store.read(lambda conn: machines.list_versions(conn, arn))
    chunk, token = page(items, params, f"versions:{arn}")
    return {"stateMachineVersions": chunk, "nextToken": token}


@api.operation("DeleteStateMachineVersion")
async def delete_state_machine_version(
    ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    arn = params["stateMachineVersionArn"]
    await ctx.runtime.store.write(lambda conn: machines.delete_version(conn, arn))
    return {}


@api.operation("CreateStateMachineAlias")
async def create_state_machine_alias(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await ctx.runtime.store.write(lambda conn: aliases.create(conn, params))


@api.operation("DescribeStateMachineAlias")
async def describe_state_machine_alias(
    ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    arn = params["stateMachineAliasArn"]
    return await ctx.runtime.store.read(lambda conn: aliases.describe(conn, arn))


@api.operation("UpdateStateMachineAlias")
async def update_state_machine_alias(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await ctx.runtime.store.write(lambda conn: aliases.update(conn, params))


@api.operation("DeleteStateMachineAlias")
async def delete_state_machine_alias(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineAliasArn"]
    await ctx.runtime.store.write(lambda conn: aliases.delete(conn, arn))
    return {}


@api.operation("ListStateMachineAliases")
async def list_state_machine_aliases(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineArn"]
    items = await ctx.runtime.store.read(lambda conn: aliases.list_for(conn, arn))
    chunk, token = page(items, params, f"aliases:{arn}")
    return {"stateMachineAliases": chunk, "nextToken": token}
