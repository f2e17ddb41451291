"""Every operation of every served service, from botocore's models, with malformed members:
never a 5xx, and the resources made beforehand are exactly as they were, also after a restart.

Budget: each operation gets at most ``PER_OPERATION`` member variants (chosen with a fixed
seed, so a failure repeats) plus the bodies no parser takes; operations the server does not
implement get only those bodies. Some two dozen operations are also fuzzed, with every
variant, against live resources (a real queue, state machines, the bus, a function, log
groups) or as creations of new ones, so the variants reach past "does not exist". About
13,000 requests, some 15 s.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.session
import httpx
import pytest

from batchyard.protocol.eventstream import CONTENT_TYPE as EVENT_STREAM
from tests.batch.resource_support import make_ce, make_queue
from tests.functions.support import ROLE, zip_of
from tests.security.fuzz import Builder, Case, cases
from tests.security.support import client
from tests.support.server import ServerProcess, wait_for

SERVICES = ("batch", "stepfunctions", "lambda", "events", "logs")
PER_OPERATION = 48
# Operations on live resources get every variant (about 100 to 250 each).
LIVE_PER_OPERATION = 1000
SEED = 14
KNOWN = "fuzz-known"
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"
MODELS = {name: botocore.session.get_session().get_service_model(name) for name in SERVICES}

PASS = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'
EVENT = ('{"id": "1", "account": "123456789012", "source": "fuzz", "time": "2026-01-01T00:00:00Z",'
         ' "region": "us-east-1", "resources": [], "detail-type": "d", "detail": {}}')
ZIP = zip_of({"app.py": "def handler(event, context):\n    return event\n"})


@dataclass
class Known:
    """The resources made before the fuzz, and the ARNs its live variants aim at."""

    ce: str
    queue: str
    definition: str
    machine: str
    express: str
    bus: str
    function: str


def make_known(server: ServerProcess) -> Known:
    """One of each kind of resource, with tags and children where it has them."""
    batch = client(server, "batch", key=None)
    policy = batch.create_scheduling_policy(name=f"{KNOWN}-policy", tags={"k": "v"})["arn"]
    ce = make_ce(batch, name=f"{KNOWN}-ce", state="DISABLED", tags={"k": "v"})
    queue = make_queue(batch, [ce], name=f"{KNOWN}-queue", schedulingPolicyArn=policy)
    definition = batch.register_job_definition(
        jobDefinitionName=f"{KNOWN}-def", type="container",
        containerProperties={"image": "busybox", "command": ["true"], "vcpus": 1, "memory": 64},
    )["jobDefinitionArn"]
    batch.create_consumable_resource(consumableResourceName=f"{KNOWN}-licence",
                                     totalQuantity=4, resourceType="REPLENISHABLE")
    states = client(server, "stepfunctions", key=None)
    machine = states.create_state_machine(
        name=f"{KNOWN}-machine", roleArn=ROLE, definition=PASS,
    )["stateMachineArn"]
    express = states.create_state_machine(
        name=f"{KNOWN}-express", roleArn=ROLE, definition=PASS, type="EXPRESS",
    )["stateMachineArn"]
    states.create_activity(name=f"{KNOWN}-activity", tags=[{"key": "k", "value": "v"}])
    events = client(server, "events", key=None)
    bus = events.describe_event_bus(Name="default")["Arn"]
    # UpdateEventBus without a Name changes the default bus, as on AWS: the custom bus is the
    # one no variant may change.
    events.create_event_bus(Name=f"{KNOWN}-bus", Description="known",
                            Tags=[{"Key": "k", "Value": "v"}])
    events.put_rule(Name=f"{KNOWN}-rule", EventPattern='{"source": ["known-source"]}')
    logs = client(server, "logs", key=None)
    logs.create_log_group(logGroupName=f"{KNOWN}-group")
    logs.create_log_group(logGroupName="fuzz-scratch")
    logs.create_log_stream(logGroupName="fuzz-scratch", logStreamName="scratch")
    events.put_rule(Name="fuzz-scratch", EventPattern='{"source": ["scratch"]}')
    logs.create_log_stream(logGroupName=f"{KNOWN}-group", logStreamName="stream")
    logs.put_log_events(logGroupName=f"{KNOWN}-group", logStreamName="stream",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "known"}])
    events.put_targets(Rule=f"{KNOWN}-rule", Targets=[
        {"Id": "logs", "Arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{KNOWN}-group"},
    ])
    functions = client(server, "lambda", key=None)
    function = functions.create_function(
        FunctionName=f"{KNOWN}-function", Runtime="python3.12", Role=ROLE,
        Handler="app.handler", Timeout=5,
        Code={"ZipFile": ZIP},
    )["FunctionArn"]
    wait_for(lambda: functions.get_function_configuration(FunctionName=function)["State"]
             == "Active", what="the known function Active")
    return Known(ce, queue, definition, machine, express, bus, function)


def snapshot(server: ServerProcess) -> dict[str, Any]:
    """The known resources as their Describe/Get operations show them."""
    batch = client(server, "batch", key=None)
    states = client(server, "stepfunctions", key=None)
    events = client(server, "events", key=None)
    logs = client(server, "logs", key=None)
    functions = client(server, "lambda", key=None)
    seen: dict[str, Any] = {
        "ce": batch.describe_compute_environments(computeEnvironments=[f"{KNOWN}-ce"]),
        "queue": batch.describe_job_queues(jobQueues=[f"{KNOWN}-queue"]),
        "definition": batch.describe_job_definitions(jobDefinitionName=f"{KNOWN}-def"),
        "licence": batch.describe_consumable_resource(consumableResource=f"{KNOWN}-licence"),
        "policy": batch.describe_scheduling_policies(arns=[_policy_arn(batch)]),
        "machine": states.describe_state_machine(stateMachineArn=_machine_arn(states)),
        "activity": [a for a in states.list_activities()["activities"]
                     if a["name"] == f"{KNOWN}-activity"],
        "bus": events.describe_event_bus(Name=f"{KNOWN}-bus"),
        "rule": events.describe_rule(Name=f"{KNOWN}-rule"),
        "targets": events.list_targets_by_rule(Rule=f"{KNOWN}-rule"),
        "group": [g for g in logs.describe_log_groups(logGroupNamePrefix=f"{KNOWN}-group")[
            "logGroups"] if g["logGroupName"] == f"{KNOWN}-group"],
        "streams": logs.describe_log_streams(logGroupName=f"{KNOWN}-group"),
        "log": logs.get_log_events(logGroupName=f"{KNOWN}-group", logStreamName="stream",
                                   startFromHead=True)["events"],
        "function": functions.get_function_configuration(FunctionName=f"{KNOWN}-function"),
    }
    for value in seen.values():
        if isinstance(value, dict):
            value.pop("ResponseMetadata", None)
            value.pop("nextToken", None)
            value.pop("nextForwardToken", None)
    return seen


def _policy_arn(batch: Any) -> str:
    return next(p["arn"] for p in batch.list_scheduling_policies()["schedulingPolicies"]
                if p["arn"].endswith(f"/{KNOWN}-policy"))


def _machine_arn(states: Any) -> str:
    return next(m["stateMachineArn"] for m in states.list_state_machines()["stateMachines"]
                if m["name"] == f"{KNOWN}-machine")


def listings(server: ServerProcess) -> None:
    """Every service's unfiltered listings answer: nothing stored can break them."""
    batch = client(server, "batch", key=None)
    batch.describe_compute_environments()
    batch.describe_job_queues()
    batch.describe_job_definitions()
    batch.list_consumable_resources()
    batch.list_jobs(jobQueue=f"{KNOWN}-queue")
    states = client(server, "stepfunctions", key=None)
    states.list_state_machines()
    states.list_activities()
    states.list_executions(stateMachineArn=_machine_arn(states))
    client(server, "lambda", key=None).list_functions()
    events = client(server, "events", key=None)
    events.list_rules()
    logs = client(server, "logs", key=None)
    for group in logs.describe_log_groups()["logGroups"]:
        logs.describe_log_streams(logGroupName=group["logGroupName"])


