"""The CloudWatch Logs API (json 1.1): each operation's input, as botocore's model parsed and
checked it, handed to the :class:`Logs` facade."""

from __future__ import annotations

from batchyard.aws.caller import Caller
from batchyard.logs.service import MAX_EVENTS, Logs, TimeWindow, invalid
from batchyard.protocol.service import Handler, Params, ServiceApi


def _group(params: Params) -> str:
    name = params.get("logGroupName")
    identifier = params.get("logGroupIdentifier")
    if name and identifier:
        raise invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier:
        # An ARN names the group after "log-group:"; a plain identifier is the name itself.
        return str(identifier).split(":log-group:", 1)[-1].removesuffix(":*")
    if not name:
        raise invalid("Either logGroupName or logGroupIdentifier must be provided.")
    return str(name)


def _query_groups(params: Params) -> list[str]:
    given = [params[k] for k in ("logGroupName", "logGroupNames", "logGroupIdentifiers")
             if params.get(k)]
    if len(given) > 1:
        raise invalid(
            "Only one of logGroupName, logGroupNames or logGroupIdentifiers may be given."
        )
    if not given:
        return []
    return [given[0]] if isinstance(given[0], str) else list(given[0])


def _window(params: Params) -> TimeWindow:
    return TimeWindow(params.get("startTime"), params.get("endTime"))


def _stop_query(logs: Logs) -> Handler:
    async def stop(caller: Caller, params: Params) -> dict[str, bool]:
        return {"success": await logs.stop_query(caller, params["queryId"])}

    return stop


def api(logs: Logs) -> ServiceApi:
    """The Logs API served by ``logs``."""
    return ServiceApi(
        "logs",
        "InvalidParameterException",
        {
            "CreateLogGroup": lambda c, p: logs.create_log_group(
                c, p["logGroupName"], p.get("tags")
            ),
            "PutRetentionPolicy": lambda c, p: logs.put_retention_policy(
                c, p["logGroupName"], p["retentionInDays"]
            ),
            "DeleteRetentionPolicy": lambda c, p: logs.delete_retention_policy(
                c, p["logGroupName"]
            ),
            "CreateLogStream": lambda c, p: logs.create_log_stream(
                c, p["logGroupName"], p["logStreamName"]
            ),
            "DeleteLogGroup": lambda c, p: logs.delete_log_group(c, p["logGroupName"]),
            "DeleteLogStream": lambda c, p: logs.delete_log_stream(
                c, p["logGroupName"], p["logStreamName"]
            ),
            "DescribeLogGroups": lambda c, p: logs.describe_log_groups(
                c, p.get("logGroupNamePrefix"), p.get("logGroupNamePattern"),
                p.get("nextToken"), p.get("limit", 50),
            ),
            "ListLogGroups": lambda c, p: logs.list_log_groups(
                c, p.get("logGroupNamePattern"), p.get("nextToken"), p.get("limit", 50)
            ),
            "TagLogGroup": lambda c, p: logs.tag_log_group(c, p["logGroupName"], p["tags"]),
            "UntagLogGroup": lambda c, p: logs.untag_log_group(c, p["logGroupName"], p["tags"]),
            "ListTagsLogGroup": lambda c, p: logs.list_tags_log_group(c, p["logGroupName"]),
            "TagResource": lambda c, p: logs.tag_resource(c, p["resourceArn"], p["tags"]),
            "UntagResource": lambda c, p: logs.untag_resource(c, p["resourceArn"], p["tagKeys"]),
            "ListTagsForResource": lambda c, p: logs.list_tags_for_resource(c, p["resourceArn"]),
            "StartQuery": lambda c, p: logs.start_query(
                c, _query_groups(p), p["startTime"], p["endTime"], p["queryString"],
                p.get("limit"),
            ),
            "GetQueryResults": lambda c, p: logs.get_query_results(c, p["queryId"]),
            "StopQuery": _stop_query(logs),
            "DescribeQueries": lambda c, p: logs.describe_queries(
                c, p.get("logGroupName"), p.get("status"), p.get("maxResults", 1000),
                p.get("nextToken"),
            ),
            "GetLogRecord": lambda c, p: logs.get_log_record(c, p["logRecordPointer"]),
            "DescribeLogStreams": lambda c, p: logs.describe_log_streams(
                c, _group(p), p.get("logStreamNamePrefix"),
                p.get("orderBy") == "LastEventTime", bool(p.get("descending")),
                p.get("nextToken"), p.get("limit", 50),
            ),
            "PutLogEvents": lambda c, p: logs.put_log_events(
                c, p["logGroupName"], p["logStreamName"],
                [(event["timestamp"], event["message"]) for event in p["logEvents"]],
            ),
            "GetLogEvents": lambda c, p: logs.get_log_events(
                c, _group(p), p["logStreamName"], _window(p), p.get("limit", MAX_EVENTS),
                p.get("nextToken"), bool(p.get("startFromHead")),
            ),
            "FilterLogEvents": lambda c, p: logs.filter_log_events(
                c, _group(p), p.get("logStreamNames"), p.get("logStreamNamePrefix"),
                p.get("filterPattern"), _window(p), p.get("limit", MAX_EVENTS),
                p.get("nextToken"),
            ),
        },
    )
