"""Step Functions' Lambda tasks, served by the Lambda facade: ``arn:aws:states:::lambda:invoke``
(and ``.waitForTaskToken``) and a function's own ARN as the resource, invoked in the account
and region of the execution.

``lambda:invoke`` takes Invoke's members in PascalCase (FunctionName, Payload, Qualifier,
InvocationType, LogType, ClientContext) and answers like AWS: ExecutedVersion, Payload (the
function's result as JSON), StatusCode and the SDK metadata. A function ARN as the resource
sends the state's input as the payload and answers with the function's result alone.
A handler's error fails the task with the function's ``errorType`` as the error and the error
document as the cause — ``Lambda.Unknown`` when the function reported no type.
"""

from __future__ import annotations

import json
from typing import Any

from batchyard.functions import InvocationResult, InvocationType, Lambda
from batchyard.protocol.errors import ServiceError
from batchyard.states import (
    RuntimeFailure,
    StepFunctions,
    TaskFailure,
    TaskRequest,
    unknown_resource,
)
from batchyard.states.integrations.calls import (
    compact,
    pattern_of,
    request_id,
    sdk_metadata,
    task_failure,
)
from batchyard.states.integrations.waits import TokenWait

RESOURCE = "arn:aws:states:::lambda:invoke"
FUNCTION_ARN_PREFIX = "arn:aws:lambda:"
UNKNOWN = "Lambda.Unknown"
_PARAMETERS = ("FunctionName", "Payload", "Qualifier", "InvocationType", "LogType",
               "ClientContext")


def function_error(result: InvocationResult) -> TaskFailure:
    """The task error for an invocation whose handler failed."""
    text = result.payload.decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    error = document.get("errorType") if isinstance(document, dict) else None
    if not isinstance(error, str) or not error:
        return TaskFailure(
            UNKNOWN,
            "The cause could not be determined because Lambda did not return an error type. "
            f"Returned payload: {text}",
        )
    return TaskFailure(error, text)


def _invocation_type(value: str) -> InvocationType:
    try:
        return InvocationType(value)
    except ValueError:
        # What Invoke answers for a value outside its enum.
        raise ServiceError(
            "InvalidParameterValueException", f"Unsupported invocation type {value}",
            Type="User",
        ) from None


def decoded(payload: bytes) -> Any:
    """A function's response payload as a JSON value (its text when it is not JSON)."""
    text = payload.decode("utf-8", "replace")
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text


async def call_function(
    functions: Lambda, request: TaskRequest, name: str, payload: Any,
    invocation_type: str = InvocationType.REQUEST_RESPONSE,
) -> InvocationResult:
    """Invoke ``name`` in the execution's account and region; a failed call or a failed
    handler fails the task as AWS does."""
    try:
        result = await functions.invoke(
            request.caller, name, compact(payload).encode(), _invocation_type(invocation_type)
        )
    except ServiceError as error:
        status = error.status or Lambda.error_status(error.code)
        raise task_failure("lambda", error, status, request_id()) from None
    if result.function_error:
        raise function_error(result)
    return result


class FunctionTask:
    """A function's ARN as a Task resource: the input is the payload, the result the output."""

    def __init__(self, functions: Lambda) -> None:
        self.functions = functions

    async def invoke(self, request: TaskRequest) -> Any:
        """Invoke the function synchronously with the state's effective input."""
        result = await call_function(self.functions, request, request.resource,
                                     request.parameters)
        return decoded(result.payload)


class LambdaInvoke:
    """``lambda:invoke``: AWS's optimized Lambda integration."""

    def __init__(self, functions: Lambda, tokens: TokenWait) -> None:
        self.functions = functions
        self.tokens = tokens

    async def invoke(self, request: TaskRequest) -> Any:
        """Invoke as Invoke's API would; ``.waitForTaskToken`` then waits for the token."""
        pattern = pattern_of(request.resource, RESOURCE)
        if pattern not in ("", self.tokens.SUFFIX):
            raise unknown_resource(request)
        params = request.parameters
        if not isinstance(params, dict) or not isinstance(params.get("FunctionName"), str):
            raise RuntimeFailure("The field 'FunctionName' is required by lambda:invoke")
        unknown = [key for key in params if key not in _PARAMETERS]
        if unknown:
            raise RuntimeFailure(f"The field '{unknown[0]}' is not supported by Step Functions")
        name = params["FunctionName"]
        if params.get("Qualifier"):
            name = f"{name}:{params['Qualifier']}"
        invocation_type = params.get("InvocationType", "RequestResponse")
        payload = params.get("Payload", {})
        if pattern == self.tokens.SUFFIX:
            return await self.tokens.wait(
                request,
                lambda: call_function(self.functions, request, name, payload, invocation_type),
            )
        result = await call_function(self.functions, request, name, payload, invocation_type)
        return self.output(result, params.get("LogType") == "Tail")

    @staticmethod
    def output(result: InvocationResult, tail: bool) -> dict[str, Any]:
        """Invoke's answer in the shape Step Functions gives it."""
        headers = {"X-Amz-Executed-Version": result.executed_version or "$LATEST"}
        out: dict[str, Any] = {
            "ExecutedVersion": result.executed_version or "$LATEST",
            "Payload": decoded(result.payload),
            **sdk_metadata(result.request_id, result.status, headers),
            "StatusCode": result.status,
        }
        if tail:
            out["LogResult"] = result.log_result
        return out


def register(states: StepFunctions, functions: Lambda) -> None:
    """Serve ``lambda:invoke`` and functions' ARNs as Task resources of ``states``."""
    states.register_invoker(RESOURCE, LambdaInvoke(functions, TokenWait(states)))
    states.register_invoker(FUNCTION_ARN_PREFIX, FunctionTask(functions))
