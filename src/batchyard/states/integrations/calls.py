"""What every integration shares: checking a request against a service's model, the task
error a service error becomes, and the SDK metadata AWS adds to request-response results."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from botocore.model import StructureShape

from batchyard.protocol.errors import ServiceError, ValidationFailure
from batchyard.protocol.legacy import LegacyApi
from batchyard.protocol.service import ServiceApi, load_model
from batchyard.protocol.validate import validate_input
from batchyard.states.asl.errors import TaskFailure

# How AWS's Java SDK names each service in an error's cause, and its error-name prefix.
SDK_NAMES = {
    "batch": ("Batch", "AWSBatch"),
    "lambda": ("Lambda", "AWSLambda"),
    "stepfunctions": ("StepFunctions", "AWSStepFunctions"),
    "events": ("EventBridge", "AmazonEventBridge"),
}


def input_shape(service: str, operation: str) -> StructureShape:
    """The botocore input shape of ``service``'s ``operation``."""
    shape = load_model(service).operation_model(operation).input_shape
    assert shape is not None
    return shape


def output_shape(service: str, operation: str) -> StructureShape:
    """The botocore output shape of ``service``'s ``operation``."""
    shape = load_model(service).operation_model(operation).output_shape
    assert shape is not None
    return shape


def checked(
    api: LegacyApi | ServiceApi, operation: str, request: dict[str, Any]
) -> dict[str, Any]:
    """``request`` validated and converted as the service's API would accept it."""
    try:
        return validate_input(
            input_shape(api.name, operation), request, api.case_insensitive_enums
        )
    except ValidationFailure as failure:
        raise ServiceError(api.validation_error, failure.message) from None


def task_failure(service: str, error: ServiceError, status: int, request_id: str) -> TaskFailure:
    """The task error AWS reports when a service call fails: ``<Service>.<Exception>``."""
    prefix, sdk_name = SDK_NAMES[service]
    code = error.code if error.code.endswith("Exception") else f"{error.code}Exception"
    cause = (
        f"{error.message} (Service: {sdk_name}; Status Code: {status}; "
        f"Error Code: {error.code}; Request ID: {request_id}; Proxy: null)"
    )
    return TaskFailure(f"{prefix}.{code}", cause)


def request_id() -> str:
    """A fresh request id, as each service call gets one."""
    return str(uuid.uuid4())


def sdk_metadata(
    request: str, status: int = 200, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata`` as request-response results carry them."""
    all_headers = {
        "Content-Type": "application/json",
        "Date": format_datetime(datetime.now(UTC), usegmt=True),
        "x-amzn-RequestId": request,
        **(headers or {}),
    }
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in all_headers.items()},
            "HttpHeaders": all_headers,
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request},
    }


def compact(value: Any) -> str:
    """JSON text as Step Functions writes causes and payloads: no spaces."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
