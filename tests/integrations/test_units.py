"""Plain-Python tests of the integration helpers: casing, Lambda errors, ids, bus waits, the
SDK integrations' names, timestamps and parameters."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from batchyard.bus import Bus
from batchyard.functions.invocation import InvocationResult
from batchyard.integrations.states_lambda import function_error
from batchyard.integrations.states_sdk import (
    exception_name,
    instant,
    java_name,
    sdk_input,
    sdk_name,
)
from batchyard.protocol.service import load_model
from batchyard.states import RuntimeFailure, TaskRequest
from batchyard.states.integrations.calls import (
    child_id,
    from_service,
    input_shape,
    output_shape,
    to_service,
)
from batchyard.states.integrations.waits import Children, Watch


def test_pascal_parameters_become_members_but_map_keys_stay() -> None:
    shape = input_shape("batch", "SubmitJob")
    converted = to_service(shape, {
        "JobName": "j", "Parameters": {"InputFile": "a"}, "Tags": {"Team": "x"},
        "ContainerOverrides": {"ResourceRequirements": [{"Type": "VCPU", "Value": "4"}]},
        "ArrayProperties": {"Size": 3}, "DependsOn": [{"JobId": "1", "Type": "N_TO_N"}],
        "SchedulingPriorityOverride": 5, "ShareIdentifier": "s",
    })
    assert converted == {
        "jobName": "j", "parameters": {"InputFile": "a"}, "tags": {"Team": "x"},
        "containerOverrides": {"resourceRequirements": [{"type": "VCPU", "value": "4"}]},
        "arrayProperties": {"size": 3}, "dependsOn": [{"jobId": "1", "type": "N_TO_N"}],
        "schedulingPriorityOverride": 5, "shareIdentifier": "s",
    }
    with pytest.raises(RuntimeFailure, match="'Bogus'"):
        to_service(shape, {"ContainerOverrides": {"Bogus": 1}})


def test_service_documents_come_back_in_pascal_case_without_unknown_members() -> None:
    job_shape = output_shape("batch", "DescribeJobs").members["jobs"].member
    assert from_service(job_shape, {
        "jobId": "1", "status": "FAILED", "parameters": {"inputFile": "a"}, "internal": 1,
        "container": {"exitCode": 1, "environment": [{"name": "A", "value": "b"}]},
    }) == {
        "JobId": "1", "Status": "FAILED", "Parameters": {"inputFile": "a"},
        "Container": {"ExitCode": 1, "Environment": [{"Name": "A", "Value": "b"}]},
    }


def test_lambda_errors_are_named_by_error_type_else_lambda_unknown() -> None:
    typed = json.dumps({"errorType": "ValueError", "errorMessage": "bad"}).encode()
    failure = function_error(InvocationResult(200, typed, "Unhandled", "", "r"))
    assert (failure.error, failure.cause) == ("ValueError", typed.decode())
    untyped = b'{"errorMessage":"2024 Task timed out after 3.00 seconds"}'
    failure = function_error(InvocationResult(200, untyped, "Unhandled", "", "r"))
    assert failure.error == "Lambda.Unknown"
    assert failure.cause == (
        "The cause could not be determined because Lambda did not return an error type. "
        f"Returned payload: {untyped.decode()}"
    )


def test_child_ids_are_stable_per_attempt_and_differ_between_attempts() -> None:
    def request(execution: str, attempt: str) -> TaskRequest:
        return TaskRequest("r", {}, {"Execution": {"Id": execution}}, "S", attempt=attempt)

    first = child_id(request("arn:x", "root|S|t|0"))
    assert first == child_id(request("arn:x", "root|S|t|0"))
    assert first != child_id(request("arn:x", "root|S|t|1"))
    assert first != child_id(request("arn:y", "root|S|t|0"))


def test_watch_resolves_on_the_ending_event_only() -> None:
    async def scenario() -> dict:
        bus = Bus()
        watch = Watch(bus, "t", lambda e: e["id"], lambda e: e["status"] == "DONE")
        future = watch.expect("a")
        bus.publish("t", {"id": "a", "status": "RUNNING"})
        bus.publish("t", {"id": "b", "status": "DONE"})
        assert not future.done()
        bus.publish("t", {"id": "a", "status": "DONE"})
        return await future

    assert asyncio.run(scenario()) == {"id": "a", "status": "DONE"}


def test_children_stop_only_when_their_execution_is_stopped() -> None:
    stopped: list[str] = []

    async def scenario() -> None:
        bus = Bus()
        children = Children(bus, "x")

        async def stop(name: str) -> None:
            stopped.append(name)

        children.add("e1", "job1", lambda: stop("job1"))
        children.add("e2", "job2", lambda: stop("job2"))
        children.add("e3", "job3", lambda: stop("job3"))
        children.remove("e3", "job3")
        bus.publish("x", {"executionArn": "e1", "status": "ABORTED"})
        bus.publish("x", {"executionArn": "e2", "status": "SUCCEEDED"})
        bus.publish("x", {"executionArn": "e3", "status": "ABORTED"})
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert stopped == ["job1"]


def test_a_cancelled_wait_leaves_its_child_to_the_executions_fate() -> None:
    stopped: list[str] = []

    async def scenario() -> None:
        bus = Bus()
        children = Children(bus, "x")

        async def stop() -> None:
            stopped.append("job")

        async def wait_forever() -> None:
            with children.tracking("e1", "job", stop):
                await asyncio.Event().wait()

        async def wait_briefly() -> None:
            with children.tracking("e2", "job", stop):
                await asyncio.sleep(0)

        waiter = asyncio.ensure_future(wait_forever())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        await wait_briefly()
        bus.publish("x", {"executionArn": "e2", "status": "ABORTED"})
        bus.publish("x", {"executionArn": "e1", "status": "ABORTED"})
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert stopped == ["job"]


def test_sdk_names_follow_the_java_sdk() -> None:
    names = {service: sdk_name(load_model(service))
             for service in ("batch", "stepfunctions", "lambda", "events", "logs")}
    assert names == {"batch": "batch", "stepfunctions": "sfn", "lambda": "lambda",
                     "events": "eventbridge", "logs": "cloudwatchlogs"}
    assert [java_name(n) for n in ("Batch", "SFN", "CloudWatch Logs", "EventBridge", "ACM PCA",
                                   "DynamoDB")] == [
        "Batch", "Sfn", "CloudWatchLogs", "EventBridge", "AcmPca", "DynamoDb"]
    assert [exception_name(n) for n in ("ExecutionDoesNotExist", "ClientException",
                                        "EC2ThrottledException", "EFSIOException")] == [
        "ExecutionDoesNotExistException", "ClientException", "Ec2ThrottledException",
        "EfsioException"]


def test_sdk_timestamps_read_like_java_instants() -> None:
    assert instant(1700000000) == "2023-11-14T22:13:20Z"
    assert instant(1700000000.25) == "2023-11-14T22:13:20.250Z"
    assert instant(datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)) == (
        "2024-01-02T03:04:05.123456Z")


def test_sdk_parameters_send_json_values_of_text_members_as_json_text() -> None:
    start = load_model("stepfunctions").operation_model("StartExecution")
    assert sdk_input(start, {"StateMachineArn": "arn", "Input": {"a": [1]}}) == {
        "stateMachineArn": "arn", "input": '{"a":[1]}'}
    invoke = load_model("lambda").operation_model("Invoke")
    assert sdk_input(invoke, {"FunctionName": "f", "Payload": {"k": "v"}}) == {
        "FunctionName": "f", "Payload": b'{"k":"v"}'}
    assert sdk_input(invoke, {"FunctionName": "f", "Payload": "raw"})["Payload"] == b"raw"
    with pytest.raises(RuntimeFailure, match="'Bogus'"):
        sdk_input(start, {"StateMachineArn": "arn", "Bogus": 1})
