"""Consumable resources: Create / Describe / List / Update / Delete.

The store keeps each resource's total; the scheduler's ``ConsumablePool`` keeps what jobs
hold, so Describe and List answer from the pool, right at every moment. Changes are
committed first and then applied to the pool, and the scheduler is asked for a pass (a
raised total may let a held head start).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import Connection

from batchyard.batch.consumables import store
from batchyard.batch.consumables.pool import NON_REPLENISHABLE, REPLENISHABLE, Resource
from batchyard.batch.resources import tags
from batchyard.batch.resources.names import client_error, is_arn, require_name
from batchyard.batch.resources.pagination import decode_token, page_size, paginate
from batchyard.batch.scheduler.policies import SchedulingPolicies
from batchyard.runtime import Runtime

CONSUMABLE_RESOURCE = "consumable-resource"
MAX_RESOURCES = 50_000
RESOURCE_TYPES = (REPLENISHABLE, NON_REPLENISHABLE)
OPERATIONS = ("SET", "ADD", "REMOVE")
NAME_FILTER = "CONSUMABLE_RESOURCE_NAME"
# clientToken -> (request, answer) of recent updates; AWS honours a token for 8 hours.
TOKEN_SECONDS = 8 * 3600
MAX_TOKENS = 10_000
_tokens: OrderedDict[str, tuple[float, tuple[Any, ...], dict[str, Any]]] = OrderedDict()


def _missing(reference: str) -> Exception:
    return client_error(f"Consumable resource {reference} does not exist.")


def _policies(runtime: Runtime) -> SchedulingPolicies:
    return runtime.get(SchedulingPolicies)


def current(runtime: Runtime, reference: str) -> Resource:
    """The resource named or ARN'd by ``reference``; ClientException when it does not exist."""
    name = reference.rsplit("/", 1)[-1] if is_arn(reference) else reference
    resource = _policies(runtime).pool.resources.get(name)
    if resource is None or (is_arn(reference) and resource.arn != reference):
        raise _missing(reference)
    return resource


def matches(value: str, patterns: list[str]) -> bool:
    """AWS's name filter: case-insensitive equality, or a prefix when ending in ``*``."""
    lowered = value.lower()
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.endswith("*") and lowered.startswith(pattern[:-1]):
            return True
        if lowered == pattern:
            return True
    return False


