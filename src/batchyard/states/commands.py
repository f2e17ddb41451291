"""The workflow commands of the ``batchyard`` CLI: ``executions`` and ``execution``.

Plain Step Functions API clients (boto3) of a running server: a table of executions, and one
execution with its history as a readable list.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from typing import Any, TextIO

DEFAULT_ENDPOINT = "http://127.0.0.1:4580"
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
# Longest detail text shown per history event; the full text is one DescribeExecution away.
DETAIL_WIDTH = 100


def _client(args: argparse.Namespace) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "stepfunctions",
        endpoint_url=args.endpoint_url,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "batchyard"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "batchyard"),
        config=Config(retries={"max_attempts": 2}, inject_host_prefix=False),
    )


def _time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _machines(sfn: Any, wanted: str | None) -> list[str]:
    arns = []
    for page in sfn.get_paginator("list_state_machines").paginate():
        for item in page["stateMachines"]:
            if item["type"] != "STANDARD":
                continue
            if wanted is None or wanted in (item["name"], item["stateMachineArn"]):
                arns.append(item["stateMachineArn"])
    if wanted is not None and not arns:
        raise SystemExit(f"no Standard state machine named {wanted}")
    return arns


def executions(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """``batchyard executions``: the executions of one or every state machine, newest first."""
    sfn = _client(args)
    rows = []
    for machine in _machines(sfn, args.state_machine):
        kwargs: dict[str, Any] = {"stateMachineArn": machine}
        if args.status:
            kwargs["statusFilter"] = args.status
        for page in sfn.get_paginator("list_executions").paginate(**kwargs):
            rows += page["executions"]
    rows.sort(key=lambda e: e["startDate"], reverse=True)
    out.write(f"{'STATUS':<10} {'STARTED':<19} {'STOPPED':<19} EXECUTION\n")
    for row in rows:
        out.write(
            f"{row['status']:<10} {_time(row['startDate']):<19} "
            f"{_time(row.get('stopDate')):<19} {row['executionArn']}\n"
        )
    return 0


def _detail(event: dict[str, Any]) -> str:
    details: dict[str, Any] = next(
        (v for k, v in event.items() if k.endswith("EventDetails")), {}
    )
    parts = []
    for key in ("name", "error", "cause", "input", "output", "resource", "index", "length"):
        if key in details:
            value = details[key]
            parts.append(f"{key}={value if isinstance(value, str) else json.dumps(value)}")
    text = " ".join(parts)
    return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 1] + "…"


def execution(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """``batchyard execution ARN``: an execution's status and its history, one event a line."""
    sfn = _client(args)
    described = sfn.describe_execution(executionArn=args.arn)
    out.write(f"{described['executionArn']}\n")
    out.write(f"  status:  {described['status']}\n")
    out.write(f"  started: {_time(described['startDate'])}\n")
    out.write(f"  stopped: {_time(described.get('stopDate'))}\n")
    for key in ("output", "error", "cause"):
        if described.get(key) is not None:
            out.write(f"  {key + ':':<8} {described[key]}\n")
    out.write("\n")
    paginator = sfn.get_paginator("get_execution_history")
    for page in paginator.paginate(executionArn=args.arn):
        for event in page["events"]:
            stamp = event["timestamp"].astimezone().strftime("%H:%M:%S.%f")[:-3]
            out.write(f"{event['id']:>5}  {stamp}  {event['type']:<28} {_detail(event)}\n")
    return 0


def add_execution_commands(commands: Any) -> None:
    """Register ``executions`` and ``execution`` on the CLI's subcommands."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--endpoint-url",
            default=os.environ.get("BATCHYARD_ENDPOINT", DEFAULT_ENDPOINT),
            help=f"the server (default $BATCHYARD_ENDPOINT or {DEFAULT_ENDPOINT})",
        )

    parser = commands.add_parser("executions", help="list workflow executions as a table")
    parser.add_argument("--state-machine", help="state machine name or ARN (default: all)")
    parser.add_argument("--status", choices=STATUSES, help="only this status (default: all)")
    common(parser)
    parser.set_defaults(run=executions)

    parser = commands.add_parser("execution", help="show an execution and its history")
    parser.add_argument("arn", help="execution ARN")
    common(parser)
    parser.set_defaults(run=execution)
