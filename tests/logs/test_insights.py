"""Logs Insights: the query language on its own, and StartQuery / GetQueryResults / StopQuery /
DescribeQueries / GetLogRecord through boto3."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.support.server import ServerProcess, wait_for

from batchyard.logs.insights import QueryError, compile_query, discover

BASE = 1_700_000_000_000


def _records() -> list[dict[str, Any]]:
    found = []
    for i in range(10):
        if i % 3 == 0:
            message = f"ERROR job-{i} took {i * 10} ms"
        else:
            message = json.dumps({"level": "info", "ms": i, "ctx": {"user": f"u{i % 2}"}})
        record = {"@timestamp": BASE + i * 1000, "@message": message, "@logStream": f"s{i % 2}",
                  "@ptr": f"p{i}"}
        record.update(discover(message))
        found.append(record)
    return found


def _run(text: str) -> list[list[tuple[str, Any]]]:
    query = compile_query(text)
    return [query.fields_of(row) for row in query.run(_records())]


def test_default_order_is_newest_first_and_fields_pick_columns() -> None:
    rows = _run("fields @timestamp, @message | limit 2")
    assert [dict(r)["@timestamp"] for r in rows] == [BASE + 9000, BASE + 8000]
    assert [name for name, _ in rows[0]] == ["@timestamp", "@message", "@ptr"]


def test_filter_comparisons_like_regex_in_and_boolean_logic() -> None:
    assert len(_run("filter @message like /ERROR/")) == 4
    assert len(_run('filter @message like "took" and @logStream = "s0"')) == 2
    assert [dict(r)["ms"] for r in _run("filter level = 'info' and ms > 4 | display ms")] == [
        8, 7, 5
    ]
    assert len(_run("filter @message =~ /job-[36]/")) == 2
    assert len(_run("filter @logStream in ['s1'] and not ispresent(level)")) == 2
    assert len(_run("filter ms > 1 + 2 * 2 or @message like 'job-0'")) == 3
    assert len(_run("filter @message not like /ERROR/")) == 6


def test_stats_with_groups_and_bins() -> None:
    by_user = {dict(r).get("ctx.user"): dict(r) for r in _run(
        "filter level = 'info' | stats count(*) as n, avg(ms), max(ms) by ctx.user"
    )}
    assert by_user["u0"]["n"] == 3 and by_user["u0"]["max(ms)"] == 8.0
    assert by_user["u1"]["avg(ms)"] == pytest.approx(13 / 3)
    bins = _run("stats count(*) by bin(5s)")
    assert [dict(r)["count(*)"] for r in bins] == [5, 5]
    assert dict(bins[0])["bin(5s)"] == "2023-11-14 22:13:20.000"
    [total] = _run("stats sum(ms) as total, count_distinct(ctx.user)")
    assert dict(total) == {"total": 27.0, "count_distinct(ctx.user)": 2}


def test_parse_with_a_glob_and_with_named_groups_then_sort() -> None:
    rows = _run('parse @message "ERROR * took * ms" as job, took '
                "| filter ispresent(job) | sort took desc | fields job, took * 2 as double")
    assert [(dict(r)["job"], dict(r)["double"]) for r in rows][:2] == [
        ("job-9", 180.0), ("job-6", 120.0)
    ]
    named = _run(r"parse @message /(?<job>job-\d+)/ | filter ispresent(job) "
                 "| stats count(*) by job | sort job asc")
    assert [dict(r)["job"] for r in named] == ["job-0", "job-3", "job-6", "job-9"]


def test_dedup_and_limit() -> None:
    assert len(_run("dedup @logStream")) == 2
    assert len(_run("sort ms asc | limit 3")) == 3


@pytest.mark.parametrize("text", [
    "fields", "stats nosuch(x)", "filter @message like /(/", "sort", "blah x",
    'parse @message "* *" as one',
])
def test_malformed_queries_say_why(text: str) -> None:
    with pytest.raises(QueryError):
        compile_query(text)


@pytest.fixture(scope="module")
def logs(server: ServerProcess) -> Any:
    return server.client("logs")


def _group_with_events(logs: Any, messages: list[str]) -> tuple[str, int]:
    group = f"/insights/{uuid.uuid4().hex[:10]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="job/default/1")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="job/default/1", logEvents=[
        {"timestamp": now - len(messages) + i, "message": m} for i, m in enumerate(messages)
    ])
    return group, now


def _finished(logs: Any, query_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        answer: dict[str, Any] = logs.get_query_results(queryId=query_id)
        return answer if answer["status"] not in ("Scheduled", "Running") else None

    return wait_for(done, timeout=30, what=f"query {query_id}")  # type: ignore[no-any-return]


def test_a_query_over_job_output_through_boto3(logs: Any) -> None:
    group, now = _group_with_events(logs, [
        "starting", json.dumps({"level": "error", "code": 3}), "ERROR disk full",
        json.dumps({"level": "info", "code": 0}), "done",
    ])
    started = logs.start_query(
        logGroupName=group, startTime=now // 1000 - 60, endTime=now // 1000 + 60,
        queryString="fields @timestamp, @message, level | filter @message like /ERROR|error/ "
                    "| sort @timestamp desc",
    )
    answer = _finished(logs, started["queryId"])
    assert answer["status"] == "Complete"
    messages = [{f["field"]: f["value"] for f in row}["@message"] for row in answer["results"]]
    assert messages == ["ERROR disk full", json.dumps({"level": "error", "code": 3})]
    first = {f["field"]: f["value"] for f in answer["results"][0]}
    assert set(first) == {"@timestamp", "@message", "@ptr"}
    assert answer["statistics"] == {"recordsMatched": 2.0, "recordsScanned": 5.0,
                                    "bytesScanned": float(sum(len(m.encode()) for m in [
                                        "starting", json.dumps({"level": "error", "code": 3}),
                                        "ERROR disk full", json.dumps({"level": "info", "code": 0}),
                                        "done"]))}
    record = logs.get_log_record(logRecordPointer=first["@ptr"])["logRecord"]
    assert record["@message"] == "ERROR disk full"
    assert record["@logStream"] == "job/default/1" and record["@log"].endswith(f":{group}")
    counted = _finished(logs, logs.start_query(
        logGroupNames=[group], startTime=now // 1000 - 60, endTime=now // 1000 + 60,
        queryString="stats count(*) as n by level",
    )["queryId"])
    by_level = {r[0]["value"] if r[0]["field"] == "level" else None:
                {f["field"]: f["value"] for f in r}["n"] for r in counted["results"]}
    assert by_level == {"error": "1", "info": "1", None: "3"}
    listed = logs.describe_queries(logGroupName=group)["queries"]
    assert [q["queryId"] for q in listed][-1] == started["queryId"]
    assert all(q["status"] == "Complete" for q in listed)


def test_query_errors(logs: Any, server: ServerProcess) -> None:
    group, now = _group_with_events(logs, ["x"])
    with pytest.raises(ClientError) as error:
        logs.start_query(logGroupName=group, startTime=1, endTime=2, queryString="fields |")
    assert error.value.response["Error"]["Code"] == "MalformedQueryException"
    with pytest.raises(ClientError) as error:
        logs.start_query(logGroupName=f"{group}-none", startTime=1, endTime=2,
                         queryString="fields @message")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        logs.start_query(logGroupName=group, startTime=5, endTime=2, queryString="fields @message")
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as error:
        logs.get_query_results(queryId=str(uuid.uuid4()))
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    finished = _finished(logs, logs.start_query(
        logGroupName=group, startTime=now // 1000 - 60, endTime=now // 1000 + 60,
        queryString="fields @message",
    )["queryId"])
    assert finished["status"] == "Complete"
    query_id = logs.describe_queries(logGroupName=group)["queries"][0]["queryId"]
    assert logs.stop_query(queryId=query_id)["success"] is False
