"""The Step Functions API (json 1.0, camelCase members): each operation's input, as botocore's
model parsed and checked it, handed to the :class:`StepFunctions` facade."""

from __future__ import annotations

from typing import Any

from batchyard.aws.caller import Caller
from batchyard.protocol.errors import ServiceError
from batchyard.protocol.service import Params, ServiceApi
from batchyard.states.model import ExecutionStatus, HistoryEvent, MachineType, Route
from batchyard.states.service import StepFunctions
from batchyard.states.tools import Mock, StateTest


def _tags(params: Params) -> dict[str, str]:
    """The request's tags as a map; the model leaves a tag's key optional, AWS does not."""
    tags = params.get("tags", [])
    missing = [i for i, tag in enumerate(tags) if "key" not in tag]
    if missing:
        shown = "; ".join(f"Member must not be null at 'tags[{i}].key'" for i in missing[:5])
        noun = "error" if len(missing) == 1 else "errors"
        raise ServiceError(
            "ValidationException", f"{len(missing)} validation {noun} detected: {shown}"
        )
    return {tag["key"]: tag.get("value", "") for tag in tags}


def _routing(params: Params) -> list[Route] | None:
    routing = params.get("routingConfiguration")
    if routing is None:
        return None
    return [Route(r["stateMachineVersionArn"], r["weight"]) for r in routing]


def _status(params: Params) -> ExecutionStatus | None:
    status = params.get("statusFilter")
    return ExecutionStatus(status) if status is not None else None


def _state_test(params: Params) -> StateTest:
    mock = params.get("mock")
    failure = (mock or {}).get("errorOutput")
    return StateTest(
        definition=params["definition"], role_arn=params.get("roleArn", ""),
        input=params.get("input"), state_name=params.get("stateName"),
        variables=params.get("variables"), inspection_level=params.get("inspectionLevel"),
        retrier_retry_count=(params.get("stateConfiguration") or {}).get("retrierRetryCount", 0),
        mock=Mock(
            result=mock.get("result"), error=(failure or {}).get("error"),
            cause=(failure or {}).get("cause"), fails=failure is not None,
        ) if mock else None,
    )


def _event(event: HistoryEvent) -> dict[str, Any]:
    # A history event's details are documents of their own: it is written out as it is.
    return {
        "timestamp": event.timestamp, "type": event.type, "id": event.id,
        "previousEventId": event.previous_event_id, **event.details,
    }


async def _history(sfn: StepFunctions, caller: Caller, params: Params) -> dict[str, Any]:
    history = await sfn.get_execution_history(
        caller, params["executionArn"], params.get("maxResults"), params.get("nextToken"),
        bool(params.get("reverseOrder")), params.get("includeExecutionData", True),
    )
    return {"events": [_event(e) for e in history.items], "nextToken": history.next_token}


