"""Array jobs through boto3 against a live server: children, their environment, the
parent's status and statusSummary, listing and describing children, retries and timeouts
per child, cancel/terminate of the whole array, and the cost of a 10,000-child submission."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from tests.batch.jobs_support import describe, make_definition, make_stack, submit, wait_status
from tests.batch.resource_support import make_ce, make_queue
from tests.support.job_logs import job_output
from tests.support.server import ServerProcess, wait_for

STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
LOG_GROUP = "/aws/batch/job"


@pytest.fixture(scope="module")
def queue(batch: Any) -> str:
    return make_stack(batch, max_vcpus=8)[1]


@pytest.fixture(scope="module")
def held_queue(batch: Any) -> str:
    """A queue whose only environment is disabled, so its jobs stay RUNNABLE."""
    return make_queue(batch, [make_ce(batch, state="DISABLED")])


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server whose AWS waits run 60 times faster: a 60 s timeout lasts 1 s."""
    process = ServerProcess(
        tmp_path_factory.mktemp("arrays-scaled"), env={"BATCHYARD_TIME_SCALE": "60"}
    ).start()
    yield process
    process.stop()


def _summary(batch: Any, parent: str) -> tuple[str, dict[str, int]]:
    job = describe(batch, parent)
    return job["status"], job["arrayProperties"]["statusSummary"]


def _children(batch: Any, parent: str, status: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in batch.get_paginator("list_jobs").paginate(arrayJobId=parent, jobStatus=status):
        found += page["jobSummaryList"]
    return found


def test_thousand_children_complete_with_a_consistent_summary(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=16)[1]
    definition = make_definition(
        batch, ["true"], resourceRequirements=[{"type": "VCPU", "value": "1"}]
    )
    parent = submit(batch, queue, definition, arrayProperties={"size": 1000})
    seen: list[dict[str, int]] = []

    def finished() -> bool:
        status, summary = _summary(batch, parent)
        assert set(summary) == set(STATUSES)
        assert sum(summary.values()) == 1000, summary
        assert status in ("SUBMITTED", "PENDING", "SUCCEEDED"), status
        if seen:
            assert summary["SUCCEEDED"] >= seen[-1]["SUCCEEDED"]
        seen.append(summary)
        return status == "SUCCEEDED"

    wait_for(finished, timeout=150, interval=0.2, what="1000 children done")
    assert seen[-1] == {**dict.fromkeys(STATUSES, 0), "SUCCEEDED": 1000}
    assert any(0 < s["SUCCEEDED"] < 1000 for s in seen), "never observed the array mid-run"
    parent_job = describe(batch, parent)
    assert parent_job["arrayProperties"]["size"] == 1000
    assert "attempts" not in parent_job or parent_job["attempts"] == []
    assert len(_children(batch, parent, "SUCCEEDED")) == 1000


def test_children_environment_ids_listing_and_description(
    server: ServerProcess, batch: Any, queue: str
) -> None:
    definition = make_definition(
        batch,
        [
            "sh",
            "-c",
            "echo $AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ARRAY_INDEX $AWS_BATCH_JOB_ARRAY_SIZE",
        ],
    )
    parent = submit(batch, queue, definition, arrayProperties={"size": 3})
    assert wait_status(batch, parent)["status"] == "SUCCEEDED"
    logs = server.client("logs")
    children = batch.describe_jobs(jobs=[f"{parent}:{i}" for i in (2, 0, 1)])["jobs"]
    assert [c["jobId"] for c in children] == [f"{parent}:{i}" for i in (2, 0, 1)]
    for child in children:
        index = int(child["jobId"].rsplit(":", 1)[1])
        assert child["arrayProperties"] == {"index": index}
        assert child["jobArn"] == describe(batch, parent)["jobArn"] + f":{index}"
        assert child["status"] == "SUCCEEDED"
        events = logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=child["container"]["logStreamName"]
        )["events"]
        assert job_output([e["message"] for e in events]) == [f"{parent}:{index} {index} 3"]
    listed = batch.list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED", maxResults=2)
    assert [s["jobId"] for s in listed["jobSummaryList"]] == [f"{parent}:0", f"{parent}:1"]
    assert listed["jobSummaryList"][0]["arrayProperties"] == {"index": 0}
    rest = batch.list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED", nextToken=listed["nextToken"])
    assert [s["jobId"] for s in rest["jobSummaryList"]] == [f"{parent}:2"]
    assert "nextToken" not in rest
    in_queue = batch.list_jobs(jobQueue=queue, jobStatus="SUCCEEDED")["jobSummaryList"]
    mine = [s for s in in_queue if s["jobId"].startswith(parent)]
    assert [(s["jobId"], s["arrayProperties"]) for s in mine] == [(parent, {"size": 3})]
    assert batch.describe_jobs(jobs=[f"{parent}:3", f"{parent}:x"])["jobs"] == []


