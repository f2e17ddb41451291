"""Jobs that really run, through boto3 against a live server: lifecycle, environment, live
logs, retries, timeouts, out-of-memory kills, cancel and terminate."""

from __future__ import annotations

from typing import Any

import pytest

from tests.batch.jobs_support import (
    describe,
    make_definition,
    make_stack,
    submit,
    wait_status,
)
from tests.support.job_logs import job_output
from tests.support.python import stdlib_python
from tests.support.server import ServerProcess, wait_for

LOG_GROUP = "/aws/batch/job"
TIMEOUT_TEXT = "Job attempt duration exceeded timeout"
OOM_TEXT = "OutOfMemoryError: Container killed due to memory usage"


@pytest.fixture(scope="module")
def logs(server: ServerProcess) -> Any:
    return server.client("logs")


@pytest.fixture(scope="module")
def queue(batch: Any) -> str:
    return make_stack(batch, max_vcpus=4)[1]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server whose AWS waits run 60 times faster: a 60 s timeout lasts 1 s."""
    process = ServerProcess(
        tmp_path_factory.mktemp("scaled-server"), env={"BATCHYARD_TIME_SCALE": "60"}
    ).start()
    yield process
    process.stop()


def _messages(logs: Any, stream: str) -> list[str]:
    events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=True)
    return job_output([event["message"] for event in events["events"]])


def test_echo_output_environment_and_the_aws_lifecycle(batch: Any, logs: Any, queue: str) -> None:
    definition = make_definition(
        batch,
        ["sh", "-c", "echo Ref::greeting; env | grep ^AWS_BATCH_ | sort; echo EXTRA=$EXTRA"],
        environment=[{"name": "EXTRA", "value": "from-definition"}],
    )
    job_id = submit(
        batch,
        queue,
        definition,
        parameters={"greeting": "hello-batchyard"},
        containerOverrides={"environment": [{"name": "EXTRA", "value": "overridden"}]},
    )
    job = wait_status(batch, job_id)
    assert job["status"] == "SUCCEEDED"
    assert job["statusReason"] == "Essential container in task exited"
    assert job["createdAt"] <= job["startedAt"] <= job["stoppedAt"]
    assert job["container"]["command"][2].startswith("echo hello-batchyard;")
    [attempt] = job["attempts"]
    assert attempt["container"]["exitCode"] == 0
    assert attempt["statusReason"] == "Essential container in task exited"
    assert attempt["startedAt"] == job["startedAt"] and attempt["stoppedAt"] <= job["stoppedAt"]
    stream = attempt["container"]["logStreamName"]
    assert stream.startswith(f"{definition}/default/")
    assert job["container"]["logStreamName"] == stream
    messages = _messages(logs, stream)
    ce_name = batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0][
        "computeEnvironmentOrder"
    ][0]["computeEnvironment"].rsplit("/", 1)[-1]
    assert messages == [
        "hello-batchyard",
        f"AWS_BATCH_CE_NAME={ce_name}",
        "AWS_BATCH_JOB_ATTEMPT=1",
        f"AWS_BATCH_JOB_ID={job_id}",
        f"AWS_BATCH_JQ_NAME={queue}",
        "EXTRA=overridden",
    ]


def test_output_is_readable_while_the_job_runs(batch: Any, logs: Any, queue: str) -> None:
    definition = make_definition(batch, ["sh", "-c", "echo started; sleep 30; echo never"])
    job_id = submit(batch, queue, definition)
    job = wait_status(batch, job_id, "RUNNING")
    stream = job["container"]["logStreamName"]
    wait_for(lambda: _messages(logs, stream) == ["started"], timeout=10, what="live output")
    assert describe(batch, job_id)["status"] == "RUNNING"
    batch.terminate_job(jobId=job_id, reason="seen enough")
    assert wait_status(batch, job_id)["status"] == "FAILED"


def test_a_job_without_output_has_only_the_line_saying_where_it_ran(
    batch: Any, logs: Any, queue: str
) -> None:
    job = wait_status(batch, submit(batch, queue, make_definition(batch, ["true"])))
    assert job["status"] == "SUCCEEDED"
    stream = job["container"]["logStreamName"]
    events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)["events"]
    assert [e["message"] for e in events] == [
        f"batchyard: attempt {stream.rsplit('/', 1)[1]} runs as a local process on this host; "
        "its image busybox is not run"
    ]


def test_exit_code_retried_by_evaluate_on_exit(batch: Any, logs: Any, queue: str) -> None:
    definition = make_definition(batch, ["sh", "-c", "echo attempt $AWS_BATCH_JOB_ATTEMPT; exit 3"])
    retried = submit(
        batch,
        queue,
        definition,
        retryStrategy={"attempts": 3, "evaluateOnExit": [{"onExitCode": "3", "action": "RETRY"}]},
    )
    exited = submit(
        batch,
        queue,
        definition,
        retryStrategy={"attempts": 3, "evaluateOnExit": [{"onExitCode": "3", "action": "EXIT"}]},
    )
    job = wait_status(batch, retried)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Essential container in task exited"
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [3, 3, 3]
    assert all(a["statusReason"] == "Essential container in task exited" for a in job["attempts"])
    streams = [a["container"]["logStreamName"] for a in job["attempts"]]
    assert len(set(streams)) == 3
    assert [_messages(logs, s) for s in streams] == [["attempt 1"], ["attempt 2"], ["attempt 3"]]
    assert job["container"]["exitCode"] == 3
    once = wait_status(batch, exited)
    assert once["status"] == "FAILED"
    assert [a["container"]["exitCode"] for a in once["attempts"]] == [3]


def test_unmatched_exit_retries_and_success_stops_retrying(batch: Any, queue: str) -> None:
    # Fails on attempt 1, succeeds on attempt 2; a rule for another code does not stop it.
    definition = make_definition(batch, ["sh", "-c", "test $AWS_BATCH_JOB_ATTEMPT -ge 2 || exit 5"])
    job_id = submit(
        batch,
        queue,
        definition,
        retryStrategy={"attempts": 4, "evaluateOnExit": [{"onExitCode": "9*", "action": "EXIT"}]},
    )
    job = wait_status(batch, job_id)
    assert job["status"] == "SUCCEEDED"
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [5, 0]


def test_timeout_fails_without_retry(scaled: ServerProcess) -> None:
    batch = scaled.client("batch")
    queue = make_stack(batch)[1]
    definition = make_definition(batch, ["sh", "-c", "sleep 30"])
    job_id = submit(
        batch,
        queue,
        definition,
        timeout={"attemptDurationSeconds": 60},
        retryStrategy={"attempts": 3},
    )
    job = wait_status(batch, job_id, timeout=20)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == TIMEOUT_TEXT
    [attempt] = job["attempts"]
    assert attempt["statusReason"] == TIMEOUT_TEXT
    assert attempt["container"]["exitCode"] in (137, 143)
    assert attempt["stoppedAt"] - attempt["startedAt"] < 10_000


def test_timeout_below_aws_minimum_is_rejected(batch: Any, queue: str) -> None:
    definition = make_definition(batch, ["true"])
    with pytest.raises(batch.exceptions.ClientException):
        submit(batch, queue, definition, timeout={"attemptDurationSeconds": 59})


def test_memory_limit_kill_is_reported_like_aws(batch: Any, queue: str) -> None:
    definition = make_definition(
        batch,
        [stdlib_python(), "-c", "b = bytearray(512 * 1024 * 1024); print('survived')"],
        resourceRequirements=[{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
    )
    job = wait_status(batch, submit(batch, queue, definition))
    assert job["status"] == "FAILED"
    assert job["statusReason"] == OOM_TEXT
    [attempt] = job["attempts"]
    assert attempt["container"]["exitCode"] == 137
    assert attempt["container"]["reason"] == OOM_TEXT
    assert job["container"]["reason"] == OOM_TEXT


def test_cancel_fails_queued_jobs_but_not_running_ones(batch: Any) -> None:
    queue = make_stack(batch, max_vcpus=1)[1]
    definition = make_definition(batch, ["sh", "-c", "sleep 30"])
    running = submit(batch, queue, definition)
    wait_status(batch, running, "RUNNING")
    waiting = submit(batch, queue, definition, retryStrategy={"attempts": 3})
    wait_status(batch, waiting, "RUNNABLE")
    batch.cancel_job(jobId=waiting, reason="no longer needed")
    job = wait_status(batch, waiting)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "no longer needed"
    assert job["isCancelled"] is True
    assert job["attempts"] == []
    batch.cancel_job(jobId=running, reason="too late")
    assert describe(batch, running)["status"] == "RUNNING"
    batch.terminate_job(jobId=running, reason="cleanup")
    assert wait_status(batch, running)["status"] == "FAILED"


def test_terminate_kills_the_running_attempt_and_is_not_retried(scaled: ServerProcess) -> None:
    batch = scaled.client("batch")
    logs = scaled.client("logs")
    queue = make_stack(batch)[1]
    command = "trap '' TERM; echo ignoring TERM; sleep 30 & wait; wait"
    definition = make_definition(batch, ["sh", "-c", command])
    job_id = submit(batch, queue, definition, retryStrategy={"attempts": 3})
    stream = wait_status(batch, job_id, "RUNNING")["container"]["logStreamName"]
    # A SIGTERM that lands before the trap is set would end the job at once (143).
    wait_for(lambda: "ignoring TERM" in _messages(logs, stream), timeout=10, what="the trap is set")
    batch.terminate_job(jobId=job_id, reason="operator stop")
    job = wait_status(batch, job_id, timeout=15)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "operator stop"
    assert job["isTerminated"] is True
    [attempt] = job["attempts"]
    assert attempt["container"]["exitCode"] == 137
    assert attempt["statusReason"] == "operator stop"


def test_unknown_jobs_are_answered_and_bad_requests_are_client_errors(
    batch: Any, queue: str
) -> None:
    definition = make_definition(batch, ["true"])
    # As AWS: stopping a job that is not there answers like stopping one that is.
    unknown = {"jobId": "00000000-0000-0000-0000-000000000000", "reason": "x"}
    for stop in (batch.cancel_job, batch.terminate_job):
        assert stop(**unknown)["ResponseMetadata"]["HTTPStatusCode"] == 200
    for call, kwargs in (
        (
            batch.submit_job,
            {"jobName": "j", "jobQueue": "no-such-queue", "jobDefinition": definition},
        ),
        (batch.submit_job, {"jobName": "j", "jobQueue": queue, "jobDefinition": "no-such-def"}),
        (batch.submit_job, {"jobName": "bad name", "jobQueue": queue, "jobDefinition": definition}),
        (
            batch.submit_job,
            {
                "jobName": "j",
                "jobQueue": queue,
                "jobDefinition": definition,
                "containerOverrides": {"environment": [{"name": "AWS_BATCH_X", "value": "1"}]},
            },
        ),
        (
            batch.submit_job,
            {
                "jobName": "j",
                "jobQueue": queue,
                "jobDefinition": definition,
                "containerOverrides": {"command": ["echo", ""]},
            },
        ),
        (
            batch.submit_job,
            {
                "jobName": "j",
                "jobQueue": queue,
                "jobDefinition": definition,
                "retryStrategy": {"attempts": 11},
            },
        ),
    ):
        with pytest.raises(batch.exceptions.ClientException):
            call(**kwargs)
    assert batch.describe_jobs(jobs=["00000000-0000-0000-0000-000000000000"])["jobs"] == []
