"""A server killed with SIGKILL while jobs run loses none of them when started again."""

from __future__ import annotations

import os
import random
import signal
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


def test_an_attempt_that_ended_before_its_end_was_committed_is_not_run_again(
    new_server: Callable[..., ServerProcess], tmp_path: Path, open_dir: Path
) -> None:
    """The server is stopped (SIGSTOP: it commits nothing more), the command ends, then the
    server is killed: the next one records the attempt's real exit, once."""
    data_dir = tmp_path / "data"
    server = new_server(data_dir=data_dir)
    batch = server.client("batch")
    definition = make_definition(
        batch,
        [
            "sh",
            "-c",
            "while [ ! -e Ref::marks/go ]; do sleep 0.05; done; echo ran >>Ref::marks/runs",
        ],
    )
    job = submit(
        batch, make_stack(batch)[1], definition, parameters={"marks": str(open_dir)},
        retryStrategy={"attempts": 2},
    )
    wait_status(batch, job, "RUNNING")
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    (open_dir / "go").touch()
    exits = data_dir / "attempt-exits"
    wait_for(
        lambda: [p.read_text() for p in exits.iterdir()] == ["0\n"],
        what="the launcher to record the command's exit",
    )
    server.kill()

    again = new_server(data_dir=data_dir)
    final = wait_status(again.client("batch"), job, timeout=60)
    assert final["status"] == "SUCCEEDED", final
    [attempt] = final["attempts"]
    assert attempt["container"]["exitCode"] == 0
    assert (open_dir / "runs").read_text() == "ran\n"
    wait_for(lambda: list(exits.iterdir()) == [], what="the record to go once the end is committed")


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


# Each run holds its job's lock while it works (a second run of the job at the same time
# finds it taken) and logs its start and, when it got to the end, its end. One shell, so
# that what logs the end dies with the run (the parent-death signal reaches only it).
CRASH_RUN = (
    'umask 0; exec 9>>"$0/$AWS_BATCH_JOB_ID.lock"; '
    'flock -n 9 || { echo "$AWS_BATCH_JOB_ID" >>"$0/overlaps"; exit 1; }; '
    'echo start "$AWS_BATCH_JOB_ID" >>"$0/runs"; sleep "$1"; '
    'echo end "$AWS_BATCH_JOB_ID" >>"$0/runs"'
)


def _jobs_with_live_processes() -> set[str]:
    """The jobs that have a process still running (zombies have exited): the launcher that
    records an attempt's exit is one, until it has written it."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not _alive(int(entry.name)):
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for variable in environ:
            if variable.startswith(b"AWS_BATCH_JOB_ID="):
                found.add(variable.split(b"=", 1)[1].decode())
    return found


def test_a_server_killed_repeatedly_under_load_loses_repeats_and_overlaps_nothing(
    new_server: Callable[..., ServerProcess], tmp_path: Path, open_dir: Path
) -> None:
    """SIGKILL at moments picked at random (by how many runs have started), four times while
    jobs start and end: every job ends SUCCEEDED, no two runs of a job overlap, and no job
    whose run had ended (its processes gone) before a kill runs again."""
    rng = random.Random(20261208)
    # Runs of one job have uids of their own: they share files in a directory open to all.
    marks = open_dir / "crash"
    marks.mkdir(mode=0o777)
    marks.chmod(0o777)
    data_dir = tmp_path / "data"
    server = new_server(data_dir=data_dir)
    batch = server.client("batch")
    queue = make_stack(batch, max_vcpus=4)[1]
    definition = make_definition(batch, ["sh", "-c", CRASH_RUN, "Ref::marks", "Ref::seconds"])
    jobs = [
        submit(
            batch, queue, definition, retryStrategy={"attempts": 6},
            parameters={"marks": str(marks), "seconds": f"{rng.uniform(0.1, 0.6):.2f}"},
        )
        for _ in range(24)
    ]
    runs = marks / "runs"

    def events() -> list[list[str]]:
        return [line.split() for line in runs.read_text().splitlines()] if runs.exists() else []

    # Jobs whose run had ended before a kill, with how many runs they had had by then.
    finished: dict[str, int] = {}
    for threshold in sorted(rng.sample(range(4, 30), 4)):
        wait_for(
            lambda t=threshold: sum(kind == "start" for kind, _ in events()) >= t,
            timeout=90,
            what=f"{threshold} runs to start",
        )
        live = _jobs_with_live_processes()
        seen = events()
        for _, job in seen:
            if job not in live and job not in finished and ["end", job] in seen:
                finished[job] = seen.count(["start", job])
        server.kill()
        server = new_server(data_dir=data_dir)
    batch = server.client("batch")
    final = {job: wait_status(batch, job, timeout=120) for job in jobs}
    assert {job: f["status"] for job, f in final.items()} == dict.fromkeys(jobs, "SUCCEEDED")
    assert not (marks / "overlaps").exists(), (marks / "overlaps").read_text()
    seen = events()
    assert finished, "no kill came after a run had ended: the test proved nothing"
    for job, runs_then in finished.items():
        assert seen.count(["start", job]) == runs_then, (job, [e for e in seen if e[1] == job])
        assert final[job]["attempts"][-1]["container"]["exitCode"] == 0, final[job]
    for job in jobs:
        mine = [kind for kind, job_id in seen if job_id == job]
        assert mine[-1] == "end", (job, mine)
