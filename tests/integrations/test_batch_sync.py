"""``batch:submitJob`` and ``batch:submitJob.sync`` Task states against live jobs."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integrations.support import (
    Stack,
    ended,
    events,
    machine,
    make_stack,
    task_run,
    unique,
)
from tests.states_api.conftest import client
from tests.support.python import stdlib_python
from tests.support.server import ServerProcess, wait_for

SYNC = "arn:aws:states:::batch:submitJob.sync"


def submit_state(stack: Stack, definition: str, resource: str = SYNC, **extra: Any) -> dict:
    return {
        "Type": "Task", "Resource": resource,
        "Parameters": {"JobName": unique("sfn-job"), "JobQueue": stack.queue,
                       "JobDefinition": definition, **extra},
    }


def job_of(batch: Any, job_id: str) -> dict[str, Any]:
    return batch.describe_jobs(jobs=[job_id])["jobs"][0]


def test_request_response_answers_with_the_job_ids(sfn: Any, batch: Any, stack: Stack) -> None:
    definition = stack.definition(["echo", "hi"])
    described, _ = task_run(sfn, submit_state(
        stack, definition, "arn:aws:states:::batch:submitJob",
        Parameters={"greeting": "hello"}, Tags={"team": "yard"},
        RetryStrategy={"Attempts": 2}, Timeout={"AttemptDurationSeconds": 60},
    ))
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert {"JobArn", "JobId", "JobName"} <= set(output)
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert output["SdkResponseMetadata"]["RequestId"]
    job = job_of(batch, output["JobId"])
    assert job["jobArn"] == output["JobArn"]
    assert job["parameters"] == {"greeting": "hello"}
    assert job["tags"] == {"team": "yard"}
    assert job["retryStrategy"]["attempts"] == 2
    assert job["timeout"] == {"attemptDurationSeconds": 60}


def test_sync_returns_the_described_job_in_pascal_case(sfn: Any, stack: Stack) -> None:
    definition = stack.definition(["echo", "Hello world"])
    described, history = task_run(sfn, submit_state(
        stack, definition, ContainerOverrides={"Environment": [{"Name": "K", "Value": "v"}]},
    ))
    assert described["status"] == "SUCCEEDED", described
    job = json.loads(described["output"])
    assert job["Status"] == "SUCCEEDED"
    assert job["Container"]["ExitCode"] == 0
    assert {"Name": "K", "Value": "v"} in job["Container"]["Environment"]
    assert job["Attempts"][0]["Container"]["ExitCode"] == 0
    assert job["JobQueue"] == stack.queue
    assert {"JobId", "JobArn", "JobName", "CreatedAt", "StartedAt", "StoppedAt"} <= set(job)
    scheduled = next(e for e in history if e["type"] == "TaskScheduled")
    details = scheduled["taskScheduledEventDetails"]
    assert (details["resourceType"], details["resource"]) == ("batch", "submitJob.sync")


def test_sync_task_ends_right_after_its_job(sfn: Any, batch: Any, stack: Stack) -> None:
    """The gap from the job's stoppedAt to TaskSucceeded (bus-woken, no polling)."""
    definition = stack.definition(["sleep", "0.2"])
    gaps = []
    for _ in range(5):
        described, history = task_run(sfn, submit_state(stack, definition))
        assert described["status"] == "SUCCEEDED", described
        done = next(e for e in history if e["type"] == "TaskSucceeded")
        job = json.loads(done["taskSucceededEventDetails"]["output"])
        gaps.append(done["timestamp"].timestamp() * 1000 - job["StoppedAt"])
    print(f"\n.sync gap from job stoppedAt to TaskSucceeded, ms: p50={statistics.median(gaps):.1f} "
          f"max={max(gaps):.1f} all={[round(g, 1) for g in gaps]}")
    assert max(gaps) < 1000, gaps


