"""Handlers for compute environments, job queues, job definitions and scheduling policies."""

from __future__ import annotations

from typing import Any

from batchyard.batch.service import api
from batchyard.protocol.service import RequestContext


@api.operation("DescribeComputeEnvironments")
async def describe_compute_environments(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Placeholder until the resource module lands."""
    return {"computeEnvironments": []}
