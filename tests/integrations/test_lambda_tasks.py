"""Lambda from Task states: ``lambda:invoke`` and a function's ARN as the resource."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config

from tests.functions.support import unique
from tests.integrations.support import create, task_run
from tests.support.server import CLIENT_CONFIG, ServerProcess

ECHO = """
def handler(event, context):
    return {"got": event}
"""

RAISES = """
class PaymentDeclined(Exception):
    pass

def handler(event, context):
    raise PaymentDeclined("card declined for " + event["who"])
"""

NO_TYPE = """
def handler(event, context):
    import sys, os
    sys.stdout.flush()
    os._exit(3)
"""


def arn_of(lam: Any, name: str) -> str:
    return str(lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"])


def test_function_arn_resource_passes_input_and_returns_the_payload(lam: Any, sfn: Any) -> None:
    name = create(lam, ECHO)
    arn = arn_of(lam, name)
    described, history = task_run(
        sfn, {"Type": "Task", "Resource": arn, "InputPath": "$.x"}, {"x": {"a": 1}}
    )
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"got": {"a": 1}}
    # AWS reports a function ARN resource with LambdaFunction* events.
    assert [e["type"] for e in history][2:5] == [
        "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded"]
    scheduled = history[2]["lambdaFunctionScheduledEventDetails"]
    assert (scheduled["resource"], json.loads(scheduled["input"])) == (arn, {"a": 1})
    assert json.loads(history[4]["lambdaFunctionSucceededEventDetails"]["output"]) == {
        "got": {"a": 1}}


def test_lambda_invoke_answers_like_aws(lam: Any, sfn: Any) -> None:
    name = create(lam, ECHO)
    described, _ = task_run(sfn, {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": name, "Payload.$": "$"},
    }, {"k": "v"})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["Payload"] == {"got": {"k": "v"}}
    assert output["StatusCode"] == 200
    assert output["ExecutedVersion"] == "$LATEST"
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert output["SdkResponseMetadata"]["RequestId"]


def test_a_raising_function_fails_the_task_with_its_error_type(lam: Any, sfn: Any) -> None:
    name = create(lam, RAISES)
    for resource, params, failed_event in (
        (arn_of(lam, name), None, "LambdaFunctionFailed"),
        ("arn:aws:states:::lambda:invoke", {"FunctionName": name, "Payload.$": "$"},
         "TaskFailed"),
    ):
        state: dict[str, Any] = {"Type": "Task", "Resource": resource}
        if params:
            state["Parameters"] = params
        described, history = task_run(sfn, state, {"who": "ann"})
        assert described["status"] == "FAILED"
        assert described["error"] == "PaymentDeclined"
        cause = json.loads(described["cause"])
        assert cause["errorType"] == "PaymentDeclined"
        assert cause["errorMessage"] == "card declined for ann"
        assert "stackTrace" in cause
        failed = next(e for e in history if e["type"] == failed_event)
        details = next(v for k, v in failed.items() if k.endswith("EventDetails"))
        assert details["error"] == "PaymentDeclined"


def test_the_error_type_is_what_retriers_match(lam: Any, sfn: Any) -> None:
    name = create(lam, RAISES)
    described, history = task_run(sfn, {
        "Type": "Task", "Resource": arn_of(lam, name),
        "Retry": [{"ErrorEquals": ["PaymentDeclined"], "MaxAttempts": 1,
                   "IntervalSeconds": 1}],
    }, {"who": "bob"})
    assert described["error"] == "PaymentDeclined"
    assert sum(e["type"] == "LambdaFunctionFailed" for e in history) == 2


def test_a_function_whose_runtime_dies_fails_with_runtime_exit_error(
    lam: Any, sfn: Any
) -> None:
    name = create(lam, NO_TYPE)
    described, _ = task_run(sfn, {"Type": "Task", "Resource": arn_of(lam, name)})
    assert described["status"] == "FAILED"
    # Lambda reports a runtime that exits mid-invocation as Runtime.ExitError.
    assert described["error"] == "Runtime.ExitError"
    assert json.loads(described["cause"])["errorType"] == "Runtime.ExitError"


def test_a_missing_function_is_lambda_resource_not_found(sfn: Any) -> None:
    described, _ = task_run(sfn, {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "no-such-function-here"},
    })
    assert described["status"] == "FAILED"
    assert described["error"] == "Lambda.ResourceNotFoundException"
    assert "Service: AWSLambda; Status Code: 404" in described["cause"]


CALLS_BACK = """
import json
import boto3

def handler(event, context):
    boto3.client("stepfunctions").send_task_success(
        taskToken=event["token"], output=json.dumps({"approved": event["item"]}))
    return "sent"
"""


def test_lambda_invoke_wait_for_task_token_is_answered_by_the_function(
    lam: Any, sfn: Any
) -> None:
    name = create(lam, CALLS_BACK, Timeout=30)
    described, history = task_run(sfn, {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": name,
                       "Payload": {"token.$": "$$.Task.Token", "item.$": "$.item"}},
    }, {"item": "x-1"})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"approved": "x-1"}
    scheduled = next(e for e in history if e["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["resource"] == "invoke.waitForTaskToken"


def test_lambda_tasks_invoke_the_function_of_the_executions_region(fast: ServerProcess) -> None:
    """An execution in eu-west-1 that names a function finds eu-west-1's, not the
    default region's function of the same name."""
    west = {"endpoint_url": fast.endpoint, "region_name": "eu-west-1",
            "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    west_lam = boto3.client("lambda", config=CLIENT_CONFIG, **west)
    west_sfn = boto3.client(
        "stepfunctions", config=CLIENT_CONFIG.merge(Config(inject_host_prefix=False)), **west
    )
    name = unique("regional")
    create(fast.client("lambda"), 'def handler(event, context):\n    return "us-east-1"\n',
           name=name)
    create(west_lam, 'def handler(event, context):\n    return "eu-west-1"\n', name=name)
    for resource, params in (
        ("arn:aws:states:::lambda:invoke", {"FunctionName": name}),
        (f"arn:aws:lambda:eu-west-1:123456789012:function:{name}", None),
    ):
        state: dict[str, Any] = {"Type": "Task", "Resource": resource}
        if params:
            state["Parameters"] = params
        described, _ = task_run(west_sfn, state)
        assert described["status"] == "SUCCEEDED", described
        output = json.loads(described["output"])
        assert (output["Payload"] if params else output) == "eu-west-1"
    # A function ARN of another region is a function this execution cannot see.
    described, _ = task_run(west_sfn, {
        "Type": "Task", "Resource": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
    })
    assert described["status"] == "FAILED"
    assert "ResourceNotFoundException" in described.get("cause", "") + described.get(
        "error", "")


def test_a_throttled_function_fails_the_task_with_lambdas_throttling_error(
    lam: Any, sfn: Any
) -> None:
    name = create(lam, ECHO)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    described, _ = task_run(sfn, {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": name, "Payload.$": "$"},
    }, {})
    assert described["status"] == "FAILED"
    # The name AWS's samples retry on.
    assert described["error"] == "Lambda.TooManyRequestsException"
    assert "Rate Exceeded." in described["cause"]
    assert "Status Code: 429" in described["cause"]