def live_bases(known: Known) -> dict[tuple[str, str], tuple[dict[str, Any], str | None]]:
    """(service, operation) -> a valid request and the member naming the resource it makes:
    variants of these reach past "does not exist" without changing the known resources."""
    ec2 = {
        "type": "EC2", "minvCpus": 0, "maxvCpus": 4, "subnets": ["subnet-1"],
        "instanceRole": "ecsInstanceRole",
    }
    container = {"image": "busybox", "command": ["true"], "vcpus": 1, "memory": 64}
    log_group = f"arn:aws:logs:us-east-1:123456789012:log-group:{KNOWN}-group"
    return {
        ("batch", "CreateComputeEnvironment"): (
            {"computeEnvironmentName": "x", "type": "MANAGED", "state": "DISABLED",
             "computeResources": ec2}, "computeEnvironmentName"),
        ("batch", "CreateJobQueue"): (
            {"jobQueueName": "x", "priority": 1, "state": "DISABLED",
             "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": known.ce}]},
            "jobQueueName"),
        ("batch", "RegisterJobDefinition"): (
            {"jobDefinitionName": "x", "type": "container", "containerProperties": container},
            "jobDefinitionName"),
        ("batch", "SubmitJob"): (
            {"jobName": "fuzz", "jobQueue": known.queue, "jobDefinition": known.definition,
             "shareIdentifier": "fuzz"}, None),
        ("batch", "CreateSchedulingPolicy"): ({"name": "x"}, "name"),
        # Job ids no job has: the variants reach the per-job checks and change nothing.
        ("batch", "CancelJobs"): ({"jobs": [UNKNOWN_JOB, "x"], "reason": "fuzz"}, None),
        ("batch", "TerminateJobs"): ({"jobs": [UNKNOWN_JOB], "reason": "fuzz"}, None),
        ("batch", "CreateConsumableResource"): (
            {"consumableResourceName": "x", "totalQuantity": 1}, "consumableResourceName"),
        ("stepfunctions", "CreateStateMachine"): (
            {"name": "x", "definition": PASS, "roleArn": ROLE}, "name"),
        ("stepfunctions", "CreateActivity"): ({"name": "x"}, "name"),
        ("stepfunctions", "StartExecution"): ({"stateMachineArn": known.machine}, "name"),
        ("stepfunctions", "StartSyncExecution"): ({"stateMachineArn": known.express}, "name"),
        ("stepfunctions", "TestState"): ({"definition": '{"Type": "Pass", "End": true}',
                                          "roleArn": ROLE}, None),
        ("stepfunctions", "ValidateStateMachineDefinition"): ({"definition": PASS}, None),
        ("lambda", "CreateFunction"): (
            {"FunctionName": "x", "Runtime": "python3.12", "Role": ROLE,
             "Handler": "app.handler", "Code": {"ZipFile": base64.b64encode(ZIP).decode()}},
            "FunctionName"),
        ("lambda", "Invoke"): ({"FunctionName": known.function, "Payload": b"{}"}, None),
        ("events", "PutRule"): ({"Name": "x", "EventPattern": '{"source": ["fuzz"]}'}, "Name"),
        ("events", "PutTargets"): (
            {"Rule": "fuzz-scratch", "Targets": [{"Id": "t", "Arn": log_group}]}, None),
        ("events", "PutEvents"): (
            {"Entries": [{"Source": "unmatched", "DetailType": "d", "Detail": "{}",
                          "EventBusName": known.bus}]}, None),
        ("events", "TestEventPattern"): ({"EventPattern": '{"source": ["fuzz"]}', "Event": EVENT},
                                         None),
        ("logs", "CreateLogGroup"): ({"logGroupName": "x"}, "logGroupName"),
        ("logs", "CreateLogStream"): (
            {"logGroupName": "fuzz-scratch", "logStreamName": "x"}, "logStreamName"),
        ("logs", "PutLogEvents"): (
            {"logGroupName": "fuzz-scratch", "logStreamName": "scratch",
             "logEvents": [{"timestamp": 1_700_000_000_000, "message": "m"}]}, None),
        ("logs", "FilterLogEvents"): ({"logGroupName": f"{KNOWN}-group"}, None),
        ("logs", "GetLogEvents"): (
            {"logGroupName": f"{KNOWN}-group", "logStreamName": "stream"}, None),
    }


