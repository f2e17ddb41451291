"""``batchyard executions`` and ``batchyard execution ARN`` against a live server."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from tests.states_api.conftest import machine
from tests.states_api.test_executions import CHAIN, FAIL, finished
from tests.support.server import ServerProcess


def cli(server: ServerProcess, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "batchyard.cli", *args, "--endpoint-url", server.endpoint],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout


def test_executions_table_and_history(server: ServerProcess, sfn: Any) -> None:
    arn = machine(sfn, CHAIN)
    ok = sfn.start_execution(stateMachineArn=arn, input='{"x": 1}')["executionArn"]
    finished(sfn, ok)
    name = arn.rsplit(":", 1)[1]
    table = cli(server, "executions", "--state-machine", name).splitlines()
    assert table[0].split() == ["STATUS", "STARTED", "STOPPED", "EXECUTION"]
    assert len(table) == 2
    assert table[1].startswith("SUCCEEDED")
    assert table[1].endswith(ok)
    assert cli(server, "executions", "--state-machine", name, "--status", "FAILED").count(
        "\n"
    ) == 1

    shown = cli(server, "execution", ok).splitlines()
    assert shown[0] == ok
    assert shown[1].split() == ["status:", "SUCCEEDED"]
    events = [line.split() for line in shown if line[:5].strip().isdigit()]
    assert [e[0] for e in events] == ["1", "2", "3", "4", "5", "6"]
    # id, date, time, type, details
    assert [e[3] for e in events] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered",
        "PassStateExited", "ExecutionSucceeded",
    ]
    assert "name=A" in shown[-5]


def test_execution_shows_failures(server: ServerProcess, sfn: Any) -> None:
    arn = machine(sfn, FAIL)
    failed = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    finished(sfn, failed)
    shown = cli(server, "execution", failed)
    assert "status:  FAILED" in shown
    assert "error:   Boom" in shown
    assert "ExecutionFailed" in shown.splitlines()[-1]
    assert "error=Boom cause=it broke" in shown.splitlines()[-1]
