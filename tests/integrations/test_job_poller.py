"""The seeds' Job Poller sample, deployed by ``batchyard samples``, runs unchanged."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from batchyard.cli import job_poller
from tests.integrations.support import ended, events
from tests.support.server import ServerProcess

LOOP = re.compile(
    r"Submit Job,(Wait X Seconds,Get Job Status,Job Complete\?,)+Get Final Job Status"
)


@pytest.fixture(scope="module")
def sample(fast: ServerProcess) -> tuple[job_poller.Clients, job_poller.Deployment]:
    """The sample deployed to the fast server, with the seed's input (wait_time 60)."""
    clients = job_poller.Clients(
        fast.client("batch"), fast.client("lambda"), fast.client("stepfunctions")
    )
    return clients, job_poller.deploy(clients)


def entered(sfn: Any, arn: str) -> list[str]:
    return job_poller.state_path(sfn, arn)


def run(
    sample: tuple[job_poller.Clients, job_poller.Deployment], **extra: Any
) -> tuple[dict[str, Any], list[str]]:
    clients, deployment = sample
    document = {**deployment.input, **extra}
    arn = clients.states.start_execution(
        stateMachineArn=deployment.machines["lambda"], input=json.dumps(document)
    )["executionArn"]
    return ended(clients.states, arn), entered(clients.states, arn)


def test_seed_input_succeeds_through_the_poller_loop(sample: Any) -> None:
    _, deployment = sample
    assert deployment.input["wait_time"] == 60
    assert set(deployment.input) == {"jobName", "jobDefinition", "jobQueue", "wait_time"}
    # The seed's SubmitJobFunction passes containerOverrides on: a job that outlasts one
    # (scaled) wait makes the poller go round its loop more than once.
    described, path = run(sample, containerOverrides={"command": ["sleep", "2.5"]})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == "SUCCEEDED"
    assert LOOP.fullmatch(",".join(path)), path
    assert path.count("Get Job Status") >= 2, path


def test_the_echo_job_succeeds_with_the_seed_input(sample: Any) -> None:
    described, path = run(sample)
    assert described["status"] == "SUCCEEDED", described
    assert path == [
        "Submit Job", "Wait X Seconds", "Get Job Status", "Job Complete?", "Get Final Job Status"
    ]
    assert json.loads(described["output"]) == "SUCCEEDED"
    clients, _ = sample
    history = events(clients.states, described["executionArn"])
    assert [e["type"] for e in history[:6]] == [
        "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled",
        "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
    ]
    guid = json.loads(history[4]["lambdaFunctionSucceededEventDetails"]["output"])
    assert set(guid) == {"jobId"}


def test_a_job_that_exits_1_fails_the_execution_as_the_seed_says(sample: Any) -> None:
    described, path = run(sample, containerOverrides={"command": ["sh", "-c", "exit 1"]})
    assert described["status"] == "FAILED"
    assert described["error"] == "DescribeJob returned FAILED"
    assert described["cause"] == "AWS Batch Job Failed"
    assert path[-2:] == ["Job Complete?", "Job Failed"]


def test_the_sync_variant_returns_the_job(sample: Any) -> None:
    clients, deployment = sample
    arn = clients.states.start_execution(
        stateMachineArn=deployment.machines["sync"], input=json.dumps(deployment.input)
    )["executionArn"]
    described = ended(clients.states, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == "SUCCEEDED"
    assert entered(clients.states, arn) == ["Submit Job", "Get Final Job Status"]


def test_cli_deploys_runs_and_prints_the_result(fast: ServerProcess, sample: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "batchyard.cli", "samples", "deploy", "job-poller",
         "--endpoint-url", fast.endpoint, "--wait", "--timeout", "60"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout[done.stdout.rindex("{\n  \"status\""):])
    assert result["status"] == "SUCCEEDED"
    assert result["states"][0] == "Submit Job"
    assert result["states"][-1] == "Get Final Job Status"
    started = json.loads(done.stdout[: done.stdout.rindex("{\n  \"status\"")])
    # --wait shows where the execution is while it runs.
    assert "in state Submit Job" in done.stderr and "in state Wait X Seconds" in done.stderr
    assert started["input"]["wait_time"] == 60
    assert started["executionArn"].startswith(
        "arn:aws:states:us-east-1:123456789012:execution:JobStatusPollerStateMachine:"
    )