def live_cases(known: Known) -> list[Case]:
    """Variants of the :func:`live_bases` requests."""
    found = []
    for (service, name), (base, unique) in live_bases(known).items():
        builder = Builder(MODELS[service])
        operation = MODELS[service].operation_model(name)
        for case in cases(builder, operation, LIVE_PER_OPERATION, SEED, base=base, unique=unique):
            case.extra["service"] = service
            found.append(case)
    return found


def all_cases(http: httpx.Client) -> list[Case]:
    found: list[Case] = []
    for service in SERVICES:
        model = MODELS[service]
        builder = Builder(model)
        for name in sorted(model.operation_names):
            operation = model.operation_model(name)
            probe = builder.raw_body(operation, b"{}")
            implemented = True
            if probe is not None:
                answer = send(http, *probe)
                implemented = answer.headers.get("x-amzn-ErrorType") != "UnknownOperationException"
            limit = PER_OPERATION if implemented else 0
            for case in cases(builder, operation, limit, SEED):
                case.extra["service"] = service
                found.append(case)
    return found


def send(http: httpx.Client, method: str, path: str, headers: dict[str, str],
         body: bytes) -> httpx.Response:
    """The answer to one case. An event stream (a StartLiveTail session lasts hours) is read
    up to its first frame, which carries its outcome, and then closed, as a client that has
    seen enough closes it."""
    with http.stream(method, path, headers=headers, content=body) as response:
        if response.headers.get("content-type", "").startswith(EVENT_STREAM):
            next(response.iter_raw(), b"")
            return response
        response.read()
        return response


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, list[str]]]:
    server = ServerProcess(tmp_path_factory.mktemp("fuzz"), env={"BATCHYARD_TIME_SCALE": "100"})
    server.start()
    known = make_known(server)
    before = snapshot(server)
    failures: list[str] = []
    with httpx.Client(base_url=server.endpoint, timeout=60) as http:
        for case in all_cases(http) + live_cases(known):
            try:
                response = send(http, case.method, case.path, case.headers, case.body)
            except httpx.HTTPError as error:
                failures.append(f"{case.extra['service']} {case}: {type(error).__name__}")
                continue
            if response.status_code >= 500:
                failures.append(f"{case.extra['service']} {case}: {response.status_code} "
                                f"{response.text[:200]}")
    assert snapshot(server) == before
    listings(server)
    server.stop()
    server.start()
    listings(server)
    assert snapshot(server) == before
    yield server, failures
    server.stop()


