"""Handlers for compute environments, job queues, job definitions, scheduling policies and
tags: each hands its validated input to the domain in ``batch/resources``."""

from __future__ import annotations

from typing import Any

from batchyard.batch.resources import (
    compute_environments,
    job_definitions,
    job_queues,
    lifecycle,
    scheduling_policies,
    tags,
)
from batchyard.batch.service import api
from batchyard.protocol.legacy import RequestContext
from batchyard.runtime import Runtime

Result = dict[str, Any]


@api.on_startup
async def settle_leftovers(runtime: Runtime) -> None:
    """Finish status transitions a previous process left half-way."""
    await lifecycle.settler(runtime).recover()


@api.on_shutdown
async def drain_settling(runtime: Runtime) -> None:
    """Let in-flight status transitions commit before the store closes."""
    await lifecycle.settler(runtime).drain()


@api.operation("CreateComputeEnvironment")
async def create_compute_environment(ctx: RequestContext, params: Result) -> Result:
    return await compute_environments.create(ctx.runtime, params)


@api.operation("UpdateComputeEnvironment")
async def update_compute_environment(ctx: RequestContext, params: Result) -> Result:
    return await compute_environments.update(ctx.runtime, params)


@api.operation("DeleteComputeEnvironment")
async def delete_compute_environment(ctx: RequestContext, params: Result) -> Result:
    await compute_environments.delete(ctx.runtime, params)
    return {}


@api.operation("DescribeComputeEnvironments")
async def describe_compute_environments(ctx: RequestContext, params: Result) -> Result:
    return await compute_environments.describe(ctx.runtime, params)


@api.operation("CreateJobQueue")
async def create_job_queue(ctx: RequestContext, params: Result) -> Result:
    return await job_queues.create(ctx.runtime, params)


@api.operation("UpdateJobQueue")
async def update_job_queue(ctx: RequestContext, params: Result) -> Result:
    return await job_queues.update(ctx.runtime, params)


@api.operation("DeleteJobQueue")
async def delete_job_queue(ctx: RequestContext, params: Result) -> Result:
    await job_queues.delete(ctx.runtime, params)
    return {}


@api.operation("DescribeJobQueues")
async def describe_job_queues(ctx: RequestContext, params: Result) -> Result:
    return await job_queues.describe(ctx.runtime, params)


@api.operation("RegisterJobDefinition")
async def register_job_definition(ctx: RequestContext, params: Result) -> Result:
    return await job_definitions.register(ctx.runtime, params)


@api.operation("DeregisterJobDefinition")
async def deregister_job_definition(ctx: RequestContext, params: Result) -> Result:
    await job_definitions.deregister(ctx.runtime, params)
    return {}


@api.operation("DescribeJobDefinitions")
async def describe_job_definitions(ctx: RequestContext, params: Result) -> Result:
    return await job_definitions.describe(ctx.runtime, params)


@api.operation("CreateSchedulingPolicy")
async def create_scheduling_policy(ctx: RequestContext, params: Result) -> Result:
    return await scheduling_policies.create(ctx.runtime, params)


@api.operation("UpdateSchedulingPolicy")
async def update_scheduling_policy(ctx: RequestContext, params: Result) -> Result:
    await scheduling_policies.update(ctx.runtime, params)
    return {}


@api.operation("DeleteSchedulingPolicy")
async def delete_scheduling_policy(ctx: RequestContext, params: Result) -> Result:
    await scheduling_policies.delete(ctx.runtime, params)
    return {}


@api.operation("DescribeSchedulingPolicies")
async def describe_scheduling_policies(ctx: RequestContext, params: Result) -> Result:
    return await scheduling_policies.describe(ctx.runtime, params)


@api.operation("ListSchedulingPolicies")
async def list_scheduling_policies(ctx: RequestContext, params: Result) -> Result:
    return await scheduling_policies.list_policies(ctx.runtime, params)


@api.operation("TagResource")
async def tag_resource(ctx: RequestContext, params: Result) -> Result:
    await tags.tag_resource(ctx.runtime, params)
    return {}


@api.operation("UntagResource")
async def untag_resource(ctx: RequestContext, params: Result) -> Result:
    await tags.untag_resource(ctx.runtime, params)
    return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(ctx: RequestContext, params: Result) -> Result:
    return await tags.list_tags_for_resource(ctx.runtime, params)
