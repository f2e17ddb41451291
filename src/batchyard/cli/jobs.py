"""``batchyard submit``, ``jobs`` and ``logs``: a Batch client for people who would rather not
type the AWS CLI's long option names."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO

from rich.cells import cell_len
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from batchyard.cli.remote import (
    PIPE_WIDTH,
    UNREACHABLE,
    CliError,
    add_endpoint,
    client,
    console,
    moment,
    unreachable,
)

STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
FINAL = ("SUCCEEDED", "FAILED")
LOG_GROUP = "/aws/batch/job"
# How often ``--watch`` and ``--follow`` ask the server again.
REFRESH_SECONDS = 1.0
DESCRIBE_BATCH = 100
COLUMNS = ("JOB ID", "NAME", "QUEUE", "STATUS", "ATTEMPTS", "EXIT", "CREATED", "STARTED",
           "STOPPED", "REASON")
# On a terminal too narrow for every column these go, in this order, rather than squeezing
# every column into an ellipsis: the id, status, exit code and end of a job stay whole.
DROPPED_FIRST = ("CREATED", "STARTED", "NAME", "QUEUE", "ATTEMPTS")
REASON_MIN = 20
# rich's space between two columns of a table without a box.
COLUMN_GAP = 2


def _pairs(items: list[str], what: str) -> dict[str, str]:
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"{what} must look like KEY=VALUE, got {item!r}")
        result[key] = value
    return result


def submit(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Submit a job and print SubmitJob's answer."""
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    params: dict[str, Any] = {
        "jobName": args.name or f"{args.definition.split(':')[0].rsplit('/', 1)[-1]}-job",
        "jobQueue": args.queue,
        "jobDefinition": args.definition,
    }
    if args.param:
        params["parameters"] = _pairs(args.param, "--param")
    overrides: dict[str, Any] = {}
    if command:
        overrides["command"] = command
    if args.env:
        overrides["environment"] = [
            {"name": k, "value": v} for k, v in _pairs(args.env, "--env").items()
        ]
    if overrides:
        params["containerOverrides"] = overrides
    if args.attempts:
        params["retryStrategy"] = {"attempts": args.attempts}
    answer = client(args, "batch").submit_job(**params)
    answer.pop("ResponseMetadata", None)
    out.write(json.dumps(answer, indent=2) + "\n")
    return 0


def _queues(batch: Any, wanted: str | None) -> list[str]:
    if wanted is not None:
        found = batch.describe_job_queues(jobQueues=[wanted])["jobQueues"]
        if not found:
            raise CliError(f"no job queue {wanted}")
        return [found[0]["jobQueueName"]]
    names: list[str] = []
    for page in batch.get_paginator("describe_job_queues").paginate():
        names += [queue["jobQueueName"] for queue in page["jobQueues"]]
    return names


def _summaries(batch: Any, queue: str, status: str | None) -> Iterator[dict[str, Any]]:
    paginator = batch.get_paginator("list_jobs")
    # With a filter ListJobs answers jobs of every status: one listing instead of seven.
    query: dict[str, Any] = (
        {"jobStatus": status} if status else {"filters": [{"name": "JOB_NAME", "values": ["*"]}]}
    )
    for page in paginator.paginate(jobQueue=queue, **query):
        yield from page["jobSummaryList"]


def _described(batch: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), DESCRIBE_BATCH):
        for job in batch.describe_jobs(jobs=ids[start : start + DESCRIBE_BATCH])["jobs"]:
            found[job["jobId"]] = job
    return found


def _fitting_columns(cells: list[tuple[str, ...]], width: int) -> dict[int, int | None]:
    """The columns of ``cells`` that fit in ``width``, by index, each with its widest
    (None: as wide as it needs)."""
    natural = [max([cell_len(COLUMNS[index])] + [cell_len(row[index]) for row in cells])
               for index in range(len(COLUMNS))]
    kept = list(range(len(COLUMNS)))
    reason = COLUMNS.index("REASON")

    def needed() -> int:
        others = sum(natural[index] for index in kept if index != reason)
        return others + COLUMN_GAP * (len(kept) - 1) + min(natural[reason], REASON_MIN)

    dropping = [COLUMNS.index(column) for column in DROPPED_FIRST]
    while needed() > width and dropping:
        kept.remove(dropping.pop(0))
    shown: dict[int, int | None] = dict.fromkeys(kept)
    # What is left after the other columns is the reason's; it ends in an ellipsis if longer.
    rest = width - needed() + min(natural[reason], REASON_MIN)
    shown[reason] = max(rest, 1)
    return shown