def test_no_request_gets_a_5xx(fuzzed: tuple[ServerProcess, list[str]]) -> None:
    _, failures = fuzzed
    assert not failures, "\n".join(failures[:60]) + f"\n({len(failures)} in all)"


def test_no_failure_is_the_protocol_layers(fuzzed: tuple[ServerProcess, list[str]]) -> None:
    """Where a request failed inside the server, it failed in a service, not in the request
    path in front of it."""
    server, _ = fuzzed
    innermost = []
    for block in server.log().split("Traceback (most recent call last):")[1:]:
        frames = [line for line in block.splitlines() if line.strip().startswith("File ")]
        if frames:
            innermost.append(frames[-1])
    assert not [f for f in innermost if "batchyard/protocol/" in f or "batchyard/server/" in f]


def test_a_zip_that_cannot_be_unpacked_is_refused_and_invoke_never_fails(
    server: ServerProcess,
) -> None:
    """A zip with entries ``d`` and ``d/f`` (``d`` both a file and a directory) is refused by
    CreateFunction and UpdateFunctionCode as Lambda refuses unusable code; the function it
    would have replaced still runs."""
    functions = client(server, "lambda", key=None)
    code = zip_of({"d": "x", "d/f": "y", "app.py": "def handler(event, context):\n    pass\n"})
    with pytest.raises(functions.exceptions.InvalidParameterValueException) as created:
        functions.create_function(FunctionName="fault-zip", Runtime="python3.12", Role=ROLE,
                                  Handler="app.handler", Code={"ZipFile": code})
    assert "'d' is a file, and other entries use it as a directory" in str(created.value)
    with pytest.raises(functions.exceptions.ResourceNotFoundException):
        functions.get_function(FunctionName="fault-zip")
    functions.create_function(FunctionName="fault-zip", Runtime="python3.12", Role=ROLE,
                              Handler="app.handler", Code={"ZipFile": ZIP})
    try:
        with pytest.raises(functions.exceptions.InvalidParameterValueException):
            functions.update_function_code(FunctionName="fault-zip", ZipFile=code)
        answer = functions.invoke(FunctionName="fault-zip", Payload=b'{"kept": 1}')
        assert (answer["StatusCode"], answer["Payload"].read()) == (200, b'{"kept": 1}')
    finally:
        functions.delete_function(FunctionName="fault-zip")
