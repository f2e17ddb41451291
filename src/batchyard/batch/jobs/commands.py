"""The job commands of the ``batchyard`` CLI: ``submit``, ``jobs`` and ``logs``.

They are plain AWS API clients (boto3) of a running server, for people who would rather not
type the AWS CLI's long option names.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

DEFAULT_ENDPOINT = "http://127.0.0.1:4580"
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
FINAL = ("SUCCEEDED", "FAILED")
LOG_GROUP = "/aws/batch/job"
# How often ``--watch`` and ``--follow`` ask the server again.
REFRESH_SECONDS = 1.0


def _client(args: argparse.Namespace, service: Literal["batch", "logs"]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=args.endpoint_url,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "batchyard"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "batchyard"),
        config=Config(retries={"max_attempts": 2}),
    )


def _pairs(items: list[str], what: str) -> dict[str, str]:
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{what} must look like KEY=VALUE, got {item!r}")
        result[key] = value
    return result


def submit(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """``batchyard submit``: submit a job and print SubmitJob's answer."""
    params: dict[str, Any] = {
        "jobName": args.name or f"{args.definition.split(':')[0].rsplit('/', 1)[-1]}-job",
        "jobQueue": args.queue,
        "jobDefinition": args.definition,
    }
    if args.param:
        params["parameters"] = _pairs(args.param, "--param")
    overrides: dict[str, Any] = {}
    if args.override:
        overrides["command"] = args.override
    if args.env:
        overrides["environment"] = [
            {"name": k, "value": v} for k, v in _pairs(args.env, "--env").items()
        ]
    if overrides:
        params["containerOverrides"] = overrides
    if args.attempts:
        params["retryStrategy"] = {"attempts": args.attempts}
    answer = _client(args, "batch").submit_job(**params)
    answer.pop("ResponseMetadata", None)
    out.write(json.dumps(answer, indent=2) + "\n")
    return 0


def _time(epoch_ms: int | None) -> str:
    if not epoch_ms:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%H:%M:%S")


def _table(summaries: list[dict[str, Any]]) -> str:
    rows = [("JOB ID", "NAME", "STATUS", "CREATED", "STARTED", "STOPPED", "REASON")]
    for job in sorted(summaries, key=lambda j: j["createdAt"]):
        rows.append(
            (
                job["jobId"],
                job["jobName"],
                job["status"],
                _time(job.get("createdAt")),
                _time(job.get("startedAt")),
                _time(job.get("stoppedAt")),
                job.get("statusReason", ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    )


def _all_jobs(batch: Any, queue: str, statuses: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    paginator = batch.get_paginator("list_jobs")
    for status in statuses:
        for page in paginator.paginate(jobQueue=queue, jobStatus=status):
            found += page["jobSummaryList"]
    return found


def jobs(
    args: argparse.Namespace, out: TextIO = sys.stdout, pause: Callable[[float], None] = time.sleep
) -> int:
    """``batchyard jobs``: a table of a queue's jobs, refreshed with ``--watch``."""
    batch = _client(args, "batch")
    statuses = [args.status] if args.status else list(STATUSES)
    while True:
        table = _table(_all_jobs(batch, args.queue, statuses))
        if args.watch and out.isatty():
            out.write("\x1b[2J\x1b[H")
        out.write(table + "\n")
        out.flush()
        if not args.watch:
            return 0
        pause(REFRESH_SECONDS)


def logs(
    args: argparse.Namespace, out: TextIO = sys.stdout, pause: Callable[[float], None] = time.sleep
) -> int:
    """``batchyard logs JOB``: the job's output, every attempt; ``--follow`` until it ends."""
    batch, client = _client(args, "batch"), _client(args, "logs")
    tokens: dict[str, str | None] = {}
    while True:
        found = batch.describe_jobs(jobs=[args.job])["jobs"]
        if not found:
            sys.stderr.write(f"no job {args.job}\n")
            return 1
        job = found[0]
        streams = [a["container"].get("logStreamName") for a in job.get("attempts") or []]
        streams.append((job.get("container") or {}).get("logStreamName"))
        for stream in dict.fromkeys(s for s in streams if s):
            while True:
                params: dict[str, Any] = {
                    "logGroupName": LOG_GROUP,
                    "logStreamName": stream,
                    "startFromHead": True,
                }
                if tokens.get(stream):
                    params["nextToken"] = tokens[stream]
                page = client.get_log_events(**params)
                for event in page["events"]:
                    out.write(event["message"] + "\n")
                done = page["nextForwardToken"] == tokens.get(stream)
                tokens[stream] = page["nextForwardToken"]
                if done or not page["events"]:
                    break
        out.flush()
        if not args.follow or job["status"] in FINAL:
            return 0
        pause(REFRESH_SECONDS)


def add_job_commands(commands: Any) -> None:
    """Register ``submit``, ``jobs`` and ``logs`` on the CLI's sub-command parser."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--endpoint-url",
            default=os.environ.get("BATCHYARD_ENDPOINT", DEFAULT_ENDPOINT),
            help=f"the server (default $BATCHYARD_ENDPOINT or {DEFAULT_ENDPOINT})",
        )

    parser = commands.add_parser("submit", help="submit a Batch job")
    parser.add_argument("--queue", required=True, help="job queue name or ARN")
    parser.add_argument("--definition", required=True, help="job definition name[:rev] or ARN")
    parser.add_argument("--name", help="job name (default: <definition>-job)")
    parser.add_argument("--param", action="append", default=[], help="Ref:: parameter KEY=VALUE")
    parser.add_argument("--env", action="append", default=[], help="environment KEY=VALUE")
    parser.add_argument("--attempts", type=int, help="retryStrategy attempts (1-10)")
    parser.add_argument("override", nargs="*", metavar="COMMAND", help="command override")
    common(parser)
    parser.set_defaults(run=submit)

    parser = commands.add_parser("jobs", help="list a queue's jobs as a table")
    parser.add_argument("--queue", required=True, help="job queue name or ARN")
    parser.add_argument("--status", choices=STATUSES, help="only this status (default: all)")
    parser.add_argument("--watch", action="store_true", help="refresh until interrupted")
    common(parser)
    parser.set_defaults(run=jobs)

    parser = commands.add_parser("logs", help="print a job's output")
    parser.add_argument("job", help="job id")
    parser.add_argument("--follow", action="store_true", help="keep printing until the job ends")
    common(parser)
    parser.set_defaults(run=logs)
