"""Invoke a function from inside the server (Step Functions tasks, EventBridge targets)."""

from __future__ import annotations

from batchyard.functions.host import FunctionHost
from batchyard.functions.invocation import InvocationResult
from batchyard.runtime import Runtime

__all__ = ["InvocationResult", "invoke"]


async def invoke(
    runtime: Runtime,
    function_name_or_arn: str,
    payload: bytes,
    invocation_type: str = "RequestResponse",
) -> InvocationResult:
    """Invoke a function as Lambda's Invoke API would, without HTTP.

    ``function_name_or_arn`` may be a name, a full or partial ARN, optionally qualified with
    ``$LATEST``. A handler's error comes back as a result with ``function_error ==
    "Unhandled"`` and the error document as ``payload``; a missing function or a payload that
    is not JSON raises ``ServiceError`` (``ResourceNotFoundException``,
    ``InvalidRequestContentException``) as the API would answer.
    """
    host = runtime.get(FunctionHost)
    return await host.invoke(function_name_or_arn, payload, invocation_type)
