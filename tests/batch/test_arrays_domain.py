"""Plain-Python tests of the array pieces: child ids and synthesized children, the cursor
that stands for an array's waiting children in a queue ordering, multi-node node ranges."""

from __future__ import annotations

from typing import Any

from batchyard.batch.jobs import arrays, nodes
from batchyard.batch.jobs.model import (
    ArrayCancel,
    ArrayProperties,
    ArrayState,
    Demand,
    Dependency,
    Job,
    JobRuntime,
    JobStatus,
    QueuedJob,
    child_id,
    split_child,
    split_node,
)
from batchyard.batch.scheduler.arrays import ArrayCursor, ArrayOrdering
from batchyard.batch.scheduler.ordering import FifoOrdering

DEMAND = Demand(1.0, 128, 0)


def _job(job_id: str = "p", status: JobStatus = JobStatus.PENDING, **extra: Any) -> Job:
    return Job(
        job_id,
        f"arn:aws:batch:r:1:job/{job_id}",
        "name",
        "arn:aws:batch:r:1:job-queue/q",
        "arn:aws:batch:r:1:job-definition/d:1",
        status,
        0,
        "1",
        "r",
        1,
        **extra,
    )


def _parent(status: JobStatus = JobStatus.PENDING, **extra: Any) -> Job:
    extra.setdefault("container", {"command": ["true"]})
    return _job("p", status, array_properties=ArrayProperties(4), **extra)


def _released(parent: Job, cancel: ArrayCancel | None = None) -> Job:
    parent.runtime = JobRuntime(array=ArrayState(released=True, cancel=cancel))
    return parent


def test_child_ids() -> None:
    assert child_id("p", 3) == "p:3"
    assert split_child("p:3") == ("p", 3)
    assert split_child("p") is None
    assert split_child("p:x") is None
    assert split_child(":3") is None
    assert split_node("j#2") == ("j", 2)
    assert split_node("j:2") is None


def test_synthesized_child_follows_the_parent() -> None:
    child = arrays.child(_released(_parent()), 2)
    assert child.job_id == "p:2"
    assert child.job_arn == "arn:aws:batch:r:1:job/p:2"
    assert child.to_document()["arrayProperties"] == {"index": 2, "size": 4}
    assert child.describe()["arrayProperties"] == {"index": 2}
    assert child.status == "RUNNABLE"
    assert child.depends_on == []
    assert not child.stored
    assert arrays.child(_parent(), 0).status == "PENDING"
    assert arrays.child(_parent(JobStatus.SUBMITTED), 0).status == "SUBMITTED"
    cancelled = _released(_parent(), ArrayCancel("r", terminated=False, at=5))
    document = arrays.child(cancelled, 1).to_document()
    assert (
        document["status"],
        document["statusReason"],
        document["isCancelled"],
        document["stoppedAt"],
    ) == ("FAILED", "r", True, 5)


def test_children_waiting_on_their_own_dependencies() -> None:
    parent = _released(
        _parent(depends_on=[Dependency(type="SEQUENTIAL"), Dependency("q", "N_TO_N")])
    )
    child = arrays.child(parent, 2)
    assert child.status == "PENDING"
    assert child.to_document()["dependsOn"] == [
        {"jobId": "q:2", "type": "N_TO_N"},
        {"jobId": "p:1", "type": "SEQUENTIAL"},
    ]
    assert arrays.child(parent, 0).to_document()["dependsOn"] == [
        {"jobId": "q:0", "type": "N_TO_N"}
    ]
    assert arrays.own_dependencies(
        _job(depends_on=[Dependency("a"), Dependency("q", "N_TO_N")])
    ) == ["a"]


def test_rowless_children_are_announced_from_one_copy_of_the_parent() -> None:
    parent = _released(_parent())
    changes = arrays.ChildChanges.of(parent, frozenset({1}))
    parent.runtime.array = ArrayState(cancel=ArrayCancel("later", terminated=True, at=9))
    announced = list(changes)
    assert [d["jobId"] for d in announced] == ["p:0", "p:2", "p:3"]
    assert {d["status"] for d in announced} == {"RUNNABLE"}
    assert announced[0]["arrayProperties"] == {"index": 0}


def test_jobs_convert_to_their_stored_document_and_back() -> None:
    job = _parent(
        depends_on=[Dependency("a")],
        container={"command": ["x"]},
        log_stream_name="s",
        exit_code=3,
        share_identifier="blue",
    )
    job.runtime = JobRuntime(attempt_id="a1", array=ArrayState(released=True, released_at=4))
    document = job.to_document()
    assert document["container"] == {"command": ["x"], "logStreamName": "s", "exitCode": 3}
    back = Job.from_document(document, job.runtime.to_document(), 1, "1", "r")
    assert back.to_document() == document
    assert back.runtime == job.runtime
    assert back.container == {"command": ["x"]}


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
    defined = {
        "numNodes": 2,
        "mainNode": 0,
        "nodeRangeProperties": [
            {"targetNodes": "0:", "container": {"command": ["a"]}},
            {"targetNodes": "0:0", "container": {"command": ["main"]}},
        ],
    }

    def build(
        container: dict[str, Any], overrides: dict[str, Any], _: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "command": overrides.get("command", container["command"]),
            "resourceRequirements": [{"type": "VCPU", "value": "2"}],
        }

    overrides = {
        "numNodes": 4,
        "nodePropertyOverrides": [{"targetNodes": "3:", "containerOverrides": {"command": ["z"]}}],
    }
    properties = nodes.node_properties(defined, overrides, {}, build)
    assert [
        (r["targetNodes"], r["container"]["command"]) for r in properties["nodeRangeProperties"]
    ] == [
        ("0:0", ["main"]),
        ("1:2", ["a"]),
        ("3:3", ["z"]),
    ]
    job = _job("j", node_properties=properties, retry_strategy={"attempts": 2})
    assert nodes.demand_of(job) == Demand(8.0, 0, 0, nodes=4)
    node = nodes.node_job(job, 2, []).to_document()
    assert node["jobId"] == "j#2"
    assert node["nodeDetails"] == {"nodeIndex": 2, "isMainNode": False}
    assert node["container"]["command"] == ["a"]
    assert "retryStrategy" not in node
