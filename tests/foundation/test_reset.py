"""``POST /_batchyard/reset``: a development server forgets every service's state at once,
its running attempts stopped first, and serves on as if new; a server with credentials
refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.batch.jobs_support import make_definition, make_stack, submit, wait_status
from tests.functions.support import call, create
from tests.security.support import client, secure_server
from tests.support.server import ServerProcess, wait_for

WAITING = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": True}}}
ROLE = "arn:aws:iam::123456789012:role/r"


def _job_processes(job_id: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"AWS_BATCH_JOB_ID={job_id}".encode() in environ:
            found.append(int(entry.name))
    return found


def test_a_reset_forgets_every_service_and_stops_what_runs(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server()
    batch, sfn, lam = (server.client(s) for s in ("batch", "stepfunctions", "lambda"))
    events, logs = server.client("events"), server.client("logs")
    job = submit(batch, make_stack(batch)[1], make_definition(batch, ["sleep", "300"]))
    wait_status(batch, job, "RUNNING")
    assert _job_processes(job)
    machine = sfn.create_state_machine(
        name="waits", definition=json.dumps(WAITING), roleArn=ROLE
    )["stateMachineArn"]
    sfn.start_execution(stateMachineArn=machine)
    create(lam, "def handler(event, context):\n    return 1\n")
    events.put_rule(Name="every-job", EventPattern=json.dumps({"source": ["aws.batch"]}))
    logs.create_log_group(logGroupName="/mine")

    answer = httpx.post(f"{server.endpoint}/_batchyard/reset", timeout=60)
    assert (answer.status_code, answer.json()) == (200, {"status": "reset"})

    wait_for(lambda: not _job_processes(job), timeout=30, what="the job's process to be gone")
    assert batch.describe_jobs(jobs=[job])["jobs"] == []
    assert batch.describe_compute_environments()["computeEnvironments"] == []
    assert batch.describe_job_queues()["jobQueues"] == []
    assert sfn.list_state_machines()["stateMachines"] == []
    assert lam.list_functions()["Functions"] == []
    assert events.list_rules()["Rules"] == []
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == []
    # And it serves on as a new server does.
    again = submit(batch, make_stack(batch)[1], make_definition(batch, ["true"]))
    assert wait_status(batch, again)["status"] == "SUCCEEDED"
    assert call(lam, create(lam, "def handler(event, context):\n    return 2\n"))[1] == 2


def test_a_server_with_credentials_refuses_to_reset(tmp_path: Path) -> None:
    server = secure_server(tmp_path)
    try:
        batch = client(server, "batch")
        queue = make_stack(batch)[1]
        answer = httpx.post(f"{server.endpoint}/_batchyard/reset", timeout=30)
        assert answer.status_code == 403
        assert answer.json()["__type"] == "AccessDeniedException"
        assert [q["jobQueueName"] for q in batch.describe_job_queues()["jobQueues"]] == [queue]
    finally:
        server.stop()


def test_a_page_of_another_site_cannot_reset(new_server: Callable[..., ServerProcess]) -> None:
    server = new_server()
    batch = server.client("batch")
    queue = make_stack(batch)[1]
    answer = httpx.post(
        f"{server.endpoint}/_batchyard/reset", headers={"Origin": "http://evil.example"},
        timeout=30,
    )
    assert answer.status_code == 403
    assert [q["jobQueueName"] for q in batch.describe_job_queues()["jobQueues"]] == [queue]
