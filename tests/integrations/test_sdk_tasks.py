"""AWS SDK integrations (``arn:aws:states:::aws-sdk:<service>:<action>``) against the services
of a live server: PascalCase parameters and results, ``<Service>.<Exception>`` errors, the
definition check of CreateStateMachine and ``.waitForTaskToken``."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integrations.support import Stack, create, ended, events, machine, task_run, unique
from tests.states_api.conftest import ROLE
from tests.support.server import ServerProcess, wait_for

SDK = "arn:aws:states:::aws-sdk:"
ECHO = """
def handler(event, context):
    return {"got": event}
"""
WAITING_CHILD = {"StartAt": "Hold", "States": {"Hold": {
    "Type": "Wait", "Seconds": 3600, "End": True}}}
# The Java SDK's message of a service error: the service's text, then who answered.
SDK_CAUSE = re.compile(
    r"^(?P<message>.*) \(Service: (?P<service>\w+), Status Code: (?P<status>\d+), "
    r"Request ID: [0-9a-f-]{36}\)$", re.DOTALL,
)
# What Java's Instant prints: UTC, milli- or microseconds when there are any.
INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?Z$")


def sdk_task(action: str, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": f"{SDK}{action}", "Parameters": parameters, **extra}


def run(sfn: Any, definition: dict[str, Any], document: Any = None) -> dict[str, Any]:
    """Start ``definition`` with ``document`` and return DescribeExecution once it ended."""
    arn = machine(sfn, definition)
    execution = sfn.start_execution(
        stateMachineArn=arn, input=json.dumps({} if document is None else document)
    )["executionArn"]
    return ended(sfn, execution)


def output_of(described: dict[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def test_batch_submit_job_then_describe_jobs(sfn: Any, batch: Any, stack: Stack) -> None:
    definition = stack.definition(["echo", "hi"])
    name = unique("sdk-job")
    described = run(sfn, {"StartAt": "Submit", "States": {
        "Submit": sdk_task("batch:submitJob", {
            "JobName": name, "JobQueue": stack.queue, "JobDefinition": definition,
            "Parameters": {"greeting": "hello"},
            "ContainerOverrides": {"Environment": [{"Name": "WHO", "Value": "yard"}]},
        }, ResultPath="$.submitted", Next="Describe"),
        "Describe": sdk_task("batch:describeJobs", {
            "Jobs.$": "States.Array($.submitted.JobId)"}, ResultPath="$.described", End=True),
    }})
    output = output_of(described)
    submitted = output["submitted"]
    # An SDK integration answers with the operation's output alone, in PascalCase.
    assert set(submitted) == {"JobArn", "JobId", "JobName"}
    assert submitted["JobName"] == name
    [job] = output["described"]["Jobs"]
    assert (job["JobId"], job["JobArn"], job["JobQueue"]) == (
        submitted["JobId"], submitted["JobArn"], stack.queue)
    # Map keys are the user's own and keep their case.
    assert job["Parameters"] == {"greeting": "hello"}
    assert {"Name": "WHO", "Value": "yard"} in job["Container"]["Environment"]
    assert isinstance(job["CreatedAt"], int)
    direct = batch.describe_jobs(jobs=[submitted["JobId"]])["jobs"][0]
    assert (direct["jobName"], direct["parameters"]) == (name, {"greeting": "hello"})
    assert {"name": "WHO", "value": "yard"} in direct["container"]["environment"]
    scheduled = [e["taskScheduledEventDetails"] for e in events(sfn, described["executionArn"])
                 if e["type"] == "TaskScheduled"]
    assert [(s["resourceType"], s["resource"]) for s in scheduled] == [
        ("aws-sdk:batch", "submitJob"), ("aws-sdk:batch", "describeJobs")]


def test_sfn_start_execution_then_describe_execution(sfn: Any) -> None:
    child = machine(sfn, WAITING_CHILD)
    described = run(sfn, {"StartAt": "Start", "States": {
        # A JSON value given for a text member (Input) is sent as its JSON text.
        "Start": sdk_task("sfn:startExecution", {
            "StateMachineArn": child, "Input": {"order.$": "$.order"}},
            ResultPath="$.started", Next="Describe"),
        "Describe": sdk_task("sfn:describeExecution", {
            "ExecutionArn.$": "$.started.ExecutionArn"}, ResultPath="$.described", End=True),
    }}, {"order": 7})
    output = output_of(described)
    started, child_execution = output["started"], output["described"]
    assert set(started) == {"ExecutionArn", "StartDate"}
    assert INSTANT.match(started["StartDate"]), started
    assert child_execution["ExecutionArn"] == started["ExecutionArn"]
    assert child_execution["StateMachineArn"] == child
    assert child_execution["Status"] == "RUNNING"
    assert json.loads(child_execution["Input"]) == {"order": 7}
    assert child_execution["StartDate"] == started["StartDate"]
    direct = sfn.describe_execution(executionArn=started["ExecutionArn"])
    assert json.loads(direct["input"]) == {"order": 7}
    assert datetime.fromisoformat(started["StartDate"]) == direct["startDate"]
    sfn.stop_execution(executionArn=started["ExecutionArn"])


def test_lambda_invoke_and_list_functions(lam: Any, sfn: Any) -> None:
    name = create(lam, ECHO)
    described = run(sfn, {"StartAt": "Invoke", "States": {
        "Invoke": sdk_task("lambda:invoke", {"FunctionName": name, "Payload.$": "$.event"},
                           ResultPath="$.invoked", Next="List"),
        "List": sdk_task("lambda:listFunctions", {"MaxItems": 10000},
                         ResultPath="$.listed", End=True),
    }}, {"event": {"k": "v"}})
    output = output_of(described)
    invoked = output["invoked"]
    # The response payload is the function's result as text, as the SDK returns it.
    assert json.loads(invoked["Payload"]) == {"got": {"k": "v"}}
    assert invoked["StatusCode"] == 200
    assert invoked["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in invoked
    listed = {f["FunctionName"]: f for f in output["listed"]["Functions"]}
    assert listed[name]["Runtime"] == "python3.12"
    assert listed[name]["FunctionArn"] == lam.get_function(
        FunctionName=name)["Configuration"]["FunctionArn"]


def test_eventbridge_put_events_reaches_a_rule(fast: ServerProcess, sfn: Any) -> None:
    eb, logs = fast.client("events"), fast.client("logs")
    group = f"/test/{unique('sdk-events')}"
    logs.create_log_group(logGroupName=group)
    source, rule = unique("test.sdk"), unique("rule")
    eb.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    eb.put_targets(Rule=rule, Targets=[{
        "Id": "log", "Arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"}])
    described, _ = task_run(sfn, sdk_task("eventbridge:putEvents", {"Entries": [{
        "Source": source, "DetailType": "Order Placed", "Detail": {"order.$": "$.order"}}]}),
        {"order": 7})
    output = output_of(described)
    assert output["FailedEntryCount"] == 0
    [entry] = output["Entries"]

    def delivered() -> list[dict[str, Any]]:
        found = logs.filter_log_events(logGroupName=group)["events"]
        return [json.loads(e["message"]) for e in found]

    [event] = wait_for(delivered, what="the event in the log group")
    assert event["id"] == entry["EventId"]
    assert (event["source"], event["detail-type"], event["detail"]) == (
        source, "Order Placed", {"order": 7})


def test_cloudwatchlogs_create_log_group_then_describe_log_groups(
    fast: ServerProcess, sfn: Any
) -> None:
    group = f"/sdk/{unique('group')}"
    described = run(sfn, {"StartAt": "Create", "States": {
        "Create": sdk_task("cloudwatchlogs:createLogGroup", {
            "LogGroupName": group, "Tags": {"team": "yard"}},
            ResultPath="$.created", Next="Describe"),
        "Describe": sdk_task("cloudwatchlogs:describeLogGroups", {
            "LogGroupNamePrefix": group}, ResultPath="$.described", End=True),
    }})
    output = output_of(described)
    assert output["created"] == {}
    [found] = output["described"]["LogGroups"]
    assert found["LogGroupName"] == group
    assert isinstance(found["CreationTime"], int)
    direct = fast.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [(g["logGroupName"], g["arn"]) for g in direct] == [(group, found["Arn"])]


def test_jsonata_arguments_name_the_members_too(fast: ServerProcess, sfn: Any) -> None:
    group = f"/sdk/{unique('jsonata')}"
    fast.client("logs").create_log_group(logGroupName=group)
    described = run(sfn, {"QueryLanguage": "JSONata", "StartAt": "Describe", "States": {
        "Describe": {
            "Type": "Task", "Resource": f"{SDK}cloudwatchlogs:describeLogGroups",
            "Arguments": {"LogGroupNamePrefix": "{% $states.input.prefix %}"},
            "Output": "{% $states.result.LogGroups.LogGroupName %}", "End": True},
    }}, {"prefix": group})
    assert output_of(described) == group


def catching(error: str, task: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Call", "States": {
        "Call": {**task, "Catch": [{"ErrorEquals": [error], "ResultPath": "$.error",
                                    "Next": "Caught"}], "End": True},
        "Caught": {"Type": "Pass", "End": True},
    }}


def test_a_service_error_is_caught_by_its_sdk_name(sfn: Any, batch: Any, stack: Stack) -> None:
    definition = stack.definition(["echo", "hi"])
    queue = f"{stack.queue}-missing"
    described = run(sfn, catching("Batch.ClientException", sdk_task("batch:submitJob", {
        "JobName": "nowhere", "JobQueue": queue, "JobDefinition": definition})))
    error = output_of(described)["error"]
    assert error["Error"] == "Batch.ClientException"
    cause = SDK_CAUSE.match(error["Cause"])
    assert cause is not None, error["Cause"]
    with pytest.raises(ClientError) as direct:
        batch.submit_job(jobName="nowhere", jobQueue=queue, jobDefinition=definition)
    assert (cause["message"], cause["service"], cause["status"]) == (
        direct.value.response["Error"]["Message"], "Batch", "400")


def test_step_functions_errors_are_named_sfn(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:execution:nothing:here"
    described = run(sfn, catching("Sfn.ExecutionDoesNotExistException", sdk_task(
        "sfn:describeExecution", {"ExecutionArn": missing})))
    error = output_of(described)["error"]
    assert error["Error"] == "Sfn.ExecutionDoesNotExistException"
    cause = SDK_CAUSE.match(error["Cause"])
    assert cause is not None, error["Cause"]
    with pytest.raises(ClientError) as direct:
        sfn.describe_execution(executionArn=missing)
    assert (cause["message"], cause["service"], cause["status"]) == (
        direct.value.response["Error"]["Message"], "Sfn", "400")


def test_an_operation_this_server_lacks_fails_with_the_service_exception(
    lam: Any, sfn: Any
) -> None:
    name = create(lam, ECHO)
    parameters = {"FunctionName": name, "StatementId": "s1", "Action": "lambda:InvokeFunction",
                  "Principal": "events.amazonaws.com"}
    described, _ = task_run(sfn, sdk_task("lambda:addPermission", parameters))
    # An error Lambda's model does not declare is the SDK's base exception of the service.
    assert (described["status"], described["error"]) == ("FAILED", "Lambda.LambdaException")
    cause = SDK_CAUSE.match(described["cause"])
    assert cause is not None, described["cause"]
    with pytest.raises(ClientError) as direct:
        lam.add_permission(**parameters)
    assert direct.value.response["Error"]["Code"] == "UnknownOperationException"
    assert cause["message"] == direct.value.response["Error"]["Message"]


def test_a_parameter_of_the_wrong_type_fails_with_the_services_validation_error(
    sfn: Any, stack: Stack
) -> None:
    definition = stack.definition(["echo", "hi"])
    described, _ = task_run(sfn, sdk_task("batch:submitJob", {
        "JobName": unique("typed"), "JobQueue": stack.queue, "JobDefinition": definition,
        "ArrayProperties": {"Size": "many"}}))
    assert (described["status"], described["error"]) == ("FAILED", "Batch.ClientException")
    cause = SDK_CAUSE.match(described["cause"])
    assert cause is not None, described["cause"]
    assert cause["message"] == (
        "1 validation error detected: Expected an integer, got string at 'arrayProperties.size'")
    assert cause["status"] == "400"


def test_a_parameter_the_operation_does_not_take_fails_the_task(sfn: Any) -> None:
    described, _ = task_run(sfn, sdk_task("cloudwatchlogs:describeLogGroups", {
        "LogGroupNamePrefix": "/x", "Colour": "blue"}))
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert "The field 'Colour' is not supported by Step Functions" in described["cause"]


@pytest.mark.parametrize("resource", [
    f"{SDK}batch:noSuchAction",
    f"{SDK}nosuchservice:describeThings",
    # The SDK's names, not botocore's: Step Functions' own is sfn.
    f"{SDK}stepfunctions:startExecution",
    # Actions are camelCase.
    f"{SDK}batch:SubmitJob",
    # SDK integrations have no .sync pattern.
    f"{SDK}batch:submitJob.sync",
    # Nor streaming operations.
    f"{SDK}cloudwatchlogs:startLiveTail",
])
def test_create_state_machine_refuses_an_unknown_sdk_resource(sfn: Any, resource: str) -> None:
    definition = {"StartAt": "Branches", "States": {"Branches": {
        "Type": "Parallel", "End": True, "Branches": [{"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": resource, "End": True}}}]}}}
    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine(name=unique("sm"), definition=json.dumps(definition),
                                 roleArn=ROLE)
    where = "/States/Branches/Branches[0]/States/Call/Resource"
    problem = (
        f"The resource provided {resource} is not recognized. The value is not a valid "
        "resource ARN, or the resource is not available in this region."
    )
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    assert refused.value.response["Error"]["Message"] == (
        f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {problem} at {where}'")
    validation = sfn.validate_state_machine_definition(definition=json.dumps(definition))
    assert validation["result"] == "FAIL"
    assert [(d["code"], d["message"], d["location"]) for d in validation["diagnostics"]] == [
        ("SCHEMA_VALIDATION_FAILED", problem, where)]


def test_sdk_resources_of_aws_services_not_hosted_here_are_accepted(sfn: Any) -> None:
    for resource in (f"{SDK}s3:listBuckets", f"{SDK}dynamodb:getItem.waitForTaskToken",
                     f"{SDK}acmpca:deleteCertificateAuthority"):
        machine(sfn, {"StartAt": "Call", "States": {"Call": {
            "Type": "Task", "Resource": resource, "End": True}}})


def test_wait_for_task_token_with_an_sdk_resource(sfn: Any) -> None:
    child = machine(sfn, WAITING_CHILD)
    parent = machine(sfn, {"StartAt": "Ask", "States": {"Ask": sdk_task(
        "sfn:startExecution.waitForTaskToken",
        {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}}, End=True)}})
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    children = wait_for(lambda: sfn.list_executions(stateMachineArn=child)["executions"],
                        what="the child to start")
    token = json.loads(sfn.describe_execution(
        executionArn=children[0]["executionArn"])["input"])["token"]
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output='{"answer": "yes"}')
    described = ended(sfn, execution)
    assert output_of(described) == {"answer": "yes"}
    sfn.stop_execution(executionArn=children[0]["executionArn"])
