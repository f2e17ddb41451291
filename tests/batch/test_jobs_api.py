"""SubmitJob / DescribeJobs / ListJobs details: filters, pagination, overrides, dependencies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.batch.jobs_support import describe, make_definition, make_stack, submit, wait_status
from tests.batch.resource_support import make_ce, make_queue, unique


@pytest.fixture(scope="module")
def held_queue(batch: Any) -> str:
    """A queue whose only environment is disabled, so its jobs stay RUNNABLE."""
    ce = make_ce(batch, state="DISABLED")
    return make_queue(batch, [ce])


def _ids(page: dict[str, Any]) -> list[str]:
    return [summary["jobId"] for summary in page["jobSummaryList"]]


def test_submit_answer_and_described_job(batch: Any, held_queue: str) -> None:
    definition = make_definition(batch, ["echo", "Ref::word", "--to=Ref::target", "Ref::unknown"])
    batch.register_job_definition(
        jobDefinitionName=definition,
        type="container",
        parameters={"word": "def", "target": "t"},
        retryStrategy={"attempts": 2},
        timeout={"attemptDurationSeconds": 100},
        containerProperties={
            "image": "busybox",
            "command": ["echo", "Ref::word", "--to=Ref::target", "Ref::unknown"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "256"},
            ],
        },
    )
    answer = batch.submit_job(
        jobName="described",
        jobQueue=held_queue,
        jobDefinition=definition,
        parameters={"word": "job"},
        tags={"team": "a"},
        propagateTags=True,
        containerOverrides={"resourceRequirements": [{"type": "MEMORY", "value": "512"}]},
        timeout={"attemptDurationSeconds": 120},
    )
    job_id = answer["jobId"]
    assert answer["jobName"] == "described"
    assert answer["jobArn"] == f"arn:aws:batch:us-east-1:123456789012:job/{job_id}"
    job = wait_status(batch, job_id, "RUNNABLE")
    assert job["jobDefinition"].endswith(f":job-definition/{definition}:2")
    assert job["jobQueue"].endswith(f":job-queue/{held_queue}")
    assert job["parameters"] == {"word": "job", "target": "t"}
    assert job["container"]["command"] == ["echo", "job", "--to=t", "Ref::unknown"]
    assert sorted((r["type"], r["value"]) for r in job["container"]["resourceRequirements"]) == [
        ("MEMORY", "512"),
        ("VCPU", "1"),
    ]
    assert job["retryStrategy"] == {"attempts": 2}
    assert job["timeout"] == {"attemptDurationSeconds": 120}
    assert job["tags"] == {"team": "a"} and job["propagateTags"] is True
    assert job["platformCapabilities"] == ["EC2"]
    assert job["attempts"] == [] and "startedAt" not in job
    assert batch.list_tags_for_resource(resourceArn=answer["jobArn"])["tags"] == {"team": "a"}


def test_list_by_status_and_pages(batch: Any, held_queue: str) -> None:
    definition = make_definition(batch, ["true"])
    job_ids = [submit(batch, held_queue, definition) for _ in range(5)]
    for job_id in job_ids:
        wait_status(batch, job_id, "RUNNABLE")
    listed: list[str] = []
    page = batch.list_jobs(jobQueue=held_queue, jobStatus="RUNNABLE", maxResults=2)
    while True:
        assert len(page["jobSummaryList"]) <= 2
        listed += _ids(page)
        if "nextToken" not in page:
            break
        page = batch.list_jobs(
            jobQueue=held_queue, jobStatus="RUNNABLE", maxResults=2, nextToken=page["nextToken"]
        )
    assert [j for j in listed if j in job_ids] == job_ids
    assert batch.list_jobs(jobQueue=held_queue)["jobSummaryList"] == []  # default: RUNNING
    summary = batch.list_jobs(jobQueue=held_queue, jobStatus="RUNNABLE")["jobSummaryList"][0]
    assert {"jobArn", "jobId", "jobName", "createdAt", "status", "jobDefinition"} <= set(summary)
    assert summary["capacityUsage"] == [{"capacityUnit": "vCPU", "quantity": 1.0}]


def test_list_filters_follow_aws_rules(batch: Any) -> None:
    queue = make_stack(batch)[1]
    first = make_definition(batch, ["true"])
    second = make_definition(batch, ["true"])
    prefix = unique("Nightly")
    a = submit(batch, queue, first, jobName=f"{prefix}-A")
    b = submit(batch, queue, second, jobName=f"{prefix}-b")
    c = submit(batch, queue, first, jobName=unique("other"))
    for job_id in (a, b, c):
        wait_status(batch, job_id)

    def listed(name: str, *values: str) -> list[str]:
        return _ids(
            batch.list_jobs(jobQueue=queue, filters=[{"name": name, "values": list(values)}])
        )

    assert listed("JOB_NAME", f"{prefix.lower()}*") == [b, a]  # newest first, any status
    assert listed("JOB_NAME", f"{prefix}-a") == [a]  # case-insensitive
    assert listed("JOB_DEFINITION", first) == [c, a]
    assert listed("JOB_DEFINITION", first[:-3] + "*") == [c, a]
    arn = describe(batch, b)["jobDefinition"]
    assert listed("JOB_DEFINITION", arn) == [b]
    created = describe(batch, b)["createdAt"]
    assert set(listed("AFTER_CREATED_AT", str(created - 1))) >= {b, c}
    assert a not in listed("AFTER_CREATED_AT", str(describe(batch, a)["createdAt"]))
    assert a in listed("BEFORE_CREATED_AT", str(created + 1))
    with pytest.raises(batch.exceptions.ClientException):
        listed("JOB_DEFINITION", arn + "*")
    with pytest.raises(batch.exceptions.ClientException):
        batch.list_jobs(
            jobQueue=queue,
            filters=[
                {"name": "JOB_NAME", "values": ["x"]},
                {"name": "JOB_DEFINITION", "values": ["y"]},
            ],
        )
    with pytest.raises(batch.exceptions.ClientException):
        batch.list_jobs(jobQueue=queue, jobStatus="RUNNABLE", nextToken="not-a-token")


def test_dependencies_wait_and_failures_cascade(batch: Any) -> None:
    queue = make_stack(batch)[1]
    slow = make_definition(batch, ["sleep", "1"])
    failing = make_definition(batch, ["false"])
    quick = make_definition(batch, ["true"])
    parent = submit(batch, queue, slow)
    child = submit(batch, queue, quick, dependsOn=[{"jobId": parent}])
    assert wait_status(batch, child, "PENDING", "SUCCEEDED")["status"] == "PENDING"
    parent_job, child_job = wait_status(batch, parent), wait_status(batch, child)
    assert parent_job["status"] == child_job["status"] == "SUCCEEDED"
    assert child_job["startedAt"] >= parent_job["stoppedAt"]
    broken = submit(batch, queue, failing)
    orphan = submit(batch, queue, quick, dependsOn=[{"jobId": broken}])
    grandchild = submit(batch, queue, quick, dependsOn=[{"jobId": orphan}])
    for job_id in (orphan, grandchild):
        job = wait_status(batch, job_id)
        assert job["status"] == "FAILED"
        assert job["statusReason"] == "Dependent Job failed"
        assert job["attempts"] == []
    with pytest.raises(batch.exceptions.ClientException):
        submit(batch, queue, quick, dependsOn=[{"jobId": "00000000-0000-0000-0000-000000000000"}])


def test_disabled_queue_refuses_submissions(batch: Any) -> None:
    ce = make_ce(batch)
    queue = make_queue(batch, [ce], state="DISABLED")
    with pytest.raises(batch.exceptions.ClientException):
        submit(batch, queue, make_definition(batch, ["true"]))
