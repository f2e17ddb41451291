"""Jobs and Lambda handlers cannot reach the server: proved from inside them, on a real server.

The suite runs as root (CI does), so the server switches: every attempt and worker gets a
uid of its own. The data directory sits where any user may traverse, so that what stops a
job is the server's own modes, not the test's temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.batch.jobs_support import make_definition, make_stack, submit, wait_status
from tests.functions.support import call, create
from tests.support.job_logs import job_messages
from tests.support.server import ServerProcess, wait_for


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    """A directory any user may traverse, for the server's data and work directories."""
    assert os.geteuid() == 0, "these tests prove what a root server does"
    folder = Path(tempfile.mkdtemp(prefix="batchyard-isolation-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def isolated(root: Path) -> Iterator[ServerProcess]:
    """A server on the suite's own interpreter: where other users cannot run it (pyenv in a
    private home, as on the development machines), its Lambda workers switch all the same, on
    the system's interpreter of the same version."""
    server = ServerProcess(root / "data", env={"BATCHYARD_LOG_LEVEL": "info"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def queue(isolated: ServerProcess) -> str:
    return make_stack(isolated.client("batch"))[1]


def _output(server: ServerProcess, job: dict[str, Any]) -> list[str]:
    return job_messages(server, job)


def _run(server: ServerProcess, queue: str, script: str, **container: Any) -> list[str]:
    """Run ``sh -c script`` as a job; its output once it has succeeded."""
    batch = server.client("batch")
    definition = make_definition(batch, ["sh", "-c", script], **container)
    job = wait_status(batch, submit(batch, queue, definition))
    lines = _output(server, job)
    assert job["status"] == "SUCCEEDED", (job.get("statusReason"), lines)
    return lines


def _fields(lines: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_a_job_runs_as_a_uid_of_its_own(isolated: ServerProcess, queue: str) -> None:
    script = (
        "echo uid=$(id -u); echo gid=$(id -g); echo home=$HOME; echo user=$USER; "
        "echo logname=$LOGNAME; echo home_mode=$(stat -c %a:%u $HOME); echo x > $HOME/mine; "
        "echo own=$(cat $HOME/mine); echo server_vars=$(env | grep -c BATCHYARD)"
    )
    first = _fields(_run(isolated, queue, script))
    second = _fields(_run(isolated, queue, script))
    assert isolated.process is not None
    server_uid = os.stat(f"/proc/{isolated.process.pid}").st_uid
    for seen in (first, second):
        assert int(seen["uid"]) not in (0, server_uid)
        assert seen["user"] == seen["logname"] == "batchyard-jobs"
        assert seen["home_mode"] == f"700:{seen['uid']}"
        assert seen["own"] == "x"
        assert seen["server_vars"] == "0"
        assert seen["home"].startswith(str(isolated.data_dir) + "-work/attempts/")
    assert first["uid"] != second["uid"]
    assert "run as this server's own user" not in isolated.log()


def test_what_a_job_leaves_running_outside_its_group_ends_with_it(
    isolated: ServerProcess, queue: str
) -> None:
    """A daemon the job starts in a session of its own (``setsid``) holding the job's output
    open: the job still ends when its command does, and the daemon with it."""
    script = "echo uid=$(id -u); setsid sleep 300 & sleep 0.2; echo left"
    seen = _fields(_run(isolated, queue, script))
    assert seen["uid"] and _alive_of(int(seen["uid"])) == []


def _alive_of(uid: int) -> list[str]:
    """Processes of ``uid`` that are not zombies (a killed one waits for init to reap it)."""
    alive = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
                if state != "Z":
                    alive.append(entry.name)
        except OSError:
            continue
    return alive


def test_a_job_cannot_reach_the_store_the_server_or_another_job(
    isolated: ServerProcess, queue: str
) -> None:
    batch = isolated.client("batch")
    attempts = Path(f"{isolated.data_dir}-work/attempts")
    holder = submit(
        batch, queue, make_definition(batch, ["sh", "-c", "echo secret > $HOME/secret; sleep 60"])
    )
    wait_status(batch, holder, "RUNNING")
    held = wait_for(
        lambda: [p for p in attempts.iterdir() if (p / "secret").exists()],
        what="the running job's secret file",
    )[0]
    assert isolated.process is not None
    server = isolated.process.pid
    database = isolated.data_dir / "batchyard.db"
    assert database.exists() and oct(isolated.data_dir.stat().st_mode & 0o777) == "0o700"
    probes = {
        "db": f"cat {database}",
        "ls_data": f"ls {isolated.data_dir}",
        "environ": f"cat /proc/{server}/environ",
        "other_dir": f"ls {held}",
        "other_file": f"cat {held}/secret",
        "ls_attempts": f"ls {attempts}",
        "signal": f"kill -0 {server}",
    }
    script = "; ".join(
        f"{probe} >/dev/null 2>/tmp/$$.err; echo {name}=$?:$(cat /tmp/$$.err); rm -f /tmp/$$.err"
        for name, probe in probes.items()
    )
    try:
        seen = _fields(_run(isolated, queue, script))
    finally:
        batch.terminate_job(jobId=holder, reason="done")
    for name in probes:
        code, _, error = seen[name].partition(":")
        assert code != "0", (name, seen[name])
        expected = "not permitted" if name == "signal" else "Permission denied"
        assert expected in error, (name, seen[name])


def test_container_user_is_honoured(isolated: ServerProcess, queue: str) -> None:
    assert _fields(_run(isolated, queue, "echo id=$(id -u):$(id -g):$USER", user="nobody")) == {
        "id": "65534:65534:nobody"
    }
    assert _fields(_run(isolated, queue, "echo id=$(id -u):$(id -g)", user="4321:4322")) == {
        "id": "4321:4322"
    }


def test_an_unknown_container_user_cannot_start(isolated: ServerProcess, queue: str) -> None:
    batch = isolated.client("batch")
    definition = make_definition(batch, ["true"], user="no-such-user-here")
    job = wait_status(batch, submit(batch, queue, definition))
    assert job["status"] == "FAILED"
    assert job["attempts"][-1]["container"]["reason"] == (
        "CannotStartContainerError: unable to find user no-such-user-here: "
        "no matching entries in passwd file"
    )


def test_a_job_dies_with_the_server_after_switching_user(root: Path) -> None:
    server = ServerProcess(root / "doomed").start()
    batch = server.client("batch")
    job = submit(batch, make_stack(batch)[1], make_definition(batch, ["sleep", "300"]))
    wait_status(batch, job, "RUNNING")

    def sleeper() -> int | None:
        for entry in Path("/proc").iterdir():
            try:
                environ = (entry / "environ").read_bytes()
                # The job's command, not the root launcher that waits to record its exit.
                program = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if f"AWS_BATCH_JOB_ID={job}".encode() in environ.split(b"\0") and program.endswith(
                b"sleep"
            ):
                return int(entry.name)
        return None

    pid = wait_for(sleeper, what="the job's process")
    assert os.stat(f"/proc/{pid}").st_uid != 0
    server.kill()
    # Only the parent-death signal can end it: nobody else knows it is there.
    wait_for(
        lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid),
        timeout=10,
        what=f"job process {pid} to die with the server",
    )


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


HANDLER = """
import os

def handler(event, context):
    found = {"uid": os.getuid()}
    for name, path in event.items():
        try:
            with open(path, "rb") as f:
                f.read(1)
            found[name] = "read"
        except OSError as error:
            found[name] = error.strerror
    try:
        os.kill(os.getppid(), 0)
        found["signal"] = "sent"
    except OSError as error:
        found["signal"] = error.strerror
    found["ppid"] = os.getppid()
    found["server_vars"] = [name for name in os.environ if "BATCHYARD" in name]
    return found
"""


def test_a_lambda_handler_cannot_reach_the_store_or_the_server(isolated: ServerProcess) -> None:
    lam = isolated.client("lambda")
    name = create(lam, HANDLER, Timeout=30)
    assert isolated.process is not None
    server = isolated.process.pid
    _, found = call(
        lam,
        name,
        {
            "db": str(isolated.data_dir / "batchyard.db"),
            "environ": f"/proc/{server}/environ",
        },
    )
    assert found["ppid"] == server
    assert found["uid"] not in (0, os.stat(f"/proc/{server}").st_uid)
    assert found["db"] == found["environ"] == "Permission denied"
    assert found["signal"] == "Operation not permitted"
    assert found["server_vars"] == []
    assert "Lambda workers run as this server's user" not in isolated.log()


def test_a_function_runs_below_a_directory_closed_to_it(tmp_path: Path) -> None:
    # pytest's temporary directory is closed to other users: the worker imports its code
    # through its working directory, and the server says jobs cannot use such paths.
    assert not os.stat(tmp_path.parent).st_mode & 0o001
    server = ServerProcess(tmp_path / "data").start()
    try:
        lam = server.client("lambda")
        name = create(lam, "import os\ndef handler(event, context):\n    return os.getuid()\n")
        uid = call(lam, name)[1]
        assert isinstance(uid, int) and uid != 0, uid
        assert "jobs cannot reach" in server.log()
    finally:
        server.stop()
