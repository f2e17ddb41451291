"""A server killed with SIGKILL while jobs run loses none of them when started again."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.batch.jobs_support import make_definition, make_stack, submit, wait_status
from tests.support.server import ServerProcess, wait_for


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_sigkill_while_jobs_run(
    new_server: Callable[..., ServerProcess], tmp_path: Path, open_dir: Path
) -> None:
    data_dir = tmp_path / "data"
    marks = open_dir
    server = new_server(data_dir=data_dir)
    batch = server.client("batch")
    queue = make_stack(batch, max_vcpus=2)[1]
    # Each attempt records the pid of a background child that would outlive its shell, then
    # waits on it, until the test drops a "release" file that lets later attempts finish.
    definition = make_definition(
        batch,
        [
            "sh",
            "-c",
            "sleep 60 & echo $! > Ref::marks/$AWS_BATCH_JOB_ID-$AWS_BATCH_JOB_ATTEMPT; "
            "test -e Ref::marks/release && exit 0; wait",
        ],
    )
    params = {"marks": str(marks)}
    retried = submit(batch, queue, definition, parameters=params, retryStrategy={"attempts": 2})
    single = submit(batch, queue, definition, parameters=params)
    queued = [submit(batch, queue, definition, parameters=params) for _ in range(3)]
    for job_id in (retried, single):
        wait_status(batch, job_id, "RUNNING")
    for job_id in queued:
        wait_status(batch, job_id, "RUNNABLE")
    orphans = {
        job_id: int((marks / f"{job_id}-1").read_text())
        for job_id in (retried, single)
        if (marks / f"{job_id}-1").exists()
    }
    server.kill()
    (marks / "release").touch()

    again = new_server(data_dir=data_dir)
    batch = again.client("batch")
    final = {
        job_id: wait_status(batch, job_id, timeout=60) for job_id in [retried, single, *queued]
    }
    assert not any(_alive(pid) for pid in orphans.values())

    lost_retried = final[retried]
    assert lost_retried["status"] == "SUCCEEDED"
    first, second = lost_retried["attempts"]
    assert first["statusReason"].startswith("Host EC2 (instance ")
    assert "server stopped" in first["statusReason"]
    assert second["container"]["exitCode"] == 0

    lost_single = final[single]
    assert lost_single["status"] == "FAILED"
    assert lost_single["statusReason"].startswith("Host EC2 (instance ")
    assert len(lost_single["attempts"]) == 1

    # Jobs that were only queued were never started before the crash: one attempt each.
    for job_id in queued:
        job = final[job_id]
        assert job["status"] == "SUCCEEDED"
        assert len(job["attempts"]) == 1
    assert os.listdir(tmp_path / "data-work" / "attempts") == []


def test_clean_stop_kills_attempts_and_the_next_start_retries_them(
    new_server: Callable[..., ServerProcess], tmp_path: Path, open_dir: Path
) -> None:
    data_dir = tmp_path / "data"
    marks = open_dir
    server = new_server(data_dir=data_dir)
    batch = server.client("batch")
    queue = make_stack(batch)[1]
    definition = make_definition(
        batch,
        [
            "sh",
            "-c",
            "echo $$ > Ref::marks/$AWS_BATCH_JOB_ATTEMPT; "
            "test $AWS_BATCH_JOB_ATTEMPT -ge 2 || sleep 60",
        ],
    )
    job_id = submit(
        batch, queue, definition, parameters={"marks": str(marks)}, retryStrategy={"attempts": 2}
    )
    wait_status(batch, job_id, "RUNNING")
    wait_for(lambda: (marks / "1").exists(), timeout=10, what="first attempt started")
    server.stop()
    assert not _alive(int((marks / "1").read_text()))

    batch = new_server(data_dir=data_dir).client("batch")
    job = wait_status(batch, job_id, timeout=30)
    assert job["status"] == "SUCCEEDED"
    assert [a["statusReason"].split(" (")[0] for a in job["attempts"]] == [
        "Host EC2",
        "Essential container in task exited",
    ]
