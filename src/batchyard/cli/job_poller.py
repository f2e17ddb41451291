"""The Job Poller sample (``examples/job-poller``) deployed to a running server over its APIs.

It creates what the sample's CloudFormation template creates — a compute environment, a job
queue, a job definition running ``echo 'Hello world'``, the two Lambda functions and the
state machine — plus the same workflow written with ``batch:submitJob.sync``. Deploying again
updates the functions and state machines in place. The state machine's function ARNs are
the only thing adapted: they point at the functions as this server names them.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "job-poller"
FUNCTIONS = {
    "StepFunctionsSample-JobStatusPol-SubmitJobFunction-jDaYcl4cx55r": "submit_job",
    "StepFunctionsSample-JobStatusPoll-CheckJobFunction-1JkJwY10vonI": "check_job",
}
MACHINES = {
    "lambda": ("JobStatusPollerStateMachine", "statemachine.asl.json"),
    "sync": ("JobStatusPollerSyncStateMachine", "statemachine-sync.asl.json"),
}
LAMBDA_ROLE = "arn:aws:iam::123456789012:role/LambdaExecutionRole"
STATES_ROLE = "arn:aws:iam::123456789012:role/StatesExecutionRole"
READY_TIMEOUT = 30.0


@dataclass
class Clients:
    """boto3 clients of the server the sample goes to."""

    batch: Any
    functions: Any
    states: Any


@dataclass
class Deployment:
    """What a deployment made: the state machines by variant and the seed's input."""

    machines: dict[str, str]
    input: dict[str, Any]


def _load(name: str, folder: Path) -> Any:
    return json.loads((folder / name).read_text())


def _wait_valid(describe: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        found: dict[str, Any] | None = describe()
        if found and found["status"] == "VALID":
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become VALID: {found}")
        time.sleep(0.1)


def deploy_batch(batch: Any, folder: Path) -> tuple[str, str]:
    """The compute environment and queue (created once), a fresh job definition revision."""
    ce = _load("compute-environment.json", folder)
    name = ce["computeEnvironmentName"]
    if not batch.describe_compute_environments(computeEnvironments=[name])[
        "computeEnvironments"
    ]:
        batch.create_compute_environment(**ce)
    _wait_valid(
        lambda: next(iter(batch.describe_compute_environments(computeEnvironments=[name])[
            "computeEnvironments"]), None),
        f"compute environment {name}",
    )
    queue = _load("job-queue.json", folder)
    qname = queue["jobQueueName"]
    if not batch.describe_job_queues(jobQueues=[qname])["jobQueues"]:
        batch.create_job_queue(**queue)
    queue_arn = _wait_valid(
        lambda: next(iter(batch.describe_job_queues(jobQueues=[qname])["jobQueues"]), None),
        f"job queue {qname}",
    )["jobQueueArn"]
    definition = batch.register_job_definition(**_load("job-definition.json", folder))
    return definition["jobDefinitionArn"], queue_arn


def _zip(source: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(source, source.name)
    return buffer.getvalue()


def deploy_functions(functions: Any, folder: Path) -> dict[str, str]:
    """Create (or update the code of) the two functions; returns their ARNs by name."""
    arns = {}
    for name, module in FUNCTIONS.items():
        code = _zip(folder / "functions" / f"{module}.py")
        try:
            created = functions.create_function(
                FunctionName=name, Runtime="python3.9", Role=LAMBDA_ROLE,
                Handler=f"{module}.lambda_handler", Code={"ZipFile": code}, Timeout=30,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceConflictException":
                raise
            created = functions.update_function_code(FunctionName=name, ZipFile=code)
        arns[name] = created["FunctionArn"]
    return arns


def adapt(definition: dict[str, Any], function_arns: dict[str, str]) -> dict[str, Any]:
    """``definition`` with each function ARN replaced by the ARN this server gave it."""
    states = {}
    for name, state in definition["States"].items():
        resource = state.get("Resource", "")
        if ":function:" in resource:
            state = {**state, "Resource": function_arns[resource.rsplit(":function:", 1)[1]]}
        states[name] = state
    return {**definition, "States": states}


def _state_machine(states: Any, name: str, definition: dict[str, Any]) -> str:
    text = json.dumps(definition, indent=2)
    try:
        return str(states.create_state_machine(
            name=name, definition=text, roleArn=STATES_ROLE
        )["stateMachineArn"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "StateMachineAlreadyExists":
            raise
    for page in states.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                states.update_state_machine(
                    stateMachineArn=machine["stateMachineArn"], definition=text
                )
                return str(machine["stateMachineArn"])
    raise RuntimeError(f"state machine {name} exists but is not listed")


def deploy(clients: Clients, wait_time: int | None = None, folder: Path = EXAMPLE) -> Deployment:
    """Deploy the whole sample; the input is the seed's with this deployment's ARNs."""
    job_definition, job_queue = deploy_batch(clients.batch, folder)
    function_arns = deploy_functions(clients.functions, folder)
    machines = {}
    for variant, (name, path) in MACHINES.items():
        machines[variant] = _state_machine(
            clients.states, name, adapt(_load(path, folder), function_arns)
        )
    seed_input = _load("input.json", folder)
    seed_input.update(jobDefinition=job_definition, jobQueue=job_queue)
    if wait_time is not None:
        seed_input["wait_time"] = wait_time
    return Deployment(machines, seed_input)


def start(clients: Clients, deployment: Deployment, variant: str = "lambda") -> str:
    """Start an execution of the ``variant`` state machine with the sample's input."""
    return str(clients.states.start_execution(
        stateMachineArn=deployment.machines[variant], input=json.dumps(deployment.input)
    )["executionArn"])


def wait_result(
    states: Any,
    execution_arn: str,
    timeout: float,
    progress: Callable[[str], None] = lambda _state: None,
) -> dict[str, Any]:
    """DescribeExecution once the execution has ended (RuntimeError after ``timeout`` s);
    ``progress`` hears the name of the state it is in whenever that changes."""
    deadline = time.monotonic() + timeout
    shown = ""
    while True:
        described: dict[str, Any] = states.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        path = state_path(states, execution_arn)
        if path and path[-1] != shown:
            shown = path[-1]
            progress(shown)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{execution_arn} still RUNNING after {timeout:.0f}s")
        time.sleep(0.5)


def state_path(states: Any, execution_arn: str) -> list[str]:
    """The names of the states the execution entered, in order."""
    events = states.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