def test_sync_with_a_failing_job_fails_the_task(sfn: Any, stack: Stack) -> None:
    definition = stack.definition(["sh", "-c", "exit 3"])
    described, history = task_run(sfn, submit_state(stack, definition))
    assert described["status"] == "FAILED"
    assert described["error"] == "States.TaskFailed"
    job = json.loads(described["cause"])
    assert job["Status"] == "FAILED"
    assert job["Container"]["ExitCode"] == 3
    failed = next(e for e in history if e["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert failed["error"] == "States.TaskFailed"


def test_failing_job_is_caught_by_its_error_name(sfn: Any, stack: Stack) -> None:
    definition = stack.definition(["sh", "-c", "exit 1"])
    state = {**submit_state(stack, definition),
             "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Handled"}]}
    arn = machine(sfn, {"StartAt": "Task", "States": {
        "Task": {**state, "Next": "Handled"},
        "Handled": {"Type": "Pass", "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    described = ended(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["Error"] == "States.TaskFailed"


def test_bad_parameters_fail_the_task_like_batch(sfn: Any, stack: Stack) -> None:
    described, _ = task_run(sfn, submit_state(stack, "no-such-definition"))
    assert described["status"] == "FAILED"
    assert described["error"] == "Batch.ClientException"
    assert "Job definition no-such-definition does not exist." in described["cause"]
    described, _ = task_run(sfn, submit_state(stack, "x", NotAField=1))
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert "NotAField" in described["cause"]


def test_stopping_the_execution_terminates_its_job(sfn: Any, batch: Any, stack: Stack) -> None:
    definition = stack.definition(["sleep", "60"])
    arn = machine(sfn, {"StartAt": "Task", "States": {
        "Task": {**submit_state(stack, definition), "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]

    def running_job() -> str | None:
        for event in events(sfn, execution):
            if event["type"] == "TaskStarted":
                found = batch.list_jobs(jobQueue=stack.queue, jobStatus="RUNNING")
                ours = [j for j in found["jobSummaryList"] if j["jobDefinition"] == definition]
                return ours[0]["jobId"] if ours else None
        return None

    job_id = wait_for(running_job, timeout=30, what="the task's job to run")
    sfn.stop_execution(executionArn=execution, error="Stop", cause="test")
    job = wait_for(lambda: (j := job_of(batch, job_id))["status"] == "FAILED" and j,
                   timeout=30, what="the job to be terminated")
    assert job["isTerminated"] is True
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"


def test_sync_resumed_after_a_crash_reattaches_to_its_job(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = {"BATCHYARD_TIME_SCALE": "60"}
    first = new_server(env=env, data_dir=data_dir)
    stack = make_stack(first.client("batch"))
    definition = stack.definition(["sleep", "1"])
    sfn = client(first)
    name = unique("crash-job")
    state = submit_state(stack, definition, JobName=name, RetryStrategy={"Attempts": 3})
    arn = machine(sfn, {"StartAt": "Task", "States": {"Task": {**state, "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    batch = first.client("batch")
    wait_for(lambda: batch.list_jobs(jobQueue=stack.queue, jobStatus="RUNNING")["jobSummaryList"],
             timeout=30, what="the job to run")
    first.kill()

    second = new_server(env=env, data_dir=data_dir)
    sfn, batch = client(second), second.client("batch")
    described = ended(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    jobs = batch.list_jobs(jobQueue=stack.queue, filters=[{"name": "JOB_NAME", "values": [name]}])
    assert [j["jobId"] for j in jobs["jobSummaryList"]] == [output["JobId"]]
    assert output["Status"] == "SUCCEEDED"
    assert len(output["Attempts"]) == 2


ANSWER_WITH_THE_TOKEN = """
import json, os, urllib.request
output = json.dumps({"from": os.environ["AWS_BATCH_JOB_ID"]})
body = json.dumps({"taskToken": os.environ["TASK_TOKEN"], "output": output}).encode()
request = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"], data=body, headers={
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "AWSStepFunctions.SendTaskSuccess",
})
print(urllib.request.urlopen(request).status)
"""


def test_wait_for_task_token_hands_the_job_its_token_and_waits_for_its_answer(
    sfn: Any, batch: Any, stack: Stack
) -> None:
    """The job gets ``$$.Task.Token`` through its environment and answers the task itself,
    reaching the server through the endpoint every attempt is given."""
    definition = stack.definition([stdlib_python(), "-c", ANSWER_WITH_THE_TOKEN])
    described, history = task_run(sfn, submit_state(
        stack, definition, "arn:aws:states:::batch:submitJob.waitForTaskToken",
        ContainerOverrides={"Environment": [{"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]},
    ))
    assert described["status"] == "SUCCEEDED", described
    job_id = json.loads(described["output"])["from"]
    # The job answers before it exits: its own end comes a little after the task's.
    wait_for(
        lambda: job_of(batch, job_id)["status"] in ("SUCCEEDED", "FAILED"),
        timeout=60,
        what="the job that answered the task to end",
    )
    assert job_of(batch, job_id)["status"] == "SUCCEEDED"
    scheduled = next(e for e in history if e["type"] == "TaskScheduled")
    details = scheduled["taskScheduledEventDetails"]
    assert (details["resourceType"], details["resource"]) == ("batch", "submitJob.waitForTaskToken")
