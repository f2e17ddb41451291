"""Handlers for targets: PutTargets, RemoveTargets and ListTargetsByRule.

A target configuration that cannot work (a malformed ARN, more than one input option, an
input transformer with undefined placeholders, a Batch target without BatchParameters)
fails the whole request, so nothing is stored; an ARN of a kind this server cannot deliver
to comes back in FailedEntries while the other targets are stored.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from batchyard.events import records
from batchyard.events.buses import bus_name
from batchyard.events.components import Events
from batchyard.events.handlers import pages
from batchyard.events.service import api
from batchyard.events.targets import JOB_QUEUE, KINDS, parse_arn
from batchyard.events.transform import InvalidInput, check_path, check_transformer
from batchyard.protocol.errors import ServiceError
from batchyard.protocol.legacy import RequestContext

_INPUT_OPTIONS = ("Input", "InputPath", "InputTransformer")


def _invalid(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def _check_target(target: dict[str, Any]) -> str | None:
    """Raise for a target that fails the request; the reason it is skipped, or None."""
    arn, target_id = target["Arn"], target["Id"]
    parsed = parse_arn(arn)
    if parsed is None:
        raise _invalid(
            f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format."
        )
    if sum(1 for option in _INPUT_OPTIONS if option in target) > 1:
        raise _invalid(
            "Only one of Input, InputPath, or InputTransformer must be provided "
            f"for target {target_id}."
        )
    if "Input" in target:
        try:
            json.loads(target["Input"])
        except (ValueError, RecursionError):
            raise _invalid(f"Input for target {target_id} is not valid JSON text.") from None
    try:
        if "InputPath" in target:
            check_path(target["InputPath"])
        if "InputTransformer" in target:
            transformer = target["InputTransformer"]
            check_transformer(transformer.get("InputPathsMap") or {}, transformer["InputTemplate"])
    except InvalidInput as error:
        raise _invalid(f"{error} for target {target_id}.") from None
    kind = parsed[0]
    if kind == JOB_QUEUE and "BatchParameters" not in target:
        raise _invalid(f"Parameter(s) BatchParameters must be specified for target: {target_id}.")
    if kind not in KINDS:
        return (
            f"Target {arn} is not supported: this server delivers to log groups, "
            "functions, state machines and Batch job queues."
        )
    return None


@api.operation("PutTargets")
async def put_targets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Add targets to a rule, or update those with the same Id."""
    bus = bus_name(params.get("EventBusName"))
    rule = params["Rule"]
    accepted: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for target in params["Targets"]:
        reason = _check_target(target)
        if reason is None:
            accepted.append(target)
        else:
            failed.append(
                {
                    "TargetId": target["Id"],
                    "ErrorCode": "ValidationException",
                    "ErrorMessage": reason,
                }
            )
    stored = await ctx.runtime.store.write(
        partial(records.put_targets, bus=bus, rule=rule, documents=accepted)
    )
    ctx.runtime.get(Events).catalog.put(stored)
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


@api.operation("RemoveTargets")
async def remove_targets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Remove targets from a rule by Id."""
    bus = bus_name(params.get("EventBusName"))
    stored = await ctx.runtime.store.write(
        partial(records.remove_targets, bus=bus, rule=params["Rule"], ids=params["Ids"])
    )
    ctx.runtime.get(Events).catalog.put(stored)
    return {"FailedEntryCount": 0, "FailedEntries": []}


@api.operation("ListTargetsByRule")
async def list_targets_by_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """A rule's targets in the order they were added, a page at a time."""
    bus = bus_name(params.get("EventBusName"))
    rule = params["Rule"]

    def read(conn: Any) -> list[dict[str, Any]]:
        records.require_rule(conn, bus, rule)
        return records.list_targets(conn, bus, rule)

    found = await ctx.runtime.store.read(read)
    start = pages.decode_offset(params.get("NextToken"))
    limit = params.get("Limit", pages.DEFAULT_LIMIT)
    result: dict[str, Any] = {"Targets": found[start : start + limit]}
    if start + limit < len(found):
        result["NextToken"] = pages.encode(str(start + limit))
    return result
