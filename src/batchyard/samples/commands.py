"""``batchyard samples``: deploy a runnable sample to a server and start an execution."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, TextIO

from batchyard.samples import job_poller

DEFAULT_ENDPOINT = "http://127.0.0.1:4580"
SAMPLES = ("job-poller",)


def clients(endpoint: str) -> job_poller.Clients:
    """boto3 clients of the server at ``endpoint``."""
    import boto3
    from botocore.config import Config

    def client(service: str) -> Any:
        return boto3.client(
            service, endpoint_url=endpoint,
            region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "batchyard"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "batchyard"),
            config=Config(retries={"max_attempts": 2}),
        )

    return job_poller.Clients(client("batch"), client("lambda"), client("stepfunctions"))


def wait_for_server(endpoint: str, timeout: float) -> None:
    """Return once the server answers its health check; SystemExit after ``timeout`` s."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{endpoint}/health", timeout=1).json().get("status") == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"no batchyard server answers on {endpoint}")
        time.sleep(0.2)


def deploy(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """``batchyard samples deploy job-poller``: deploy, start, and with ``--wait`` report."""
    wait_for_server(args.endpoint_url, args.server_timeout)
    aws = clients(args.endpoint_url)
    deployment = job_poller.deploy(aws, wait_time=args.wait_time)
    variant = "sync" if args.sync else "lambda"
    execution = job_poller.start(aws, deployment, variant)
    out.write(json.dumps({
        "stateMachineArn": deployment.machines[variant],
        "executionArn": execution,
        "input": deployment.input,
    }, indent=2) + "\n")
    if not args.wait:
        return 0
    out.write("waiting for the execution to end ...\n")
    out.flush()
    described = job_poller.wait_result(aws.states, execution, args.timeout)
    result = {
        "status": described["status"],
        "states": job_poller.state_path(aws.states, execution),
    }
    for key in ("output", "error", "cause"):
        if key in described:
            result[key] = described[key]
    out.write(json.dumps(result, indent=2) + "\n")
    return 0 if described["status"] == "SUCCEEDED" else 1


def add_sample_commands(commands: Any) -> None:
    """Register ``samples deploy`` on the CLI's subcommands."""
    samples = commands.add_parser("samples", help="deploy and run the bundled samples")
    actions = samples.add_subparsers(dest="action", required=True)
    run = actions.add_parser("deploy", help="deploy a sample and start an execution")
    run.add_argument("sample", choices=SAMPLES)
    run.add_argument("--endpoint-url", default=DEFAULT_ENDPOINT)
    run.add_argument("--sync", action="store_true",
                     help="run the batch:submitJob.sync variant instead of the Lambda poller")
    run.add_argument("--wait-time", type=int,
                     help="override the input's wait_time (the seed's is 60 seconds)")
    run.add_argument("--wait", action="store_true",
                     help="wait for the execution to end and print its result")
    run.add_argument("--timeout", type=float, default=600.0,
                     help="how long --wait waits, in seconds")
    run.add_argument("--server-timeout", type=float, default=30.0,
                     help="how long to wait for the server to answer, in seconds")
    run.set_defaults(run=deploy)
