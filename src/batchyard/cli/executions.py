"""``batchyard executions`` and ``execution``: a table of workflow executions, and one
execution with its history, one event a line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from rich.table import Table

from batchyard.cli.remote import CliError, add_endpoint, client, console, moment

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
# Longest detail text shown per history event; the full text is one DescribeExecution away.
DETAIL_WIDTH = 100


def _machines(sfn: Any, wanted: str | None) -> list[str]:
    arns = []
    for page in sfn.get_paginator("list_state_machines").paginate():
        for item in page["stateMachines"]:
            if item["type"] != "STANDARD":
                continue
            if wanted is None or wanted in (item["name"], item["stateMachineArn"]):
                arns.append(item["stateMachineArn"])
    if wanted is not None and not arns:
        raise CliError(f"no Standard state machine {wanted}")
    return arns


def executions(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """The executions of one or every state machine, newest first."""
    sfn = client(args, "stepfunctions")
    rows = []
    for machine in _machines(sfn, args.state_machine):
        kwargs: dict[str, Any] = {"stateMachineArn": machine}
        if args.status:
            kwargs["statusFilter"] = args.status
        for page in sfn.get_paginator("list_executions").paginate(**kwargs):
            rows += page["executions"]
    rows.sort(key=lambda e: e["startDate"], reverse=True)
    table = Table(box=None, show_edge=False, pad_edge=False)
    for column in ("STATUS", "STARTED", "STOPPED", "EXECUTION"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(row["status"], moment(row["startDate"]), moment(row.get("stopDate")),
                      row["executionArn"])
    console(out).print(table)
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
    """An execution's status, then its history, one event a line."""
    sfn = client(args, "stepfunctions")
    described = sfn.describe_execution(executionArn=args.arn)
    out.write(f"{described['executionArn']}\n")
    out.write(f"  status:  {described['status']}\n")
    out.write(f"  started: {moment(described['startDate'])}\n")
    out.write(f"  stopped: {moment(described.get('stopDate'))}\n")
    for key in ("output", "error", "cause"):
        if described.get(key) is not None:
            out.write(f"  {key + ':':<8} {described[key]}\n")
    out.write("\n")
    table = Table(box=None, show_edge=False, pad_edge=False, show_header=False)
    table.add_column(justify="right", no_wrap=True, min_width=5)
    for _ in range(3):
        table.add_column(no_wrap=True)
    paginator = sfn.get_paginator("get_execution_history")
    for page in paginator.paginate(executionArn=args.arn):
        for event in page["events"]:
            table.add_row(str(event["id"]), moment(event["timestamp"]), event["type"],
                          _detail(event))
    console(out).print(table)
    return 0


def add_execution_commands(commands: Any) -> None:
    """``executions`` and ``execution`` on the CLI's sub-commands."""
    parser = commands.add_parser("executions", help="list workflow executions as a table")
    parser.add_argument("--state-machine", help="state machine name or ARN (default: all)")
    parser.add_argument("--status", choices=STATUSES, help="only this status (default: all)")
    add_endpoint(parser)
    parser.set_defaults(run=executions)

    parser = commands.add_parser("execution", help="show an execution and its history")
    parser.add_argument("arn", help="execution ARN")
    add_endpoint(parser)
    parser.set_defaults(run=execution)