def job_table(batch: Any, queue: str | None, status: str | None,
              room: int | None = None, width: int = PIPE_WIDTH) -> Group:
    """The counts by status of each queue, then its jobs, oldest first; within ``room``
    lines, the newest jobs that fit (the counts still count every job); within ``width``
    columns, the columns that fit whole (the reason shortened last)."""
    rows: list[tuple[str, dict[str, Any]]] = []
    counts: dict[str, Counter[str]] = {}
    for name in _queues(batch, queue):
        found = list(_summaries(batch, name, status))
        counts[name] = Counter(job["status"] for job in found)
        rows += [(name, job) for job in found]
    if not counts:
        # Two empty tables would leave a new user guessing whether the listing worked.
        return Group(Text("no job queues on this server yet (CreateJobQueue makes one)"))
    rows.sort(key=lambda row: row[1]["createdAt"])
    hidden = Text("")
    if room is not None:
        # Lines besides the job rows: the counts' header and rows, the line between them and
        # the jobs (blank, or this note) and the table's header.
        fits = max(1, room - len(counts) - 3)
        if len(rows) > fits:
            hidden = Text(f"{len(rows) - fits} older jobs not shown")
            rows = rows[-fits:]
    # Only the rows shown are described: a watch of a deep queue asks for a screenful.
    details = _described(batch, [job["jobId"] for _, job in rows])
    header = Table(box=None, show_edge=False, pad_edge=False)
    header.add_column("QUEUE")
    for each in STATUSES:
        header.add_column(each, justify="right")
    for name, counted in counts.items():
        header.add_row(name, *(str(counted.get(each, 0)) for each in STATUSES))
    cells: list[tuple[str, ...]] = []
    for name, job in rows:
        detail = details.get(job["jobId"], job)
        exit_code = (detail.get("container") or {}).get("exitCode")
        cells.append((
            job["jobId"], job["jobName"], name, job["status"],
            str(len(detail.get("attempts") or [])), "-" if exit_code is None else str(exit_code),
            moment(job.get("createdAt")), moment(job.get("startedAt")),
            moment(job.get("stoppedAt")), job.get("statusReason", ""),
        ))
    table = Table(box=None, show_edge=False, pad_edge=False)
    shown = _fitting_columns(cells, width)
    for index, column in enumerate(COLUMNS):
        if index in shown:
            table.add_column(column, no_wrap=True, max_width=shown[index])
    for row in cells:
        table.add_row(*(value for index, value in enumerate(row) if index in shown))
    return Group(header, hidden, table)


