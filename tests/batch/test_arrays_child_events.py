"""EventBridge sees every state change of an array child, also those a child makes with its
parent alone (no row of its own): RUNNABLE when the array is released, FAILED when the
array's dependency failed or the array was cancelled."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.batch.jobs_support import describe, make_definition, make_stack, submit, wait_status
from tests.support.server import ServerProcess, wait_for

SIZE = 3
Details = list[dict[str, Any]]


@pytest.fixture
def watch(server: ServerProcess) -> Iterator[Callable[[str], Callable[[], Details]]]:
    """``watch(prefix)`` sends every "Batch Job State Change" of jobs named ``prefix...`` to a
    log group and returns a function giving the details received, in order. The rules are
    deleted afterwards, so later tests on the shared server do not pay for them."""
    events, logs = server.client("events"), server.client("logs")
    rules: list[str] = []

    def start(prefix: str) -> Callable[[], Details]:
        group = f"/child-events/{prefix}"
        logs.create_log_group(logGroupName=group)
        events.put_rule(
            Name=prefix,
            EventPattern=json.dumps(
                {
                    "source": ["aws.batch"],
                    "detail-type": ["Batch Job State Change"],
                    "detail": {"jobName": [{"prefix": prefix}]},
                }
            ),
        )
        rules.append(prefix)
        events.put_targets(
            Rule=prefix,
            Targets=[
                {"Id": "log", "Arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"}
            ],
        )

        def received() -> Details:
            found = []
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
                found += [json.loads(e["message"])["detail"] for e in page["events"]]
            return found

        return received

    yield start
    for rule in rules:
        events.remove_targets(Rule=rule, Ids=["log"])
        events.delete_rule(Name=rule)


def _by_child(details: list[dict[str, Any]], parent: str) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for detail in details:
        if detail["jobId"].startswith(f"{parent}:"):
            found[int(detail["jobId"].rsplit(":", 1)[1])].append(detail)
    return found


def _children_ended(received: Callable[[], Details], parent: str) -> dict[int, Details]:
    def ended() -> dict[int, Details] | None:
        found = _by_child(received(), parent)
        finished = [i for i, seen in found.items() if seen[-1]["status"] in ("SUCCEEDED", "FAILED")]
        return found if len(finished) == SIZE else None

    return wait_for(ended, timeout=30, what=f"the children of {parent} to end")


def test_released_children_announce_runnable_before_they_start(
    server: ServerProcess, watch: Callable[[str], Any]
) -> None:
    batch = server.client("batch")
    prefix = f"released-{uuid.uuid4().hex[:8]}"
    received = watch(prefix)
    _, queue = make_stack(batch)
    parent = submit(
        batch, queue, make_definition(batch, ["true"]), jobName=prefix,
        arrayProperties={"size": SIZE},
    )
    assert wait_status(batch, parent)["status"] == "SUCCEEDED"
    children = _children_ended(received, parent)
    for index in range(SIZE):
        seen = children[index]
        statuses = [d["status"] for d in seen]
        assert statuses == ["PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]
        assert seen[0]["arrayProperties"] == {"index": index}
        assert seen[0]["jobArn"].endswith(f"{parent}:{index}")


def test_children_of_an_array_whose_dependency_failed_announce_failed(
    server: ServerProcess, watch: Callable[[str], Any]
) -> None:
    batch = server.client("batch")
    prefix = f"depfail-{uuid.uuid4().hex[:8]}"
    received = watch(prefix)
    _, queue = make_stack(batch)
    failing = submit(batch, queue, make_definition(batch, ["false"]), jobName=f"{prefix}-dep")
    parent = submit(
        batch, queue, make_definition(batch, ["true"]), jobName=prefix,
        arrayProperties={"size": SIZE}, dependsOn=[{"jobId": failing}],
    )
    assert wait_status(batch, parent)["status"] == "FAILED"
    children = _children_ended(received, parent)
    for index in range(SIZE):
        seen = children[index]
        assert [d["status"] for d in seen] == ["PENDING", "FAILED"]
        assert seen[1]["statusReason"] == "Dependent Job failed"
        assert seen[1]["arrayProperties"] == {"index": index}


def test_children_of_a_cancelled_array_announce_failed(
    server: ServerProcess, watch: Callable[[str], Any]
) -> None:
    batch = server.client("batch")
    prefix = f"cancelled-{uuid.uuid4().hex[:8]}"
    received = watch(prefix)
    _, queue = make_stack(batch)
    blocker = submit(batch, queue, make_definition(batch, ["sleep", "60"]))
    parent = submit(
        batch, queue, make_definition(batch, ["true"]), jobName=prefix,
        arrayProperties={"size": SIZE}, dependsOn=[{"jobId": blocker}],
    )
    wait_status(batch, parent, "PENDING")
    batch.cancel_job(jobId=parent, reason="no longer needed")
    # AWS cancels an array waiting on its dependencies once they have ended.
    assert describe(batch, parent)["status"] == "PENDING"
    batch.terminate_job(jobId=blocker, reason="test over")
    children = _children_ended(received, parent)
    for index in range(SIZE):
        seen = children[index]
        assert [d["status"] for d in seen] == ["PENDING", "FAILED"]
        assert seen[1]["statusReason"] == "no longer needed"
        assert seen[1]["isCancelled"] is True
        assert seen[1]["arrayProperties"] == {"index": index}
