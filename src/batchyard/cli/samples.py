"""``batchyard samples deploy``: deploy a bundled sample to a server and start an execution."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from typing import Any, TextIO

from batchyard.cli import job_poller
from batchyard.cli.remote import CliError, add_endpoint, client, console

SAMPLES = ("job-poller",)


def wait_for_server(endpoint: str, timeout: float) -> None:
    """Return once the server answers its health check; CliError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/health", timeout=1) as answer:
                if json.load(answer).get("status") == "ok":
                    return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise CliError(f"no batchyard server answers on {endpoint}")
        time.sleep(0.2)


def deploy(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Deploy the sample, start an execution and, with ``--wait``, follow it to its end."""
    wait_for_server(args.endpoint_url, args.server_timeout)
    aws = job_poller.Clients(client(args, "batch"), client(args, "lambda"),
                             client(args, "stepfunctions"))
    screen = console(sys.stderr)
    try:
        with screen.status(f"deploying {args.sample}"):
            deployment = job_poller.deploy(aws, wait_time=args.wait_time)
    except RuntimeError as error:
        raise CliError(str(error)) from None
    variant = "sync" if args.sync else "lambda"
    execution = job_poller.start(aws, deployment, variant)
    out.write(json.dumps({
        "stateMachineArn": deployment.machines[variant],
        "executionArn": execution,
        "input": deployment.input,
    }, indent=2) + "\n")
    if not args.wait:
        return 0
    out.flush()
    with screen.status("waiting for the execution to end") as status:

        def progress(state: str) -> None:
            status.update(f"waiting for the execution to end: in state {state}")
            if not screen.is_terminal:
                screen.print(f"in state {state}")

        try:
            described = job_poller.wait_result(aws.states, execution, args.timeout, progress)
        except RuntimeError as error:
            raise CliError(str(error)) from None
    result: dict[str, Any] = {
        "status": described["status"],
        "states": job_poller.state_path(aws.states, execution),
    }
    for key in ("output", "error", "cause"):
        if key in described:
            result[key] = described[key]
    out.write(json.dumps(result, indent=2) + "\n")
    return 0 if described["status"] == "SUCCEEDED" else 1


def add_sample_commands(commands: Any) -> None:
    """``samples deploy`` on the CLI's sub-commands."""
    samples = commands.add_parser("samples", help="deploy and run the bundled samples")
    actions = samples.add_subparsers(dest="action", required=True)
    run = actions.add_parser("deploy", help="deploy a sample and start an execution")
    run.add_argument("sample", choices=SAMPLES)
    add_endpoint(run)
    run.add_argument("--sync", action="store_true",
                     help="run the batch:submitJob.sync variant instead of the Lambda poller")
    run.add_argument("--wait-time", type=int,
                     help="override the input's wait_time (the seed's is 60 seconds)")
    run.add_argument("--wait", action="store_true",
                     help="wait for the execution to end, showing its progress, and print its "
                          "result")
    run.add_argument("--timeout", type=float, default=600.0,
                     help="how long --wait waits, in seconds")
    run.add_argument("--server-timeout", type=float, default=30.0,
                     help="how long to wait for the server to answer, in seconds")
    run.set_defaults(run=deploy)
