"""Plain-Python tests of the array pieces: child ids and synthesized documents, the cursor
that stands for an array's waiting children in a queue ordering, multi-node node ranges."""

from __future__ import annotations

from typing import Any

from batchyard.batch.arrays import children
from batchyard.batch.arrays.ordering import ArrayCursor, ArrayOrdering
from batchyard.batch.jobs.model import Demand
from batchyard.batch.jobs.records import QueuedJob
from batchyard.batch.multinode import nodes
from batchyard.batch.scheduler.ordering import FifoOrdering

DEMAND = Demand(1.0, 128, 0)


def _parent(**extra: Any) -> dict[str, Any]:
    return {
        "jobId": "p",
        "jobArn": "arn:aws:batch:r:1:job/p",
        "status": "PENDING",
        "arrayProperties": {"size": 4},
        "container": {"command": ["true"]},
        "attempts": [],
        "dependsOn": [],
        **extra,
    }


def test_child_ids() -> None:
    assert children.child_id("p", 3) == "p:3"
    assert children.split("p:3") == ("p", 3)
    assert children.split("p") is None
    assert children.split("p:x") is None
    assert children.split(":3") is None
    assert nodes.split("j#2") == ("j", 2)
    assert nodes.split("j:2") is None


def test_synthesized_child_follows_the_parent() -> None:
    child = children.document(_parent(), {"array": {"released": True}}, 2)
    assert child["jobId"] == "p:2"
    assert child["jobArn"] == "arn:aws:batch:r:1:job/p:2"
    assert child["arrayProperties"] == {"index": 2, "size": 4}
    assert child["status"] == "RUNNABLE"
    assert child["dependsOn"] == []
    assert children.document(_parent(), {}, 0)["status"] == "PENDING"
    assert children.document(_parent(status="SUBMITTED"), {}, 0)["status"] == "SUBMITTED"
    cancelled = {
        "array": {"released": True, "cancel": {"reason": "r", "flag": "isCancelled", "at": 5}}
    }
    child = children.document(_parent(), cancelled, 1)
    assert (child["status"], child["statusReason"], child["isCancelled"], child["stoppedAt"]) == (
        "FAILED",
        "r",
        True,
        5,
    )


def test_children_waiting_on_their_own_dependencies() -> None:
    parent = _parent(dependsOn=[{"type": "SEQUENTIAL"}, {"jobId": "q", "type": "N_TO_N"}])
    child = children.document(parent, {"array": {"released": True}}, 2)
    assert child["status"] == "PENDING"
    assert child["dependsOn"] == [
        {"jobId": "q:2", "type": "N_TO_N"},
        {"jobId": "p:1", "type": "SEQUENTIAL"},
    ]
    assert children.document(parent, {"array": {"released": True}}, 0)["dependsOn"] == [
        {"jobId": "q:0", "type": "N_TO_N"}
    ]
    assert children.own_dependencies(
        {"dependsOn": [{"jobId": "a"}, {"jobId": "q", "type": "N_TO_N"}]}
    ) == ["a"]


def test_cursor_skips_children_that_left_out_of_order() -> None:
    cursor = ArrayCursor(5, skipped=[0, 2])
    assert (cursor.next, len(cursor)) == (1, 3)
    assert list(cursor.indexes()) == [1, 3, 4]
    assert cursor.skip(1)
    assert cursor.next == 3
    assert cursor.skip(4) and not cursor.skip(4)
    assert list(cursor.indexes()) == [3]
    assert not cursor.skip(9)


def test_array_ordering_yields_children_in_place_of_the_parent() -> None:
    ordering = ArrayOrdering(FifoOrdering())
    ordering.add(QueuedJob("before", "q", 1, DEMAND))
    ordering.add_array(QueuedJob("p", "q", 2, DEMAND), ArrayCursor(3))
    ordering.add(QueuedJob("after", "q", 3, DEMAND))
    assert len(ordering) == 5
    assert [j.job_id for j in ordering.first(4)] == ["before", "p:0", "p:1", "p:2"]
    placed = []
    while (job := ordering.head()) is not None:
        ordering.remove(job.job_id)
        placed.append(job.job_id)
    assert placed == ["before", "p:0", "p:1", "p:2", "after"]
    assert len(ordering) == 0


def test_array_ordering_forgets_a_cancelled_child_or_the_whole_array() -> None:
    ordering = ArrayOrdering(FifoOrdering())
    ordering.add_array(QueuedJob("p", "q", 1, DEMAND), ArrayCursor(3))
    assert ordering.remove("p:1") == QueuedJob("p:1", "q", 1, DEMAND)
    assert [j.job_id for j in ordering.first(10)] == ["p:0", "p:2"]
    ordering.remove("p")
    assert ordering.head() is None
    ordering.add_array(QueuedJob("r", "q", 2, DEMAND), ArrayCursor(2, skipped=[0, 1]))
    assert ordering.head() is None


def test_node_ranges_with_overrides_and_the_gang_demand() -> None:
    definition = {
        "nodeProperties": {
            "numNodes": 2,
            "mainNode": 0,
            "nodeRangeProperties": [
                {"targetNodes": "0:", "container": {"command": ["a"]}},
                {"targetNodes": "0:0", "container": {"command": ["main"]}},
            ],
        }
    }

    def build(
        container: dict[str, Any], overrides: dict[str, Any], _: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "command": overrides.get("command", container["command"]),
            "resourceRequirements": [{"type": "VCPU", "value": "2"}],
        }

    params = {
        "nodeOverrides": {
            "numNodes": 4,
            "nodePropertyOverrides": [
                {"targetNodes": "3:", "containerOverrides": {"command": ["z"]}}
            ],
        }
    }
    properties = nodes.node_properties(definition, params, {}, build)
    assert [
        (r["targetNodes"], r["container"]["command"]) for r in properties["nodeRangeProperties"]
    ] == [
        ("0:0", ["main"]),
        ("1:2", ["a"]),
        ("3:3", ["z"]),
    ]
    document = {"nodeProperties": properties}
    assert nodes.demand_of(document) == Demand(8.0, 0, 0)
    node = nodes.node_document(
        {"jobId": "j", "jobArn": "arn/j", "retryStrategy": {"attempts": 2}, **document}, 2, []
    )
    assert node["jobId"] == "j#2"
    assert node["nodeDetails"] == {"nodeIndex": 2, "isMainNode": False}
    assert node["container"]["command"] == ["a"]
    assert "retryStrategy" not in node
