"""The AWS CLI v1 against the resource API: what a user types works unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.batch.resource_support import make_ce, unique

AWS = Path(sys.executable).with_name("aws")


def aws(server: Any, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [
            str(AWS),
            "batch",
            *args,
            "--endpoint-url",
            server.endpoint,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def test_register_and_describe_job_definition(server) -> None:
    name = unique("cli-jd")
    properties = json.dumps(
        {
            "image": "busybox",
            "command": ["echo", "Ref::msg"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "64"},
            ],
        }
    )
    registered = json.loads(
        aws(
            server,
            "register-job-definition",
            "--job-definition-name",
            name,
            "--type",
            "container",
            "--container-properties",
            properties,
            "--parameters",
            "msg=hello",
        ).stdout
    )
    assert registered["revision"] == 1
    described = json.loads(
        aws(server, "describe-job-definitions", "--job-definition-name", name).stdout
    )
    [definition] = described["jobDefinitions"]
    assert definition["parameters"] == {"msg": "hello"}
    assert definition["status"] == "ACTIVE"


def test_create_and_describe_job_queue(server, batch) -> None:
    ce = make_ce(batch)
    name = unique("cli-jq")
    created = json.loads(
        aws(
            server,
            "create-job-queue",
            "--job-queue-name",
            name,
            "--priority",
            "3",
            "--compute-environment-order",
            f"order=1,computeEnvironment={ce}",
        ).stdout
    )
    assert created["jobQueueName"] == name
    described = json.loads(aws(server, "describe-job-queues", "--job-queues", name).stdout)
    [queue] = described["jobQueues"]
    assert queue["priority"] == 3
    assert queue["computeEnvironmentOrder"][0]["computeEnvironment"].endswith(f"/{ce}")


def test_cli_reports_client_errors(server) -> None:
    result = aws(
        server,
        "delete-compute-environment",
        "--compute-environment",
        unique("missing"),
        check=False,
    )
    assert result.returncode != 0
    assert "ClientException" in result.stderr
    assert "does not exist" in result.stderr


def test_create_compute_environment_shorthand(server) -> None:
    name = unique("cli-ce")
    created = json.loads(
        aws(
            server,
            "create-compute-environment",
            "--compute-environment-name",
            name,
            "--type",
            "MANAGED",
            "--compute-resources",
            "type=FARGATE,maxvCpus=8,subnets=subnet-1,securityGroupIds=sg-1",
        ).stdout
    )
    assert created["computeEnvironmentArn"].endswith(f"compute-environment/{name}")
    described = json.loads(
        aws(server, "describe-compute-environments", "--compute-environments", name).stdout
    )
    assert described["computeEnvironments"][0]["computeResources"]["type"] == "FARGATE"
