"""The ``batchyard`` command as a user meets it: one-line errors and exit codes, never a
traceback; ``--version``; ``submit`` with its command; ``jobs`` over every queue and
``--watch`` on the alternate screen; ``logs`` reasons and exit codes; plain help texts."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from batchyard import __version__
from batchyard.cli.jobs import job_table
from batchyard.cli.remote import console
from tests.batch.jobs_support import make_definition, make_stack, wait_status
from tests.support.http_endpoint import serve
from tests.support.job_logs import job_output
from tests.support.server import ServerProcess, free_port

COMMANDS = (["server"], ["submit"], ["jobs"], ["logs"], ["executions"], ["execution"],
            ["samples"], ["samples", "deploy"])


def run(*args: str, endpoint: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--endpoint-url", endpoint] if endpoint else []
    command, rest = args[0], list(args[1:])
    return subprocess.run(
        [sys.executable, "-m", "batchyard.cli", command, *extra, *rest],
        capture_output=True, text=True, timeout=60, check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_version() -> None:
    done = subprocess.run([sys.executable, "-m", "batchyard.cli", "--version"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"batchyard {__version__}"


def test_user_errors_are_one_line(server: ServerProcess) -> None:
    assert one_line_error(run("jobs", "--queue", "no-such-queue", endpoint=server.endpoint)) \
        == "batchyard: no job queue no-such-queue"
    assert one_line_error(run("logs", "no-such-job", endpoint=server.endpoint)) \
        == "batchyard: no job no-such-job"
    missing = "arn:aws:states:us-east-1:123456789012:execution:nope:nope"
    assert one_line_error(run("execution", missing, endpoint=server.endpoint)).startswith(
        "batchyard: ExecutionDoesNotExist:"
    )
    assert one_line_error(run("executions", "--state-machine", "nope", endpoint=server.endpoint)) \
        == "batchyard: no Standard state machine nope"
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert one_line_error(run("jobs", endpoint=nowhere)) == (
        f"batchyard: cannot reach the server at {nowhere} (is it running? see --endpoint-url)"
    )
    bad = run("submit", "--queue", "q", "--definition", "d", "--param", "novalue",
              endpoint=server.endpoint)
    assert one_line_error(bad) == "batchyard: --param must look like KEY=VALUE, got 'novalue'"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "batchyard.cli", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_bad_command_lines_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    cases = {
        (): "batchyard: the following arguments are required: COMMAND (see batchyard --help)",
        ("bogus",): "batchyard: argument COMMAND: invalid choice: 'bogus'",
        ("submit", "--queue", "q"): "batchyard submit: the following arguments are required: "
                                    "--definition (see batchyard submit --help)",
        ("submit", "--queue", "q", "--definition", "d", "--attempts", "two"):
            "batchyard submit: argument --attempts: invalid int value: 'two'",
        ("jobs", "--status", "DONE"): "batchyard jobs: argument --status: invalid choice:",
        ("jobs", "--endpoint-url", "localhost:4580"):
            "batchyard jobs: argument --endpoint-url: not an http:// or https:// URL: "
            "'localhost:4580' (see batchyard jobs --help)",
        ("logs", "x", "--endpoint-url", "http://127.0.0.1:99999"):
            "batchyard logs: argument --endpoint-url: bad port in 'http://127.0.0.1:99999'",
        ("logs",): "batchyard logs: the following arguments are required: JOB_ID",
        ("samples",): "batchyard samples: the following arguments are required: action",
        ("server", "--port", "70000"):
            "batchyard server: argument --port: not a port number (1-65535): '70000'",
        # Refused before the server starts: no traceback from inside its startup.
        ("server", "--port", str(free_port()), "--data-dir", str(blocked / "data")):
            f"batchyard server: cannot use the data directory {blocked / 'data'}: Not a directory",
    }
    for argv, message in cases.items():
        done = cli(*argv)
        assert done.returncode == 2, (argv, done.stderr)
        assert one_line_error(done).startswith(message), argv


def test_a_server_that_closes_the_connection_is_unreachable_in_one_line() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def close_each() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(65536)
            connection.close()

    thread = threading.Thread(target=close_each, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        assert one_line_error(run("jobs", endpoint=endpoint)) == (
            f"batchyard: cannot reach the server at {endpoint} (is it running? see "
            "--endpoint-url)"
        )
    finally:
        # Shutting it down is what wakes the accept() the thread blocks in; close() alone does not.
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_an_endpoint_that_is_not_aws_is_one_line() -> None:
    page = "<html>\n<body>\n<h1>Not here</h1>\n</body>\n</html>\n"
    with serve() as other:
        for status in (404, 200):
            other.answer("/v1/describejobqueues", status, page)
            done = run("jobs", endpoint=other.url)
            assert one_line_error(done) == (
                f"batchyard: the server at {other.url} answered HTTP {status}, not like an AWS "
                "API (is it a batchyard server? see --endpoint-url)"
            )
        # An AWS error without a request id is still shown as the error it is.
        other.answer("/v1/describejobs", 400,
                     '{"__type": "ClientException", "message": "no such thing"}')
        done = run("logs", "x", endpoint=other.url)
        assert one_line_error(done) == "batchyard: ClientException: no such thing"
    nowhere = f"http://127.0.0.1:{free_port()}"
    done = cli("samples", "deploy", "job-poller", "--server-timeout", "0.2",
               "--endpoint-url", nowhere)
    assert one_line_error(done) == f"batchyard: no batchyard server answers on {nowhere}"


def test_help_says_how_to_pass_a_command_in_plain_text() -> None:
    done = run("submit", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith(
        "usage: batchyard submit --queue QUEUE --definition DEFINITION [options] [--] "
        "[COMMAND ...]\n"
    )
    assert "after --" in " ".join(done.stdout.split())
    for command in [[], *COMMANDS]:
        shown = cli(*command, "--help")
        assert shown.returncode == 0, command
        assert "``" not in shown.stdout, command
        assert re.search(r":[a-z]+:`", shown.stdout) is None, command


def test_submit_takes_a_command_with_options_with_or_without_dashes(
    server: ServerProcess, batch: Any
) -> None:
    queue = make_stack(batch)[1]
    definition = make_definition(batch, ["echo", "from the definition"])
    plain = run("submit", "--queue", queue, "--definition", definition, "sh", "-c",
                "echo -n one; echo ' two'", endpoint=server.endpoint)
    dashed = run("submit", "--queue", queue, "--definition", definition, "--", "echo", "-e",
                 "a\\tb", endpoint=server.endpoint)
    outputs = []
    for done in (plain, dashed):
        assert done.returncode == 0, done.stderr
        job_id = json.loads(done.stdout)["jobId"]
        followed = run("logs", job_id, "--follow", endpoint=server.endpoint)
        assert followed.returncode == 0, followed.stderr
        outputs.append(job_output(followed.stdout.splitlines()))
    assert outputs == [["one two"], ["a\tb"]]


def test_jobs_lists_every_queue_with_counts_attempts_and_exit_codes(
    server: ServerProcess, batch: Any
) -> None:
    first, second = make_stack(batch)[1], make_stack(batch)[1]
    ok = batch.submit_job(jobName="ok", jobQueue=first,
                          jobDefinition=make_definition(batch, ["true"]))["jobId"]
    bad = batch.submit_job(jobName="bad", jobQueue=second,
                           jobDefinition=make_definition(batch, ["sh", "-c", "exit 3"]),
                           retryStrategy={"attempts": 2})["jobId"]
    wait_status(batch, ok)
    wait_status(batch, bad)
    done = run("jobs", endpoint=server.endpoint)
    assert done.returncode == 0, done.stderr
    counts, table = done.stdout.split("\n\n")
    by_queue = {line.split()[0]: line.split()[1:] for line in counts.splitlines()[1:]}
    names = {q.rsplit("/", 1)[-1] for q in (first, second)}
    assert by_queue[first.rsplit("/", 1)[-1]][5] == "1"
    assert by_queue[second.rsplit("/", 1)[-1]][6] == "1"
    rows = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
    assert rows[ok][2] in names and rows[ok][3:6] == ["SUCCEEDED", "1", "0"]
    assert rows[bad][3:6] == ["FAILED", "2", "3"]
    # Every time in one format: date and time.
    assert rows[ok][6].count("-") == 2 and rows[ok][7].count(":") == 2


def test_jobs_of_a_server_without_queues_says_so(
    new_server: Callable[..., ServerProcess]
) -> None:
    done = run("jobs", endpoint=new_server().endpoint)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "no job queues on this server yet (CreateJobQueue makes one)\n"


def test_logs_reasons_and_follow_exit_codes(server: ServerProcess, batch: Any) -> None:
    queue = make_stack(batch)[1]
    failing = batch.submit_job(jobName="exit4", jobQueue=queue,
                               jobDefinition=make_definition(batch, ["sh", "-c", "echo x; exit 4"]))
    followed = run("logs", failing["jobId"], "--follow", endpoint=server.endpoint)
    assert followed.returncode == 4 and job_output(followed.stdout.splitlines()) == ["x"]
    never = batch.submit_job(jobName="never", jobQueue=queue,
                             jobDefinition=make_definition(batch, ["/no/such/program"]))
    wait_status(batch, never["jobId"])
    shown = run("logs", never["jobId"], endpoint=server.endpoint)
    assert "Traceback" not in shown.stderr
    assert "without output" in shown.stderr and "No such file" in shown.stderr


def test_logs_names_each_attempt_of_a_retried_job(server: ServerProcess, batch: Any) -> None:
    queue = make_stack(batch)[1]
    retried = batch.submit_job(jobName="retried", jobQueue=queue, retryStrategy={"attempts": 2},
                               jobDefinition=make_definition(batch, ["sh", "-c", "echo y; exit 3"]))
    wait_status(batch, retried["jobId"])
    shown = run("logs", retried["jobId"], endpoint=server.endpoint)
    assert shown.returncode == 0, shown.stderr
    assert job_output(shown.stdout.splitlines()[:2]) == ["y"]
    assert shown.stderr.splitlines() == [
        f"job {retried['jobId']} attempt {n}: exit code 3, Essential container in task exited"
        for n in (1, 2)
    ]


def test_logs_of_an_array_job_points_at_its_children(server: ServerProcess, batch: Any) -> None:
    queue = make_stack(batch)[1]
    parent = batch.submit_job(jobName="array", jobQueue=queue, arrayProperties={"size": 2},
                              jobDefinition=make_definition(batch, ["echo", "child"]))["jobId"]
    wait_status(batch, parent)
    shown = run("logs", parent, endpoint=server.endpoint)
    assert shown.returncode == 0 and shown.stdout == ""
    assert shown.stderr == (
        f"job {parent} is an array job of 2 children, SUCCEEDED; each has its own output: "
        f"batchyard logs {parent}:0 … {parent}:1\n"
    )
    child = run("logs", f"{parent}:1", endpoint=server.endpoint)
    assert job_output(child.stdout.splitlines()) == ["child"]


def test_a_watch_describes_only_the_newest_jobs_that_fit(server: ServerProcess, batch: Any) -> None:
    queue = make_stack(batch)[1]
    definition = make_definition(batch, ["true"])
    ids = [batch.submit_job(jobName=f"j{n}", jobQueue=queue, jobDefinition=definition)["jobId"]
           for n in range(5)]
    for job_id in ids:
        wait_status(batch, job_id)
    out = io.StringIO()
    # Room for the counts (header and one queue), the note, the table's header and two jobs.
    console(out).print(job_table(batch, queue, None, room=6))
    lines = out.getvalue().splitlines()
    assert len(lines) == 6
    assert lines[1].split()[-2:] == ["5", "0"]  # the counts are of every job
    assert lines[2] == "3 older jobs not shown"
    assert [line.split()[0] for line in lines[4:]] == ids[-2:]


def test_a_narrow_terminal_drops_columns_instead_of_cutting_every_one(
    server: ServerProcess, batch: Any
) -> None:
    queue = make_stack(batch)[1]
    job = batch.submit_job(jobName="j0", jobQueue=queue,
                           jobDefinition=make_definition(batch, ["sh", "-c", "exit 7"]))["jobId"]
    wait_status(batch, job)
    out = io.StringIO()
    # Every column whole takes 166 columns; without the times a job started and was created
    # and its name, 118; without its queue, 103, and the reason gets what is left: 27.
    console(out).print(job_table(batch, queue, None, width=110))
    lines = out.getvalue().splitlines()
    assert all(len(line.rstrip()) <= 110 for line in lines)
    assert lines[3].split() == ["JOB", "ID", "STATUS", "ATTEMPTS", "EXIT", "STOPPED", "REASON"]
    row = lines[4].split()
    assert row[:4] == [job, "FAILED", "1", "7"]
    assert " ".join(row[6:]) == "Essential container in tas…"


# The CLI with SIGINT delivered as Python's default handler delivers it.
AS_FROM_A_TERMINAL = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from batchyard.cli import main; sys.exit(main())"
)


def test_ctrl_c_ends_logs_follow_quietly_with_130(server: ServerProcess, batch: Any) -> None:
    queue = make_stack(batch)[1]
    job = batch.submit_job(jobName="long", jobQueue=queue, jobDefinition=make_definition(
        batch, ["sh", "-c", "echo started; sleep 120"]))["jobId"]
    # As from a terminal: a suite started in the background (where the shell makes SIGINT
    # ignored, and children inherit that) must still see the CLI's own Ctrl-C handling.
    process = subprocess.Popen(
        [sys.executable, "-c", AS_FROM_A_TERMINAL, "logs", job, "--follow",
         "--endpoint-url", server.endpoint],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        _read_until(process.stdout.fileno(), b"started\n")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130
        assert stderr.decode() == "batchyard: interrupted\n"
    finally:
        if process.poll() is None:
            process.kill()
        batch.terminate_job(jobId=job, reason="test over")


def test_a_reader_that_leaves_the_pipe_ends_logs_quietly(
    server: ServerProcess, batch: Any
) -> None:
    queue = make_stack(batch)[1]
    # More output than a pipe buffers, so that writing it must meet the closed pipe.
    lines = 4000
    job = batch.submit_job(jobName="chatty", jobQueue=queue, jobDefinition=make_definition(
        batch, ["sh", "-c", f"seq -f '%0100g' {lines}"]))["jobId"]
    wait_status(batch, job, "SUCCEEDED")
    process = subprocess.Popen(
        [sys.executable, "-m", "batchyard.cli", "logs", job, "--endpoint-url", server.endpoint],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=30) == 141
    assert stderr == b""


def _read_until(fd: int, wanted: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {wanted!r} in {seen[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def _read_all(fd: int) -> bytes:
    rest = b""
    while select.select([fd], [], [], 0)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    return rest


@contextmanager
def on_a_terminal(*args: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The CLI run with ``args`` on a pseudo-terminal: the process and the terminal's end
    the test reads."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "batchyard.cli", *args],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "200", "LINES": "50"},
    )
    # The test keeps the terminal's other end open too: output the process wrote just before
    # it exited stays readable instead of going with the last close.
    try:
        yield process, master
    finally:
        if process.poll() is None:
            process.kill()
        os.close(slave)
        os.close(master)


def test_watch_redraws_on_the_alternate_screen_and_ctrl_c_ends_it(
    server: ServerProcess, batch: Any
) -> None:
    queue = make_stack(batch)[1]
    with on_a_terminal("jobs", "--watch", "--queue", queue,
                       "--endpoint-url", server.endpoint) as (process, master):
        seen = _read_until(master, b"last refreshed")
        assert b"\x1b[?1049h" in seen  # entered the alternate screen
        process.send_signal(signal.SIGINT)
        seen += _read_until(master, b"interrupted")
        assert process.wait(timeout=30) == 130
        # What the process flushed as it exited (stdout and stderr share the terminal).
        seen += _read_all(master)
        assert b"\x1b[?1049l" in seen  # and left it
        assert b"Traceback" not in seen


def test_a_watch_outlives_a_restart_of_the_server(
    new_server: Callable[..., ServerProcess]
) -> None:
    server = new_server()
    queue = make_stack(server.client("batch"))[1]
    with on_a_terminal("jobs", "--watch", "--queue", queue,
                       "--endpoint-url", server.endpoint) as (process, master):
        _read_until(master, b"last refreshed")
        server.stop()
        _read_until(master, f"cannot reach the server at {server.endpoint} since".encode())
        server.start()
        _read_until(master, b"last refreshed")
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert b"Traceback" not in _read_all(master)