def jobs(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """A table of the jobs of one queue or every queue; ``--watch`` redraws it in place on
    the alternate screen until Ctrl-C, which ends it with exit code 130."""
    batch = client(args, "batch")
    screen = console(out)
    if not args.watch:
        screen.print(job_table(batch, args.queue, args.status, width=screen.width))
        return 0

    # A watch outlives a restart of the server: while it cannot be reached the last table
    # stays, under a line saying since when, and the first error (a queue that does not
    # exist, a server that never answered) ends the command as anywhere else.
    shown = job_table(batch, args.queue, args.status, room=screen.height - 2,
                      width=screen.width)
    lost: datetime | None = None

    def refreshed() -> Group:
        return Group(Text(f"last refreshed {moment(datetime.now())}  (Ctrl-C to stop)"),
                     Text(""), shown)

    def frame() -> Group:
        nonlocal shown, lost
        try:
            shown = job_table(batch, args.queue, args.status, room=screen.height - 2,
                              width=screen.width)
        except UNREACHABLE as error:
            lost = lost or datetime.now()
            return Group(Text(f"{unreachable(error)} since {moment(lost)}, retrying  "
                              "(Ctrl-C to stop)"), Text(""), shown)
        lost = None
        return refreshed()

    # Ctrl-C only raises a flag: an interrupt in the middle of drawing a frame would leave
    # the terminal on the alternate screen.
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
    try:
        with Live(refreshed(), console=screen, screen=screen.is_terminal,
                  auto_refresh=False) as live:
            while not stop.wait(REFRESH_SECONDS):
                live.update(frame(), refresh=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    raise KeyboardInterrupt


def _exit_code(job: dict[str, Any]) -> int:
    if job["status"] == "SUCCEEDED":
        return 0
    code = (job.get("container") or {}).get("exitCode")
    return int(code) if code else 1


def logs(args: argparse.Namespace, out: TextIO = sys.stdout,
         pause: Callable[[float], None] = time.sleep) -> int:
    """The job's output, every attempt; ``--follow`` prints until the job ends and exits with
    its exit code."""
    batch, output = client(args, "batch"), client(args, "logs")
    tokens: dict[str, str | None] = {}
    while True:
        found = batch.describe_jobs(jobs=[args.job])["jobs"]
        if not found:
            raise CliError(f"no job {args.job}")
        job = found[0]
        streams = [a["container"].get("logStreamName") for a in job.get("attempts") or []]
        streams.append((job.get("container") or {}).get("logStreamName"))
        streams = list(dict.fromkeys(s for s in streams if s))
        for stream in streams:
            _print_new(output, stream, tokens, out)
        out.flush()
        if job["status"] in FINAL:
            _tell_end(job, bool(streams))
            return _exit_code(job) if args.follow else 0
        if not args.follow:
            return 0
        pause(REFRESH_SECONDS)


def _reason(status_reason: str | None, container: dict[str, Any]) -> str:
    reasons = [status_reason, container.get("reason")]
    return ": ".join(r for r in reasons if r) or "no reason given"


def _tell_end(job: dict[str, Any], has_output: bool) -> None:
    """On stderr, so that stdout stays the job's own output: why a job without output ended,
    and the exit code and reason of each attempt of a job that failed or was retried."""
    name = job["jobId"]
    size = (job.get("arrayProperties") or {}).get("size")
    if size:
        sys.stderr.write(f"job {name} is an array job of {size} children, {job['status']}; "
                         f"each has its own output: batchyard logs {name}:0 … "
                         f"{name}:{size - 1}\n")
        return
    if not has_output:
        why = _reason(job.get("statusReason"), job.get("container") or {})
        sys.stderr.write(f"job {name} {job['status']} without output: {why}\n")
        return
    attempts = job.get("attempts") or []
    if job["status"] == "SUCCEEDED" and len(attempts) <= 1:
        return
    for number, attempt in enumerate(attempts, 1):
        container = attempt.get("container") or {}
        code = container.get("exitCode")
        sys.stderr.write(
            f"job {name} attempt {number}: exit code {'-' if code is None else code}, "
            f"{_reason(attempt.get('statusReason'), container)}\n"
        )


def _print_new(output: Any, stream: str, tokens: dict[str, str | None], out: TextIO) -> None:
    while True:
        params: dict[str, Any] = {
            "logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True,
        }
        if tokens.get(stream):
            params["nextToken"] = tokens[stream]
        page = output.get_log_events(**params)
        for event in page["events"]:
            out.write(event["message"] + "\n")
        done = page["nextForwardToken"] == tokens.get(stream)
        tokens[stream] = page["nextForwardToken"]
        if done or not page["events"]:
            return


def add_job_commands(commands: Any) -> None:
    """``submit``, ``jobs`` and ``logs`` on the CLI's sub-commands."""
    parser = commands.add_parser(
        "submit", help="submit a Batch job",
        usage="%(prog)s --queue QUEUE --definition DEFINITION [options] [--] [COMMAND ...]",
        description="Submit a job. The command, if given, overrides the job definition's; "
                    "put it last, after --, e.g.: batchyard submit --queue q --definition d "
                    "-- sh -c 'echo hi'. Without -- everything from the first word that is "
                    "not an option of submit is the command.",
    )
    parser.add_argument("--queue", required=True, help="job queue name or ARN")
    parser.add_argument("--definition", required=True, help="job definition name[:rev] or ARN")
    parser.add_argument("--name", help="job name (default: <definition>-job)")
    parser.add_argument("--param", action="append", default=[],
                        help="a Ref:: parameter, KEY=VALUE (repeatable)")
    parser.add_argument("--env", action="append", default=[],
                        help="an environment variable, KEY=VALUE (repeatable)")
    parser.add_argument("--attempts", type=int, help="retry strategy attempts (1-10)")
    add_endpoint(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                        help="the command to run instead of the definition's")
    parser.set_defaults(run=submit)

    parser = commands.add_parser("jobs", help="list jobs as a table",
                                 description="Jobs of one queue, or of every queue, with "
                                             "their counts by status.")
    parser.add_argument("--queue", help="job queue name or ARN (default: every queue)")
    parser.add_argument("--status", choices=STATUSES, help="only this status (default: all)")
    parser.add_argument("--watch", action="store_true",
                        help="redraw every second until interrupted")
    add_endpoint(parser)
    parser.set_defaults(run=jobs)

    parser = commands.add_parser("logs", help="print a job's output",
                                 description="Print the output of every attempt of a job. "
                                             "On stderr: why a job without output ended, and "
                                             "the exit code and reason of each attempt of a "
                                             "job that failed or was retried.")
    parser.add_argument("job", metavar="JOB_ID", help="job id")
    parser.add_argument("--follow", action="store_true",
                        help="keep printing until the job ends, then exit with its exit code")
    add_endpoint(parser)
    parser.set_defaults(run=logs)
