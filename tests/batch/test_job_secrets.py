"""A job's ``secrets`` reach it as environment variables, resolved from the local secrets file
when each attempt starts; one that cannot be resolved fails the attempt to start, saying why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.batch.jobs_support import make_definition, make_stack, submit, wait_status
from tests.support.job_logs import job_messages, job_output
from tests.support.server import ServerProcess

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secrets") / "secrets.json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[ServerProcess]:
    running = ServerProcess(
        tmp_path_factory.mktemp("secret-jobs"), env={"BATCHYARD_SECRETS_FILE": str(secrets_file)}
    ).start()
    yield running
    running.stop()


def _output(server: ServerProcess, job: dict[str, Any]) -> list[str]:
    return job_output(job_messages(server, job))


def test_secrets_become_environment_variables(server: ServerProcess, secrets_file: Path) -> None:
    secrets_file.write_text(
        json.dumps(
            {
                "secretsmanager": {"prod/db": json.dumps({"username": "app", "password": "pw"})},
                "ssm": {"/prod/token": "abc"},
            }
        )
    )
    batch = server.client("batch")
    definition = make_definition(
        batch,
        ["sh", "-c", 'echo "$DB_USER $DB_PASSWORD $TOKEN"'],
        secrets=[
            {"name": "DB_USER", "valueFrom": f"{SECRET}:username::"},
            {"name": "DB_PASSWORD", "valueFrom": f"{SECRET}:password::"},
            {"name": "TOKEN", "valueFrom": "/prod/token"},
        ],
    )
    job = wait_status(batch, submit(batch, make_stack(batch)[1], definition))
    assert job["status"] == "SUCCEEDED"
    assert _output(server, job) == ["app pw abc"]
    # The job shows the references, never the values.
    assert job["container"]["secrets"][2] == {"name": "TOKEN", "valueFrom": "/prod/token"}


def test_an_unresolvable_secret_fails_the_start_saying_why(
    server: ServerProcess, secrets_file: Path
) -> None:
    secrets_file.write_text(json.dumps({"ssm": {}}))
    batch = server.client("batch")
    definition = make_definition(
        batch, ["sh", "-c", 'echo "$LATE"'], secrets=[{"name": "LATE", "valueFrom": "/late"}]
    )
    queue = make_stack(batch)[1]
    job = wait_status(batch, submit(batch, queue, definition))
    assert (job["status"], job["statusReason"]) == ("FAILED", "Task failed to start")
    assert job["container"]["reason"] == (
        "ResourceInitializationError: unable to retrieve secrets: /late: no such parameter in "
        "the secrets file's 'ssm' section"
    )
    # Values are read when an attempt starts: the next job sees the file as it is now.
    secrets_file.write_text(json.dumps({"ssm": {"/late": "now here"}}))
    job = wait_status(batch, submit(batch, queue, definition))
    assert job["status"] == "SUCCEEDED"
    assert _output(server, job) == ["now here"]
