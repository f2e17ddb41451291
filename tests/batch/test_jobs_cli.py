"""``batchyard submit``, ``batchyard jobs`` and ``batchyard logs`` against a live server."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.batch.jobs_support import make_definition, make_stack, wait_status
from tests.support.job_logs import job_output
from tests.support.server import ServerProcess


def _cli(server: ServerProcess, command: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "batchyard.cli", command, "--endpoint-url", server.endpoint, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_submit_list_and_follow_logs(server: ServerProcess, batch: Any) -> None:
    queue = make_stack(batch)[1]
    definition = make_definition(batch, ["sh", "-c", "echo hello Ref::who; sleep 0.5; echo bye"])
    answer = json.loads(
        _cli(
            server,
            "submit",
            "--queue",
            queue,
            "--definition",
            definition,
            "--name",
            "cli-job",
            "--param",
            "who=cli",
        )
    )
    assert answer["jobName"] == "cli-job"
    followed = _cli(server, "logs", answer["jobId"], "--follow")
    assert job_output(followed.splitlines()) == ["hello cli", "bye"]
    assert wait_status(batch, answer["jobId"])["status"] == "SUCCEEDED"
    counts, jobs = _cli(server, "jobs", "--queue", queue).split("\n\n")
    header, row = counts.splitlines()
    assert header.split() == ["QUEUE", "SUBMITTED", "PENDING", "RUNNABLE", "STARTING",
                              "RUNNING", "SUCCEEDED", "FAILED"]
    assert row.split() == [queue.rsplit("/", 1)[-1], "0", "0", "0", "0", "0", "1", "0"]
    table = jobs.splitlines()
    assert table[0].split()[:3] == ["JOB", "ID", "NAME"]
    assert [line.split()[:7] for line in table[1:]] == [
        [answer["jobId"], "cli-job", queue.rsplit("/", 1)[-1], "SUCCEEDED", "1", "0",
         table[1].split()[6]]
    ]
    override = json.loads(
        _cli(server, "submit", "--queue", queue, "--definition", definition, "--", "echo", "other")
    )
    wait_status(batch, override["jobId"])
    assert job_output(_cli(server, "logs", override["jobId"]).splitlines()) == ["other"]