def api(sfn: StepFunctions) -> ServiceApi:
    """The Step Functions API served by ``sfn``."""
    return ServiceApi(
        "stepfunctions",
        "ValidationException",
        {
            # -- state machines, versions and aliases
            "CreateStateMachine": lambda c, p: sfn.create_state_machine(
                c, p["name"], p["definition"], p["roleArn"],
                MachineType(p.get("type", MachineType.STANDARD)),
                p.get("loggingConfiguration"), p.get("tracingConfiguration"),
                p.get("encryptionConfiguration"), _tags(p), bool(p.get("publish")),
                p.get("versionDescription"),
            ),
            "DescribeStateMachine": lambda c, p: sfn.describe_state_machine(
                c, p["stateMachineArn"]
            ),
            "UpdateStateMachine": lambda c, p: sfn.update_state_machine(
                c, p["stateMachineArn"], p.get("definition"), p.get("roleArn"),
                p.get("loggingConfiguration"), p.get("tracingConfiguration"),
                p.get("encryptionConfiguration"), bool(p.get("publish")),
                p.get("versionDescription"),
            ),
            "DeleteStateMachine": lambda c, p: sfn.delete_state_machine(c, p["stateMachineArn"]),
            "ListStateMachines": lambda c, p: sfn.list_state_machines(
                c, p.get("maxResults"), p.get("nextToken")
            ),
            "PublishStateMachineVersion": lambda c, p: sfn.publish_state_machine_version(
                c, p["stateMachineArn"], p.get("revisionId"), p.get("description")
            ),
            "ListStateMachineVersions": lambda c, p: sfn.list_state_machine_versions(
                c, p["stateMachineArn"], p.get("maxResults"), p.get("nextToken")
            ),
            "DeleteStateMachineVersion": lambda c, p: sfn.delete_state_machine_version(
                c, p["stateMachineVersionArn"]
            ),
            "CreateStateMachineAlias": lambda c, p: sfn.create_state_machine_alias(
                c, p["name"], _routing(p) or [], p.get("description")
            ),
            "DescribeStateMachineAlias": lambda c, p: sfn.describe_state_machine_alias(
                c, p["stateMachineAliasArn"]
            ),
            "UpdateStateMachineAlias": lambda c, p: sfn.update_state_machine_alias(
                c, p["stateMachineAliasArn"], p.get("description"), _routing(p)
            ),
            "DeleteStateMachineAlias": lambda c, p: sfn.delete_state_machine_alias(
                c, p["stateMachineAliasArn"]
            ),
            "ListStateMachineAliases": lambda c, p: sfn.list_state_machine_aliases(
                c, p["stateMachineArn"], p.get("maxResults"), p.get("nextToken")
            ),
            # -- executions
            "StartExecution": lambda c, p: sfn.start_execution(
                c, p["stateMachineArn"], p.get("name"), p.get("input"), p.get("traceHeader")
            ),
            "StartSyncExecution": lambda c, p: sfn.start_sync_execution(
                c, p["stateMachineArn"], p.get("name"), p.get("input"), p.get("traceHeader")
            ),
            "StopExecution": lambda c, p: sfn.stop_execution(
                c, p["executionArn"], p.get("error"), p.get("cause")
            ),
            "DescribeExecution": lambda c, p: sfn.describe_execution(c, p["executionArn"]),
            "DescribeStateMachineForExecution": lambda c, p: (
                sfn.describe_state_machine_for_execution(c, p["executionArn"])
            ),
            "ListExecutions": lambda c, p: sfn.list_executions(
                c, p.get("stateMachineArn"), p.get("mapRunArn"), _status(p),
                p.get("redriveFilter"), p.get("maxResults"), p.get("nextToken"),
            ),
            "GetExecutionHistory": lambda c, p: _history(sfn, c, p),
            "RedriveExecution": lambda c, p: sfn.redrive_execution(c, p["executionArn"]),
            # -- task tokens and activities
            "SendTaskSuccess": lambda c, p: sfn.send_task_success(
                c, p["taskToken"], p["output"]
            ),
            "SendTaskFailure": lambda c, p: sfn.send_task_failure(
                c, p["taskToken"], p.get("error"), p.get("cause")
            ),
            "SendTaskHeartbeat": lambda c, p: sfn.send_task_heartbeat(c, p["taskToken"]),
            "GetActivityTask": lambda c, p: sfn.get_activity_task(
                c, p["activityArn"], p.get("workerName")
            ),
            "CreateActivity": lambda c, p: sfn.create_activity(
                c, p["name"], _tags(p), p.get("encryptionConfiguration")
            ),
            "DescribeActivity": lambda c, p: sfn.describe_activity(c, p["activityArn"]),
            "DeleteActivity": lambda c, p: sfn.delete_activity(c, p["activityArn"]),
            "ListActivities": lambda c, p: sfn.list_activities(
                c, p.get("maxResults"), p.get("nextToken")
            ),
            # -- tags
            "TagResource": lambda c, p: sfn.tag_resource(c, p["resourceArn"], _tags(p)),
            "UntagResource": lambda c, p: sfn.untag_resource(c, p["resourceArn"], p["tagKeys"]),
            "ListTagsForResource": lambda c, p: sfn.list_tags_for_resource(c, p["resourceArn"]),
            # -- definitions and Map Runs
            "ValidateStateMachineDefinition": lambda c, p: (
                sfn.validate_state_machine_definition(c, p["definition"], p.get("maxResults"))
            ),
            "TestState": lambda c, p: sfn.test_state(c, _state_test(p)),
            "DescribeMapRun": lambda c, p: sfn.describe_map_run(c, p["mapRunArn"]),
            "ListMapRuns": lambda c, p: sfn.list_map_runs(
                c, p["executionArn"], p.get("maxResults"), p.get("nextToken")
            ),
            "UpdateMapRun": lambda c, p: sfn.update_map_run(
                c, p["mapRunArn"], p.get("maxConcurrency"), p.get("toleratedFailurePercentage"),
                p.get("toleratedFailureCount"),
            ),
        },
    )
