"""The AWS CLI v1 against the events API: a rule, a target and a test of a pattern."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.support.server import ServerProcess

AWS = Path(sys.executable).with_name("aws")


def _aws(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [str(AWS), "events", *args, "--endpoint-url", server.endpoint, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_rule_target_and_pattern(server: ServerProcess) -> None:
    name = f"cli-{uuid.uuid4().hex[:12]}"
    pattern = '{"source": ["aws.batch"], "detail": {"status": ["FAILED"]}}'
    put = _aws(server, "put-rule", "--name", name, "--event-pattern", pattern)
    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["RuleArn"].endswith(f":rule/{name}")
    target = _aws(
        server,
        "put-targets",
        "--rule",
        name,
        "--targets",
        "Id=logs,Arn=arn:aws:logs:us-east-1:123456789012:log-group:/cli",
    )
    assert json.loads(target.stdout)["FailedEntryCount"] == 0
    listed = json.loads(_aws(server, "list-targets-by-rule", "--rule", name).stdout)
    assert [t["Id"] for t in listed["Targets"]] == ["logs"]
    event = json.dumps(
        {
            "id": "1",
            "account": "123456789012",
            "source": "aws.batch",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "detail-type": "Batch Job State Change",
            "detail": {"status": "FAILED"},
        }
    )
    tested = _aws(server, "test-event-pattern", "--event-pattern", pattern, "--event", event)
    assert json.loads(tested.stdout) == {"Result": True}
    refused = _aws(server, "delete-rule", "--name", name)
    assert refused.returncode != 0
    assert "Rule can't be deleted since it has targets." in refused.stderr