async def create(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """CreateConsumableResource."""
    name = require_name(params["consumableResourceName"], "Consumable resource name")
    resource_type = params.get("resourceType") or REPLENISHABLE
    if resource_type not in RESOURCE_TYPES:
        raise client_error(
            f"resourceType must be one of {', '.join(RESOURCE_TYPES)}, got {resource_type}."
        )
    total = params.get("totalQuantity", 0)
    if total < 0:
        raise client_error("totalQuantity must be non-negative.")
    new_tags = params.get("tags") or {}
    tags.validate_tags(new_tags)
    arn = runtime.arn("batch", f"{CONSUMABLE_RESOURCE}/{name}")
    created_at = int(time.time() * 1000)

    def write(conn: Connection) -> Resource:
        if store.find(conn, name) is not None:
            raise client_error(f"Consumable resource {name} already exists.")
        if store.count(conn) >= MAX_RESOURCES:
            raise client_error(f"An account can have at most {MAX_RESOURCES} consumable resources.")
        resource = store.insert(conn, name, arn, resource_type, total, created_at)
        tags.add_tags(conn, arn, new_tags)
        return resource

    resource = await runtime.store.write(write)
    policies = _policies(runtime)
    policies.pool.put(resource)
    policies.wake()
    return {"consumableResourceName": name, "consumableResourceArn": arn}


def _describe(resource: Resource, resource_tags: dict[str, str]) -> dict[str, Any]:
    return {
        "consumableResourceName": resource.name,
        "consumableResourceArn": resource.arn,
        "totalQuantity": resource.reported_total,
        "inUseQuantity": resource.in_use,
        "availableQuantity": resource.available,
        "resourceType": resource.resource_type,
        "createdAt": resource.created_at,
        "tags": resource_tags,
    }


async def describe(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeConsumableResource: quantities as of now."""
    resource = current(runtime, params["consumableResource"])
    found = await runtime.store.read(lambda conn: tags.get_tags(conn, resource.arn))
    return _describe(resource, found)


async def list_resources(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """ListConsumableResources: summaries by creation, filtered by name, paginated."""
    size = page_size(params.get("maxResults"))
    after = decode_token("ListConsumableResources", params.get("nextToken"))
    patterns: list[str] = []
    for entry in params.get("filters") or []:
        if entry.get("name") != NAME_FILTER:
            raise client_error(f"Invalid filter name {entry.get('name')}; use {NAME_FILTER}.")
        patterns.extend(entry.get("values") or [])
    resources = sorted(_policies(runtime).pool.resources.values(), key=lambda r: r.generation)
    rows = [
        (r.generation, r)
        for r in resources
        if (after is None or r.generation > after) and (not patterns or matches(r.name, patterns))
    ][: size + 1]
    page, token = paginate("ListConsumableResources", rows, size)
    result: dict[str, Any] = {
        "consumableResources": [
            {
                "consumableResourceArn": r.arn,
                "consumableResourceName": r.name,
                "totalQuantity": r.reported_total,
                "inUseQuantity": r.in_use,
                "resourceType": r.resource_type,
            }
            for r in page
        ]
    }
    if token:
        result["nextToken"] = token
    return result


def _new_total(resource: Resource, operation: str, quantity: int) -> int:
    if operation == "SET":
        return quantity
    if operation == "ADD":
        return resource.total + quantity
    if quantity > resource.total:
        raise client_error(
            f"Cannot remove {quantity} from consumable resource {resource.name}: "
            f"its total quantity is {resource.total}."
        )
    return resource.total - quantity


async def update(runtime: Runtime, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateConsumableResource: SET, ADD or REMOVE quantity (idempotent per clientToken)."""
    operation = params.get("operation") or "SET"
    if operation not in OPERATIONS:
        raise client_error(f"operation must be one of {', '.join(OPERATIONS)}, got {operation}.")
    quantity = params.get("quantity")
    if quantity is None:
        raise client_error("quantity is required.")
    if quantity < 0:
        raise client_error("quantity must be non-negative.")
    token = params.get("clientToken")
    request = (params["consumableResource"], operation, quantity)
    now = time.monotonic()
    if token is not None:
        seen = _tokens.get(token)
        if seen is not None and now - seen[0] < TOKEN_SECONDS:
            if seen[1] != request:
                raise client_error(f"clientToken {token} was used with a different request.")
            return seen[2]
    resource = current(runtime, params["consumableResource"])
    total = _new_total(resource, operation, quantity)
    await runtime.store.write(
        lambda conn: store.set_total(conn, resource.name, resource.generation, total)
    )
    resource.total = total
    _policies(runtime).wake()
    answer = {
        "consumableResourceName": resource.name,
        "consumableResourceArn": resource.arn,
        "totalQuantity": resource.reported_total,
    }
    if token is not None:
        _tokens[token] = (now, request, answer)
        while len(_tokens) > MAX_TOKENS:
            _tokens.popitem(last=False)
    return answer


async def delete(runtime: Runtime, params: dict[str, Any]) -> None:
    """DeleteConsumableResource: allowed while jobs hold it; their returns are then ignored."""
    resource = current(runtime, params["consumableResource"])

    def write(conn: Connection) -> None:
        store.delete(conn, resource.name)
        tags.drop_tags(conn, resource.arn)

    await runtime.store.write(write)
    _policies(runtime).pool.drop(resource.name)


def _exists(conn: Connection, arn: str) -> bool:
    found = store.find(conn, arn)
    return found is not None


tags.register_taggable(CONSUMABLE_RESOURCE, _exists)
