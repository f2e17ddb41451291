"""Pure job rules: evaluateOnExit decisions, Ref:: substitution, demand and log naming."""

from __future__ import annotations

import pytest

from batchyard.batch.jobs.attempts import Launch, attempt_spec, log_target
from batchyard.batch.jobs.model import Attempt, Demand, Job, JobStatus
from batchyard.batch.jobs.submit import substitute
from batchyard.batch.jobs.transitions import glob_matches, should_retry


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("3", "3", True),
        ("3", "33", False),
        ("3*", "31", True),
        ("*", "", True),
        ("Host EC2*", "Host EC2 (instance i-1) terminated.", True),
        ("AGENT", "agent", False),
    ],
)
def test_globs(pattern: str, value: str, matches: bool) -> None:
    assert glob_matches(pattern, value) is matches


def test_first_matching_rule_decides_and_no_match_retries() -> None:
    strategy = {
        "attempts": 3,
        "evaluateOnExit": [
            {"onExitCode": "3", "action": "exit"},
            {"onReason": "OutOfMemory*", "action": "RETRY"},
            {"onStatusReason": "Host EC2*", "onExitCode": "1", "action": "EXIT"},
        ],
    }
    assert not should_retry(strategy, 1, 3, None, "Essential container in task exited")
    assert should_retry(strategy, 1, 137, "OutOfMemoryError: Container killed", "x")
    assert not should_retry(strategy, 1, 1, None, "Host EC2 (instance a) terminated.")
    assert should_retry(strategy, 1, 2, None, "Essential container in task exited")
    assert not should_retry(strategy, 3, 2, None, "Essential container in task exited")
    assert not should_retry(None, 1, 1, None, "x")
    assert should_retry({"attempts": 2}, 1, 1, None, "x")


def test_ref_substitution_whole_and_embedded_unknown_left_alone() -> None:
    command = ["ffmpeg", "-i", "Ref::inputfile", "--codec=Ref::codec", "Ref::missing", "Ref::"]
    assert substitute(command, {"inputfile": "a.mp4", "codec": "mp4"}) == [
        "ffmpeg",
        "-i",
        "a.mp4",
        "--codec=mp4",
        "Ref::missing",
        "Ref::",
    ]


def test_demand_prefers_resource_requirements_over_legacy_keys() -> None:
    container = {
        "vcpus": 4,
        "memory": 100,
        "resourceRequirements": [{"type": "VCPU", "value": "0.5"}, {"type": "GPU", "value": "1"}],
    }
    assert Demand.of(container) == Demand(0.5, 100, 1)
    assert Demand.of({}) == Demand(1.0, 0, 0)


def test_attempt_environment_and_log_names() -> None:
    job = Job(
        "job-1",
        "arn:aws:batch:us-east-1:1:job/job-1",
        "name",
        "arn:aws:batch:us-east-1:1:job-queue/q",
        "arn:aws:batch:us-east-1:1:job-definition/my-def:7",
        JobStatus.STARTING,
        0,
        "1",
        "us-east-1",
        1,
        attempts=[Attempt(0, 1, "Essential container in task exited")],
        container={"command": ["run"], "environment": [{"name": "A", "value": "1"}]},
    )
    spec = attempt_spec(Launch(job, "abc", "queue-a", "ce-b"))
    assert spec.environment == {
        "A": "1",
        "AWS_BATCH_JOB_ID": "job-1",
        "AWS_BATCH_JOB_ATTEMPT": "2",
        "AWS_BATCH_JQ_NAME": "queue-a",
        "AWS_BATCH_CE_NAME": "ce-b",
    }
    assert log_target(job, "abc") == ("/aws/batch/job", "my-def/default/abc")
    assert job.container is not None
    job.container["logConfiguration"] = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/mine", "awslogs-stream-prefix": "p"},
    }
    assert log_target(job, "abc") == ("/mine", "p/default/abc")
