"""CancelJobs and TerminateJobs through boto3 against a live server (per-job results as AWS
gives them: unknown jobs count as processed, malformed ids are errors of their own, at most
50 jobs and a 1024-character reason), and CancelJob of a job waiting on unfinished
dependencies, which AWS cancels only once they are resolved, also across a restart."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.batch.jobs_support import describe, make_definition, make_stack, submit, wait_status
from tests.batch.resource_support import client_error, make_ce, make_queue, wait_ce_status
from tests.support.server import ServerProcess, wait_for

DEPENDENCY_FAILED = "Dependent Job failed"


@pytest.fixture(scope="module")
def held_queue(batch: Any) -> str:
    """A queue whose only environment is disabled, so its jobs stay RUNNABLE."""
    return make_queue(batch, [make_ce(batch, state="DISABLED")])


def _held_stack(batch: Any) -> tuple[str, str]:
    """A disabled environment (enable it to let its jobs run) and a queue on it."""
    ce = make_ce(batch, state="DISABLED")
    return ce, make_queue(batch, [ce])


def _enable(batch: Any, ce: str) -> None:
    batch.update_compute_environment(computeEnvironment=ce, state="ENABLED")
    wait_ce_status(batch, ce, "VALID")


def _children(batch: Any, parent: str, status: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = batch.list_jobs(arrayJobId=parent, jobStatus=status)[
        "jobSummaryList"
    ]
    return found


def test_cancel_jobs_reports_each_job_and_fails_the_queued_ones(
    batch: Any, held_queue: str
) -> None:
    definition = make_definition(batch, ["true"])
    first, second = (submit(batch, held_queue, definition) for _ in range(2))
    wait_status(batch, second, "RUNNABLE")
    finished = wait_status(batch, submit(batch, make_stack(batch)[1], definition))["jobId"]
    unknown = str(uuid.uuid4())
    answer = batch.cancel_jobs(
        jobs=[first, "not a job id!", second, unknown, first, finished], reason="bulk stop"
    )
    assert answer["successful"] == [first, second, unknown, finished]
    [error] = answer["errors"]
    assert (error["job"], error["code"]) == ("not a job id!", "ValidationException")
    assert error["message"]
    for job_id in (first, second):
        job = describe(batch, job_id)
        assert (job["status"], job["statusReason"], job["isCancelled"]) == (
            "FAILED",
            "bulk stop",
            True,
        )
        assert job["attempts"] == []
    done = describe(batch, finished)
    assert done["status"] == "SUCCEEDED" and "isCancelled" not in done


def test_cancel_jobs_leaves_running_jobs_and_terminate_jobs_stops_them(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=1)[1]
    definition = make_definition(batch, ["sleep", "30"])
    running = submit(batch, queue, definition, retryStrategy={"attempts": 3})
    wait_status(batch, running, "RUNNING")
    waiting = submit(batch, queue, definition)
    wait_status(batch, waiting, "RUNNABLE")
    answer = batch.cancel_jobs(jobs=[running, waiting], reason="not now")
    assert (answer["successful"], answer["errors"]) == ([running, waiting], [])
    assert describe(batch, running)["status"] == "RUNNING"
    assert describe(batch, waiting)["status"] == "FAILED"
    answer = batch.terminate_jobs(jobs=[running], reason="operator stop")
    assert (answer["successful"], answer["errors"]) == ([running], [])
    job = wait_status(batch, running)
    assert (job["status"], job["statusReason"], job["isTerminated"]) == (
        "FAILED",
        "operator stop",
        True,
    )
    [attempt] = job["attempts"]
    assert attempt["statusReason"] == "operator stop"


def test_terminate_jobs_of_array_parents_and_children(batch: Any, held_queue: str) -> None:
    definition = make_definition(batch, ["true"])
    whole = submit(batch, held_queue, definition, arrayProperties={"size": 4})
    other = submit(batch, held_queue, definition, arrayProperties={"size": 3})
    wait_for(lambda: len(_children(batch, other, "RUNNABLE")) == 3, timeout=10)
    answer = batch.terminate_jobs(jobs=[whole, f"{other}:1"], reason="sweep over")
    assert (answer["successful"], answer["errors"]) == ([whole, f"{other}:1"], [])
    parent = wait_status(batch, whole)
    assert (parent["status"], parent["statusReason"]) == ("FAILED", "sweep over")
    assert parent["arrayProperties"]["statusSummary"]["FAILED"] == 4
    child = describe(batch, f"{whole}:3")
    assert (child["status"], child["isTerminated"]) == ("FAILED", True)
    alone = describe(batch, f"{other}:1")
    assert (alone["status"], alone["statusReason"]) == ("FAILED", "sweep over")
    assert [c["jobId"] for c in _children(batch, other, "RUNNABLE")] == [
        f"{other}:0",
        f"{other}:2",
    ]
    assert describe(batch, other)["status"] == "PENDING"


@pytest.mark.parametrize("operation", ["cancel_jobs", "terminate_jobs"])
def test_bulk_limits_are_client_errors(batch: Any, held_queue: str, operation: str) -> None:
    call = getattr(batch, operation)
    job = submit(batch, held_queue, make_definition(batch, ["true"]))
    # Waits where nothing moves it on: after the refused calls it must still be there.
    wait_status(batch, job, "RUNNABLE")
    too_many = [str(uuid.uuid4()) for _ in range(51)]
    for kwargs in (
        {"jobs": [job, *too_many[:50]], "reason": "x"},
        {"jobs": [job], "reason": "r" * 1025},
    ):
        assert client_error(call, **kwargs)["Message"]
    assert describe(batch, job)["status"] == "RUNNABLE"
    fifty = call(jobs=too_many[:50], reason="r" * 1024)
    assert (len(fifty["successful"]), fifty["errors"]) == (50, [])
    empty = call(jobs=[], reason="nothing")
    assert (empty["successful"], empty["errors"]) == ([], [])


def test_a_cancelled_job_waiting_on_dependencies_fails_once_they_succeed(batch: Any) -> None:
    ce, queue = _held_stack(batch)
    definition = make_definition(batch, ["true"])
    blocker = submit(batch, queue, definition)
    dependent = submit(batch, queue, definition, dependsOn=[{"jobId": blocker}])
    bulk = submit(batch, queue, definition, dependsOn=[{"jobId": blocker}])
    array = submit(
        batch, queue, definition, arrayProperties={"size": 3}, dependsOn=[{"jobId": blocker}]
    )
    below = submit(batch, queue, definition, dependsOn=[{"jobId": dependent}])
    for job_id in (dependent, bulk, array):
        wait_status(batch, job_id, "PENDING")
    batch.cancel_job(jobId=dependent, reason="not needed after all")
    assert batch.cancel_jobs(jobs=[bulk, array], reason="bulk: not needed")["errors"] == []
    batch.cancel_job(jobId=dependent, reason="a second reason does not replace the first")
    # Committed before the answer: had the cancel taken effect, the jobs would show it now.
    for job_id in (dependent, bulk, array, f"{array}:2"):
        job = describe(batch, job_id)
        assert job["status"] == "PENDING" and "isCancelled" not in job, job_id
    _enable(batch, ce)
    assert wait_status(batch, blocker)["status"] == "SUCCEEDED"
    for job_id, reason in (
        (dependent, "not needed after all"),
        (bulk, "bulk: not needed"),
        (array, "bulk: not needed"),
        (f"{array}:0", "bulk: not needed"),
    ):
        job = wait_status(batch, job_id)
        assert (job["status"], job["statusReason"], job["isCancelled"]) == (
            "FAILED",
            reason,
            True,
        ), job_id
        assert job["attempts"] == [] and "startedAt" not in job, job_id
    assert len(_children(batch, array, "FAILED")) == 3
    job = wait_status(batch, below)
    assert (job["status"], job["statusReason"]) == ("FAILED", DEPENDENCY_FAILED)


def test_a_cancelled_job_fails_with_its_reason_when_a_dependency_fails(
    batch: Any, held_queue: str
) -> None:
    definition = make_definition(batch, ["true"])
    blocker = submit(batch, held_queue, definition)
    dependent = submit(batch, held_queue, definition, dependsOn=[{"jobId": blocker}])
    wait_status(batch, dependent, "PENDING")
    batch.cancel_job(jobId=dependent, reason="cancelled while waiting")
    assert describe(batch, dependent)["status"] == "PENDING"
    batch.cancel_job(jobId=blocker, reason="the blocker goes")
    job = wait_status(batch, dependent)
    assert (job["status"], job["statusReason"], job["isCancelled"]) == (
        "FAILED",
        "cancelled while waiting",
        True,
    )


def test_terminate_fails_a_job_waiting_on_dependencies_at_once(
    batch: Any, held_queue: str
) -> None:
    definition = make_definition(batch, ["true"])
    blocker = submit(batch, held_queue, definition)
    dependent = submit(batch, held_queue, definition, dependsOn=[{"jobId": blocker}])
    wait_status(batch, dependent, "PENDING")
    batch.cancel_job(jobId=dependent, reason="first a cancel")
    answer = batch.terminate_jobs(jobs=[dependent], reason="then a terminate")
    assert answer["successful"] == [dependent]
    job = describe(batch, dependent)
    assert (job["status"], job["statusReason"], job["isTerminated"]) == (
        "FAILED",
        "then a terminate",
        True,
    )
    assert describe(batch, blocker)["status"] == "RUNNABLE"


def test_a_deferred_cancel_survives_a_restart(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server()
    batch = server.client("batch")
    queue = make_queue(batch, [make_ce(batch, state="DISABLED")])
    definition = make_definition(batch, ["true"])
    blocker = submit(batch, queue, definition)
    dependent = submit(batch, queue, definition, dependsOn=[{"jobId": blocker}])
    wait_status(batch, dependent, "PENDING")
    batch.cancel_job(jobId=dependent, reason="cancelled before the restart")
    server.stop()
    server.start()
    batch = server.client("batch")
    assert describe(batch, dependent)["status"] == "PENDING"
    batch.cancel_job(jobId=blocker, reason="after the restart")
    job = wait_status(batch, dependent)
    assert (job["status"], job["statusReason"], job["isCancelled"]) == (
        "FAILED",
        "cancelled before the restart",
        True,
    )
