"""StartLiveTail: a session streams the events committed to its groups while it is open, through
boto3 and through the AWS CLI's ``aws logs start-live-tail``."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tests.batch.jobs_support import make_definition, make_stack
from tests.support.server import ServerProcess, wait_for

# botocore sends StartLiveTail to the host "stream-<endpoint host>", which a local endpoint
# does not have; clients turn the prefix off (AWS_DISABLE_HOST_PREFIX_INJECTION for the CLI).
NO_PREFIX = Config(inject_host_prefix=False, retries={"max_attempts": 0}, read_timeout=60)


def _logs(server: ServerProcess, region: str = "us-east-1") -> Any:
    return boto3.client("logs", endpoint_url=server.endpoint, region_name=region,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=NO_PREFIX)


def _group(logs: Any, *streams: str) -> str:
    name = f"/live/{uuid.uuid4().hex[:10]}"
    logs.create_log_group(logGroupName=name)
    for stream in streams:
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
    return str(logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["logGroupArn"])


def _put(logs: Any, arn: str, stream: str, *messages: str) -> None:
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=arn.split(":log-group:")[1], logStreamName=stream,
                        logEvents=[{"timestamp": now + i, "message": m}
                                   for i, m in enumerate(messages)])


class Tail:
    """A live tail read on a thread, its events queued for the test."""

    def __init__(self, logs: Any, **params: Any) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stream = logs.start_live_tail(**params)["responseStream"]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        # The server sends an update every second, empty or not, so the loop sees the stop.
        for event in self.stream:
            if self._stop.is_set():
                return
            if event.get("sessionUpdate", {}).get("sessionResults") == []:
                continue
            self.events.put(event)

    def messages(self, count: int, timeout: float = 30.0) -> list[str]:
        found: list[str] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            event = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            for result in event.get("sessionUpdate", {}).get("sessionResults", []):
                found.append(result["message"])
        return found

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.stream.close()


@pytest.fixture
def tails() -> Iterator[list[Tail]]:
    opened: list[Tail] = []
    yield opened
    for tail in opened:
        tail.close()


def test_a_session_streams_events_as_they_are_committed(
    server: ServerProcess, tails: list[Tail]
) -> None:
    logs = _logs(server)
    arn = _group(logs, "a", "b")
    tail = Tail(logs, logGroupIdentifiers=[arn])
    tails.append(tail)
    start = tail.events.get(timeout=30)["sessionStart"]
    assert start["logGroupIdentifiers"] == [arn] and start["sessionId"]
    _put(logs, arn, "a", "first", "second")
    _put(logs, arn, "b", "third")
    assert tail.messages(3) == ["first", "second", "third"]


def test_filters_by_stream_prefix_and_pattern_and_keeps_to_its_region(
    server: ServerProcess, tails: list[Tail]
) -> None:
    logs, west = _logs(server), _logs(server, "eu-west-1")
    arn = _group(logs, "job/1", "other")
    west_arn = _group(west, "job/1")
    tail = Tail(logs, logGroupIdentifiers=[arn], logStreamNamePrefixes=["job/"],
                logEventFilterPattern="ERROR")
    tails.append(tail)
    tail.events.get(timeout=30)
    _put(logs, arn, "other", "ERROR not this stream")
    _put(west, west_arn, "job/1", "ERROR not this region")
    _put(logs, arn, "job/1", "INFO not this pattern", "ERROR this one")
    assert tail.messages(1) == ["ERROR this one"]
    assert tail.events.empty()


def test_a_jobs_output_reaches_a_session_while_it_runs(
    server: ServerProcess, batch: Any, tails: list[Tail]
) -> None:
    logs = _logs(server)
    with contextlib.suppress(ClientError):
        logs.create_log_group(logGroupName="/aws/batch/job")
    arn = logs.describe_log_groups(logGroupNamePrefix="/aws/batch/job")["logGroups"][0][
        "logGroupArn"
    ]
    token = uuid.uuid4().hex
    tail = Tail(logs, logGroupIdentifiers=[arn], logEventFilterPattern=token)
    tails.append(tail)
    tail.events.get(timeout=30)
    queue_arn = make_stack(batch)[1]
    # The job prints its first line, then waits for the test to have seen it.
    seen = f"/tmp/live-{token}"
    definition = make_definition(batch, [
        "sh", "-c", f"echo {token} one; while [ ! -e {seen} ]; do sleep 0.05; done; "
                    f"echo {token} two",
    ])
    batch.submit_job(jobName="live", jobQueue=queue_arn, jobDefinition=definition)
    assert tail.messages(1) == [f"{token} one"]
    open(seen, "w").close()
    try:
        assert tail.messages(1) == [f"{token} two"]
    finally:
        os.unlink(seen)


def test_unknown_groups_and_bad_filters_are_refused(server: ServerProcess) -> None:
    logs = _logs(server)
    missing = "arn:aws:logs:us-east-1:123456789012:log-group:/live/none"
    with pytest.raises(ClientError) as error:
        logs.start_live_tail(logGroupIdentifiers=[missing])
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    arn, other = _group(logs, "s"), _group(logs, "s")
    with pytest.raises(ClientError) as error:
        logs.start_live_tail(logGroupIdentifiers=[arn, other], logStreamNames=["s"])
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_the_aws_cli_prints_a_live_tail(server: ServerProcess) -> None:
    logs = _logs(server)
    arn = _group(logs, "s")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}
    cli = subprocess.Popen(
        [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "logs",
         "start-live-tail", "--log-group-identifiers", arn],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert cli.stdout is not None
    stdout = cli.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    try:
        def printed() -> bool:
            _put(logs, arn, "s", "hello from the cli test")
            try:
                return "hello from the cli test" in lines.get(timeout=1)
            except queue.Empty:
                return False

        wait_for(printed, timeout=60, what="the CLI to print a live event")
    finally:
        cli.terminate()
        cli.wait(timeout=30)
