"""The EventBridge API (json 1.1): each operation's input, as botocore's model parsed and
checked it (PascalCase members), handed to the :class:`EventBridge` facade."""

from __future__ import annotations

from batchyard.events.archives import ReplayDestination
from batchyard.events.connections import AuthorizationType
from batchyard.events.model import PutEventsEntry, RuleState, Target
from batchyard.events.service import EventBridge
from batchyard.protocol.service import Params, ServiceApi


def _tags(params: Params) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in params.get("Tags") or ()}


def _authorization(value: str | None) -> AuthorizationType | None:
    return AuthorizationType(value) if value is not None else None


def _entry(entry: Params) -> PutEventsEntry:
    return PutEventsEntry(
        entry.get("Source"),
        entry.get("DetailType"),
        entry.get("Detail"),
        entry.get("Resources"),
        entry.get("EventBusName"),
        entry.get("Time"),
        entry.get("TraceHeader"),
    )


def api(events: EventBridge) -> ServiceApi:
    """The EventBridge API served by ``events``."""
    return ServiceApi(
        "events",
        "ValidationException",
        {
            "PutRule": lambda c, p: events.put_rule(
                c, p["Name"], event_pattern=p.get("EventPattern"),
                schedule_expression=p.get("ScheduleExpression"),
                state=RuleState(p.get("State", RuleState.ENABLED)),
                description=p.get("Description"), role_arn=p.get("RoleArn"), tags=_tags(p),
                event_bus_name=p.get("EventBusName"),
            ),
            "DescribeRule": lambda c, p: events.describe_rule(
                c, p["Name"], p.get("EventBusName")
            ),
            "ListRules": lambda c, p: events.list_rules(
                c, p.get("NamePrefix"), p.get("NextToken"), p.get("Limit"), p.get("EventBusName")
            ),
            "DeleteRule": lambda c, p: events.delete_rule(c, p["Name"], p.get("EventBusName")),
            "EnableRule": lambda c, p: events.enable_rule(c, p["Name"], p.get("EventBusName")),
            "DisableRule": lambda c, p: events.disable_rule(c, p["Name"], p.get("EventBusName")),
            "CreateEventBus": lambda c, p: events.create_event_bus(
                c, p["Name"], event_source_name=p.get("EventSourceName"),
                description=p.get("Description"), kms_key_identifier=p.get("KmsKeyIdentifier"),
                dead_letter_config=p.get("DeadLetterConfig"), log_config=p.get("LogConfig"),
                tags=_tags(p),
            ),
            "DescribeEventBus": lambda c, p: events.describe_event_bus(c, p.get("Name")),
            "UpdateEventBus": lambda c, p: events.update_event_bus(
                c, p.get("Name"), description=p.get("Description"),
                kms_key_identifier=p.get("KmsKeyIdentifier"),
                dead_letter_config=p.get("DeadLetterConfig"), log_config=p.get("LogConfig"),
            ),
            "DeleteEventBus": lambda c, p: events.delete_event_bus(c, p["Name"]),
            "ListEventBuses": lambda c, p: events.list_event_buses(
                c, p.get("NamePrefix"), p.get("NextToken"), p.get("Limit")
            ),
            "TestEventPattern": lambda c, p: events.test_event_pattern(
                c, p["EventPattern"], p["Event"]
            ),
            "PutTargets": lambda c, p: events.put_targets(
                c, p["Rule"], [Target.from_document(target) for target in p["Targets"]],
                p.get("EventBusName"),
            ),
            "RemoveTargets": lambda c, p: events.remove_targets(
                c, p["Rule"], p["Ids"], p.get("EventBusName")
            ),
            "ListTargetsByRule": lambda c, p: events.list_targets_by_rule(
                c, p["Rule"], p.get("NextToken"), p.get("Limit"), p.get("EventBusName")
            ),
            "ListRuleNamesByTarget": lambda c, p: events.list_rule_names_by_target(
                c, p["TargetArn"], p.get("NextToken"), p.get("Limit"), p.get("EventBusName")
            ),
            "TagResource": lambda c, p: events.tag_resource(c, p["ResourceARN"], _tags(p)),
            "UntagResource": lambda c, p: events.untag_resource(
                c, p["ResourceARN"], p["TagKeys"]
            ),
            "ListTagsForResource": lambda c, p: events.list_tags_for_resource(
                c, p["ResourceARN"]
            ),
            "PutEvents": lambda c, p: events.put_events(c, [_entry(e) for e in p["Entries"]]),
            "CreateArchive": lambda c, p: events.create_archive(
                c, p["ArchiveName"], p["EventSourceArn"], description=p.get("Description"),
                event_pattern=p.get("EventPattern"), retention_days=p.get("RetentionDays"),
                kms_key_identifier=p.get("KmsKeyIdentifier"),
            ),
            "DescribeArchive": lambda c, p: events.describe_archive(c, p["ArchiveName"]),
            "UpdateArchive": lambda c, p: events.update_archive(
                c, p["ArchiveName"], description=p.get("Description"),
                event_pattern=p.get("EventPattern"), retention_days=p.get("RetentionDays"),
                kms_key_identifier=p.get("KmsKeyIdentifier"),
            ),
            "DeleteArchive": lambda c, p: events.delete_archive(c, p["ArchiveName"]),
            "ListArchives": lambda c, p: events.list_archives(
                c, p.get("NamePrefix"), p.get("EventSourceArn"), p.get("State"),
                p.get("NextToken"), p.get("Limit"),
            ),
            "StartReplay": lambda c, p: events.start_replay(
                c, p["ReplayName"], p["EventSourceArn"], p["EventStartTime"], p["EventEndTime"],
                ReplayDestination(p["Destination"]["Arn"], p["Destination"].get("FilterArns")),
                p.get("Description"),
            ),
            "CreateConnection": lambda c, p: events.create_connection(
                c, p["Name"], AuthorizationType(p["AuthorizationType"]), p["AuthParameters"],
                description=p.get("Description"),
                invocation_connectivity_parameters=p.get("InvocationConnectivityParameters"),
                kms_key_identifier=p.get("KmsKeyIdentifier"),
            ),
            "DescribeConnection": lambda c, p: events.describe_connection(c, p["Name"]),
            "UpdateConnection": lambda c, p: events.update_connection(
                c, p["Name"], description=p.get("Description"),
                authorization_type=_authorization(p.get("AuthorizationType")),
                auth_parameters=p.get("AuthParameters"),
                invocation_connectivity_parameters=p.get("InvocationConnectivityParameters"),
                kms_key_identifier=p.get("KmsKeyIdentifier"),
            ),
            "DeauthorizeConnection": lambda c, p: events.deauthorize_connection(c, p["Name"]),
            "DeleteConnection": lambda c, p: events.delete_connection(c, p["Name"]),
            "ListConnections": lambda c, p: events.list_connections(
                c, p.get("NamePrefix"), p.get("ConnectionState"), p.get("NextToken"),
                p.get("Limit"),
            ),
            "CreateApiDestination": lambda c, p: events.create_api_destination(
                c, p["Name"], p["ConnectionArn"], p["InvocationEndpoint"], p["HttpMethod"],
                description=p.get("Description"),
                invocation_rate_limit_per_second=p.get("InvocationRateLimitPerSecond"),
            ),
            "DescribeApiDestination": lambda c, p: events.describe_api_destination(c, p["Name"]),
            "UpdateApiDestination": lambda c, p: events.update_api_destination(
                c, p["Name"], description=p.get("Description"),
                connection_arn=p.get("ConnectionArn"),
                invocation_endpoint=p.get("InvocationEndpoint"), http_method=p.get("HttpMethod"),
                invocation_rate_limit_per_second=p.get("InvocationRateLimitPerSecond"),
            ),
            "DeleteApiDestination": lambda c, p: events.delete_api_destination(c, p["Name"]),
            "ListApiDestinations": lambda c, p: events.list_api_destinations(
                c, p.get("NamePrefix"), p.get("ConnectionArn"), p.get("NextToken"),
                p.get("Limit"),
            ),
            "DescribeReplay": lambda c, p: events.describe_replay(c, p["ReplayName"]),
            "CancelReplay": lambda c, p: events.cancel_replay(c, p["ReplayName"]),
            "ListReplays": lambda c, p: events.list_replays(
                c, p.get("NamePrefix"), p.get("State"), p.get("EventSourceArn"),
                p.get("NextToken"), p.get("Limit"),
            ),
        },
    )