def test_waiting_children_are_synthesized_and_cancel_reaches_every_child(
    batch: Any, held_queue: str
) -> None:
    definition = make_definition(batch, ["true"])
    parent = submit(batch, held_queue, definition, arrayProperties={"size": 50})
    wait_for(lambda: _summary(batch, parent)[1]["RUNNABLE"] == 50, timeout=10)
    assert describe(batch, parent)["status"] == "PENDING"
    assert describe(batch, f"{parent}:49")["status"] == "RUNNABLE"
    assert len(_children(batch, parent, "RUNNABLE")) == 50
    batch.cancel_job(jobId=f"{parent}:7", reason="just this one")
    assert _summary(batch, parent)[1]["FAILED"] == 1
    batch.cancel_job(jobId=parent, reason="all of them")
    parent_job = wait_status(batch, parent)
    assert parent_job["status"] == "FAILED"
    assert parent_job["statusReason"] == "all of them"
    assert parent_job["arrayProperties"]["statusSummary"]["FAILED"] == 50
    assert describe(batch, f"{parent}:7")["statusReason"] == "just this one"
    child = describe(batch, f"{parent}:8")
    assert (child["status"], child["statusReason"], child["isCancelled"]) == (
        "FAILED",
        "all of them",
        True,
    )
    assert len(_children(batch, parent, "FAILED")) == 50


def test_terminate_stops_running_children_and_fails_the_rest(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=2)[1]
    definition = make_definition(batch, ["sleep", "60"])
    parent = submit(batch, queue, definition, arrayProperties={"size": 6})
    wait_for(lambda: _summary(batch, parent)[1]["RUNNING"] == 2, timeout=15)
    started = time.monotonic()
    batch.terminate_job(jobId=parent, reason="stop the sweep")
    parent_job = wait_status(batch, parent, timeout=30)
    assert time.monotonic() - started < 30
    assert parent_job["status"] == "FAILED"
    assert parent_job["arrayProperties"]["statusSummary"]["FAILED"] == 6
    ran = [c for c in _children(batch, parent, "FAILED") if c.get("startedAt")]
    assert len(ran) == 2
    for summary in ran:
        child = describe(batch, summary["jobId"])
        assert child["statusReason"] == "stop the sweep"
        assert child["isTerminated"] is True


def test_retries_per_child_and_a_failed_child_fails_the_parent_last(batch: Any, queue: str) -> None:
    flaky = make_definition(
        batch,
        ["sh", "-c", '[ "$AWS_BATCH_JOB_ARRAY_INDEX" != 1 ] || [ "$AWS_BATCH_JOB_ATTEMPT" = 2 ]'],
    )
    parent = submit(batch, queue, flaky, arrayProperties={"size": 3}, retryStrategy={"attempts": 2})
    assert wait_status(batch, parent)["status"] == "SUCCEEDED"
    assert [len(describe(batch, f"{parent}:{i}")["attempts"]) for i in range(3)] == [1, 2, 1]
    broken = make_definition(
        batch, ["sh", "-c", '[ "$AWS_BATCH_JOB_ARRAY_INDEX" != 0 ] || exit 3; sleep 1']
    )
    parent = submit(batch, queue, broken, arrayProperties={"size": 3})
    first = wait_status(batch, f"{parent}:0")
    assert first["status"] == "FAILED"
    assert describe(batch, parent)["status"] == "PENDING"
    parent_job = wait_status(batch, parent)
    assert parent_job["status"] == "FAILED"
    assert parent_job["statusReason"] == "Array Child Job failed"
    assert parent_job["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 2
    assert parent_job["stoppedAt"] >= max(
        describe(batch, f"{parent}:{i}")["stoppedAt"] for i in range(3)
    )


def test_timeout_applies_to_each_child(scaled: ServerProcess) -> None:
    batch = scaled.client("batch")
    queue = make_stack(batch, max_vcpus=4)[1]
    definition = make_definition(
        batch, ["sh", "-c", '[ "$AWS_BATCH_JOB_ARRAY_INDEX" = 0 ] || sleep 30']
    )
    parent = submit(
        batch,
        queue,
        definition,
        arrayProperties={"size": 3},
        timeout={"attemptDurationSeconds": 60},
    )
    parent_job = wait_status(batch, parent, timeout=20)
    assert parent_job["status"] == "FAILED"
    assert parent_job["attempts"] == []
    assert describe(batch, f"{parent}:0")["status"] == "SUCCEEDED"
    for index in (1, 2):
        child = describe(batch, f"{parent}:{index}")
        assert child["statusReason"] == "Job attempt duration exceeded timeout"


def test_array_size_limits(batch: Any, held_queue: str) -> None:
    definition = make_definition(batch, ["true"])
    for size in (1, 10_001):
        with pytest.raises(batch.exceptions.ClientException):
            submit(batch, held_queue, definition, arrayProperties={"size": size})


def test_submitting_ten_thousand_children_is_fast(batch: Any, held_queue: str) -> None:
    definition = make_definition(batch, ["true"])
    submit(batch, held_queue, definition, arrayProperties={"size": 2})
    timings, parents = [], []
    for _ in range(5):
        started = time.perf_counter()
        parents.append(submit(batch, held_queue, definition, arrayProperties={"size": 10_000}))
        timings.append(time.perf_counter() - started)
    parent = parents[-1]
    # Shown with ``pytest -s``: the figure the closing note of the arrays work reports.
    print(f"SubmitJob of a 10,000-child array: median {statistics.median(timings) * 1000:.1f} ms")
    assert max(timings) < 1.0, f"SubmitJob of 10,000 children took {max(timings):.3f}s"
    wait_for(lambda: _summary(batch, parent)[1]["RUNNABLE"] == 10_000, timeout=10)
    assert describe(batch, f"{parent}:9999")["status"] == "RUNNABLE"
    for parent in parents:
        batch.cancel_job(jobId=parent, reason="cleanup")
        assert wait_status(batch, parent)["status"] == "FAILED"
