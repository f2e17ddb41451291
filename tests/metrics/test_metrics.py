"""/metrics: a real server's scrape, parsed as Prometheus parses it, after real work."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from batchyard.metrics import Metrics
from tests.batch.jobs_support import make_definition, make_stack, submit, wait_status
from tests.batch.resource_support import unique
from tests.security.support import ALICE, write_credentials
from tests.support.server import ServerProcess, wait_for

ROLE = "arn:aws:iam::123456789012:role/metrics"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(server: ServerProcess, **headers: str) -> Samples:
    """A scrape that must succeed."""
    answer = httpx.get(f"{server.endpoint}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(answer.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample ``name{labels}``; 0 when the scrape has none (a counter not yet moved)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over the samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def test_a_scrape_counts_jobs_an_execution_and_a_failed_call(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server()
    batch, sfn = server.client("batch"), server.client("stepfunctions")
    before = scrape(server)
    assert total(before, "batchyard_job_ends_total") == 0

    _ce, queue_name = make_stack(batch)
    good = make_definition(batch, ["sh", "-c", "exit 0"])
    bad = make_definition(batch, ["sh", "-c", "exit 3"])
    succeeded = submit(batch, queue_name, good)
    failed = submit(batch, queue_name, bad, retryStrategy={"attempts": 2})
    queue = wait_status(batch, succeeded)["jobQueue"]
    assert wait_status(batch, failed)["status"] == "FAILED"
    with pytest.raises(ClientError) as refused:
        batch.submit_job(jobName="j", jobQueue=unique("no-such-queue"), jobDefinition=good)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    definition = {
        "StartAt": "First",
        "States": {"First": {"Type": "Pass", "Next": "Done"}, "Done": {"Type": "Succeed"}},
    }
    machine = sfn.create_state_machine(
        name=unique("sm"), definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    wait_for(lambda: sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED",
             what="the execution's end")

    # The bus announces a change once it is committed, so a scrape may just precede it.
    samples = wait_for(
        lambda: (s := scrape(server))
        and value(s, "batchyard_executions_total", state_machine=machine, status="SUCCEEDED")
        and total(s, "batchyard_job_ends_total", queue=queue) == 2
        and s,
        what="the job ends and the execution's end in /metrics",
    )
    assert value(samples, "batchyard_jobs", queue=queue, status="SUCCEEDED") == 1
    assert value(samples, "batchyard_jobs", queue=queue, status="FAILED") == 1
    assert value(samples, "batchyard_job_starts_total", queue=queue) == 3
    assert value(samples, "batchyard_job_ends_total", queue=queue, status="SUCCEEDED") == 1
    assert value(samples, "batchyard_job_ends_total", queue=queue, status="FAILED") == 1
    assert value(samples, "batchyard_job_attempts_total", queue=queue, exit="zero") == 1
    assert value(samples, "batchyard_job_attempts_total", queue=queue, exit="nonzero") == 2
    assert value(samples, "batchyard_job_attempts_total", queue=queue, exit="none") == 0
    # Only first attempts measure submit to start; both jobs had one.
    assert value(samples, "batchyard_job_start_latency_seconds_count", queue=queue) == 2
    assert value(samples, "batchyard_job_start_latency_seconds_sum", queue=queue) > 0

    assert value(samples, "batchyard_executions_total",
                 state_machine=machine, status="RUNNING") == 1
    assert value(samples, "batchyard_executions_total",
                 state_machine=machine, status="SUCCEEDED") == 1
    assert value(samples, "batchyard_state_transitions_total",
                 state_machine=machine, type="Pass") == 1
    assert value(samples, "batchyard_state_transitions_total",
                 state_machine=machine, type="Succeed") == 1

    requests = "batchyard_api_request_duration_seconds_count"
    assert value(samples, requests, service="batch", operation="SubmitJob", code="200") == 2
    assert value(samples, requests, service="batch", operation="SubmitJob", code="400") == 1
    assert value(samples, requests, service="stepfunctions", operation="StartExecution",
                 code="200") == 1
    assert value(samples, "batchyard_api_request_duration_seconds_bucket", service="batch",
                 operation="SubmitJob", code="400", le="+Inf") == 1
    commits = value(samples, "batchyard_store_commit_duration_seconds_count")
    assert commits > value(before, "batchyard_store_commit_duration_seconds_count") > 0


def test_a_configured_token_is_required_as_a_bearer(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server(env={"BATCHYARD_METRICS_TOKEN": "scrape-token-1"})
    url = f"{server.endpoint}/metrics"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-token-1"}):
        answer = httpx.get(url, headers=headers, timeout=10)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "batchyard_" not in answer.text
    samples = scrape(server, Authorization="Bearer scrape-token-1")
    assert ("batchyard_store_commit_duration_seconds_count", frozenset()) in samples


def test_a_foreign_host_is_refused(server: ServerProcess) -> None:
    answer = httpx.get(f"{server.endpoint}/metrics", headers={"Host": "evil.example"},
                       timeout=10)
    assert answer.status_code == 403
    assert "batchyard_" not in answer.text


def test_an_open_listener_serves_metrics_only_with_a_token(tmp_path: Path) -> None:
    credentials = write_credentials(tmp_path / "credentials.toml", ALICE)
    env = {"BATCHYARD_CREDENTIALS_FILE": str(credentials), "BATCHYARD_HOST": "0.0.0.0"}
    untokened = ServerProcess(tmp_path / "open", env=env).start()
    try:
        answer = httpx.get(f"{untokened.endpoint}/metrics", timeout=10)
        assert answer.status_code == 403
        assert "BATCHYARD_METRICS_TOKEN" in answer.text
    finally:
        untokened.stop()
    tokened = ServerProcess(
        tmp_path / "tokened", env={**env, "BATCHYARD_METRICS_TOKEN": "scrape-token-2"}
    ).start()
    try:
        samples = scrape(tokened, Authorization="Bearer scrape-token-2")
        assert ("batchyard_store_commit_duration_seconds_count", frozenset()) in samples
    finally:
        tokened.stop()


def test_each_server_has_a_registry_of_its_own() -> None:
    async def no_jobs() -> list[tuple[str, str, int]]:
        return []

    async def jobs() -> list[tuple[str, str, int]]:
        return [("arn:q", "RUNNABLE", 4)]

    first, second = Metrics(no_jobs), Metrics(jobs)
    job: dict[str, Any] = {"jobQueue": "arn:q", "status": "RUNNING", "attempts": [],
                           "createdAt": 1_000, "startedAt": 3_500}
    first.job_changed("batch.job", job)
    one = parse(asyncio.run(first.render()).decode())
    two = parse(asyncio.run(second.render()).decode())
    assert value(one, "batchyard_job_starts_total", queue="arn:q") == 1
    assert value(one, "batchyard_job_start_latency_seconds_sum", queue="arn:q") == 2.5
    assert value(two, "batchyard_job_starts_total", queue="arn:q") == 0
    assert value(two, "batchyard_jobs", queue="arn:q", status="RUNNABLE") == 4
    assert value(one, "batchyard_jobs", queue="arn:q", status="RUNNABLE") == 0
